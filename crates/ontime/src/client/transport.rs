//! The one place every HTTP call goes through: the concurrency limit, retries with backoff,
//! timeouts, tracing and logs (URLs redacted), quota bookkeeping, and mapping raw errors to
//! [`Error`].

use ontime_raw::index::Operation;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ontime_raw::ResponseValue;
use ontime_raw::hooks::{Observer, Outcome, Refused};
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::error::{REDACTED, Redactor, Retried, message_from_body};
use crate::quota::QuotaTracker;
use crate::retry::{Idempotency, RetryDecision, RetryEvent};
use crate::{Error, Result};

use super::{Client, RawError};
use crate::error::{by_status, decode_path, looks_like_json, refused_error};

impl Client {
    /// Runs one operation with the client's policies; decodes JSON results.
    pub(crate) async fn call<T, F, Fut>(
        &self,
        operation: Operation,
        idempotency: Idempotency,
        attempt: F,
    ) -> Result<T>
    where
        T: DeserializeOwned,
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<ResponseValue<T>, RawError>>,
    {
        self.execute(operation, idempotency, attempt, decode_path::<T>)
            .await
    }

    /// Runs one operation whose result is not JSON (a byte stream).
    pub(crate) async fn call_raw<T, F, Fut>(
        &self,
        operation: Operation,
        idempotency: Idempotency,
        attempt: F,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<ResponseValue<T>, RawError>>,
    {
        self.execute(operation, idempotency, attempt, |_| None)
            .await
    }

    async fn execute<T, F, Fut>(
        &self,
        operation: Operation,
        idempotency: Idempotency,
        mut attempt_fn: F,
        path_of: fn(&[u8]) -> Option<String>,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<ResponseValue<T>, RawError>>,
    {
        let policy = &self.inner.retry;
        let started = Instant::now();
        let span = tracing::debug_span!(
            "ontime.call",
            operation = operation.client_method(),
            attempts = tracing::field::Empty,
            status = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        );
        async {
            let mut attempt = 1u32;
            loop {
                let permit = self.inner.semaphore.acquire().await;
                let slot = Arc::new(ExchangeSlot::default());
                let timeout = self.inner.request_timeout;
                let attempt_started = Instant::now();
                let outcome = EXCHANGE
                    .scope(slot.clone(), async {
                        tokio::time::timeout(timeout, attempt_fn()).await
                    })
                    .await;
                drop(permit);
                let exchange = slot.take();
                log_attempt(attempt, &exchange, attempt_started.elapsed());
                let result = match outcome {
                    Err(_) => {
                        // The request went out but its answer never reached the observer: count
                        // it here, as the server counts it against the quota.
                        if exchange.status.is_none() {
                            self.inner.quota.record_call();
                        }
                        Err(Error::Timeout {
                            operation,
                            after: timeout,
                            retried: None,
                        })
                    }
                    Ok(Ok(value)) => Ok(value.into_inner()),
                    Ok(Err(raw)) => {
                        let timeouts = (timeout, self.inner.connect_timeout);
                        let error = convert(operation, raw, &exchange, path_of, timeouts).await;
                        Err(self.inner.redactor.error(error))
                    }
                };
                let span = tracing::Span::current();
                span.record("attempts", attempt);
                span.record("latency_ms", started.elapsed().as_millis() as u64);
                if let Some(status) = exchange.status {
                    span.record("status", status);
                }
                let error = match result {
                    Ok(value) => return Ok(value),
                    Err(error) => error,
                };
                let decision = policy.decide(
                    attempt,
                    started.elapsed(),
                    &error,
                    idempotency,
                    &mut rand::rng(),
                );
                match decision {
                    RetryDecision::Stop => {
                        let error = if attempt > 1 {
                            error.with_retried(Retried {
                                attempts: attempt,
                                elapsed: started.elapsed(),
                            })
                        } else {
                            error
                        };
                        tracing::debug!(error = %error, "call failed");
                        return Err(error);
                    }
                    RetryDecision::RetryAfter(wait) => {
                        let event = RetryEvent {
                            operation,
                            attempt,
                            max_attempts: policy.attempts(),
                            wait,
                            server_asked: error.retry_after().is_some(),
                            elapsed: started.elapsed(),
                            error: &error,
                        };
                        tracing::warn!(
                            target: "ontime::retry",
                            attempt,
                            max_attempts = event.max_attempts,
                            wait_ms = wait.as_millis() as u64,
                            server_asked = event.server_asked,
                            error = %error,
                            "retrying"
                        );
                        if let Some(hook) = &self.inner.on_retry {
                            (hook.0)(&event);
                        }
                        tokio::time::sleep(wait).await;
                        attempt += 1;
                    }
                }
            }
        }
        .instrument(span)
        .await
    }
}

/// What the observer saw of one attempt's HTTP exchange: the request (method, and the URL made
/// fit for logs) and the answer's status, `Retry-After` and `Content-Type`.
#[derive(Default, Clone, Debug)]
struct Exchange {
    method: Option<String>,
    url: Option<String>,
    status: Option<u16>,
    retry_after: Option<Duration>,
    content_type: Option<String>,
}

/// The exchange of the attempt running in this task.
#[derive(Default)]
struct ExchangeSlot(Mutex<Exchange>);

impl ExchangeSlot {
    fn update(&self, change: impl FnOnce(&mut Exchange)) {
        if let Ok(mut slot) = self.0.lock() {
            change(&mut slot);
        }
    }
    fn take(&self) -> Exchange {
        self.0
            .lock()
            .map(|mut slot| std::mem::take(&mut *slot))
            .unwrap_or_default()
    }
}

tokio::task_local! {
    static EXCHANGE: Arc<ExchangeSlot>;
}

/// One DEBUG event per HTTP attempt (target `ontime::http`): method, URL with its query (secret
/// parameters and the key redacted; headers are never logged), status, time taken.
fn log_attempt(attempt: u32, exchange: &Exchange, elapsed: Duration) {
    let Some(method) = &exchange.method else {
        return; // the request could not even be built
    };
    tracing::debug!(
        target: "ontime::http",
        attempt,
        method = %method,
        url = %exchange.url.as_deref().unwrap_or("?"),
        status = exchange.status,
        elapsed_ms = elapsed.as_millis() as u64,
        "{}",
        if exchange.status.is_some() { "HTTP response" } else { "HTTP request got no answer" }
    );
}

/// The URL as it may appear in logs: query parameters that hold secrets (passwords) and any
/// appearance of the API key replaced by `[redacted]`.
fn loggable_url(url: &reqwest::Url, redactor: &Redactor) -> String {
    let secret = |name: &str| {
        let name = name.to_ascii_lowercase();
        ["password", "secret", "token", "key"]
            .iter()
            .any(|word| name.contains(word))
    };
    let mut url = url.clone();
    let _ = url.set_password(None);
    let _ = url.set_username("");
    if let Some(query) = url.query().map(str::to_string) {
        let parts: Vec<String> = query
            .split('&')
            .map(|part| match part.split_once('=') {
                Some((name, _)) if secret(name) => format!("{name}={REDACTED}"),
                _ => part.to_string(),
            })
            .collect();
        // Set as text: `[redacted]` stays readable instead of percent-encoded.
        let mut text = url.to_string();
        if let Some(start) = text.find('?') {
            let end = text.find('#').unwrap_or(text.len());
            text.replace_range(start + 1..end, &parts.join("&"));
        }
        return redactor.text(&text);
    }
    redactor.text(url.as_str())
}

/// `text` with every GUID (8-4-4-4-12 hex digits) written `{id}`.
fn mask_guids(text: &str) -> String {
    const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
    let bytes = text.as_bytes();
    let guid_at = |start: usize| -> bool {
        let mut at = start;
        for (n, len) in GROUPS.iter().enumerate() {
            if n > 0 {
                if bytes.get(at) != Some(&b'-') {
                    return false;
                }
                at += 1;
            }
            let Some(group) = bytes.get(at..at + len) else {
                return false;
            };
            if !group.iter().all(u8::is_ascii_hexdigit) {
                return false;
            }
            at += len;
        }
        // Not part of a longer run of hex digits.
        let before = start.checked_sub(1).and_then(|i| bytes.get(i));
        !(bytes.get(at).is_some_and(u8::is_ascii_hexdigit)
            || before.is_some_and(u8::is_ascii_hexdigit))
    };
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while at < text.len() {
        if guid_at(at) {
            out.push_str("{id}");
            at += 36;
        } else {
            let c = text[at..].chars().next().expect("in bounds");
            out.push(c);
            at += c.len_utf8();
        }
    }
    out
}

/// Counts calls, reads quota headers, and tells the running attempt what went out and what
/// came back (progenitor drops the status from some errors).
pub(super) struct CallObserver {
    pub(super) quota: Arc<QuotaTracker>,
    pub(super) redactor: Redactor,
    pub(super) on_call: Option<CallHook>,
    /// Whether logged URLs show GUIDs as `{id}` ([`ClientBuilder::mask_ids_in_logs`](crate::ClientBuilder::mask_ids_in_logs)).
    pub(super) mask_ids: bool,
}

/// One HTTP exchange with OnTime, as [`ClientBuilder::on_call`](crate::ClientBuilder::on_call)
/// callbacks see it: every attempt (a retried call is several), counted like
/// [`Quota::calls`](crate::Quota::calls).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct CallEvent {
    /// The operation called.
    pub operation: Operation,
    /// The HTTP status, or `None` when no response came (refused, reset, timed out).
    pub status: Option<u16>,
    /// From sending the request to its response's headers (or the transport failure).
    pub elapsed: Duration,
}

/// A callback run after every HTTP exchange.
#[derive(Clone)]
pub(crate) struct CallHook(pub(crate) Arc<dyn Fn(&CallEvent) + Send + Sync>);

impl std::fmt::Debug for CallHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallHook")
    }
}

