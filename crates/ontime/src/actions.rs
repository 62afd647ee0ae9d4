//! Operations beyond get/find/save: order actions, attachments, reports, signatures, status
//! timelines, user availability and positions, authentication and lookups by natural key.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use futures::TryStreamExt;
use ontime_raw::ResponseValue;
use ontime_raw::lenient::{OnTimeDateTime, SignatureType, StatusLevel};
use ontime_raw::types::{
    self, FileAttachment, Order, PriceModifier, PriceSet, Status, UserAvailability, UserPosition,
};
use uuid::Uuid;

use crate::filters::{CustomerFilter, OrderFilter, PositionFilter};
use crate::ids::*;
use crate::resource::{Resource, fetch};
use crate::retry::Idempotency;
use crate::{Error, Result};

/// Names an order either by identifier or by tracking number (the order actions accept both).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrderRef {
    /// The order's identifier.
    Id(OrderId),
    /// The order's tracking number.
    TrackingNumber(String),
}

impl From<OrderId> for OrderRef {
    fn from(id: OrderId) -> Self {
        OrderRef::Id(id)
    }
}

impl From<&str> for OrderRef {
    fn from(tracking_number: &str) -> Self {
        OrderRef::TrackingNumber(tracking_number.to_string())
    }
}

impl From<String> for OrderRef {
    fn from(tracking_number: String) -> Self {
        OrderRef::TrackingNumber(tracking_number)
    }
}

impl OrderRef {
    fn parts(&self) -> (Option<Uuid>, Option<String>) {
        match self {
            OrderRef::Id(id) => (Some(id.as_uuid()), None),
            OrderRef::TrackingNumber(tn) => (None, Some(tn.clone())),
        }
    }
}

/// A new status for [`update_status`](Resource::update_status).
#[derive(Clone, Debug, PartialEq)]
pub struct StatusChange {
    level: StatusLevel,
    label: Option<String>,
    at: Option<OnTimeDateTime>,
    record: Option<Status>,
}

impl StatusChange {
    /// Change to `level`, now, with no label.
    pub fn new(level: StatusLevel) -> Self {
        Self {
            level,
            label: None,
            at: None,
            record: None,
        }
    }
    /// Records this label with the change.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }
    /// Records the change as having happened at this time (default: now, per the server).
    pub fn at(mut self, at: impl Into<OnTimeDateTime>) -> Self {
        self.at = Some(at.into());
        self
    }
    /// Sends this `Status` record as the request body, for details of the change beyond level,
    /// label and time (such as a description). Without it the body is an empty record.
    pub fn record(mut self, record: Status) -> Self {
        self.record = Some(record);
        self
    }
}

/// The kind of document [`report`](Resource::report) renders.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReportKind {
    /// Shipping label (`SL`).
    ShippingLabel,
    /// Waybill (`WB`).
    Waybill,
    /// Bill of lading (`BOL`).
    BillOfLading,
    /// Any other report code the account offers.
    Other(String),
}

impl ReportKind {
    /// The code sent as the `type` parameter.
    pub fn code(&self) -> &str {
        match self {
            ReportKind::ShippingLabel => "SL",
            ReportKind::Waybill => "WB",
            ReportKind::BillOfLading => "BOL",
            ReportKind::Other(code) => code,
        }
    }
}

/// A downloaded report document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    /// The `Content-Type` the server gave (normally `application/pdf`).
    pub content_type: Option<String>,
    /// The document's bytes.
    pub bytes: Bytes,
}

/// A file attached to an order, with its contents decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    /// The attachment's identifier.
    pub id: Option<FileAttachmentId>,
    /// Its file name.
    pub file_name: Option<String>,
    /// When it was attached.
    pub timestamp: Option<OnTimeDateTime>,
    /// The file's bytes.
    pub bytes: Vec<u8>,
}

/// `Ok(None)` for a 404, the value or the error otherwise.
pub(crate) fn found<T>(result: Result<T>) -> Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(Error::NotFound { .. }) => Ok(None),
        Err(error) => Err(error),
    }
}

