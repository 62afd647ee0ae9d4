//! One handler per operation. Handlers are synchronous: they validate everything first and
//! change the store only when the request is accepted, so a rejected request changes nothing.

use base64::Engine as _;
use bytes::Bytes;
use chrono::NaiveDateTime;
use ontime_raw::lenient::{SignatureType, StatusLevel};
use ontime_raw::types;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::auth::KeySpec;
use crate::http_util::{ApiError, Query, Reply};
use crate::orders::upsert;
use crate::state::Shared;
use crate::store::{CredentialKind, Record, Store, Table, check_enum, dt};

/// What a handler gets.
pub(crate) struct Ctx {
    pub key: std::sync::Arc<KeySpec>,
    pub now: NaiveDateTime,
    pub query: Query,
    /// The account's UTC offset (date-times are stored and answered in it, without offset).
    pub offset: chrono::FixedOffset,
    pub body: Bytes,
    pub params: Vec<String>,
}

pub(crate) type Handler = fn(&Shared, &Ctx) -> Result<Reply, ApiError>;

// ---------------------------------------------------------------------- helpers

/// Parses the JSON body as ASP.NET binds it: a missing, `null`, malformed or mistyped body is a
/// 400 fault.
fn body<T: DeserializeOwned>(ctx: &Ctx, what: &str) -> Result<T, ApiError> {
    let text = std::str::from_utf8(&ctx.body)
        .map_err(|_| ApiError::bad_request("The request body is not valid UTF-8."))?;
    if text.trim().is_empty() || text.trim() == "null" {
        return Err(ApiError::bad_request(format!(
            "The {what} is required in the request body."
        )));
    }
    let mut value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| ApiError::bad_request(format!("The request body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::bad_request(format!(
            "Cannot deserialize the request body into type '{what}': a JSON object is required."
        )));
    }
    crate::http_util::localise_dates(&mut value, ctx.offset);
    serde_json::from_value(value).map_err(|e| {
        ApiError::bad_request(format!(
            "Error converting the request body to type '{what}': {e}"
        ))
    })
}

fn param_guid(ctx: &Ctx, i: usize, name: &str) -> Result<Uuid, ApiError> {
    let raw = ctx.params.get(i).map(String::as_str).unwrap_or_default();
    crate::http_util::parse_guid(raw)
        .ok_or_else(|| ApiError::bad_request(format!("The value '{raw}' is not valid for {name}.")))
}

fn scoped_out() -> ApiError {
    ApiError::forbidden(
        "The API key is restricted to a single customer and cannot access this record.",
    )
}

/// A key scoped to a customer may only see that customer's records.
fn check_customer(key: &KeySpec, customer: Option<Uuid>) -> Result<(), ApiError> {
    match key.customer {
        Some(c) if customer != Some(c) => Err(scoped_out()),
        _ => Ok(()),
    }
}

fn visible(key: &KeySpec, customer: Option<Uuid>) -> bool {
    key.customer.is_none_or(|c| customer == Some(c))
}

fn ids<T>(table: &Table<T>, mut keep: impl FnMut(&crate::store::Row<T>) -> bool) -> Vec<Uuid> {
    table
        .iter()
        .filter(|(_, r)| keep(r))
        .map(|(id, _)| *id)
        .collect()
}

fn get<T: Record + serde::Serialize>(table: &Table<T>, id: Uuid) -> Result<&T, ApiError> {
    table
        .get(&id)
        .map(|r| &r.rec)
        .ok_or_else(|| ApiError::not_found(T::NAME, id))
}

fn eq_ci(field: Option<&str>, wanted: Option<&str>) -> bool {
    wanted.is_none_or(|w| field.is_some_and(|f| f.trim().eq_ignore_ascii_case(w.trim())))
}

fn in_range(t: NaiveDateTime, min: Option<NaiveDateTime>, max: Option<NaiveDateTime>) -> bool {
    min.is_none_or(|m| t >= m) && max.is_none_or(|m| t <= m)
}

