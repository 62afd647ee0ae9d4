//! From OnTime's status level and label to a canonical [`EventType`], and from the type to its
//! GS1 EPCIS projection.
//!
//! A status entry is classified by the first of these that applies:
//!
//! 1. the account's own [`LabelOverrides`] (label → type; customers name their statuses);
//! 2. the cancelled levels (4 Cancelled, 5 CancelledBillable) → `order.cancelled`, whatever the label;
//! 3. [`LABEL_RULES`]: a keyword contained in the label (ASCII case-insensitive), except that an
//!    in-transit keyword at a step with another driver than the previous step's is a transfer
//!    (OnTime names level 2 "In Transit" by default: a hand-over mid-route carries that label);
//! 4. the driver at this step compared with the previous step's ([`classify`]): another driver at
//!    an assigned level → `order.transferred`; back to an unassigned level after a driver had it →
//!    `order.unassigned`;
//! 5. [`LEVEL_RULES`]: the level alone.
//!
//! | Level (code)            | Label keyword (any case)                                           | Type                   |
//! |-------------------------|--------------------------------------------------------------------|------------------------|
//! | any                     | per-account override                                               | as configured          |
//! | Cancelled (4), CancelledBillable (5) | —                                                     | `order.cancelled`      |
//! | any                     | `exception`, `fail`, `not home`, `refused`, `damage`, `attempt`, `returned`, `lost` | `order.exception` |
//! | any but Delivered (3)   | `picked up`, `pickup`, `collected`                                 | `order.picked_up`      |
//! | any but Delivered (3)   | `out for delivery`, `in transit`                                   | `order.in_transit` (`order.transferred` at 2 or 6 with another driver) |
//! | Assigned (6), AssignedInRoute (2) | — (another driver than at the previous step)            | `order.transferred`    |
//! | Dispatched (1), UnassignedStored (8) | — (a driver had it at the previous step)             | `order.unassigned`     |
//! | None (0), Quoted (9)    | —                                                                  | `order.created`        |
//! | Dispatched (1)          | —                                                                  | `order.submitted`      |
//! | Assigned (6)            | —                                                                  | `order.assigned`       |
//! | AssignedInRoute (2)     | — (first time at this level)                                       | `order.picked_up`      |
//! | AssignedInRoute (2)     | — (again)                                                          | `order.in_transit`     |
//! | Delivered (3)           | —                                                                  | `order.delivered`      |
//! | UnassignedStored (8)    | —                                                                  | `order.unassigned`     |
//! | Stored (7), unknown     | —                                                                  | `order.status_changed` |
//!
//! EPCIS ([`epcis_for`]): `order.picked_up` → `departing` / `in_transit`; `order.in_transit`,
//! `order.transferred` → `transporting` / `in_transit`; `order.delivered` → `accepting` (CBV has no
//! delivered disposition); `order.cancelled` → `void_shipping`; `item.custody_changed` → by the new
//! holder: a driver `loading` / `in_transit`, storage `storing`, the consignee `accepting`.
//! Other types have no EPCIS projection.

use std::collections::BTreeMap;

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::{Custodian, Epcis, EventType};

/// OnTime level codes used by the table.
mod level {
    pub const NONE: i64 = 0;
    pub const DISPATCHED: i64 = 1;
    pub const ASSIGNED_IN_ROUTE: i64 = 2;
    pub const DELIVERED: i64 = 3;
    pub const CANCELLED: i64 = 4;
    pub const CANCELLED_BILLABLE: i64 = 5;
    pub const ASSIGNED: i64 = 6;
    pub const STORED: i64 = 7;
    pub const UNASSIGNED_STORED: i64 = 8;
    pub const QUOTED: i64 = 9;
}
pub(crate) use level::{ASSIGNED_IN_ROUTE, STORED, UNASSIGNED_STORED};

/// A label keyword rule: a label containing any of `keywords` (ASCII case-insensitive) maps to
/// `event_type`, unless the level is one of `except_levels`.
#[derive(Clone, Copy, Debug)]
pub struct LabelRule {
    /// Lower-case keywords; one contained in the label is enough.
    pub keywords: &'static [&'static str],
    /// Levels (codes) at which the rule does not apply.
    pub except_levels: &'static [i64],
    /// The type given.
    pub event_type: EventType,
}