impl Observer for CallObserver {
    fn on_request(&self, _operation: Operation, request: &reqwest::Request) {
        let method = request.method().to_string();
        let mut url = loggable_url(request.url(), &self.redactor);
        if self.mask_ids {
            url = mask_guids(&url);
        }
        let _ = EXCHANGE.try_with(|slot| {
            slot.update(|exchange| {
                *exchange = Exchange {
                    method: Some(method),
                    url: Some(url),
                    ..Exchange::default()
                }
            })
        });
    }

    fn on_response(&self, operation: Operation, outcome: Outcome<'_>, elapsed: Duration) {
        self.quota.record_call();
        if let Some(hook) = &self.on_call {
            let status = match outcome {
                Outcome::Response { status, .. } => Some(status.as_u16()),
                Outcome::Transport(_) => None,
            };
            (hook.0)(&CallEvent {
                operation,
                status,
                elapsed,
            });
        }
        if let Outcome::Response { status, headers } = outcome {
            self.quota.update(headers);
            let retry_after = retry_after(headers);
            let content_type = headers
                .get(reqwest::header::CONTENT_TYPE)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
            let _ = EXCHANGE.try_with(|slot| {
                slot.update(|exchange| {
                    exchange.status = Some(status.as_u16());
                    exchange.retry_after = retry_after;
                    exchange.content_type = content_type;
                })
            });
        }
    }
}