/// The order an order action names by `id` or `trackingNumber`.
fn order_from_query(store: &Store, ctx: &Ctx) -> Result<u32, ApiError> {
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

fn order_from_path(store: &Store, ctx: &Ctx, name: &str) -> Result<u32, ApiError> {
    let id = param_guid(ctx, 0, name)?;
    let idx = store
        .order_idx(id)
        .ok_or_else(|| ApiError::not_found("Order", id))?;
    check_customer(&ctx.key, store.order_customer(idx))?;
    Ok(idx)
}

fn new_or(store: &mut Store, id: Option<Uuid>) -> Uuid {
    match id {
        Some(id) => id,
        None => store.new_id(),
    }
}

// ---------------------------------------------------------------------- contacts

pub(crate) fn contact_post(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let mut c: types::Contact = body(ctx, "Contact")?;
    let mut store = s.write();
    if ctx.key.customer.is_some() {
        if c.customer_id.is_none() {
            c.customer_id = ctx.key.customer.map(Into::into);
        }
        check_customer(&ctx.key, c.customer_id.map(Into::into))?;
        if let Some(existing) = c.id.and_then(|id| store.contacts.get(&Uuid::from(id))) {
            check_customer(&ctx.key, existing.rec.customer_id.map(Into::into))?;
        }
    }
    let id = new_or(&mut store, c.id.map(Into::into));
    upsert(&mut store.contacts, c, id, ctx.now);
    Reply::created(get(&store.contacts, id)?)
}

pub(crate) fn contacts_find(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let store = s.read();
    Reply::ok(&ids(&store.contacts, |r| {
        visible(&ctx.key, r.rec.customer_id.map(Into::into))
    }))
}

fn authenticate(s: &Shared, ctx: &Ctx, kind: CredentialKind) -> Result<Reply, ApiError> {
    let user = ctx.query.str("userName");
    let password = ctx.query.str("password");
    let (Some(user), Some(password)) = (user, password) else {
        return Err(ApiError::bad_request("userName and password are required."));
    };
    let store = s.read();
    let found = store
        .credentials
        .get(&(kind, user.trim().to_ascii_lowercase()))
        .filter(|(p, _)| p == password)
        .map(|(_, id)| *id)
        .filter(|id| match kind {
            CredentialKind::Contact => store
                .contacts
                .get(id)
                .is_some_and(|c| visible(&ctx.key, c.rec.customer_id.map(Into::into))),
            CredentialKind::Customer => visible(&ctx.key, Some(*id)),
            CredentialKind::User => true,
        });
    Reply::ok(&found)
}

pub(crate) fn contacts_authenticate(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    authenticate(s, ctx, CredentialKind::Contact)
}

pub(crate) fn contacts_get(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let id = param_guid(ctx, 0, "id")?;
    let store = s.read();
    let c = get(&store.contacts, id)?;
    check_customer(&ctx.key, c.customer_id.map(Into::into))?;
    Reply::ok(c)
}

// ---------------------------------------------------------------------- customers

fn materialise_customer(store: &Store, id: Uuid) -> Result<types::Customer, ApiError> {
    let mut c = get(&store.customers, id)?.clone();
    c.contacts = Some(
        store
            .contacts
            .values()
            .filter(|r| r.rec.customer_id == Some(id.into()))
            .map(|r| r.rec.clone())
            .collect(),
    );
    c.departments = Some(
        store
            .departments
            .values()
            .filter(|r| r.rec.customer_id == Some(id.into()))
            .map(|r| r.rec.clone())
            .collect(),
    );
    Ok(c)
}

pub(crate) fn customer_post(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let mut c: types::Customer = body(ctx, "Customer")?;
    check_enum(&c.pricing_method, "PricingMethod")?;
    let mut store = s.write();
    if let Some(scope) = ctx.key.customer
        && (c.id.is_some_and(|id| id != scope) || c.id.is_none())
    {
        return Err(ApiError::forbidden(
            "The API key is restricted to a single customer and cannot create or change other customers.",
        ));
    }
    // Embedded contacts and departments are upserted as records of their own. A scoped key
    // may not take over another customer's (checked before anything is written).
    let contacts = c.contacts.take().unwrap_or_default();
    let departments = c.departments.take().unwrap_or_default();
    if ctx.key.customer.is_some() {
        for existing in contacts
            .iter()
            .filter_map(|x| x.id.and_then(|i| store.contacts.get(&Uuid::from(i))))
        {
            check_customer(&ctx.key, existing.rec.customer_id.map(Into::into))?;
        }
        for existing in departments
            .iter()
            .filter_map(|x| x.id.and_then(|i| store.departments.get(&Uuid::from(i))))
        {
            check_customer(&ctx.key, existing.rec.customer_id.map(Into::into))?;
        }
    }
    let id = new_or(&mut store, c.id.map(Into::into));
    for mut contact in contacts {
        contact.customer_id = Some(id.into());
        let cid = new_or(&mut store, contact.id.map(Into::into));
        upsert(&mut store.contacts, contact, cid, ctx.now);
    }
    for mut dep in departments {
        dep.customer_id = Some(id.into());
        let did = new_or(&mut store, dep.id.map(Into::into));
        upsert(&mut store.departments, dep, did, ctx.now);
    }
    upsert(&mut store.customers, c, id, ctx.now);
    Reply::created(&materialise_customer(&store, id)?)
}

pub(crate) fn customers_find(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let q = &ctx.query;
    let inactive = q.bool("inactive")?;
    let (lm_min, lm_max) = (
        q.date("lastModifiedDateMin")?,
        q.date("lastModifiedDateMax")?,
    );
    let (c_min, c_max) = (q.date("creationDateMin")?, q.date("creationDateMax")?);
    let store = s.read();
    Reply::ok(&ids(&store.customers, |r| {
        let c = &r.rec;
        visible(&ctx.key, c.id.map(Into::into))
            && eq_ci(c.account_number.as_deref(), q.str("accountNumber"))
            && eq_ci(c.address_line1.as_deref(), q.str("addressLine1"))
            && eq_ci(c.city.as_deref(), q.str("city"))
            && eq_ci(c.country.as_deref(), q.str("country"))
            && eq_ci(c.email.as_deref(), q.str("email"))
            && eq_ci(c.name.as_deref(), q.str("name"))
            && eq_ci(c.postal_code.as_deref(), q.str("postalCode"))
            && eq_ci(
                c.primary_contact_name.as_deref(),
                q.str("primaryContactName"),
            )
            && eq_ci(c.reference_number.as_deref(), q.str("referenceNumber"))
            && state_matches(c.state.as_deref(), q.str("state"))
            && inactive.is_none_or(|i| c.inactive.unwrap_or(false) == i)
            && in_range(r.modified, lm_min, lm_max)
            && in_range(r.created, c_min, c_max)
    }))
}

pub(crate) fn customers_authenticate(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    authenticate(s, ctx, CredentialKind::Customer)
}

pub(crate) fn customers_get(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let id = param_guid(ctx, 0, "id")?;
    let store = s.read();
    let c = materialise_customer(&store, id)?;
    check_customer(&ctx.key, Some(id))?;
    Reply::ok(&c)
}

// ---------------------------------------------------------------------- departments

pub(crate) fn department_post(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let mut d: types::Department = body(ctx, "Department")?;
    let mut store = s.write();
    if ctx.key.customer.is_some() {
        if d.customer_id.is_none() {
            d.customer_id = ctx.key.customer.map(Into::into);
        }
        check_customer(&ctx.key, d.customer_id.map(Into::into))?;
        if let Some(existing) = d.id.and_then(|id| store.departments.get(&Uuid::from(id))) {
            check_customer(&ctx.key, existing.rec.customer_id.map(Into::into))?;
        }
    }
    let id = new_or(&mut store, d.id.map(Into::into));
    upsert(&mut store.departments, d, id, ctx.now);
    Reply::created(get(&store.departments, id)?)
}

pub(crate) fn departments_find(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let store = s.read();
    Reply::ok(&ids(&store.departments, |r| {
        visible(&ctx.key, r.rec.customer_id.map(Into::into))
    }))
}

pub(crate) fn departments_get(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let id = param_guid(ctx, 0, "id")?;
    let store = s.read();
    let d = get(&store.departments, id)?;
    check_customer(&ctx.key, d.customer_id.map(Into::into))?;
    Reply::ok(d)
}

// ---------------------------------------------------------------------- file attachments

pub(crate) fn file_attachments_find(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let order = ctx
        .query
        .uuid("orderID")?
        .ok_or_else(|| ApiError::bad_request("orderID is required."))?;
    let store = s.read();
    let list = match store.order_idx(order) {
        Some(idx) if visible(&ctx.key, store.order_customer(idx)) => store.attachment_ids(idx),
        _ => Vec::new(),
    };
    Reply::ok(&list)
}

pub(crate) fn file_attachments_get(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let id = param_guid(ctx, 0, "id")?;
    let store = s.read();
    let (idx, a) = store
        .attachment(id)
        .ok_or_else(|| ApiError::not_found("FileAttachment", id))?;
    check_customer(&ctx.key, store.order_customer(idx))?;
    Reply::ok(&a)
}

pub(crate) fn order_file_attachment_delete(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let id = param_guid(ctx, 0, "id")?;
    let mut store = s.write();
    let (idx, _) = store
        .attachment(id)
        .ok_or_else(|| ApiError::not_found("FileAttachment", id))?;
    check_customer(&ctx.key, store.order_customer(idx))?;
    Reply::ok(&store.delete_attachment(id))
}

pub(crate) fn order_file_attachment_post(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let a: types::FileAttachment = body(ctx, "FileAttachment")?;
    let contents = match a.contents.as_deref() {
        Some(c) => base64::engine::general_purpose::STANDARD
            .decode(c.trim())
            .map_err(|e| ApiError::bad_request(format!("Contents is not valid base64: {e}")))?,
        None => return Err(ApiError::bad_request("Contents is required.")),
    };
    let mut store = s.write();
    let idx = order_from_path(&store, ctx, "orderID")?;
    let name = a
        .file_name
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "attachment".to_owned());
    let id = store.add_attachment(idx, name, Bytes::from(contents), ctx.now);
    let (_, rec) = store
        .attachment(id)
        .ok_or_else(|| ApiError::new(500, "The attachment was not stored."))?;
    Reply::created(&rec)
}

