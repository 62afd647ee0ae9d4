//! Orders, their items and their status changes. Orders are not a table of the store (see
//! [`crate::store`]): their handlers use the store's order methods.

use ontime_raw::lenient::StatusLevel;
use ontime_raw::types;

use super::{Ctx, body, check_customer, param_guid};
use crate::http_util::{ApiError, Reply};
use crate::state::Shared;
use crate::store::Store;

/// The order an order action names by `id` or `trackingNumber`.
pub(crate) fn order_from_query(store: &Store, ctx: &Ctx) -> Result<u32, ApiError> {
    let idx = if let Some(id) = ctx.query.uuid("id")? {
        store
            .order_idx(id)
            .ok_or_else(|| ApiError::not_found("Order", id))?
    } else if let Some(t) = ctx.query.str("trackingNumber") {
        store
            .order_by_tracking(t)
            .ok_or_else(|| ApiError::new(404, format!("No order has tracking number {t}.")))?
    } else {
        return Err(ApiError::bad_request(
            "Either id or trackingNumber is required.",
        ));
    };
    check_customer(&ctx.key, store.order_customer(idx))?;
    Ok(idx)
}

pub(crate) fn order_from_path(store: &Store, ctx: &Ctx, name: &str) -> Result<u32, ApiError> {
    let id = param_guid(ctx, 0, name)?;
    let idx = store
        .order_idx(id)
        .ok_or_else(|| ApiError::not_found("Order", id))?;
    check_customer(&ctx.key, store.order_customer(idx))?;
    Ok(idx)
}

pub(crate) fn order_post(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let mut o: types::Order = body(ctx, "Order")?;
    let mut store = s.write();
    if ctx.key.customer.is_some() {
        if o.customer.is_none() {
            o.customer = ctx.key.customer.map(Into::into);
        }
        check_customer(&ctx.key, o.customer.map(Into::into))?;
        if let Some(idx) = o.id.and_then(|id| store.order_idx(id.into())) {
            check_customer(&ctx.key, store.order_customer(idx))?;
        }
    }
    let stored = store.post_order(o, ctx.now)?;
    Reply::created(&stored)
}

pub(crate) fn orders_find(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let q = &ctx.query;
    let status = q.enumeration::<StatusLevel>("status")?;
    let filter = crate::store::OrderFilter {
        customer_name: q.str("customerName").map(str::to_owned),
        collection: q.uuid("collectionLocationId")?,
        delivery: q.uuid("deliveryLocationId")?,
        day: q.date("dateSubmitted")?.map(|d| d.date()),
        min: q.date("dateSubmittedMin")?,
        max: q.date("dateSubmittedMax")?,
        assigned: q.uuid("assignedUserId")?,
        incoming: q.str("incomingTrackingNumber").map(str::to_owned),
        outgoing: q.str("outgoingTrackingNumber").map(str::to_owned),
        purchase_order: q.str("purchaseOrderNumber").map(str::to_owned),
        reference: q.str("referenceNumber").map(str::to_owned),
        status,
        tracking: q.str("trackingNumber").map(str::to_owned),
        customer: ctx.key.customer,
    };
    let store = s.read();
    Reply::ok(&store.find_orders(&filter))
}

pub(crate) fn orders_get(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let store = s.read();
    let idx = order_from_path(&store, ctx, "id")?;
    let bytes = s.cached_order(idx, || match Reply::ok(&store.order(idx))? {
        Reply::Json(_, b) | Reply::Bytes(_, _, b) => Ok(b),
    })?;
    Ok(Reply::Json(200, bytes))
}

pub(crate) fn order_status_changes(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let store = s.read();
    let idx = order_from_path(&store, ctx, "orderID")?;
    Reply::ok(&store.history(idx))
}

pub(crate) fn item_post(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let item: types::Item = body(ctx, "Item")?;
    let mut store = s.write();
    let idx = match (item.id.and_then(|id| store.item(id.into())), item.order_id) {
        (_, Some(order)) => store
            .order_idx(order.into())
            .ok_or_else(|| ApiError::not_found("Order", order))?,
        (Some((idx, _)), None) => idx,
        (None, None) => return Err(ApiError::bad_request("OrderID is required for a new item.")),
    };
    check_customer(&ctx.key, store.order_customer(idx))?;
    if let Some((other, _)) = item.id.and_then(|id| store.item(id.into()))
        && other != idx
    {
        return Err(ApiError::bad_request(
            "An item cannot move to another order.",
        ));
    }
    let stored = store.post_item(idx, item);
    Reply::created(&stored)
}

pub(crate) fn statuses_find(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let store = s.read();
    Reply::ok(&store.status_ids(ctx.key.customer))
}
