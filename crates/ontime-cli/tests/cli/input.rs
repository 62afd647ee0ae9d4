//! Input the command line refuses or reads carefully: blank values, the account options and
//! their variables, date ranges, unknown records, and values the spec can check locally.

use ontime_mock::Operation;
use serde_json::{Value, json};

use crate::common::{KEY, Run, Sim, ontime, order_ids};

/// A GUID no simulator record has.
const UNKNOWN: &str = "0f0e0d0c-0b0a-4908-8706-050403020100";

fn create(sim: &Sim, order: &Value) -> Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("order.json");
    std::fs::write(&path, order.to_string()).expect("write");
    let run = sim.run(&[
        "orders",
        "create",
        "--file",
        path.to_str().expect("utf8"),
        "-o",
        "json",
    ]);
    serde_json::from_str(run.ok()).expect("json")
}

#[test]
fn blank_names_tracking_numbers_and_filter_values_are_usage_errors() {
    let sim = Sim::start();
    let cases: &[&[&str]] = &[
        &["orders", "get", "-t", ""],
        &["orders", "get", "-t", "1000001", "  "],
        &["orders", "timeline", "-t", " "],
        &["orders", "status", "set", "-t", "", "delivered"],
        &["customers", "by-name", ""],
        &["customers", "find", "--city", "\t"],
        &["orders", "find", "--customer-name", ""],
        &["orders", "find", "--tracking-number", " "],
        &["orders", "find", "--reference-number", ""],
        &["users", "find", "--email", ""],
        &["find", "locations", "--city", ""],
        &["get", "customers", "--name", " "],
        &["get", "price-sets", "--name", ""],
    ];
    for args in cases {
        let run = sim.run(args);
        assert_eq!(run.code, 2, "{}", run.transcript());
        assert!(
            run.stderr.contains("the value is empty"),
            "{}",
            run.transcript()
        );
        assert!(run.stdout.is_empty(), "{}", run.transcript());
    }
    assert!(sim.mock().requests().is_empty(), "nothing was sent");
}