/// `Retry-After` as seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = when.signed_duration_since(chrono::Utc::now());
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// Maps a raw error to the facade's, by status. Server texts are redacted by the caller.
async fn convert(
    operation: Operation,
    error: RawError,
    exchange: &Exchange,
    path_of: fn(&[u8]) -> Option<String>,
    (request_timeout, connect_timeout): (Duration, Option<Duration>),
) -> Error {
    let status = exchange.status.unwrap_or(200);
    match error {
        RawError::InvalidRequest(message) | RawError::Custom(message) => {
            Error::InvalidRequest { operation, message }
        }
        RawError::CommunicationError(e) | RawError::ResponseBodyError(e) => {
            if let Some(refused) = Refused::find(&e) {
                refused_error(operation, status, refused)
            } else if e.is_redirect() {
                // A custom HTTP client followed redirects until its own limit.
                Error::Redirect {
                    operation,
                    status: None,
                    location: e.url().map(|u| u.to_string()),
                }
            } else if e.is_timeout() {
                let after = match connect_timeout {
                    Some(connect) if e.is_connect() => connect,
                    _ => request_timeout,
                };
                Error::Timeout {
                    operation,
                    after,
                    retried: None,
                }
            } else {
                Error::Transport {
                    operation,
                    source: e.without_url(),
                    retried: None,
                }
            }
        }
        RawError::ErrorResponse(fault) => {
            let status = fault.status().as_u16();
            let retry = retry_after(fault.headers());
            let fault = fault.into_inner();
            let message = match (fault.message, fault.message_detail) {
                (Some(m), Some(d)) if !d.is_empty() => Some(format!("{m} ({d})")),
                (Some(m), _) => Some(m),
                (None, _) => None,
            };
            by_status(operation, status, message, retry)
        }
        RawError::UnexpectedResponse(response) => {
            let status = response.status().as_u16();
            let retry = retry_after(response.headers());
            match response.bytes().await {
                Ok(body) => by_status(operation, status, message_from_body(&body), retry),
                Err(e) => match Refused::find(&e) {
                    Some(refused) => refused_error(operation, status, refused),
                    None => by_status(operation, status, None, retry),
                },
            }
        }
        RawError::InvalidResponsePayload(bytes, e) => {
            if (200..300).contains(&status) {
                if !looks_like_json(exchange.content_type.as_deref(), &bytes) {
                    return Error::UnexpectedResponse {
                        operation,
                        status,
                        content_type: exchange.content_type.clone(),
                        snippet: message_from_body(&bytes),
                    };
                }
                let truncated = e.classify() == serde_json::error::Category::Eof;
                Error::Decode {
                    operation,
                    status,
                    path: path_of(&bytes).unwrap_or_else(|| ".".into()),
                    message: e.to_string(),
                    truncated,
                    retried: None,
                }
            } else {
                by_status(
                    operation,
                    status,
                    message_from_body(&bytes),
                    exchange.retry_after,
                )
            }
        }
        other => Error::InvalidRequest {
            operation,
            message: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "17".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(17)));
        let later = chrono::Utc::now() + chrono::Duration::seconds(90);
        headers.insert("retry-after", later.to_rfc2822().parse().unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!(
            wait > Duration::from_secs(80) && wait <= Duration::from_secs(90),
            "{wait:?}"
        );
        headers.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn urls_in_logs_hide_passwords_and_the_key() {
        let redactor = Redactor::new("k3y-secret");
        let url = reqwest::Url::parse(
            "http://127.0.0.1:9/sites/a/api/users/authenticate?password=hunter2&userName=dana&x=k3y-secret",
        )
        .unwrap();
        assert_eq!(
            loggable_url(&url, &redactor),
            "http://127.0.0.1:9/sites/a/api/users/authenticate?password=[redacted]&userName=dana&x=[redacted]"
        );
        let plain = reqwest::Url::parse("http://127.0.0.1:9/sites/a/api/orders?status=3").unwrap();
        assert_eq!(loggable_url(&plain, &redactor), plain.as_str());
        assert_eq!(
            mask_guids(
                "https://x/api/user/availability/3F2C1A7E-0000-4000-8000-000000000001?userid=3f2c1a7e-0000-4000-8000-00000000000a&n=1"
            ),
            "https://x/api/user/availability/{id}?userid={id}&n=1"
        );
        assert_eq!(
            mask_guids("é-3f2c1a7e-0000-4000-8000-0000000000012"),
            "é-3f2c1a7e-0000-4000-8000-0000000000012"
        );
    }
}