// ---------------------------------------------------------------------- invoices and payments

pub(crate) fn invoice_post(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let mut inv: types::Invoice = body(ctx, "Invoice")?;
    let mut store = s.write();
    let id = new_or(&mut store, inv.id.map(Into::into));
    let existing = store.invoices.get(&id).map(|r| r.rec.clone());
    if inv.invoice_number.is_none() {
        inv.invoice_number = Some(match existing.as_ref().and_then(|e| e.invoice_number) {
            Some(n) => n,
            None => {
                store.next_invoice_number += 1;
                store.next_invoice_number - 1
            }
        });
    }
    if inv.date.is_none() {
        inv.date = Some(dt(ctx.now));
    }
    if inv.total_amount.is_none() {
        let total: f64 = inv
            .orders
            .iter()
            .flatten()
            .filter_map(|o| store.order_idx((*o).into()))
            .map(|i| store.order(i).total_cost.unwrap_or(0.0))
            .sum();
        inv.total_amount = Some(crate::pricing::cents(total));
    }
    upsert(&mut store.invoices, inv, id, ctx.now);
    Reply::created(get(&store.invoices, id)?)
}

pub(crate) fn invoices_find(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let store = s.read();
    Reply::ok(&ids(&store.invoices, |r| {
        visible(&ctx.key, r.rec.customer.map(Into::into))
    }))
}

