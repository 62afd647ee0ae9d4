//! Runs the `ontime` binary against a simulator started in the test's own runtime.

use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime};
use ontime_mock::{MockBuilder, OnTimeMock, RunningMock};

/// The simulator's full-access key in every test.
pub const KEY: &str = "test-key-0123456789";

/// The orders every test simulator has.
pub const ORDERS: usize = 300;

/// The simulator's frozen clock: the same seed and start give the same data every run.
pub fn clock_start() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 24)
        .and_then(|d| d.and_hms_opt(14, 30, 0))
        .expect("valid date")
}

/// A running simulator and the runtime that serves it.
pub struct Sim {
    mock: Option<RunningMock>,
    rt: tokio::runtime::Runtime,
}

impl Sim {
    /// Seed 42, 300 orders, key [`KEY`], clock frozen at [`clock_start`].
    pub fn start() -> Self {
        Self::with(|b| b)
    }

    /// Like [`start`](Self::start), with more settings.
    pub fn with(configure: impl FnOnce(MockBuilder) -> MockBuilder) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let builder = OnTimeMock::builder()
            .seed(42)
            .orders(ORDERS)
            .api_key(KEY)
            .clock_start(clock_start())
            .frozen_clock();
        let mock = rt
            .block_on(configure(builder).start())
            .expect("simulator starts");
        Self {
            mock: Some(mock),
            rt,
        }
    }

    pub fn mock(&self) -> &RunningMock {
        self.mock.as_ref().expect("running")
    }

    pub fn base_url(&self) -> String {
        self.mock().base_url()
    }

    /// `ontime --base-url URL --api-key KEY ARGS...`
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, |_| {})
    }

    /// Like [`run`](Self::run), with the command adjusted (stdin, environment) first.
    pub fn run_with(&self, args: &[&str], adjust: impl FnOnce(&mut assert_cmd::Command)) -> Run {
        let mut cmd = ontime();
        cmd.args(["--base-url", &self.base_url(), "--api-key", KEY]);
        cmd.args(args);
        adjust(&mut cmd);
        Run::of(&mut cmd).described(&format!(
            "ontime --base-url URL --api-key KEY {}",
            args.join(" ")
        ))
    }

    /// `ontime --base-url URL ARGS...` (no key given).
    pub fn run_keyless(&self, args: &[&str], adjust: impl FnOnce(&mut assert_cmd::Command)) -> Run {
        let mut cmd = ontime();
        cmd.args(["--base-url", &self.base_url()]);
        cmd.args(args);
        adjust(&mut cmd);
        Run::of(&mut cmd).described(&format!("ontime --base-url URL {}", args.join(" ")))
    }

    /// The JSON of `ontime ARGS... -o json`.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["-o", "json"]);
        let run = self.run(&all);
        assert_eq!(run.code, 0, "{}", run.transcript());
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(mock) = self.mock.take() {
            let _ = self.rt.block_on(async {
                tokio::time::timeout(Duration::from_secs(5), mock.shutdown()).await
            });
        }
    }
}

/// The binary, with no `ONTIME_*` settings inherited from the environment.
pub fn ontime() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_ontime"));
    for var in [
        "ONTIME_BASE_URL",
        "ONTIME_COMPANY_ID",
        "ONTIME_API_KEY",
        "ONTIME_OUTPUT",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("NO_COLOR", "1");
    cmd.timeout(Duration::from_secs(120));
    cmd
}

/// What a run printed, and how it ended.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// The command line, for the snapshot's description.
    pub command: String,
}

impl Run {
    pub fn of(cmd: &mut assert_cmd::Command) -> Self {
        let output = cmd.output().expect("the binary runs");
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            command: String::new(),
        }
    }

    /// Records the command line shown in snapshots.
    pub fn described(mut self, command: &str) -> Self {
        self.command = command.to_string();
        self
    }

    /// Exit code, stdout and stderr, for a snapshot.
    pub fn transcript(&self) -> String {
        let mut text = format!("exit code: {}\n", self.code);
        if !self.stdout.is_empty() {
            text.push_str("----- stdout -----\n");
            text.push_str(&self.stdout);
        }
        if !self.stderr.is_empty() {
            text.push_str("----- stderr -----\n");
            text.push_str(&self.stderr);
        }
        text
    }

    /// Asserts success and returns stdout.
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "{}", self.transcript());
        &self.stdout
    }
}

/// Snapshots `text` under tests/snapshots/NAME.snap, with the simulator's port (and any other
/// `filters`) replaced by placeholders.
/// Snapshots `text` under tests/snapshots/NAME.snap with a description (the command line) in the snapshot's header.
pub fn snapshot_described(name: &str, description: &str, text: &str, filters: &[(&str, &str)]) {
    let mut settings = insta::Settings::clone_current();
    if !description.is_empty() {
        settings.set_description(description);
    }
    settings.set_omit_expression(true);
    // Absolute, so the recorded reference matches the file CI lists.
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[port]");
    for (pattern, replacement) in filters {
        settings.add_filter(pattern, *replacement);
    }
    settings.bind(|| insta::assert_snapshot!(name, text));
}

/// Snapshots a run's transcript with extra filters.
pub fn snapshot_filtered(name: &str, run: &Run, filters: &[(&str, &str)]) {
    snapshot_described(name, &run.command, &run.transcript(), filters);
}

/// Snapshots a run's transcript.
pub fn snapshot_run(name: &str, run: &Run) {
    snapshot_described(name, &run.command, &run.transcript(), &[]);
}

/// The IDs of the first `n` orders (in the finder's order).
pub fn order_ids(sim: &Sim, n: usize) -> Vec<String> {
    let run = sim.run(&["orders", "find", "--ids-only", "--limit", &n.to_string()]);
    run.ok().lines().map(str::to_string).collect()
}

/// Pattern of a GUID, for filters of records created during a test.
pub const GUID: &str = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
