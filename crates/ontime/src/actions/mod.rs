//! Operations beyond get/find/save: order actions, attachments, reports, signatures, status
//! timelines, user availability and positions, authentication and lookups by natural key.
//!
//! One module per resource: `orders` (and its submodules), `attachments`, `users`,
//! `lookups`. This file holds the write helpers they share.

mod attachments;
mod lookups;
mod orders;
mod users;

pub use attachments::Attachment;
pub use orders::{
    CodRequirement, Document, OrderRef, ReportKind, SignatureRequirement, StatusChange,
};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use ontime_raw::index::Operation;

use crate::{Error, Result};

/// OnTime answers some writes with a bare `true`/`false`; `false` means it did not apply the
/// change, which this library reports as [`Error::BadRequest`] naming what was refused.
fn applied(operation: Operation, answer: bool, what: impl FnOnce() -> String) -> Result<()> {
    if answer {
        Ok(())
    } else {
        Err(Error::BadRequest {
            operation,
            message: Some(format!("OnTime answered false: {} was not applied", what())),
        })
    }
}

/// What a follow-up read found out about a write whose answer was lost.
pub(crate) enum Probe<T> {
    /// The write is in OnTime's state (with what the answer would have said).
    Applied(T),
    /// The write is not there.
    NotApplied,
}

/// Sends a write that is not safe to repeat blindly, and resolves a lost answer by reading.
///
/// When `send` fails in a way that may have left the write applied
/// ([`Error::may_have_been_applied`]), `probe` reads OnTime's state: applied means success (the
/// answer is rebuilt from what was read); not applied after a dropped connection or a failing
/// gateway (5xx) means the request did not take effect, so it is sent once more and resolved
/// again the same way. A timeout, or a success status with a body that did not decode, that is
/// not found applied is [`Error::OutcomeUnknown`]: the request may still be running at the
/// server. So is any loss the read itself cannot resolve (the read fails).
pub(crate) async fn send_resolved<T, S, SFut, P, PFut>(
    operation: Operation,
    sent: impl Fn() -> String,
    mut send: S,
    mut probe: P,
) -> Result<T>
where
    S: FnMut() -> SFut,
    SFut: std::future::Future<Output = Result<T>>,
    P: FnMut() -> PFut,
    PFut: std::future::Future<Output = Result<Probe<T>>>,
{
    const SENDS: u32 = 2;
    let mut sends = 0;
    loop {
        sends += 1;
        let error = match send().await {
            Ok(value) => return Ok(value),
            Err(error) if !error.may_have_been_applied() => return Err(error),
            Err(error) => error,
        };
        tracing::warn!(operation = operation.client_method(), error = %error, "the answer of a write was lost; reading to see whether it was applied");
        match probe().await {
            Ok(Probe::Applied(value)) => {
                tracing::info!(
                    operation = operation.client_method(),
                    "the write was applied (its answer was lost)"
                );
                return Ok(value);
            }
            // Not found after a timeout (the request may still be running at the server) or
            // after a success status whose body did not decode (the server did act on it):
            // not proof enough to send it again.
            Ok(Probe::NotApplied)
                if !matches!(error, Error::Transport { .. } | Error::Server { .. }) =>
            {
                return Err(Error::OutcomeUnknown {
                    operation,
                    sent: sent(),
                    source: Box::new(error),
                    check: None,
                });
            }
            Ok(Probe::NotApplied) if sends < SENDS => {
                tracing::warn!(
                    operation = operation.client_method(),
                    "the write was not applied; sending it again"
                );
            }
            Ok(Probe::NotApplied) => return Err(error),
            Err(check) => {
                return Err(Error::OutcomeUnknown {
                    operation,
                    sent: sent(),
                    source: Box::new(error),
                    check: Some(Box::new(check)),
                });
            }
        }
    }
}

fn decode_base64(operation: Operation, text: &str) -> Result<Bytes> {
    BASE64
        .decode(text.trim())
        .map(Bytes::from)
        .map_err(|e| Error::Decode {
            operation,
            status: 200,
            path: ".".into(),
            message: format!("not valid base64: {e}"),
            truncated: false,
            retried: None,
        })
}
