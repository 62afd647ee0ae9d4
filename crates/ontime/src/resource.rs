//! Resource handles: `client.orders()`, `client.customers()`, ... with `get`, `ids`, `find`,
//! `get_many`, `save` and `modify` wherever the API has the underlying operations.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use ontime_raw::types::{self, Fault, GuidList};
use ontime_raw::{Client as RawClient, ResponseValue};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::filters::{
    CustomerFilter, LocationFilter, NoFilter, OrderFilter, UserFilter, UserSessionFilter,
};
use crate::ids::*;
use crate::retry::Idempotency;
use crate::{Client, Result};

pub(crate) type RawResult<T> = std::result::Result<ResponseValue<T>, ontime_raw::Error<Fault>>;

/// A record type of the API with its typed identifier.
pub trait Record:
    Clone + fmt::Debug + Send + Sync + Serialize + DeserializeOwned + 'static
{
    /// Its identifier type.
    type Id: TypedId;
    /// The record's identifier, if it has one yet.
    fn id(&self) -> Option<Self::Id>;
    /// Sets the record's identifier.
    fn set_id(&mut self, id: Self::Id);
}

/// Records the API can fetch by identifier.
pub trait Fetch: Record {
    /// The operation's name (for errors and traces).
    #[doc(hidden)]
    const GET: &'static str;
    #[doc(hidden)]
    fn get_raw(raw: &RawClient, id: Uuid) -> impl Future<Output = RawResult<Self>> + Send + '_;
}

/// Records the API can search for (its finder returns identifiers only).
pub trait Search: Record {
    /// The finder's filter type ([`NoFilter`] when the finder takes none).
    type Filter: Clone + Default + fmt::Debug + Send + Sync + 'static;
    /// The operation's name.
    #[doc(hidden)]
    const FIND: &'static str;
    /// Refuses filters that cannot be sent (blank text values).
    #[doc(hidden)]
    fn check_filter(filter: &Self::Filter) -> Result<()> {
        let _ = filter;
        Ok(())
    }
    #[doc(hidden)]
    fn find_raw<'a>(
        raw: &'a RawClient,
        filter: &'a Self::Filter,
    ) -> impl Future<Output = RawResult<GuidList>> + Send + 'a;
}

/// Records the API can create or replace (`*/post`).
pub trait Store: Record {
    /// The operation's name.
    #[doc(hidden)]
    const POST: &'static str;
    #[doc(hidden)]
    fn post_raw(raw: &RawClient, record: Self)
    -> impl Future<Output = RawResult<Self>> + Send + '_;
}

macro_rules! record {
    ($($ty:ident => $id:ident),* $(,)?) => {$(
        impl Record for types::$ty {
            type Id = $id;
            fn id(&self) -> Option<$id> {
                self.id.map($id::from)
            }
            fn set_id(&mut self, id: $id) {
                self.id = Some(id.into());
            }
        }
    )*};
}

record! {
    Contact => ContactId, Customer => CustomerId, Department => DepartmentId,
    FileAttachment => FileAttachmentId, Invoice => InvoiceId, Item => ItemId, Location => LocationId,
    Order => OrderId, Payment => PaymentId, PriceModifier => PriceModifierId, PriceSet => PriceSetId,
    Status => StatusId, User => UserId, UserMiscCompensation => UserMiscCompensationId,
    UserSession => UserSessionId, Vehicle => VehicleId, Zone => ZoneId,
}

macro_rules! fetch {
    ($($ty:ident => $op:ident),* $(,)?) => {$(
        impl Fetch for types::$ty {
            const GET: &'static str = stringify!($op);
            fn get_raw(raw: &RawClient, id: Uuid) -> impl Future<Output = RawResult<Self>> + Send + '_ {
                raw.$op().id(id).send()
            }
        }
    )*};
}

fetch! {
    Contact => contacts_get, Customer => customers_get, Department => departments_get,
    FileAttachment => file_attachments_get, Invoice => invoices_get, Item => items_get,
    Location => locations_get, Order => orders_get, Payment => payments_get,
    PriceModifier => price_modifiers_get, PriceSet => price_sets_get, Status => statuses_get,
    User => users_get, UserMiscCompensation => user_misc_compensations_get,
    UserSession => user_sessions_get, Vehicle => vehicles_get, Zone => zones_get,
}

macro_rules! search {
    ($($ty:ident => $op:ident ($filter:ty)),* $(,)?) => {$(
        impl Search for types::$ty {
            type Filter = $filter;
            const FIND: &'static str = stringify!($op);
            fn check_filter(filter: &$filter) -> Result<()> {
                filter.check(Self::FIND)
            }
            fn find_raw<'a>(raw: &'a RawClient, filter: &'a $filter) -> impl Future<Output = RawResult<GuidList>> + Send + 'a {
                filter.apply(raw.$op()).send()
            }
        }
    )*};
}

