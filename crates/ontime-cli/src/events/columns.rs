//! The flat CSV form of an event: one fixed column set for every event type, written once here.
//!
//! Each column says which fields of the event's JSON wire form it holds (`covers`); a test
//! derives events of every type and checks that every field they carry is covered by exactly
//! one column, so a field added to the event model without a column fails the build's tests.
//! The help text and the README list these columns from this table.

use ontime_sync::event::{Actor, Custodian, Event};
use ontime_sync::store::Position;

/// One CSV column.
pub struct Column {
    /// The header.
    pub name: &'static str,
    /// What it holds, for the help text.
    pub about: &'static str,
    /// The dotted paths of the wire form it holds (`position` is the store position); the
    /// test that keeps the columns complete reads them.
    #[cfg_attr(not(test), allow(dead_code))]
    pub covers: &'static [&'static str],
    /// Its value ("" when the event has none).
    pub cell: fn(Option<Position>, &Event) -> Option<String>,
}

macro_rules! columns {
    ($($name:literal [$($path:literal),*] $about:literal => |$p:ident, $e:ident| $cell:expr;)*) => {
        /// Every column, in order.
        pub const COLUMNS: &[Column] = &[$(Column {
            name: $name,
            about: $about,
            covers: &[$($path),*],
            cell: |$p, $e| {
                let _ = (&$p, &$e);
                $cell
            },
        }),*];
    };
}

fn text<T: ToString>(value: Option<T>) -> Option<String> {
    value.map(|v| v.to_string())
}

/// A holder as one cell: `shipper`, `driver:{guid}` (`driver` when unknown), `storage`,
/// `consignee`.
pub fn custodian(holder: &Custodian) -> String {
    match holder {
        Custodian::Shipper => "shipper".into(),
        Custodian::Driver { id: Some(id) } => format!("driver:{id}"),
        Custodian::Driver { id: None } => "driver".into(),
        Custodian::Storage => "storage".into(),
        Custodian::Consignee => "consignee".into(),
    }
}

/// The actor as one cell: `driver:{guid}`.
pub fn actor(actor: &Actor) -> String {
    match actor {
        Actor::Driver { id } => format!("driver:{id}"),
    }
}

columns! {
    "position" ["position"] "the store position (empty for events not stored); resume with --after"
        => |p, e| text(p);
    "event_id" ["event_id"] "the event's deterministic id (the idempotency key)"
        => |p, e| Some(e.event_id.to_string());
    "type" ["type"] "the event type, e.g. order.delivered"
        => |p, e| Some(e.event_type.to_string());
    "account" ["account"] "the OnTime account (company)"
        => |p, e| Some(e.account.clone());
    "subject" ["subject"] "order:{guid} or driver:{guid}"
        => |p, e| Some(e.subject.clone());
    "sequence" ["sequence"] "the per-subject sequence number"
        => |p, e| text(e.sequence);
    "occurred_at" ["occurred_at"] "when it happened, RFC 3339 with the account's offset"
        => |p, e| Some(e.occurred_at.to_rfc3339());
    "precision" ["time_precision"] "exact (OnTime's time) or observed (when it was seen)"
        => |p, e| Some(serde_plain(&e.time_precision));
    "observed_at" ["observed_at"] "when the collector first saw it (UTC)"
        => |p, e| Some(e.observed_at.to_rfc3339());
    "order_id" ["order.id"] "the order's ID"
        => |p, e| text(e.order.as_ref().map(|o| o.id));
    "tracking_number" ["order.tracking_number"] "the order's tracking number"
        => |p, e| e.order.as_ref().and_then(|o| o.tracking_number.clone());
    "driver_id" ["driver"] "the driver, for driver events"
        => |p, e| text(e.driver);
    "actor" ["actor.kind", "actor.id"] "who made the change: driver:{guid}"
        => |p, e| e.actor.as_ref().map(actor);
    "status_id" ["ontime.status_id"] "OnTime's status entry ID"
        => |p, e| text(e.ontime.as_ref().and_then(|o| o.status_id));
    "level_code" ["ontime.level_code"] "OnTime's status level code (0 None ... 9 Quoted)"
        => |p, e| text(e.ontime.as_ref().and_then(|o| o.level_code));
    "level_name" ["ontime.level_name"] "OnTime's status level name"
        => |p, e| e.ontime.as_ref().and_then(|o| o.level_name.clone());
    "label" ["ontime.label"] "OnTime's status label"
        => |p, e| e.ontime.as_ref().and_then(|o| o.label.clone());
    "description" ["ontime.description"] "OnTime's status description"
        => |p, e| e.ontime.as_ref().and_then(|o| o.description.clone());
    "epcis_biz_step" ["epcis.biz_step"] "GS1 CBV business step"
        => |p, e| e.epcis.as_ref().map(|x| x.biz_step.clone());
    "epcis_disposition" ["epcis.disposition"] "GS1 CBV disposition"
        => |p, e| e.epcis.as_ref().and_then(|x| x.disposition.clone());
    "item_tracking_number" ["custody.item_tracking_number"] "the parcel, for item.custody_changed"
        => |p, e| e.custody.as_ref().map(|c| c.item_tracking_number.clone());
    "item_id" ["custody.item_id"] "the parcel's item ID"
        => |p, e| text(e.custody.as_ref().and_then(|c| c.item_id));
    "custody_from" ["custody.from.kind", "custody.from.id"] "who held it before"
        => |p, e| e.custody.as_ref().map(|c| custodian(&c.from));
    "custodian" ["custody.to.kind", "custody.to.id"] "who holds it now"
        => |p, e| e.custody.as_ref().map(|c| custodian(&c.to));
    "available" ["availability.available"] "driver availability (true/false)"
        => |p, e| text(e.availability.as_ref().map(|a| a.available));
    "driver_status" ["availability.status"] "the driver's own status text"
        => |p, e| e.availability.as_ref().and_then(|a| a.status.clone());
    "latitude" ["position.latitude"] "driver position, degrees"
        => |p, e| text(e.position.as_ref().map(|x| x.latitude));
    "longitude" ["position.longitude"] "driver position, degrees"
        => |p, e| text(e.position.as_ref().map(|x| x.longitude));
}

