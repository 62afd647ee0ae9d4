//! Writes whose answer is lost, failed creates, retried deletes and shared tracking numbers.

use std::time::Duration;

use ontime_mock::{FaultKind, FaultRule, Operation};
use serde_json::Value;

use crate::common::Sim;

/// The first request of `operation` loses its answer after the server applied it.
fn lose_first(kind: FaultKind, operation: Operation) -> FaultRule {
    FaultRule::always(kind).on_operation(operation).first(1)
}

fn order(sim: &Sim, n: usize) -> (String, String) {
    let id = sim.mock().store().order_ids()[n];
    let tn = sim
        .mock()
        .store()
        .order(id)
        .and_then(|o| o.tracking_number)
        .expect("tracking number");
    (id.to_string(), tn)
}

fn entries_labelled(sim: &Sim, id: &str, label: &str) -> usize {
    sim.mock()
        .store()
        .status_history(id.parse().expect("guid"))
        .expect("order")
        .iter()
        .filter(|s| s.name.as_deref() == Some(label))
        .count()
}

#[test]
fn a_status_change_whose_answer_is_cut_off_succeeds_once_and_names_the_order() {
    let sim = Sim::with(|b| {
        b.fault(lose_first(
            FaultKind::TruncatedBody,
            Operation::OrderUpdateStatus,
        ))
    });
    let (id, tn) = order(&sim, 3);
    let run = sim.run(&[
        "orders",
        "status",
        "set",
        "-t",
        &tn,
        "Delivered",
        "--label",
        "Dock 2",
        "-o",
        "table",
    ]);
    assert!(run.ok().contains(&id), "{}", run.transcript());
    assert!(run.stdout.contains(&tn), "{}", run.transcript());
    assert_eq!(entries_labelled(&sim, &id, "Dock 2"), 1);
    assert_eq!(
        sim.mock().requests_for(Operation::OrderUpdateStatus).len(),
        1
    );
}

#[test]
fn an_unresolvable_lost_answer_exits_8_naming_the_order_and_what_was_sent() {
    let sim = Sim::with(|b| {
        b.fault(lose_first(
            FaultKind::MalformedJson,
            Operation::OrderUpdateStatus,
        ))
        // The count before sending gets through (a harmless fault keeps the next rule off
        // it); every later timeline read fails.
        .fault(lose_first(
            FaultKind::SlowBody {
                chunk_delay: Duration::ZERO,
            },
            Operation::OrderStatusChanges,
        ))
        .fault(FaultRule::status(500, None).on_operation(Operation::OrderStatusChanges))
    });
    let (id, _) = order(&sim, 4);
    let run = sim.run(&[
        "orders",
        "status",
        "set",
        &id,
        "Delivered",
        "--label",
        "Gate 9",
    ]);
    assert_eq!(run.code, 8, "{}", run.transcript());
    assert!(
        run.stderr.contains(&id) && run.stderr.contains("Gate 9"),
        "{}",
        run.transcript()
    );
    assert!(run.stderr.contains("check"), "{}", run.transcript());
    assert_eq!(
        sim.mock().requests_for(Operation::OrderUpdateStatus).len(),
        1,
        "not re-sent"
    );
    let help = sim.run(&["--help"]);
    assert!(help.ok().contains("8  outcome unknown"), "{}", help.stdout);
}

#[test]
fn a_delete_whose_answer_is_lost_is_a_success() {
    let sim = Sim::with(|b| {
        b.fault(lose_first(
            FaultKind::TruncatedBody,
            Operation::OrderFileAttachmentDelete,
        ))
    });
    let (id, _) = order(&sim, 5);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("pod.txt");
    std::fs::write(&file, b"signed").expect("write");
    let put: Value = sim.json(&["attachments", "put", &id, file.to_str().expect("utf8")]);
    assert_eq!(put["Order"], id.as_str(), "the output names the order");
    let attachment = put["ID"].as_str().expect("id").to_string();
    let run = sim.run(&["attachments", "delete", &attachment]);
    assert!(run.ok().contains(&attachment), "{}", run.transcript());
    assert_eq!(
        sim.mock()
            .requests_for(Operation::OrderFileAttachmentDelete)
            .len(),
        2,
        "the lost answer was retried and the retry found it gone"
    );
    // Deleting it again is a real "not found".
    assert_eq!(sim.run(&["attachments", "delete", &attachment]).code, 5);
}

