//! `ontime sync run` against the simulator (answers /healthz, exits 0 on SIGTERM), `ontime sync
//! status`, and config errors (file:line:column, field, exit code 2).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::common::{KEY, Run, Sim, ontime};

fn write_config(dir: &Path, base_url: &str, share: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("acme.key"), format!("{KEY}\n")).unwrap();
    let path = dir.join("sync.toml");
    std::fs::write(
        &path,
        format!(
            r#"[store]
url = "sqlite://events.db"

[worker]
id = "cli-test"
lease_ttl = "3s"

[http]
listen = "127.0.0.1:0"

[[account]]
name = "acme"
url = "{base_url}"
api_key_file = "acme.key"
time_zone = "America/Chicago"
plan = {{ daily = 86400, share = {share} }}
sources = ["poll"]
"#
        ),
    )
    .unwrap();
    path
}

/// GET `path` on `addr` (HTTP/1.1, one request): status code and body.
fn get(addr: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn sync_run_serves_healthz_status_reads_the_store_and_sigterm_exits_zero() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim.base_url(), "0.8");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ontime"))
        .args(["sync", "run", "--config"])
        .arg(&config)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Every stderr line goes to a channel (the pipe never fills up).
    let (lines_tx, lines) = mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let addr = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no listening line; stderr so far: {seen:#?}"));
        if let Some(addr) = line.strip_prefix("ontime sync: listening on http://") {
            break addr.to_owned();
        }
        seen.push(line);
    };

    let (code, body) = get(&addr, "/healthz");
    assert_eq!(code, 200, "{body}");
    let health: serde_json::Value =
        serde_json::from_str(body.trim()).unwrap_or_else(|e| panic!("{e}: {body:?}"));
    assert_eq!(health["accounts"]["acme"]["leased"], true, "{health}");
    let (code, metrics) = get(&addr, "/metrics");
    assert_eq!(code, 200);
    assert!(
        metrics.contains("ontime_sync_calls_total{account=\"acme\",source=\"poll\"}"),
        "{metrics}"
    );

    // While the daemon runs, `sync status` reads the store.
    let status = Run::of(ontime().args(["sync", "status", "--config"]).arg(&config));
    let out = status.ok();
    assert!(out.starts_with("acme\n"), "{out}");
    assert!(
        out.contains("lease holder:  cli-test (fencing token 1)"),
        "{out}"
    );
    assert!(out.contains("calls today:"), "{out}");
    let json = Run::of(
        ontime()
            .args(["sync", "status", "--json", "--config"])
            .arg(&config),
    );
    let json: serde_json::Value = serde_json::from_str(json.ok()).unwrap();
    assert_eq!(json["accounts"]["acme"]["status"]["worker"], "cli-test");
    assert_eq!(json["accounts"]["acme"]["lease"]["held"], true);

    // SIGTERM: the current step finishes, the lease is released, exit 0.
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let (done_tx, done) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done_tx.send(child.wait());
    });
    let exit = done
        .recv_timeout(Duration::from_secs(60))
        .expect("the daemon stops after SIGTERM")
        .unwrap();
    // Every line up to the end of stderr: the reader thread ends (dropping its sender) when
    // the pipe closes, which can be after `wait` returned.
    let mut rest = Vec::new();
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(30)) {
        rest.push(line);
    }
    assert_eq!(exit.code(), Some(0), "{rest:#?}");
    assert!(
        rest.iter().any(|l| l.contains("lease released")),
        "{rest:#?}"
    );
    assert!(
        rest.iter().all(|l| !l.contains(KEY)),
        "the key is never logged"
    );
}

#[test]
fn config_errors_name_file_line_column_and_field_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "http://127.0.0.1:9/sites/acme", "1.5");
    for command in ["status", "run"] {
        let run = Run::of(ontime().args(["sync", command, "--config"]).arg(&config));
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert_eq!(
            run.stderr,
            format!(
                "error: {}:16:33: account[0].plan.share: must be in (0, 1], got 1.5\n",
                config.display()
            )
        );
    }
    let missing = Run::of(ontime().args(["sync", "status", "--config", "/nonexistent/sync.toml"]));
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("/nonexistent/sync.toml"),
        "{}",
        missing.stderr
    );
}
