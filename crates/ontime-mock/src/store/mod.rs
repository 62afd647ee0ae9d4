//! The simulator's records.
//!
//! Layout: every record type except orders is a small table of the generated `ontime_raw::types`
//! records (`IndexMap` by GUID, in insertion order, with creation and modification times).
//! Orders are a `Vec` of slots: a seeded order is a compact row of about 40 bytes that refers to
//! customers, contacts, locations and users by index and derives everything else (items, status
//! history, prices, reference numbers, attachments) from the seed when it is read; an order
//! that was posted or changed through the API is a full `types::Order` with its status history.
//! Seeded orders, items, statuses and attachments have GUIDs that decode to their row
//! ([`crate::ids`]), so a million seeded orders need no GUID index.
//!
//! Here: the tables, the [`Store`] and its order slots. Beside it: `seeded` (a seeded order
//! read whole), `lookup` (the orders finder; items, statuses, attachments and signatures by
//! GUID), `quote` (prices of orders) and `changes` (OnTime's upsert, posted orders, status
//! updates, items and attachments).

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use chrono::{DateTime, NaiveDateTime};
use indexmap::IndexMap;
use ontime_raw::lenient::{LenientEnum, OnTimeDateTime, StatusLevel};
use ontime_raw::types;
use rand::RngCore;
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use crate::http_util::ApiError;
use crate::ids::{IdCodec, Tag, hash3};
use crate::pricing::Pricing;

mod changes;
mod lookup;
mod quote;
mod seeded;

pub(crate) use changes::{check_order_enums, upsert};
pub(crate) use lookup::OrderFilter;

/// A record with its bookkeeping times.
#[derive(Clone, Debug)]
pub(crate) struct Row<T> {
    pub rec: T,
    pub created: NaiveDateTime,
    pub modified: NaiveDateTime,
}

pub(crate) type Table<T> = IndexMap<Uuid, Row<T>>;

/// The generated record types the store keeps in tables.
pub(crate) trait Record: Clone {
    const NAME: &'static str;
    fn set_id(&mut self, id: Uuid);
    fn clear_extra(&mut self);
}

macro_rules! record {
    ($($t:ident),*) => {$(
        impl Record for types::$t {
            const NAME: &'static str = stringify!($t);
            fn set_id(&mut self, id: Uuid) { self.id = Some(id.into()); }
            fn clear_extra(&mut self) { self.extra.clear(); }
        }
    )*};
}
record!(
    Contact,
    Customer,
    Department,
    Invoice,
    Item,
    Location,
    Payment,
    PriceModifier,
    PriceSet,
    User,
    UserMiscCompensation,
    UserSession,
    Vehicle,
    Zone,
    UserPosition,
    UserAvailability,
    Status,
    Order
);

/// A record with every field unset.
pub(crate) fn blank_record<T, B>() -> T
where
    B: Default,
    T: TryFrom<B>,
{
    match T::try_from(B::default()) {
        Ok(t) => t,
        Err(_) => unreachable!("generated builders default every field"),
    }
}

macro_rules! blank {
    ($t:ident) => {
        $crate::store::blank_record::<ontime_raw::types::$t, ontime_raw::types::builder::$t>()
    };
}
pub(crate) use blank;

pub(crate) fn dt(t: NaiveDateTime) -> OnTimeDateTime {
    OnTimeDateTime::naive(t)
}

pub(crate) fn secs(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp()
}

pub(crate) fn from_secs(s: i64) -> NaiveDateTime {
    DateTime::from_timestamp(s, 0)
        .map(|d| d.naive_utc())
        .unwrap_or_default()
}

/// The UI's label of a status level (KB a287), used as the status `Name`.
pub(crate) fn status_name(level: &StatusLevel) -> &'static str {
    match level {
        StatusLevel::None => "Entered",
        StatusLevel::Dispatched => "Submitted",
        StatusLevel::AssignedInRoute => "In Transit",
        StatusLevel::Delivered => "Completed",
        StatusLevel::Cancelled => "Canceled",
        StatusLevel::CancelledBillable => "Canceled (Billable)",
        StatusLevel::Assigned => "Assigned",
        StatusLevel::Stored => "Stored",
        StatusLevel::UnassignedStored => "Unassigned",
        StatusLevel::Quoted => "Quoted",
        _ => "Unknown",
    }
}

