//! `ontime orders ...`

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use ontime_mock::{FaultKind, FaultRule, Operation};
use serde_json::Value;

use crate::common::{GUID, KEY, Sim, order_ids, snapshot_filtered, snapshot_run};

#[test]
fn find_prints_tables_json_ndjson_and_csv() {
    let sim = Sim::start();
    let filter = [
        "orders",
        "find",
        "--status",
        "delivered",
        "--submitted-from",
        "2026-11-20",
        "--limit",
        "4",
    ];
    let table = sim.run(&[&filter[..], &["-o", "table"]].concat());
    snapshot_run("orders_find_table", &table);

    let csv = sim.run(&[&filter[..], &["-o", "csv"]].concat());
    snapshot_run("orders_find_csv", &csv);

    let json = sim.run(
        &[
            &filter[..2],
            &["--tracking-number", "1000001", "-o", "json"],
        ]
        .concat(),
    );
    snapshot_run("orders_find_json", &json);

    let ndjson = sim.run(&[&filter[..], &["-o", "ndjson"]].concat());
    let lines: Vec<Value> = ndjson
        .ok()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 4);
    for (line, row) in lines.iter().zip(table.stdout.lines().skip(2)) {
        let id = line["ID"].as_str().expect("ID");
        assert!(row.starts_with(id), "{row} / {id}");
        assert_eq!(line["StatusLevel"], 3);
    }
    // Without -o and not on a terminal: NDJSON.
    let default = sim.run(&filter);
    assert_eq!(default.stdout, ndjson.stdout);
}

#[test]
fn find_sends_every_filter() {
    let sim = Sim::start();
    let location = "eb78cd9a-d2ea-4bd9-9a60-ab9fa40d3a7e";
    let user = "23548a57-1a5f-494c-bcdf-7c3ceb4789f9";
    let run = sim.run(&[
        "orders",
        "find",
        "-o",
        "table",
        "--customer-name",
        "Vesigo Studios",
        "--status",
        "assigned-in-route",
        "--tracking-number",
        "1000001",
        "--submitted-on",
        "2026-11-24",
        "--submitted-from",
        "2026-11-01T08:00:00",
        "--submitted-to",
        "2026-11-30T18:00:00-06:00",
        "--collection-location",
        location,
        "--delivery-location",
        location,
        "--assigned-user",
        user,
        "--reference-number",
        "R1",
        "--purchase-order-number",
        "PO1",
        "--incoming-tracking-number",
        "IN1",
        "--outgoing-tracking-number",
        "OUT1",
    ]);
    snapshot_run("orders_find_no_match", &run);
    let requests = sim.mock().requests_for(Operation::OrdersFind);
    let sent = requests.last().expect("the finder was called");
    let expect = [
        ("customerName", "Vesigo Studios"),
        ("status", "2"),
        ("trackingNumber", "1000001"),
        ("dateSubmitted", "2026-11-24T00:00:00"),
        ("dateSubmittedMin", "2026-11-01T08:00:00"),
        ("dateSubmittedMax", "2026-11-30T18:00:00-06:00"),
        ("collectionLocationId", location),
        ("deliveryLocationId", location),
        ("assignedUserId", user),
        ("referenceNumber", "R1"),
        ("purchaseOrderNumber", "PO1"),
        ("incomingTrackingNumber", "IN1"),
        ("outgoingTrackingNumber", "OUT1"),
    ];
    for (name, value) in expect {
        let got = sent.query_param(name);
        let got = got.as_deref();
        // The status goes as its code or its name, whichever the client writes.
        let ok = got == Some(value) || (name == "status" && got == Some("AssignedInRoute"));
        assert!(ok, "{name}: {got:?} in {:?}", sent.query);
    }
    // Only one request: nothing matched, so nothing was fetched.
    assert_eq!(sim.mock().requests().len(), 1);
}

