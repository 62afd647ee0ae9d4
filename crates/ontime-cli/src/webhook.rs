//! `ontime webhook verify` (check one captured request) and `ontime webhook listen` (a local
//! receiver that verifies and prints what arrives), both on `ontime_sync::deliver::verify`.
//!
//! Secrets come from files (`--secret-file`, first line) or environment variables
//! (`--secret-env`), so they never show in the process list; `--secret` exists for the same
//! reason `--api-key` does (quick experiments) and says so in its help. Repeat the options to
//! accept several secrets during a rotation.

use std::io::{IsTerminal, Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use clap::{Args, Subcommand};
use ontime_sync::deliver::signature::WebhookSecret;
use ontime_sync::deliver::verify::{ReplayGuard, Verifier, VerifyError};

use crate::error::{CliError, Exit};

const VERIFY_HELP: &str = "\
The request is read from stdin: an optional request line (POST /path HTTP/1.1), the headers,
a blank line and the body, as `nc -l` or a proxy captures it (CRLF or LF line ends; a
Content-Length header cuts the body to that length, so a trailing newline added by an editor
does not matter; chunked bodies are decoded). `curl -v` output works too (its `> ` lines are the
request): give the body with --body FILE, since curl -v does not print it. A file of headers
alone also takes --body.

Exit status: 0 valid; 10 no valid signature (wrong secret, or the id, timestamp or body was
changed; also: no v1 signature at all); 11 the timestamp is outside the tolerance (too old or in
the future); 12 a webhook-* header is missing; 13 the input is malformed (not a request, an
unusable header or timestamp); 2 usage (no secret, an unreadable or invalid secret).";

const LISTEN_HELP: &str = "\
Listens on 127.0.0.1 only, on any path. The first line on stderr is
`ontime webhook listen: listening on http://127.0.0.1:PORT/`.

Each valid POST prints one line on stdout: the signing time, the webhook-id, the event type and
the subject (with --json: the body itself, one JSON object per line). Answers: 204 to a valid
delivery, 200 with `replay` to a valid delivery whose id was already received within the
tolerance (printed with `replay`, or on stderr with --json), 400 to a request without usable
webhook headers, 401 to a wrong signature or a timestamp outside the tolerance, with the reason
as text. Rejections are reported on stderr. Stops with exit 0 on Ctrl-C or SIGTERM.";

#[derive(Subcommand, Debug)]
pub enum WebhookCommand {
    /// Verify one captured webhook request (headers and body on stdin); the exit code says why not
    #[command(after_long_help = VERIFY_HELP)]
    Verify(VerifyArgs),
    /// Receive webhooks on 127.0.0.1:PORT, verify them and print each event (like `stripe listen`)
    #[command(after_long_help = LISTEN_HELP)]
    Listen(ListenArgs),
}

#[derive(Args, Debug)]
pub struct SecretArgs {
    /// Read a `whsec_…` secret from this file (its first line); repeat to accept several
    #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    secret_file: Vec<PathBuf>,

    /// Read a `whsec_…` secret from this environment variable; repeatable
    #[arg(long, value_name = "VAR")]
    secret_env: Vec<String>,

    /// A `whsec_…` secret. Visible to other users in the process list: prefer --secret-file or
    /// --secret-env
    #[arg(long, value_name = "SECRET")]
    secret: Vec<String>,

    /// How far the webhook-timestamp may lie from now, in the past or the future (e.g. 300s, 5m)
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = humantime::parse_duration)]
    tolerance: Duration,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    #[command(flatten)]
    secrets: SecretArgs,

    /// The body, from this file (stdin then holds only the headers)
    #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    body: Option<PathBuf>,

    /// Check the timestamp against this time (Unix seconds) instead of the clock: for a request
    /// captured earlier
    #[arg(long, value_name = "UNIX_SECONDS")]
    now: Option<i64>,

    /// On success, print the verified body instead of the one-line summary
    #[arg(long)]
    print_body: bool,
}

#[derive(Args, Debug)]
pub struct ListenArgs {
    #[command(flatten)]
    secrets: SecretArgs,

    /// The port on 127.0.0.1 (0: any free port, announced on stderr)
    #[arg(long, value_name = "PORT")]
    port: u16,

    /// Print each valid body as one line of JSON (NDJSON) instead of a summary line
    #[arg(long)]
    json: bool,
}

pub async fn run(cmd: WebhookCommand) -> Result<(), CliError> {
    match cmd {
        WebhookCommand::Verify(args) => verify(args),
        WebhookCommand::Listen(args) => listen(args).await,
    }
}