/// Seeded order flags.
pub(crate) const F_SIGNATURE: u8 = 1;
pub(crate) const F_ATTACHMENT: u8 = 2;
pub(crate) const F_COD: u8 = 4;
pub(crate) const F_COLLECTION_SIGNATURE: u8 = 8;
pub(crate) const NONE16: u16 = u16::MAX;
pub(crate) const NONE32: u32 = u32::MAX;

/// A seeded order: indexes into the other tables plus what finders filter on.
#[derive(Clone, Debug)]
pub(crate) struct SeedOrder {
    pub submitted: i64,
    pub customer: u32,
    pub collection: u32,
    pub delivery: u32,
    pub contact: u32,
    pub department: u32,
    pub dispatcher: u16,
    pub driver: u16,
    pub price_set: u16,
    pub level: u8,
    pub items: u8,
    pub flags: u8,
}

/// An order posted or changed through the API.
#[derive(Clone, Debug)]
pub(crate) struct FullOrder {
    pub order: types::Order,
    pub history: Vec<types::Status>,
    /// The seed flags (signatures, attachment) of a seeded order changed through the API.
    pub flags: u8,
}

#[derive(Clone, Debug)]
pub(crate) enum Slot {
    Seed(SeedOrder),
    Full(Box<FullOrder>),
}

/// A file attached to an order through the API.
#[derive(Clone, Debug)]
pub(crate) struct Attachment {
    pub order: u32,
    pub file_name: String,
    pub contents: Bytes,
    pub timestamp: NaiveDateTime,
}

/// Whose credentials an authenticate call checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CredentialKind {
    /// `users/authenticate`.
    User,
    /// `contacts/authenticate`.
    Contact,
    /// `customers/authenticate`.
    Customer,
}

/// Geography of a location, kept beside the table for pricing.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Geo {
    pub lat_lng: Option<(f64, f64)>,
}

/// All records of one simulated account.
#[derive(Debug)]
pub struct Store {
    pub(crate) seed: u64,
    /// Which word lists the seeded data (and lazily built orders) draw from.
    pub(crate) seed_version: crate::SeedVersion,
    pub(crate) codec: IdCodec,
    /// The clock's time when the data was seeded.
    pub(crate) anchor: NaiveDateTime,
    pub(crate) rng: ChaCha8Rng,
    pub(crate) zones: Table<types::Zone>,
    pub(crate) locations: Table<types::Location>,
    pub(crate) geo: Vec<Geo>,
    pub(crate) customers: Table<types::Customer>,
    pub(crate) contacts: Table<types::Contact>,
    pub(crate) departments: Table<types::Department>,
    pub(crate) price_modifiers: Table<types::PriceModifier>,
    pub(crate) price_sets: Table<types::PriceSet>,
    pub(crate) pricing: HashMap<Uuid, Pricing>,
    pub(crate) users: Table<types::User>,
    pub(crate) drivers: Vec<u16>,
    pub(crate) vehicles: Table<types::Vehicle>,
    pub(crate) sessions: Table<types::UserSession>,
    pub(crate) compensations: Table<types::UserMiscCompensation>,
    pub(crate) invoices: Table<types::Invoice>,
    pub(crate) payments: Table<types::Payment>,
    pub(crate) availability: HashMap<Uuid, types::UserAvailability>,
    pub(crate) positions: HashMap<Uuid, Vec<types::UserPosition>>,
    pub(crate) credentials: HashMap<(CredentialKind, String), (String, Uuid)>,
    pub(crate) vehicle_types: Vec<types::VehicleType>,
    pub(crate) orders: Vec<Slot>,
    pub(crate) seeded_orders: u32,
    pub(crate) first_tracking: u64,
    pub(crate) next_tracking: u64,
    pub(crate) next_invoice_number: i64,
    pub(crate) order_index: HashMap<Uuid, u32>,
    pub(crate) tracking_index: HashMap<String, Vec<u32>>,
    pub(crate) item_index: HashMap<Uuid, u32>,
    pub(crate) status_index: HashMap<Uuid, u32>,
    pub(crate) attachments: IndexMap<Uuid, Attachment>,
    pub(crate) deleted_attachments: HashSet<Uuid>,
}

/// Checks that an enum value of a posted record is one the spec lists (the simulator answers
/// only conformant values, so it refuses to store others, as .NET refuses unknown enum names).
pub(crate) fn check_enum<E: LenientEnum>(value: &Option<E>, field: &str) -> Result<(), ApiError> {
    match value {
        Some(v) if v.is_unknown() => Err(ApiError::bad_request(format!(
            "Error converting value {v:?} to type '{field}'."
        ))),
        _ => Ok(()),
    }
}

