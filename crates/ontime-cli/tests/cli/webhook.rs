//! `ontime webhook verify` (one exit code per reason) and `ontime webhook listen` (a real
//! spawned receiver, signed requests sent on loopback).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use ontime_sync::deliver::signature::{WebhookSecret, signature_header};

use crate::common::{Run, ontime};

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const OTHER: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
const TS: i64 = 1649367553;
const BODY: &str = r#"{"email":"test@example.com","username":"test_user"}"#;
const SIG: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

/// A captured request as `nc -l` shows it (CRLF, request line, Content-Length), plus the
/// newline an editor adds at the end.
fn request(headers: &[(&str, &str)], body: &str) -> String {
    let mut text = String::from("POST /hooks/ontime HTTP/1.1\r\nHost: 127.0.0.1:9000\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str(&format!("Content-Length: {}\r\n\r\n{body}\n", body.len()));
    text
}

fn signed(body: &str) -> String {
    let ts = TS.to_string();
    request(
        &[
            ("webhook-id", ID),
            ("webhook-timestamp", &ts),
            ("webhook-signature", SIG),
        ],
        body,
    )
}

fn verify(args: &[&str], stdin: &str, secret_env: &str) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secret");
    std::fs::write(&file, format!("{SECRET}\n")).unwrap();
    let mut cmd = ontime();
    cmd.args(["webhook", "verify"])
        .args(args)
        .arg("--secret-file")
        .arg(&file)
        .env("TEST_WHSEC", secret_env)
        .write_stdin(stdin.as_bytes().to_vec());
    let run = Run::of(&mut cmd);
    assert!(
        !run.stderr.contains("C2FVsBQIhrsc") && !run.stdout.contains("C2FVsBQIhrsc"),
        "the secret is never printed"
    );
    run
}

#[test]
fn verify_exits_with_one_code_per_reason() {
    let now = TS.to_string();
    let at = ["--now", now.as_str()];

    let valid = verify(&at, &signed(BODY), OTHER);
    assert_eq!(valid.code, 0, "{}", valid.stderr);
    assert_eq!(
        valid.stdout,
        format!("valid webhook-id={ID} signed-at=2022-04-07T21:39:13Z\n")
    );
    let printed = verify(&["--now", &now, "--print-body"], &signed(BODY), OTHER);
    assert_eq!(printed.stdout, BODY);
    // Rotation: a wrong secret from the environment beside the right one from the file.
    let both = verify(
        &["--now", &now, "--secret-env", "TEST_WHSEC"],
        &signed(BODY),
        OTHER,
    );
    assert_eq!(both.code, 0, "{}", both.stderr);
    assert!(both.stdout.contains("secret=1"), "{}", both.stdout);

    // 10: a changed body; an empty v1; only a v2 signature.
    let tampered = verify(&at, &signed(&BODY.replace("test_user", "admin")), OTHER);
    assert_eq!(tampered.code, 10, "{}", tampered.stderr);
    assert!(
        tampered.stderr.contains("no signature matches"),
        "{}",
        tampered.stderr
    );
    let ts = TS.to_string();
    for sig in ["v1,", "v2,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="] {
        let text = request(
            &[
                ("webhook-id", ID),
                ("webhook-timestamp", &ts),
                ("webhook-signature", sig),
            ],
            BODY,
        );
        assert_eq!(verify(&at, &text, OTHER).code, 10, "{sig}");
    }
    // 11: 301 s late, 301 s early; and with the clock (the vector is from 2022).
    for now in [TS + 301, TS - 301] {
        let run = verify(&["--now", &now.to_string()], &signed(BODY), OTHER);
        assert_eq!(run.code, 11, "{}", run.stderr);
    }
    assert_eq!(verify(&[], &signed(BODY), OTHER).code, 11);
    assert_eq!(
        verify(
            &["--tolerance", "10s", "--now", &(TS + 11).to_string()],
            &signed(BODY),
            OTHER
        )
        .code,
        11
    );
    // 12: a missing header.
    let missing = request(&[("webhook-id", ID), ("webhook-timestamp", &ts)], BODY);
    let run = verify(&at, &missing, OTHER);
    assert_eq!(run.code, 12);
    assert!(
        run.stderr.contains("webhook-signature header is missing"),
        "{}",
        run.stderr
    );
    // 13: not a request; a timestamp that is not Unix seconds; a body cut short.
    assert_eq!(verify(&at, "hello there\n", OTHER).code, 13);
    let bad_ts = request(
        &[
            ("webhook-id", ID),
            ("webhook-timestamp", "yesterday"),
            ("webhook-signature", SIG),
        ],
        BODY,
    );
    assert_eq!(verify(&at, &bad_ts, OTHER).code, 13);
    let cut = signed(BODY).replace("test_user\"}\n", "");
    assert_eq!(verify(&at, &cut, OTHER).code, 13);
    // 2: no secret at all.
    let none = Run::of(
        ontime()
            .args(["webhook", "verify"])
            .write_stdin(signed(BODY).into_bytes()),
    );
    assert_eq!(none.code, 2, "{}", none.stderr);
}