/// The label keyword rules, tried in order (see the module table).
pub const LABEL_RULES: &[LabelRule] = &[
    LabelRule {
        keywords: &[
            "exception",
            "fail",
            "not home",
            "refused",
            "damage",
            "attempt",
            "returned",
            "lost",
        ],
        except_levels: &[],
        event_type: EventType::OrderException,
    },
    LabelRule {
        keywords: &["picked up", "pickup", "collected"],
        except_levels: &[level::DELIVERED],
        event_type: EventType::OrderPickedUp,
    },
    LabelRule {
        keywords: &["out for delivery", "in transit"],
        except_levels: &[level::DELIVERED],
        event_type: EventType::OrderInTransit,
    },
];

/// A level rule: the type of a status entry at `level` that no earlier rule classified.
#[derive(Clone, Copy, Debug)]
pub struct LevelRule {
    /// The level's code.
    pub level: i64,
    /// The type the first time the order reaches this level.
    pub first: EventType,
    /// The type when the order was at this level before.
    pub again: EventType,
}

/// The level rules (see the module table); a level not listed gives `order.status_changed`.
pub const LEVEL_RULES: &[LevelRule] = &[
    LevelRule::same(level::NONE, EventType::OrderCreated),
    LevelRule::same(level::QUOTED, EventType::OrderCreated),
    LevelRule::same(level::DISPATCHED, EventType::OrderSubmitted),
    LevelRule::same(level::ASSIGNED, EventType::OrderAssigned),
    LevelRule {
        level: level::ASSIGNED_IN_ROUTE,
        first: EventType::OrderPickedUp,
        again: EventType::OrderInTransit,
    },
    LevelRule::same(level::DELIVERED, EventType::OrderDelivered),
    LevelRule::same(level::CANCELLED, EventType::OrderCancelled),
    LevelRule::same(level::CANCELLED_BILLABLE, EventType::OrderCancelled),
    LevelRule::same(level::STORED, EventType::OrderStatusChanged),
    LevelRule::same(level::UNASSIGNED_STORED, EventType::OrderUnassigned),
];

impl LevelRule {
    const fn same(level: i64, event_type: EventType) -> Self {
        Self {
            level,
            first: event_type,
            again: event_type,
        }
    }
}

/// An account's own label names: a status label (compared trimmed and ASCII case-insensitive)
/// mapped to the type it means. Checked before every built-in rule.
///
/// In configuration (TOML or JSON) it is a plain map: `{ "Left with neighbour" = "order.delivered" }`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LabelOverrides(BTreeMap<String, EventType>);

impl LabelOverrides {
    /// No overrides.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the type of `label`.
    pub fn with(mut self, label: &str, event_type: EventType) -> Self {
        self.0.insert(normalise(label), event_type);
        self
    }

    /// Whether no label is overridden.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The configured type of `label`, if any.
    pub fn get(&self, label: &str) -> Option<EventType> {
        if self.0.is_empty() {
            return None;
        }
        // Keys may have been written by hand (deserialised) without normalising.
        let wanted = normalise(label);
        self.0
            .iter()
            .find(|(key, _)| normalise(key) == wanted)
            .map(|(_, ty)| *ty)
    }
}

fn normalise(label: &str) -> String {
    label.trim().to_ascii_lowercase()
}

/// What the event model needs to know about an OnTime account.
///
/// In configuration: `account = "acme"`, `time_zone = "America/Chicago"` (an IANA name) and,
/// optionally, `labels` (see [`LabelOverrides`]); any other field is an error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    /// The account's name (company ID); part of every event id and every event.
    pub account: String,
    /// The account's IANA time zone, in which OnTime writes its offset-less times.
    pub time_zone: Tz,
    /// The account's own label names.
    #[serde(default, skip_serializing_if = "LabelOverrides::is_empty")]
    pub labels: LabelOverrides,
}

impl AccountConfig {
    /// An account with no label overrides.
    pub fn new(account: impl Into<String>, time_zone: Tz) -> Self {
        Self {
            account: account.into(),
            time_zone,
            labels: LabelOverrides::new(),
        }
    }

    /// Replaces the label overrides.
    pub fn labels(mut self, labels: LabelOverrides) -> Self {
        self.labels = labels;
        self
    }
}

/// The context [`classify`] needs besides the entry itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Classification {
    /// Whether the order was at the entry's level at an earlier step.
    pub level_seen_before: bool,
    /// Whether a driver was assigned at the previous step.
    pub had_driver: bool,
    /// Whether a driver other than the previous step's (both known) is assigned now.
    pub driver_changed: bool,
}