/// Sets `id` or `trackingNumber` on an order-action builder, whichever the caller gave.
macro_rules! identify_order {
    ($builder:expr, $id:expr, $tracking_number:expr) => {{
        let mut builder = $builder;
        if let Some(id) = $id {
            builder = builder.id(id);
        }
        if let Some(tn) = $tracking_number {
            builder = builder.tracking_number(tn.clone());
        }
        builder
    }};
}

fn decode_base64(operation: &'static str, text: &str) -> Result<Vec<u8>> {
    BASE64.decode(text.trim()).map_err(|e| Error::Decode {
        operation,
        status: 200,
        path: ".".into(),
        message: format!("not valid base64: {e}"),
        truncated: false,
        retried: None,
    })
}

impl Resource<Order> {
    /// The order with this tracking number, if any.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let simulator = ontime_mock::OnTimeMock::builder().seed(3).orders(5).start().await?;
    /// # let client = ontime::Client::builder().base_url(simulator.base_url()).api_key(simulator.api_key()).build()?;
    /// let order = client.orders().by_tracking_number("1000001").await?.expect("seeded");
    /// assert_eq!(order.tracking_number.as_deref(), Some("1000001"));
    /// assert!(client.orders().by_tracking_number("no-such-number").await?.is_none());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn by_tracking_number(
        &self,
        tracking_number: impl Into<String>,
    ) -> Result<Option<Order>> {
        let ids = self
            .ids(OrderFilter::new().tracking_number(tracking_number))
            .await?;
        match ids.first() {
            Some(id) => self.get(*id).await.map(Some),
            None => Ok(None),
        }
    }

    /// Every status the order has had, oldest first (sorted by timestamp here, whatever order
    /// the server lists them in; entries with equal or missing timestamps keep the server's
    /// order, those without a timestamp first).
    pub async fn timeline(&self, order: OrderId) -> Result<Vec<Status>> {
        let raw = self.client.raw();
        let mut statuses = self
            .client
            .call("order_status_changes", Idempotency::Idempotent, || {
                raw.order_status_changes().order_id(order.as_uuid()).send()
            })
            .await?;
        statuses.sort_by_key(|s| s.timestamp);
        Ok(statuses)
    }

    /// Sets a new status (appended to the order's timeline). Not retried automatically: a
    /// repeat would append a second entry. The order is named by ID or by tracking number.
    ///
    /// ```
    /// use ontime::{StatusChange, StatusLevel};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let simulator = ontime_mock::OnTimeMock::builder().seed(3).orders(5).start().await?;
    /// # let client = ontime::Client::builder().base_url(simulator.base_url()).api_key(simulator.api_key()).build()?;
    /// let orders = client.orders();
    /// let id = orders.by_tracking_number("1000002").await?.and_then(|o| o.id).expect("seeded").into();
    /// orders
    ///     .update_status("1000002", StatusChange::new(StatusLevel::AssignedInRoute).label("Van 4"))
    ///     .await?;
    /// let timeline = orders.timeline(id).await?; // oldest first
    /// assert_eq!(timeline.last().and_then(|s| s.level.clone()), Some(StatusLevel::AssignedInRoute));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn update_status(
        &self,
        order: impl Into<OrderRef>,
        change: StatusChange,
    ) -> Result<bool> {
        let (id, tracking_number) = order.into().parts();
        let raw = self.client.raw();
        self.client
            .call("order_update_status", Idempotency::NonIdempotent, || {
                let mut b = identify_order!(
                    raw.order_update_status().detail(change.level.clone()),
                    id,
                    &tracking_number
                );
                if let Some(label) = &change.label {
                    b = b.label(label.clone());
                }
                if let Some(at) = change.at {
                    b = b.date(at);
                }
                if let Some(record) = &change.record {
                    b = b.body(record.clone());
                }
                b.send()
            })
            .await
    }

    /// Sets whether cash is collected at pickup and/or delivery, and how much.
    pub async fn set_cod_requirement(
        &self,
        order: impl Into<OrderRef>,
        amount: f64,
        at_collection: bool,
        at_delivery: bool,
    ) -> Result<bool> {
        if !amount.is_finite() || amount < 0.0 {
            return Err(Error::InvalidRequest {
                operation: "order_cod_requirement",
                message: format!(
                    "the amount to collect must be a non-negative number, not {amount}"
                ),
            });
        }
        let (id, tracking_number) = order.into().parts();
        let raw = self.client.raw();
        self.client
            .call("order_cod_requirement", Idempotency::Idempotent, || {
                identify_order!(
                    raw.order_cod_requirement()
                        .amount_to_collect(amount)
                        .require_collection_cod(at_collection)
                        .require_delivery_cod(at_delivery),
                    id,
                    &tracking_number
                )
                .send()
            })
            .await
    }

    /// Sets whether a signature is required at pickup and/or delivery.
    pub async fn set_signature_requirement(
        &self,
        order: impl Into<OrderRef>,
        at_collection: bool,
        at_delivery: bool,
    ) -> Result<bool> {
        let (id, tracking_number) = order.into().parts();
        let raw = self.client.raw();
        self.client
            .call(
                "order_signature_requirement",
                Idempotency::Idempotent,
                || {
                    identify_order!(
                        raw.order_signature_requirement()
                            .require_collection_signature(at_collection)
                            .require_delivery_signature(at_delivery),
                        id,
                        &tracking_number
                    )
                    .send()
                },
            )
            .await
    }

    /// Recalculates and stores the order's prices.
    pub async fn update_prices(&self, order: OrderId) -> Result<bool> {
        let raw = self.client.raw();
        self.client
            .call("order_update_prices", Idempotency::Idempotent, || {
                raw.order_update_prices().id(order.as_uuid()).send()
            })
            .await
    }

    /// Prices a draft order without saving it.
    pub async fn total_cost(&self, draft: &Order) -> Result<f64> {
        let raw = self.client.raw();
        self.client
            .call("order_get_total_cost", Idempotency::Idempotent, || {
                raw.order_get_total_cost().body(draft.clone()).send()
            })
            .await
    }

    /// Renders a report document (normally a PDF) for the order.
    pub async fn report(&self, order: OrderId, kind: ReportKind) -> Result<Document> {
        let raw = self.client.raw();
        let code = kind.code().to_string();
        self.client
            .call_raw("order_report", Idempotency::Idempotent, || {
                let code = code.clone();
                async move {
                    let response = raw
                        .order_report()
                        .type_(code)
                        .id(order.as_uuid())
                        .send()
                        .await?;
                    let content_type = response
                        .headers()
                        .get(reqwest::header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    let (status, headers) = (response.status(), response.headers().clone());
                    let chunks: Vec<Bytes> = response
                        .into_inner()
                        .into_inner()
                        .try_collect()
                        .await
                        .map_err(ontime_raw::Error::ResponseBodyError)?;
                    let bytes = Bytes::from(chunks.concat());
                    Ok(ResponseValue::new(
                        Document {
                            content_type,
                            bytes,
                        },
                        status,
                        headers,
                    ))
                }
            })
            .await
    }

    /// The collection or delivery signature image (PNG bytes), or `None` when there is none.
    pub async fn signature(
        &self,
        order: impl Into<OrderRef>,
        which: SignatureType,
    ) -> Result<Option<Vec<u8>>> {
        let (id, tracking_number) = order.into().parts();
        let raw = self.client.raw();
        let encoded = self
            .client
            .call("order_signature", Idempotency::Idempotent, || {
                identify_order!(
                    raw.order_signature().signature_type(which.clone()),
                    id,
                    &tracking_number
                )
                .send()
            })
            .await?;
        encoded
            .map(|text| decode_base64("order_signature", &text))
            .transpose()
    }

    /// The identifiers of the order's attachments.
    pub async fn attachment_ids(&self, order: OrderId) -> Result<Vec<FileAttachmentId>> {
        let raw = self.client.raw();
        let list = self
            .client
            .call("file_attachments_find", Idempotency::Idempotent, || {
                raw.file_attachments_find().order_id(order.as_uuid()).send()
            })
            .await?;
        Ok(list.0.into_iter().map(FileAttachmentId::from).collect())
    }

    /// The order's attachments with their contents, fetched concurrently.
    pub async fn attachments(&self, order: OrderId) -> Result<Vec<Attachment>> {
        let files = Resource::<FileAttachment>::new(self.client.clone())
            .for_order(order)
            .await?;
        files.into_iter().map(attachment).collect()
    }

    /// Downloads one attachment with its contents decoded.
    pub async fn download_attachment(&self, id: FileAttachmentId) -> Result<Attachment> {
        attachment(fetch::<FileAttachment>(&self.client, id.as_uuid()).await?)
    }

    /// Attaches a file to the order. Not retried automatically: the server assigns the
    /// attachment's identifier, so a repeat after a lost response would attach the file twice.
    pub async fn upload_attachment(
        &self,
        order: OrderId,
        file_name: impl Into<String>,
        contents: impl AsRef<[u8]>,
    ) -> Result<FileAttachment> {
        let body = types::FileAttachment::builder()
            .file_name(Some(file_name.into()))
            .contents(Some(BASE64.encode(contents.as_ref())));
        let body = FileAttachment::try_from(body).map_err(|e| Error::InvalidRequest {
            operation: "order_file_attachment_post",
            message: e.to_string(),
        })?;
        let raw = self.client.raw();
        self.client
            .call(
                "order_file_attachment_post",
                Idempotency::NonIdempotent,
                || {
                    raw.order_file_attachment_post()
                        .order_id(order.as_uuid())
                        .body(body.clone())
                        .send()
                },
            )
            .await
    }

    /// Permanently deletes an attachment. Retried like a read (deleting twice removes nothing
    /// more), so when an attempt's answer is lost and the retry finds the attachment already
    /// gone, the result is [`Error::NotFound`](crate::Error::NotFound): either way, it no longer
    /// exists.
    pub async fn delete_attachment(&self, id: FileAttachmentId) -> Result<bool> {
        let raw = self.client.raw();
        self.client
            .call(
                "order_file_attachment_delete",
                Idempotency::Idempotent,
                || raw.order_file_attachment_delete().id(id.as_uuid()).send(),
            )
            .await
    }
}

