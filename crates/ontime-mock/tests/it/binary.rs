//! The `ontime-mock` binary: one command starts it, it prints its base URL and keys, serves,
//! and stops cleanly on Ctrl-C (SIGINT) or SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The clock's start for every run of the binary here: fixed, not the wall clock.
const CLOCK_START: &str = "2024-05-15T10:30:00";

/// Kills the child if the test fails before it stops by itself.
struct Reaper(std::process::Child);

impl Reaper {
    /// Starts the binary with `args` and returns it with its stdout's lines.
    fn spawn(args: &[&str]) -> (Self, std::io::Lines<BufReader<std::process::ChildStdout>>) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ontime-mock"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("binary starts");
        let stdout = child.stdout.take().expect("stdout");
        (Self(child), BufReader::new(stdout).lines())
    }

    /// Sends `signal` (`INT`, `TERM`) and waits up to 10 s for the process to exit.
    fn stop_with(&mut self, signal: &str) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.0.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let started = Instant::now();
        loop {
            if let Some(exit) = self.0.try_wait().expect("wait") {
                return exit;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "did not stop on SIG{signal}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

#[tokio::test]
async fn binary_prints_url_and_keys_serves_and_stops_on_ctrl_c() {
    let (mut child, mut lines) = Reaper::spawn(&[
        "--port",
        "0",
        "--seed",
        "7",
        "--orders",
        "500",
        "--api-key",
        "KEY-123",
        "--fault",
        "status,status=503,op=vehiclesFind,times=1",
        "--clock-start",
        CLOCK_START,
    ]);
    let mut seen = Vec::new();
    while seen.len() < 5 {
        match lines.next() {
            Some(Ok(line)) => seen.push(line),
            _ => break,
        }
    }
    let base = seen[0]
        .strip_prefix("ontime-mock listening on ")
        .expect("first line names the base URL")
        .to_owned();
    assert!(
        base.starts_with("http://127.0.0.1:") && base.ends_with("/sites/demo"),
        "{base}"
    );
    assert!(
        seen.iter()
            .any(|l| l.contains("KEY-123") && l.contains("full access")),
        "{seen:?}"
    );
    let customer_key = seen
        .iter()
        .find_map(|l| l.strip_prefix("customer key: "))
        .and_then(|l| l.split_whitespace().next())
        .expect("customer key line")
        .to_owned();

    let http = reqwest::Client::new();
    let ids: Vec<String> = http
        .get(format!("{base}/api/orders"))
        .header("Authorization", "KEY-123")
        .send()
        .await
        .expect("orders")
        .json()
        .await
        .expect("json");
    assert_eq!(ids.len(), 500);
    let scoped = http
        .get(format!("{base}/api/orders"))
        .header("Authorization", &customer_key)
        .send()
        .await
        .expect("orders")
        .json::<Vec<String>>()
        .await
        .expect("json");
    assert!(!scoped.is_empty() && scoped.len() < 500);
    let first = http
        .get(format!("{base}/api/vehicles"))
        .header("Authorization", "KEY-123")
        .send()
        .await
        .expect("vehicles");
    assert_eq!(first.status(), 503, "the --fault flag applies");

    let exit = child.stop_with("INT");
    assert!(exit.success(), "{exit:?}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l.contains("stopping")), "{rest:?}");
}

#[test]
fn binary_stops_on_sigterm() {
    let (mut child, mut lines) = Reaper::spawn(&[
        "--port",
        "0",
        "--orders",
        "10",
        "--clock-start",
        CLOCK_START,
    ]);
    let first = lines.next().expect("a line").expect("utf8");
    assert!(first.starts_with("ontime-mock listening on "), "{first}");
    let exit = child.stop_with("TERM");
    assert!(exit.success(), "{exit:?}");
}

#[test]
fn binary_refuses_an_unknown_fault_key() {
    let out = Command::new(env!("CARGO_BIN_EXE_ontime-mock"))
        .args([
            "--port",
            "0",
            "--fault",
            "status,status=503,probability=0.1",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("binary runs");
    assert_eq!(out.status.code(), Some(2), "a usage error: {out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("\"probability\""), "{stderr}");
    assert!(
        stderr.contains("p, times"),
        "lists the valid keys: {stderr}"
    );
    assert!(out.stdout.is_empty(), "it never started: {out:?}");
}

#[tokio::test]
async fn binary_runs_an_activity_and_writes_its_truth() {
    let dir = std::env::temp_dir().join(format!("ontime-mock-bin-truth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let truth = dir.join("truth.ndjson");
    let (mut child, mut lines) = Reaper::spawn(&[
        "--port",
        "0",
        "--orders",
        "300",
        "--clock-start",
        CLOCK_START,
        "--clock-speed",
        "72000",
        "--activity",
        "120",
        "--activity-orders",
        "3",
        "--truth",
        truth.to_str().expect("utf-8"),
    ]);
    let finished = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.starts_with("activity finished: "))
        .expect("the binary says when the activity has finished");
    let count: usize = finished
        .trim_start_matches("activity finished: ")
        .trim_end_matches(" changes")
        .parse()
        .expect("a count");
    let text = std::fs::read_to_string(&truth).expect("truth file");
    let changes: Vec<ontime_mock::TruthChange> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a change a line"))
        .collect();
    assert_eq!(changes.len(), count);
    let created = changes
        .iter()
        .filter(|c| {
            matches!(
                c.change,
                ontime_mock::Change::OrderStatus {
                    step: ontime_mock::Step::Created,
                    ..
                }
            )
        })
        .count();
    assert_eq!(created, 3);
    assert!(child.stop_with("INT").success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(
        rest.iter()
            .any(|l| l.starts_with(&format!("activity: {count} changes"))),
        "{rest:?}"
    );
    std::fs::remove_dir_all(&dir).expect("clean up");
}
