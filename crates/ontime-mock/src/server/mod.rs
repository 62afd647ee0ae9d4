//! The HTTP side: an axum router whose fallback runs the request [`pipeline`], served by a
//! hyper connection loop (so that a fault can drop a connection without answering).
//!
//! - [`pipeline`]: what happens to one request, step by step (route, read the body, faults
//!   before, authenticate, quota, permission, the operation, faults after, log).
//! - [`respond`]: how answers are made (faults, quota headers, damaged bodies).
//! - [`body`]: reading request bodies within the size limit, the body budget and the timeout.

mod body;
mod pipeline;
mod respond;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use http::{HeaderValue, header};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::state::Shared;
use respond::DropConnection;

/// The error the connection service returns to make hyper close the connection.
#[derive(Debug)]
pub(crate) struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for Dropped {}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/openapi.json", get(spec))
        .fallback(pipeline::dispatch)
        .with_state(shared)
}

async fn spec(State(shared): State<Arc<Shared>>) -> Response {
    let body = shared.spec.get().cloned().unwrap_or_default();
    let mut resp = Response::new(Body::from(body));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp
}

/// What to do after `accept` failed with `kind`, having waited `previous` after the last
/// failure: `None` to accept again at once (the error concerned one connection, which is gone),
/// or how long to wait first — 5 ms, doubling up to 1 s while failures go on (out of file
/// descriptors, for instance). Waiting keeps a failing `accept` from spinning a core while
/// nobody is served; the connections that fail meanwhile wait in the listen backlog.
pub(crate) fn accept_backoff(
    kind: std::io::ErrorKind,
    previous: Option<Duration>,
) -> Option<Duration> {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        kind,
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return None;
    }
    const FIRST: Duration = Duration::from_millis(5);
    const MOST: Duration = Duration::from_secs(1);
    Some(previous.map_or(FIRST, |d| (d * 2).clamp(FIRST, MOST)))
}

/// Accepts connections until `shutdown` turns true, then lets open connections finish (up to
/// five seconds). A connection that does not send a request head within `header_read_timeout`
/// is closed; `accept` errors are retried after [`accept_backoff`].
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
    header_read_timeout: Duration,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let mut backoff: Option<Duration> = None;
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => {
                        backoff = None;
                        stream
                    }
                    Err(e) => {
                        let Some(wait) = accept_backoff(e.kind(), backoff) else { continue };
                        backoff = Some(wait);
                        tracing::warn!(error = %e, retry_in = ?wait, "accepting a connection failed");
                        tokio::select! {
                            () = tokio::time::sleep(wait) => continue,
                            changed = shutdown.changed() => {
                                if changed.is_err() || *shutdown.borrow() {
                                    break;
                                }
                                continue;
                            }
                        }
                    }
                };
                let _ = stream.set_nodelay(true);
                let router = router.clone();
                let service = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let router = router.clone();
                    async move {
                        let resp: Result<Response, Infallible> = router.oneshot(req.map(Body::new)).await;
                        let resp = match resp {
                            Ok(r) => r,
                            Err(never) => match never {},
                        };
                        if resp.extensions().get::<DropConnection>().is_some() {
                            Err(Dropped)
                        } else {
                            Ok(resp)
                        }
                    }
                });
                let conn = builder.serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
            }
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(5)) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::ErrorKind;

    #[test]
    fn accept_errors_back_off_exponentially_to_one_second() {
        let mut waits = Vec::new();
        let mut previous = None;
        for _ in 0..12 {
            previous = accept_backoff(ErrorKind::Other, previous);
            waits.push(previous.map(|d| d.as_millis()));
        }
        let ms: Vec<u128> = waits.into_iter().map(|w| w.expect("a wait")).collect();
        assert_eq!(
            ms,
            [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000, 1000]
        );
        // Out of file descriptors (EMFILE is `Other` in std's mapping, or an uncategorised
        // kind): waits too, and never spins.
        let emfile = std::io::Error::from_raw_os_error(24).kind();
        assert_eq!(accept_backoff(emfile, None), Some(Duration::from_millis(5)));
    }

    #[test]
    fn an_error_of_one_connection_is_retried_at_once() {
        for kind in [
            ErrorKind::ConnectionAborted,
            ErrorKind::ConnectionReset,
            ErrorKind::ConnectionRefused,
        ] {
            assert_eq!(
                accept_backoff(kind, Some(Duration::from_secs(1))),
                None,
                "{kind:?}"
            );
        }
    }
}
