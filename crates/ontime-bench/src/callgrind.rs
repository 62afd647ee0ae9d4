//! Instruction counts with valgrind's callgrind tool.
//!
//! A benchmark re-runs itself (or any program) under `valgrind --tool=callgrind` with
//! `--dump-before` set to [`mark`]: callgrind writes its counters to a new file and zeroes them
//! each time [`mark`] is entered, so the instructions executed between the first and the second
//! call of [`mark`] (all threads together) land in a file of their own, free of start-up and
//! shut-down work. The count does not depend on what else the machine runs; it measures CPU
//! work, not latency under concurrency. Valgrind runs programs some 50 times slower, so keep
//! the measured stretch short.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

/// The `--dump-before` pattern that matches [`mark`] whatever its mangled or demangled name.
pub const MARK_PATTERN: &str = "*ontime_bench_callgrind_mark*";

thread_local! {
    static MARKS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Marks a boundary of the measured stretch: call it once right before and once right after.
/// Outside callgrind it only counts its calls on the calling thread (and returns that count).
pub fn mark() -> u64 {
    ontime_bench_callgrind_mark()
}

// Its own symbol, never inlined, so that callgrind sees it entered.
#[inline(never)]
fn ontime_bench_callgrind_mark() -> u64 {
    std::hint::black_box(count_mark())
}

/// Kept out of [`ontime_bench_callgrind_mark`]: a closure inside it would be a second symbol
/// matching [`MARK_PATTERN`], dumping twice per mark.
fn count_mark() -> u64 {
    MARKS.with(|marks| {
        marks.set(marks.get() + 1);
        marks.get()
    })
}

/// Why no count came back.
#[derive(Debug)]
pub enum CallgrindError {
    /// `valgrind` could not be started (not installed, not on `PATH`).
    Missing(String),
    /// Valgrind ran but the count could not be taken: the program failed, or [`mark`] was not
    /// entered twice, or the output could not be read.
    Failed(String),
}

impl fmt::Display for CallgrindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing(why) => write!(f, "valgrind is not available: {why}"),
            Self::Failed(why) => write!(f, "callgrind run failed: {why}"),
        }
    }
}

impl std::error::Error for CallgrindError {}