#[test]
fn options_beat_the_environment_and_the_account_options_conflict() {
    let sim = Sim::start();
    // --company with --base-url: which account is meant? A usage error, before any request.
    let run = Run::of(ontime().args([
        "--base-url",
        &sim.base_url(),
        "--company",
        "acme",
        "--api-key",
        KEY,
        "check",
    ]));
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert!(run.stderr.contains("cannot be used with"), "{}", run.stderr);

    // --base-url wins over ONTIME_COMPANY_ID (a company would send the call elsewhere).
    let run = Run::of(ontime().env("ONTIME_COMPANY_ID", "acme").args([
        "--base-url",
        &sim.base_url(),
        "--api-key",
        KEY,
        "check",
    ]));
    assert_eq!(run.code, 0, "{}", run.transcript());

    // ONTIME_BASE_URL alone is used...
    let run =
        Run::of(
            ontime()
                .env("ONTIME_BASE_URL", sim.base_url())
                .args(["--api-key", KEY, "check"]),
        );
    assert_eq!(run.code, 0, "{}", run.transcript());
    // ...both variables with no option are ambiguous.
    let run = Run::of(
        ontime()
            .env("ONTIME_BASE_URL", sim.base_url())
            .env("ONTIME_COMPANY_ID", "acme")
            .args(["--api-key", KEY, "check"]),
    );
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("both ONTIME_BASE_URL and ONTIME_COMPANY_ID are set"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("hint: unset one of them, or pass --base-url URL or --company ID"),
        "{}",
        run.stderr
    );
    // ...which an option settles.
    let run = Run::of(
        ontime()
            .env("ONTIME_BASE_URL", "http://127.0.0.1:9/sites/elsewhere")
            .env("ONTIME_COMPANY_ID", "acme")
            .args(["--base-url", &sim.base_url(), "--api-key", KEY, "check"]),
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
    // --company beats ONTIME_BASE_URL: the simulator at that URL is not called. (Where the
    // company's URL leads is not tried here: tests stay on 127.0.0.1; the unit test of the
    // account choice covers it.) An empty company is refused before that.
    let run = Run::of(ontime().env("ONTIME_BASE_URL", sim.base_url()).args([
        "--company",
        " ",
        "--api-key",
        KEY,
        "check",
    ]));
    assert_eq!(run.code, 2, "{}", run.transcript());
    let help = Run::of(ontime().args(["--help"]));
    assert!(
        help.stdout.contains("an option always wins"),
        "{}",
        help.stdout
    );
    assert_eq!(
        sim.mock().requests().len(),
        3,
        "only the three checks that ran"
    );
}

#[test]
fn a_bare_date_as_upper_bound_covers_the_whole_day() {
    let sim = Sim::start();
    let customer = sim.json(&["orders", "get", "-t", "1000001"])["Customer"].clone();
    let late = create(
        &sim,
        &json!({"Customer": customer, "Description": "late", "DateSubmitted": "2026-11-30T23:59:30"}),
    );
    let early = create(
        &sim,
        &json!({"Customer": customer, "Description": "early", "DateSubmitted": "2026-12-01T00:00:00"}),
    );
    let found = sim.run(&[
        "orders",
        "find",
        "--submitted-from",
        "2026-11-30",
        "--submitted-to",
        "2026-11-30",
        "--ids-only",
    ]);
    let ids: Vec<&str> = found.ok().lines().collect();
    assert_eq!(ids, [late["ID"].as_str().expect("id")], "{}", found.stdout);
    assert!(!ids.contains(&early["ID"].as_str().expect("id")));
    let query = sim
        .mock()
        .requests_for(Operation::OrdersFind)
        .pop()
        .expect("a find");
    assert!(
        query
            .query
            .as_deref()
            .is_some_and(|q| q.contains("dateSubmittedMax=2026-11-30T23%3A59%3A59.9999999")),
        "{:?}",
        query.query
    );
    // A time is taken as written.
    let found = sim.run(&[
        "orders",
        "find",
        "--submitted-from",
        "2026-11-30",
        "--submitted-to",
        "2026-11-30T23:00:00",
        "--ids-only",
    ]);
    assert_eq!(found.ok(), "");
    let help = sim.run(&["orders", "find", "--help"]);
    assert!(
        help.ok()
            .contains("a bare date: through the end of that day")
    );
}

#[test]
fn a_range_that_ends_before_it_starts_is_a_usage_error() {
    let sim = Sim::start();
    let cases: &[&[&str]] = &[
        &[
            "orders",
            "find",
            "--submitted-from",
            "2026-11-30",
            "--submitted-to",
            "2026-11-01",
        ],
        &[
            "customers",
            "find",
            "--created-from",
            "2026-11-30T10:00:00Z",
            "--created-to",
            "2026-11-30T09:00:00Z",
        ],
        &[
            "users",
            "find",
            "--modified-from",
            "2026-11-02",
            "--modified-to",
            "2026-11-01",
        ],
        &[
            "users",
            "position",
            UNKNOWN,
            "--from",
            "2026-11-24T10:00:00",
            "--to",
            "2026-11-24T09:00:00",
        ],
        &[
            "find",
            "user-sessions",
            "--logged-in-from",
            "2026-11-24",
            "--logged-out-by",
            "2026-11-23",
        ],
    ];
    for args in cases {
        let run = sim.run(args);
        assert_eq!(run.code, 2, "{}", run.transcript());
        assert!(run.stderr.contains("the range is empty"), "{}", run.stderr);
    }
    assert!(sim.mock().requests().is_empty());
    // The same day as both ends is a day, not an empty range.
    sim.run(&[
        "orders",
        "find",
        "--submitted-from",
        "2026-11-24",
        "--submitted-to",
        "2026-11-24",
        "--ids-only",
    ])
    .ok();
}

#[test]
fn unknown_orders_and_users_are_not_found_even_when_the_api_answers_empty_lists() {
    let sim = Sim::start();
    let run = sim.run(&["attachments", "list", UNKNOWN, "-o", "json"]);
    assert_eq!(run.code, 5, "{}", run.transcript());
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(run.stderr.contains(&format!("no order {UNKNOWN} exists")));

    let run = sim.run(&["users", "position", UNKNOWN, "-o", "json"]);
    assert_eq!(run.code, 5, "{}", run.transcript());
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(
        run.stderr
            .contains(&format!("no user has the ID {UNKNOWN}"))
    );
    let run = sim.run(&["users", "position", UNKNOWN, "--latest"]);
    assert_eq!(run.code, 5, "{}", run.transcript());
    assert!(
        run.stderr
            .contains(&format!("no user has the ID {UNKNOWN}"))
    );

    // A known order without attachments is fine, and costs one more call only then.
    let id = order_ids(&sim, 1).remove(0);
    sim.mock().clear_requests();
    let run = sim.run(&["attachments", "list", &id, "-o", "json"]);
    assert_eq!(run.ok(), "[]\n");
    assert_eq!(sim.mock().requests_for(Operation::OrdersGet).len(), 1);
    let user = sim.json(&["users", "find", "--limit", "1"])[0]["ID"]
        .as_str()
        .expect("id")
        .to_string();
    let run = sim.run(&[
        "users",
        "position",
        &user,
        "--from",
        "2001-01-01",
        "--to",
        "2001-01-02",
        "-o",
        "json",
    ]);
    assert_eq!(run.ok(), "[]\n");
}

#[test]
fn enum_values_and_unknown_fields_are_refused_before_posting() {
    let sim = Sim::start();
    let run = sim.run(&[
        "orders",
        "update",
        "-t",
        "1000001",
        "--set",
        "BasePriceType=Bogus",
    ]);
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("\"Bogus\" is not a known pricing method")
            && run.stderr.contains("ZoneToZone"),
        "{}",
        run.stderr
    );
    let run = sim.run(&[
        "orders",
        "update",
        "-t",
        "1000001",
        "--set",
        "CollectionLocation.Bogus=1",
    ]);
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("orders have no field CollectionLocation.Bogus"),
        "{}",
        run.stderr
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("order.json");
    let file = path.to_str().expect("utf8");
    let refused = [
        (
            json!({"Coments": "x"}),
            "orders have no field Coments (did you mean Comments?)",
        ),
        (
            json!({"CollectionLocation": {"Citty": "Dallas"}}),
            "orders have no field CollectionLocation.Citty (did you mean City?)",
        ),
        (
            json!({"BasePriceType": "Bogus"}),
            "BasePriceType: \"Bogus\" is not a known pricing method",
        ),
        (
            json!({"StatusLevel": 42}),
            "StatusLevel: \"42\" is not a known status level",
        ),
    ];
    for (order, message) in refused {
        std::fs::write(&path, order.to_string()).expect("write");
        for command in ["create", "cost"] {
            let run = sim.run(&["orders", command, "--file", file]);
            assert_eq!(run.code, 2, "{}", run.transcript());
            assert!(run.stderr.contains(message), "{message}: {}", run.stderr);
        }
    }
    assert!(
        sim.mock().requests().is_empty(),
        "{:?}",
        sim.mock().requests()
    );

    // Known names and codes pass, stored as the code.
    let run = sim.run(&[
        "orders",
        "update",
        "-t",
        "1000001",
        "--set",
        "BasePriceType=flatrate",
        "-o",
        "json",
    ]);
    let saved: Value = serde_json::from_str(run.ok()).expect("json");
    assert_eq!(saved["BasePriceType"], 3);
}
