//! Tests of the error type: retryability, lost answers, messages, attempts and time taken.

use super::*;

#[test]
fn retryable_errors_are_the_transient_ones() {
    let server = |status| Error::Server {
        operation: Operation::OrdersGet,
        status,
        message: None,
        retry_after: None,
        retried: None,
    };
    assert!(server(502).is_retryable() && server(503).is_retryable() && server(504).is_retryable());
    assert!(!server(500).is_retryable());
    assert!(
        Error::RateLimited {
            operation: Operation::OrdersGet,
            retry_after: None,
            message: None,
            retried: None,
        }
        .is_retryable()
    );
    assert!(
        Error::Timeout {
            operation: Operation::OrdersGet,
            after: Duration::from_secs(1),
            retried: None,
        }
        .is_retryable()
    );
    assert!(
        !Error::Unauthorized {
            operation: Operation::OrdersGet,
            message: None
        }
        .is_retryable()
    );
    assert!(
        !Error::Forbidden {
            operation: Operation::OrdersGet,
            message: None
        }
        .is_retryable()
    );
    let decode = |truncated| Error::Decode {
        operation: Operation::OrdersGet,
        status: 200,
        path: ".".into(),
        message: String::new(),
        truncated,
        retried: None,
    };
    assert!(decode(true).is_retryable() && !decode(false).is_retryable());
}

#[test]
fn lost_answers_are_told_from_refusals_and_a_failed_create_names_its_id() {
    let timeout = Error::Timeout {
        operation: Operation::OrderPost,
        after: Duration::from_secs(1),
        retried: None,
    };
    let refused = Error::BadRequest {
        operation: Operation::OrderPost,
        message: Some("Bad weight".into()),
    };
    assert!(timeout.may_have_been_applied());
    assert!(!refused.may_have_been_applied());
    let id = uuid::Uuid::from_u128(7);
    let lost = Error::Save {
        id,
        source: Box::new(timeout),
    };
    assert_eq!(lost.posted_id(), Some(id));
    assert!(lost.is_retryable() && lost.may_have_been_applied());
    assert_eq!(lost.operation(), Some(Operation::OrderPost));
    assert!(lost.to_string().contains("may have been stored"), "{lost}");
    let rejected = Error::Save {
        id,
        source: Box::new(refused),
    };
    assert_eq!(rejected.status(), Some(400));
    assert!(
        rejected.to_string().contains("OnTime refused it")
            && rejected.to_string().contains(&id.to_string()),
        "{rejected}"
    );
    let ambiguous = Error::Ambiguous {
        what: "tracking number \"1000001\"".into(),
        candidates: vec![uuid::Uuid::from_u128(1), uuid::Uuid::from_u128(2)],
    };
    assert_eq!(
        ambiguous.to_string(),
        "tracking number \"1000001\" matches 2 records: 00000000-0000-0000-0000-000000000001, 00000000-0000-0000-0000-000000000002"
    );
}

#[test]
fn display_names_operation_status_and_message() {
    let e = Error::Forbidden {
        operation: Operation::OrdersGet,
        message: Some("Key scoped to another customer".into()),
    };
    assert_eq!(
        e.to_string(),
        "orders_get: the API key lacks permission for this (403): Key scoped to another customer"
    );
    assert_eq!(e.status(), Some(403));
    let e = Error::RateLimited {
        operation: Operation::OrdersFind,
        retry_after: Some(Duration::from_secs(30)),
        message: None,
        retried: None,
    };
    assert_eq!(
        e.to_string(),
        "orders_find: rate limited (429), retry after 30s"
    );
}

#[test]
fn final_errors_say_how_many_attempts_and_how_long() {
    let e = Error::Timeout {
        operation: Operation::OrdersGet,
        after: Duration::from_secs(2),
        retried: None,
    };
    assert_eq!(e.to_string(), "orders_get: no answer within 2s");
    let e = e.with_retried(Retried {
        attempts: 4,
        elapsed: Duration::from_millis(9_240),
    });
    assert_eq!(
        e.to_string(),
        "orders_get: no answer within 2s (gave up after 4 attempts in 9.2s)"
    );
    assert_eq!(e.retried().map(|r| r.attempts), Some(4));
    let not_retryable = Error::BadRequest {
        operation: Operation::OrdersGet,
        message: None,
    }
    .with_retried(Retried {
        attempts: 2,
        elapsed: Duration::ZERO,
    });
    assert_eq!(not_retryable.retried(), None);
}
