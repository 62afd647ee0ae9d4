//! The NATS JetStream destination: every event as one message in a stream, deduplicated by
//! event id, for internal consumers that want a replayable, fan-out stream.
//!
//! [`NatsSink`] implements [`Sink`]: it connects on first use (or on
//! [`NatsSink::ensure_ready`]), makes sure the stream exists, and publishes each delivery's
//! rendered body with the header `Nats-Msg-Id` set to the event's id. A delivery is
//! [`Outcome::Delivered`] only once the server's PubAck for it arrived, which JetStream sends
//! after the message is stored; a PubAck that says `duplicate` (the stream already holds that
//! id) counts as delivered too. Anything else (no connection, no stream, timeout, an error
//! answer) is [`Outcome::Retry`] with the reason, never a panic and never a wait longer than
//! the configured timeouts (after a failed connect, sends within `connect_timeout` fail at once
//! with the same reason instead of each waiting for a connect of its own).
//!
//! # Subjects
//!
//! ```text
//! {prefix}.{account}.{event type}.{id}
//! ```
//!
//! - `prefix`: [`NatsConfig::subject_prefix`], default `ontime` (one or more tokens).
//! - `account`: the OnTime account's name, escaped into one token (see below).
//! - `event type`: the dotted type name, which is two tokens already (`order.delivered`,
//!   `item.custody_changed`, `driver.position`).
//! - `id`: what the event's per-subject sequence counts, as the *rendered body's* `subject`
//!   field names it (the part after `order:` or `driver:`): the order's GUID for order and item
//!   events, the driver's GUID for driver events — or, when the destination's redaction policy
//!   pseudonymises driver ids, the same pseudonym the body carries. The raw event is never used
//!   for this token, so a subject never reveals what the body hides. A body whose policy drops
//!   the `subject` field gets `_` here.
//!
//! Examples, with the default prefix and an account `acme`:
//!
//! | subject | what it is |
//! | --- | --- |
//! | `ontime.acme.order.delivered.3f2c1a7e-0000-4000-8000-000000000001` | one delivery |
//! | `ontime.acme.item.custody_changed.3f2c1a7e-0000-4000-8000-000000000001` | a parcel of that order changed hands |
//! | `ontime.acme.driver.position.psn_k3j…` | a driver's position (pseudonymised id) |
//!
//! and the filters consumers use:
//!
//! | filter | selects |
//! | --- | --- |
//! | `ontime.acme.>` | everything of account `acme` |
//! | `ontime.acme.order.>` | `acme`'s order events (not item or driver events) |
//! | `ontime.*.order.delivered.*` | deliveries in every account |
//! | `ontime.acme.*.*.3f2c1a7e-0000-4000-8000-000000000001` | every event of one order (order and item events) |
//!
//! **Escaping.** A NATS token must not be empty and must not contain `.`, `*`, `>` or white
//! space. Account names (and ids, though GUIDs and pseudonyms never need it) are escaped by
//! [`subject_token`]: ASCII letters, digits, `-` and `_` stay as they are; every other byte of
//! the UTF-8 text becomes `%` and two upper-case hex digits (so `%` itself becomes `%25`). The
//! rule is reversible and leaves ordinary names unchanged: `acme` → `acme`,
//! `North Sea Couriers` → `North%20Sea%20Couriers`, `a.b` → `a%2Eb`, `Zürich` →
//! `Z%C3%BCrich`. An empty name is an error ([`SubjectError::EmptyToken`]).
//!
//! # Stream and duplicate window
//!
//! When the stream [`NatsConfig::stream`] does not exist, the sink creates it: subjects
//! `{prefix}.>`, file storage, duplicate window [`NatsConfig::duplicate_window`], and
//! [`NatsConfig::max_age`] if set (otherwise messages are kept until an operator limits the
//! stream). An existing stream is used as it is, after checking that its subjects cover
//! `{prefix}.>` (otherwise [`NatsError::StreamSubjects`]); a duplicate window shorter than the
//! configured one is logged as a warning, not changed (the stream belongs to its operator).
//!
//! JetStream drops a message whose `Nats-Msg-Id` it has seen within the stream's duplicate
//! window. The window must outlast the time between a publish and its repetition:
//!
//! - a dispatcher that published and was killed before it recorded the outcome: its claim runs
//!   out (the dispatcher's claim TTL, a few minutes at most) and another dispatcher, or the
//!   restarted one, publishes again;
//! - a PubAck lost on the way back (a timeout after the server stored the message): the retry
//!   schedule publishes again after 5 s, 5 min, 30 min, ...
//!
//! The default, **2 hours**, covers the first with a wide margin (a restart may take an hour)
//! and the second through the first three retries (35 minutes in all). JetStream's own default,
//! 2 minutes, is shorter than a claim TTL plus a restart. A longer window costs server memory
//! (one id per message published within it): raise it if dispatchers may stay down longer.
//! Beyond the window a repetition is stored twice; consumers should deduplicate by `event_id`
//! anyway (delivery is at least once).
//!
//! # Order
//!
//! A batch is published pipelined on one connection (every message sent, then the PubAcks
//! awaited), and JetStream stores the messages of one connection in the order they were sent.
//! When one message of a batch fails and a later one of the same order succeeds, the stream
//! holds them out of order: dispatchers keep per-order order by claiming ordered (one waiting
//! event per subject). Every event also carries its per-order `sequence`.
//!
//! # Configuration (`sync.toml`)
//!
//! ```toml
//! url = "nats://127.0.0.1:4222"
//! stream = "ONTIME_EVENTS"
//! subject_prefix = "ontime"                       # default
//! duplicate_window = "2h"                         # default
//! credentials_file = "/etc/ontime/nats.creds"     # optional: never the secret inline
//! ```
//!
//! Credentials go in a NATS credentials file (user JWT and NKey seed); a URL with a user,
//! password or token in it is refused ([`NatsError::Config`]).

