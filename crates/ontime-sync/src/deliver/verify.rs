//! The receiving side of Standard Webhooks v1: check that a request really comes from the
//! holder of a secret, recently, and notice when the same message arrives twice.
//!
//! # What a receiver does, in order
//!
//! 1. Keep the request body as the raw bytes that came off the wire. Frameworks that parse JSON
//!    and serialise it again change spacing and key order, and the signature no longer matches.
//! 2. Call [`Verifier::verify`] with the request's headers (an [`http::HeaderMap`], a slice or
//!    `Vec` of name/value pairs, or [`HeaderPairs`] built from any iterator of pairs), the raw
//!    body and the current time. It reads `webhook-id`, `webhook-timestamp` and
//!    `webhook-signature`, rejects a timestamp more than the tolerance (5 minutes by default)
//!    in the past or in the future, and accepts the request when any `v1,` entry of the
//!    signature header matches any of the configured secrets. The comparison takes the same
//!    time however many bytes match, and a signature of the wrong length (empty, truncated)
//!    never matches. Entries of other versions (`v1a,`, `v2,`) are skipped.
//! 3. Only then parse the body ([`VerifiedMessage::json`]).
//! 4. Use the message id as the idempotency key: the sender repeats the same id on every retry.
//!    A durable upsert by id (a primary key in the receiver's database) makes retries
//!    harmless. [`ReplayGuard`] is the in-memory complement: it remembers ids for as long as
//!    their timestamp stays acceptable, so a request captured and sent again within that window
//!    is recognised even before it reaches the database.
//!
//! Every failure is a [`VerifyError`] that says which check failed; none of them (and no
//! `Debug` output here) contains a secret.
//!
//! # Rotating secrets
//!
//! During a rotation the sender signs with the old and the new secret and puts both signatures
//! in the header. Give the verifier both secrets ([`Verifier::with_secret`]) for the grace
//! period; [`VerifiedMessage::secret_index`] says which one matched, so the receiver can tell
//! when the old one stops being used.
//!
//! # Example
//!
//! ```
//! use ontime_sync::deliver::signature::{WebhookSecret, signature_header};
//! use ontime_sync::deliver::verify::{ReplayGuard, Verifier, VerifyError};
//!
//! let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
//! let verifier = Verifier::new(secret.clone());
//! let body = br#"{"event_id":"evt_1","type":"order.delivered"}"#;
//! let now = chrono::Utc::now();
//! let headers = vec![
//!     ("webhook-id", "evt_1".to_string()),
//!     ("webhook-timestamp", now.timestamp().to_string()),
//!     ("webhook-signature", signature_header([&secret], "evt_1", now.timestamp(), body)),
//! ];
//! let message = verifier.verify(&headers, body, now).unwrap();
//! assert_eq!(message.id(), "evt_1");
//!
//! let mut replays = ReplayGuard::new(verifier.tolerance(), 10_000);
//! assert!(replays.first_time(&message, now));
//! assert!(!replays.first_time(&message, now)); // the same id again: a replay
//!
//! // One byte changed after signing: rejected before anything reads the body.
//! let err = verifier.verify(&headers, br#"{"event_id":"evt_2","type":"order.delivered"}"#, now);
//! assert_eq!(err.unwrap_err(), VerifyError::NoValidSignature);
//! ```

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use hmac::Mac as _;

use super::signature::{ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookSecret};

/// The clock difference the reference libraries accept, both ways: 5 minutes.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// The length of an HMAC-SHA256 tag; a `v1` signature of any other length never matches.
const TAG_LEN: usize = 32;

/// Headers a webhook request can be verified from. Names are looked up in lower case
/// (`webhook-id`); implementations compare them without regard to case.
pub trait WebhookHeaders {
    /// The raw value of the first header called `name`, if there is one.
    fn header(&self, name: &str) -> Option<&[u8]>;
}

impl WebhookHeaders for http::HeaderMap {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.get(name).map(http::HeaderValue::as_bytes)
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>> WebhookHeaders for [(K, V)] {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|(key, _)| key.as_ref().trim().eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_ref())
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>> WebhookHeaders for Vec<(K, V)> {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.as_slice().header(name)
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>, const N: usize> WebhookHeaders for [(K, V); N] {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.as_slice().header(name)
    }
}

impl<T: WebhookHeaders + ?Sized> WebhookHeaders for &T {
    fn header(&self, name: &str) -> Option<&[u8]> {
        (**self).header(name)
    }
}

/// The three Standard Webhooks headers taken from any iterator of name/value pairs (a
/// framework's header list, a parsed capture), keeping the first value of each.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeaderPairs {
    id: Option<Vec<u8>>,
    timestamp: Option<Vec<u8>>,
    signature: Option<Vec<u8>>,
}