/// The valgrind version (`valgrind-3.19.0`), or why it cannot be run.
pub fn version() -> Result<String, CallgrindError> {
    let out = Command::new("valgrind")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| CallgrindError::Missing(e.to_string()))?;
    if !out.status.success() {
        return Err(CallgrindError::Missing(format!(
            "`valgrind --version` exited with {}",
            out.status
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The total of a callgrind output file: its `totals:` line (older versions: `summary:`),
/// first event (instructions, `Ir`, the default and only event collected here).
pub fn parse_totals(text: &str) -> Option<u64> {
    let find = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
    };
    find("totals:").or_else(|| find("summary:"))
}

/// Runs `program args` under callgrind and returns the instructions executed between the
/// first and the second call of [`mark`]. The program's stdout is discarded (it must not mix
/// with the caller's `RESULT` lines); its stderr and valgrind's are kept for the error.
pub fn count_between_marks(program: &Path, args: &[String]) -> Result<u64, CallgrindError> {
    version()?;
    let dir = scratch_dir()?;
    let result = run_in(&dir, program, args);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn scratch_dir() -> Result<PathBuf, CallgrindError> {
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "ontime-bench-callgrind-{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir)
        .map_err(|e| CallgrindError::Failed(format!("creating {}: {e}", dir.display())))?;
    Ok(dir)
}

fn run_in(dir: &Path, program: &Path, args: &[String]) -> Result<u64, CallgrindError> {
    let out_file = dir.join("callgrind.out");
    let out = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(format!("--dump-before={MARK_PATTERN}"))
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| CallgrindError::Missing(e.to_string()))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(8).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(CallgrindError::Failed(format!(
            "{} exited with {}:\n{}",
            program.display(),
            out.status,
            tail.join("\n")
        )));
    }
    // Part 1 is everything before the first mark, part 2 the measured stretch, and the file
    // without a suffix what followed the second mark.
    let measured = PathBuf::from(format!("{}.2", out_file.display()));
    let text = std::fs::read_to_string(&measured).map_err(|e| {
        CallgrindError::Failed(format!(
            "no profile {} ({e}): the mark function was not entered twice, or its symbol \
             ({MARK_PATTERN}) is missing from the binary",
            measured.display()
        ))
    })?;
    parse_totals(&text)
        .ok_or_else(|| CallgrindError::Failed(format!("no totals line in {}", measured.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_are_read_from_either_line() {
        let file = "version: 1\ncreator: callgrind-3.19.0\nevents: Ir\npart: 2\n\nfl=(1) x\n\
                    fn=(1) main\n16 3\n\nsummary: 600003\ntotals: 600003\n";
        assert_eq!(parse_totals(file), Some(600_003));
        assert_eq!(parse_totals("events: Ir\nsummary: 42\n"), Some(42));
        assert_eq!(parse_totals("events: Ir Dr\ntotals: 7 3\n"), Some(7));
        assert_eq!(parse_totals("events: Ir\n"), None);
        assert_eq!(parse_totals("totals: lots\n"), None);
    }

    #[test]
    fn mark_counts_its_calls_outside_callgrind() {
        let first = mark();
        assert!(mark() > first);
    }

    /// Work between two marks, `n` rounds of a loop the optimiser cannot remove; returns the
    /// loop's sum and the two marks' counts.
    fn marked_work(n: u64) -> (u64, u64, u64) {
        let before = mark();
        let mut acc = 0u64;
        for i in 0..n {
            acc = std::hint::black_box(acc.wrapping_add(i));
        }
        // Used before the second mark, so the loop cannot move past it.
        let acc = std::hint::black_box(acc);
        let after = mark();
        (acc, before, after)
    }

    /// The probes `counts_only_the_stretch_between_marks` runs under callgrind (alone, by
    /// name). Run as ordinary tests they check what that count relies on: the work between the
    /// marks ran in full, and nothing else marked in between (exactly two boundaries).
    fn probe(n: u64) {
        let (sum, before, after) = marked_work(n);
        assert_eq!(sum, n * (n - 1) / 2);
        assert_eq!(after, before + 1);
    }

    #[test]
    fn probe_small() {
        probe(1_000);
    }

    #[test]
    fn probe_large() {
        probe(101_000);
    }

    #[test]
    fn counts_only_the_stretch_between_marks() {
        let exe = std::env::current_exe().expect("test binary");
        let count = |probe: &str| {
            let args = [
                "--exact",
                &format!("callgrind::tests::{probe}"),
                "--test-threads=1",
            ]
            .map(String::from);
            count_between_marks(&exe, &args)
        };
        match count("probe_small") {
            Err(CallgrindError::Missing(why)) => {
                // Nothing to count with here; the error says so instead of a number.
                assert!(version().is_err(), "valgrind runs, yet: {why}");
            }
            small => {
                let small = small.expect("count of the small probe");
                let large = count("probe_large").expect("count of the large probe");
                // 100,000 more rounds of at least one instruction each (how many depends on
                // the build profile)...
                assert!(large >= small + 100_000, "small {small}, large {large}");
                let per_round = (large - small) / 100_000;
                // ...and the small count is its 1,000 rounds and little else: no start-up of
                // the process or the test harness (the dynamic loader alone runs 100,000+).
                assert!(
                    small < 1_000 * per_round + 20_000,
                    "small {small}, per round {per_round}"
                );
            }
        }
    }

    #[test]
    fn a_missing_program_is_a_failure_not_a_count() {
        // Where valgrind is installed it reports the missing program; elsewhere the tool is
        // missing. Either way no number comes back.
        let err = count_between_marks(Path::new("/nonexistent/ontime-bench-probe"), &[])
            .expect_err("no count");
        let text = err.to_string();
        assert!(
            text.contains("callgrind run failed") || text.contains("not available"),
            "{text}"
        );
    }
}