use std::borrow::Cow;
use std::fmt;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_nats::jetstream::context::{
    CreateStreamErrorKind, GetStreamErrorKind, PublishAckFuture, PublishErrorKind,
};
use async_nats::jetstream::stream::{Config as StreamConfig, StorageType};
use async_nats::jetstream::{self, Context, ErrorCode};
use async_nats::{ConnectOptions, ServerAddr};
use futures::StreamExt as _;
use futures::stream::FuturesOrdered;
use serde::{Deserialize, Deserializer};
use tokio::sync::OnceCell;

use super::{Delivery, Outcome, Sink};

/// The header JetStream deduplicates by.
pub const MSG_ID_HEADER: &str = "Nats-Msg-Id";

/// The subject prefix when none is configured.
pub const DEFAULT_SUBJECT_PREFIX: &str = "ontime";

/// The duplicate window when none is configured (see the module docs for why 2 hours).
pub const DEFAULT_DUPLICATE_WINDOW: Duration = Duration::from_secs(2 * 60 * 60);

/// The connect and ack timeouts when none are configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// PubAcks one `send` waits for at most at a time; the next message is sent when the oldest
/// outstanding one is acknowledged.
const WINDOW: usize = 1024;

/// PubAcks outstanding on one connection, across concurrent `send`s. Far above what the
/// dispatchers' batches reach; a publish beyond it fails (that delivery is retried) instead
/// of waiting for permits.
const MAX_ACK_INFLIGHT: usize = 1 << 16;

/// Where and how to publish (one `[[nats]]` destination's connection and stream settings).
///
/// Deserialised from TOML or JSON; unknown keys are errors. Durations are written like `"90s"`,
/// `"5m"`, `"2h"`. The destination's name, event-type filter and redaction policy belong to the
/// destination entry that holds this, not here.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsConfig {
    /// The server, e.g. `nats://127.0.0.1:4222` (`tls://` for TLS). No user, password or token
    /// in it: use [`credentials_file`](Self::credentials_file).
    pub url: String,
    /// The JetStream stream's name (created when absent).
    pub stream: String,
    /// The first token(s) of every subject (default `ontime`).
    #[serde(default = "default_prefix")]
    pub subject_prefix: String,
    /// How long JetStream remembers a `Nats-Msg-Id` (default 2 h; see the module docs).
    #[serde(
        default = "default_duplicate_window",
        deserialize_with = "human_duration"
    )]
    pub duplicate_window: Duration,
    /// The longest a message stays in a stream this sink creates (default: no limit).
    #[serde(default, deserialize_with = "optional_human_duration")]
    pub max_age: Option<Duration>,
    /// A NATS credentials file (user JWT and NKey seed), read at connect.
    #[serde(default)]
    pub credentials_file: Option<PathBuf>,
    /// Bound on establishing the connection (default 5 s).
    #[serde(default = "default_timeout", deserialize_with = "human_duration")]
    pub connect_timeout: Duration,
    /// Bound on each JetStream request and on waiting for a PubAck (default 5 s).
    #[serde(default = "default_timeout", deserialize_with = "human_duration")]
    pub ack_timeout: Duration,
}

