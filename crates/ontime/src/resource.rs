//! Resource handles: `client.orders()`, `client.customers()`, ... with `get`, `ids`, `find`,
//! `get_many`, `save` and `modify` wherever the API has the underlying operations.

use ontime_raw::index::Operation;
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
use crate::retry::Idempotency;
use crate::{Client, Error, OnTimeDateTime, Result, StatusLevel};
use ontime_raw::ids::*;

/// How many times [`Resource::modify`] reads a record that keeps changing before it gives up.
pub const MODIFY_ROUNDS: u32 = 3;

pub(crate) type RawResult<T> = std::result::Result<ResponseValue<T>, ontime_raw::Error<Fault>>;

/// Keeps [`Record`], [`Fetch`], [`Search`] and [`Store`] implemented by the API's record types
/// only: the facade may add methods to them without breaking anyone.
mod sealed {
    pub trait Sealed {}
}

/// A record type of the API with its typed identifier. Sealed: implemented for the record types
/// of [`types`](crate::types) only.
///
/// ```compile_fail
/// #[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
/// struct Mine;
/// impl ontime::Record for Mine {
///     type Id = ontime::OrderId;
///     fn id(&self) -> Option<ontime::OrderId> { None }
///     fn set_id(&mut self, _: ontime::OrderId) {}
/// }
/// ```
pub trait Record:
    sealed::Sealed + Clone + fmt::Debug + Send + Sync + Serialize + DeserializeOwned + 'static
{
    /// Its identifier type.
    type Id: TypedId;
    /// The record's identifier, if it has one yet.
    fn id(&self) -> Option<Self::Id>;
    /// Sets the record's identifier.
    fn set_id(&mut self, id: Self::Id);
    /// The record's current status entry (level and when it was set), for records that have
    /// one that OnTime manages (orders): [`Resource::modify`] checks it after posting.
    #[doc(hidden)]
    fn status_marker(&self) -> Option<(StatusLevel, OnTimeDateTime)> {
        None
    }
}

/// Records the API can fetch by identifier.
pub trait Fetch: Record {
    /// The operation's name (for errors and traces).
    #[doc(hidden)]
    const GET: Operation;
    #[doc(hidden)]
    fn get_raw(raw: &RawClient, id: Uuid) -> impl Future<Output = RawResult<Self>> + Send + '_;
}

/// Records the API can search for (its finder returns identifiers only).
pub trait Search: Record {
    /// The finder's filter type ([`NoFilter`] when the finder takes none).
    type Filter: Clone + Default + fmt::Debug + Send + Sync + 'static;
    /// The operation's name.
    #[doc(hidden)]
    const FIND: Operation;
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
    const POST: Operation;
    #[doc(hidden)]
    fn post_raw(raw: &RawClient, record: Self)
    -> impl Future<Output = RawResult<Self>> + Send + '_;
}

macro_rules! record {
    ($($ty:ident => $id:ident),* $(,)?) => {$(
        impl sealed::Sealed for types::$ty {}
        impl Record for types::$ty {
            type Id = $id;
            fn id(&self) -> Option<$id> {
                self.id
            }
            fn set_id(&mut self, id: $id) {
                self.id = Some(id);
            }
        }
    )*};
}

record! {
    Contact => ContactId, Customer => CustomerId, Department => DepartmentId,
    FileAttachment => FileAttachmentId, Invoice => InvoiceId, Item => ItemId, Location => LocationId,
    Payment => PaymentId, PriceModifier => PriceModifierId, PriceSet => PriceSetId,
    Status => StatusId, User => UserId, UserMiscCompensation => UserMiscCompensationId,
    UserSession => UserSessionId, Vehicle => VehicleId, Zone => ZoneId,
}

impl sealed::Sealed for types::Order {}
impl Record for types::Order {
    type Id = OrderId;
    fn id(&self) -> Option<OrderId> {
        self.id
    }
    fn set_id(&mut self, id: OrderId) {
        self.id = Some(id);
    }
    fn status_marker(&self) -> Option<(StatusLevel, OnTimeDateTime)> {
        let level = self.status_level.clone()?;
        let at = self.status.as_ref()?.timestamp?;
        Some((level, at))
    }
}

/// The operation whose client method is `name`; in a constant, a wrong name fails the build.
const fn op(name: &str) -> Operation {
    match Operation::by_client_method(name) {
        Some(op) => op,
        None => panic!("not a client method of the spec index"),
    }
}