fn attachment(file: FileAttachment) -> Result<Attachment> {
    let bytes = match &file.contents {
        Some(text) => decode_base64("file_attachments_get", text)?,
        None => Vec::new(),
    };
    Ok(Attachment {
        id: file.id.map(FileAttachmentId::from),
        file_name: file.file_name,
        timestamp: file.timestamp,
        bytes,
    })
}

impl Resource<types::User> {
    /// Checks a user's sign-in name and password: the user's identifier, or `None` when they
    /// match no user.
    pub async fn authenticate(&self, user_name: &str, password: &str) -> Result<Option<UserId>> {
        let raw = self.client.raw();
        let id = self
            .client
            .call("users_authenticate", Idempotency::Idempotent, || {
                raw.users_authenticate()
                    .user_name(user_name)
                    .password(password)
                    .send()
            })
            .await?;
        Ok(id.map(UserId::from))
    }

    /// Whether the user is available as a driver now.
    pub async fn availability(&self, user: UserId) -> Result<UserAvailability> {
        let raw = self.client.raw();
        self.client
            .call("user_availability", Idempotency::Idempotent, || {
                raw.user_availability().user_id(user.as_uuid()).send()
            })
            .await
    }

    /// Records a user's availability.
    pub async fn update_availability(&self, availability: UserAvailability) -> Result<bool> {
        let raw = self.client.raw();
        self.client
            .call("user_update_availability", Idempotency::Idempotent, || {
                raw.user_update_availability()
                    .body(availability.clone())
                    .send()
            })
            .await
    }

