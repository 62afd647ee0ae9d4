//! Changes to orders: OnTime's upsert with full replace, tracking numbers, status history,
//! prices, items and attachments.

use bytes::Bytes;
use chrono::NaiveDateTime;
use ontime_raw::lenient::StatusLevel;
use ontime_raw::types;
use uuid::Uuid;

use crate::http_util::ApiError;
use crate::store::{
    Attachment, FullOrder, Record, Row, Slot, Store, Table, blank, check_enum, dt, status_name,
};

/// Upserts `rec` into `table` under `id` (full replace: the stored record becomes exactly the
/// posted one); returns whether it was created.
pub(crate) fn upsert<T: Record>(
    table: &mut Table<T>,
    mut rec: T,
    id: Uuid,
    now: NaiveDateTime,
) -> bool {
    rec.set_id(id);
    rec.clear_extra();
    match table.get_mut(&id) {
        Some(row) => {
            row.rec = rec;
            row.modified = now;
            false
        }
        None => {
            table.insert(
                id,
                Row {
                    rec,
                    created: now,
                    modified: now,
                },
            );
            true
        }
    }
}

/// Checks the enum fields of a posted order.
pub(crate) fn check_order_enums(o: &types::Order) -> Result<(), ApiError> {
    check_enum(&o.status_level, "StatusLevel")?;
    check_enum(&o.base_price_type, "PricingMethod")?;
    if let Some(s) = &o.status {
        check_enum(&s.level, "StatusLevel")?;
    }
    for m in o.price_modifiers.iter().flatten() {
        check_enum(&m.type_, "PriceModifierType")?;
        check_enum(&m.input, "PriceModifierInput")?;
    }
    for c in o.user_misc_compensations.iter().flatten() {
        check_enum(&c.role, "CompensationRole")?;
        check_enum(&c.type_, "CompensationType")?;
    }
    Ok(())
}

impl Store {
    fn new_status(
        &mut self,
        level: StatusLevel,
        name: Option<String>,
        description: Option<String>,
        at: NaiveDateTime,
    ) -> types::Status {
        let mut st = blank!(Status);
        st.id = Some(self.new_id().into());
        st.name = Some(name.unwrap_or_else(|| status_name(&level).to_owned()));
        st.description = description;
        st.timestamp = Some(dt(at));
        st.level = Some(level);
        st
    }

    pub(crate) fn next_tracking_number(&mut self) -> String {
        loop {
            let n = self.next_tracking;
            self.next_tracking += 1;
            let t = n.to_string();
            if self.order_by_tracking(&t).is_none() {
                return t;
            }
        }
    }

    /// Stores `full` in slot `idx` (or a new slot), keeping the indexes in step.
    fn put_full(&mut self, idx: Option<u32>, full: FullOrder) -> u32 {
        let id = full.order.id.map(Uuid::from).unwrap_or_default();
        let (idx, new) = match idx {
            Some(idx) => {
                self.unindex(idx);
                (idx, false)
            }
            None => (self.orders.len() as u32, true),
        };
        if self.codec.decode(id).is_none_or(|(_, row, _)| row != idx) {
            self.order_index.insert(id, idx);
        }
        if let Some(t) = &full.order.tracking_number {
            self.tracking_index.entry(t.clone()).or_default().push(idx);
        }
        for item in full.order.items.iter().flatten() {
            if let Some(id) = item.id {
                self.item_index.insert(id.into(), idx);
            }
        }
        for st in &full.history {
            if let Some(id) = st.id {
                self.status_index.insert(id.into(), idx);
            }
        }
        if new {
            self.orders.push(Slot::Full(Box::new(full)));
        } else {
            self.orders[idx as usize] = Slot::Full(Box::new(full));
        }
        idx
    }

    /// Removes a full order's tracking number and items from the indexes.
    fn unindex(&mut self, idx: u32) {
        if let Slot::Full(f) = &self.orders[idx as usize] {
            if let Some(t) = &f.order.tracking_number
                && let Some(v) = self.tracking_index.get_mut(t)
            {
                v.retain(|i| *i != idx);
                if v.is_empty() {
                    self.tracking_index.remove(t);
                }
            }
            let items: Vec<Uuid> = f
                .order
                .items
                .iter()
                .flatten()
                .filter_map(|i| i.id.map(Uuid::from))
                .collect();
            for id in items {
                self.item_index.remove(&id);
            }
        }
    }