macro_rules! fetch {
    ($($ty:ident => $op:ident),* $(,)?) => {$(
        impl Fetch for types::$ty {
            const GET: Operation = op(stringify!($op));
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
            const FIND: Operation = op(stringify!($op));
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
            const POST: Operation = op(stringify!($op));
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
        crate::error::found(self.get(id).await)
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
    /// post replaces the same record instead of creating a second. When saving such a new
    /// record fails, the error is [`Error::Save`] with that identifier
    /// ([`Error::posted_id`]): the post may have been stored although its answer was lost, and
    /// saving again with the identifier set replaces it instead of creating another.
    pub async fn save(&self, mut record: R) -> Result<R> {
        let new_id = match record.id() {
            Some(_) => None,
            None => {
                let id = R::Id::new_random();
                record.set_id(id);
                Some(id)
            }
        };
        let raw = self.client.raw();
        let result = self
            .client
            .call(R::POST, Idempotency::Idempotent, || {
                R::post_raw(raw, record.clone())
            })
            .await;
        match (result, new_id) {
            (Err(source), Some(id)) => Err(Error::Save {
                id: id.into(),
                source: Box::new(source),
            }),
            (result, _) => result,
        }
    }
}

impl<R: Store + Fetch> Resource<R> {
    /// Changes a stored record without clearing the fields the change does not touch: fetches
    /// it, applies `change`, reads it again right before posting, and posts the whole record
    /// back (fields this library does not know are kept too). Returns the record as stored.
    ///
    /// **What this protects and what it cannot.** OnTime has no conditional update: a post
    /// replaces whatever is stored. When the second read shows that the record moved since the
    /// first (another client changed it, or a driver changed the order's status), `change` is
    /// applied again to the fresh copy, so the other change is kept; when it moves on every one
    /// of [`MODIFY_ROUNDS`] reads, nothing is posted and the result is [`Error::Conflict`]. A
    /// change that lands between the last read and the post (about one round trip) is still
    /// overwritten. For orders, the status in the posted body is the freshest read's unless
    /// `change` set it; if the answer shows that the post itself moved the status (a status
    /// change landed in that last window and the post set it back), the result is
    /// [`Error::Conflict`] with `posted: true`: the other fields were saved, the order's
    /// timeline needs a look.
    ///
    /// `change` can run more than once (once per read that found the record moved), always on
    /// a fresh copy.
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
    pub async fn modify(&self, id: R::Id, mut change: impl FnMut(&mut R)) -> Result<R> {
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
        mut change: impl FnMut(&mut R) -> std::result::Result<(), E>,
    ) -> Result<R>
    where
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let mut base = self.get(id).await?;
        for round in 1..=MODIFY_ROUNDS {
            let mut record = base.clone();
            change(&mut record).map_err(|e| Error::ChangeRejected {
                operation: R::POST,
                source: e.into(),
            })?;
            record.set_id(id);
            let fresh = self.get(id).await?;
            if !same(&fresh, &base) {
                tracing::info!(
                    operation = R::POST.client_method(),
                    round,
                    "the record changed since it was read; applying the change to the fresh copy"
                );
                base = fresh;
                continue;
            }
            let untouched_status = record.status_marker() == base.status_marker();
            let saved = self.save(record.clone()).await?;
            if let (true, Some(read), Some(now)) = (
                untouched_status,
                base.status_marker(),
                saved.status_marker(),
            ) && read != now
            {
                if record
                    .status_marker()
                    .is_some_and(|(level, _)| level == now.0)
                {
                    return Err(Error::Conflict {
                        operation: R::POST,
                        id: id.into(),
                        message: format!(
                            "the status changed between the last read and the post, and the post set it back to {:?} (a new status entry at {}); the other changes were saved: check the timeline",
                            now.0, now.1
                        ),
                        posted: true,
                    });
                }
                tracing::warn!(
                    operation = R::POST.client_method(),
                    posted = ?read.0,
                    stored = ?now.0,
                    "the status changed while the post was in flight; OnTime kept the newer status"
                );
            }
            return Ok(saved);
        }
        Err(Error::Conflict {
            operation: R::POST,
            id: id.into(),
            message: format!(
                "the record changed on each of {MODIFY_ROUNDS} reads before the post; nothing was posted"
            ),
            posted: false,
        })
    }
}

/// Whether two reads of a record carry the same content.
fn same<R: Serialize>(a: &R, b: &R) -> bool {
    match (serde_json::to_value(a), serde_json::to_value(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
