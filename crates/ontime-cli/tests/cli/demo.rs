//! `ontime demo`

use crate::common::{Run, ontime, snapshot_filtered};

#[test]
fn demo_tours_the_sdk_deterministically() {
    let run = Run::of(ontime().arg("demo")).described("ontime demo");
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(run.stderr, "");
    snapshot_filtered("demo", &run, &[(r"in \d+(\.\d+)? m?s\b", "in [time]")]);
    for step in [
        "Authenticate",
        "Find orders by filters",
        "status timeline",
        "change one field safely",
        "Create an order",
        "upload and download an attachment",
        "availability and positions",
        "The feed: every change as an event",
        "Requests and quota",
    ] {
        assert!(run.stdout.contains(step), "missing step {step}");
    }
    // The feed accounts for the simulator's ground truth: every status change one event.
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains("ground truth has"))
        .expect("the feed's recall line");
    let numbers: Vec<String> = line
        .split(|c: char| !(c.is_ascii_digit() || c == ','))
        .filter(|w| w.chars().any(|c| c.is_ascii_digit()))
        .map(str::to_owned)
        .collect();
    assert_eq!(numbers.len(), 2, "{line}");
    assert_eq!(numbers[0], numbers[1], "{line}");
    assert!(run.stdout.contains("order.transferred"), "{}", run.stdout);
    // The same seed gives the same tour.
    let again = Run::of(ontime().arg("demo"));
    let strip = |s: &str| {
        s.lines()
            // The port and the two timings vary.
            .filter(|l| {
                !l.contains("127.0.0.1")
                    && !l.contains("delivered orders since")
                    && !l.contains("Tour finished in")
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&again.stdout), strip(&run.stdout));
}