#[test]
fn ids_only_and_limit_save_requests() {
    let sim = Sim::start();
    let run = sim.run(&["orders", "find", "--ids-only", "--limit", "3"]);
    snapshot_run("orders_find_ids_only", &run);
    assert_eq!(sim.mock().requests().len(), 1);
    let json = sim.json(&["orders", "find", "--ids-only", "--limit", "2"]);
    assert_eq!(json.as_array().map(Vec::len), Some(2));
    assert!(json[0]["ID"].is_string());
    // --limit 5 fetches 5 orders: 1 finder call + 5 gets.
    sim.mock().clear_requests();
    sim.run(&["orders", "find", "--limit", "5"]).ok();
    assert_eq!(sim.mock().requests().len(), 6);
}

#[test]
fn get_by_id_tracking_number_and_several() {
    let sim = Sim::start();
    let ids = order_ids(&sim, 3);
    let detail = sim.run(&["orders", "get", &ids[0], "-o", "table"]);
    snapshot_run("orders_get_table", &detail);

    let by_id = sim.json(&["orders", "get", &ids[0]]);
    let by_tn = sim.json(&["orders", "get", "-t", "1000001"]);
    assert_eq!(by_id, by_tn);
    assert_eq!(by_id["TrackingNumber"], "1000001");

    // Several: in the order given, as NDJSON lines.
    let several = sim.run(&["orders", "get", &ids[2], &ids[0], &ids[1]]);
    let got: Vec<String> = several
        .ok()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("json")["ID"]
                .as_str()
                .expect("id")
                .to_string()
        })
        .collect();
    assert_eq!(got, [ids[2].clone(), ids[0].clone(), ids[1].clone()]);
    let several_tn = sim.json(&["orders", "get", "-t", "1000002", "1000001"]);
    assert_eq!(several_tn[0]["TrackingNumber"], "1000002");
    assert_eq!(several_tn[1]["TrackingNumber"], "1000001");
}

#[test]
fn timeline_shows_the_status_history() {
    let sim = Sim::start();
    let run = sim.run(&["orders", "timeline", "-t", "1000001", "-o", "table"]);
    snapshot_run("orders_timeline_table", &run);
    let json = sim.json(&["orders", "timeline", "-t", "1000001"]);
    let levels: Vec<i64> = json
        .as_array()
        .expect("array")
        .iter()
        .map(|s| s["Level"].as_i64().expect("level"))
        .collect();
    assert_eq!(levels.last(), Some(&3));
}

#[test]
fn status_set_records_the_change() {
    let sim = Sim::start();
    // Find an order that is not delivered yet.
    let open = sim.json(&["orders", "find", "--status", "dispatched", "--limit", "1"]);
    let tn = open[0]["TrackingNumber"].as_str().expect("tn").to_string();
    let run = sim.run(&[
        "orders",
        "status",
        "set",
        "-t",
        &tn,
        "Delivered",
        "--label",
        "Left at reception",
        "--at",
        "2026-11-24T15:00:00",
        "-o",
        "table",
    ]);
    snapshot_filtered("orders_status_set_table", &run, &[(&tn, "[tn]")]);
    let timeline = sim.json(&["orders", "timeline", "-t", &tn]);
    let last = timeline.as_array().and_then(|t| t.last()).expect("entries");
    assert_eq!(last["Level"], 3);
    assert_eq!(last["Timestamp"], "2026-11-24T15:00:00");

    // By ID and by code, with JSON output.
    let id = open[0]["ID"].as_str().expect("id");
    let run = sim.run(&[
        "orders",
        "status",
        "set",
        id,
        "2",
        "--at",
        "2026-11-24T15:30:00",
        "-o",
        "json",
    ]);
    snapshot_filtered("orders_status_set_json", &run, &[(id, "[id]")]);
    let order = sim.json(&["orders", "get", id]);
    assert_eq!(order["StatusLevel"], 2);
}

#[test]
fn status_levels_lists_names_and_codes() {
    let sim = Sim::start();
    snapshot_run(
        "orders_status_levels_table",
        &sim.run(&["orders", "status", "levels", "-o", "table"]),
    );
    let csv = sim.run(&["orders", "status", "levels", "-o", "csv"]);
    assert!(
        csv.ok()
            .starts_with("Code,Name,Meaning\n0,None,no status\n")
    );
    // Needs no account.
    let offline = crate::common::ontime()
        .args(["orders", "status", "levels", "-o", "json"])
        .output()
        .expect("runs");
    assert!(offline.status.success());
}