impl HeaderPairs {
    /// Picks `webhook-id`, `webhook-timestamp` and `webhook-signature` out of `pairs` (names in
    /// any case); other headers are dropped.
    pub fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: AsRef<str>,
        V: AsRef<[u8]>,
    {
        let mut headers = Self::default();
        for (name, value) in pairs {
            let name = name.as_ref().trim();
            let slot = if name.eq_ignore_ascii_case(ID_HEADER) {
                &mut headers.id
            } else if name.eq_ignore_ascii_case(TIMESTAMP_HEADER) {
                &mut headers.timestamp
            } else if name.eq_ignore_ascii_case(SIGNATURE_HEADER) {
                &mut headers.signature
            } else {
                continue;
            };
            if slot.is_none() {
                *slot = Some(value.as_ref().to_vec());
            }
        }
        headers
    }
}

impl WebhookHeaders for HeaderPairs {
    fn header(&self, name: &str) -> Option<&[u8]> {
        let slot = if name.eq_ignore_ascii_case(ID_HEADER) {
            &self.id
        } else if name.eq_ignore_ascii_case(TIMESTAMP_HEADER) {
            &self.timestamp
        } else if name.eq_ignore_ascii_case(SIGNATURE_HEADER) {
            &self.signature
        } else {
            return None;
        };
        slot.as_deref()
    }
}

/// Why a request did not verify. The messages name the check and the header, never a secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A required header is absent (its name).
    #[error("the {0} header is missing")]
    MissingHeader(&'static str),
    /// A header is present but unusable: empty, or not printable ASCII (its name).
    #[error("the {0} header is malformed (empty or not printable ASCII)")]
    MalformedHeader(&'static str),
    /// `webhook-timestamp` is not a whole number of seconds since 1970.
    #[error("the webhook-timestamp header is not Unix seconds")]
    BadTimestamp,
    /// The timestamp is further in the past than the tolerance allows.
    #[error("the webhook-timestamp is {age_secs} s old (tolerance {tolerance_secs} s)")]
    TooOld {
        /// How many seconds before `now` the message was signed.
        age_secs: u64,
        /// The tolerance in force, in seconds.
        tolerance_secs: u64,
    },
    /// The timestamp is further in the future than the tolerance allows.
    #[error("the webhook-timestamp is {ahead_secs} s in the future (tolerance {tolerance_secs} s)")]
    TooNew {
        /// How many seconds after `now` the timestamp lies.
        ahead_secs: u64,
        /// The tolerance in force, in seconds.
        tolerance_secs: u64,
    },
    /// The signature header has no `v1,` entry (only other versions, or nothing usable).
    #[error("the webhook-signature header has no v1 signature")]
    NoV1Signature,
    /// There are `v1,` entries but none matches the body under any configured secret.
    #[error("no signature matches (wrong secret, or the id, timestamp or body was changed)")]
    NoValidSignature,
}

impl VerifyError {
    /// Whether the request itself is unusable (a header missing or malformed) rather than
    /// signed wrongly or too late: the first is a client error to fix, the second a refusal.
    pub fn is_malformed(&self) -> bool {
        matches!(
            self,
            Self::MissingHeader(_) | Self::MalformedHeader(_) | Self::BadTimestamp
        )
    }

    /// Whether the timestamp was outside the tolerance (a slow retry or a clock problem).
    pub fn is_timestamp(&self) -> bool {
        matches!(self, Self::TooOld { .. } | Self::TooNew { .. })
    }
}

/// A request whose signature checked out: its id, timestamp and body (still raw).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedMessage<'a> {
    id: String,
    timestamp: i64,
    body: &'a [u8],
    secret_index: usize,
}

