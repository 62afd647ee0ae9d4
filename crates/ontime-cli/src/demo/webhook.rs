//! The webhook part of the tour: one stored event goes the way `ontime sync run` sends it —
//! queued in the outbox, rendered through the default redaction policy, signed (Standard
//! Webhooks), posted — to a receiver on 127.0.0.1 that verifies it with the receiver side of
//! `ontime-sync` ([`Verifier`]). The secret is derived from the seed and the time is the
//! account's frozen clock, so the headers, the signature and the body print the same every time.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use ontime_sync::collect::Clock;
use ontime_sync::deliver::dispatch::{DispatchSettings, Dispatcher};
use ontime_sync::deliver::signature::WebhookSecret;
use ontime_sync::deliver::verify::Verifier;
use ontime_sync::deliver::webhook::{SigningKeys, WebhookEndpoint, WebhookSink};
use ontime_sync::event::Event;
use ontime_sync::policy::{RedactionPolicy, Redactor};
use ontime_sync::run::CancellationToken;
use ontime_sync::store::outbox::{DeliveryStore, Redeliver};
use ontime_sync::store::{EventStore, Store};

use super::tour::{Tour, differences};
use crate::error::CliError;

/// The destination's name in the demo's outbox.
const DESTINATION: &str = "demo-receiver";

/// The account's frozen time, for signing and verifying.
#[derive(Clone, Copy, Debug)]
struct Frozen(DateTime<Utc>);

impl Clock for Frozen {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }

    async fn sleep_until(&self, _at: DateTime<Utc>) {}
}

/// What the receiver saw: the three headers and the raw body.
type Captured = Arc<Mutex<Option<(HeaderMap, Bytes)>>>;

/// Delivers the last stored event of `order` to a local verifying receiver and prints it.
pub async fn deliver(
    tour: &mut Tour,
    store: &Store,
    order: uuid::Uuid,
    seed: u64,
    now: DateTime<Utc>,
) -> Result<(), CliError> {
    let failed =
        |e: ontime_sync::store::StoreError| CliError::other(format!("the demo's event store: {e}"));
    let subject = Event::order_subject(ontime::OrderId::from_uuid(order));
    let events = store.timeline("demo", &subject).await.map_err(failed)?;
    let Some(last) = events.last() else {
        return Ok(());
    };
    // A demo secret (never one to use): 32 bytes spelled out from the seed.
    let bytes: Vec<u8> = (0..32u8)
        .map(|i| seed.to_be_bytes()[usize::from(i % 8)] ^ i.wrapping_mul(37))
        .collect();
    let secret = WebhookSecret::from_bytes(bytes)
        .map_err(|e| CliError::internal(format!("the demo's secret: {e}")))?;

    // The receiver: verifies the raw body against the headers, answers 204 or 401.
    let verifier = Arc::new(Verifier::new(secret.clone()));
    let captured: Captured = Arc::default();
    let (v, c) = (verifier.clone(), captured.clone());
    let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
        let (v, c) = (v.clone(), c.clone());
        async move {
            let valid = v.verify(&headers, &body, now).is_ok();
            if let Ok(mut slot) = c.lock() {
                *slot = Some((headers, body));
            }
            if valid {
                StatusCode::NO_CONTENT
            } else {
                StatusCode::UNAUTHORIZED
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| CliError::other(format!("the demo's receiver: {e}")))?;
    let addr = listener.local_addr().map_err(CliError::internal)?;
    let stop = CancellationToken::new();
    let cancel = stop.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { cancel.cancelled().await })
            .await
    });

    // The outbox, the default policy, the signed POST: one dispatcher step.
    store
        .redeliver(
            &Redeliver::Event {
                event_id: last.event.event_id.clone(),
                destinations: vec![DESTINATION.to_owned()],
            },
            now,
        )
        .await
        .map_err(failed)?;
    let url = format!("http://{addr}/hooks/ontime")
        .parse()
        .map_err(CliError::internal)?;
    let mut endpoint = WebhookEndpoint::new(url, SigningKeys::single(secret));
    endpoint.allow_private = true;
    let sink = WebhookSink::new(endpoint, Frozen(now))
        .map_err(|e| CliError::other(format!("the demo's webhook: {e}")))?;
    let redactor = Redactor::new(RedactionPolicy::default(), None)
        .map_err(|e| CliError::internal(format!("the default policy: {e}")))?;
    let mut dispatcher = Dispatcher::new(
        store.clone(),
        sink,
        redactor.clone(),
        DispatchSettings::new(DESTINATION, "demo"),
    )
    .with_seed(seed);
    let report = dispatcher.step(now).await.map_err(failed)?;
    stop.cancel();
    let _ = server.await;

    let Some((headers, body)) = captured.lock().ok().and_then(|mut c| c.take()) else {
        return Err(CliError::other("the demo's receiver got no request"));
    };
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_owned()
    };
    let signature = header("webhook-signature");
    let short = format!("{}…", &signature[..signature.len().min(20)]);
    let verdict = match verifier.verify(&headers, &body, now) {
        Ok(_) => {
            "signature valid (HMAC-SHA256 over id.timestamp.body, the receiver's secret)".to_owned()
        }
        Err(e) => format!("signature INVALID: {e}"),
    };
    tour.say(format!(
        "Delivery: the order's last event, queued for a webhook endpoint, rendered through the\n\
         default redaction policy, signed (Standard Webhooks) and posted to a receiver on\n\
         127.0.0.1 that verifies it ({} delivered):\n  \
         POST /hooks/ontime\n  webhook-id:        {}\n  webhook-timestamp: {}\n  \
         webhook-signature: {short}\n  → {verdict}",
        report.counts.delivered,
        header("webhook-id"),
        header("webhook-timestamp"),
    ));
    let sent: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| CliError::internal(format!("body: {e}")))?;
    tour.code(&serde_json::to_string_pretty(&sent).map_err(CliError::internal)?);
    let full = Redactor::new(RedactionPolicy::keep_all(), None)
        .map_err(|e| CliError::internal(format!("the keep-all policy: {e}")))?
        .render(&last.event);
    let mut removed = Vec::new();
    differences(&full, &sent, String::new(), &mut removed);
    tour.say(format!(
        "The default policy sends no personal data: it removed or changed {}",
        if removed.is_empty() {
            "nothing in this event (it holds none)".to_owned()
        } else {
            removed.join(", ")
        }
    ));
    Ok(())
}