pub(crate) fn invoices_get(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let id = param_guid(ctx, 0, "id")?;
    let store = s.read();
    let inv = get(&store.invoices, id)?;
    check_customer(&ctx.key, inv.customer.map(Into::into))?;
    Reply::ok(inv)
}

pub(crate) fn payment_post(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let mut p: types::Payment = body(ctx, "Payment")?;
    let mut store = s.write();
    let id = new_or(&mut store, p.id.map(Into::into));
    if p.date.is_none() {
        p.date = Some(dt(ctx.now));
    }
    let invoice = p.invoice;
    upsert(&mut store.payments, p, id, ctx.now);
    // An invoice is paid once its payments cover its total.
    if let Some(inv) = invoice {
        let paid: f64 = store
            .payments
            .values()
            .filter(|r| r.rec.invoice == Some(inv))
            .filter_map(|r| r.rec.amount)
            .sum();
        if let Some(row) = store.invoices.get_mut(&Uuid::from(inv)) {
            row.rec.is_paid = Some(paid + 0.005 >= row.rec.total_amount.unwrap_or(0.0));
            row.modified = ctx.now;
        }
    }
    Reply::created(get(&store.payments, id)?)
}

pub(crate) fn payments_find(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let store = s.read();
    Reply::ok(&ids(&store.payments, |r| {
        visible(&ctx.key, r.rec.customer.map(Into::into))
    }))
}

