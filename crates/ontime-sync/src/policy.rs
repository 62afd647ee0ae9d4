//! Redaction policies: how much of an event one destination may receive.
//!
//! Every destination (a webhook endpoint, a NATS stream, a file) has a [`RedactionPolicy`] in
//! `sync.toml`. A [`Redactor`] (the policy plus the destination's own pseudonymisation key)
//! turns a stored [`Event`] into the JSON that destination gets ([`Redactor::render`],
//! [`Redactor::to_body`]). Nothing personal leaves the process except through a redactor.
//!
//! # Fields
//!
//! A policy names the event's personal fields by stable names, not by JSON paths, so that a
//! policy keeps its meaning when the event layout changes. Each name covers every place the
//! same kind of value appears:
//!
//! | name                  | where it appears in an event                                           | rules                                  |
//! |-----------------------|------------------------------------------------------------------------|----------------------------------------|
//! | `driver_id`           | `driver`, `actor.id`, `custody.from.id` / `custody.to.id` (drivers), the id in a `driver:{guid}` `subject` | `keep`, `drop`, `pseudonymise`  |
//! | `position`            | `position` (latitude and longitude of `driver.position`)               | `keep`, `drop`, `{ round = N }`        |
//! | `status_description`  | `ontime.description` (OnTime's free-text status description)          | `keep`, `drop`, `pseudonymise`         |
//! | `availability_status` | `availability.status` (the driver's free-text current status)         | `keep`, `drop`, `pseudonymise`         |
//! | `status_label`        | `ontime.label` (the account's status wording, OnTime's `Name`)        | `keep`, `drop`, `pseudonymise`         |
//! | `tracking_number`     | `order.tracking_number`, `custody.item_tracking_number`               | `keep`, `drop`, `pseudonymise`         |
//!
//! Any other name is a configuration error that names it.
//!
//! # The default sends no personal data
//!
//! | name                  | default                                                     | why                                          |
//! |-----------------------|-------------------------------------------------------------|----------------------------------------------|
//! | `driver_id`           | `pseudonymise` if the destination has a key, else `drop`    | a driver's id identifies a person            |
//! | `position`            | `drop`                                                      | a driver's whereabouts over time             |
//! | `status_description`  | `drop`                                                      | free text: names drivers, signers, phones    |
//! | `availability_status` | `drop`                                                      | free text typed by or about a driver         |
//! | `status_label`        | `keep`                                                      | the company's own wording (see below)        |
//! | `tracking_number`     | `keep`                                                      | a business key (see below)                   |
//!
//! - **`status_label` is kept** by default: it is the wording the courier company configured
//!   for its statuses ("Out for delivery", "Attempted - Not Home"), one value out of a short
//!   list set by an administrator, not text typed per order. It says what happened, which is
//!   what receivers need to handle an exception, and says nothing about who. An account whose
//!   labels name people (a label per driver, say) should set `status_label = "drop"`.
//! - **`tracking_number` is kept** by default: it is how the shipper, the consignee's portal or
//!   an ERP find the shipment in their own records, so most destinations cannot work without
//!   it. It is a business identifier; it leads to a person only through the order record
//!   (the consignee), which such receivers hold already and others cannot read. A destination
//!   that only needs counts (a BI warehouse) should set `tracking_number = "pseudonymise"`
//!   (still joinable within that destination) or `"drop"`. The rule covers the items' tracking
//!   numbers too: they are the order's number with a suffix.
//! - Always kept, never personal: the order's and items' GUIDs (the receivers' upsert keys),
//!   the account, event types and times, OnTime's status id and level, the EPCIS projection,
//!   whether a driver is available.
//!
//! # Evidence is never inlined
//!
//! Signatures, photos and other proof of delivery never travel inside an event body, whatever
//! the policy: a field that holds evidence is a reference (an id the receiver fetches under
//! its own access control) or absent. The event model has no evidence field today; as a
//! safeguard, the redactor removes any string that looks like inlined binary data (a `data:`
//! URI, or a run of at least [`INLINE_BINARY_MIN`] base64 characters) from every body, even
//! from fields the policy keeps.
//!
//! # Pseudonyms
//!
//! A pseudonym is `psn_` followed by 32 lower-case hex digits: the first 128 bits of
//! HMAC-SHA256 under the destination's [`PseudonymKey`] over a version tag, the field's name
//! and the value (GUIDs in their canonical lower-case form). The same driver therefore gets the
//! same token in every field and every event sent to one destination (receivers can still
//! group by driver), and unrelated tokens at two destinations with different keys (they cannot
//! join their data on it). Unlike a plain hash, a keyed hash cannot be reversed by hashing
//! every known driver id. A policy that asks to pseudonymise without a key is refused.
//!
//! # What changes in the envelope
//!
//! The body keeps every envelope field (`event_id`, `type`, `account`, `subject`, `sequence`,
//! `occurred_at`, `observed_at`, `time_precision`) and stays valid JSON in the event's layout:
//!
//! - `subject` of driver events carries the driver id, so it follows `driver_id`:
//!   `driver:psn_…` when pseudonymised, `driver:redacted` when dropped. `sequence` still counts
//!   the stored subject (per driver), so with dropped ids two events may show the same
//!   subject and sequence. Order subjects (`order:{guid}`) are unchanged.
//! - With `driver_id` dropped, `driver` and `actor` are absent and custody holders show
//!   `{"kind":"driver"}` without an id; such a body still parses as an
//!   [`Event`]. Pseudonymised ids are `psn_…` strings where the schema has GUIDs: receivers of
//!   pseudonymised bodies must read those fields as strings.
//! - `event_id` is unchanged: it is the idempotency key (`webhook-id`, `Nats-Msg-Id`) and the
//!   handle operators use to redeliver. It is a SHA-256 over the event's source; for driver
//!   events that source includes the driver's GUID (and, for positions, the exact
//!   coordinates). A receiver that already knows a driver's GUID could therefore confirm
//!   which driver events belong to that driver by recomputing ids, and test candidate
//!   coordinates. Receivers do not learn GUIDs from a redacted body, so this needs data from
//!   elsewhere; destinations where it matters should not receive driver events at all
//!   (their event-type filter).
//!
//! # In `sync.toml`
//!
//! The policy is a table under each destination; every key is optional:
//!
//! ```toml
//! [webhook.policy]                      # under the destination's own section
//! driver_id = "pseudonymise"            # keep | drop | pseudonymise (default: see above)
//! position = { round = 3 }              # keep | drop | { round = N }, N in 0..=6 (3 ≈ 110 m)
//! status_description = "drop"           # keep | drop | pseudonymise
//! availability_status = "drop"
//! status_label = "keep"
//! tracking_number = "keep"
//! ```
//!
//! The destination's pseudonymisation key is a secret and is never written in the file: it is
//! read from a file or an environment variable ([`PseudonymKey::from_file`],
//! [`PseudonymKey::from_env`]), at least [`PseudonymKey::MIN_LEN`] bytes, e.g. the output of
//! `openssl rand -base64 32`.
//!
//! ```
//! use ontime_sync::policy::{Field, FieldRule, PositionRule, PseudonymKey, RedactionPolicy, Redactor};
//!
//! let policy: RedactionPolicy = serde_json::from_value(serde_json::json!({
//!     "position": { "round": 3 },
//!     "tracking_number": "pseudonymise",
//! }))?;
//! assert_eq!(policy.rule(Field::TrackingNumber), FieldRule::Pseudonymise);
//! assert_eq!(policy.position, PositionRule::Round(3.try_into()?));
//! let key = PseudonymKey::new(*b"a key of at least thirty-two bytes!")?;
//! let redactor = Redactor::new(policy, Some(key))?;
//! assert_eq!(redactor.driver_rule(), FieldRule::Pseudonymise);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::Sha256;

