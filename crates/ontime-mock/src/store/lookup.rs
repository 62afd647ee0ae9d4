//! Finding orders by the finder's filters, and items, status changes, attachments and
//! signatures by their GUIDs.

use chrono::{NaiveDate, NaiveDateTime};
use ontime_raw::lenient::StatusLevel;
use ontime_raw::types;
use uuid::Uuid;

use super::{F_ATTACHMENT, F_COLLECTION_SIGNATURE, F_SIGNATURE, Slot, Store, blank, dt, secs};
use crate::assets;
use crate::ids::Tag;

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

impl Store {
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

    pub(crate) fn full_matches(
        &self,
        o: &types::Order,
        f: &OrderFilter,
        names: Option<&[bool]>,
    ) -> bool {
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

    pub(crate) fn seed_attachment(&self, idx: u32) -> Option<Uuid> {
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
