//! The event model: one envelope ([`Event`]) for every change noticed in an OnTime account, the
//! canonical event types ([`EventType`]), deterministic identity ([`EventId`]), the table that maps
//! OnTime's status levels and labels onto types ([`mapping`]), and the pure functions that derive
//! events from what OnTime returns ([`derive`](mod@derive)).
//!
//! Nothing here performs I/O: the same input always yields the same events with the same ids.
//!
//! # Wire form
//!
//! Events serialise to JSON with the field names of [`Event`] (snake case, `type` for the event
//! type, RFC 3339 date-times with an explicit offset). Absent optional sections are omitted, never
//! `null`. Payloads never inline binaries (signatures, photos): evidence is referenced, not copied.
//! The JSON Schema of this form is generated into `schemas/` by `cargo xtask codegen`.

pub mod derive;
#[cfg(feature = "schema")]
mod json_schema;
pub mod mapping;
pub mod provisional;
mod time;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, FixedOffset, Utc};
use ontime::{ItemId, OrderId, StatusId, UserId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use derive::{
    InvalidPosition, ItemRef, OrderSource, StatusStep, availability_event, derive_custody_events,
    derive_order_events, derive_status_events, position_event,
};
pub use mapping::{
    AccountConfig, Classification, LABEL_RULES, LEVEL_RULES, LabelOverrides, LabelRule, LevelRule,
    classify, epcis_for,
};
pub use provisional::{Reconciled, is_provisional, provisional_status_event, reconcile};
pub use time::{LocalTimeResolution, resolve_local_time};

macro_rules! event_types {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)*) => {
        /// The canonical type of an event, written as a dotted name (`order.delivered`).
        ///
        /// Every type is listed in [`EventType::ALL`]; the mapping from OnTime's levels and
        /// labels onto these types is in [`mapping`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
        pub enum EventType {
            $(
                $(#[$doc])*
                #[serde(rename = $name)]
                $variant,
            )*
        }

        impl EventType {
            /// Every event type, in documentation order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];

            /// The dotted name, as written in JSON (`"order.picked_up"`).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)*
                }
            }
        }

        impl FromStr for EventType {
            type Err = UnknownEventType;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($name => Ok(Self::$variant),)*
                    _ => Err(UnknownEventType(s.to_owned())),
                }
            }
        }
    };
}

event_types! {
    /// An order (or quote) entered the account.
    OrderCreated => "order.created",
    /// The order was submitted for dispatch and waits for a driver.
    OrderSubmitted => "order.submitted",
    /// A driver was assigned.
    OrderAssigned => "order.assigned",
    /// The driver was taken off the order; it waits for dispatch again.
    OrderUnassigned => "order.unassigned",
    /// The order moved from one driver to another.
    OrderTransferred => "order.transferred",
    /// The driver collected the shipment.
    OrderPickedUp => "order.picked_up",
    /// The shipment is on its way (a later in-transit status after the pickup).
    OrderInTransit => "order.in_transit",
    /// The shipment was delivered.
    OrderDelivered => "order.delivered",
    /// Something went wrong (failed attempt, refused, damaged, ...).
    OrderException => "order.exception",
    /// The order was cancelled (billable or not: see the OnTime level in the event).
    OrderCancelled => "order.cancelled",
    /// A status change that fits none of the other order types (its OnTime values say what).
    OrderStatusChanged => "order.status_changed",
    /// One of the order's items (parcels, each with its own tracking number) changed hands.
    ItemCustodyChanged => "item.custody_changed",
    /// A driver became available or unavailable.
    DriverAvailabilityChanged => "driver.availability_changed",
    /// A driver reported a position.
    DriverPosition => "driver.position",
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of the dotted [`EventType`] names.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown event type {0:?} (expected one of the dotted names, e.g. \"order.delivered\")")]
pub struct UnknownEventType(pub String);

/// The deterministic identity of an event: `evt_` followed by the lower-case RFC 4648 base32
/// (no padding) of the first 20 bytes of a SHA-256 over where the event came from.
///
/// The hashed input is a version tag and the source's parts (account, subject, the OnTime status
/// entry's own ID, ...), each length-prefixed so that no two different sources share an input.
/// The same change therefore gets the same id whether it is seen twice, after a restart, or by
/// two workers; detection time and randomness never enter it. The form is stable: changing it
/// would change every stored id, so it carries a version (`v1`) inside the hash.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(String);