/// The type of a status entry with `level` (code) and `label` (see the module table).
pub fn classify(
    overrides: &LabelOverrides,
    level: Option<i64>,
    label: Option<&str>,
    context: Classification,
) -> EventType {
    let label = label.map(str::trim).filter(|l| !l.is_empty());
    if let Some(ty) = label.and_then(|l| overrides.get(l)) {
        return ty;
    }
    if matches!(level, Some(level::CANCELLED | level::CANCELLED_BILLABLE)) {
        return EventType::OrderCancelled;
    }
    let transferred =
        context.driver_changed && matches!(level, Some(level::ASSIGNED | level::ASSIGNED_IN_ROUTE));
    if let Some(label) = label {
        let lower = label.to_ascii_lowercase();
        for rule in LABEL_RULES {
            let excluded = level.is_some_and(|l| rule.except_levels.contains(&l));
            if !excluded && rule.keywords.iter().any(|k| lower.contains(k)) {
                // "In Transit" (OnTime's own name of the level) says nothing a hand-over to
                // another driver does not: the transfer is the news.
                if transferred && rule.event_type == EventType::OrderInTransit {
                    return EventType::OrderTransferred;
                }
                return rule.event_type;
            }
        }
    }
    match level {
        Some(level::ASSIGNED | level::ASSIGNED_IN_ROUTE) if transferred => {
            return EventType::OrderTransferred;
        }
        Some(level::DISPATCHED | level::UNASSIGNED_STORED) if context.had_driver => {
            return EventType::OrderUnassigned;
        }
        _ => {}
    }
    LEVEL_RULES
        .iter()
        .find(|rule| Some(rule.level) == level)
        .map_or(EventType::OrderStatusChanged, |rule| {
            if context.level_seen_before {
                rule.again
            } else {
                rule.first
            }
        })
}