#[test]
fn verify_reads_headers_only_with_body_file_and_curl_output() {
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body.json");
    std::fs::write(&body, BODY).unwrap();
    let body = body.to_str().unwrap();
    let now = TS.to_string();
    let headers = format!("webhook-id: {ID}\nwebhook-timestamp: {TS}\nwebhook-signature: {SIG}\n");
    let run = verify(&["--now", &now, "--body", body], &headers, OTHER);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let curl = format!(
        "*   Trying 127.0.0.1:9000...\n* Connected to 127.0.0.1\n> POST / HTTP/1.1\r\n> Host: 127.0.0.1:9000\r\n\
         > webhook-id: {ID}\r\n> webhook-timestamp: {TS}\r\n> webhook-signature: {SIG}\r\n\
         > Content-Length: {}\r\n> \r\n}} [{} bytes data]\n< HTTP/1.1 204 No Content\n",
        BODY.len(),
        BODY.len()
    );
    let run = verify(&["--now", &now, "--body", body], &curl, OTHER);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

/// A running `ontime webhook listen`: its address and its stdout and stderr lines.
struct Listener {
    child: Child,
    addr: String,
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
}

fn lines(pipe: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Listener {
    fn start(secret: &WebhookSecret, extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ontime"))
            .args([
                "webhook",
                "listen",
                "--port",
                "0",
                "--secret-env",
                "TEST_WHSEC",
            ])
            .args(extra)
            .env("TEST_WHSEC", secret.expose())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ontime webhook listen");
        let stdout = lines(child.stdout.take().unwrap());
        let stderr = lines(child.stderr.take().unwrap());
        let first = stderr
            .recv_timeout(Duration::from_secs(60))
            .expect("the listening line");
        let addr = first
            .strip_prefix("ontime webhook listen: listening on http://")
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_else(|| panic!("unexpected first line: {first}"))
            .to_owned();
        assert!(addr.starts_with("127.0.0.1:"), "{addr}");
        Self {
            child,
            addr,
            stdout,
            stderr,
        }
    }

    fn next_line(&self) -> String {
        self.stdout
            .recv_timeout(Duration::from_secs(30))
            .expect("a line on stdout")
    }

    /// SIGTERM, then the exit code and the rest of stderr.
    fn stop(mut self) -> (Option<i32>, Vec<String>) {
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(self.child.wait());
        });
        let status = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the listener stops on SIGTERM")
            .unwrap();
        let mut rest = Vec::new();
        while let Ok(line) = self.stderr.recv_timeout(Duration::from_secs(10)) {
            rest.push(line);
        }
        (status.code(), rest)
    }
}