    /// Reported positions matching `filter`, oldest first (sorted by timestamp here; equal or
    /// missing timestamps keep the server's order, those without one first).
    pub async fn positions(&self, filter: PositionFilter) -> Result<Vec<UserPosition>> {
        let raw = self.client.raw();
        let mut positions = self
            .client
            .call("user_positions", Idempotency::Idempotent, || {
                filter.apply(raw.user_positions()).send()
            })
            .await?;
        positions.sort_by_key(|p| p.timestamp);
        Ok(positions)
    }

    /// The user's most recent position, or `None` when none was reported.
    pub async fn latest_position(&self, user: UserId) -> Result<Option<UserPosition>> {
        let raw = self.client.raw();
        let result = self
            .client
            .call("user_position_latest", Idempotency::Idempotent, || {
                raw.user_position_latest().user_id(user.as_uuid()).send()
            })
            .await;
        found(result)
    }

    /// Reports a position. Not retried automatically: a repeat would record it twice.
    pub async fn report_position(&self, position: UserPosition) -> Result<bool> {
        let raw = self.client.raw();
        self.client
            .call("user_update_position", Idempotency::NonIdempotent, || {
                raw.user_update_position().body(position.clone()).send()
            })
            .await
    }
}

impl Resource<types::Customer> {
    /// Checks a customer's web-portal sign-in: the customer's identifier, or `None`.
    pub async fn authenticate(
        &self,
        user_name: &str,
        password: &str,
    ) -> Result<Option<CustomerId>> {
        let raw = self.client.raw();
        let id = self
            .client
            .call("customers_authenticate", Idempotency::Idempotent, || {
                raw.customers_authenticate()
                    .user_name(user_name)
                    .password(password)
                    .send()
            })
            .await?;
        Ok(id.map(CustomerId::from))
    }