pub(crate) fn payments_get(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let id = param_guid(ctx, 0, "id")?;
    let store = s.read();
    let p = get(&store.payments, id)?;
    check_customer(&ctx.key, p.customer.map(Into::into))?;
    Reply::ok(p)
}

// ---------------------------------------------------------------------- items

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

pub(crate) fn items_get(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let id = param_guid(ctx, 0, "id")?;
    let store = s.read();
    let (idx, item) = store
        .item(id)
        .ok_or_else(|| ApiError::not_found("Item", id))?;
    check_customer(&ctx.key, store.order_customer(idx))?;
    Reply::ok(&item)
}

// ---------------------------------------------------------------------- locations and zones

pub(crate) fn location_post(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let l: types::Location = body(ctx, "Location")?;
    let mut store = s.write();
    // Locations are shared by every customer's orders: a scoped key may add new ones but not
    // change existing ones (that would change other customers' orders).
    if ctx.key.customer.is_some()
        && l.id
            .is_some_and(|id| store.locations.contains_key(&Uuid::from(id)))
    {
        return Err(ApiError::forbidden(
            "The API key is restricted to a single customer and cannot change existing locations.",
        ));
    }
    let id = new_or(&mut store, l.id.map(Into::into));
    upsert(&mut store.locations, l, id, ctx.now);
    let i = store.locations.get_index_of(&id).unwrap_or_default();
    let rec = store.locations[i].rec.clone();
    let geo = crate::store::Geo {
        lat_lng: rec
            .latitude_longitude
            .as_deref()
            .and_then(crate::pricing::parse_lat_lng),
    };
    if i < store.geo.len() {
        store.geo[i] = geo;
    } else {
        store.geo.push(geo);
    }
    Reply::created(&rec)
}

pub(crate) fn locations_find(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let store = s.read();
    let (city, state) = (ctx.query.str("city"), ctx.query.str("state"));
    Reply::ok(&ids(&store.locations, |r| {
        eq_ci(r.rec.city.as_deref(), city) && state_matches(r.rec.state.as_deref(), state)
    }))
}

/// US states, DC and Canadian provinces and territories: postal code and name.
const REGIONS: &[(&str, &str)] = &[
    ("AL", "Alabama"),
    ("AK", "Alaska"),
    ("AZ", "Arizona"),
    ("AR", "Arkansas"),
    ("CA", "California"),
    ("CO", "Colorado"),
    ("CT", "Connecticut"),
    ("DE", "Delaware"),
    ("DC", "District of Columbia"),
    ("FL", "Florida"),
    ("GA", "Georgia"),
    ("HI", "Hawaii"),
    ("ID", "Idaho"),
    ("IL", "Illinois"),
    ("IN", "Indiana"),
    ("IA", "Iowa"),
    ("KS", "Kansas"),
    ("KY", "Kentucky"),
    ("LA", "Louisiana"),
    ("ME", "Maine"),
    ("MD", "Maryland"),
    ("MA", "Massachusetts"),
    ("MI", "Michigan"),
    ("MN", "Minnesota"),
    ("MS", "Mississippi"),
    ("MO", "Missouri"),
    ("MT", "Montana"),
    ("NE", "Nebraska"),
    ("NV", "Nevada"),
    ("NH", "New Hampshire"),
    ("NJ", "New Jersey"),
    ("NM", "New Mexico"),
    ("NY", "New York"),
    ("NC", "North Carolina"),
    ("ND", "North Dakota"),
    ("OH", "Ohio"),
    ("OK", "Oklahoma"),
    ("OR", "Oregon"),
    ("PA", "Pennsylvania"),
    ("RI", "Rhode Island"),
    ("SC", "South Carolina"),
    ("SD", "South Dakota"),
    ("TN", "Tennessee"),
    ("TX", "Texas"),
    ("UT", "Utah"),
    ("VT", "Vermont"),
    ("VA", "Virginia"),
    ("WA", "Washington"),
    ("WV", "West Virginia"),
    ("WI", "Wisconsin"),
    ("WY", "Wyoming"),
    ("PR", "Puerto Rico"),
    ("AB", "Alberta"),
    ("BC", "British Columbia"),
    ("MB", "Manitoba"),
    ("NB", "New Brunswick"),
    ("NL", "Newfoundland and Labrador"),
    ("NS", "Nova Scotia"),
    ("NT", "Northwest Territories"),
    ("NU", "Nunavut"),
    ("ON", "Ontario"),
    ("PE", "Prince Edward Island"),
    ("QC", "Quebec"),
    ("SK", "Saskatchewan"),
    ("YT", "Yukon"),
];

