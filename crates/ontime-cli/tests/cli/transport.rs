//! Hostile or broken servers, retries and tracing, seen from the command line: exit codes,
//! hints, retry announcements, and `-vv`'s HTTP lines (never the key).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use ontime_mock::{FaultRule, Operation};

use crate::common::{KEY, Run, Sim, ontime};

/// A raw HTTP server on 127.0.0.1 answering every request with `answer(request head)`, one
/// request per connection. Stops (and joins its thread) when dropped.
struct RawServer {
    addr: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<String>>>,
    thread: Option<JoinHandle<()>>,
}

impl RawServer {
    fn start(answer: fn(&str) -> String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let (stopping, log) = (stop.clone(), seen.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                if let Some(line) = head.lines().next() {
                    log.lock().unwrap().push(line.to_string());
                }
                let _ = stream.write_all(answer(&head).as_bytes());
            }
        });
        Self {
            addr,
            stop,
            seen,
            thread: Some(thread),
        }
    }

    fn base_url(&self) -> String {
        format!("http://{}/sites/acme", self.addr)
    }

    /// The request lines received so far (`POST /sites/acme/api/... HTTP/1.1`).
    fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    /// `ontime --base-url URL --api-key KEY --retries 0 ARGS...`
    fn run(&self, args: &[&str]) -> Run {
        let mut cmd = ontime();
        cmd.args([
            "--base-url",
            &self.base_url(),
            "--api-key",
            KEY,
            "--retries",
            "0",
        ]);
        cmd.args(args);
        Run::of(&mut cmd)
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wakes the accept loop
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn reply(status: &str, headers: &str, content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{headers}Connection: close\r\n\r\n{body}",
        body.len()
    )
}

/// The value of the request's `Authorization` header.
fn auth(head: &str) -> String {
    head.lines()
        .find_map(|l| {
            l.strip_prefix("authorization: ")
                .or_else(|| l.strip_prefix("Authorization: "))
        })
        .unwrap_or_default()
        .to_string()
}

const ORDER: &str = "6f1c0d3e-9b7a-4c21-8e55-1a2b3c4d5e6f";

#[test]
fn a_redirected_status_change_fails_with_exit_6_and_is_not_followed() {
    let server = RawServer::start(|head| {
        // The status change reads the timeline first (to resolve a lost answer).
        if head.starts_with("GET ") && head.contains("/orderStatusChanges/") {
            return reply("200 OK", "", "application/json", "[]");
        }
        reply(
            "303 See Other",
            "Location: https://portal.example.net/login\r\n",
            "text/html",
            "",
        )
    });
    let run = server.run(&["orders", "status", "set", ORDER, "delivered"]);
    assert_eq!(run.code, 6, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("redirect (303) to https://portal.example.net/login"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("hint: the OnTime API does not redirect"),
        "{}",
        run.stderr
    );
    let requests = server.requests();
    assert_eq!(
        requests.len(),
        2,
        "the timeline read and the post: {requests:?}"
    );
    assert!(requests[0].starts_with("GET "), "{requests:?}");
    assert!(requests[1].starts_with("POST "), "{requests:?}");
}

#[test]
fn a_captive_portal_page_names_its_content_type_and_exits_6() {
    let server = RawServer::start(|_| {
        reply(
            "200 OK",
            "",
            "text/html",
            "<html><head><title>Guest WiFi - Accept the terms</title></head><body>...</body></html>",
        )
    });
    let run = server.run(&["orders", "find", "--ids-only"]);
    assert_eq!(run.code, 6, "{}", run.transcript());
    assert!(
        run.stderr.contains(
            "expected JSON but the server answered 200 with `text/html`: Guest WiFi - Accept the terms"
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("captive portal"), "{}", run.stderr);
}

#[test]
fn an_unknown_url_hints_at_the_account_url() {
    let server = RawServer::start(|_| {
        reply(
            "404 Not Found",
            "",
            "application/json",
            r#"{"Message":"No HTTP resource was found that matches the request URI 'https://x/sites/acme/api/orders'."}"#,
        )
    });
    let run = server.run(&["orders", "get", ORDER]);
    assert_eq!(run.code, 6, "{}", run.transcript());
    assert!(
        run.stderr.contains("No HTTP resource was found"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("hint: the server knows no such URL"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_server_echoing_the_key_never_gets_it_printed() {
    let server = RawServer::start(|head| {
        let body = format!(
            r#"{{"Message":"The key {} is not valid for this account"}}"#,
            auth(head)
        );
        reply("400 Bad Request", "", "application/json", &body)
    });
    let run = server.run(&["-vv", "orders", "get", ORDER]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("The key [redacted] is not valid"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains(KEY) && !run.stdout.contains(KEY),
        "{}",
        run.transcript()
    );
}

#[test]
fn long_retry_waits_are_announced_without_verbose() {
    // OnTime asks for 3 s (the shortest whole wait over the 2 s threshold): the run takes that
    // long, and says why.
    let sim = Sim::with(|b| {
        b.fault(
            FaultRule::status(429, Some(3))
                .on_operation(Operation::OrdersFind)
                .first(1),
        )
    });
    let run = sim.run(&["orders", "find", "--ids-only", "--limit", "1"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(
        run.stderr,
        "note: OnTime asked to wait 3s (429); retrying, attempt 2 of 4\n",
        "{}",
        run.transcript()
    );
}

#[test]
fn the_final_error_says_how_many_attempts_it_took() {
    let sim =
        Sim::with(|b| b.fault(FaultRule::status(503, None).on_operation(Operation::OrdersFind)));
    let run = sim.run(&["--retries", "2", "orders", "find", "--ids-only"]);
    assert_eq!(run.code, 6, "{}", run.transcript());
    assert!(
        run.stderr.contains("OnTime answered 503")
            && run.stderr.contains("(gave up after 3 attempts in "),
        "{}",
        run.stderr
    );
}

#[test]
fn vv_shows_method_url_query_and_status_of_each_attempt_but_not_the_key() {
    let sim = Sim::start();
    let args = [
        "orders",
        "find",
        "--status",
        "delivered",
        "--ids-only",
        "--limit",
        "1",
    ];
    let mut vv = vec!["-vv"];
    vv.extend(args);
    let run = sim.run(&vv);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("ontime::http"))
        .unwrap_or_else(|| panic!("no HTTP line:\n{}", run.stderr));
    assert!(line.contains("method=GET"), "{line}");
    assert!(
        line.contains(&format!("url={}/api/orders?", sim.base_url())),
        "{line}"
    );
    assert!(line.contains("status=200"), "{line}");
    assert!(line.contains("attempt=1"), "{line}");
    assert!(!run.stderr.contains(KEY), "{}", run.stderr);
    // -v shows calls, not HTTP lines.
    let mut v = vec!["-v"];
    v.extend(args);
    let run = sim.run(&v);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stderr.contains("ontime.call"), "{}", run.stderr);
    assert!(!run.stderr.contains("ontime::http"), "{}", run.stderr);
}

#[test]
fn timeout_help_states_the_real_ceiling() {
    let run = Run::of(ontime().args(["orders", "find", "--help"]));
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.contains("applies to each attempt"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("up to 60s plus this timeout"),
        "{}",
        run.stdout
    );
}
