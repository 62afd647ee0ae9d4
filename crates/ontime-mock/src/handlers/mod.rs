//! One handler per operation, grouped by the records they serve. Handlers are synchronous:
//! they validate everything first and change the store only when the request is accepted, so
//! a rejected request changes nothing.
//!
//! Most records are served by the generic handlers of [`generic`] (get by id, find, post),
//! parameterised by the record type through [`generic::Stored`]; a record's module implements
//! that trait (its table, whose customer it belongs to, what a post fills in) and holds the
//! handlers that do more than the generic ones:
//!
//! - [`contacts`]: contacts and the three authenticate operations;
//! - [`customers`]: customers (with their contacts and departments) and departments;
//! - [`attachments`]: files attached to orders;
//! - [`billing`]: invoices and payments;
//! - [`orders`]: orders, their items and status changes; [`order_actions`]: the order
//!   operations that are not records (status, COD, signatures, prices, reports);
//! - [`places`]: locations and zones; [`price_lists`]: price sets and modifiers;
//! - [`users`]: users, their availability, positions, sessions and compensations, and
//!   vehicles.
//!
//! The operation table (module `ops`, which depends on this one) names the handler of each
//! operation.

pub(crate) mod attachments;
pub(crate) mod billing;
pub(crate) mod contacts;
pub(crate) mod customers;
pub(crate) mod generic;
pub(crate) mod order_actions;
pub(crate) mod orders;
pub(crate) mod places;
pub(crate) mod price_lists;
pub(crate) mod users;

use bytes::Bytes;
use chrono::NaiveDateTime;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::auth::KeySpec;
use crate::http_util::{ApiError, Query, Reply};
use crate::state::Shared;
use crate::store::Store;

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

/// The handler of one operation.
pub(crate) type Handler = fn(&Shared, &Ctx) -> Result<Reply, ApiError>;

/// Parses the JSON body as ASP.NET binds it: a missing, `null`, malformed or mistyped body is a
/// 400 fault.
pub(crate) fn body<T: DeserializeOwned>(ctx: &Ctx, what: &str) -> Result<T, ApiError> {
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

pub(crate) fn param_guid(ctx: &Ctx, i: usize, name: &str) -> Result<Uuid, ApiError> {
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
pub(crate) fn check_customer(key: &KeySpec, customer: Option<Uuid>) -> Result<(), ApiError> {
    match key.customer {
        Some(c) if customer != Some(c) => Err(scoped_out()),
        _ => Ok(()),
    }
}

pub(crate) fn visible(key: &KeySpec, customer: Option<Uuid>) -> bool {
    key.customer.is_none_or(|c| customer == Some(c))
}

pub(crate) fn eq_ci(field: Option<&str>, wanted: Option<&str>) -> bool {
    wanted.is_none_or(|w| field.is_some_and(|f| f.trim().eq_ignore_ascii_case(w.trim())))
}

pub(crate) fn in_range(
    t: NaiveDateTime,
    min: Option<NaiveDateTime>,
    max: Option<NaiveDateTime>,
) -> bool {
    min.is_none_or(|m| t >= m) && max.is_none_or(|m| t <= m)
}

pub(crate) fn new_or(store: &mut Store, id: Option<Uuid>) -> Uuid {
    match id {
        Some(id) => id,
        None => store.new_id(),
    }
}

/// A finder's `lastModifiedDateMin`/`Max` and `creationDateMin`/`Max` filters.
pub(crate) struct RowDates {
    modified: (Option<NaiveDateTime>, Option<NaiveDateTime>),
    created: (Option<NaiveDateTime>, Option<NaiveDateTime>),
}

impl RowDates {
    pub(crate) fn parse(q: &Query) -> Result<Self, ApiError> {
        Ok(Self {
            modified: (
                q.date("lastModifiedDateMin")?,
                q.date("lastModifiedDateMax")?,
            ),
            created: (q.date("creationDateMin")?, q.date("creationDateMax")?),
        })
    }

    /// Whether the row was modified and created within the ranges.
    pub(crate) fn matches<T>(&self, row: &crate::store::Row<T>) -> bool {
        in_range(row.modified, self.modified.0, self.modified.1)
            && in_range(row.created, self.created.0, self.created.1)
    }
}