/// A unit enum's wire name (`exact`).
fn serde_plain<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        other => other.map(|v| v.to_string()).unwrap_or_default(),
    }
}

/// The header row.
pub fn header() -> impl Iterator<Item = &'static str> {
    COLUMNS.iter().map(|c| c.name)
}

/// One event's row.
pub fn row(position: Option<Position>, event: &Event) -> Vec<String> {
    COLUMNS
        .iter()
        .map(|c| (c.cell)(position, event).unwrap_or_default())
        .collect()
}

/// The column list for help texts: `name  what it holds`, one a line.
pub fn help() -> String {
    let width = COLUMNS.iter().map(|c| c.name.len()).max().unwrap_or(0);
    COLUMNS
        .iter()
        .map(|c| format!("  {:width$}  {}", c.name, c.about))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::events::write::Line;

    /// Every field path of a JSON value's leaves (objects descend, everything else is a leaf).
    fn leaves(value: &serde_json::Value, prefix: &str, out: &mut BTreeSet<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, value) in map {
                    let path = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    leaves(value, &path, out);
                }
            }
            _ => {
                out.insert(prefix.to_owned());
            }
        }
    }

    /// Events of every type, every optional field filled where the model has one.
    fn every_kind() -> Vec<Event> {
        use ontime_sync::event::*;
        let account = AccountConfig::new("acme", chrono_tz::America::Chicago);
        let driver = |n: u128| ontime::UserId::from_uuid(uuid::Uuid::from_u128(n));
        let status = |n: u128, level: i64, label: &str, at: &str| -> ontime::types::Status {
            serde_json::from_value(serde_json::json!({
                "ID": uuid::Uuid::from_u128(0x500 + n).to_string(), "Level": level,
                "Name": label, "Description": "desc", "Timestamp": at
            }))
            .unwrap()
        };
        let now = chrono::Utc::now();
        let step = |s, d: Option<u128>| StatusStep {
            status: s,
            driver: d.map(driver),
            observed_at: now,
        };
        let source = OrderSource {
            order_id: ontime::OrderId::from_uuid(uuid::Uuid::from_u128(0xa1)),
            tracking_number: Some("1000001".into()),
            items: vec![ItemRef {
                id: Some(ontime::ItemId::from_uuid(uuid::Uuid::from_u128(0x11))),
                tracking_number: "1000001-001".into(),
            }],
            steps: vec![
                step(status(1, 0, "Entered", "2026-03-02T08:00:00"), None),
                step(status(2, 1, "Submitted", "2026-03-02T08:01:00"), None),
                step(status(3, 6, "Assigned", "2026-03-02T08:02:00"), Some(1)),
                step(status(4, 2, "Picked up", "2026-03-02T08:03:00"), Some(1)),
                step(status(5, 2, "In transit", "2026-03-02T08:04:00"), Some(2)),
                step(status(6, 7, "Stored", "2026-03-02T08:05:00"), Some(2)),
                step(status(7, 3, "Delivered", "2026-03-02T08:06:00"), Some(2)),
                step(status(8, 4, "Cancelled", "2026-03-02T08:07:00"), Some(2)),
            ],
        };
        let mut events = derive_order_events(&account, &source);
        let at = |t: &str| t.parse::<ontime::OnTimeDateTime>().unwrap();
        events.push(availability_event(
            &account,
            driver(1),
            true,
            Some("On shift".into()),
            at("2026-03-02T08:00:00"),
            now,
        ));
        events.push(
            position_event(
                &account,
                driver(1),
                41.8,
                -87.6,
                at("2026-03-02T08:00:00"),
                now,
            )
            .unwrap(),
        );
        events
    }

    #[test]
    fn every_field_of_every_event_has_exactly_one_column() {
        let events = every_kind();
        let mut fields = BTreeSet::new();
        for mut event in events {
            event.sequence = Some(1);
            let line = serde_json::to_value(Line {
                position: Some(1),
                event: &event,
            })
            .unwrap();
            leaves(&line, "", &mut fields);
            assert_eq!(row(Some(1), &event).len(), COLUMNS.len());
        }
        // The fixture reaches the payload of every kind of event.
        for needed in [
            "custody.item_id",
            "availability.status",
            "position.latitude",
            "actor.id",
            "epcis.disposition",
            "driver",
            "ontime.description",
        ] {
            assert!(
                fields.contains(needed),
                "fixture lacks {needed}: {fields:?}"
            );
        }
        let mut covered = BTreeSet::new();
        for column in COLUMNS {
            for path in column.covers {
                assert!(covered.insert(path.to_string()), "{path} is in two columns");
            }
        }
        let missing: Vec<_> = fields.difference(&covered).collect();
        assert!(missing.is_empty(), "fields without a column: {missing:?}");
        let stale: Vec<_> = covered.difference(&fields).collect();
        assert!(
            stale.is_empty(),
            "columns of fields no event has: {stale:?}"
        );
        let names: BTreeSet<_> = header().collect();
        assert_eq!(names.len(), COLUMNS.len(), "column names are unique");
        assert!(help().contains("item_tracking_number"));
    }
}
