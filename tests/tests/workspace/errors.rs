//! How the raw client reports OnTime's faults: the statuses and bodies the facade builds its one
//! error type from.

use crate::support;

use ontime_raw::Error;
use serde_json::json;
use support::{exchange, json_reply};
use uuid::Uuid;
use wiremock::ResponseTemplate;

const ID: Uuid = Uuid::from_u128(7);

#[tokio::test]
async fn documented_faults_decode_into_the_fault_type_with_their_status() {
    for (status, message) in [
        (
            400u16,
            "The request is invalid: TrackingNumber is too long.",
        ),
        (401, "Authorization has been denied for this request."),
        (403, "The key does not have permission to read Orders."),
        (404, "No Order has this identifier."),
        (429, "Daily request limit exceeded."),
        (503, "Service unavailable."),
    ] {
        let reply = json_reply(status, &json!({"Message": message}));
        let (_, result) =
            exchange(reply, |c| async move { c.orders_get().id(ID).send().await }).await;
        match result {
            Err(Error::ErrorResponse(fault)) => {
                assert_eq!(fault.status().as_u16(), status);
                assert_eq!(fault.message.as_deref(), Some(message));
            }
            other => panic!("{status}: expected a typed fault, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn rate_limit_headers_stay_readable_on_faults() {
    let reply = json_reply(429, &json!({"Message": "Too many requests"}))
        .insert_header("Retry-After", "120")
        .insert_header("X-RateLimit-Remaining-Daily", "0");
    let (_, result) = exchange(reply, |c| async move { c.orders_find().send().await }).await;
    let Err(Error::ErrorResponse(fault)) = result else {
        panic!("expected a typed 429")
    };
    assert_eq!(fault.headers()["retry-after"], "120");
    assert_eq!(fault.headers()["x-ratelimit-remaining-daily"], "0");
}

#[tokio::test]
async fn html_error_pages_keep_their_bytes_for_the_caller() {
    let page = "<html><body><h1>502 Bad Gateway</h1></body></html>";
    let reply = ResponseTemplate::new(502).set_body_raw(page.as_bytes().to_vec(), "text/html");
    let (_, result) = exchange(reply, |c| async move { c.orders_get().id(ID).send().await }).await;
    match result {
        Err(Error::InvalidResponsePayload(bytes, _)) => assert_eq!(&bytes[..], page.as_bytes()),
        other => panic!("expected the undecodable body back, got {other:?}"),
    }
}

#[tokio::test]
async fn a_json_string_fault_body_is_not_lost() {
    let reply = json_reply(400, &json!("TrackingNumber is too long."));
    let (_, result) = exchange(reply, |c| async move { c.orders_get().id(ID).send().await }).await;
    match result {
        Err(Error::InvalidResponsePayload(bytes, _)) => {
            assert_eq!(&bytes[..], br#""TrackingNumber is too long.""#)
        }
        other => panic!("expected the raw body back, got {other:?}"),
    }
}

#[tokio::test]
async fn undeclared_statuses_are_unexpected_responses() {
    let reply = ResponseTemplate::new(409);
    let (_, result) = exchange(reply, |c| async move { c.orders_get().id(ID).send().await }).await;
    match result {
        Err(Error::UnexpectedResponse(response)) => assert_eq!(response.status().as_u16(), 409),
        other => panic!("expected an unexpected response, got {other:?}"),
    }
}

#[tokio::test]
async fn a_success_body_that_does_not_match_fails_with_the_type_and_position_named() {
    let reply = json_reply(200, &json!({"StatusLevel": {"nested": true}}));
    let (_, result) = exchange(reply, |c| async move { c.orders_get().id(ID).send().await }).await;
    match result {
        Err(Error::InvalidResponsePayload(_, error)) => {
            let text = error.to_string();
            assert!(
                text.contains("StatusLevel code (integer) or name"),
                "{text}"
            );
            assert!(text.contains("column 16"), "{text}");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
}

/// (operation, status, X-RateLimit-Remaining-Daily) of each exchange.
type Exchange = (String, Option<u16>, Option<String>);

#[derive(Default)]
struct Seen(std::sync::Mutex<Vec<Exchange>>);

impl ontime_raw::hooks::Observer for Seen {
    fn on_response(
        &self,
        operation: ontime_raw::index::Operation,
        outcome: ontime_raw::hooks::Outcome<'_>,
        _elapsed: std::time::Duration,
    ) {
        let (status, remaining) = match outcome {
            ontime_raw::hooks::Outcome::Response { status, headers } => (
                Some(status.as_u16()),
                headers
                    .get("x-ratelimit-remaining-daily")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string),
            ),
            ontime_raw::hooks::Outcome::Transport(_) => (None, None),
        };
        self.0
            .lock()
            .unwrap()
            .push((operation.client_method().to_string(), status, remaining));
    }
}

#[tokio::test]
async fn the_observer_sees_every_exchange_with_its_operation_and_headers() {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(
            json_reply(404, &json!({"Message": "gone"}))
                .insert_header("X-RateLimit-Remaining-Daily", "41"),
        )
        .mount(&server)
        .await;
    let seen = std::sync::Arc::new(Seen::default());
    let client = support::client_with(&server, ontime_raw::Hooks::new().observer(seen.clone()));
    let result = client.orders_get().id(ID).send().await;
    assert!(matches!(result, Err(Error::ErrorResponse(_))));
    assert_eq!(
        *seen.0.lock().unwrap(),
        vec![("orders_get".to_string(), Some(404), Some("41".to_string()))]
    );
}