use crate::event::Event;

/// The personal fields a policy names (see the [module documentation](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    /// Driver (user) ids wherever they appear, the driver subject included.
    DriverId,
    /// A driver's reported position.
    Position,
    /// OnTime's free-text status description.
    StatusDescription,
    /// A driver's free-text availability status.
    AvailabilityStatus,
    /// The status label (the account's wording).
    StatusLabel,
    /// Order and item tracking numbers.
    TrackingNumber,
}

impl Field {
    /// Every field, in documentation order.
    pub const ALL: [Self; 6] = [
        Self::DriverId,
        Self::Position,
        Self::StatusDescription,
        Self::AvailabilityStatus,
        Self::StatusLabel,
        Self::TrackingNumber,
    ];

    /// The name used in `sync.toml`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::DriverId => "driver_id",
            Self::Position => "position",
            Self::StatusDescription => "status_description",
            Self::AvailabilityStatus => "availability_status",
            Self::StatusLabel => "status_label",
            Self::TrackingNumber => "tracking_number",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happens to a field other than `position`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldRule {
    /// Sent as it is.
    Keep,
    /// Left out of the body.
    Drop,
    /// Replaced by a keyed pseudonym (`psn_…`); needs the destination's key.
    #[serde(alias = "pseudonymize")]
    Pseudonymise,
}

/// Decimal places kept of a coordinate: 0 to [`Decimals::MAX`] (2 ≈ 1.1 km, 3 ≈ 110 m,
/// 4 ≈ 11 m).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "u8")]
pub struct Decimals(u8);

impl Decimals {
    /// The most decimals a policy may ask for (OnTime stores about 5; more would be keeping).
    pub const MAX: u8 = 6;