impl<'a> VerifiedMessage<'a> {
    /// The `webhook-id`: the event's id, the same on every retry. Use it as the idempotency key.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The `webhook-timestamp` in Unix seconds (when this attempt was signed).
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }

    /// The timestamp as a UTC time.
    pub fn signed_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.timestamp, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// The verified raw body.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The position (from 0, in the order given to the [`Verifier`]) of the secret whose
    /// signature matched.
    pub fn secret_index(&self) -> usize {
        self.secret_index
    }

    /// The body parsed as JSON, now that it is known to be authentic.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(self.body)
    }
}

/// Checks Standard Webhooks signatures with one or several secrets and a timestamp tolerance.
/// Its `Debug` output shows how many secrets it holds, never their bytes.
#[derive(Clone)]
pub struct Verifier {
    secrets: Vec<WebhookSecret>,
    tolerance: Duration,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("secrets", &self.secrets.len())
            .field("tolerance", &self.tolerance)
            .finish()
    }
}

impl Verifier {
    /// A verifier for one secret, with the default tolerance of 5 minutes.
    pub fn new(secret: WebhookSecret) -> Self {
        Self {
            secrets: vec![secret],
            tolerance: DEFAULT_TOLERANCE,
        }
    }

    /// Accepts signatures made with `secret` too (during a rotation).
    pub fn with_secret(mut self, secret: WebhookSecret) -> Self {
        self.secrets.push(secret);
        self
    }

    /// Sets how far the timestamp may lie from `now`, in the past and in the future (whole
    /// seconds count; the default is [`DEFAULT_TOLERANCE`]).
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// The tolerance in force.
    pub fn tolerance(&self) -> Duration {
        self.tolerance
    }

    /// How many secrets are accepted.
    pub fn secret_count(&self) -> usize {
        self.secrets.len()
    }

    /// Verifies a request: its headers, its raw body exactly as received, and the current
    /// time. The body is not parsed here; parse it from the returned message.
    pub fn verify<'a, H: WebhookHeaders + ?Sized>(
        &self,
        headers: &H,
        body: &'a [u8],
        now: DateTime<Utc>,
    ) -> Result<VerifiedMessage<'a>, VerifyError> {
        let id = required(headers, ID_HEADER)?;
        let timestamp_text = required(headers, TIMESTAMP_HEADER)?;
        let signatures = required(headers, SIGNATURE_HEADER)?;
        let timestamp = parse_timestamp(timestamp_text)?;
        self.check_time(timestamp, now)?;

        let candidates: Vec<&str> = signatures
            .split_ascii_whitespace()
            .filter_map(|entry| entry.split_once(','))
            .filter(|(version, _)| *version == "v1")
            .map(|(_, signature)| signature)
            .collect();
        if candidates.is_empty() {
            return Err(VerifyError::NoV1Signature);
        }
        // Decoded once; an entry that is not base64 or not 32 bytes long can never match.
        let tags: Vec<Vec<u8>> = candidates
            .iter()
            .filter_map(|text| STANDARD.decode(text).ok())
            .filter(|tag| tag.len() == TAG_LEN)
            .collect();
        for (index, secret) in self.secrets.iter().enumerate() {
            let mac = secret.mac(id, timestamp, body);
            // Every tag is compared in constant time (`verify_slice` also refuses a tag of
            // another length); no early exit on the first mismatching byte.
            if tags.iter().any(|tag| mac.clone().verify_slice(tag).is_ok()) {
                return Ok(VerifiedMessage {
                    id: id.to_owned(),
                    timestamp,
                    body,
                    secret_index: index,
                });
            }
        }
        Err(VerifyError::NoValidSignature)
    }

    /// [`verify`](Self::verify) against the system clock.
    pub fn verify_now<'a, H: WebhookHeaders + ?Sized>(
        &self,
        headers: &H,
        body: &'a [u8],
    ) -> Result<VerifiedMessage<'a>, VerifyError> {
        self.verify(headers, body, Utc::now())
    }

    fn check_time(&self, timestamp: i64, now: DateTime<Utc>) -> Result<(), VerifyError> {
        let tolerance_secs = self.tolerance.as_secs();
        let difference = i128::from(now.timestamp()) - i128::from(timestamp);
        let clamp = |d: i128| u64::try_from(d).unwrap_or(u64::MAX);
        if difference > i128::from(tolerance_secs) {
            Err(VerifyError::TooOld {
                age_secs: clamp(difference),
                tolerance_secs,
            })
        } else if -difference > i128::from(tolerance_secs) {
            Err(VerifyError::TooNew {
                ahead_secs: clamp(-difference),
                tolerance_secs,
            })
        } else {
            Ok(())
        }
    }
}

