//! A small receiver for the signed webhooks `ontime sync run` delivers: it verifies each request
//! on its raw bytes, stores the event under its id (a retry overwrites the same entry instead
//! of adding a second one), and answers 202 Accepted.
//!
//! Run it (the secret is the endpoint's `whsec_…` secret; during a rotation put the previous
//! one in `ONTIME_WEBHOOK_SECRET_PREVIOUS` too):
//!
//! ```text
//! export ONTIME_WEBHOOK_SECRET=whsec_...
//! cargo run -p ontime-sync --example webhook_receiver -- 127.0.0.1:8787
//! ```
//!
//! then give the daemon an endpoint `http://127.0.0.1:8787/webhooks` with that secret (loopback
//! targets must be allowed explicitly in the endpoint's configuration). To see the same
//! deliveries printed instead of stored, point a second endpoint (same secret) at
//! `ontime webhook listen --port 8788 --secret-env ONTIME_WEBHOOK_SECRET`; a request captured
//! with `nc -l 8789` can be checked with `ontime webhook verify --secret-env
//! ONTIME_WEBHOOK_SECRET < request.txt`.
//!
//! `GET /events` lists what was stored, as JSON (event id → event). A real receiver keeps
//! them in its database with the event id as primary key (`INSERT … ON CONFLICT (event_id) DO
//! UPDATE`), and uses the per-subject `sequence` to ignore an older event arriving late.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use ontime_sync::deliver::signature::WebhookSecret;
use ontime_sync::deliver::verify::Verifier;

/// The receiver's state: who may send, and the events received so far (by event id).
#[derive(Clone)]
pub struct Receiver {
    verifier: Arc<Verifier>,
    events: Arc<Mutex<BTreeMap<String, serde_json::Value>>>,
}

impl Receiver {
    /// A receiver accepting signatures made with `verifier`'s secrets.
    pub fn new(verifier: Verifier) -> Self {
        Self {
            verifier: Arc::new(verifier),
            events: Arc::default(),
        }
    }

    /// The events stored so far, by id.
    pub fn events(&self) -> BTreeMap<String, serde_json::Value> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

/// `POST /webhooks` (deliveries) and `GET /events` (what was stored).
pub fn router(receiver: Receiver) -> Router {
    Router::new()
        .route("/webhooks", post(receive))
        .route("/events", get(list))
        .with_state(receiver)
}

/// The body arrives as `Bytes`, untouched: verification needs exactly what was signed. Only
/// after it passes is the body parsed.
async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> Response {
    let message = match receiver.verifier.verify_now(&headers, &body) {
        Ok(message) => message,
        Err(e) if e.is_malformed() => {
            return (StatusCode::BAD_REQUEST, e.to_string()).into_response();
        }
        Err(e) => return (StatusCode::UNAUTHORIZED, e.to_string()).into_response(),
    };
    let event: serde_json::Value = match message.json() {
        Ok(event) => event,
        // Authentic but unreadable: retrying will not help, so do not ask for a retry (4xx).
        Err(e) => {
            return (StatusCode::UNPROCESSABLE_ENTITY, format!("not JSON: {e}")).into_response();
        }
    };
    // Upsert by the webhook-id, which is the event's id: the sender repeats it on every retry.
    match receiver.events.lock() {
        Ok(mut events) => {
            events.insert(message.id().to_owned(), event);
        }
        // Not stored: a 5xx makes the sender retry later.
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
    StatusCode::ACCEPTED.into_response()
}

async fn list(State(receiver): State<Receiver>) -> Json<BTreeMap<String, serde_json::Value>> {
    Json(receiver.events())
}

/// The verifier from `ONTIME_WEBHOOK_SECRET` (and `ONTIME_WEBHOOK_SECRET_PREVIOUS`, if set).
fn verifier_from_env() -> Result<Verifier, String> {
    let read = |var: &str| -> Result<Option<WebhookSecret>, String> {
        match std::env::var(var) {
            Ok(text) => WebhookSecret::parse(&text)
                .map(Some)
                .map_err(|e| format!("{var}: {e}")),
            Err(_) => Ok(None),
        }
    };
    let current = read("ONTIME_WEBHOOK_SECRET")?
        .ok_or("set ONTIME_WEBHOOK_SECRET to the endpoint's whsec_… secret")?;
    let mut verifier = Verifier::new(current);
    if let Some(previous) = read("ONTIME_WEBHOOK_SECRET_PREVIOUS")? {
        verifier = verifier.with_secret(previous);
    }
    Ok(verifier)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let verifier = match verifier_from_env() {
        Ok(verifier) => verifier,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8787".to_owned());
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("error: cannot listen on {addr}: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    eprintln!("webhook receiver on http://{addr}/webhooks (events at /events); Ctrl-C stops");
    let app = router(Receiver::new(verifier));
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
    {
        eprintln!("error: {e}");
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}