#[test]
fn a_failed_create_prints_the_id_and_a_rerun_with_it_updates_instead_of_duplicating() {
    let sim = Sim::with(|b| b.fault(lose_first(FaultKind::MalformedJson, Operation::OrderPost)));
    let store = sim.mock().store();
    let mut draft =
        serde_json::to_value(store.order(store.order_ids()[0]).expect("order")).expect("json");
    draft.as_object_mut().expect("object").remove("ID");
    draft
        .as_object_mut()
        .expect("object")
        .remove("TrackingNumber");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("order.json");
    std::fs::write(&file, draft.to_string()).expect("write");
    let path = file.to_str().expect("utf8");
    let count = store.order_count();

    let run = sim.run(&["orders", "create", "--file", path]);
    assert_ne!(run.code, 0, "{}", run.transcript());
    let hint = run
        .stderr
        .lines()
        .find(|l| l.contains("rerun with --id"))
        .unwrap_or_else(|| panic!("{}", run.transcript()));
    let id = first_guid(hint).expect("the hint names the ID");
    assert_eq!(
        store.order_count(),
        count + 1,
        "stored although the answer was lost"
    );

    let rerun = sim.run(&[
        "orders", "create", "--file", path, "--id", &id, "-o", "json",
    ]);
    let saved: Value = serde_json::from_str(rerun.ok()).expect("json");
    assert_eq!(saved["ID"], id.as_str());
    assert_eq!(
        store.order_count(),
        count + 1,
        "the rerun updated the same order"
    );
}

/// The first GUID (8-4-4-4-12 hex digits) in `text`.
fn first_guid(text: &str) -> Option<String> {
    text.split(|c: char| !(c.is_ascii_hexdigit() || c == '-'))
        .find(|word| {
            let lengths: Vec<usize> = word.split('-').map(str::len).collect();
            lengths == [8, 4, 4, 4, 12]
        })
        .map(str::to_string)
}

#[test]
fn a_tracking_number_two_orders_share_is_refused_with_both_ids() {
    let sim = Sim::start();
    let (first, tn) = order(&sim, 6);
    let store = sim.mock().store();
    let mut copy = serde_json::to_value(store.order(first.parse().expect("guid")).expect("order"))
        .expect("json");
    copy.as_object_mut().expect("object").remove("ID");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("copy.json");
    std::fs::write(&file, copy.to_string()).expect("write");
    let created: Value = sim.json(&["orders", "create", "--file", file.to_str().expect("utf8")]);
    let second = created["ID"].as_str().expect("id").to_string();
    assert_eq!(created["TrackingNumber"], tn.as_str());
    let note = dir.path().join("note.txt");
    std::fs::write(&note, b"x").expect("write");

    let fingerprint = store.fingerprint();
    for args in [
        vec!["orders", "get", "-t", &tn],
        vec!["orders", "status", "set", "-t", &tn, "Delivered"],
        vec!["orders", "update", "-t", &tn, "--set", "Comments=x"],
        vec![
            "attachments",
            "put",
            "-t",
            &tn,
            note.to_str().expect("utf8"),
        ],
        vec!["orders", "timeline", "-t", &tn],
    ] {
        let run = sim.run(&args);
        assert_eq!(run.code, 2, "{}", run.transcript());
        assert!(
            run.stderr.contains(&first) && run.stderr.contains(&second),
            "both candidates are listed: {}",
            run.transcript()
        );
    }
    assert_eq!(store.fingerprint(), fingerprint, "nothing was written");
}

#[test]
fn help_says_which_window_an_update_leaves_open_and_how_to_rerun_a_create() {
    let update = crate::common::ontime()
        .args(["orders", "update", "--help"])
        .output()
        .expect("runs");
    let update = String::from_utf8_lossy(&update.stdout);
    assert!(
        update.contains("no conditional update") && update.contains("between the last read and"),
        "{update}"
    );
    assert!(!update.to_lowercase().contains("safely"), "{update}");
    let create = crate::common::ontime()
        .args(["orders", "create", "--help"])
        .output()
        .expect("runs");
    let create = String::from_utf8_lossy(&create.stdout);
    assert!(
        create.contains("--id <ID>") && create.contains("rerunning with --id"),
        "{create}"
    );
    let status = crate::common::ontime()
        .args(["orders", "status", "set", "--help"])
        .output()
        .expect("runs");
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(status.contains("exit 8"), "{status}");
}