fn default_prefix() -> String {
    DEFAULT_SUBJECT_PREFIX.to_owned()
}

fn default_duplicate_window() -> Duration {
    DEFAULT_DUPLICATE_WINDOW
}

fn default_timeout() -> Duration {
    DEFAULT_TIMEOUT
}

fn human_duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(deserializer)?;
    humantime::parse_duration(text.trim()).map_err(|e| {
        serde::de::Error::custom(format!(
            "not a duration like \"90s\", \"5m\" or \"2h\": {e}"
        ))
    })
}

fn optional_human_duration<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    human_duration(deserializer).map(Some)
}

impl NatsConfig {
    /// A configuration with the defaults for everything but the server and the stream.
    pub fn new(url: impl Into<String>, stream: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            stream: stream.into(),
            subject_prefix: default_prefix(),
            duplicate_window: DEFAULT_DUPLICATE_WINDOW,
            max_age: None,
            credentials_file: None,
            connect_timeout: DEFAULT_TIMEOUT,
            ack_timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The subjects the stream must cover: `{prefix}.>`.
    pub fn stream_subjects(&self) -> String {
        format!("{}.>", self.subject_prefix)
    }

    /// Checks what can be checked without a server: the URL parses and holds no credentials,
    /// the stream name and the prefix are valid, the durations are not zero.
    pub fn validate(&self) -> Result<(), NatsError> {
        let config = |field: &'static str, message: String| NatsError::Config { field, message };
        let addr: ServerAddr = self.url.parse().map_err(|e: std::io::Error| {
            config("url", format!("not a NATS server URL ({})", e.kind()))
        })?;
        if addr.username().is_some_and(|u| !u.is_empty())
            || addr.password().is_some_and(|p| !p.is_empty())
        {
            return Err(config(
                "url",
                "holds a user, password or token: put credentials in credentials_file".to_owned(),
            ));
        }
        if self.stream.is_empty()
            || self
                .stream
                .chars()
                .any(|c| c.is_whitespace() || matches!(c, '.' | '*' | '>' | '/' | '\\'))
        {
            return Err(config(
                "stream",
                format!(
                    "{:?} is not a stream name (non-empty, no white space, '.', '*', '>', '/', '\\')",
                    self.stream
                ),
            ));
        }
        if self.subject_prefix.split('.').any(|t| {
            t.is_empty()
                || t.chars()
                    .any(|c| c.is_whitespace() || matches!(c, '*' | '>'))
        }) {
            return Err(config(
                "subject_prefix",
                format!(
                    "{:?} is not a subject prefix (dot-separated non-empty tokens without white space, '*' or '>')",
                    self.subject_prefix
                ),
            ));
        }
        for (field, value) in [
            ("duplicate_window", self.duplicate_window),
            ("connect_timeout", self.connect_timeout),
            ("ack_timeout", self.ack_timeout),
        ] {
            if value.is_zero() {
                return Err(config(field, "must be longer than zero".to_owned()));
            }
        }
        if self.max_age.is_some_and(|age| age.is_zero()) {
            return Err(config(
                "max_age",
                "must be longer than zero (leave it out for no limit)".to_owned(),
            ));
        }
        Ok(())
    }
}

/// Why the sink could not connect or use its stream. Messages never hold credentials or bodies.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NatsError {
    /// A setting is invalid.
    #[error("nats.{field}: {message}")]
    Config {
        /// The setting.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The credentials file could not be read or parsed.
    #[error("reading the NATS credentials file {}: {source}", path.display())]
    Credentials {
        /// The file.
        path: PathBuf,
        /// The I/O or format error.
        source: std::io::Error,
    },
    /// The server could not be reached (or refused the connection) in time.
    #[error("connecting to NATS at {url}: {message}")]
    Connect {
        /// The server URL (holds no credentials: see [`NatsConfig::validate`]).
        url: String,
        /// What went wrong.
        message: String,
    },
    /// Looking up or creating the stream failed.
    #[error("JetStream stream {stream}: {message}")]
    Stream {
        /// The stream.
        stream: String,
        /// What went wrong.
        message: String,
    },
    /// The stream exists but does not take the sink's subjects.
    #[error("JetStream stream {stream} does not cover {wanted} (its subjects: {have:?})")]
    StreamSubjects {
        /// The stream.
        stream: String,
        /// The subjects the sink publishes to (`{prefix}.>`).
        wanted: String,
        /// The stream's subjects.
        have: Vec<String>,
    },
}

/// Why no subject could be made for a delivery.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubjectError {
    /// The rendered body is not a JSON object with (at most) a string `subject`.
    #[error("the rendered body is not an event object: {0}")]
    Body(String),
    /// A token would be empty (an empty account name or subject id).
    #[error("the {0} is empty: a NATS subject token cannot be")]
    EmptyToken(&'static str),
}

/// Escapes `raw` into one NATS subject token (see the module docs): ASCII letters, digits, `-`
/// and `_` stay; every other UTF-8 byte becomes `%XX` (upper-case hex). Borrowed when nothing
/// needed escaping.
pub fn subject_token(raw: &str) -> Cow<'_, str> {
    fn plain(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
    }
    if raw.bytes().all(plain) {
        return Cow::Borrowed(raw);
    }
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(raw.len() + 8);
    for b in raw.bytes() {
        if plain(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    Cow::Owned(out)
}

/// The fields of a rendered body the subject needs (the rest is skipped unparsed).
#[derive(Deserialize)]
struct Routing<'a> {
    #[serde(borrow, default)]
    subject: Option<Cow<'a, str>>,
}

/// The subject `delivery` is published to: `{prefix}.{account}.{event type}.{id}` (see the
/// module docs). The account and the type come from the event; the id from the *rendered
/// body's* `subject` field (the part after the first `:`), so a redacted body and its subject
/// agree; `_` when the body has no subject.
pub fn subject_for(prefix: &str, delivery: &Delivery) -> Result<String, SubjectError> {
    let routing: Routing<'_> =
        serde_json::from_slice(&delivery.body).map_err(|e| SubjectError::Body(e.to_string()))?;
    let account = &delivery.event.account;
    if account.is_empty() {
        return Err(SubjectError::EmptyToken("account name"));
    }
    let id = match routing.subject.as_deref() {
        None => Cow::Borrowed("_"),
        Some(subject) => {
            let id = subject.split_once(':').map_or(subject, |(_, id)| id);
            if id.is_empty() {
                return Err(SubjectError::EmptyToken("subject id"));
            }
            subject_token(id)
        }
    };
    let event_type = delivery.event.event_type.as_str();
    let account = subject_token(account);
    let mut out =
        String::with_capacity(prefix.len() + account.len() + event_type.len() + id.len() + 3);
    out.push_str(prefix);
    out.push('.');
    out.push_str(&account);
    out.push('.');
    out.push_str(event_type);
    out.push('.');
    out.push_str(&id);
    Ok(out)
}

/// Whether every subject `pattern` matches is matched by the stream subject `filter` (both may
/// hold `*` and `>`).
pub fn subject_covers(filter: &str, pattern: &str) -> bool {
    let filter: Vec<&str> = filter.split('.').collect();
    let pattern: Vec<&str> = pattern.split('.').collect();
    for (i, f) in filter.iter().enumerate() {
        if *f == ">" {
            return i < pattern.len();
        }
        let Some(p) = pattern.get(i) else {
            return false;
        };
        if *p == ">" || (*f != "*" && (*p == "*" || f != p)) {
            return false;
        }
    }
    filter.len() == pattern.len()
}

/// The JetStream destination (see the module docs).
pub struct NatsSink {
    config: NatsConfig,
    /// The connection, made once (a failed attempt is tried again by the next `send`); the
    /// client reconnects by itself afterwards.
    context: OnceCell<Context>,
    /// Whether the stream was found or created on this connection; cleared when a publish finds
    /// no stream (deleted meanwhile), so the next `send` creates it again.
    stream_ready: AtomicBool,
    /// When and why the last connect attempt failed: attempts within `connect_timeout` of it
    /// fail at once with the same reason, so concurrent sends to a down server do not queue up
    /// one connect timeout each.
    last_failure: Mutex<Option<(Instant, String)>>,
}

impl fmt::Debug for NatsSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsSink")
            .field("url", &self.config.url)
            .field("stream", &self.config.stream)
            .field("subject_prefix", &self.config.subject_prefix)
            .field("connected", &self.context.initialized())
            .finish_non_exhaustive()
    }
}