/// The EPCIS projection of an event of type `event_type` (for custody: of a change to `holder`).
pub fn epcis_for(event_type: EventType, holder: Option<&Custodian>) -> Option<Epcis> {
    let (biz_step, disposition) = match (event_type, holder) {
        (EventType::OrderPickedUp, _) => ("departing", Some("in_transit")),
        (EventType::OrderInTransit | EventType::OrderTransferred, _) => {
            ("transporting", Some("in_transit"))
        }
        (EventType::OrderDelivered, _) => ("accepting", None),
        (EventType::OrderCancelled, _) => ("void_shipping", None),
        (EventType::ItemCustodyChanged, Some(Custodian::Driver { .. })) => {
            ("loading", Some("in_transit"))
        }
        (EventType::ItemCustodyChanged, Some(Custodian::Storage)) => ("storing", None),
        (EventType::ItemCustodyChanged, Some(Custodian::Consignee)) => ("accepting", None),
        _ => return None,
    };
    Some(Epcis {
        biz_step: biz_step.to_owned(),
        disposition: disposition.map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(level: i64, label: Option<&str>) -> EventType {
        classify(
            &LabelOverrides::new(),
            Some(level),
            label,
            Classification::default(),
        )
    }

    #[test]
    fn every_level_has_its_documented_type() {
        let expected = [
            (0, EventType::OrderCreated),
            (1, EventType::OrderSubmitted),
            (2, EventType::OrderPickedUp),
            (3, EventType::OrderDelivered),
            (4, EventType::OrderCancelled),
            (5, EventType::OrderCancelled),
            (6, EventType::OrderAssigned),
            (7, EventType::OrderStatusChanged),
            (8, EventType::OrderUnassigned),
            (9, EventType::OrderCreated),
            (42, EventType::OrderStatusChanged),
        ];
        for (level, ty) in expected {
            assert_eq!(plain(level, None), ty, "level {level}");
        }
        let again = Classification {
            level_seen_before: true,
            ..Classification::default()
        };
        assert_eq!(
            classify(&LabelOverrides::new(), Some(2), None, again),
            EventType::OrderInTransit
        );
        assert_eq!(
            classify(&LabelOverrides::new(), None, None, again),
            EventType::OrderStatusChanged
        );
    }

    #[test]
    fn labels_refine_the_level() {
        assert_eq!(
            plain(3, Some("Not home — left card")),
            EventType::OrderException
        );
        assert_eq!(plain(2, Some("FAILED ATTEMPT")), EventType::OrderException);
        assert_eq!(plain(6, Some("Picked up")), EventType::OrderPickedUp);
        assert_eq!(
            plain(2, Some("Out for delivery")),
            EventType::OrderInTransit
        );
        // A delivered entry whose label mentions the pickup is still a delivery.
        assert_eq!(
            plain(3, Some("Delivered after pickup")),
            EventType::OrderDelivered
        );
        // Cancellation wins over every keyword.
        assert_eq!(
            plain(4, Some("Failed: customer cancelled")),
            EventType::OrderCancelled
        );
        assert_eq!(plain(3, Some("  ")), EventType::OrderDelivered);
    }

    #[test]
    fn driver_context_gives_transfers_and_unassignments() {
        let changed = Classification {
            had_driver: true,
            driver_changed: true,
            level_seen_before: true,
        };
        let none = LabelOverrides::new();
        assert_eq!(
            classify(&none, Some(2), None, changed),
            EventType::OrderTransferred
        );
        assert_eq!(
            classify(&none, Some(6), None, changed),
            EventType::OrderTransferred
        );
        let dropped = Classification {
            had_driver: true,
            ..Classification::default()
        };
        assert_eq!(
            classify(&none, Some(1), None, dropped),
            EventType::OrderUnassigned
        );
        // A label still says more than the driver context...
        assert_eq!(
            classify(&none, Some(2), Some("Attempt 2 failed"), changed),
            EventType::OrderException
        );
        assert_eq!(
            classify(&none, Some(2), Some("Picked up"), changed),
            EventType::OrderPickedUp
        );
        // ...except OnTime's default "In Transit": a hand-over mid-route is a transfer.
        assert_eq!(
            classify(&none, Some(2), Some("In Transit"), changed),
            EventType::OrderTransferred
        );
        let same = Classification {
            driver_changed: false,
            ..changed
        };
        assert_eq!(
            classify(&none, Some(2), Some("In Transit"), same),
            EventType::OrderInTransit
        );
    }

    #[test]
    fn account_overrides_come_first() {
        let labels = LabelOverrides::new()
            .with("Left with neighbour", EventType::OrderDelivered)
            .with("Picked up", EventType::OrderStatusChanged);
        let ctx = Classification::default();
        assert_eq!(
            classify(&labels, Some(3), Some(" left WITH neighbour "), ctx),
            EventType::OrderDelivered
        );
        assert_eq!(
            classify(&labels, Some(2), Some("Picked up"), ctx),
            EventType::OrderStatusChanged
        );
        // Hand-written configuration keys need not be normalised.
        let from_config: LabelOverrides =
            serde_json::from_str(r#"{"Not Home": "order.delivered"}"#).unwrap();
        assert_eq!(
            classify(&from_config, Some(3), Some("not home"), ctx),
            EventType::OrderDelivered
        );
        assert!(serde_json::from_str::<LabelOverrides>(r#"{"x": "order.nope"}"#).is_err());
    }

    #[test]
    fn account_config_reads_zone_and_labels() {
        let config: AccountConfig = serde_json::from_str(
            r#"{"account": "acme", "time_zone": "Europe/Berlin",
                "labels": {"Left with neighbour": "order.delivered"}}"#,
        )
        .unwrap();
        assert_eq!(config.time_zone, chrono_tz::Europe::Berlin);
        assert_eq!(
            config.labels.get("left with neighbour"),
            Some(EventType::OrderDelivered)
        );
        let plain: AccountConfig =
            serde_json::from_str(r#"{"account": "acme", "time_zone": "UTC"}"#).unwrap();
        assert!(plain.labels.is_empty());
        for bad in [
            r#"{"account": "acme", "time_zone": "Mars/Olympus"}"#,
            r#"{"account": "acme", "time_zone": "UTC", "timezone": "UTC"}"#,
        ] {
            assert!(serde_json::from_str::<AccountConfig>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn epcis_projection() {
        let delivered = epcis_for(EventType::OrderDelivered, None).unwrap();
        assert_eq!(delivered.biz_step, "accepting");
        assert_eq!(delivered.disposition, None);
        let loading = epcis_for(
            EventType::ItemCustodyChanged,
            Some(&Custodian::Driver { id: None }),
        )
        .unwrap();
        assert_eq!(
            (loading.biz_step.as_str(), loading.disposition.as_deref()),
            ("loading", Some("in_transit"))
        );
        assert_eq!(epcis_for(EventType::OrderCreated, None), None);
        assert_eq!(
            epcis_for(EventType::ItemCustodyChanged, Some(&Custodian::Shipper)),
            None
        );
    }
}