    /// The number of decimals.
    pub const fn get(self) -> u8 {
        self.0
    }
}

/// More decimals than [`Decimals::MAX`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "round = {0}: coordinates are rounded to 0 to 6 decimals (use \"keep\" for full precision)"
)]
pub struct TooManyDecimals(pub u8);

impl TryFrom<u8> for Decimals {
    type Error = TooManyDecimals;

    fn try_from(n: u8) -> Result<Self, Self::Error> {
        if n <= Self::MAX {
            Ok(Self(n))
        } else {
            Err(TooManyDecimals(n))
        }
    }
}

/// What happens to a driver's position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PositionRule {
    /// Sent as reported.
    Keep,
    /// Left out of the body.
    Drop,
    /// Latitude and longitude rounded to this many decimals (`{ round = 3 }` in TOML).
    Round(Decimals),
}

/// A destination's redaction policy: one rule per personal field (see the
/// [module documentation](self) for the fields, the defaults and the TOML form).
///
/// [`Default`] is the policy that sends no personal data.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedactionPolicy {
    /// Driver ids; `None` (not written): pseudonymise when the destination has a key, else drop.
    pub driver_id: Option<FieldRule>,
    /// Positions (default: drop).
    pub position: PositionRule,
    /// OnTime's status description (default: drop).
    pub status_description: FieldRule,
    /// The driver's availability text (default: drop).
    pub availability_status: FieldRule,
    /// The status label (default: keep).
    pub status_label: FieldRule,
    /// Order and item tracking numbers (default: keep).
    pub tracking_number: FieldRule,
}

impl Default for RedactionPolicy {
    fn default() -> Self {
        Self {
            driver_id: None,
            position: PositionRule::Drop,
            status_description: FieldRule::Drop,
            availability_status: FieldRule::Drop,
            status_label: FieldRule::Keep,
            tracking_number: FieldRule::Keep,
        }
    }
}

impl RedactionPolicy {
    /// A policy that sends everything as stored (for destinations inside the same trust
    /// boundary, such as the operator's own archive).
    pub fn keep_all() -> Self {
        Self {
            driver_id: Some(FieldRule::Keep),
            position: PositionRule::Keep,
            status_description: FieldRule::Keep,
            availability_status: FieldRule::Keep,
            status_label: FieldRule::Keep,
            tracking_number: FieldRule::Keep,
        }
    }

