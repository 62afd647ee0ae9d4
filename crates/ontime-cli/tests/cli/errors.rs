//! Bad input, refused keys, missing records, failing servers: messages and exit codes.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use ontime_mock::{FaultRule, Operation};

use crate::common::{KEY, Run, Sim, ontime, snapshot_filtered, snapshot_run};

#[test]
fn malformed_guid_is_a_usage_error() {
    let sim = Sim::start();
    let run = sim.run(&["orders", "get", "1000001"]);
    assert_eq!(run.code, 2);
    snapshot_run("error_bad_guid", &run);
    let run = sim.run(&["users", "availability", "not-a-guid"]);
    assert_eq!(run.code, 2);
    snapshot_run("error_bad_user_guid", &run);
    let run = sim.run(&["get", "zones", "zzz"]);
    assert_eq!(run.code, 2);
    snapshot_run("error_bad_guid_generic", &run);
    assert!(sim.mock().requests().is_empty(), "no request for bad input");
}

#[test]
fn unknown_status_lists_the_valid_ones() {
    let sim = Sim::start();
    let run = sim.run(&["orders", "find", "--status", "delivred"]);
    assert_eq!(run.code, 2);
    snapshot_run("error_unknown_status", &run);
    let run = sim.run(&["orders", "status", "set", "-t", "1000001", "42"]);
    assert_eq!(run.code, 2);
    snapshot_run("error_unknown_status_code", &run);
    assert!(sim.mock().requests().is_empty());
}

#[test]
fn malformed_dates_are_usage_errors() {
    let sim = Sim::start();
    let run = sim.run(&["orders", "find", "--submitted-from", "yesterday"]);
    assert_eq!(run.code, 2);
    snapshot_run("error_bad_date", &run);
    let run = sim.run(&["orders", "find", "--submitted-on", "2026-02-30"]);
    assert_eq!(run.code, 2);
    snapshot_run("error_impossible_date", &run);
}

#[test]
fn missing_key_or_account_is_a_usage_error() {
    let sim = Sim::start();
    let run = sim.run_keyless(&["orders", "find"], |_| {});
    assert_eq!(run.code, 2);
    snapshot_run("error_missing_key", &run);
    let run = Run::of(ontime().args(["--api-key", KEY, "orders", "find"]))
        .described("ontime --api-key KEY orders find");
    assert_eq!(run.code, 2);
    snapshot_run("error_missing_account", &run);
    let run = sim.run_keyless(
        &[
            "--api-key-file",
            "/nonexistent/ontime-key",
            "orders",
            "find",
        ],
        |_| {},
    );
    assert_eq!(run.code, 2);
    snapshot_run("error_missing_key_file", &run);
    let run = Run::of(ontime().args([
        "--base-url",
        "http://ontime.example.com/sites/demo",
        "--api-key",
        KEY,
        "check",
    ]))
    .described("ontime --base-url http://ontime.example.com/sites/demo --api-key KEY check");
    assert_eq!(run.code, 2);
    snapshot_run("error_plain_http", &run);
    assert!(sim.mock().requests().is_empty());
}

#[test]
fn key_from_file_stdin_or_environment() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("key");
    std::fs::write(&file, format!("{KEY}\n")).expect("write");
    let from_file = sim.run_keyless(
        &[
            "--api-key-file",
            file.to_str().expect("utf8"),
            "orders",
            "find",
            "--ids-only",
            "--limit",
            "1",
        ],
        |_| {},
    );
    assert_eq!(from_file.ok().lines().count(), 1);
    let from_stdin = sim.run_keyless(
        &[
            "--api-key-stdin",
            "orders",
            "find",
            "--ids-only",
            "--limit",
            "1",
        ],
        |cmd| {
            cmd.write_stdin(format!("{KEY}\n"));
        },
    );
    assert_eq!(from_stdin.ok(), from_file.stdout);
    let from_env = sim.run_keyless(&["orders", "find", "--ids-only", "--limit", "1"], |cmd| {
        cmd.env("ONTIME_API_KEY", KEY);
    });
    assert_eq!(from_env.ok(), from_file.stdout);
    for run in [&from_file, &from_stdin, &from_env] {
        assert!(
            !run.stderr.contains(KEY) && !run.stdout.contains(KEY),
            "the key was echoed: {}",
            run.transcript()
        );
    }
    let keys: Vec<_> = sim.mock().requests().into_iter().map(|r| r.key).collect();
    assert!(keys.iter().all(|k| k.as_deref() == Some(KEY)), "{keys:?}");
    let both = sim.run(&["--api-key-stdin", "check"]);
    assert_eq!(both.code, 2, "{}", both.transcript());
    let shared_stdin = sim.run_keyless(
        &["--api-key-stdin", "orders", "create", "--file", "-"],
        |cmd| {
            cmd.write_stdin(format!("{KEY}\n{{}}"));
        },
    );
    assert_eq!(shared_stdin.code, 2, "{}", shared_stdin.transcript());
    assert!(shared_stdin.stderr.contains("stdin cannot carry both"));
}

