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

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta};
use indexmap::IndexMap;
use ontime_raw::lenient::{LenientEnum, OnTimeDateTime, StatusLevel, TimeSpan};
use ontime_raw::types;
use rand::RngCore;
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use crate::assets;
use crate::http_util::ApiError;
use crate::ids::{IdCodec, Tag, hash3};
use crate::pricing::{self, PriceInput, Pricing, Quote};

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

/// Everything an orders finder filters on (`GET api/orders`).
#[derive(Clone, Debug, Default)]
pub(crate) struct OrderFilter {
    pub customer_name: Option<String>,
    pub collection: Option<Uuid>,
    pub delivery: Option<Uuid>,
    pub day: Option<NaiveDate>,
    pub min: Option<NaiveDateTime>,
    pub max: Option<NaiveDateTime>,
    pub assigned: Option<Uuid>,
    pub incoming: Option<String>,
    pub outgoing: Option<String>,
    pub purchase_order: Option<String>,
    pub reference: Option<String>,
    pub status: Option<StatusLevel>,
    pub tracking: Option<String>,
    pub customer: Option<Uuid>,
}

fn eq_ci(a: Option<&str>, b: &str) -> bool {
    a.is_some_and(|a| a.trim().eq_ignore_ascii_case(b.trim()))
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

    fn h(&self, idx: u32, salt: u64) -> u64 {
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

    fn user_id(&self, idx: u16) -> Option<Uuid> {
        if idx == NONE16 {
            return None;
        }
        self.users.get_index(idx as usize).map(|(id, _)| *id)
    }

    fn user_name(&self, id: Option<Uuid>) -> String {
        id.and_then(|id| self.users.get(&id))
            .map(|u| {
                format!(
                    "{} {}",
                    u.rec.first_name.as_deref().unwrap_or_default(),
                    u.rec.last_name.as_deref().unwrap_or_default()
                )
            })
            .unwrap_or_else(|| "a driver".to_owned())
    }

    // ------------------------------------------------------------------ seeded orders

    /// The status path (levels) and timestamps of a seeded order.
    pub(crate) fn seed_history(
        &self,
        idx: u32,
        s: &SeedOrder,
    ) -> Vec<(StatusLevel, NaiveDateTime)> {
        let path: &[u8] = match s.level {
            9 => &[9],
            1 => &[1],
            6 => &[1, 6],
            2 => &[1, 6, 2],
            3 => &[1, 6, 2, 3],
            4 => &[1, 4],
            5 => &[1, 6, 5],
            7 => &[1, 6, 2, 7],
            8 => &[1, 8],
            _ => &[1],
        };
        let start = secs(self.anchor);
        let age = (start - s.submitted).max(60);
        let h = self.h(idx, 7);
        let step = (600 + (h % 3000) as i64)
            .min(age / (path.len() as i64 + 1))
            .max(1);
        path.iter()
            .enumerate()
            .map(|(k, level)| {
                let jitter = ((h >> (8 * k)) % 300) as i64;
                let t =
                    s.submitted + k as i64 * step + if k == 0 { 0 } else { jitter.min(step / 2) };
                (StatusLevel::from(i64::from(*level)), from_secs(t))
            })
            .collect()
    }

    fn status_description(
        &self,
        level: &StatusLevel,
        driver: Option<Uuid>,
        contact: &str,
    ) -> String {
        match level {
            StatusLevel::Dispatched => "Order submitted".to_owned(),
            StatusLevel::Assigned => format!("Assigned to {}", self.user_name(driver)),
            StatusLevel::AssignedInRoute => format!("Picked up by {}", self.user_name(driver)),
            StatusLevel::Delivered => format!("Delivered, received by {contact}"),
            StatusLevel::Cancelled => "Cancelled at the customer's request".to_owned(),
            StatusLevel::CancelledBillable => "Cancelled after dispatch (billable)".to_owned(),
            StatusLevel::Stored => "Held in storage at the depot".to_owned(),
            StatusLevel::UnassignedStored => "Stored, awaiting a driver".to_owned(),
            StatusLevel::Quoted => "Quote requested".to_owned(),
            _ => String::new(),
        }
    }

    fn seed_statuses(&self, idx: u32, s: &SeedOrder, contact: &str) -> Vec<types::Status> {
        let driver = self.user_id(s.driver);
        self.seed_history(idx, s)
            .into_iter()
            .enumerate()
            .map(|(k, (level, t))| {
                let mut st = blank!(Status);
                st.id = Some(self.codec.encode(Tag::Status, idx, k as u8).into());
                st.name = Some(status_name(&level).to_owned());
                st.description = Some(self.status_description(&level, driver, contact));
                st.timestamp = Some(dt(t));
                st.level = Some(level);
                st
            })
            .collect()
    }

    fn seed_items(
        &self,
        idx: u32,
        s: &SeedOrder,
        tracking: &str,
        order_id: Uuid,
    ) -> Vec<types::Item> {
        (0..s.items)
            .map(|k| {
                let h = self.h(idx, 100 + u64::from(k));
                let mut item = blank!(Item);
                item.id = Some(self.codec.encode(Tag::Item, idx, k).into());
                item.order_id = Some(order_id.into());
                item.tracking_number = Some(format!("{tracking}-{}", k + 1));
                item.description = Some(
                    self.seed_version.words().item_descriptions
                        [(h % self.seed_version.words().item_descriptions.len() as u64) as usize]
                        .to_owned(),
                );
                item.weight = Some(((h >> 8) % 400) as f64 / 10.0 + 0.5);
                item.length = Some(((h >> 16) % 30 + 6) as f64);
                item.width = Some(((h >> 24) % 20 + 4) as f64);
                item.height = Some(((h >> 32) % 16 + 1) as f64);
                if (h >> 40).is_multiple_of(5) {
                    item.comments = Some("Fragile".to_owned());
                }
                item
            })
            .collect()
    }

    pub(crate) fn seed_reference(&self, idx: u32) -> Option<String> {
        let h = self.h(idx, 11);
        (h % 10 < 6).then(|| format!("R{:06}", (h >> 8) % 1_000_000))
    }

    pub(crate) fn seed_purchase_order(&self, idx: u32) -> Option<String> {
        let h = self.h(idx, 12);
        (h % 10 < 3).then(|| format!("PO-{:05}", (h >> 8) % 100_000))
    }

    pub(crate) fn seed_incoming(&self, idx: u32) -> Option<String> {
        let h = self.h(idx, 13);
        h.is_multiple_of(25)
            .then(|| format!("1Z{:016X}", (h >> 8) & 0xffff_ffff_ffff))
    }

    pub(crate) fn seed_outgoing(&self, idx: u32) -> Option<String> {
        let h = self.h(idx, 14);
        h.is_multiple_of(25)
            .then(|| format!("7{:011}", (h >> 8) % 100_000_000_000))
    }

    fn location(&self, idx: u32) -> Option<types::Location> {
        self.locations
            .get_index(idx as usize)
            .map(|(_, r)| r.rec.clone())
    }

    /// Materialises seeded order `idx`.
    fn seed_order(&self, idx: u32, s: &SeedOrder) -> types::Order {
        let id = self.codec.encode(Tag::Order, idx, 0);
        let tracking = (self.first_tracking + u64::from(idx)).to_string();
        let h = self.h(idx, 1);
        let mut o = blank!(Order);
        o.id = Some(id.into());
        o.tracking_number = Some(tracking.clone());
        o.customer = (self
            .customers
            .get_index(s.customer as usize)
            .map(|(id, _)| *id))
        .map(Into::into);
        let contact = self
            .contacts
            .get_index(s.contact as usize)
            .map(|(_, r)| r.rec.clone());
        let contact_name = contact
            .as_ref()
            .and_then(|c| c.name.clone())
            .unwrap_or_default();
        o.requested_by = contact.as_ref().and_then(|c| c.name.clone());
        o.customer_contact = contact;
        if s.department != NONE32 {
            o.department = self
                .departments
                .get_index(s.department as usize)
                .map(|(_, r)| r.rec.clone());
        }
        let submitted = from_secs(s.submitted);
        o.date_submitted = Some(dt(submitted));
        o.collection_location = self.location(s.collection);
        o.delivery_location = self.location(s.delivery);
        o.collection_contact_name = o
            .collection_location
            .as_ref()
            .and_then(|l| l.contact_name.clone());
        o.delivery_contact_name = o
            .delivery_location
            .as_ref()
            .and_then(|l| l.contact_name.clone());
        o.dispatcher = self.user_id(s.dispatcher).map(Into::into);
        let driver = self.user_id(s.driver);
        o.driver_currently_assigned = driver.map(Into::into);
        o.collection_assigned_driver = driver.map(Into::into);
        o.delivery_assigned_driver = driver.map(Into::into);
        o.price_set = (self
            .price_sets
            .get_index(s.price_set as usize)
            .map(|(id, _)| *id))
        .map(Into::into);
        o.description = Some(
            self.seed_version.words().item_descriptions
                [(h % self.seed_version.words().item_descriptions.len() as u64) as usize]
                .to_owned(),
        );
        if (h >> 8) % 10 < 3 {
            o.comments = Some(
                self.seed_version.words().order_comments
                    [((h >> 12) % self.seed_version.words().order_comments.len() as u64) as usize]
                    .to_owned(),
            );
        }
        o.submission_source = Some(
            self.seed_version.words().submission_sources
                [((h >> 16) % self.seed_version.words().submission_sources.len() as u64) as usize]
                .to_owned(),
        );
        o.reference_number = self.seed_reference(idx);
        o.purchase_order_number = self.seed_purchase_order(idx);
        o.incoming_tracking_number = self.seed_incoming(idx);
        o.outgoing_tracking_number = self.seed_outgoing(idx);
        let items = self.seed_items(idx, s, &tracking, id);
        o.quantity = Some(i64::from(s.items));
        o.weight = Some(pricing::cents(items.iter().filter_map(|i| i.weight).sum()));
        o.length = items.iter().filter_map(|i| i.length).reduce(f64::max);
        o.width = items.iter().filter_map(|i| i.width).reduce(f64::max);
        o.height = Some(items.iter().filter_map(|i| i.height).sum());
        o.items = Some(items);
        o.declared_value = Some(((h >> 20) % 40 * 25) as f64);
        o.collection_signature_required = Some(s.flags & F_COLLECTION_SIGNATURE != 0);
        o.delivery_signature_required =
            Some(s.flags & F_SIGNATURE != 0 || (h >> 28).is_multiple_of(4));
        let cod = s.flags & F_COD != 0;
        o.collection_cod_required = Some(false);
        o.delivery_cod_required = Some(cod);
        o.cod_amount = cod.then(|| ((h >> 32) % 40 * 25 + 50) as f64);
        o.price_adjustment = Some(0.0);
        let window = |from: i64, len_min: i64| {
            let mut w = blank!(TimeWindow);
            w.earliest_time = Some(dt(submitted + TimeDelta::minutes(from)));
            w.latest_time = Some(dt(submitted + TimeDelta::minutes(from + len_min)));
            w.length = Some(TimeSpan::from_secs(len_min * 60));
            w
        };
        o.collection_arrival_window = Some(window(15, 120));
        o.delivery_arrival_window = Some(window(60, 240));
        if let Some(vt) = self
            .vehicle_types
            .get((h >> 36) as usize % self.vehicle_types.len().max(1))
        {
            o.vehicle_required = Some(vt.clone());
        }
        o.route_name = o
            .delivery_location
            .as_ref()
            .and_then(|l| l.zone.as_ref())
            .and_then(|z| z.name.clone());
        let statuses = self.seed_statuses(idx, s, &contact_name);
        for st in &statuses {
            let t = st.timestamp;
            match st.level {
                Some(StatusLevel::AssignedInRoute) => {
                    o.collection_arrival_date = t;
                    o.driver_coordinates_on_collection = self.coords(s.collection);
                }
                Some(StatusLevel::Delivered) => {
                    o.delivery_arrival_date = t;
                    o.driver_coordinates_on_delivery = self.coords(s.delivery);
                }
                _ => {}
            }
        }
        o.status_level = statuses.last().and_then(|st| st.level.clone());
        o.status = statuses.last().cloned();
        self.apply_quote(&mut o);
        o
    }

    fn coords(&self, location: u32) -> Option<String> {
        self.geo
            .get(location as usize)
            .and_then(|g| g.lat_lng)
            .map(|(a, b)| format!("{a:.5},{b:.5}"))
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

    fn zone_of(&self, location: Option<&types::Location>) -> Option<usize> {
        let l = location?;
        if let Some(z) = l.zone.as_ref().and_then(|z| z.id)
            && let Some(i) = self.zones.get_index_of(&Uuid::from(z))
        {
            return Some(i);
        }
        if let Some(pc) = l.postal_code.as_deref() {
            let hit = self.zones.values().position(|z| {
                z.rec
                    .postal_codes
                    .as_deref()
                    .is_some_and(|codes| codes.split(',').any(|c| c.trim() == pc.trim()))
            });
            if hit.is_some() {
                return hit;
            }
        }
        let city = l.city.as_deref()?;
        self.zones.values().position(|z| {
            z.rec.cities.as_deref().is_some_and(|cities| {
                cities
                    .split(',')
                    .any(|c| c.trim().eq_ignore_ascii_case(city.trim()))
            })
        })
    }

    /// Prices an order by its price set (or its customer's default, or the account's first).
    pub(crate) fn quote(&self, o: &types::Order) -> Quote {
        let price_set = o
            .price_set
            .map(Uuid::from)
            .filter(|p| self.price_sets.contains_key(p))
            .or_else(|| {
                o.customer
                    .and_then(|c| self.customers.get(&Uuid::from(c)))
                    .and_then(|c| c.rec.default_price_set.map(Uuid::from))
            })
            .or_else(|| self.price_sets.keys().next().copied());
        let pricing = price_set.and_then(|p| self.pricing.get(&p));
        let modifiers: Vec<&types::PriceModifier> = price_set
            .and_then(|p| self.price_sets.get(&p))
            .and_then(|p| p.rec.price_modifiers.as_ref())
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| self.price_modifiers.get(&Uuid::from(*id)).map(|r| &r.rec))
                    .collect()
            })
            .unwrap_or_default();
        let lat_lng = |l: Option<&types::Location>| {
            l.and_then(|l| l.latitude_longitude.as_deref())
                .and_then(pricing::parse_lat_lng)
        };
        let distance = o.distance.unwrap_or_else(|| {
            match (
                lat_lng(o.collection_location.as_ref()),
                lat_lng(o.delivery_location.as_ref()),
            ) {
                (Some(a), Some(b)) => (pricing::haversine_miles(a, b) * 12.0).round() / 10.0,
                _ => 0.0,
            }
        });
        let input = PriceInput {
            method: o.base_price_type.clone(),
            collection_zone: self.zone_of(o.collection_location.as_ref()),
            delivery_zone: self.zone_of(o.delivery_location.as_ref()),
            distance,
            weight: o.weight.unwrap_or(0.0),
            signature: o.delivery_signature_required == Some(true)
                || o.collection_signature_required == Some(true),
            cod: o.delivery_cod_required == Some(true) || o.collection_cod_required == Some(true),
            adjustment: o.price_adjustment.unwrap_or(0.0),
            base_price: o.base_price,
        };
        pricing::quote(&input, pricing, &modifiers)
    }

    /// Writes the quote's figures into the order (as `order/post` and `updatePrices` do).
    pub(crate) fn apply_quote(&self, o: &mut types::Order) {
        let q = self.quote(o);
        if o.distance.is_none() {
            let lat_lng = |l: Option<&types::Location>| {
                l.and_then(|l| l.latitude_longitude.as_deref())
                    .and_then(pricing::parse_lat_lng)
            };
            if let (Some(a), Some(b)) = (
                lat_lng(o.collection_location.as_ref()),
                lat_lng(o.delivery_location.as_ref()),
            ) {
                o.distance = Some((pricing::haversine_miles(a, b) * 12.0).round() / 10.0);
            }
        }
        o.base_price_type = Some(q.method.clone());
        o.base_price = Some(q.base);
        o.price_modifiers = Some(
            q.modifiers
                .iter()
                .filter_map(|(id, amount)| {
                    self.price_modifiers.get(id).map(|m| {
                        let mut m = m.rec.clone();
                        m.price = Some(*amount);
                        m
                    })
                })
                .collect(),
        );
        o.price_modifier_total_cost = Some(q.modifier_total);
        o.subtotal = Some(q.subtotal);
        o.tax_total = Some(q.tax);
        o.total_cost = Some(q.total);
    }

    // ------------------------------------------------------------------ finders

    pub(crate) fn find_orders(&self, f: &OrderFilter) -> Vec<Uuid> {
        let customer_names: Option<Vec<bool>> = f.customer_name.as_ref().map(|name| {
            self.customers
                .values()
                .map(|c| eq_ci(c.rec.name.as_deref(), name))
                .collect()
        });
        let loc =
            |id: Option<Uuid>| id.map(|id| self.locations.get_index_of(&id).map(|i| i as u32));
        let collection = loc(f.collection);
        let delivery = loc(f.delivery);
        let assigned = f
            .assigned
            .map(|id| self.users.get_index_of(&id).map(|i| i as u16));
        let scope = f
            .customer
            .map(|id| self.customers.get_index_of(&id).map(|i| i as u32));
        let status_code = f.status.as_ref().map(|s| s.code());
        let tracking_num: Option<Option<u64>> =
            f.tracking.as_ref().map(|t| t.trim().parse::<u64>().ok());
        let min = f.min.map(secs);
        let max = f.max.map(secs);
        let day = f.day.map(|d| {
            let start = secs(d.and_hms_opt(0, 0, 0).unwrap_or_default());
            (start, start + 86_400)
        });
        let mut out = Vec::new();
        for (i, slot) in self.orders.iter().enumerate() {
            let idx = i as u32;
            let ok = match slot {
                Slot::Seed(s) => {
                    customer_names
                        .as_ref()
                        .is_none_or(|m| m.get(s.customer as usize).copied().unwrap_or(false))
                        && scope.is_none_or(|c| c == Some(s.customer))
                        && collection.is_none_or(|c| c == Some(s.collection))
                        && delivery.is_none_or(|c| c == Some(s.delivery))
                        && assigned.is_none_or(|u| u.is_some() && u == Some(s.driver))
                        && status_code.is_none_or(|c| c == Some(i64::from(s.level)))
                        && min.is_none_or(|m| s.submitted >= m)
                        && max.is_none_or(|m| s.submitted <= m)
                        && day.is_none_or(|(a, b)| s.submitted >= a && s.submitted < b)
                        && tracking_num
                            .is_none_or(|t| t == Some(self.first_tracking + u64::from(idx)))
                        && f.reference
                            .as_ref()
                            .is_none_or(|r| eq_ci(self.seed_reference(idx).as_deref(), r))
                        && f.purchase_order
                            .as_ref()
                            .is_none_or(|r| eq_ci(self.seed_purchase_order(idx).as_deref(), r))
                        && f.incoming
                            .as_ref()
                            .is_none_or(|r| eq_ci(self.seed_incoming(idx).as_deref(), r))
                        && f.outgoing
                            .as_ref()
                            .is_none_or(|r| eq_ci(self.seed_outgoing(idx).as_deref(), r))
                }
                Slot::Full(full) => self.full_matches(&full.order, f, customer_names.as_deref()),
            };
            if ok {
                out.push(self.order_id(idx));
            }
        }
        out
    }

    fn full_matches(&self, o: &types::Order, f: &OrderFilter, names: Option<&[bool]>) -> bool {
        let submitted = o.date_submitted.map(|d| d.naive_local());
        names.is_none_or(|m| {
            o.customer
                .and_then(|c| self.customers.get_index_of(&Uuid::from(c)))
                .is_some_and(|i| m[i])
        }) && f.customer.is_none_or(|c| o.customer == Some(c.into()))
            && f.collection
                .is_none_or(|c| o.collection_location.as_ref().and_then(|l| l.id) == Some(c.into()))
            && f.delivery
                .is_none_or(|c| o.delivery_location.as_ref().and_then(|l| l.id) == Some(c.into()))
            && f.assigned.is_none_or(|u| {
                o.driver_currently_assigned == Some(u.into())
                    || o.collection_assigned_driver == Some(u.into())
                    || o.delivery_assigned_driver == Some(u.into())
            })
            && f.status
                .as_ref()
                .is_none_or(|s| o.status_level.as_ref().map(|l| l.code()) == Some(s.code()))
            && f.min.is_none_or(|m| submitted.is_some_and(|t| t >= m))
            && f.max.is_none_or(|m| submitted.is_some_and(|t| t <= m))
            && f.day
                .is_none_or(|d| submitted.is_some_and(|t| t.date() == d))
            && f.tracking
                .as_ref()
                .is_none_or(|t| eq_ci(o.tracking_number.as_deref(), t))
            && f.reference
                .as_ref()
                .is_none_or(|t| eq_ci(o.reference_number.as_deref(), t))
            && f.purchase_order
                .as_ref()
                .is_none_or(|t| eq_ci(o.purchase_order_number.as_deref(), t))
            && f.incoming
                .as_ref()
                .is_none_or(|t| eq_ci(o.incoming_tracking_number.as_deref(), t))
            && f.outgoing
                .as_ref()
                .is_none_or(|t| eq_ci(o.outgoing_tracking_number.as_deref(), t))
    }

    // ------------------------------------------------------------------ items, statuses, attachments

    /// The order slot and position of an item.
    pub(crate) fn item(&self, id: Uuid) -> Option<(u32, types::Item)> {
        let idx = match self.codec.decode(id) {
            Some((Tag::Item, row, _)) if row < self.seeded_orders => Some(row),
            _ => None,
        }
        .or_else(|| self.item_index.get(&id).copied())?;
        let item = match &self.orders[idx as usize] {
            Slot::Seed(s) => {
                let (_, _, k) = self.codec.decode(id)?;
                let tracking = self.order_tracking(idx);
                self.seed_items(idx, s, &tracking, self.order_id(idx))
                    .into_iter()
                    .nth(k as usize)?
            }
            Slot::Full(f) => f
                .order
                .items
                .as_ref()?
                .iter()
                .find(|i| i.id == Some(id.into()))?
                .clone(),
        };
        Some((idx, item))
    }

    pub(crate) fn status(&self, id: Uuid) -> Option<(u32, types::Status)> {
        let idx = match self.codec.decode(id) {
            Some((Tag::Status, row, _)) if row < self.seeded_orders => Some(row),
            _ => None,
        }
        .or_else(|| self.status_index.get(&id).copied())?;
        let st = self
            .history(idx)
            .into_iter()
            .find(|s| s.id == Some(id.into()))?;
        Some((idx, st))
    }

    /// The GUIDs of the statuses of all orders (optionally of one customer).
    pub(crate) fn status_ids(&self, customer: Option<Uuid>) -> Vec<Uuid> {
        let scope = customer.map(|c| self.customers.get_index_of(&c).map(|i| i as u32));
        let mut out = Vec::new();
        for (i, slot) in self.orders.iter().enumerate() {
            match slot {
                Slot::Seed(s) => {
                    if scope.is_some_and(|c| c != Some(s.customer)) {
                        continue;
                    }
                    let n = self.seed_history(i as u32, s).len();
                    out.extend((0..n).map(|k| self.codec.encode(Tag::Status, i as u32, k as u8)));
                }
                Slot::Full(f) => {
                    if customer.is_some_and(|c| f.order.customer != Some(c.into())) {
                        continue;
                    }
                    out.extend(f.history.iter().filter_map(|s| s.id.map(Uuid::from)));
                }
            }
        }
        out
    }

    fn seed_attachment(&self, idx: u32) -> Option<Uuid> {
        if idx >= self.seeded_orders || self.flags(idx) & F_ATTACHMENT == 0 {
            return None;
        }
        let id = self.codec.encode(Tag::Attachment, idx, 0);
        (!self.deleted_attachments.contains(&id)).then_some(id)
    }

    /// The attachments of an order, oldest first.
    pub(crate) fn attachment_ids(&self, idx: u32) -> Vec<Uuid> {
        let mut ids: Vec<Uuid> = self.seed_attachment(idx).into_iter().collect();
        ids.extend(
            self.attachments
                .iter()
                .filter(|(_, a)| a.order == idx)
                .map(|(id, _)| *id),
        );
        ids
    }

    pub(crate) fn attachment(&self, id: Uuid) -> Option<(u32, types::FileAttachment)> {
        use base64::Engine as _;
        let engine = base64::engine::general_purpose::STANDARD;
        if let Some((Tag::Attachment, row, 0)) = self.codec.decode(id)
            && row < self.seeded_orders
            && self.seed_attachment(row) == Some(id)
        {
            let t = self
                .history(row)
                .last()
                .and_then(|s| s.timestamp)
                .unwrap_or(dt(self.anchor));
            let mut a = blank!(FileAttachment);
            a.id = Some(id.into());
            a.file_name = Some(format!("POD-{}.png", self.order_tracking(row)));
            a.contents = Some(engine.encode(assets::photo_png(self.h(row, 5))));
            a.timestamp = Some(t);
            return Some((row, a));
        }
        let att = self.attachments.get(&id)?;
        let mut a = blank!(FileAttachment);
        a.id = Some(id.into());
        a.file_name = Some(att.file_name.clone());
        a.contents = Some(engine.encode(&att.contents));
        a.timestamp = Some(dt(att.timestamp));
        Some((att.order, a))
    }

    /// The signature image of an order, if one was captured.
    pub(crate) fn signature(&self, idx: u32, delivery: bool) -> Option<Vec<u8>> {
        let flags = self.flags(idx);
        let has = if delivery {
            flags & F_SIGNATURE != 0
        } else {
            flags & F_COLLECTION_SIGNATURE != 0
        };
        has.then(|| assets::signature_png(self.h(idx, 6 + u64::from(delivery))))
    }
}