search! {
    Contact => contacts_find (NoFilter), Customer => customers_find (CustomerFilter),
    Department => departments_find (NoFilter), Invoice => invoices_find (NoFilter),
    Location => locations_find (LocationFilter), Order => orders_find (OrderFilter),
    Payment => payments_find (NoFilter), Status => statuses_find (NoFilter),
    User => users_find (UserFilter), UserSession => user_sessions_find (UserSessionFilter),
    Vehicle => vehicles_find (NoFilter), Zone => zones_find (NoFilter),
}

macro_rules! store {
    ($($ty:ident => $op:ident),* $(,)?) => {$(
        impl Store for types::$ty {
            const POST: &'static str = stringify!($op);
            fn post_raw(raw: &RawClient, record: Self) -> impl Future<Output = RawResult<Self>> + Send + '_ {
                raw.$op().body(record).send()
            }
        }
    )*};
}

store! {
    Contact => contact_post, Customer => customer_post, Department => department_post,
    Invoice => invoice_post, Item => item_post, Location => location_post, Order => order_post,
    Payment => payment_post, UserMiscCompensation => user_misc_compensation_post,
    UserSession => user_session_post, Vehicle => vehicle_post, Zone => zone_post,
}

/// A handle on one record type of the account, from `client.orders()`, `client.customers()`...
/// Which methods exist depends on what the API offers for the type.
pub struct Resource<R> {
    pub(crate) client: Client,
    _record: PhantomData<fn() -> R>,
}

impl<R> Clone for Resource<R> {
    fn clone(&self) -> Self {
        Self::new(self.client.clone())
    }
}

impl<R> fmt::Debug for Resource<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resource")
            .field("record", &std::any::type_name::<R>())
            .finish()
    }
}

impl<R> Resource<R> {
    pub(crate) fn new(client: Client) -> Self {
        Self {
            client,
            _record: PhantomData,
        }
    }
}

pub(crate) async fn fetch<R: Fetch>(client: &Client, id: Uuid) -> Result<R> {
    client
        .call(R::GET, Idempotency::Idempotent, || {
            R::get_raw(client.raw(), id)
        })
        .await
}

async fn find_ids<R: Search>(client: &Client, filter: &R::Filter) -> Result<Vec<R::Id>> {
    R::check_filter(filter)?;
    let list = client
        .call(R::FIND, Idempotency::Idempotent, || {
            R::find_raw(client.raw(), filter)
        })
        .await?;
    Ok(list.0.into_iter().map(R::Id::from).collect())
}

impl<R: Fetch> Resource<R> {
    /// Fetches one record by identifier; [`Error::NotFound`](crate::Error::NotFound) when there is none.
    pub async fn get(&self, id: R::Id) -> Result<R> {
        fetch(&self.client, id.into()).await
    }

    /// Fetches one record by identifier; `None` when there is none.
    pub async fn try_get(&self, id: R::Id) -> Result<Option<R>> {
        crate::actions::found(self.get(id).await)
    }

    /// Fetches many records concurrently (up to the client's limit), in the order given.
    pub async fn get_many(&self, ids: impl IntoIterator<Item = R::Id>) -> Result<Vec<R>> {
        self.stream_many(ids.into_iter().collect())
            .try_collect()
            .await
    }

    /// Streams records by identifier, in the order given, fetching up to the client's
    /// concurrency limit at once.
    pub fn stream_many(&self, ids: Vec<R::Id>) -> BoxStream<'static, Result<R>> {
        let client = self.client.clone();
        let limit = client.concurrency();
        fetch_stream(client, ids, limit)
    }
}

fn fetch_stream<R: Fetch>(
    client: Client,
    ids: Vec<R::Id>,
    limit: usize,
) -> BoxStream<'static, Result<R>> {
    stream::iter(ids)
        .map(move |id| {
            let client = client.clone();
            async move { fetch::<R>(&client, id.into()).await }
        })
        .buffered(limit.max(1))
        .boxed()
}

impl<R: Fetch + Search> Resource<R> {
    /// The identifiers of the records that match `filter` (one call).
    pub async fn ids(&self, filter: R::Filter) -> Result<Vec<R::Id>> {
        find_ids::<R>(&self.client, &filter).await
    }

    /// The records that match `filter`, without paging: one finder call, then the records are
    /// fetched concurrently. Use [`Find::stream`] to process them as they arrive or
    /// [`Find::collect_vec`] to get them all.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let simulator = ontime_mock::OnTimeMock::builder().seed(3).orders(30).start().await?;
    /// # let client = ontime::Client::builder().base_url(simulator.base_url()).api_key(simulator.api_key()).build()?;
    /// use ontime::{CustomerFilter, OrderFilter};
    ///
    /// let customer = client.customers().find(CustomerFilter::new()).collect_vec().await?.remove(0);
    /// let name = customer.name.clone().unwrap_or_default();
    /// let theirs = client.orders().find(OrderFilter::new().customer_name(name)).concurrency(4).collect_vec().await?;
    /// assert!(theirs.iter().all(|order| order.customer == customer.id));
    /// # Ok(())
    /// # }
    /// ```
    pub fn find(&self, filter: R::Filter) -> Find<R> {
        Find {
            client: self.client.clone(),
            filter,
            concurrency: self.client.concurrency(),
        }
    }

    /// Every record of this type (the finder with no filter).
    pub fn find_all(&self) -> Find<R> {
        self.find(R::Filter::default())
    }
}

