//! `ontime customers|users|get|find|check`

use ontime_mock::Operation;
use serde_json::Value;

use crate::common::{Sim, snapshot_run};

fn first_id(sim: &Sim, kind: &str) -> String {
    let run = sim.run(&["find", kind, "--ids-only", "--limit", "1"]);
    run.ok().lines().next().expect("an ID").to_string()
}

#[test]
fn customers_find_get_and_by_name() {
    let sim = Sim::start();
    let run = sim.run(&[
        "customers",
        "find",
        "--state",
        "TX",
        "--limit",
        "5",
        "-o",
        "table",
    ]);
    snapshot_run("customers_find_table", &run);
    let all = sim.json(&["customers", "find", "--inactive", "false"]);
    let first = &all[0];
    let id = first["ID"].as_str().expect("id");
    let name = first["Name"].as_str().expect("name");
    let got = sim.json(&["customers", "get", id]);
    assert_eq!(&got, first);
    let by_name = sim.json(&["customers", "by-name", name]);
    assert_eq!(by_name["ID"], id);
    let detail = sim.run(&["customers", "get", id, "-o", "table"]);
    snapshot_run("customers_get_table", &detail);
    // Every filter reaches the finder.
    sim.run(&[
        "customers",
        "find",
        "--name",
        "N",
        "--account-number",
        "A",
        "--email",
        "E",
        "--primary-contact-name",
        "P",
        "--reference-number",
        "R",
        "--address-line1",
        "L",
        "--city",
        "C",
        "--state",
        "S",
        "--postal-code",
        "Z",
        "--country",
        "US",
        "--inactive",
        "true",
        "--created-from",
        "2026-01-01",
        "--created-to",
        "2026-12-31",
        "--modified-from",
        "2026-02-01",
        "--modified-to",
        "2026-11-30",
    ])
    .ok();
    let sent = sim.mock().requests_for(Operation::CustomersFind);
    let sent = sent.last().expect("sent");
    for name in [
        "name",
        "accountNumber",
        "email",
        "primaryContactName",
        "referenceNumber",
        "addressLine1",
        "city",
        "state",
        "postalCode",
        "country",
        "inactive",
        "creationDateMin",
        "creationDateMax",
        "lastModifiedDateMin",
        "lastModifiedDateMax",
    ] {
        assert!(
            sent.query_param(name).is_some(),
            "{name} missing from {:?}",
            sent.query
        );
    }
}

#[test]
fn users_find_get_position_and_availability() {
    let sim = Sim::start();
    let run = sim.run(&["users", "find", "-o", "table"]);
    snapshot_run("users_find_table", &run);
    let users = sim.json(&["users", "find"]);
    let driver = users
        .as_array()
        .expect("array")
        .iter()
        .find(|u| u["IsDriver"] == true)
        .expect("a driver");
    let id = driver["ID"].as_str().expect("id");
    assert_eq!(&sim.json(&["users", "get", id]), driver);
    let user_name = driver["UserName"].as_str().expect("user name");
    let found = sim.json(&["users", "find", "--user-name", user_name]);
    assert_eq!(found[0]["ID"], id);

    let positions = sim.run(&[
        "users",
        "position",
        id,
        "--from",
        "2026-11-24T12:00:00",
        "--to",
        "2026-11-24T14:00:00",
        "-o",
        "table",
    ]);
    snapshot_run("users_position_table", &positions);
    let latest = sim.json(&["users", "position", id, "--latest"]);
    assert_eq!(latest["UserID"], id);
    let availability = sim.run(&["users", "availability", id, "-o", "table"]);
    snapshot_run("users_availability_table", &availability);

    sim.run(&[
        "users",
        "find",
        "--first-name",
        "F",
        "--last-name",
        "L",
        "--email",
        "E",
        "--created-from",
        "2026-01-01",
        "--created-to",
        "2026-12-31",
        "--modified-from",
        "2026-01-01",
        "--modified-to",
        "2026-12-31",
    ])
    .ok();
    let sent = sim.mock().requests_for(Operation::UsersFind);
    let sent = sent.last().expect("sent");
    for name in [
        "firstName",
        "lastName",
        "email",
        "creationDateMin",
        "creationDateMax",
        "lastModifiedDateMin",
        "lastModifiedDateMax",
    ] {
        assert!(
            sent.query_param(name).is_some(),
            "{name} missing from {:?}",
            sent.query
        );
    }
}