    /// The rule written for a text or id field. `driver_id` when not written reads as
    /// [`FieldRule::Drop`] here (the key decides: see [`Redactor::driver_rule`]); `position`
    /// reads as `Keep`, `Drop`, or `Keep` for rounding (see [`RedactionPolicy::position`]).
    pub fn rule(&self, field: Field) -> FieldRule {
        match field {
            Field::DriverId => self.driver_id.unwrap_or(FieldRule::Drop),
            Field::Position => match self.position {
                PositionRule::Drop => FieldRule::Drop,
                PositionRule::Keep | PositionRule::Round(_) => FieldRule::Keep,
            },
            Field::StatusDescription => self.status_description,
            Field::AvailabilityStatus => self.availability_status,
            Field::StatusLabel => self.status_label,
            Field::TrackingNumber => self.tracking_number,
        }
    }

    /// Sets the rule of a field. For `position`, `Keep` and `Drop` set those position rules and
    /// `Pseudonymise` (which positions do not have) drops; rounding is set on
    /// [`RedactionPolicy::position`].
    pub fn set(&mut self, field: Field, rule: FieldRule) -> &mut Self {
        match field {
            Field::DriverId => self.driver_id = Some(rule),
            Field::Position => {
                self.position = match rule {
                    FieldRule::Keep => PositionRule::Keep,
                    FieldRule::Drop | FieldRule::Pseudonymise => PositionRule::Drop,
                }
            }
            Field::StatusDescription => self.status_description = rule,
            Field::AvailabilityStatus => self.availability_status = rule,
            Field::StatusLabel => self.status_label = rule,
            Field::TrackingNumber => self.tracking_number = rule,
        }
        self
    }
}

/// Why a policy cannot be applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A field is to be pseudonymised but the destination has no key.
    #[error(
        "{0} = \"pseudonymise\" needs a pseudonymisation key for this destination (from a file or an environment variable)"
    )]
    NoKey(Field),
}

/// Why a pseudonymisation key could not be read. Never holds the key or a part of it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Fewer bytes than [`PseudonymKey::MIN_LEN`] (after trimming white space).
    #[error(
        "the pseudonymisation key has {0} bytes; it needs at least 32 (e.g. `openssl rand -base64 32`)"
    )]
    TooShort(usize),
    /// The key file could not be read.
    #[error("cannot read the pseudonymisation key file {}: {kind}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        kind: std::io::ErrorKind,
    },
    /// The environment variable is not set (or not UTF-8).
    #[error("environment variable {0} (the pseudonymisation key) is not set")]
    Env(String),
}

/// A destination's pseudonymisation key: the HMAC-SHA256 key of its pseudonyms. `Debug` shows
/// `PseudonymKey(<redacted>)`; the bytes are not readable from outside this module.
#[derive(Clone, PartialEq, Eq)]
pub struct PseudonymKey(Vec<u8>);

impl PseudonymKey {
    /// The fewest bytes a key may have.
    pub const MIN_LEN: usize = 32;

    /// A key from its bytes (at least [`Self::MIN_LEN`]).
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, KeyError> {
        let bytes = bytes.into();
        if bytes.len() < Self::MIN_LEN {
            return Err(KeyError::TooShort(bytes.len()));
        }
        Ok(Self(bytes))
    }

    /// A key from text (a file's or a variable's content): its bytes after trimming white
    /// space at both ends.
    pub fn from_text(text: &str) -> Result<Self, KeyError> {
        Self::new(text.trim().as_bytes())
    }