    /// The first customer with exactly this name, if any.
    pub async fn by_name(&self, name: impl Into<String>) -> Result<Option<types::Customer>> {
        let ids = self.ids(CustomerFilter::new().name(name)).await?;
        match ids.first() {
            Some(id) => self.get(*id).await.map(Some),
            None => Ok(None),
        }
    }
}

impl Resource<types::Contact> {
    /// Checks a contact's sign-in: the contact's identifier, or `None`.
    pub async fn authenticate(&self, user_name: &str, password: &str) -> Result<Option<ContactId>> {
        let raw = self.client.raw();
        let id = self
            .client
            .call("contacts_authenticate", Idempotency::Idempotent, || {
                raw.contacts_authenticate()
                    .user_name(user_name)
                    .password(password)
                    .send()
            })
            .await?;
        Ok(id.map(ContactId::from))
    }
}

impl Resource<PriceSet> {
    /// The price set (service level) with this name, or `None`.
    pub async fn by_name(&self, name: &str) -> Result<Option<PriceSet>> {
        let raw = self.client.raw();
        let result = self
            .client
            .call("price_sets_by_name", Idempotency::Idempotent, || {
                raw.price_sets_by_name().name(name).send()
            })
            .await;
        found(result)
    }
}

impl Resource<PriceModifier> {
    /// The price modifier with this name, or `None`.
    pub async fn by_name(&self, name: &str) -> Result<Option<PriceModifier>> {
        let raw = self.client.raw();
        let result = self
            .client
            .call("price_modifiers_by_name", Idempotency::Idempotent, || {
                raw.price_modifiers_by_name().name(name).send()
            })
            .await;
        found(result)
    }
}

impl Resource<FileAttachment> {
    /// The identifiers of one order's attachments.
    pub async fn ids_for_order(&self, order: OrderId) -> Result<Vec<FileAttachmentId>> {
        Resource::<Order>::new(self.client.clone())
            .attachment_ids(order)
            .await
    }

    /// One order's attachments as full records (contents included), fetched concurrently and
    /// listed in the finder's order. The `fileAttachments` finder needs an order, so this takes
    /// the place of `find` for attachments.
    pub async fn for_order(&self, order: OrderId) -> Result<Vec<FileAttachment>> {
        let ids = self.ids_for_order(order).await?;
        self.client.check_quota(ids.len() as u64)?;
        self.get_many(ids).await
    }
}
