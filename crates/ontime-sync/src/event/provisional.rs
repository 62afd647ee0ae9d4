//! Provisional events (a status change seen in a poll, time observed) and their upgrade to exact
//! events when the order's status history arrives, under the same `event_id`.
//!
//! # The rule
//!
//! A poll diff knows only that an order is now at a level it was not at in the previous poll.
//! When the budget allows no history fetch right away, the collector stores a *provisional*
//! event: time precision `observed` (`occurred_at` is when the poll saw the change), OnTime's
//! level but no status entry ID, no label. Its id is keyed on what the diff knows and the
//! collector's stored state, so that every worker and every restart computes the same id:
//!
//! `event_id = hash("order-status-observed", account, order, level code, k)`, where `k` is the
//! number of the order's stored status events at that level plus one (its first, second, ...
//! visit of the level as far as the store knows).
//!
//! When the history arrives, [`reconcile`] takes the events derived from it (exact) and the
//! order's stored events:
//!
//! 1. A derived event whose id is stored is left as is (the store drops it as a duplicate).
//! 2. A derived event for a status entry the store already holds under another id (an earlier
//!    upgrade: same OnTime status entry ID, or for anonymous entries the same level and time)
//!    takes the stored id, so it too is a duplicate. This keeps a re-derivation after an upgrade
//!    from storing the entry twice.
//! 3. The remaining status events are matched to the stored provisional events, level by level:
//!    the provisional events at a level, latest first, each take the latest unmatched entry
//!    at that level that occurred by the time the poll saw it (in history order, before the
//!    entry the next provisional event took; the latest unmatched one when none occurred by then). A matched event takes the provisional id and is
//!    returned as an **upgrade**: the store rewrites the row in place (`occurred_at`, precision
//!    `exact`, type, label, description, status entry ID, actor, EPCIS) keeping its position and
//!    sequence, and queues it again in the outbox of the commit's destinations, so consumers
//!    receive a second copy with the same `event_id` and `time_precision: "exact"` (an update:
//!    consumers keep the last copy per `event_id`).
//! 4. Everything else is new.
//!
//! # What polls miss
//!
//! A poll sees only where an order is, not how it got there. If an order goes A→B→A between two
//! polls, the diff sees nothing at all (it was at A and is at A); if it goes A→B→C, the diff sees
//! C only. Those missed transitions appear when a history is fetched (for this or a later move) as
//! new exact events, with sequences *after* the provisional event they preceded in reality: the
//! store never renumbers, so sequence order is commit order, and `occurred_at` is what orders
//! them in time. The provisional event at a level is matched to the *latest* entry at that level,
//! since that is the one the poll saw — the latest that had occurred by the time the poll saw
//! it: a later label at the same level (picked up, then out for delivery, both in transit) is an
//! event of its own, not the provisional one's content. A provisional event for which the history has no entry at
//! its level (a history that lost entries) stays provisional.
//!
//! Custody events are derived from exact histories only: a provisional status event has none, its
//! custody changes arrive with the history (as new events).
//!
//! A stored event counts as provisional when its precision is `observed` and its OnTime values
//! carry a level but neither a status entry ID nor a label ([`is_provisional`]).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use ontime::StatusLevel;

use super::derive::in_zone;
use super::mapping::{self, Classification};
use super::{AccountConfig, Event, EventId, OnTimeStatus, OrderRef, TimePrecision};

/// The provisional status event for `order` now seen at `level`, given the order's stored
/// events (`stored`, any order; only its status events count). See the [module
/// documentation](self) for the id.
pub fn provisional_status_event(
    account: &AccountConfig,
    order: OrderRef,
    level: &StatusLevel,
    stored: &[Event],
    observed_at: DateTime<Utc>,
) -> Event {
    let code = level.code();
    let earlier = stored
        .iter()
        .filter(|e| is_status_event(e) && level_of(e) == code)
        .count();
    let level_text = code.map_or_else(|| level.to_string(), |c| c.to_string());
    let order_text = order.id.to_string();
    let visit = (earlier + 1).to_string();
    let context = Classification {
        level_seen_before: earlier > 0,
        had_driver: false,
        driver_changed: false,
    };
    let event_type = mapping::classify(&account.labels, code, None, context);
    Event {
        event_id: EventId::from_source(&[
            "order-status-observed",
            &account.account,
            &order_text,
            &level_text,
            &visit,
        ]),
        event_type,
        account: account.account.clone(),
        subject: Event::order_subject(order.id),
        sequence: None,
        occurred_at: in_zone(observed_at, account),
        observed_at,
        time_precision: TimePrecision::Observed,
        actor: None,
        order: Some(order),
        driver: None,
        ontime: Some(OnTimeStatus {
            status_id: None,
            level_code: code,
            level_name: level.name().map(str::to_owned),
            label: None,
            description: None,
        }),
        epcis: mapping::epcis_for(event_type, None),
        custody: None,
        availability: None,
        position: None,
    }
}

