//! The daemon's one HTTP listener.
//!
//! | request | answer |
//! |---|---|
//! | `GET /healthz` | `200` and `{"status":"ok","worker":…,"store_ok":true,"accounts":{"acme":{"leased":true,"last_tick_age_s":1.0,…}}}`; `"destinations":{"erp":{"health":"ok"\|"failing"\|"disabled","backlog":0,"dead_letters":0,"oldest_waiting_s":…,"failing_since":…,"disabled_reason":…,"last_error":…}}` (read from the store every 15 s); `503` (same body, `"status":"unhealthy"`) when the store failed the last lease round or the worker loop (in a `--role deliver` process: the destinations' health check) has not run for [`HttpState::stale_after`] |
//! | `GET /metrics` | `200`, the Prometheus text format (see [`super::metrics`]) |
//! | `POST /inbound/{token}` | handed to the inbound endpoint of the account whose token it is ([`crate::collect::inbound`]); `404` when no account's token matches |
//! | anything else | `404` |
//!
//! Every account's token is compared (in constant time each, and all of them every time), so the
//! answer's timing does not tell which account, if any, nearly matched.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, TimeDelta, Utc};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::metrics::Metrics;
use super::worker::Health;
use crate::collect::inbound::InboundToken;

/// One account's inbound endpoint, for the dispatcher.
#[derive(Clone, Debug)]
pub struct InboundRoute {
    /// The account.
    pub account: String,
    /// Its token.
    pub token: InboundToken,
    /// Its endpoint ([`Inbound::router`](crate::collect::inbound::Inbound::router)).
    pub router: Router,
}

/// What the endpoints read.
#[derive(Clone)]
pub struct HttpState {
    /// The series.
    pub metrics: Arc<Metrics>,
    /// The worker's health.
    pub health: Arc<Mutex<Health>>,
    /// The inbound endpoints, one per account that has one.
    pub inbound: Arc<Vec<InboundRoute>>,
    /// How long without a worker loop pass before `/healthz` answers `503`.
    pub stale_after: TimeDelta,
    /// The time (the wall clock in the daemon).
    pub now: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
}

impl std::fmt::Debug for HttpState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpState")
            .field("inbound", &self.inbound)
            .field("stale_after", &self.stale_after)
            .finish_non_exhaustive()
    }
}

/// The router of every endpoint.
pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route(
            "/inbound/{token}",
            post(inbound).fallback(|| async { StatusCode::NOT_FOUND }),
        )
        .fallback(|| async { StatusCode::NOT_FOUND })
        .with_state(state)
}

/// Serves `router` on `listener` until `cancel`, then lets requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    cancel: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { cancel.cancelled().await })
        .await
}

async fn healthz(State(state): State<HttpState>) -> Response {
    let now = (state.now)();
    let health = state
        .health
        .lock()
        .map(|h| h.clone())
        .unwrap_or_else(|p| p.into_inner().clone());
    // A deliver-only process has no worker loop: its destinations' health task is its pulse.
    let pulse = if health.collecting {
        health.last_loop_at
    } else {
        health.destinations_checked_at
    };
    let stale = pulse.is_none_or(|at| now - at > state.stale_after);
    let healthy = health.store_ok && !stale;
    let accounts: serde_json::Map<String, serde_json::Value> = health
        .accounts
        .iter()
        .map(|(name, a)| {
            let age = a
                .last_tick_at
                .map(|at| (now - at).num_milliseconds() as f64 / 1000.0);
            (
                name.clone(),
                serde_json::json!({
                    "leased": a.leased,
                    "last_tick_age_s": age,
                    "last_error": a.last_error,
                }),
            )
        })
        .collect();
    let body = serde_json::json!({
        "status": if healthy { "ok" } else { "unhealthy" },
        "worker": health.worker,
        "store_ok": health.store_ok,
        "loop_age_s": health.last_loop_at.map(|at| (now - at).num_milliseconds() as f64 / 1000.0),
        "accounts": accounts,
        "destinations": health.destinations,
        "destinations_checked_age_s": health
            .destinations_checked_at
            .map(|at| (now - at).num_milliseconds() as f64 / 1000.0),
    });
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

async fn metrics(State(state): State<HttpState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
        .into_response()
}

async fn inbound(
    State(state): State<HttpState>,
    Path(token): Path<String>,
    request: Request<Body>,
) -> Response {
    // Look at every token (each compared in constant time), then pick.
    let mut found = None;
    for route in state.inbound.iter() {
        if route.token.matches(&token) && found.is_none() {
            found = Some(route.router.clone());
        }
    }
    // A fresh request for the account's own router: the outer route's path parameters would
    // otherwise be added to its own.
    let (mut parts, body) = request.into_parts();
    parts.extensions = Default::default();
    let request = Request::from_parts(parts, body);
    match found {
        Some(router) => match router.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        },
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
