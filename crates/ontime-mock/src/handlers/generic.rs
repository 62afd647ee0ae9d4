//! The handlers every table-kept record shares: get by id, find (ids of the records a key may
//! see, filtered), find by name and post (OnTime's upsert), parameterised by the record type.

use ontime_raw::types;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::{Ctx, body, check_customer, eq_ci, new_or, param_guid, visible};
use crate::auth::KeySpec;
use crate::http_util::{ApiError, Reply};
use crate::state::Shared;
use crate::store::upsert;
use crate::store::{Record, Row, Store, Table};

/// Whose data a record is, for keys scoped to one customer.
pub(crate) enum Owner {
    /// The account's: every key that may read the record type sees it.
    Account,
    /// One customer's (or nobody's, `None`): only that customer's keys see it.
    Customer(Option<Uuid>),
}

/// A record kept in a table of the store, as the generic handlers serve it.
pub(crate) trait Stored: Record + Serialize + DeserializeOwned {
    /// Its table.
    fn table(store: &Store) -> &Table<Self>;

    /// Its table, for a change.
    fn table_mut(store: &mut Store) -> &mut Table<Self>;

    /// Its GUID, if it has one.
    fn id(&self) -> Option<Uuid>;

    /// Whose data it is (default: the account's).
    fn owner(&self) -> Owner {
        Owner::Account
    }

    /// Gives a posted record of a scoped key that names no customer the key's customer
    /// (records of [`Owner::Customer`] only).
    fn set_owner(&mut self, _customer: Uuid) {}

    /// Refuses a posted record before the store is locked (enum values the spec lacks).
    fn validate(&self) -> Result<(), ApiError> {
        Ok(())
    }

    /// Refuses or completes a posted record with the store locked for the write, before its
    /// id is chosen and it is stored.
    fn before_upsert(&mut self, _store: &mut Store, _ctx: &Ctx) -> Result<(), ApiError> {
        Ok(())
    }

    /// Brings what depends on the record up to date once it is stored under `id`.
    fn after_upsert(_store: &mut Store, _id: Uuid, _ctx: &Ctx) {}
}

/// Whether `key` may see `rec`.
pub(crate) fn visible_to<T: Stored>(key: &KeySpec, rec: &T) -> bool {
    match rec.owner() {
        Owner::Account => true,
        Owner::Customer(customer) => visible(key, customer),
    }
}

/// The record `id` of `table`, or 404.
pub(crate) fn get<T: Record>(table: &Table<T>, id: Uuid) -> Result<&T, ApiError> {
    table
        .get(&id)
        .map(|r| &r.rec)
        .ok_or_else(|| ApiError::not_found(T::NAME, id))
}

/// `GET api/<records>/{id}`: one record (404 if there is none, 403 if the key may not see it).
pub(crate) fn get_by_id<T: Stored>(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let id = param_guid(ctx, 0, "id")?;
    let store = s.read();
    let rec = get(T::table(&store), id)?;
    if let Owner::Customer(customer) = rec.owner() {
        check_customer(&ctx.key, customer)?;
    }
    Reply::ok(rec)
}

/// A record kept inside an order (an item, a status change, an attachment), found by GUID.
pub(crate) trait OfOrder: Serialize + Sized {
    /// The record's name in a 404.
    const NAME: &'static str;

    /// The record and the slot of its order.
    fn lookup(store: &Store, id: Uuid) -> Option<(u32, Self)>;
}

impl OfOrder for types::Item {
    const NAME: &'static str = "Item";

    fn lookup(store: &Store, id: Uuid) -> Option<(u32, Self)> {
        store.item(id)
    }
}

impl OfOrder for types::Status {
    const NAME: &'static str = "Status";

    fn lookup(store: &Store, id: Uuid) -> Option<(u32, Self)> {
        store.status(id)
    }
}

impl OfOrder for types::FileAttachment {
    const NAME: &'static str = "FileAttachment";

    fn lookup(store: &Store, id: Uuid) -> Option<(u32, Self)> {
        store.attachment(id)
    }
}