/// Posts `body` to the listener with the given id, timestamp and signature header.
async fn post(
    client: &reqwest::Client,
    addr: &str,
    headers: &[(&str, String)],
    body: &str,
) -> (u16, String) {
    let mut request = client
        .post(format!("http://{addr}/any/path?x=1"))
        .header("content-type", "application/json")
        .body(body.to_owned());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.expect("the listener answers");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

fn webhook_headers(
    secret: &WebhookSecret,
    id: &str,
    ts: i64,
    body: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("webhook-id", id.to_owned()),
        ("webhook-timestamp", ts.to_string()),
        (
            "webhook-signature",
            signature_header([secret], id, ts, body.as_bytes()),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_verifies_prints_dedups_and_stops_on_sigterm() {
    let secret = WebhookSecret::generate();
    let listener = Listener::start(&secret, &[]);
    let client = reqwest::Client::new();
    let ts = chrono::Utc::now().timestamp();
    let body =
        r#"{"event_id":"evt_7","type":"order.delivered","subject":"order:0b9f","account":"acme"}"#;
    let headers = webhook_headers(&secret, "evt_7", ts, body);

    let (status, _) = post(&client, &listener.addr, &headers, body).await;
    assert_eq!(status, 204);
    let line = listener.next_line();
    assert!(
        line.ends_with(" evt_7 order.delivered order:0b9f"),
        "{line}"
    );
    // Tampered: refused with the reason, nothing printed on stdout.
    let tampered = body.replace("acme", "evil");
    let (status, reason) = post(&client, &listener.addr, &headers, &tampered).await;
    assert_eq!(status, 401);
    assert!(reason.contains("no signature matches"), "{reason}");
    // No webhook headers: a client error.
    let (status, reason) = post(&client, &listener.addr, &[], body).await;
    assert_eq!(status, 400);
    assert!(reason.contains("webhook-id header is missing"), "{reason}");
    // Stale: signed 10 minutes ago.
    let old = webhook_headers(&secret, "evt_8", ts - 600, body);
    let (status, reason) = post(&client, &listener.addr, &old, body).await;
    assert_eq!(status, 401);
    assert!(reason.contains("old"), "{reason}");
    // The first request again: a replay, acknowledged and marked.
    let (status, text) = post(&client, &listener.addr, &headers, body).await;
    assert_eq!((status, text.as_str()), (200, "replay\n"));
    let line = listener.next_line();
    assert!(
        line.ends_with(" evt_7 order.delivered order:0b9f replay"),
        "{line}"
    );
    // Only POSTs are webhooks.
    let get = client
        .get(format!("http://{}/", listener.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status().as_u16(), 405);

    let (code, stderr) = listener.stop();
    assert_eq!(code, Some(0), "{stderr:#?}");
    assert_eq!(
        stderr
            .iter()
            .filter(|line| line.starts_with("rejected POST /any/path?x=1"))
            .count(),
        3,
        "{stderr:#?}"
    );
    assert!(
        stderr.iter().all(|line| !line.contains(&secret.expose())),
        "the secret is never printed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_json_prints_bodies_as_ndjson() {
    let secret = WebhookSecret::generate();
    let listener = Listener::start(&secret, &["--json"]);
    let client = reqwest::Client::new();
    let ts = chrono::Utc::now().timestamp();
    // Pretty-printed on the wire, one line on stdout.
    let body = "{\n  \"event_id\": \"evt_9\",\n  \"type\": \"order.picked_up\"\n}";
    let headers = webhook_headers(&secret, "evt_9", ts, body);
    assert_eq!(post(&client, &listener.addr, &headers, body).await.0, 204);
    let line = listener.next_line();
    let value: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(value["type"], "order.picked_up");
    assert!(!line.contains('\n'));
    assert_eq!(post(&client, &listener.addr, &headers, body).await.0, 200);
    let (code, stderr) = listener.stop();
    assert_eq!(code, Some(0));
    assert!(
        stderr.iter().any(|line| line.starts_with("replay: ")),
        "{stderr:#?}"
    );
}
