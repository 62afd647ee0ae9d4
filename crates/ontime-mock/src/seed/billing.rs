//! Invoices and payments of delivered orders, and drivers' miscellaneous compensations.

use chrono::{Datelike, NaiveDate, TimeDelta};
use indexmap::IndexMap;
use ontime_raw::lenient::{CompensationRole, CompensationType};
use rand::Rng;

use super::{Gen, row};
use crate::pricing::cents;
use crate::store::{Slot, Store, blank, dt, secs};

/// Monthly invoices of delivered orders for the two months before the current one, with
/// payments for the older month.
pub(super) fn seed_billing(store: &mut Store, g: &mut Gen) {
    let anchor = store.anchor;
    let this_month =
        NaiveDate::from_ymd_opt(anchor.year(), anchor.month(), 1).unwrap_or(anchor.date());
    let month_start = |back: u32| {
        let mut d = this_month;
        for _ in 0..back {
            d = (d - TimeDelta::days(1)).with_day(1).unwrap_or(d);
        }
        d
    };
    let bounds: Vec<(i64, i64, NaiveDate)> = (1..=2u32)
        .map(|back| {
            let from = month_start(back);
            let to = month_start(back - 1);
            (
                secs(from.and_hms_opt(0, 0, 0).unwrap_or_default()),
                secs(to.and_hms_opt(0, 0, 0).unwrap_or_default()),
                to,
            )
        })
        .collect();
    let mut groups: IndexMap<(u32, usize), Vec<u32>> = IndexMap::new();
    for (i, slot) in store.orders.iter().enumerate() {
        if let Slot::Seed(s) = slot {
            if s.level != 3 && s.level != 5 {
                continue;
            }
            if let Some(m) = bounds
                .iter()
                .position(|(a, b, _)| s.submitted >= *a && s.submitted < *b)
            {
                groups.entry((s.customer, m)).or_default().push(i as u32);
            }
        }
    }
    groups.sort_keys();
    for ((customer, m), orders) in groups {
        let (_, _, invoice_date) = bounds[m];
        let total: f64 = orders
            .iter()
            .map(|&i| store.order(i).total_cost.unwrap_or(0.0))
            .sum();
        let total = cents(total);
        let id = g.id();
        let mut inv = blank!(Invoice);
        inv.id = Some(id.into());
        inv.customer = store
            .customers
            .get_index(customer as usize)
            .map(|(id, _)| (*id).into());
        inv.orders = Some(orders.iter().map(|&i| store.order_id(i).into()).collect());
        inv.invoice_number = Some(store.next_invoice_number);
        store.next_invoice_number += 1;
        let date = invoice_date.and_hms_opt(8, 0, 0).unwrap_or(anchor);
        inv.date = Some(dt(date));
        inv.due_date = Some(dt(date + TimeDelta::days(30)));
        inv.memo = Some(format!(
            "Courier services {}",
            (invoice_date - TimeDelta::days(1)).format("%B %Y")
        ));
        inv.transferred_to_quick_books_desktop = Some(m == 1);
        inv.total_amount = Some(total);
        let paid_at = date + TimeDelta::days(g.rng.random_range(5..25));
        let paid = m == 1 && paid_at <= anchor;
        inv.is_paid = Some(paid);
        if paid {
            let mut p = blank!(Payment);
            let pid = g.id();
            p.id = Some(pid.into());
            p.customer = inv.customer;
            p.invoice = Some(id.into());
            p.amount = Some(total);
            p.date = Some(dt(paid_at));
            p.memo = Some(format!(
                "Payment for invoice {}",
                store.next_invoice_number - 1
            ));
            p.reference_number = Some(format!("CHK{:06}", g.rng.random_range(0..1_000_000)));
            p.transferred_to_quick_books_desktop = Some(true);
            store.payments.insert(pid, row(p, paid_at));
        }
        store.invoices.insert(id, row(inv, date));
    }
}

/// A few miscellaneous compensations per driver on recent delivered orders.
pub(super) fn seed_compensations(store: &mut Store, g: &mut Gen) {
    let delivered: Vec<u32> = store
        .orders
        .iter()
        .enumerate()
        .rev()
        .filter_map(|(i, s)| match s {
            Slot::Seed(s) if s.level == 3 => Some(i as u32),
            _ => None,
        })
        .take(200)
        .collect();
    if delivered.is_empty() {
        return;
    }
    let drivers = store.drivers.clone();
    for d in drivers {
        let Some(user) = store.users.get_index(d as usize).map(|(id, _)| *id) else {
            continue;
        };
        for (desc, value) in [("Tolls", 7.5), ("Wait time", 15.0)] {
            let order = delivered[g.rng.random_range(0..delivered.len())];
            let mut c = blank!(UserMiscCompensation);
            let id = g.id();
            c.id = Some(id.into());
            c.user = Some(user.into());
            c.order_id = Some(store.order_id(order).into());
            c.role = Some(CompensationRole::Driver);
            c.type_ = Some(CompensationType::Money);
            c.description = Some(desc.to_owned());
            c.value = Some(value);
            store.compensations.insert(id, row(c, store.anchor));
        }
    }
}