#[test]
fn update_changes_only_the_named_fields() {
    let sim = Sim::start();
    let before = sim.json(&["orders", "get", "-t", "1000003"]);
    let run = sim.run(&[
        "orders",
        "update",
        "-t",
        "1000003",
        "--set",
        "comments=Leave at reception",
        "--set",
        "Weight=12.5",
        "--set",
        "CollectionLocation.Phone=2145550100",
        "--unset",
        "PurchaseOrderNumber",
        "-o",
        "json",
    ]);
    let after: Value = serde_json::from_str(run.ok()).expect("json");
    assert_eq!(after["Comments"], "Leave at reception");
    assert_eq!(after["Weight"], 12.5);
    assert_eq!(after["CollectionLocation"]["Phone"], "2145550100");
    assert!(after.get("PurchaseOrderNumber").is_none_or(Value::is_null));
    // Everything else is as it was.
    let mut expected = before.clone();
    expected["Comments"] = after["Comments"].clone();
    expected["Weight"] = after["Weight"].clone();
    expected["CollectionLocation"]["Phone"] = after["CollectionLocation"]["Phone"].clone();
    let object = expected.as_object_mut().expect("object");
    object.remove("PurchaseOrderNumber");
    let mut got = after.clone();
    got.as_object_mut()
        .expect("object")
        .remove("PurchaseOrderNumber");
    assert_eq!(got, expected);

    let bad = sim.run(&["orders", "update", "-t", "1000003", "--set", "Coments=x"]);
    snapshot_run("orders_update_unknown_field", &bad);
    let bad = sim.run(&["orders", "update", "-t", "1000003", "--set", "Weight=heavy"]);
    snapshot_run("orders_update_bad_value", &bad);
}

#[test]
fn create_makes_an_order_and_refuses_to_overwrite() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("order.json");
    let customer = sim.json(&["orders", "get", "-t", "1000001"])["Customer"].clone();
    let draft = serde_json::json!({
        "Customer": customer,
        "Description": "Two boxes of lab samples",
        "Weight": 4.5,
        "Quantity": 2,
        "CollectionLocation": {"CompanyName": "Vesigo Studios", "City": "Dallas"},
        "DeliveryLocation": {"CompanyName": "Oakmont Florist", "City": "Irving"}
    });
    std::fs::write(&path, draft.to_string()).expect("write");
    let run = sim.run(&[
        "orders",
        "create",
        "--file",
        path.to_str().expect("utf8"),
        "-o",
        "table",
    ]);
    snapshot_filtered(
        "orders_create_table",
        &run,
        &[(GUID, "[guid]"), (r"\d{4}-\d\d-\d\d \d\d:\d\d", "[time]")],
    );
    let created = sim.json(&["orders", "get", "-t", "1000301"]);
    assert_eq!(created["Description"], "Two boxes of lab samples");

    // From stdin, with the ID of an existing order: refused.
    let existing = sim.json(&["orders", "get", "-t", "1000002"]);
    let run = sim.run_with(&["orders", "create", "--file", "-"], |cmd| {
        cmd.write_stdin(serde_json::json!({"ID": existing["ID"], "Comments": "x"}).to_string());
    });
    snapshot_filtered("orders_create_existing", &run, &[(GUID, "[guid]")]);
    let unchanged = sim.json(&["orders", "get", "-t", "1000002"]);
    assert_eq!(unchanged, existing);

    std::fs::write(&path, "{not json").expect("write");
    let run = sim.run(&["orders", "create", "--file", path.to_str().expect("utf8")]);
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert!(
        run.stderr.contains("is not an order in JSON"),
        "{}",
        run.stderr
    );
}