    /// Reads the key from a file (its content, trimmed).
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|e| KeyError::File {
            path: path.to_owned(),
            kind: e.kind(),
        })?;
        Self::from_text(&text)
    }

    /// Reads the key from an environment variable (its value, trimmed).
    pub fn from_env(name: &str) -> Result<Self, KeyError> {
        let text = std::env::var(name).map_err(|_| KeyError::Env(name.to_owned()))?;
        Self::from_text(&text)
    }

    /// The pseudonym of `value` in `field`: `psn_` and 32 hex digits (see the
    /// [module documentation](self#pseudonyms)).
    pub fn pseudonym(&self, field: Field, value: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"ontime-sync/pseudonym/v1\0");
        mac.update(field.as_str().as_bytes());
        mac.update(b"\0");
        mac.update(value.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut out = String::with_capacity(PSEUDONYM_PREFIX.len() + 32);
        out.push_str(PSEUDONYM_PREFIX);
        for byte in &digest[..16] {
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 15)]));
        }
        out
    }
}

impl fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PseudonymKey(<redacted>)")
    }
}

/// The prefix of every pseudonym.
pub const PSEUDONYM_PREFIX: &str = "psn_";
/// What a driver subject's id becomes when `driver_id` is dropped: `driver:redacted`.
pub const REDACTED: &str = "redacted";
/// The shortest run of base64 characters the redactor treats as inlined binary data.
pub const INLINE_BINARY_MIN: usize = 256;

const HEX: &[u8; 16] = b"0123456789abcdef";
const DRIVER_SUBJECT: &str = "driver:";

/// A policy with its destination's key: renders events as that destination may see them.
/// `Debug` never shows the key.
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    policy: RedactionPolicy,
    key: Option<PseudonymKey>,
}

impl Redactor {
    /// The redactor of a destination with `policy` and, if it has one, its key. Refused when
    /// the policy pseudonymises a field and there is no key.
    pub fn new(policy: RedactionPolicy, key: Option<PseudonymKey>) -> Result<Self, PolicyError> {
        // (`driver_id` not written reads as `Drop` here: without a key it is dropped.)
        if key.is_none()
            && let Some(field) = Field::ALL
                .into_iter()
                .find(|f| policy.rule(*f) == FieldRule::Pseudonymise)
        {
            return Err(PolicyError::NoKey(field));
        }
        Ok(Self { policy, key })
    }

    /// The policy.
    pub fn policy(&self) -> &RedactionPolicy {
        &self.policy
    }

    /// Whether this destination has a pseudonymisation key.
    pub fn has_key(&self) -> bool {
        self.key.is_some()
    }

    /// The rule applied to driver ids: the policy's, or (not written) `Pseudonymise` with a key
    /// and `Drop` without.
    pub fn driver_rule(&self) -> FieldRule {
        match (self.policy.driver_id, &self.key) {
            (Some(rule), _) => rule,
            (None, Some(_)) => FieldRule::Pseudonymise,
            (None, None) => FieldRule::Drop,
        }
    }

    /// The rule applied to `field` (`position`: `Keep` also when rounded).
    pub fn rule(&self, field: Field) -> FieldRule {
        match field {
            Field::DriverId => self.driver_rule(),
            other => self.policy.rule(other),
        }
    }

    /// The event as this destination may see it (see the [module documentation](self)).
    pub fn render(&self, event: &Event) -> Value {
        // An event always serialises (string keys, no custom serialisers that fail); should it
        // ever not, nothing is sent rather than something unredacted.
        let Ok(Value::Object(mut root)) = serde_json::to_value(event) else {
            return Value::Object(Map::new());
        };
        self.driver_ids(&mut root);
        self.position(&mut root);
        if let Some(Value::Object(ontime)) = root.get_mut("ontime") {
            self.text(ontime, "description", Field::StatusDescription);
            self.text(ontime, "label", Field::StatusLabel);
        }
        if let Some(Value::Object(availability)) = root.get_mut("availability") {
            self.text(availability, "status", Field::AvailabilityStatus);
        }
        if let Some(Value::Object(order)) = root.get_mut("order") {
            self.text(order, "tracking_number", Field::TrackingNumber);
        }
        if let Some(Value::Object(custody)) = root.get_mut("custody") {
            self.text(custody, "item_tracking_number", Field::TrackingNumber);
        }
        let mut root = Value::Object(root);
        strip_inline_binaries(&mut root);
        root
    }