impl SecretArgs {
    /// The verifier for every secret given, in order: files, variables, then `--secret`.
    fn verifier(&self) -> Result<Verifier, CliError> {
        let mut secrets = Vec::new();
        for path in &self.secret_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                CliError::usage(format!(
                    "cannot read the secret file {}: {e}",
                    path.display()
                ))
            })?;
            let line = text.lines().next().unwrap_or("");
            secrets.push(parse_secret(
                line,
                &format!("the secret in {}", path.display()),
            )?);
        }
        for var in &self.secret_env {
            let text = std::env::var(var).map_err(|_| {
                CliError::usage(format!(
                    "the environment variable {var} is not set (or not UTF-8)"
                ))
            })?;
            secrets.push(parse_secret(&text, &format!("the secret in ${var}"))?);
        }
        for (n, text) in self.secret.iter().enumerate() {
            secrets.push(parse_secret(text, &format!("--secret number {}", n + 1))?);
        }
        let mut secrets = secrets.into_iter();
        let Some(first) = secrets.next() else {
            return Err(CliError::usage("no webhook secret given")
                .with_hint("pass --secret-file PATH or --secret-env VAR (a whsec_… secret)"));
        };
        Ok(secrets.fold(
            Verifier::new(first).with_tolerance(self.tolerance),
            Verifier::with_secret,
        ))
    }
}

/// A secret, or a usage error that names where it came from (never its text).
fn parse_secret(text: &str, what: &str) -> Result<WebhookSecret, CliError> {
    WebhookSecret::parse(text).map_err(|e| CliError::usage(format!("{what}: {e}")))
}

/// The exit code of a verification failure.
fn exit_of(error: &VerifyError) -> Exit {
    match error {
        VerifyError::MissingHeader(_) => Exit::MissingHeader,
        VerifyError::TooOld { .. } | VerifyError::TooNew { .. } => Exit::Timestamp,
        VerifyError::NoValidSignature | VerifyError::NoV1Signature => Exit::InvalidSignature,
        _ => Exit::Malformed,
    }
}

fn verify(args: VerifyArgs) -> Result<(), CliError> {
    let verifier = args.secrets.verifier()?;
    let mut stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(CliError::usage("the request is read from stdin")
            .with_hint("ontime webhook verify --secret-file SECRET < request.txt"));
    }
    let mut input = Vec::new();
    stdin
        .read_to_end(&mut input)
        .map_err(|e| CliError::other(format!("cannot read stdin: {e}")))?;
    let request = parse_request(&input).map_err(|e| CliError::new(Exit::Malformed, e))?;
    let body = match &args.body {
        Some(path) => {
            if !request.body.is_empty() {
                return Err(CliError::usage(
                    "the request on stdin has a body and --body was given: which one is it?",
                ));
            }
            read_file(path)?
        }
        None => request.body,
    };
    let now = match args.now {
        Some(seconds) => DateTime::from_timestamp(seconds, 0)
            .ok_or_else(|| CliError::usage(format!("--now {seconds} is not a time")))?,
        None => Utc::now(),
    };
    let message = verifier
        .verify(&request.headers, &body, now)
        .map_err(|e| CliError::new(exit_of(&e), format!("invalid webhook: {e}")))?;
    let mut out = std::io::stdout().lock();
    if args.print_body {
        out.write_all(message.body())?;
    } else {
        let rotation = if verifier.secret_count() > 1 {
            format!(" secret={}", message.secret_index() + 1)
        } else {
            String::new()
        };
        writeln!(
            out,
            "valid webhook-id={} signed-at={}{rotation}",
            message.id(),
            rfc3339(message.signed_at()),
        )?;
    }
    out.flush()?;
    Ok(())
}

fn read_file(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))
}

fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A captured request: its headers (name, raw value) and body.
#[derive(Debug, PartialEq)]
struct Request {
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

/// Reads a raw HTTP request, a headers-only file, or the request part of `curl -v` output.
fn parse_request(input: &[u8]) -> Result<Request, String> {
    let mut headers = Vec::new();
    let mut body_start = None;
    let mut offset = 0;
    // `curl -v`: the request's lines start with "> "; everything else is curl's commentary.
    let curl = input
        .split(|b| *b == b'\n')
        .find(|line| !line.trim_ascii().is_empty())
        .is_some_and(|line| line.starts_with(b"* ") || line.starts_with(b"> "));
    let mut first = true;
    let mut seen_any = false;
    for (number, raw) in input.split_inclusive(|b| *b == b'\n').enumerate() {
        offset += raw.len();
        let mut line = raw.strip_suffix(b"\n").unwrap_or(raw);
        line = line.strip_suffix(b"\r").unwrap_or(line);
        if curl {
            match line.strip_prefix(b">") {
                Some(rest) => line = rest.strip_prefix(b" ").unwrap_or(rest),
                None => continue,
            }
        }
        if line.is_empty() {
            if !seen_any {
                continue; // blank lines before the request
            }
            body_start = Some(offset);
            break;
        }
        seen_any = true;
        let text = String::from_utf8_lossy(line);
        if first && is_request_line(&text) {
            first = false;
            continue;
        }
        first = false;
        let not_header = || {
            format!(
                "line {} is not a header (Name: value): {}",
                number + 1,
                shorten(&text)
            )
        };
        let colon = line
            .iter()
            .position(|b| *b == b':')
            .ok_or_else(not_header)?;
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if name.is_empty() || !name.iter().copied().all(is_token) {
            return Err(not_header());
        }
        let name = String::from_utf8_lossy(name).into_owned();
        headers.push((name, value.trim_ascii().to_vec()));
    }
    if !seen_any {
        return Err("the input is empty: expected a request's headers (and body)".into());
    }
    let mut body = match (curl, body_start) {
        (false, Some(start)) => input[start..].to_vec(),
        _ => Vec::new(),
    };
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| String::from_utf8_lossy(v).trim().to_ascii_lowercase())
    };
    if header("transfer-encoding").is_some_and(|te| te.contains("chunked")) {
        if !body.is_empty() {
            body = dechunk(&body)?;
        }
    } else if let Some(length) = header("content-length") {
        let length: usize = length
            .parse()
            .map_err(|_| format!("Content-Length is not a number: {length}"))?;
        // An empty body is a headers-only capture (the body comes with --body).
        if !body.is_empty() {
            if body.len() < length {
                return Err(format!(
                    "the body has {} bytes but Content-Length says {length}",
                    body.len()
                ));
            }
            body.truncate(length);
        }
    }
    Ok(Request { headers, body })
}

fn is_request_line(line: &str) -> bool {
    let mut parts = line.split(' ');
    let method = parts.next().unwrap_or("");
    let target = parts.next();
    let version = parts.next();
    !method.is_empty()
        && method.bytes().all(|b| b.is_ascii_uppercase())
        && target.is_some()
        && version.is_some_and(|v| v.starts_with("HTTP/"))
}

fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn shorten(text: &str) -> String {
    let mut short: String = text.chars().take(60).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    crate::terminal::escape_controls(&short, true).into_owned()
}

/// Decodes a chunked body (chunk extensions and trailers ignored).
fn dechunk(mut input: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let end = input
            .windows(2)
            .position(|w| w == b"\r\n")
            .or_else(|| input.iter().position(|b| *b == b'\n'))
            .ok_or("a chunk size line is missing")?;
        let size_line = String::from_utf8_lossy(&input[..end]);
        let size_text = size_line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size: {}", shorten(&size_line)))?;
        let eol = if input[end] == b'\r' { 2 } else { 1 };
        input = &input[end + eol..];
        if size == 0 {
            return Ok(body);
        }
        if input.len() < size {
            return Err("the chunked body ends inside a chunk".into());
        }
        body.extend_from_slice(&input[..size]);
        input = &input[size..];
        input = input
            .strip_prefix(b"\r\n")
            .or_else(|| input.strip_prefix(b"\n"))
            .ok_or("a chunk is not followed by a line end")?;
    }
}

/// The receiver's state: the verifier and the ids already seen.
struct Listener {
    verifier: Verifier,
    replays: Mutex<ReplayGuard>,
    json: bool,
}

/// Ids remembered for replay detection; far more than a laptop receives in 10 minutes.
const REPLAY_CAPACITY: usize = 100_000;