/// A header's value as text: present, non-empty, printable ASCII.
fn required<'h, H: WebhookHeaders + ?Sized>(
    headers: &'h H,
    name: &'static str,
) -> Result<&'h str, VerifyError> {
    let raw = headers
        .header(name)
        .ok_or(VerifyError::MissingHeader(name))?;
    let text = std::str::from_utf8(raw)
        .ok()
        .filter(|text| text.bytes().all(|b| (b' '..=b'~').contains(&b)))
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .ok_or(VerifyError::MalformedHeader(name))?;
    Ok(text)
}

/// Unix seconds in the canonical form the sender signed: ASCII digits only. A sign, spaces
/// inside or a fraction would sign differently from how they parse, so they are refused.
fn parse_timestamp(text: &str) -> Result<i64, VerifyError> {
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VerifyError::BadTimestamp);
    }
    text.parse::<i64>().map_err(|_| VerifyError::BadTimestamp)
}

/// Remembers the ids of verified messages for as long as a copy of them could still pass the
/// timestamp check, to recognise replays. Memory is bounded: at most `capacity` ids are kept;
/// when full, the id closest to expiring is forgotten first (so size `capacity` above the
/// number of messages a receiver accepts within twice the tolerance).
///
/// This is not the durable idempotency a receiver needs (a retry after the window, or after a
/// restart, carries the same id again): upsert by [`VerifiedMessage::id`] for that.
#[derive(Debug)]
pub struct ReplayGuard {
    window: i64,
    capacity: usize,
    /// id → the Unix second after which it is forgotten.
    expiry: HashMap<String, i64>,
    /// The same entries ordered by expiry, to prune and evict the oldest first.
    by_expiry: BTreeSet<(i64, String)>,
}

impl ReplayGuard {
    /// A guard that keeps ids for `window` past their timestamp (give it the verifier's
    /// tolerance) and holds at most `capacity` ids (at least 1).
    pub fn new(window: Duration, capacity: usize) -> Self {
        Self {
            window: i64::try_from(window.as_secs()).unwrap_or(i64::MAX),
            capacity: capacity.max(1),
            expiry: HashMap::new(),
            by_expiry: BTreeSet::new(),
        }
    }

    /// Records a verified message; `true` the first time its id is seen within the window,
    /// `false` for a replay.
    pub fn first_time(&mut self, message: &VerifiedMessage<'_>, now: DateTime<Utc>) -> bool {
        self.first_time_id(message.id(), message.timestamp(), now)
    }

    /// [`first_time`](Self::first_time) by id and timestamp (Unix seconds): for a receiver that
    /// verified some other way. Feed it only ids whose signature checked out, or anyone can
    /// fill it.
    pub fn first_time_id(&mut self, id: &str, timestamp: i64, now: DateTime<Utc>) -> bool {
        self.prune(now);
        if self.expiry.contains_key(id) {
            return false;
        }
        // Until the later of "now" and the timestamp, plus the window: past that the verifier
        // refuses this timestamp as too old.
        let until = timestamp.max(now.timestamp()).saturating_add(self.window);
        while self.expiry.len() >= self.capacity {
            match self.by_expiry.pop_first() {
                Some((_, oldest)) => {
                    self.expiry.remove(&oldest);
                }
                None => break,
            }
        }
        self.expiry.insert(id.to_owned(), until);
        self.by_expiry.insert((until, id.to_owned()));
        true
    }

    /// Forgets an id: call it when handling the message failed, so the sender's retry is
    /// processed rather than taken for a replay.
    pub fn forget(&mut self, id: &str) {
        if let Some(until) = self.expiry.remove(id) {
            self.by_expiry.remove(&(until, id.to_owned()));
        }
    }

    /// How many ids are remembered now.
    pub fn len(&self) -> usize {
        self.expiry.len()
    }

    /// Whether no id is remembered.
    pub fn is_empty(&self) -> bool {
        self.expiry.is_empty()
    }

    fn prune(&mut self, now: DateTime<Utc>) {
        let now = now.timestamp();
        while let Some((until, _)) = self.by_expiry.first() {
            if *until >= now {
                break;
            }
            if let Some((_, id)) = self.by_expiry.pop_first() {
                self.expiry.remove(&id);
            }
        }
    }
}
