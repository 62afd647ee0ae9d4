//! Customers (with their contacts and departments embedded) and departments.

use ontime_raw::types;
use uuid::Uuid;

use super::generic::{Owner, Stored, find, get, stored};
use super::places::state_matches;
use super::{Ctx, RowDates, body, check_customer, eq_ci, new_or, param_guid};
use crate::http_util::{ApiError, Reply};
use crate::state::Shared;
use crate::store::upsert;
use crate::store::{Store, check_enum};

impl Stored for types::Customer {
    stored!(customers);

    /// A customer is its own customer's data.
    fn owner(&self) -> Owner {
        Owner::Customer(self.id.map(Into::into))
    }
}

impl Stored for types::Department {
    stored!(departments, owner = customer_id);
}

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
    let dates = RowDates::parse(q)?;
    find::<types::Customer>(s, ctx, |r| {
        let c = &r.rec;
        eq_ci(c.account_number.as_deref(), q.str("accountNumber"))
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
            && dates.matches(r)
    })
}

pub(crate) fn customers_get(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let id = param_guid(ctx, 0, "id")?;
    let store = s.read();
    let c = materialise_customer(&store, id)?;
    check_customer(&ctx.key, Some(id))?;
    Reply::ok(&c)
}