/// States match by code or by name, in any case (`TX` = `Texas`, as KB a291's example filters).
fn state_matches(field: Option<&str>, wanted: Option<&str>) -> bool {
    let Some(w) = wanted else { return true };
    let Some(f) = field else { return false };
    let norm = |s: &str| {
        let s = s.trim();
        REGIONS
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(s))
            .map_or_else(|| s.to_ascii_uppercase(), |(code, _)| (*code).to_owned())
    };
    norm(f) == norm(w)
}

pub(crate) fn locations_get(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let id = param_guid(ctx, 0, "id")?;
    let store = s.read();
    Reply::ok(get(&store.locations, id)?)
}

pub(crate) fn zone_post(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let z: types::Zone = body(ctx, "Zone")?;
    let mut store = s.write();
    let id = new_or(&mut store, z.id.map(Into::into));
    upsert(&mut store.zones, z, id, ctx.now);
    Reply::created(get(&store.zones, id)?)
}

pub(crate) fn zones_find(s: &Shared, _ctx: &Ctx) -> Result<Reply, ApiError> {
    let store = s.read();
    Reply::ok(&ids(&store.zones, |_| true))
}

pub(crate) fn zones_get(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let id = param_guid(ctx, 0, "id")?;
    let store = s.read();
    Reply::ok(get(&store.zones, id)?)
}

// ---------------------------------------------------------------------- orders

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
    crate::orders::check_order_enums(&o)?;
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

// ---------------------------------------------------------------------- price sets and modifiers

pub(crate) fn price_modifiers_get(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let id = param_guid(ctx, 0, "id")?;
    let store = s.read();
    Reply::ok(get(&store.price_modifiers, id)?)
}

pub(crate) fn price_modifiers_by_name(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let name = ctx.params.first().cloned().unwrap_or_default();
    let store = s.read();
    let m = store
        .price_modifiers
        .values()
        .find(|r| {
            eq_ci(r.rec.name.as_deref(), Some(&name))
                || eq_ci(r.rec.internal_name.as_deref(), Some(&name))
        })
        .ok_or_else(|| ApiError::new(404, format!("No PriceModifier is named '{name}'.")))?;
    Reply::ok(&m.rec)
}

pub(crate) fn price_sets_get(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let id = param_guid(ctx, 0, "id")?;
    let store = s.read();
    Reply::ok(get(&store.price_sets, id)?)
}

pub(crate) fn price_sets_by_name(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let name = ctx.params.first().cloned().unwrap_or_default();
    let store = s.read();
    let p = store
        .price_sets
        .values()
        .find(|r| {
            eq_ci(r.rec.internal_name.as_deref(), Some(&name))
                || eq_ci(r.rec.service_level.as_deref(), Some(&name))
        })
        .ok_or_else(|| ApiError::new(404, format!("No PriceSet is named '{name}'.")))?;
    Reply::ok(&p.rec)
}

// ---------------------------------------------------------------------- statuses

pub(crate) fn statuses_find(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let store = s.read();
    Reply::ok(&store.status_ids(ctx.key.customer))
}