/// A pending lookup from [`Resource::find`].
#[must_use = "a Find does nothing until streamed or collected"]
pub struct Find<R: Search> {
    client: Client,
    filter: R::Filter,
    concurrency: usize,
}

impl<R: Search> fmt::Debug for Find<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Find")
            .field("filter", &self.filter)
            .field("concurrency", &self.concurrency)
            .finish()
    }
}

impl<R: Fetch + Search> Find<R> {
    /// Fetch at most this many records at once for this lookup (still under the client-wide
    /// limit). At most this many records are held in memory waiting to be yielded.
    pub fn concurrency(mut self, limit: usize) -> Self {
        self.concurrency = limit.max(1);
        self
    }

    /// Only the identifiers (one call).
    pub async fn ids(self) -> Result<Vec<R::Id>> {
        find_ids::<R>(&self.client, &self.filter).await
    }

    /// The records as they are fetched, in the finder's order. The first item is an error if
    /// the finder call fails or the quota guard refuses the lookup.
    pub fn stream(self) -> BoxStream<'static, Result<R>> {
        let Find {
            client,
            filter,
            concurrency,
        } = self;
        stream::once(async move {
            let ids = find_ids::<R>(&client, &filter).await?;
            client.check_quota(ids.len() as u64)?;
            Ok(fetch_stream::<R>(client, ids, concurrency))
        })
        .try_flatten()
        .boxed()
    }

    /// All matching records, in the finder's order.
    pub async fn collect_vec(self) -> Result<Vec<R>> {
        self.stream().try_collect().await
    }
}

impl<R: Store> Resource<R> {
    /// Creates the record, or replaces the stored one with the same identifier.
    ///
    /// **OnTime clears every field a post leaves out.** Pass a complete record: one you fetched
    /// and changed (or use [`modify`](Self::modify)), or a new one. A record without an
    /// identifier gets a new random one first, which makes the call safe to retry: a repeated
    /// post replaces the same record instead of creating a second.
    pub async fn save(&self, mut record: R) -> Result<R> {
        if record.id().is_none() {
            record.set_id(R::Id::new_random());
        }
        let raw = self.client.raw();
        self.client
            .call(R::POST, Idempotency::Idempotent, || {
                R::post_raw(raw, record.clone())
            })
            .await
    }
}

impl<R: Store + Fetch> Resource<R> {
    /// Safely changes a stored record: fetches it, applies `change`, and posts the whole
    /// record back, so no field is cleared by omission (fields this library does not know are
    /// kept too). Returns the record as stored.
    ///
    /// The read and the write are separate calls: a change another client makes in between is
    /// overwritten, as with any read-modify-write on this API.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let simulator = ontime_mock::OnTimeMock::builder().seed(3).orders(5).start().await?;
    /// # let client = ontime::Client::builder().base_url(simulator.base_url()).api_key(simulator.api_key()).build()?;
    /// let id = client.orders().find_all().ids().await?[0];
    /// let before = client.orders().get(id).await?;
    /// let after = client.orders().modify(id, |order| order.comments = Some("Fragile".into())).await?;
    /// assert_eq!(after.comments.as_deref(), Some("Fragile"));
    /// assert_eq!(after.delivery_location, before.delivery_location); // nothing else was cleared
    /// # Ok(())
    /// # }
    /// ```
    pub async fn modify(&self, id: R::Id, change: impl FnOnce(&mut R)) -> Result<R> {
        self.try_modify(id, |record| {
            change(record);
            Ok::<(), std::convert::Infallible>(())
        })
        .await
    }

    /// Like [`modify`](Self::modify), for a change that can fail: when `change` returns an
    /// error, nothing is posted and the error comes back as [`Error::ChangeRejected`](crate::Error::ChangeRejected)
    /// (the record on the server is untouched).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let simulator = ontime_mock::OnTimeMock::builder().seed(3).orders(5).start().await?;
    /// # let client = ontime::Client::builder().base_url(simulator.base_url()).api_key(simulator.api_key()).build()?;
    /// let id = client.orders().find_all().ids().await?[0];
    /// let result = client
    ///     .orders()
    ///     .try_modify(id, |order| match order.weight {
    ///         Some(w) if w > 1000.0 => Err("too heavy to re-route"),
    ///         _ => {
    ///             order.comments = Some("Re-routed".into());
    ///             Ok(())
    ///         }
    ///     })
    ///     .await;
    /// match result {
    ///     Ok(order) => assert_eq!(order.comments.as_deref(), Some("Re-routed")),
    ///     Err(ontime::Error::ChangeRejected { .. }) => {} // nothing was written
    ///     Err(other) => return Err(other.into()),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn try_modify<E>(
        &self,
        id: R::Id,
        change: impl FnOnce(&mut R) -> std::result::Result<(), E>,
    ) -> Result<R>
    where
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let mut record = self.get(id).await?;
        change(&mut record).map_err(|e| crate::Error::ChangeRejected {
            operation: R::POST,
            source: e.into(),
        })?;
        record.set_id(id);
        self.save(record).await
    }
}