/// Whether a stored event is a provisional status event (see the [module documentation](self)).
pub fn is_provisional(event: &Event) -> bool {
    event.time_precision == TimePrecision::Observed
        && is_status_event(event)
        && event
            .ontime
            .as_ref()
            .is_some_and(|o| o.status_id.is_none() && o.label.is_none() && o.description.is_none())
}

/// Derived events sorted against what the store holds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reconciled {
    /// Events to commit as new (or as duplicates the store will drop), in derivation order.
    pub events: Vec<Event>,
    /// Exact events that replace stored provisional ones (same id; the store upgrades the row).
    pub upgrades: Vec<Event>,
}

/// Sorts the events derived from an order's history (`derived`, in derivation order) against
/// the order's stored events (`stored`, in sequence order). See the [module
/// documentation](self) for the rule.
pub fn reconcile(derived: Vec<Event>, stored: &[Event]) -> Reconciled {
    let stored_ids: HashSet<&EventId> = stored.iter().map(|e| &e.event_id).collect();
    let mut by_entry: HashMap<EntryKey, EventId> = HashMap::new();
    for event in stored.iter().filter(|e| !is_provisional(e)) {
        if let Some(key) = entry_key(event) {
            by_entry
                .entry(key)
                .or_insert_with(|| event.event_id.clone());
        }
    }

    // Steps 1 and 2; collect the candidates for step 3 per level.
    let mut derived = derived;
    let mut candidates: HashMap<Option<i64>, Vec<usize>> = HashMap::new();
    for (index, event) in derived.iter_mut().enumerate() {
        if stored_ids.contains(&event.event_id) || !is_status_event(event) {
            continue;
        }
        if let Some(id) = entry_key(event).and_then(|k| by_entry.get(&k)) {
            event.event_id = id.clone();
            continue;
        }
        candidates.entry(level_of(event)).or_default().push(index);
    }

    // Step 3: the provisional events of each level take the latest unmatched entries.
    let mut provisional: HashMap<Option<i64>, Vec<&Event>> = HashMap::new();
    for event in stored.iter().filter(|e| is_provisional(e)) {
        provisional.entry(level_of(event)).or_default().push(event);
    }
    let mut upgrade_at: HashMap<usize, EventId> = HashMap::new();
    for (level, waiting) in &provisional {
        let Some(entries) = candidates.get(level) else {
            continue;
        };
        for (index, id) in match_level(&derived, entries, waiting) {
            upgrade_at.insert(index, id);
        }
    }

    let mut out = Reconciled::default();
    for (index, mut event) in derived.into_iter().enumerate() {
        if let Some(id) = upgrade_at.remove(&index) {
            event.event_id = id;
            out.upgrades.push(event);
        } else {
            out.events.push(event);
        }
    }
    out
}

/// Pairs the provisional events of one level (`waiting`, in sequence order) with entries of
/// that level (`entries`: indexes into `derived`, in history order), the latest first: each
/// provisional event takes the latest entry not yet taken that lies before the entry its
/// successor took and occurred at or before the moment the poll saw it (what the poll saw then
/// was the order's latest entry at that level, not a later label at the same level); where no
/// entry occurred by then (OnTime's clock ahead of ours), the latest entry not yet taken.
fn match_level(derived: &[Event], entries: &[usize], waiting: &[&Event]) -> Vec<(usize, EventId)> {
    let mut matched = Vec::new();
    // Entries at positions below `limit` are still free (entries taken go from the end).
    let mut limit = entries.len();
    for provisional in waiting.iter().rev() {
        if limit == 0 {
            break;
        }
        let seen = provisional.observed_at;
        let free = &entries[..limit];
        let at = free
            .iter()
            .rposition(|&i| derived[i].occurred_at.with_timezone(&Utc) <= seen)
            .unwrap_or(limit - 1);
        matched.push((entries[at], provisional.event_id.clone()));
        limit = at;
    }
    matched
}

/// What names a status entry independently of event ids.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum EntryKey {
    Status(ontime::StatusId),
    Anonymous(Option<i64>, i64),
}

fn entry_key(event: &Event) -> Option<EntryKey> {
    let ontime = event.ontime.as_ref()?;
    if event.time_precision != TimePrecision::Exact {
        return ontime.status_id.map(EntryKey::Status);
    }
    Some(match ontime.status_id {
        Some(id) => EntryKey::Status(id),
        None => EntryKey::Anonymous(ontime.level_code, event.occurred_at.timestamp_micros()),
    })
}

fn is_status_event(event: &Event) -> bool {
    event.order.is_some() && event.custody.is_none() && event.ontime.is_some()
}

fn level_of(event: &Event) -> Option<i64> {
    event.ontime.as_ref().and_then(|o| o.level_code)
}