impl EventId {
    /// The prefix of every event id.
    pub const PREFIX: &'static str = "evt_";

    /// The id of the source described by `parts` (see the type documentation).
    pub fn from_source(parts: &[&str]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"ontime-sync/event-id/v1");
        for part in parts {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part.as_bytes());
        }
        let digest = hasher.finalize();
        let mut id = String::with_capacity(Self::PREFIX.len() + 32);
        id.push_str(Self::PREFIX);
        base32_lower(&digest[..20], &mut id);
        Self(id)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// RFC 4648 base32 in lower case, without padding.
fn base32_lower(bytes: &[u8], out: &mut String) {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
}

/// Whether `occurred_at` is OnTime's own timestamp or the time the change was noticed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum TimePrecision {
    /// From OnTime's status history (or the driver record): when the change happened.
    Exact,
    /// OnTime gave no time; `occurred_at` is when the change was first seen (between two polls).
    Observed,
}

/// Who made the change, where known. OnTime's status history names no actor; the driver
/// assigned to the order at that step is the best available answer.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    /// A driver (an OnTime user).
    Driver {
        /// The driver's user ID.
        #[cfg_attr(
            feature = "schema",
            schemars(schema_with = "crate::event::json_schema::guid")
        )]
        id: UserId,
    },
}

/// The order an event is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OrderRef {
    /// The order's ID.
    #[cfg_attr(
        feature = "schema",
        schemars(schema_with = "crate::event::json_schema::guid")
    )]
    pub id: OrderId,
    /// The order's tracking number, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
}

/// OnTime's own values for the status entry an event was derived from, beside the canonical type.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OnTimeStatus {
    /// The status entry's ID; absent when OnTime sent the all-zero GUID (no stored record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "schema",
        schemars(schema_with = "crate::event::json_schema::optional_guid")
    )]
    pub status_id: Option<StatusId>,
    /// The level's integer code (0 None ... 9 Quoted), when the entry had a level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level_code: Option<i64>,
    /// The level's API name (`AssignedInRoute`, ...), when the code is one this crate knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level_name: Option<String>,
    /// The status label (OnTime's `Name`), often a customer's own wording.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The status description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The GS1 EPCIS 2.0 / CBV 2.0 projection of an event, where one fits.
///
/// Values are the CBV short names (`departing`); the full identifier is
/// `https://ref.gs1.org/cbv/BizStep-{biz_step}` and `https://ref.gs1.org/cbv/Disp-{disposition}`.
/// CBV has no "delivered" disposition, so deliveries carry a business step only.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Epcis {
    /// The CBV business step.
    pub biz_step: String,
    /// The CBV disposition, where one fits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disposition: Option<String>,
}

/// Who holds a parcel.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Custodian {
    /// The shipper, before the pickup.
    Shipper,
    /// A driver; the ID is absent when the collector did not know who was assigned.
    Driver {
        /// The driver's user ID, where known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(
            feature = "schema",
            schemars(schema_with = "crate::event::json_schema::optional_guid")
        )]
        id: Option<UserId>,
    },
    /// The courier's storage (OnTime's stored levels).
    Storage,
    /// The recipient, after the delivery.
    Consignee,
}

/// The payload of `item.custody_changed`: one parcel changed hands.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Custody {
    /// The item's tracking number (the barcode drivers scan).
    pub item_tracking_number: String,
    /// The item's ID, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "schema",
        schemars(schema_with = "crate::event::json_schema::optional_guid")
    )]
    pub item_id: Option<ItemId>,
    /// Who held it before.
    pub from: Custodian,
    /// Who holds it from `occurred_at` on.
    pub to: Custodian,
}

/// The payload of `driver.availability_changed`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Availability {
    /// Whether the driver is available for work.
    pub available: bool,
    /// OnTime's free-text current status of the driver, where set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// The payload of `driver.position`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Position {
    /// Latitude in degrees (WGS 84).
    pub latitude: f64,
    /// Longitude in degrees (WGS 84).
    pub longitude: f64,
}

