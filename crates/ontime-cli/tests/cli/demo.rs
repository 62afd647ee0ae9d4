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
        "Requests and quota",
    ] {
        assert!(run.stdout.contains(step), "missing step {step}");
    }
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