#[test]
fn cost_prices_orders_and_drafts() {
    let sim = Sim::start();
    let run = sim.run(&["orders", "cost", "-t", "1000001", "-o", "table"]);
    snapshot_run("orders_cost_table", &run);
    let priced = sim.json(&["orders", "cost", "-t", "1000001"]);
    assert!(priced["TotalCost"].as_f64().expect("number") > 0.0);
    assert_eq!(priced["Stored"], false);

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("draft.json");
    let order = sim.json(&["orders", "get", "-t", "1000001"]);
    std::fs::write(&path, order.to_string()).expect("write");
    let draft = sim.json(&["orders", "cost", "--file", path.to_str().expect("utf8")]);
    assert_eq!(draft["TotalCost"], priced["TotalCost"]);

    let stored = sim.json(&["orders", "cost", "-t", "1000001", "--store"]);
    assert_eq!(stored["Stored"], true);
    assert!(
        !sim.mock()
            .requests_for(Operation::OrderUpdatePrices)
            .is_empty()
    );
}

#[test]
fn report_and_signature_download_to_files() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let pdf = dir.path().join("label.pdf");
    let run = sim.run(&[
        "orders",
        "report",
        "-t",
        "1000001",
        "--out",
        pdf.to_str().expect("utf8"),
        "-o",
        "table",
    ]);
    let dir_text = dir.path().display().to_string();
    snapshot_filtered("orders_report_table", &run, &[(&dir_text, "[dir]")]);
    let bytes = std::fs::read(&pdf).expect("written");
    assert!(bytes.starts_with(b"%PDF"), "not a PDF");

    let waybill = sim.run(&[
        "orders", "report", "-t", "1000001", "--kind", "waybill", "--out", "-",
    ]);
    assert_eq!(waybill.code, 0);
    assert!(waybill.stdout.starts_with("%PDF"));
    assert_eq!(
        sim.mock()
            .requests_for(Operation::OrderReport)
            .last()
            .and_then(|r| r.query_param("type"))
            .as_deref(),
        Some("WB")
    );

    let signed = sim.mock().store().signed_order_ids();
    let signed = signed.first().expect("a signed order").to_string();
    let png = dir.path().join("sig.png");
    let run = sim.run(&[
        "orders",
        "signature",
        &signed,
        "--out",
        png.to_str().expect("utf8"),
        "-o",
        "json",
    ]);
    let written: Value = serde_json::from_str(run.ok()).expect("json");
    assert_eq!(written["ContentType"], "image/png");
    let bytes = std::fs::read(&png).expect("written");
    assert!(bytes.starts_with(b"\x89PNG"), "not a PNG");

    // An order nobody signed for yet.
    let open = sim.json(&["orders", "find", "--status", "dispatched", "--limit", "1"]);
    let id = open[0]["ID"].as_str().expect("id");
    let run = sim.run(&[
        "orders",
        "signature",
        id,
        "--out",
        png.to_str().expect("utf8"),
    ]);
    snapshot_filtered("orders_signature_missing", &run, &[(id, "[id]")]);
}

#[test]
fn lists_stream_records_as_they_arrive() {
    let sim = Sim::start();
    let first_two = sim.json(&["orders", "find", "--limit", "2"]);
    let id = |i: usize| first_two[i]["ID"].as_str().expect("an ID").to_string();
    // The second order's fetch is held for an hour: whatever the machine's load, the command
    // cannot finish before this test ends it, so a first record printed now was printed while
    // the rest were still being fetched. No durations are compared.
    sim.mock().set_faults(vec![
        FaultRule::always(FaultKind::Latency {
            fixed: Duration::from_secs(3600),
            jitter: Duration::ZERO,
        })
        .on_path(Some("GET"), format!("/api/orders/{}", id(1))),
    ]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_ontime"))
        .args([
            "--base-url",
            &sim.base_url(),
            "--api-key",
            KEY,
            "--concurrency",
            "1",
        ])
        .args(["orders", "find", "--limit", "12", "-o", "ndjson"])
        .env_remove("ONTIME_OUTPUT")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines.next().expect("a line").expect("utf8");
    let first: Value = serde_json::from_str(&first).expect("a JSON record");
    assert_eq!(first["ID"].as_str(), Some(id(0).as_str()));
    assert!(
        child.try_wait().expect("wait").is_none(),
        "the first record should print while the rest are still being fetched"
    );
    child.kill().expect("kill");
    child.wait().expect("exit");
}
