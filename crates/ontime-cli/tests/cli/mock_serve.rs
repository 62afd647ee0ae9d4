//! `ontime mock serve`

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::common::{Run, ontime};

#[test]
fn serve_runs_a_simulator_other_commands_can_use() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ontime"))
        .args(["--api-key", "serve-key", "--company", "acme"])
        .args([
            "mock", "serve", "--port", "0", "--orders", "40", "--seed", "7",
        ])
        .args(["--clock-start", "2026-11-24T14:30:00", "--frozen-clock"])
        .args(["--fault", "latency,ms=1,op=ordersGet"])
        .env_remove("ONTIME_API_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines.next().expect("a line").expect("utf8");
    let url = first
        .strip_prefix("OnTime simulator listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_string();
    assert!(url.ends_with("/sites/acme"), "{url}");
    let banner: Vec<String> = lines.by_ref().take(3).map(|l| l.expect("utf8")).collect();
    assert!(banner[0].contains("api key:      serve-key"), "{banner:?}");
    assert!(banner[2].contains("seeded 40 orders"), "{banner:?}");
    assert!(banner[2].contains("fault rules active"), "{banner:?}");

    let run = Run::of(ontime().args([
        "--base-url",
        &url,
        "--api-key",
        "serve-key",
        "orders",
        "find",
        "--ids-only",
    ]));
    assert_eq!(run.ok().lines().count(), 40);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn serve_rejects_bad_fault_rules() {
    let run = Run::of(ontime().args(["mock", "serve", "--fault", "explode,p=2"]));
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--fault"), "{}", run.stderr);
}

/// `ontime mock serve` takes every setting of the `ontime-mock` binary: both flatten
/// `ontime_mock::ServeArgs`, and its help lists each of its flags.
#[test]
fn serve_help_lists_every_simulator_flag() {
    let settings = <ontime_mock::ServeArgs as clap::Args>::augment_args(clap::Command::new("x"));
    let flags: Vec<String> = settings
        .get_arguments()
        .filter_map(|a| a.get_long())
        .map(|long| format!("--{long}"))
        .collect();
    // Among them the flags each side once lacked.
    for newer in [
        "--max-body-bytes",
        "--body-read-timeout-ms",
        "--frozen-clock",
    ] {
        assert!(flags.iter().any(|f| f == newer), "{flags:?}");
    }
    let run = Run::of(ontime().args(["mock", "serve", "--help"]));
    let help = run.ok();
    for flag in &flags {
        assert!(help.contains(flag.as_str()), "{flag} missing from:\n{help}");
    }
}

/// A newer simulator flag (the body limits) reaches the simulator through `ontime mock serve`.
#[test]
fn serve_passes_the_body_limits_on() {
    let run = Run::of(ontime().args([
        "mock",
        "serve",
        "--port",
        "0",
        "--orders",
        "1",
        "--max-body-bytes",
        "2048",
        "--body-budget-bytes",
        "1024",
    ]));
    assert_ne!(run.code, 0);
    assert!(
        run.stderr
            .contains("a body budget of 1024 bytes with a largest body of 2048 bytes"),
        "{}",
        run.stderr
    );
}
