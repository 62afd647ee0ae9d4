//! `cargo xtask bench [NAME] [--quick]`: runs the benchmark binaries of `crates/ontime-bench`
//! in release mode, collects their `RESULT` lines, writes `target/bench/results.json` and fails
//! when any figure misses its goal.
//!
//! A benchmark is any `crates/ontime-bench/src/bin/NAME.rs`; adding a file adds a benchmark.
//! Each prints lines of the form `RESULT <name> <metric>=<value> goal=<goal> PASS|FAIL`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use serde_json::{Value, json};

/// One parsed `RESULT` line.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchResult {
    /// The benchmark's name as printed.
    pub name: String,
    /// What was measured.
    pub metric: String,
    /// The value as printed.
    pub value: String,
    /// The goal as printed.
    pub goal: String,
    /// PASS or FAIL.
    pub pass: bool,
}

/// Parses `RESULT <name> <metric>=<value> goal=<goal> PASS|FAIL`.
pub fn parse_result(line: &str) -> Option<BenchResult> {
    let mut parts = line.strip_prefix("RESULT ")?.split_whitespace();
    let name = parts.next()?.to_owned();
    let (metric, value) = parts.next()?.split_once('=')?;
    let goal = parts.next()?.strip_prefix("goal=")?.to_owned();
    let pass = match parts.next()? {
        "PASS" => true,
        "FAIL" => false,
        _ => return None,
    };
    if parts.next().is_some() {
        return None;
    }
    Some(BenchResult {
        name,
        metric: metric.to_owned(),
        value: value.to_owned(),
        goal,
        pass,
    })
}

/// The benchmark binaries: the file stems of `crates/ontime-bench/src/bin/*.rs`, sorted.
pub fn discover(root: &Path) -> anyhow::Result<Vec<String>> {
    let dir = root.join("crates/ontime-bench/src/bin");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let path = e.path();
            (path.extension().is_some_and(|x| x == "rs"))
                .then(|| path.file_stem().map(|s| s.to_string_lossy().into_owned()))
                .flatten()
        })
        .collect();
    names.sort();
    Ok(names)
}

/// Runs the benchmarks (all, or the one named) and returns a summary.
pub fn run(only: Option<&str>, quick: bool) -> anyhow::Result<String> {
    let root = crate::workspace_root();
    let all = discover(&root)?;
    let selected: Vec<String> = match only {
        Some(name) if all.iter().any(|n| n == name) => vec![name.to_owned()],
        Some(name) => bail!("no benchmark named {name:?}; known: {}", all.join(", ")),
        None => all,
    };
    if selected.is_empty() {
        bail!("no benchmark binaries in crates/ontime-bench/src/bin");
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut runs = Vec::new();
    let mut failures = Vec::new();
    let mut lines = Vec::new();
    for name in &selected {
        eprintln!("== bench {name}{}", if quick { " (quick)" } else { "" });
        let mut cmd = Command::new(&cargo);
        cmd.current_dir(&root)
            .args([
                "run",
                "--release",
                "--quiet",
                "-p",
                "ontime-bench",
                "--bin",
                name,
                "--",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if quick {
            cmd.arg("--quick");
        }
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting bench {name}"))?;
        let mut results = Vec::new();
        if let Some(out) = child.stdout.take() {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                println!("{line}");
                if let Some(r) = parse_result(&line) {
                    lines.push(line.clone());
                    results.push(r);
                }
            }
        }
        let status = child
            .wait()
            .with_context(|| format!("waiting for bench {name}"))?;
        if !status.success() {
            failures.push(format!("{name} exited with {status}"));
        } else if results.is_empty() {
            failures.push(format!("{name} printed no RESULT line"));
        }
        for r in results.iter().filter(|r| !r.pass) {
            failures.push(format!(
                "{} {}={} misses goal {}",
                r.name, r.metric, r.value, r.goal
            ));
        }
        runs.push(json!({
            "bin": name,
            "exit_code": status.code(),
            "results": results.iter().map(|r| json!({
                "name": r.name,
                "metric": r.metric,
                "value": r.value.parse::<f64>().map(Value::from).unwrap_or_else(|_| Value::from(r.value.clone())),
                "goal": r.goal,
                "pass": r.pass,
            })).collect::<Vec<_>>(),
        }));
    }
    let out_dir = root.join("target/bench");
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let report = json!({ "quick": quick, "benches": runs });
    let path = out_dir.join("results.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("writing {}", path.display()))?;
    let summary = format!("{}\nwrote {}", lines.join("\n"), path.display());
    if failures.is_empty() {
        Ok(summary)
    } else {
        bail!(
            "{summary}\nbenchmark failures:\n  {}",
            failures.join("\n  ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_result_lines() {
        let r = parse_result("RESULT mock_get_by_id ratio=0.794 goal=>=0.65 PASS").expect("line");
        assert_eq!(
            (
                r.name.as_str(),
                r.metric.as_str(),
                r.value.as_str(),
                r.goal.as_str(),
                r.pass
            ),
            ("mock_get_by_id", "ratio", "0.794", ">=0.65", true)
        );
        assert!(
            !parse_result("RESULT a b=1 goal=<1 FAIL")
                .expect("line")
                .pass
        );
        assert_eq!(parse_result("INFO x"), None);
        assert_eq!(parse_result("RESULT a b=1 goal=<1 MAYBE"), None);
    }

    #[test]
    fn discovers_the_bench_binaries() {
        let names = discover(&crate::workspace_root()).expect("bin dir");
        assert!(names.contains(&"mock_get_by_id".to_owned()));
        assert!(names.contains(&"mock_seed".to_owned()));
    }
}