/// One change in an OnTime account, normalised.
///
/// `subject` names what the per-subject `sequence` counts: `order:{guid}` for order and item
/// events (an order's items share its sequence), `driver:{guid}` for driver events. The sequence
/// is assigned by the store when the event is first committed (1, 2, 3, ... without gaps per
/// subject, in commit order) and is absent on events that were not stored yet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Event {
    /// Deterministic identity (`evt_` + base32 of a SHA-256 prefix over the source); the
    /// idempotency key for every consumer.
    #[cfg_attr(
        feature = "schema",
        schemars(schema_with = "crate::event::json_schema::event_id")
    )]
    pub event_id: EventId,
    /// The canonical type.
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// The OnTime account (company) the change happened in.
    pub account: String,
    /// What the sequence counts: `order:{guid}` or `driver:{guid}`.
    pub subject: String,
    /// Per-subject sequence number, assigned by the store (absent before the event is stored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
    /// When the change happened, with the offset made explicit from the account's time zone.
    #[cfg_attr(
        feature = "schema",
        schemars(schema_with = "crate::event::json_schema::date_time")
    )]
    pub occurred_at: DateTime<FixedOffset>,
    /// When this system first saw the change.
    #[cfg_attr(
        feature = "schema",
        schemars(schema_with = "crate::event::json_schema::date_time")
    )]
    pub observed_at: DateTime<Utc>,
    /// Whether `occurred_at` is exact or only observed.
    pub time_precision: TimePrecision,
    /// Who made the change, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<Actor>,
    /// The order, for order and item events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<OrderRef>,
    /// The driver, for driver events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "schema",
        schemars(schema_with = "crate::event::json_schema::optional_guid")
    )]
    pub driver: Option<UserId>,
    /// OnTime's own values for the status entry, for order and item events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ontime: Option<OnTimeStatus>,
    /// The GS1 EPCIS 2.0 projection, where one fits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epcis: Option<Epcis>,
    /// For `item.custody_changed`: the parcel and its holders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custody: Option<Custody>,
    /// For `driver.availability_changed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability: Option<Availability>,
    /// For `driver.position`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
}

impl Event {
    /// The subject string of an order: `order:{guid}`.
    pub fn order_subject(order: OrderId) -> String {
        format!("order:{order}")
    }

    /// The subject string of a driver: `driver:{guid}`.
    pub fn driver_subject(driver: UserId) -> String {
        format!("driver:{driver}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc_4648_vectors() {
        // RFC 4648 section 10, lower-cased and without padding.
        for (input, expected) in [
            ("", ""),
            ("f", "my"),
            ("fo", "mzxq"),
            ("foo", "mzxw6"),
            ("foob", "mzxw6yq"),
            ("fooba", "mzxw6ytb"),
            ("foobar", "mzxw6ytboi"),
        ] {
            let mut out = String::new();
            base32_lower(input.as_bytes(), &mut out);
            assert_eq!(out, expected, "base32 of {input:?}");
        }
    }

    #[test]
    fn event_ids_are_stable_and_length_prefixed() {
        let id = EventId::from_source(&["acme", "order", "x"]);
        assert!(id.as_str().starts_with("evt_"));
        assert_eq!(id.as_str().len(), 4 + 32);
        assert_eq!(id, EventId::from_source(&["acme", "order", "x"]));
        // Moving a boundary between parts changes the id.
        assert_ne!(
            EventId::from_source(&["ab", "c"]),
            EventId::from_source(&["a", "bc"])
        );
        // The text form is pinned (recomputed independently with Python's hashlib and base64):
        // changing the hash input would change every stored id.
        assert_eq!(
            EventId::from_source(&["acme"]).as_str(),
            "evt_6vzakju5fu7f4ubohpegnscbplqqcd6w"
        );
    }

    #[test]
    fn event_types_round_trip_through_their_names() {
        for ty in EventType::ALL {
            assert_eq!(ty.as_str().parse::<EventType>(), Ok(*ty));
            assert_eq!(
                serde_json::to_string(ty).unwrap(),
                format!("\"{}\"", ty.as_str())
            );
        }
        assert_eq!(EventType::ALL.len(), 14);
        assert!("order.teleported".parse::<EventType>().is_err());
    }
}