    /// The bytes this destination receives: [`render`](Self::render) as compact JSON.
    pub fn to_body(&self, event: &Event) -> Vec<u8> {
        serde_json::to_vec(&self.render(event)).unwrap_or_else(|_| b"{}".to_vec())
    }

    /// The event's `subject` as this destination sees it (`driver:psn_…`, `driver:redacted`, or
    /// unchanged): what routing by subject (NATS subjects, partitions) must use.
    pub fn subject(&self, event: &Event) -> String {
        match event.subject.strip_prefix(DRIVER_SUBJECT) {
            Some(id) => match self.replace(Field::DriverId, self.driver_rule(), id) {
                Some(id) => format!("{DRIVER_SUBJECT}{id}"),
                None => format!("{DRIVER_SUBJECT}{REDACTED}"),
            },
            None => event.subject.clone(),
        }
    }

    /// What `value` becomes under `rule`: itself, `None` (dropped), or its pseudonym. Without
    /// a key a pseudonymised value is dropped (fail closed; [`Redactor::new`] prevents it).
    fn replace(&self, field: Field, rule: FieldRule, value: &str) -> Option<String> {
        match rule {
            FieldRule::Keep => Some(value.to_owned()),
            FieldRule::Drop => None,
            FieldRule::Pseudonymise => {
                let key = self.key.as_ref()?;
                let value = match field {
                    // One canonical text per GUID, so every place names a driver alike.
                    Field::DriverId => uuid::Uuid::parse_str(value)
                        .map(|id| id.to_string())
                        .unwrap_or_else(|_| value.to_owned()),
                    _ => value.to_owned(),
                };
                Some(key.pseudonym(field, &value))
            }
        }
    }

    /// Applies `field`'s rule to `object[name]`; a value that is not a string is dropped
    /// unless kept.
    fn text(&self, object: &mut Map<String, Value>, name: &str, field: Field) {
        let rule = self.rule(field);
        if rule == FieldRule::Keep {
            return;
        }
        let replaced = match object.get(name) {
            None => return,
            Some(Value::String(value)) => self.replace(field, rule, value),
            Some(_) => None,
        };
        match replaced {
            Some(value) => {
                object.insert(name.to_owned(), Value::String(value));
            }
            None => {
                object.remove(name);
            }
        }
    }

    fn driver_ids(&self, root: &mut Map<String, Value>) {
        let rule = self.driver_rule();
        if rule == FieldRule::Keep {
            return;
        }
        self.text(root, "driver", Field::DriverId);
        // Every actor is a person (today: a driver): its id follows `driver_id`; without an
        // id the actor says nothing, so it goes.
        if let Some(Value::Object(actor)) = root.get_mut("actor") {
            self.text(actor, "id", Field::DriverId);
            if !actor.contains_key("id") {
                root.remove("actor");
            }
        }
        if let Some(Value::Object(custody)) = root.get_mut("custody") {
            for holder in ["from", "to"] {
                if let Some(Value::Object(holder)) = custody.get_mut(holder) {
                    self.text(holder, "id", Field::DriverId);
                }
            }
        }
        if let Some(Value::String(subject)) = root.get_mut("subject")
            && subject.starts_with(DRIVER_SUBJECT)
        {
            let id = &subject[DRIVER_SUBJECT.len()..];
            let id = self
                .replace(Field::DriverId, rule, id)
                .unwrap_or_else(|| REDACTED.to_owned());
            *subject = format!("{DRIVER_SUBJECT}{id}");
        }
    }

