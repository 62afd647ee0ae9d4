//! How answers are made: JSON bodies and faults, the `X-RateLimit-*` headers, the answers of
//! failing faults and the damage done to an answer after its operation ran.

use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode, header};

use crate::auth::KeySpec;
use crate::faults::FaultKind;
use crate::http_util::ApiError;
use crate::quota::QuotaUsage;
use crate::state::Shared;

/// Marks a response whose connection must be closed without answering.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DropConnection;

pub(crate) fn json_response(status: u16, body: Bytes) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp
}

pub(crate) fn fault_response(e: &ApiError) -> Response {
    json_response(e.status, e.body())
}

/// Adds the `X-RateLimit-*` headers (named as the spec index names them) of `usage`.
pub(crate) fn add_quota_headers(resp: &mut Response, usage: &QuotaUsage) {
    use ontime_raw::index::headers as h;
    let values = [
        (
            h::X_RATE_LIMIT_LIMIT_DAILY,
            HeaderValue::from(usage.daily_limit),
        ),
        (
            h::X_RATE_LIMIT_REMAINING_DAILY,
            HeaderValue::from(usage.daily_remaining),
        ),
        (
            h::X_RATE_LIMIT_RESET_DAILY,
            HeaderValue::from(usage.daily_reset),
        ),
        (
            h::X_RATE_LIMIT_LIMIT_MONTHLY,
            HeaderValue::from(usage.monthly_limit),
        ),
        (
            h::X_RATE_LIMIT_REMAINING_MONTHLY,
            HeaderValue::from(usage.monthly_remaining),
        ),
        (
            h::X_RATE_LIMIT_RESET_MONTHLY,
            HeaderValue::from(usage.monthly_reset),
        ),
    ];
    for (name, value) in values {
        // The spec's names are valid header names (`from_bytes` lowercases them).
        if let Ok(name) = HeaderName::from_bytes(name.as_bytes()) {
            resp.headers_mut().insert(name, value);
        }
    }
}

/// The answer of a failing fault.
pub(crate) fn failing_fault(kind: &FaultKind) -> Response {
    let mut resp = match kind {
        FaultKind::Status {
            status,
            retry_after,
        } => {
            let message = match status {
                429 => "Too many requests.",
                502 => "Bad gateway.",
                503 => "The service is unavailable.",
                _ => "An error has occurred.",
            };
            let mut r = fault_response(&ApiError::new(*status, message));
            if let Some(secs) = retry_after
                && let Ok(v) = HeaderValue::from_str(&secs.to_string())
            {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        FaultKind::PlainTextError { status } => {
            let mut r = Response::new(Body::from(format!(
                "{} {}",
                status,
                StatusCode::from_u16(*status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("Error")
            )));
            *r.status_mut() =
                StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            r
        }
        FaultKind::HtmlError { status } => {
            let reason = StatusCode::from_u16(*status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("Error");
            let html = format!(
                "<!DOCTYPE html>\r\n<html><head><title>{status} - {reason}</title></head>\
                 <body><h1>Server Error</h1><h2>{status} - {reason}</h2>\
                 <p>The web server could not complete the request.</p></body></html>\r\n"
            );
            let mut r = Response::new(Body::from(html));
            *r.status_mut() =
                StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            r
        }
        FaultKind::EmptyBody { status } => {
            let mut r = Response::new(Body::empty());
            *r.status_mut() =
                StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            r.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
            r
        }
        _ => {
            let mut r = Response::new(Body::empty());
            r.extensions_mut().insert(DropConnection);
            r
        }
    };
    if matches!(kind, FaultKind::DropConnection) {
        resp.extensions_mut().insert(DropConnection);
    }
    resp
}

/// Damages or slows a response body after the operation ran (a late answer's body is whole:
/// the pipeline holds the answer back).
pub(crate) fn damage(kind: &FaultKind, mut resp: Response, body: Bytes) -> Response {
    match kind {
        FaultKind::TruncatedBody => {
            let half = body.slice(..body.len() / 2);
            let full = body.len();
            // Send the head and half the body, let hyper flush them, then fail the body so
            // the connection closes before `Content-Length` bytes arrived.
            let stream = futures::stream::unfold(0u8, move |step| {
                let half = half.clone();
                async move {
                    match step {
                        0 => Some((Ok::<Bytes, std::io::Error>(half), 1)),
                        1 => {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            Some((
                                Err(std::io::Error::new(
                                    std::io::ErrorKind::ConnectionAborted,
                                    "body truncated by an injected fault",
                                )),
                                2,
                            ))
                        }
                        _ => None,
                    }
                }
            });
            *resp.body_mut() = Body::from_stream(stream);
            if let Ok(v) = HeaderValue::from_str(&full.to_string()) {
                resp.headers_mut().insert(header::CONTENT_LENGTH, v);
            }
        }
        FaultKind::MalformedJson => {
            let mut bad = body.slice(..body.len() / 2).to_vec();
            bad.extend_from_slice(b"\x00}{\"Message\": ");
            resp.headers_mut().remove(header::CONTENT_LENGTH);
            *resp.body_mut() = Body::from(bad);
        }
        FaultKind::SlowBody { chunk_delay } => {
            let chunk = (body.len() / 8).max(64);
            let chunks: Vec<Bytes> = (0..body.len())
                .step_by(chunk)
                .map(|i| body.slice(i..(i + chunk).min(body.len())))
                .collect();
            let delay = *chunk_delay;
            let stream = futures::stream::unfold(
                (chunks.into_iter(), true),
                move |(mut it, first)| async move {
                    let next = it.next()?;
                    if !first {
                        tokio::time::sleep(delay).await;
                    }
                    Some((Ok::<Bytes, std::io::Error>(next), (it, false)))
                },
            );
            if let Ok(v) = HeaderValue::from_str(&body.len().to_string()) {
                resp.headers_mut().insert(header::CONTENT_LENGTH, v);
            }
            *resp.body_mut() = Body::from_stream(stream);
        }
        _ => *resp.body_mut() = Body::from(body),
    }
    resp
}

/// Marks an answer after which the connection is closed (its request body was left unread).
pub(crate) fn closing(mut resp: Response) -> Response {
    resp.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// Adds the quota headers of `key` (without spending a call) when it is a valid key.
pub(crate) fn peek_quota(
    shared: &Shared,
    key: Option<&str>,
    spec: Option<&KeySpec>,
    resp: &mut Response,
) {
    if let (Some(k), Some(spec)) = (key, spec) {
        let (d, m) = shared.limits(spec);
        let usage = shared.quotas().peek(k, d, m, shared.clock.now_utc());
        add_quota_headers(resp, &usage);
    }
}
