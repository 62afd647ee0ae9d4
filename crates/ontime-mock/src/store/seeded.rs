//! Seeded orders read whole: a compact row becomes a `types::Order` with its items, status
//! history, reference numbers and locations, derived from the seed each time it is read.

use chrono::{NaiveDateTime, TimeDelta};
use ontime_raw::lenient::{StatusLevel, TimeSpan};
use ontime_raw::types;
use uuid::Uuid;

use super::{
    F_COD, F_COLLECTION_SIGNATURE, F_SIGNATURE, NONE16, NONE32, SeedOrder, Store, blank, dt,
    from_secs, secs, status_name,
};
use crate::ids::Tag;
use crate::pricing::{self};

impl Store {
    pub(crate) fn user_id(&self, idx: u16) -> Option<Uuid> {
        if idx == NONE16 {
            return None;
        }
        self.users.get_index(idx as usize).map(|(id, _)| *id)
    }

    pub(crate) fn user_name(&self, id: Option<Uuid>) -> String {
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

    pub(crate) fn status_description(
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

    pub(crate) fn seed_statuses(
        &self,
        idx: u32,
        s: &SeedOrder,
        contact: &str,
    ) -> Vec<types::Status> {
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

    pub(crate) fn seed_items(
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

    pub(crate) fn location(&self, idx: u32) -> Option<types::Location> {
        self.locations
            .get_index(idx as usize)
            .map(|(_, r)| r.rec.clone())
    }

    /// Materialises seeded order `idx`.
    pub(crate) fn seed_order(&self, idx: u32, s: &SeedOrder) -> types::Order {
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

    pub(crate) fn coords(&self, location: u32) -> Option<String> {
        self.geo
            .get(location as usize)
            .and_then(|g| g.lat_lng)
            .map(|(a, b)| format!("{a:.5},{b:.5}"))
    }
}