async fn listen(args: ListenArgs) -> Result<(), CliError> {
    let verifier = args.secrets.verifier()?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let socket = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        CliError::other(format!("cannot listen on {addr}: {e}"))
            .with_hint("another program may use the port: pick another --port")
    })?;
    let local = socket.local_addr().map_err(CliError::internal)?;
    let state = Arc::new(Listener {
        replays: Mutex::new(ReplayGuard::new(verifier.tolerance(), REPLAY_CAPACITY)),
        verifier,
        json: args.json,
    });
    let app = axum::Router::new().fallback(receive).with_state(state);
    let stop = stop_signal()?;
    eprintln!("ontime webhook listen: listening on http://{local}/ (Ctrl-C stops)");
    axum::serve(socket, app)
        .with_graceful_shutdown(stop)
        .await
        .map_err(|e| CliError::other(format!("the receiver failed: {e}")))?;
    eprintln!("ontime webhook listen: stopped");
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C (SIGINT).
fn stop_signal() -> Result<impl std::future::Future<Output = ()>, CliError> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let cannot = |e: std::io::Error| CliError::other(format!("cannot listen for signals: {e}"));
        let mut term = signal(SignalKind::terminate()).map_err(cannot)?;
        let mut int = signal(SignalKind::interrupt()).map_err(cannot)?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

async fn receive(
    State(state): State<Arc<Listener>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = Utc::now();
    if method != Method::POST {
        return reject(
            &method,
            &uri,
            StatusCode::METHOD_NOT_ALLOWED,
            "webhooks are POSTed",
        );
    }
    let message = match state.verifier.verify(&headers, &body, now) {
        Ok(message) => message,
        Err(e) => {
            let status = if e.is_malformed() {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::UNAUTHORIZED
            };
            return reject(&method, &uri, status, &e.to_string());
        }
    };
    let first = match state.replays.lock() {
        Ok(mut guard) => guard.first_time(&message, now),
        Err(poisoned) => poisoned.into_inner().first_time(&message, now),
    };
    let parsed: Option<serde_json::Value> = message.json().ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(name))
            .and_then(|v| v.as_str())
            .map(|s| crate::terminal::escape_controls(s, true).into_owned())
            .unwrap_or_else(|| "-".to_owned())
    };
    let summary = format!(
        "{} {} {} {}",
        rfc3339(message.signed_at()),
        crate::terminal::escape_controls(message.id(), true),
        field("type"),
        field("subject"),
    );
    let mut out = std::io::stdout().lock();
    let printed = if state.json {
        if !first {
            eprintln!("replay: {summary}");
            Ok(())
        } else {
            match &parsed {
                Some(value) => writeln!(out, "{value}"),
                None => {
                    eprintln!("note: {summary}: the body is not JSON; not printed");
                    Ok(())
                }
            }
        }
    } else if first {
        writeln!(out, "{summary}")
    } else {
        writeln!(out, "{summary} replay")
    };
    if let Err(e) = printed {
        eprintln!("cannot write to stdout: {e}");
    }
    if first {
        StatusCode::NO_CONTENT.into_response()
    } else {
        (StatusCode::OK, "replay\n").into_response()
    }
}

fn reject(method: &Method, uri: &Uri, status: StatusCode, reason: &str) -> Response {
    eprintln!(
        "rejected {method} {}: {reason} ({})",
        crate::terminal::escape_controls(&uri.to_string(), true),
        status.as_u16()
    );
    (status, format!("{reason}\n")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raw_request_with_crlf_and_content_length() {
        let raw =
            b"POST /hooks HTTP/1.1\r\nHost: x\r\nwebhook-id: a\r\nContent-Length: 2\r\n\r\n{}\n";
        let request = parse_request(raw).unwrap();
        assert_eq!(request.body, b"{}");
        assert_eq!(request.headers[1], ("webhook-id".into(), b"a".to_vec()));
    }

    #[test]
    fn headers_only_and_curl_verbose() {
        let request = parse_request(b"webhook-id: a\nwebhook-timestamp: 1\n").unwrap();
        assert_eq!(request.headers.len(), 2);
        assert!(request.body.is_empty());
        let curl = b"*   Trying 127.0.0.1:8080...\n* Connected\n> POST / HTTP/1.1\r\n> Host: x\r\n> webhook-id: b\r\n> Content-Length: 5\r\n> \r\n} [5 bytes data]\n< HTTP/1.1 204 No Content\n";
        let request = parse_request(curl).unwrap();
        assert_eq!(request.headers.len(), 3);
        assert_eq!(request.headers[1].1, b"b");
        assert!(request.body.is_empty());
    }

    #[test]
    fn chunked_bodies_are_decoded_and_garbage_is_refused() {
        let raw = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4;x=y\r\n\":1}\r\n0\r\n\r\n";
        assert_eq!(parse_request(raw).unwrap().body, br#"{"a":1}"#);
        assert!(parse_request(b"hello world\n").is_err());
        assert!(parse_request(b"").is_err());
        assert!(parse_request(b"Content-Length: 10\n\nshort").is_err());
    }
}