impl Store {
    pub(crate) fn new_id(&mut self) -> Uuid {
        let mut bytes = [0u8; 16];
        self.rng.fill_bytes(&mut bytes);
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }

    pub(crate) fn h(&self, idx: u32, salt: u64) -> u64 {
        hash3(self.seed, u64::from(idx), salt)
    }

    // ------------------------------------------------------------------ lookups

    /// The slot index of an order.
    pub(crate) fn order_idx(&self, id: Uuid) -> Option<u32> {
        if let Some((Tag::Order, row, 0)) = self.codec.decode(id)
            && row < self.seeded_orders
        {
            return Some(row);
        }
        self.order_index.get(&id).copied()
    }

    /// The slot index of an order by tracking number (the first match).
    pub(crate) fn order_by_tracking(&self, tracking: &str) -> Option<u32> {
        let tracking = tracking.trim();
        if let Some(v) = self.tracking_index.get(tracking).and_then(|v| v.first()) {
            return Some(*v);
        }
        let n: u64 = tracking.parse().ok()?;
        let idx = u32::try_from(n.checked_sub(self.first_tracking)?).ok()?;
        match self.orders.get(idx as usize)? {
            Slot::Seed(_) if idx < self.seeded_orders => Some(idx),
            _ => None,
        }
    }

    pub(crate) fn order_id(&self, idx: u32) -> Uuid {
        match &self.orders[idx as usize] {
            Slot::Seed(_) => self.codec.encode(Tag::Order, idx, 0),
            Slot::Full(f) => f.order.id.map(Uuid::from).unwrap_or_default(),
        }
    }

    /// The customer of an order (for key scopes).
    pub(crate) fn order_customer(&self, idx: u32) -> Option<Uuid> {
        match &self.orders[idx as usize] {
            Slot::Seed(s) => self
                .customers
                .get_index(s.customer as usize)
                .map(|(id, _)| *id),
            Slot::Full(f) => f.order.customer.map(Into::into),
        }
    }

    pub(crate) fn order_tracking(&self, idx: u32) -> String {
        match &self.orders[idx as usize] {
            Slot::Seed(_) => (self.first_tracking + u64::from(idx)).to_string(),
            Slot::Full(f) => f.order.tracking_number.clone().unwrap_or_default(),
        }
    }

    pub(crate) fn order_count(&self) -> usize {
        self.orders.len()
    }

    /// A materialised order.
    pub(crate) fn order(&self, idx: u32) -> types::Order {
        match &self.orders[idx as usize] {
            Slot::Seed(s) => self.seed_order(idx, s),
            Slot::Full(f) => f.order.clone(),
        }
    }

    /// An order's status history, oldest first.
    pub(crate) fn history(&self, idx: u32) -> Vec<types::Status> {
        match &self.orders[idx as usize] {
            Slot::Seed(s) => {
                let contact = self
                    .contacts
                    .get_index(s.contact as usize)
                    .and_then(|(_, r)| r.rec.name.clone())
                    .unwrap_or_default();
                self.seed_statuses(idx, s, &contact)
            }
            Slot::Full(f) => {
                let mut h = f.history.clone();
                h.sort_by_key(|s| s.timestamp.map(|t| t.naive_local()));
                h
            }
        }
    }

    /// The seed flags of an order (kept when a seeded order is changed through the API).
    pub(crate) fn flags(&self, idx: u32) -> u8 {
        match &self.orders[idx as usize] {
            Slot::Seed(s) => s.flags,
            Slot::Full(f) => f.flags,
        }
    }

    /// Turns an order into a full record (for changes) and returns it.
    pub(crate) fn make_full(&mut self, idx: u32) -> &mut FullOrder {
        if let Slot::Seed(s) = &self.orders[idx as usize] {
            let s = s.clone();
            let order = self.seed_order(idx, &s);
            let history = self.history(idx);
            if let Some(t) = &order.tracking_number {
                self.tracking_index.entry(t.clone()).or_default().push(idx);
            }
            self.orders[idx as usize] = Slot::Full(Box::new(FullOrder {
                order,
                history,
                flags: s.flags,
            }));
        }
        match &mut self.orders[idx as usize] {
            Slot::Full(f) => f,
            Slot::Seed(_) => unreachable!("converted above"),
        }
    }

    // ------------------------------------------------------------------ pricing
}