#[test]
fn get_fetches_every_record_type() {
    let sim = Sim::start();
    let order = sim.json(&["orders", "get", "-t", "1000001"]);
    let mut ids: Vec<(&str, String)> = [
        "orders",
        "customers",
        "contacts",
        "departments",
        "invoices",
        "locations",
        "payments",
        "users",
        "user-sessions",
        "vehicles",
        "zones",
        "statuses",
    ]
    .into_iter()
    .map(|kind| (kind, first_id(&sim, kind)))
    .collect();
    let text = |v: &Value| v.as_str().expect("a GUID").to_string();
    ids.push(("items", text(&order["Items"][0]["ID"])));
    ids.push(("price-sets", text(&order["PriceSet"])));
    let with_modifier = sim
        .json(&["orders", "find", "--limit", "20"])
        .as_array()
        .expect("orders")
        .iter()
        .find_map(|o| {
            o["PriceModifiers"]
                .as_array()
                .and_then(|m| m.first())
                .cloned()
        })
        .expect("an order with a price modifier");
    ids.push(("price-modifiers", text(&with_modifier["ID"])));
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("a.txt");
    std::fs::write(&file, "x").expect("write");
    let put = sim.json(&[
        "attachments",
        "put",
        "-t",
        "1000001",
        file.to_str().expect("utf8"),
    ]);
    ids.push(("file-attachments", text(&put["ID"])));
    let compensation = sim.mock().store().compensation_ids()[0];
    ids.push(("user-misc-compensations", compensation.to_string()));

    for (kind, id) in &ids {
        let record = sim.json(&["get", kind, id]);
        assert_eq!(record["ID"].as_str(), Some(id.as_str()), "{kind}");
        let table = sim.run(&["get", kind, id, "-o", "table"]);
        assert!(table.ok().starts_with("Field "), "{kind}: {}", table.stdout);
        let csv = sim.run(&["get", kind, id, "-o", "csv"]);
        let mut lines = csv.ok().lines();
        assert!(lines.next().expect("header").starts_with("ID,"), "{kind}");
        assert!(
            lines.next().expect("row").starts_with(id.as_str()),
            "{kind}"
        );
    }
    // Several at once, in order; singular names work too.
    let (_, zone) = &ids[10];
    let (_, vehicle) = &ids[9];
    let two = sim.run(&["get", "zone", zone, zone, "-o", "ndjson"]);
    assert_eq!(two.ok().lines().count(), 2);
    let bad_mix = sim.run(&["get", "vehicles", vehicle, zone]);
    assert_eq!(bad_mix.code, 5, "{}", bad_mix.transcript());
    snapshot_run(
        "get_zone_table",
        &sim.run(&["get", "zones", zone, "-o", "table"]),
    );
    // No finder, no such record: a clear not-found.
    let run = sim.run(&[
        "get",
        "user-misc-compensations",
        "00000000-0000-4000-8000-000000000001",
    ]);
    assert_eq!(run.code, 5);
    snapshot_run("get_not_found_generic", &run);
    // By name.
    let modifier = with_modifier["Name"].as_str().expect("name");
    let by_name = sim.json(&["get", "price-modifiers", "--name", modifier]);
    assert_eq!(by_name["ID"], with_modifier["ID"]);
    let set = sim.json(&["get", "price-sets", &ids[13].1]);
    let by_name = sim.run(&[
        "get",
        "price-sets",
        "--name",
        set["ServiceLevel"].as_str().expect("name"),
        "-o",
        "json",
    ]);
    let by_internal = sim.run(&[
        "get",
        "price-sets",
        "--name",
        set["InternalName"].as_str().expect("name"),
        "-o",
        "json",
    ]);
    // OnTime's lookup matches a price set's service level or its internal name.
    for run in [&by_name, &by_internal] {
        let found: serde_json::Value = serde_json::from_str(run.ok()).expect("JSON");
        assert_eq!(found["ID"], set["ID"], "{}", run.transcript());
    }
    let wrong = sim.run(&["get", "zones", "--name", "Downtown"]);
    assert_eq!(wrong.code, 2);
    snapshot_run("get_by_name_unsupported", &wrong);
}

#[test]
fn find_lists_every_type_with_a_finder() {
    let sim = Sim::start();
    for kind in [
        "orders",
        "customers",
        "contacts",
        "departments",
        "invoices",
        "locations",
        "payments",
        "users",
        "user-sessions",
        "vehicles",
        "zones",
        "statuses",
    ] {
        let run = sim.run(&["find", kind, "--limit", "3", "-o", "ndjson"]);
        let lines: Vec<Value> = run
            .ok()
            .lines()
            .map(|l| serde_json::from_str(l).expect("json"))
            .collect();
        assert!(
            !lines.is_empty() && lines.len() <= 3,
            "{kind}: {}",
            run.stdout
        );
        let table = sim.run(&["find", kind, "--limit", "3", "-o", "table"]);
        assert!(table.ok().starts_with("ID "), "{kind}: {}", table.stdout);
    }
    snapshot_run(
        "find_vehicles_table",
        &sim.run(&["find", "vehicles", "-o", "table"]),
    );
    snapshot_run(
        "find_locations_csv",
        &sim.run(&[
            "find",
            "locations",
            "--city",
            "Irving",
            "--state",
            "TX",
            "--limit",
            "3",
            "-o",
            "csv",
        ]),
    );
    let sent = sim.mock().requests_for(Operation::LocationsFind);
    let sent = sent.last().expect("sent");
    assert_eq!(sent.query_param("city").as_deref(), Some("Irving"));
    assert_eq!(sent.query_param("state").as_deref(), Some("TX"));

    let user = first_id(&sim, "users");
    sim.run(&[
        "find",
        "user-sessions",
        "--user",
        &user,
        "--logged-in-from",
        "2026-11-01",
        "--logged-out-by",
        "2026-11-30",
    ])
    .ok();
    let sent = sim.mock().requests_for(Operation::UserSessionsFind);
    let sent = sent.last().expect("sent");
    for name in ["userId", "logInTime", "logOutTime"] {
        assert!(sent.query_param(name).is_some(), "{name}: {:?}", sent.query);
    }
    let misplaced = sim.run(&["find", "zones", "--city", "Dallas"]);
    assert_eq!(misplaced.code, 2);
    snapshot_run("find_misplaced_filter", &misplaced);
}

#[test]
fn check_reports_the_account_and_quota() {
    let sim = Sim::start();
    let run = sim.run(&["check", "-o", "table"]);
    snapshot_run("check_table", &run);
    let json = sim.json(&["check"]);
    assert_eq!(json["KeyAccepted"], true);
    assert_eq!(json["Requests"], 1);
}