/// `GET api/<records>/{id}` of a record inside an order (404 if there is none, 403 if the key
/// may not see its order).
pub(crate) fn get_of_order<T: OfOrder>(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let id = param_guid(ctx, 0, "id")?;
    let store = s.read();
    let (idx, rec) = T::lookup(&store, id).ok_or_else(|| ApiError::not_found(T::NAME, id))?;
    check_customer(&ctx.key, store.order_customer(idx))?;
    Reply::ok(&rec)
}

/// `GET api/<records>`: the GUIDs of the records the key may see that `keep` accepts, in
/// store order.
pub(crate) fn find<T: Stored>(
    s: &Shared,
    ctx: &Ctx,
    mut keep: impl FnMut(&Row<T>) -> bool,
) -> Result<Reply, ApiError> {
    let store = s.read();
    let ids: Vec<Uuid> = T::table(&store)
        .iter()
        .filter(|(_, r)| visible_to(&ctx.key, &r.rec) && keep(r))
        .map(|(id, _)| *id)
        .collect();
    Reply::ok(&ids)
}

/// `GET api/<records>` without filters.
pub(crate) fn find_all<T: Stored>(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    find::<T>(s, ctx, |_| true)
}

/// `GET api/<records>/{name}`: the first record one of whose `names` is the path's name (in
/// any case), or 404.
pub(crate) fn find_by_name<T: Stored, const N: usize>(
    s: &Shared,
    ctx: &Ctx,
    names: impl Fn(&T) -> [Option<&str>; N],
) -> Result<Reply, ApiError> {
    let name = ctx.params.first().cloned().unwrap_or_default();
    let store = s.read();
    let found = T::table(&store)
        .values()
        .find(|r| names(&r.rec).into_iter().any(|n| eq_ci(n, Some(&name))))
        .ok_or_else(|| ApiError::new(404, format!("No {} is named '{name}'.", T::NAME)))?;
    Reply::ok(&found.rec)
}

/// `POST api/<record>/post`: OnTime's upsert (the stored record becomes the posted one; a
/// record without GUID is created), answered 201 with the stored record. A key scoped to a
/// customer posts only that customer's records: one that names no customer gets the key's.
pub(crate) fn post<T: Stored>(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let mut rec: T = body(ctx, T::NAME)?;
    rec.validate()?;
    let mut store = s.write();
    if let Some(scope) = ctx.key.customer
        && let Owner::Customer(customer) = rec.owner()
    {
        if customer.is_none() {
            rec.set_owner(scope);
        }
        if let Owner::Customer(customer) = rec.owner() {
            check_customer(&ctx.key, customer)?;
        }
        if let Some(existing) = rec.id().and_then(|id| T::table(&store).get(&id))
            && let Owner::Customer(customer) = existing.rec.owner()
        {
            check_customer(&ctx.key, customer)?;
        }
    }
    rec.before_upsert(&mut store, ctx)?;
    let id = new_or(&mut store, rec.id());
    upsert(T::table_mut(&mut store), rec, id, ctx.now);
    T::after_upsert(&mut store, id, ctx);
    Reply::created(get(T::table(&store), id)?)
}

/// Implements [`Stored`]'s table accessors and id for record types kept in a store table, and
/// with `owner = field` its owner: the customer GUID in `field`.
macro_rules! stored {
    ($table:ident) => {
        fn table(store: &$crate::store::Store) -> &$crate::store::Table<Self> {
            &store.$table
        }

        fn table_mut(store: &mut $crate::store::Store) -> &mut $crate::store::Table<Self> {
            &mut store.$table
        }

        fn id(&self) -> Option<uuid::Uuid> {
            self.id.map(Into::into)
        }
    };
    ($table:ident, owner = $field:ident) => {
        $crate::handlers::generic::stored!($table);

        fn owner(&self) -> $crate::handlers::generic::Owner {
            $crate::handlers::generic::Owner::Customer(self.$field.map(Into::into))
        }

        fn set_owner(&mut self, customer: uuid::Uuid) {
            self.$field = Some(customer.into());
        }
    };
}
pub(crate) use stored;
