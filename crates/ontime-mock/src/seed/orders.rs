//! Seeded orders: compact rows spread over the last 90 days, most of them delivered.

use chrono::{Datelike, Timelike};
use rand::Rng;
use uuid::Uuid;

use super::{CustomerSeed, Gen};
use crate::store::{
    F_ATTACHMENT, F_COD, F_COLLECTION_SIGNATURE, F_SIGNATURE, NONE16, NONE32, SeedOrder, Slot, secs,
};

/// The seeded order rows.
pub(super) fn order_slots(
    g: &mut Gen,
    orders: usize,
    customer_seeds: &[CustomerSeed],
    general_locations: &[u32],
    (drivers, dispatchers): (&[u16], &[u16]),
    price_set_ids: &[Uuid],
) -> Vec<Slot> {
    let anchor = g.anchor;
    let n_customers = customer_seeds.len();
    let mut slots = Vec::with_capacity(orders);
    let span = 90 * 86_400i64;
    let start = secs(anchor) - span;
    let n = orders.max(1) as f64;
    for i in 0..orders {
        let u: f64 = g.rng.random();
        let mut t = start + ((i as f64 + u) / n * span as f64) as i64;
        // Business hours, Monday to Saturday.
        let local = crate::store::from_secs(t);
        let hour = local.hour();
        if !(7..19).contains(&hour) {
            t += i64::from((7 + hour % 12) as i32 - hour as i32) * 3600;
        }
        if local.weekday().number_from_monday() == 7 {
            t -= 86_400;
        }
        let t = t.min(secs(anchor) - 60);
        let r: f64 = g.rng.random();
        let c = ((r * r) * n_customers as f64) as usize % n_customers;
        let cs = &customer_seeds[c];
        let age = secs(anchor) - t;
        let p: u32 = g.rng.random_range(0..100);
        let level: u8 = if age < 4 * 3600 {
            match p {
                0..=39 => 1,
                40..=69 => 6,
                _ => 2,
            }
        } else if age < 86_400 {
            match p {
                0..=59 => 3,
                60..=79 => 2,
                80..=89 => 6,
                _ => 1,
            }
        } else {
            match p {
                0..=84 => 3,
                85..=89 => 4,
                90..=91 => 5,
                92..=94 => 7,
                95 => 8,
                _ => 9,
            }
        };
        let assigned = matches!(level, 2 | 3 | 5 | 6 | 7);
        let driver = if assigned {
            drivers[g.rng.random_range(0..drivers.len())]
        } else {
            NONE16
        };
        let collection = if g.rng.random_bool(0.7) {
            cs.locations[0]
        } else {
            general_locations[g.rng.random_range(0..general_locations.len())]
        };
        let delivery = loop {
            let d = if g.rng.random_bool(0.25) {
                cs.locations[g.rng.random_range(0..cs.locations.len())]
            } else {
                general_locations[g.rng.random_range(0..general_locations.len())]
            };
            if d != collection {
                break d;
            }
        };
        let mut flags = 0;
        if level == 3 && g.rng.random_bool(0.1) {
            flags |= F_SIGNATURE | F_ATTACHMENT;
            if g.rng.random_bool(0.3) {
                flags |= F_COLLECTION_SIGNATURE;
            }
        }
        if g.rng.random_bool(0.03) {
            flags |= F_COD;
        }
        let price_set = if g.rng.random_bool(0.85) {
            cs.price_set
        } else {
            g.rng.random_range(0..price_set_ids.len() as u16)
        };
        slots.push(Slot::Seed(SeedOrder {
            submitted: t,
            customer: c as u32,
            collection,
            delivery,
            contact: cs.contacts.0 + g.rng.random_range(0..cs.contacts.1),
            department: if cs.departments.1 > 0 && g.rng.random_bool(0.6) {
                cs.departments.0 + g.rng.random_range(0..cs.departments.1)
            } else {
                NONE32
            },
            dispatcher: dispatchers[g.rng.random_range(0..dispatchers.len())],
            driver,
            price_set,
            level,
            items: g.rng.random_range(1..=3),
            flags,
        }));
    }
    slots
}