#[test]
fn refused_key_exits_3_and_scoped_key_exits_4() {
    let sim = Sim::start();
    let run = sim.run_keyless(
        &["--api-key", "wrong-key", "orders", "get", "-t", "1000001"],
        |_| {},
    );
    assert_eq!(run.code, 3);
    snapshot_run("error_unauthorized", &run);
    assert!(!run.stderr.contains("wrong-key"));

    let scoped = sim.mock().customer_key().to_string();
    let other = sim
        .json(&["orders", "find", "--limit", "40"])
        .as_array()
        .expect("orders")
        .iter()
        .find(|o| o["Customer"].as_str() != Some(&sim.mock().scoped_customer().to_string()))
        .expect("another customer's order")["ID"]
        .as_str()
        .expect("id")
        .to_string();
    let run = sim.run_keyless(&["--api-key", &scoped, "orders", "get", &other], |_| {});
    assert_eq!(run.code, 4);
    snapshot_run("error_forbidden", &run);
}

#[test]
fn missing_records_exit_5() {
    let sim = Sim::start();
    let run = sim.run(&["orders", "get", "00000000-0000-4000-8000-000000000000"]);
    assert_eq!(run.code, 5);
    snapshot_run("error_order_not_found", &run);
    let run = sim.run(&["orders", "timeline", "-t", "999"]);
    assert_eq!(run.code, 5);
    snapshot_run("error_tracking_number_not_found", &run);
    let run = sim.run(&["customers", "by-name", "Nobody Inc"]);
    assert_eq!(run.code, 5);
    snapshot_run("error_customer_name_not_found", &run);
}

#[test]
fn network_and_server_failures_exit_6() {
    // Nothing listens on the port of a stopped simulator.
    let url = {
        let sim = Sim::start();
        sim.base_url()
    };
    let run = Run::of(ontime().args([
        "--base-url",
        &url,
        "--api-key",
        KEY,
        "--retries",
        "0",
        "check",
    ]));
    assert_eq!(run.code, 6, "{}", run.transcript());
    assert!(
        run.stderr.starts_with("error: ordersFind: transport error")
            || run.stderr.contains("transport error"),
        "{}",
        run.stderr
    );

    let sim =
        Sim::with(|b| b.fault(FaultRule::status(500, None).on_operation(Operation::OrdersFind)));
    let run = sim.run(&["orders", "find"]);
    assert_eq!(run.code, 6);
    snapshot_run("error_server_500", &run);
}

#[test]
fn exhausted_quota_exits_7() {
    let sim = Sim::with(|b| b.daily_quota(2));
    sim.run(&["check"]).ok();
    sim.run(&["check"]).ok();
    let run = sim.run(&["check"]);
    assert_eq!(run.code, 7, "{}", run.transcript());
    snapshot_filtered(
        "error_rate_limited",
        &run,
        &[(r"retry after \d+s", "retry after [n]s")],
    );
}

#[test]
fn verbose_shows_the_calls_but_never_the_key() {
    let sim = Sim::start();
    let run = sim.run(&["-v", "orders", "get", "-t", "1000001", "-o", "json"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stderr.contains("ontime.call"), "{}", run.stderr);
    assert!(run.stderr.contains("orders_find"), "{}", run.stderr);
    let run = sim.run(&["-vv", "orders", "get", "-t", "1000001", "-o", "json"]);
    assert_eq!(run.code, 0);
    assert!(!run.stderr.is_empty());
    for output in [&run.stderr, &run.stdout] {
        assert!(!output.contains(KEY), "the key leaked:\n{output}");
    }
    // Without -v, stderr stays empty.
    let quiet = sim.run(&["orders", "get", "-t", "1000001", "-o", "json"]);
    assert_eq!(quiet.stderr, "");
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let sim = Sim::start();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ontime"))
        .args([
            "--base-url",
            &sim.base_url(),
            "--api-key",
            KEY,
            "--concurrency",
            "1",
        ])
        .args(["orders", "find", "-o", "ndjson"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    reader.read_line(&mut line).expect("a line");
    drop(reader);
    let output = child.wait_with_output().expect("exit");
    assert!(output.status.success(), "{:?}", output.status);
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}
