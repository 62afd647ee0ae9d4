//! Deterministic seeded data: a courier company in Dallas–Fort Worth with customers, contacts,
//! departments, locations in zones, price sets, drivers and dispatchers, vehicles, sessions,
//! positions, invoices, payments and any number of orders.
//!
//! [`build`] runs the steps in a fixed order, each drawing from one random stream (so the
//! order is part of the data): `places` (zones, general locations), `prices` (modifiers, price
//! sets), `customers` (with contacts, departments, logins, own locations), `staff` (users and
//! vehicles, then their sessions, positions and availability), `orders` (the compact rows),
//! then vehicle types and `billing` (invoices, payments, compensations).

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDateTime, TimeDelta};
use indexmap::IndexMap;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use crate::ids::IdCodec;
use crate::store::{Row, Store, blank};
use crate::words::Words;

mod billing;
mod customers;
mod orders;
mod places;
mod prices;
mod staff;

use customers::CustomerSeed;
use places::new_location;

/// The first tracking number of seeded orders.
pub(crate) const FIRST_TRACKING: u64 = 1_000_001;

fn pick<'a, R: Rng>(rng: &mut R, list: &[&'a str]) -> &'a str {
    list[rng.random_range(0..list.len())]
}

fn row<T>(rec: T, at: NaiveDateTime) -> Row<T> {
    Row {
        rec,
        created: at,
        modified: at,
    }
}

/// The version of the seeded data's generator: which word lists it draws from. The same seed,
/// version, order count and clock start always give the same account; a version's lists never
/// change (new words make a new version), so pinning a version keeps snapshots of seeded data
/// stable while the default moves on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SeedVersion {
    /// The first word lists (the default).
    #[default]
    V1,
}

impl SeedVersion {
    pub(crate) fn words(self) -> &'static Words {
        match self {
            SeedVersion::V1 => &crate::words::V1,
        }
    }
}

struct Gen {
    rng: ChaCha8Rng,
    anchor: NaiveDateTime,
    words: &'static Words,
}

impl Gen {
    fn id(&mut self) -> Uuid {
        let mut bytes = [0u8; 16];
        self.rng.fill(&mut bytes);
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }

    fn phone(&mut self) -> String {
        let area = pick(&mut self.rng, &["214", "469", "972", "817", "682"]);
        format!(
            "{area}{:03}{:04}",
            self.rng.random_range(200..999),
            self.rng.random_range(0..10_000)
        )
    }

    fn person(&mut self) -> (String, String) {
        (
            pick(&mut self.rng, self.words.first_names).to_owned(),
            pick(&mut self.rng, self.words.last_names).to_owned(),
        )
    }

    /// When the account's reference data was created.
    fn long_ago(&self) -> NaiveDateTime {
        self.anchor - TimeDelta::days(400)
    }

    fn days_ago(&mut self, min: i64, max: i64) -> NaiveDateTime {
        let secs = self.rng.random_range(min * 86_400..max * 86_400);
        crate::clock::whole_seconds(self.anchor - TimeDelta::seconds(secs))
    }
}

fn slug(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Builds the store for `orders` orders under `seed`, with the clock at `anchor`.
pub(crate) fn build(
    seed: u64,
    version: SeedVersion,
    orders: usize,
    anchor: NaiveDateTime,
) -> Store {
    let anchor = crate::clock::whole_seconds(anchor);
    let words = version.words();
    let mut g = Gen {
        rng: ChaCha8Rng::seed_from_u64(seed),
        anchor,
        words,
    };
    let n_customers = (orders / 100).clamp(8, 2000);
    let n_drivers = (orders / 300).clamp(6, 150);
    let n_dispatchers = (n_drivers / 5).clamp(2, 20);

    let mut store = Store {
        seed,
        seed_version: version,
        codec: IdCodec::new(seed),
        anchor,
        rng: ChaCha8Rng::seed_from_u64(seed ^ 0x005e_ed0f_0a7e),
        zones: IndexMap::new(),
        locations: IndexMap::new(),
        geo: Vec::new(),
        customers: IndexMap::new(),
        contacts: IndexMap::new(),
        departments: IndexMap::new(),
        price_modifiers: IndexMap::new(),
        price_sets: IndexMap::new(),
        pricing: HashMap::new(),
        users: IndexMap::new(),
        drivers: Vec::new(),
        vehicles: IndexMap::new(),
        sessions: IndexMap::new(),
        compensations: IndexMap::new(),
        invoices: IndexMap::new(),
        payments: IndexMap::new(),
        availability: HashMap::new(),
        positions: HashMap::new(),
        credentials: HashMap::new(),
        vehicle_types: Vec::new(),
        orders: Vec::new(),
        seeded_orders: orders as u32,
        first_tracking: FIRST_TRACKING,
        next_tracking: FIRST_TRACKING + orders as u64,
        next_invoice_number: 5001,
        order_index: HashMap::new(),
        tracking_index: HashMap::new(),
        item_index: HashMap::new(),
        status_index: HashMap::new(),
        attachments: IndexMap::new(),
        deleted_attachments: HashSet::new(),
    };
    places::zones(&mut store, &mut g);
    let general_locations = places::general_locations(&mut store, &mut g, n_customers);
    let price_set_ids = prices::price_lists(&mut store, &mut g);
    let customer_seeds = customers::customers(&mut store, &mut g, n_customers, &price_set_ids);
    let (drivers, dispatchers) = staff::users(&mut store, &mut g, n_drivers, n_dispatchers);
    staff::activity(&mut store, &mut g, n_drivers);
    store.orders = orders::order_slots(
        &mut g,
        orders,
        &customer_seeds,
        &general_locations,
        (&drivers, &dispatchers),
        &price_set_ids,
    );
    store.drivers = drivers;
    store.vehicle_types = ["Car", "Cargo van", "Box truck"]
        .iter()
        .map(|name| {
            let mut vt = blank!(VehicleType);
            vt.id = Some(g.id());
            vt.name = Some((*name).to_owned());
            vt
        })
        .collect();
    billing::seed_billing(&mut store, &mut g);
    billing::seed_compensations(&mut store, &mut g);
    store
}