impl NatsSink {
    /// A sink for `config` (validated here; no I/O until the first send or
    /// [`ensure_ready`](Self::ensure_ready)).
    pub fn new(config: NatsConfig) -> Result<Self, NatsError> {
        config.validate()?;
        Ok(Self {
            config,
            context: OnceCell::new(),
            stream_ready: AtomicBool::new(false),
            last_failure: Mutex::new(None),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &NatsConfig {
        &self.config
    }

    /// The subject a delivery goes to ([`subject_for`] with this sink's prefix).
    pub fn subject_for(&self, delivery: &Delivery) -> Result<String, SubjectError> {
        subject_for(&self.config.subject_prefix, delivery)
    }

    /// Connects (if not connected yet) and makes sure the stream exists and covers the sink's
    /// subjects, creating it when absent. `send` does this itself; call it at startup to see a
    /// misconfiguration at once.
    pub async fn ensure_ready(&self) -> Result<(), NatsError> {
        self.ready().await.map(|_| ())
    }

    async fn ready(&self) -> Result<&Context, NatsError> {
        let context = self
            .context
            .get_or_try_init(|| self.connect_unless_just_failed())
            .await?;
        if !self.stream_ready.load(Ordering::Acquire) {
            self.ensure_stream(context).await?;
            self.stream_ready.store(true, Ordering::Release);
        }
        Ok(context)
    }

    async fn connect_unless_just_failed(&self) -> Result<Context, NatsError> {
        let recent = self
            .last_failure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .as_ref()
            .filter(|(at, _)| at.elapsed() < self.config.connect_timeout)
            .map(|(_, reason)| reason.clone());
        if let Some(reason) = recent {
            return Err(NatsError::Connect {
                url: self.config.url.clone(),
                message: format!("{reason} (moments ago; not tried again yet)"),
            });
        }
        let connected = self.connect().await;
        if let Err(NatsError::Connect { message, .. }) = &connected {
            *self
                .last_failure
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) =
                Some((Instant::now(), message.clone()));
        }
        connected
    }

    async fn connect(&self) -> Result<Context, NatsError> {
        let config = &self.config;
        let mut options = ConnectOptions::new()
            .name("ontime-sync")
            .connection_timeout(config.connect_timeout)
            .request_timeout(Some(config.ack_timeout));
        if let Some(path) = &config.credentials_file {
            options =
                options
                    .credentials_file(path)
                    .await
                    .map_err(|source| NatsError::Credentials {
                        path: path.clone(),
                        source,
                    })?;
        }
        let failed = |message: String| NatsError::Connect {
            url: config.url.clone(),
            message,
        };
        // The client bounds the TCP connect; this bounds the handshake after it too.
        let client = tokio::time::timeout(
            config.connect_timeout.saturating_mul(2),
            options.connect(config.url.as_str()),
        )
        .await
        .map_err(|_| failed(format!("timed out after {:?}", config.connect_timeout * 2)))?
        .map_err(|e| failed(e.to_string()))?;
        Ok(jetstream::ContextBuilder::new()
            .timeout(config.ack_timeout)
            .max_ack_inflight(MAX_ACK_INFLIGHT)
            .build(client))
    }

    async fn ensure_stream(&self, context: &Context) -> Result<(), NatsError> {
        let config = &self.config;
        let failed = |message: String| NatsError::Stream {
            stream: config.stream.clone(),
            message,
        };
        let existing = match context.get_stream(&config.stream).await {
            Ok(mut stream) => Some(
                stream
                    .info()
                    .await
                    .map_err(|e| failed(e.to_string()))?
                    .config
                    .clone(),
            ),
            Err(e) => match e.kind() {
                GetStreamErrorKind::JetStream(js)
                    if js.error_code() == ErrorCode::STREAM_NOT_FOUND =>
                {
                    None
                }
                _ => return Err(failed(e.to_string())),
            },
        };
        let existing = match existing {
            Some(existing) => existing,
            None => {
                let wanted = StreamConfig {
                    name: config.stream.clone(),
                    subjects: vec![config.stream_subjects()],
                    storage: StorageType::File,
                    duplicate_window: config.duplicate_window,
                    max_age: config.max_age.unwrap_or_default(),
                    description: Some("OnTime events published by ontime-sync".to_owned()),
                    ..StreamConfig::default()
                };
                match context.create_stream(wanted).await {
                    Ok(_) => {
                        tracing::info!(
                            stream = %config.stream,
                            subjects = %config.stream_subjects(),
                            duplicate_window = ?config.duplicate_window,
                            "created the JetStream stream"
                        );
                        return Ok(());
                    }
                    // Another process created it meanwhile: check theirs.
                    Err(e)
                        if matches!(e.kind(), CreateStreamErrorKind::JetStream(js)
                            if js.error_code() == ErrorCode::STREAM_NAME_EXIST) =>
                    {
                        let mut stream = context
                            .get_stream(&config.stream)
                            .await
                            .map_err(|e| failed(e.to_string()))?;
                        stream
                            .info()
                            .await
                            .map_err(|e| failed(e.to_string()))?
                            .config
                            .clone()
                    }
                    Err(e) => return Err(failed(e.to_string())),
                }
            }
        };
        let wanted = config.stream_subjects();
        if !existing.subjects.iter().any(|s| subject_covers(s, &wanted)) {
            return Err(NatsError::StreamSubjects {
                stream: config.stream.clone(),
                wanted,
                have: existing.subjects,
            });
        }
        if existing.duplicate_window < config.duplicate_window {
            tracing::warn!(
                stream = %config.stream,
                stream_window = ?existing.duplicate_window,
                configured = ?config.duplicate_window,
                "the existing stream's duplicate window is shorter than configured: a repeated \
                 publish after it ends is stored twice"
            );
        }
        Ok(())
    }

    /// Publishes `batch` pipelined and returns one outcome per delivery, in order.
    async fn publish(&self, context: &Context, batch: &[Delivery]) -> Vec<Outcome> {
        let mut outcomes: Vec<Option<Outcome>> = vec![None; batch.len()];
        let mut pending = FuturesOrdered::new();
        for (index, delivery) in batch.iter().enumerate() {
            if pending.len() >= WINDOW
                && let Some((at, result)) = pending.next().await
            {
                outcomes[at] = Some(self.outcome(result));
            }
            let subject = match self.subject_for(delivery) {
                Ok(subject) => subject,
                Err(e) => {
                    outcomes[index] = Some(retry(format!("no NATS subject: {e}")));
                    continue;
                }
            };
            let message = jetstream::message::PublishMessage::build()
                .payload(delivery.body.clone())
                .message_id(delivery.event.event_id.as_str());
            match context.send_publish(subject, message).await {
                Ok(ack) => pending.push_back(acked(index, ack)),
                Err(e) => outcomes[index] = Some(self.outcome(Err(e))),
            }
        }
        while let Some((at, result)) = pending.next().await {
            outcomes[at] = Some(self.outcome(result));
        }
        outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| retry("no PubAck".to_owned())))
            .collect()
    }

