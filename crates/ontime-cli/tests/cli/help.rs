//! `ontime --help`, completions and man pages.

use std::collections::BTreeSet;

use crate::common::{Run, ontime, snapshot_run};

/// The subcommands a help text lists under "Commands:".
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        // Continuation lines of wrapped descriptions are indented further.
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

/// Every command reachable from `ontime --help`, as paths (`orders status set`).
fn command_tree(path: &[String], out: &mut Vec<String>) {
    let mut cmd = ontime();
    cmd.args(path).arg("--help");
    let run = Run::of(&mut cmd);
    assert_eq!(run.code, 0, "{path:?}: {}", run.transcript());
    let subs = subcommands(&run.stdout);
    if subs.is_empty() {
        assert!(run.stdout.contains("Usage: ontime"), "{path:?}");
        out.push(path.join(" "));
    }
    for sub in subs {
        let mut next = path.to_vec();
        next.push(sub);
        command_tree(&next, out);
    }
}

#[test]
fn help_lists_every_command_and_the_exit_codes() {
    let run = Run::of(ontime().arg("--help")).described("ontime --help");
    snapshot_run("help", &run);
    let short = Run::of(ontime().arg("-h"));
    assert!(short.stdout.contains("Exit status:"), "{}", short.stdout);

    let mut leaves = Vec::new();
    command_tree(&[], &mut leaves);
    let leaves: BTreeSet<String> = leaves.into_iter().collect();
    // Each of these has a test in this directory; a new command must be added here (and tested).
    let expected: BTreeSet<String> = [
        "attachments delete",
        "attachments get",
        "attachments list",
        "attachments put",
        "check",
        "completions",
        "customers by-name",
        "customers find",
        "customers get",
        "demo",
        "events export",
        "events redeliver",
        "events tail",
        "events timeline",
        "find",
        "get",
        "man",
        "mock serve",
        "orders cost",
        "orders create",
        "orders find",
        "orders get",
        "orders report",
        "orders signature",
        "orders status levels",
        "orders status set",
        "orders timeline",
        "orders update",
        "sync run",
        "sync status",
        "users availability",
        "users find",
        "users get",
        "users position",
        "webhook listen",
        "webhook verify",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    assert_eq!(leaves, expected);
}

#[test]
fn usage_errors_exit_2_and_version_prints() {
    let run =
        Run::of(ontime().args(["orders", "frobnicate"])).described("ontime orders frobnicate");
    assert_eq!(run.code, 2);
    snapshot_run("error_unknown_command", &run);
    // No command at all: the help, as a usage error.
    let bare = Run::of(&mut ontime());
    assert_eq!(bare.code, 2);
    assert!(bare.stderr.contains("Commands:"), "{}", bare.stderr);
    let version = Run::of(ontime().arg("--version"));
    assert_eq!(
        version.stdout,
        format!("ontime {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let run = Run::of(ontime().args(["completions", shell]));
        let script = run.ok();
        for word in [
            "ontime",
            "orders",
            "attachments",
            "timeline",
            "--api-key-file",
        ] {
            assert!(script.contains(word), "{shell} completions lack {word}");
        }
    }
    let bash = Run::of(ontime().args(["completions", "bash"]));
    assert!(
        bash.stdout.contains("complete -F _ontime"),
        "{}",
        &bash.stdout[..200]
    );
}

#[test]
fn man_pages_to_stdout_or_a_directory() {
    let run = Run::of(ontime().arg("man"));
    let page = run.ok();
    assert!(
        page.starts_with(".ie") || page.contains(".TH ontime"),
        "{}",
        &page[..200]
    );
    assert!(page.contains("orders"));
    let dir = tempfile::tempdir().expect("tempdir");
    let run = Run::of(ontime().args(["man", "--out-dir", dir.path().to_str().expect("utf8")]));
    run.ok();
    for name in [
        "ontime.1",
        "ontime-orders.1",
        "ontime-orders-find.1",
        "ontime-orders-status-set.1",
        "ontime-mock-serve.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(text.contains(".TH"), "{name}");
    }
    let find = std::fs::read_to_string(dir.path().join("ontime-orders-find.1")).expect("page");
    assert!(
        find.contains("submitted\\-from"),
        "the page documents the filters"
    );
}