    fn position(&self, root: &mut Map<String, Value>) {
        let decimals = match self.policy.position {
            PositionRule::Keep => return,
            PositionRule::Drop => {
                root.remove("position");
                return;
            }
            PositionRule::Round(decimals) => decimals,
        };
        let Some(Value::Object(position)) = root.get_mut("position") else {
            return;
        };
        let mut rounded = Map::new();
        for name in ["latitude", "longitude"] {
            let value = position
                .get(name)
                .and_then(Value::as_f64)
                .map(|v| round(v, decimals));
            match value.and_then(serde_json::Number::from_f64) {
                Some(n) => {
                    rounded.insert(name.to_owned(), Value::Number(n));
                }
                None => {
                    // Not a coordinate: nothing of it is sent.
                    root.remove("position");
                    return;
                }
            }
        }
        // Only the two rounded coordinates: a field added to positions later (accuracy,
        // heading) is not sent until the policy knows it.
        *position = rounded;
    }
}

/// `value` rounded half away from zero to `decimals` places. Dividing the rounded integer by
/// a power of ten gives the double nearest to the decimal, which JSON writes with at most
/// `decimals` places.
fn round(value: f64, decimals: Decimals) -> f64 {
    let scale = 10f64.powi(i32::from(decimals.get()));
    let rounded = (value * scale).round() / scale;
    // -0.0 would be written "-0.0".
    if rounded == 0.0 { 0.0 } else { rounded }
}

/// Removes every string that looks like inlined binary data (see the
/// [module documentation](self#evidence-is-never-inlined)).
fn strip_inline_binaries(value: &mut Value) {
    match value {
        Value::Object(object) => {
            object.retain(|_, v| !is_inline_binary(v));
            object.values_mut().for_each(strip_inline_binaries);
        }
        Value::Array(items) => {
            items.retain(|v| !is_inline_binary(v));
            items.iter_mut().for_each(strip_inline_binaries);
        }
        _ => {}
    }
}

fn is_inline_binary(value: &Value) -> bool {
    let Value::String(text) = value else {
        return false;
    };
    if text
        .get(..5)
        .is_some_and(|head| head.eq_ignore_ascii_case("data:"))
    {
        return true;
    }
    let mut run = 0;
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'+' | b'/' | b'=' | b'-' | b'_') {
            run += 1;
            if run >= INLINE_BINARY_MIN {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_writes_no_more_decimals_than_asked() {
        let three = Decimals::try_from(3).unwrap();
        assert_eq!(round(41.881_234, three), 41.881);
        assert_eq!(round(-87.629_5, three), -87.63);
        assert_eq!(round(-0.000_4, three), 0.0);
        assert_eq!(
            serde_json::to_string(&round(-0.000_4, three)).unwrap(),
            "0.0"
        );
        assert_eq!(round(1.5, Decimals::try_from(0).unwrap()), 2.0);
        assert!(Decimals::try_from(7).is_err());
    }

    #[test]
    fn inline_binaries_are_recognised() {
        assert!(is_inline_binary(&Value::from(
            "data:image/png;base64,iVBOR"
        )));
        assert!(is_inline_binary(&Value::from("DATA:text/plain,x")));
        assert!(is_inline_binary(&Value::from(
            "A".repeat(INLINE_BINARY_MIN)
        )));
        assert!(!is_inline_binary(&Value::from(
            "A".repeat(INLINE_BINARY_MIN - 1)
        )));
        assert!(!is_inline_binary(&Value::from(
            "Delivered, signed by the recipient at the back door"
        )));
    }

    #[test]
    fn keys_never_show() {
        let key = PseudonymKey::from_text("  0123456789abcdef0123456789abcdef\n").unwrap();
        assert_eq!(format!("{key:?}"), "PseudonymKey(<redacted>)");
        let redactor = Redactor::new(RedactionPolicy::default(), Some(key)).unwrap();
        assert!(!format!("{redactor:?}").contains("0123456789abcdef"));
        assert_eq!(PseudonymKey::from_text("short"), Err(KeyError::TooShort(5)));
    }
}