    fn outcome(
        &self,
        result: Result<jetstream::publish::PublishAck, jetstream::context::PublishError>,
    ) -> Outcome {
        match result {
            Ok(_) => Outcome::Delivered,
            Err(e) => {
                if matches!(e.kind(), PublishErrorKind::StreamNotFound) {
                    self.stream_ready.store(false, Ordering::Release);
                }
                retry(format!(
                    "JetStream publish to stream {}: {e}",
                    self.config.stream
                ))
            }
        }
    }
}

async fn acked(
    index: usize,
    ack: PublishAckFuture,
) -> (
    usize,
    Result<jetstream::publish::PublishAck, jetstream::context::PublishError>,
) {
    (index, ack.await)
}

fn retry(reason: String) -> Outcome {
    Outcome::Retry {
        after: None,
        reason,
    }
}

impl Sink for NatsSink {
    async fn send(&self, batch: Vec<Delivery>) -> Vec<Outcome> {
        if batch.is_empty() {
            return Vec::new();
        }
        match self.ready().await {
            Ok(context) => self.publish(context, &batch).await,
            Err(e) => {
                let reason = e.to_string();
                batch.iter().map(|_| retry(reason.clone())).collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_escape_what_nats_forbids_and_keep_plain_names() {
        assert_eq!(subject_token("acme"), "acme");
        assert_eq!(subject_token("acme-north_2"), "acme-north_2");
        assert_eq!(
            subject_token("North Sea Couriers"),
            "North%20Sea%20Couriers"
        );
        assert_eq!(subject_token("a.b"), "a%2Eb");
        assert_eq!(subject_token("*"), "%2A");
        assert_eq!(subject_token(">"), "%3E");
        assert_eq!(subject_token("50%"), "50%25");
        assert_eq!(subject_token("Zürich"), "Z%C3%BCrich");
        assert_eq!(subject_token("tab\there"), "tab%09here");
        // Different names never share a token (the escape of '%' keeps it reversible).
        assert_ne!(subject_token("a%2Eb"), subject_token("a.b"));
    }

    #[test]
    fn coverage_follows_nats_wildcards() {
        assert!(subject_covers("ontime.>", "ontime.>"));
        assert!(subject_covers(">", "ontime.>"));
        assert!(subject_covers("*.>", "ontime.>"));
        assert!(subject_covers("corp.>", "corp.ontime.>"));
        assert!(!subject_covers("ontime.*", "ontime.>"));
        assert!(!subject_covers("ontime.acme.>", "ontime.>"));
        assert!(!subject_covers("other.>", "ontime.>"));
        assert!(!subject_covers("ontime", "ontime.>"));
        assert!(subject_covers("ontime.*.order", "ontime.acme.order"));
        assert!(!subject_covers("ontime.acme.order", "ontime.*.order"));
    }

    #[cfg(feature = "run")]
    #[test]
    fn config_reads_toml_with_defaults_and_refuses_unknown_keys() {
        let config: NatsConfig =
            toml::from_str("url = \"nats://127.0.0.1:4222\"\nstream = \"EVENTS\"\n").unwrap();
        assert_eq!(config, NatsConfig::new("nats://127.0.0.1:4222", "EVENTS"));
        assert_eq!(config.duplicate_window, Duration::from_secs(7200));
        config.validate().unwrap();

        let config: NatsConfig = toml::from_str(
            "url = \"nats://127.0.0.1:4222\"\nstream = \"EVENTS\"\nsubject_prefix = \"corp.ontime\"\n\
             duplicate_window = \"30m\"\nmax_age = \"30days\"\ncredentials_file = \"/etc/n.creds\"\n\
             ack_timeout = \"2s\"\n",
        )
        .unwrap();
        assert_eq!(config.duplicate_window, Duration::from_secs(1800));
        assert_eq!(config.max_age, Some(Duration::from_secs(30 * 86_400)));
        assert_eq!(config.ack_timeout, Duration::from_secs(2));
        assert_eq!(config.stream_subjects(), "corp.ontime.>");
        config.validate().unwrap();

        let unknown = toml::from_str::<NatsConfig>(
            "url = \"nats://127.0.0.1:4222\"\nstream = \"EVENTS\"\npassword = \"hunter2\"\n",
        )
        .unwrap_err();
        assert!(unknown.to_string().contains("unknown field `password`"));
        let bad = toml::from_str::<NatsConfig>(
            "url = \"nats://127.0.0.1:4222\"\nstream = \"EVENTS\"\nduplicate_window = \"soon\"\n",
        )
        .unwrap_err();
        assert!(bad.to_string().contains("not a duration"), "{bad}");
    }

    #[test]
    fn validation_refuses_inline_secrets_and_bad_names() {
        let with = |f: fn(&mut NatsConfig)| {
            let mut config = NatsConfig::new("nats://127.0.0.1:4222", "EVENTS");
            f(&mut config);
            config.validate()
        };
        for (field, change) in [
            (
                "url",
                (|c: &mut NatsConfig| c.url = "nats://user:hunter2@127.0.0.1:4222".into())
                    as fn(&mut NatsConfig),
            ),
            ("url", |c| {
                c.url = "nats://s3cr3tt0ken@127.0.0.1:4222".into()
            }),
            ("stream", |c| c.stream = "a.b".into()),
            ("stream", |c| c.stream = String::new()),
            ("subject_prefix", |c| c.subject_prefix = "ontime.>".into()),
            ("subject_prefix", |c| c.subject_prefix = "a..b".into()),
            ("subject_prefix", |c| c.subject_prefix = "on time".into()),
            ("duplicate_window", |c| c.duplicate_window = Duration::ZERO),
            ("max_age", |c| c.max_age = Some(Duration::ZERO)),
        ] {
            match with(change) {
                Err(NatsError::Config { field: f, message }) => {
                    assert_eq!(f, field, "{message}");
                    assert!(!message.contains("hunter2") && !message.contains("s3cr3t"));
                }
                other => panic!("{field}: expected a config error, got {other:?}"),
            }
        }
        assert!(with(|c| c.url = "tls://127.0.0.1:4222".into()).is_ok());
    }
}
