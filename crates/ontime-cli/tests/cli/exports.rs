//! Exports of many records: failures of single records (`--keep-going`), and record text that
//! must not drive the terminal.

use ontime_mock::FaultRule;
use serde_json::{Value, json};

use crate::common::{Sim, order_ids};

/// Makes the simulator fail fetches of these orders with `status`.
fn fail_gets(sim: &Sim, failing: &[(&str, u16)]) {
    sim.mock().set_faults(
        failing
            .iter()
            .map(|(id, status)| {
                FaultRule::status(*status, None).on_path(Some("GET"), format!("/api/orders/{id}"))
            })
            .collect(),
    );
}

fn ids_printed(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("json")["ID"]
                .as_str()
                .expect("id")
                .to_string()
        })
        .collect()
}

#[test]
fn without_keep_going_the_first_failure_names_its_record() {
    let sim = Sim::start();
    let ids = order_ids(&sim, 6);
    fail_gets(&sim, &[(&ids[2], 500)]);
    let run = sim.run(&["--retries", "0", "orders", "find", "--limit", "6"]);
    assert_eq!(run.code, 6, "{}", run.transcript());
    assert!(
        run.stderr.contains(&format!("error: order {}: ", ids[2])),
        "{}",
        run.stderr
    );
    // One record by ID, by `get TYPE`: named too.
    let run = sim.run(&["--retries", "0", "get", "orders", &ids[2]]);
    assert_eq!(run.code, 6, "{}", run.transcript());
    assert!(run.stderr.contains(&format!("order {}: ", ids[2])));
}

#[test]
fn keep_going_prints_the_others_and_lists_the_failures_at_the_end() {
    let sim = Sim::start();
    let ids = order_ids(&sim, 10);
    fail_gets(&sim, &[(&ids[3], 500), (&ids[7], 404)]);
    let expected: Vec<String> = ids
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 7)
        .map(|(_, id)| id.clone())
        .collect();

    let run = sim.run(&[
        "--retries",
        "0",
        "orders",
        "find",
        "--limit",
        "10",
        "--keep-going",
    ]);
    assert_eq!(ids_printed(&run.stdout), expected, "{}", run.transcript());
    // The most severe failure decides: a server failure (6) over a missing record (5).
    assert_eq!(run.code, 6, "{}", run.transcript());
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{}", run.stderr);
    assert!(lines[0].starts_with(&format!("failed: order {}: ", ids[3])));
    assert_eq!(lines[1], format!("failed: no order has the ID {}", ids[7]));
    assert_eq!(
        lines[2],
        "error: 2 of 10 orders could not be fetched (listed above); the others were printed"
    );

    // The same for `get TYPE ID...` and `orders get ID...`.
    let mut args = vec!["--retries", "0", "get", "orders", "--keep-going"];
    args.extend(ids.iter().map(String::as_str));
    let run = sim.run(&args);
    assert_eq!(run.code, 6, "{}", run.transcript());
    assert_eq!(ids_printed(&run.stdout), expected);
    let mut args = vec!["orders", "get", "--keep-going", "--retries", "0"];
    args.extend([ids[7].as_str(), ids[0].as_str()]);
    let run = sim.run(&args);
    assert_eq!(run.code, 5, "{}", run.transcript());
    assert_eq!(ids_printed(&run.stdout), [ids[0].clone()]);
    assert!(
        run.stderr
            .contains(&format!("failed: no order has the ID {}", ids[7]))
    );

    // By tracking number: the failure names the number.
    let run = sim.run(&[
        "orders",
        "get",
        "-t",
        "--keep-going",
        "1000001",
        "9999999",
        "1000002",
    ]);
    assert_eq!(run.code, 5, "{}", run.transcript());
    assert_eq!(run.stdout.lines().count(), 2, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("failed: no order has the tracking number 9999999"),
        "{}",
        run.stderr
    );

    // `find TYPE` too; nothing failing means exit 0.
    sim.mock().clear_faults();
    let run = sim.run(&["find", "orders", "--limit", "10", "--keep-going"]);
    assert_eq!(ids_printed(run.ok()), ids);
}

#[test]
fn keep_going_still_stops_when_the_key_is_refused() {
    let sim = Sim::start();
    let ids = order_ids(&sim, 5);
    fail_gets(&sim, &[(&ids[1], 401), (&ids[2], 401), (&ids[3], 401)]);
    let run = sim.run(&[
        "--concurrency",
        "1",
        "orders",
        "find",
        "--limit",
        "5",
        "--keep-going",
    ]);
    assert_eq!(run.code, 3, "{}", run.transcript());
    assert_eq!(ids_printed(&run.stdout), [ids[0].clone()]);
    assert!(run.stderr.contains(&format!("order {}: ", ids[1])));
    assert!(!run.stderr.contains(&ids[3]), "{}", run.stderr);
}

#[test]
fn terminal_escapes_in_records_are_shown_not_obeyed() {
    let sim = Sim::start();
    let customer = sim.json(&["orders", "get", "-t", "1000001"])["Customer"].clone();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("order.json");
    let hostile = "\u{1b}]0;owned\u{7}\u{1b}[31mred\u{9b}2J\u{7f}";
    std::fs::write(
        &path,
        json!({
            "Customer": customer,
            "Comments": hostile,
            "CollectionLocation": {"CompanyName": hostile}
        })
        .to_string(),
    )
    .expect("write");
    let created = sim.run(&[
        "orders",
        "create",
        "--file",
        path.to_str().expect("utf8"),
        "-o",
        "json",
    ]);
    let created: Value = serde_json::from_str(created.ok()).expect("json");
    let id = created["ID"].as_str().expect("id").to_string();
    let other = order_ids(&sim, 1).remove(0);
    let shown = r"\u{1b}]0;owned\u{7}\u{1b}[31mred\u{9b}2J\u{7f}";
    let is_control = |c: char| c.is_control() && c != '\n';

    // The detail view shows the whole text; a list's column cuts it (after escaping, so no
    // escape is cut in half into a raw one).
    for (args, expected) in [
        (vec!["orders", "get", id.as_str(), "-o", "table"], shown),
        (
            vec!["orders", "get", other.as_str(), id.as_str(), "-o", "table"],
            r"\u{1b}]0;owned\u{7}\u{1",
        ),
    ] {
        let run = sim.run(&args);
        assert!(!run.ok().contains(is_control), "{:?}", run.stdout);
        assert!(run.stdout.contains(expected), "{}", run.stdout);
    }
    // CSV and JSON are data: the bytes stay as stored.
    let csv = sim.run(&["orders", "get", &id, "-o", "csv"]);
    assert!(csv.ok().contains(hostile));
    let json = sim.json(&["orders", "get", &id]);
    assert_eq!(json["Comments"], hostile);
}

#[test]
fn a_failed_attachment_fetch_names_the_attachment() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("note.txt");
    std::fs::write(&file, b"signed").expect("write");
    let put = sim.run(&[
        "attachments",
        "put",
        "-t",
        "1000004",
        file.to_str().expect("utf8"),
        "-o",
        "json",
    ]);
    let put: Value = serde_json::from_str(put.ok()).expect("json");
    let id = put["ID"].as_str().expect("id").to_string();
    sim.mock().set_faults(vec![
        FaultRule::status(500, None).on_path(Some("GET"), format!("/api/fileAttachments/{id}")),
    ]);
    let run = sim.run(&["--retries", "0", "attachments", "list", "-t", "1000004"]);
    assert_eq!(run.code, 6, "{}", run.transcript());
    assert!(
        run.stderr.contains(&format!("error: attachment {id}: ")),
        "{}",
        run.stderr
    );
}