pub(crate) fn statuses_get(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let id = param_guid(ctx, 0, "id")?;
    let store = s.read();
    let (idx, st) = store
        .status(id)
        .ok_or_else(|| ApiError::not_found("Status", id))?;
    check_customer(&ctx.key, store.order_customer(idx))?;
    Reply::ok(&st)
}

// ---------------------------------------------------------------------- users

fn user_exists(store: &Store, id: Uuid) -> Result<(), ApiError> {
    if store.users.contains_key(&id) {
        Ok(())
    } else {
        Err(ApiError::not_found("User", id))
    }
}

pub(crate) fn user_availability(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let id = param_guid(ctx, 0, "userID")?;
    let store = s.read();
    user_exists(&store, id)?;
    let a = store
        .availability
        .get(&id)
        .ok_or_else(|| ApiError::new(404, format!("User {id} has no availability.")))?;
    Reply::ok(a)
}

pub(crate) fn user_positions(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let user = ctx.query.uuid("userId")?;
    let (min, max) = (ctx.query.date("dateMin")?, ctx.query.date("dateMax")?);
    let store = s.read();
    let mut out: Vec<&types::UserPosition> = match user {
        Some(u) => store
            .positions
            .get(&u)
            .map(|v| v.iter().collect())
            .unwrap_or_default(),
        None => store.positions.values().flatten().collect(),
    };
    out.retain(|p| {
        p.timestamp
            .is_some_and(|t| in_range(t.naive_local(), min, max))
    });
    out.sort_by_key(|p| (p.timestamp.map(|t| t.naive_local()), p.user_id));
    Reply::ok(&out)
}

pub(crate) fn user_position_latest(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let id = param_guid(ctx, 0, "userID")?;
    let store = s.read();
    user_exists(&store, id)?;
    let p = store
        .positions
        .get(&id)
        .and_then(|v| {
            v.iter()
                .max_by_key(|p| p.timestamp.map(|t| t.naive_local()))
        })
        .ok_or_else(|| ApiError::new(404, format!("User {id} has no recorded position.")))?;
    Reply::ok(p)
}

pub(crate) fn user_update_availability(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let mut a: types::UserAvailability = body(ctx, "UserAvailability")?;
    let user = a
        .user_id
        .map(Uuid::from)
        .ok_or_else(|| ApiError::bad_request("UserID is required."))?;
    let mut store = s.write();
    user_exists(&store, user)?;
    let id = match store.availability.get(&user).and_then(|x| x.id) {
        Some(id) => id,
        None => store.new_id(),
    };
    a.id = Some(id);
    a.extra.clear();
    if a.last_status_change.is_none() {
        a.last_status_change = Some(dt(ctx.now));
    }
    store.availability.insert(user, a);
    Reply::ok(&true)
}

pub(crate) fn user_update_position(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let mut p: types::UserPosition = body(ctx, "UserPosition")?;
    let user = p
        .user_id
        .map(Uuid::from)
        .ok_or_else(|| ApiError::bad_request("UserID is required."))?;
    let mut store = s.write();
    user_exists(&store, user)?;
    if p.id.is_none() {
        p.id = Some(store.new_id());
    }
    if p.timestamp.is_none() {
        p.timestamp = Some(dt(ctx.now));
    }
    p.extra.clear();
    let t = p.timestamp;
    let list = store.positions.entry(user).or_default();
    list.retain(|x| x.id != p.id);
    list.push(p);
    list.sort_by_key(|x| x.timestamp.map(|t| t.naive_local()));
    if let Some(u) = store.users.get_mut(&user)
        && t.is_some_and(|t| {
            u.rec
                .driver_last_sync
                .is_none_or(|s| s.naive_local() <= t.naive_local())
        })
    {
        u.rec.driver_last_sync = t;
    }
    Reply::ok(&true)
}

pub(crate) fn user_misc_compensation_post(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let c: types::UserMiscCompensation = body(ctx, "UserMiscCompensation")?;
    check_enum(&c.role, "CompensationRole")?;
    check_enum(&c.type_, "CompensationType")?;
    let mut store = s.write();
    let id = new_or(&mut store, c.id.map(Into::into));
    upsert(&mut store.compensations, c, id, ctx.now);
    Reply::created(get(&store.compensations, id)?)
}