    /// `POST api/order/post`: creates the order when its ID is new, replaces it whole when it
    /// exists. Fields the post leaves out are cleared, except what OnTime manages itself:
    /// `ID`, `TrackingNumber` (kept, or generated for a new order), `DateSubmitted` (kept, or
    /// now), the status (`StatusLevel` different from the current one appends a status change;
    /// a new order without one starts as Submitted, level 1) and the prices, which are
    /// recalculated from the price set.
    pub(crate) fn post_order(
        &mut self,
        mut o: types::Order,
        now: NaiveDateTime,
    ) -> Result<types::Order, ApiError> {
        check_order_enums(&o)?;
        self.check_priceable(&o)?;
        let id = match o.id {
            Some(id) => id,
            None => self.new_id().into(),
        };
        let existing = self.order_idx(id.into());
        let (old_tracking, old_submitted, mut history, old_level, flags) = match existing {
            Some(idx) => {
                let h = self.history(idx);
                let cur = self.order(idx);
                (
                    cur.tracking_number,
                    cur.date_submitted,
                    h,
                    cur.status_level,
                    self.flags(idx),
                )
            }
            None => (None, None, Vec::new(), None, 0),
        };
        o.id = Some(id);
        o.extra.clear();
        if o.tracking_number
            .as_deref()
            .is_none_or(|t| t.trim().is_empty())
        {
            o.tracking_number = Some(match old_tracking {
                Some(t) => t,
                None => self.next_tracking_number(),
            });
        }
        if o.date_submitted.is_none() {
            o.date_submitted = Some(old_submitted.unwrap_or(dt(now)));
        }
        let requested = o.status_level.clone().filter(|l| *l != StatusLevel::None);
        match (requested, old_level) {
            (Some(level), Some(old)) if level != old => {
                let st = self.new_status(
                    level,
                    None,
                    Some("Status changed by order post".to_owned()),
                    now,
                );
                history.push(st);
            }
            (_, Some(_)) => {}
            (level, None) => {
                let level = level.unwrap_or(StatusLevel::Dispatched);
                let st = self.new_status(level, None, Some("Order submitted".to_owned()), now);
                history.push(st);
            }
        }
        let last = history.last().cloned();
        o.status_level = last.as_ref().and_then(|s| s.level.clone());
        o.status = last;
        let tracking = o.tracking_number.clone().unwrap_or_default();
        if let Some(items) = o.items.as_mut() {
            for (k, item) in items.iter_mut().enumerate() {
                if item.id.is_none() {
                    item.id = Some(self.new_id().into());
                }
                item.order_id = Some(id);
                if item.tracking_number.is_none() {
                    item.tracking_number = Some(format!("{tracking}-{}", k + 1));
                }
                item.extra.clear();
            }
        }
        self.apply_quote(&mut o);
        self.put_full(
            existing,
            FullOrder {
                order: o.clone(),
                history,
                flags,
            },
        );
        Ok(o)
    }

    /// `POST api/order/updateStatus`: appends a status change; returns the new entry's ID.
    pub(crate) fn update_status(
        &mut self,
        idx: u32,
        level: Option<StatusLevel>,
        label: Option<String>,
        description: Option<String>,
        at: NaiveDateTime,
    ) -> Option<Uuid> {
        let current = self
            .order(idx)
            .status_level
            .unwrap_or(StatusLevel::Dispatched);
        let level = level.unwrap_or(current);
        let st = self.new_status(level.clone(), label, description, at);
        let status_id = st.id;
        let full = self.make_full(idx);
        full.history.push(st);
        full.history
            .sort_by_key(|s| s.timestamp.map(|t| t.naive_local()));
        let last = full.history.last().cloned();
        full.order.status_level = last.as_ref().and_then(|s| s.level.clone());
        full.order.status = last;
        match level {
            StatusLevel::AssignedInRoute => full.order.collection_arrival_date = Some(dt(at)),
            StatusLevel::Delivered => full.order.delivery_arrival_date = Some(dt(at)),
            _ => {}
        }
        let status_id = status_id.map(Uuid::from);
        if let Some(id) = status_id {
            self.status_index.insert(id, idx);
        }
        status_id
    }

    /// A 400 fault when the order's numbers price to something that is not a number (values
    /// near `f64::MAX` overflow), before anything is stored.
    pub(crate) fn check_priceable(&self, o: &types::Order) -> Result<(), ApiError> {
        let q = self.quote(o);
        if q.total.is_finite() && q.base.is_finite() {
            Ok(())
        } else {
            Err(ApiError::bad_request(
                "The order's quantities, weight, distance or adjustments are out of range.",
            ))
        }
    }

    /// Recalculates and stores an order's prices.
    pub(crate) fn update_prices(&mut self, idx: u32) {
        let mut order = self.order(idx);
        self.apply_quote(&mut order);
        self.make_full(idx).order = order;
    }

    /// Changes fields of an order in place and reprices it.
    pub(crate) fn change_order(&mut self, idx: u32, change: impl FnOnce(&mut types::Order)) {
        let mut order = self.order(idx);
        change(&mut order);
        self.apply_quote(&mut order);
        self.make_full(idx).order = order;
    }

    /// `POST api/item/post`: upserts an item into its order.
    pub(crate) fn post_item(&mut self, idx: u32, mut item: types::Item) -> types::Item {
        let id = match item.id {
            Some(id) => id,
            None => self.new_id().into(),
        };
        let order_id = self.order_id(idx);
        item.id = Some(id);
        item.order_id = Some(order_id.into());
        item.extra.clear();
        let full = self.make_full(idx);
        let items = full.order.items.get_or_insert_with(Vec::new);
        match items.iter_mut().find(|i| i.id == Some(id)) {
            Some(slot) => *slot = item.clone(),
            None => items.push(item.clone()),
        }
        full.order.quantity = Some(items.len() as i64);
        self.item_index.insert(id.into(), idx);
        item
    }

    /// Attaches a file to an order.
    pub(crate) fn add_attachment(
        &mut self,
        idx: u32,
        file_name: String,
        contents: Bytes,
        at: NaiveDateTime,
    ) -> Uuid {
        let id = loop {
            let id = self.new_id();
            if self.attachment(id).is_none() {
                break id;
            }
        };
        self.attachments.insert(
            id,
            Attachment {
                order: idx,
                file_name,
                contents,
                timestamp: at,
            },
        );
        id
    }

    /// Deletes an attachment; `false` if there is none with this id.
    pub(crate) fn delete_attachment(&mut self, id: Uuid) -> bool {
        if self.attachments.shift_remove(&id).is_some() {
            return true;
        }
        if self.attachment(id).is_some() {
            self.deleted_attachments.insert(id);
            return true;
        }
        false
    }
}
