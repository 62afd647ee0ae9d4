//! The order operations that are not records: status updates, COD and signature
//! requirements, price updates and quotes, reports and signatures.

use base64::Engine as _;
use bytes::Bytes;
use ontime_raw::lenient::{SignatureType, StatusLevel};
use ontime_raw::types;

use super::orders::{order_from_path, order_from_query};
use super::{Ctx, body, check_customer};
use crate::http_util::{ApiError, Reply};
use crate::state::Shared;

pub(crate) fn order_cod_requirement(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let amount = ctx.query.f64("amountToCollect")?;
    let collection = ctx.query.bool("requireCollectionCOD")?;
    let delivery = ctx.query.bool("requireDeliveryCOD")?;
    let mut store = s.write();
    let idx = order_from_query(&store, ctx)?;
    if amount.is_none() && collection.is_none() && delivery.is_none() {
        return Reply::ok(&false);
    }
    store.change_order(idx, |o| {
        if amount.is_some() {
            o.cod_amount = amount;
        }
        if collection.is_some() {
            o.collection_cod_required = collection;
        }
        if delivery.is_some() {
            o.delivery_cod_required = delivery;
        }
    });
    Reply::ok(&true)
}

pub(crate) fn order_signature_requirement(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let collection = ctx.query.bool("requireCollectionSignature")?;
    let delivery = ctx.query.bool("requireDeliverySignature")?;
    let mut store = s.write();
    let idx = order_from_query(&store, ctx)?;
    if collection.is_none() && delivery.is_none() {
        return Reply::ok(&false);
    }
    store.change_order(idx, |o| {
        if collection.is_some() {
            o.collection_signature_required = collection;
        }
        if delivery.is_some() {
            o.delivery_signature_required = delivery;
        }
    });
    Reply::ok(&true)
}

pub(crate) fn order_get_total_cost(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let o: types::Order = body(ctx, "Order")?;
    crate::store::check_order_enums(&o)?;
    let store = s.read();
    store.check_priceable(&o)?;
    Reply::ok(&store.quote(&o).total)
}

pub(crate) fn order_report(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let kind = ctx
        .query
        .str("type")
        .ok_or_else(|| ApiError::bad_request("type is required."))?
        .trim()
        .to_ascii_uppercase();
    let title = match kind.as_str() {
        "SL" => "Shipping Label",
        "WB" => "Waybill",
        "BOL" => "Bill of Lading",
        "POD" => "Proof of Delivery",
        "INV" => "Order Invoice",
        _ => {
            return Err(ApiError::bad_request(format!(
                "Unknown report type '{kind}'. Known types: SL, WB, BOL, POD, INV."
            )));
        }
    };
    let id = ctx
        .query
        .uuid("id")?
        .ok_or_else(|| ApiError::bad_request("id is required."))?;
    let store = s.read();
    let idx = store
        .order_idx(id)
        .ok_or_else(|| ApiError::not_found("Order", id))?;
    check_customer(&ctx.key, store.order_customer(idx))?;
    let o = store.order(idx);
    let addr = |l: &Option<types::Location>| {
        l.as_ref()
            .map(|l| {
                format!(
                    "{}, {}, {} {} {}",
                    l.company_name.as_deref().unwrap_or_default(),
                    l.address_line1.as_deref().unwrap_or_default(),
                    l.city.as_deref().unwrap_or_default(),
                    l.state.as_deref().unwrap_or_default(),
                    l.postal_code.as_deref().unwrap_or_default()
                )
            })
            .unwrap_or_default()
    };
    let tracking = o.tracking_number.clone().unwrap_or_default();
    let lines = vec![
        format!("Order {tracking}"),
        format!("Order ID {id}"),
        format!(
            "Submitted {}",
            o.date_submitted.map(|d| d.to_string()).unwrap_or_default()
        ),
        format!("From: {}", addr(&o.collection_location)),
        format!("To: {}", addr(&o.delivery_location)),
        format!(
            "Status: {}",
            o.status
                .as_ref()
                .and_then(|s| s.name.clone())
                .unwrap_or_default()
        ),
        format!("Total: {:.2}", o.total_cost.unwrap_or(0.0)),
    ];
    let pdf = crate::assets::report_pdf(&format!("{title} - Order {tracking}"), &lines);
    Ok(Reply::Bytes(200, "application/pdf", Bytes::from(pdf)))
}

pub(crate) fn order_signature(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let kind = ctx
        .query
        .enumeration::<SignatureType>("signatureType")?
        .unwrap_or(SignatureType::Delivery);
    let delivery = match kind {
        SignatureType::Delivery => true,
        SignatureType::Collection => false,
        other => {
            return Err(ApiError::bad_request(format!(
                "The value '{other}' is not valid for signatureType."
            )));
        }
    };
    let store = s.read();
    let idx = order_from_query(&store, ctx)?;
    // An order without that signature answers JSON null, as the spec says (a public client of
    // the real API saw `null` for such orders); a missing order is still a 404.
    let encoded = store
        .signature(idx, delivery)
        .map(|png| base64::engine::general_purpose::STANDARD.encode(png));
    Reply::ok(&encoded)
}

pub(crate) fn order_update_prices(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let mut store = s.write();
    let idx = order_from_path(&store, ctx, "id")?;
    store.update_prices(idx);
    Reply::ok(&true)
}

pub(crate) fn order_update_status(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    // The optional body is a Status record; the query parameters win over its fields.
    let details: Option<types::Status> = if ctx.body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(body(ctx, "Status")?)
    };
    let details = details.unwrap_or_else(|| crate::store::blank!(Status));
    crate::store::check_enum(&details.level, "StatusLevel")?;
    let level = ctx
        .query
        .enumeration::<StatusLevel>("detail")?
        .or(details.level);
    // Level 0 (None, "Entered" on screen) is one of the values the vendor lists for `detail`.
    if let Some(l) = &level
        && l.is_unknown()
    {
        return Err(ApiError::bad_request(format!(
            "The value '{l}' is not valid for detail."
        )));
    }
    let label = ctx.query.str("label").map(str::to_owned).or(details.name);
    let description = details.description.or_else(|| label.clone());
    let date = ctx
        .query
        .date("date")?
        .or(details.timestamp.map(|t| t.naive_local()))
        .unwrap_or(ctx.now);
    if level.is_none() && label.is_none() {
        return Err(ApiError::bad_request("detail or label is required."));
    }
    let mut store = s.write();
    let idx = order_from_query(&store, ctx)?;
    store.update_status(
        idx,
        level,
        label,
        description,
        crate::clock::whole_seconds(date),
    );
    Reply::ok(&true)
}