pub(crate) fn user_misc_compensations_get(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let id = param_guid(ctx, 0, "id")?;
    let store = s.read();
    Reply::ok(get(&store.compensations, id)?)
}

pub(crate) fn user_session_post(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let sess: types::UserSession = body(ctx, "UserSession")?;
    check_enum(&sess.log_in_type, "LogInType")?;
    let mut store = s.write();
    let id = new_or(&mut store, sess.id.map(Into::into));
    let user = sess.user_id.map(Uuid::from);
    upsert(&mut store.sessions, sess, id, ctx.now);
    if let Some(u) = user.and_then(|u| store.users.get_mut(&u)) {
        let list = u.rec.time_clock_sessions.get_or_insert_with(Vec::new);
        if !list.contains(&id.into()) {
            list.push(id.into());
        }
    }
    Reply::created(get(&store.sessions, id)?)
}

pub(crate) fn user_sessions_find(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let user = ctx.query.uuid("userId")?;
    let login = ctx.query.date("logInTime")?;
    let logout = ctx.query.date("logOutTime")?;
    let store = s.read();
    Reply::ok(&ids(&store.sessions, |r| {
        let s = &r.rec;
        user.is_none_or(|u| s.user_id == Some(u.into()))
            && login.is_none_or(|m| s.log_in_time.is_some_and(|t| t.naive_local() >= m))
            && logout.is_none_or(|m| s.log_out_time.is_some_and(|t| t.naive_local() <= m))
    }))
}

pub(crate) fn user_sessions_get(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let id = param_guid(ctx, 0, "id")?;
    let store = s.read();
    Reply::ok(get(&store.sessions, id)?)
}

pub(crate) fn users_find(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let q = &ctx.query;
    let (lm_min, lm_max) = (
        q.date("lastModifiedDateMin")?,
        q.date("lastModifiedDateMax")?,
    );
    let (c_min, c_max) = (q.date("creationDateMin")?, q.date("creationDateMax")?);
    let store = s.read();
    Reply::ok(&ids(&store.users, |r| {
        let u = &r.rec;
        eq_ci(u.email.as_deref(), q.str("email"))
            && eq_ci(u.first_name.as_deref(), q.str("firstName"))
            && eq_ci(u.last_name.as_deref(), q.str("lastName"))
            && eq_ci(u.user_name.as_deref(), q.str("userName"))
            && in_range(r.modified, lm_min, lm_max)
            && in_range(r.created, c_min, c_max)
    }))
}

pub(crate) fn users_authenticate(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    authenticate(s, ctx, CredentialKind::User)
}

pub(crate) fn users_get(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let id = param_guid(ctx, 0, "id")?;
    let store = s.read();
    Reply::ok(get(&store.users, id)?)
}

// ---------------------------------------------------------------------- vehicles

pub(crate) fn vehicle_post(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let v: types::Vehicle = body(ctx, "Vehicle")?;
    let mut store = s.write();
    let id = new_or(&mut store, v.id.map(Into::into));
    upsert(&mut store.vehicles, v, id, ctx.now);
    Reply::created(get(&store.vehicles, id)?)
}

pub(crate) fn vehicles_find(s: &Shared, _ctx: &Ctx) -> Result<Reply, ApiError> {
    let store = s.read();
    Reply::ok(&ids(&store.vehicles, |_| true))
}

pub(crate) fn vehicles_get(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let id = param_guid(ctx, 0, "id")?;
    let store = s.read();
    Reply::ok(get(&store.vehicles, id)?)
}

#[cfg(test)]
mod region_tests {
    use super::state_matches;

    #[test]
    fn states_match_by_code_or_name_in_any_case() {
        assert!(state_matches(Some("TX"), Some("texas")));
        assert!(state_matches(Some("Texas"), Some("tx")));
        assert!(state_matches(Some("new york"), Some("NY")));
        assert!(state_matches(Some("QC"), Some("Quebec")));
        assert!(state_matches(Some("Bavaria"), Some("bavaria")));
        assert!(state_matches(Some("TX"), None));
        assert!(!state_matches(Some("TX"), Some("Oklahoma")));
        assert!(!state_matches(None, Some("TX")));
    }
}
