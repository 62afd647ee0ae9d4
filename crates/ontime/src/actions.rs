//! Operations beyond get/find/save: order actions, attachments, reports, signatures, status
//! timelines, user availability and positions, authentication and lookups by natural key.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use chrono::SubsecRound;
use futures::TryStreamExt;
use ontime_raw::ResponseValue;
use ontime_raw::index::Operation;
use ontime_raw::lenient::{DateTimeOffset, OnTimeDateTime, SignatureType, StatusLevel};
use ontime_raw::types::{
    self, FileAttachment, Order, PriceModifier, PriceSet, Status, UserAvailability, UserPosition,
};

use crate::error::found;
use crate::filters::{CustomerFilter, OrderFilter, PositionFilter};
use crate::resource::{Resource, fetch};
use crate::retry::Idempotency;
use crate::{Error, Result};
use ontime_raw::ids::*;

/// Names an order either by identifier or by tracking number (the order actions accept both).
///
/// One rule: an [`OrderId`] names the order by ID; a string (`&str`, `String`) is a tracking
/// number. A string is never taken for an ID by conversion: text that may be either (a command
/// line argument) goes through [`OrderRef::parse`], the one explicit constructor that reads a
/// GUID as an ID. A tracking number that is GUID-shaped is refused by the order actions
/// ([`Error::InvalidRequest`]) instead of being looked up, because it is an ID passed the
/// wrong way.
///
/// ```
/// use ontime::{OrderId, OrderRef};
/// let guid = "44bc0a1d-ef24-49b5-a0cb-54181ce5dbcf";
/// assert_eq!(OrderRef::parse(guid), OrderRef::Id(guid.parse::<OrderId>().unwrap()));
/// assert_eq!(OrderRef::parse(" 1009214 "), OrderRef::TrackingNumber("1009214".into()));
/// assert_eq!(OrderRef::from("1009214"), OrderRef::TrackingNumber("1009214".into()));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrderRef {
    /// The order's identifier.
    Id(OrderId),
    /// The order's tracking number.
    TrackingNumber(String),
}

impl OrderRef {
    /// Reads text that may be either: a GUID is the order's ID, anything else (trimmed) its
    /// tracking number.
    pub fn parse(text: &str) -> Self {
        match text.parse::<OrderId>() {
            Ok(id) => OrderRef::Id(id),
            Err(_) => OrderRef::TrackingNumber(text.trim().to_string()),
        }
    }
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

/// Cash on delivery for [`set_cod_requirement`](Resource::set_cod_requirement): how much to
/// collect, and at which stops.
///
/// ```
/// let cod = ontime::CodRequirement::new(25.0).at_delivery(true);
/// assert_eq!((cod.amount(), cod.collects_at_collection(), cod.collects_at_delivery()), (25.0, false, true));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct CodRequirement {
    amount: f64,
    at_collection: bool,
    at_delivery: bool,
}

impl CodRequirement {
    /// Collect `amount`, at no stop until [`at_collection`](Self::at_collection) or
    /// [`at_delivery`](Self::at_delivery) says where.
    pub fn new(amount: f64) -> Self {
        Self {
            amount,
            at_collection: false,
            at_delivery: false,
        }
    }
    /// Whether cash is collected at pickup.
    pub fn at_collection(mut self, required: bool) -> Self {
        self.at_collection = required;
        self
    }
    /// Whether cash is collected at delivery.
    pub fn at_delivery(mut self, required: bool) -> Self {
        self.at_delivery = required;
        self
    }
    /// The amount to collect.
    pub fn amount(&self) -> f64 {
        self.amount
    }
    /// Whether cash is collected at pickup.
    pub fn collects_at_collection(&self) -> bool {
        self.at_collection
    }
    /// Whether cash is collected at delivery.
    pub fn collects_at_delivery(&self) -> bool {
        self.at_delivery
    }
}

/// Signatures for [`set_signature_requirement`](Resource::set_signature_requirement): at which
/// stops one is required. `SignatureRequirement::default()` requires none.
///
/// ```
/// let sig = ontime::SignatureRequirement::new().at_delivery(true);
/// assert_eq!((sig.required_at_collection(), sig.required_at_delivery()), (false, true));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignatureRequirement {
    at_collection: bool,
    at_delivery: bool,
}

impl SignatureRequirement {
    /// No signature required anywhere, until the setters say otherwise.
    pub fn new() -> Self {
        Self::default()
    }
    /// Whether a signature is required at pickup.
    pub fn at_collection(mut self, required: bool) -> Self {
        self.at_collection = required;
        self
    }
    /// Whether a signature is required at delivery.
    pub fn at_delivery(mut self, required: bool) -> Self {
        self.at_delivery = required;
        self
    }
    /// Whether a signature is required at pickup.
    pub fn required_at_collection(&self) -> bool {
        self.at_collection
    }
    /// Whether a signature is required at delivery.
    pub fn required_at_delivery(&self) -> bool {
        self.at_delivery
    }
}

/// OnTime answers some writes with a bare `true`/`false`; `false` means it did not apply the
/// change, which this library reports as [`Error::BadRequest`] naming what was refused.
fn applied(operation: Operation, answer: bool, what: impl FnOnce() -> String) -> Result<()> {
    if answer {
        Ok(())
    } else {
        Err(Error::BadRequest {
            operation,
            message: Some(format!("OnTime answered false: {} was not applied", what())),
        })
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
#[non_exhaustive]
pub struct Document {
    /// The `Content-Type` the server gave (normally `application/pdf`).
    pub content_type: Option<String>,
    /// The document's bytes.
    pub bytes: Bytes,
}

/// A file attached to an order, with its contents decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Attachment {
    /// The attachment's identifier.
    pub id: Option<FileAttachmentId>,
    /// Its file name.
    pub file_name: Option<String>,
    /// When it was attached.
    pub timestamp: Option<OnTimeDateTime>,
    /// The file's bytes.
    pub bytes: Bytes,
}

/// What a follow-up read found out about a write whose answer was lost.
pub(crate) enum Probe<T> {
    /// The write is in OnTime's state (with what the answer would have said).
    Applied(T),
    /// The write is not there.
    NotApplied,
}

/// Sends a write that is not safe to repeat blindly, and resolves a lost answer by reading.
///
/// When `send` fails in a way that may have left the write applied
/// ([`Error::may_have_been_applied`]), `probe` reads OnTime's state: applied means success (the
/// answer is rebuilt from what was read); not applied after a dropped connection or a failing
/// gateway (5xx) means the request did not take effect, so it is sent once more and resolved
/// again the same way. A timeout, or a success status with a body that did not decode, that is
/// not found applied is [`Error::OutcomeUnknown`]: the request may still be running at the
/// server. So is any loss the read itself cannot resolve (the read fails).
pub(crate) async fn send_resolved<T, S, SFut, P, PFut>(
    operation: Operation,
    sent: impl Fn() -> String,
    mut send: S,
    mut probe: P,
) -> Result<T>
where
    S: FnMut() -> SFut,
    SFut: std::future::Future<Output = Result<T>>,
    P: FnMut() -> PFut,
    PFut: std::future::Future<Output = Result<Probe<T>>>,
{
    const SENDS: u32 = 2;
    let mut sends = 0;
    loop {
        sends += 1;
        let error = match send().await {
            Ok(value) => return Ok(value),
            Err(error) if !error.may_have_been_applied() => return Err(error),
            Err(error) => error,
        };
        tracing::warn!(operation = operation.client_method(), error = %error, "the answer of a write was lost; reading to see whether it was applied");
        match probe().await {
            Ok(Probe::Applied(value)) => {
                tracing::info!(
                    operation = operation.client_method(),
                    "the write was applied (its answer was lost)"
                );
                return Ok(value);
            }
            // Not found after a timeout (the request may still be running at the server) or
            // after a success status whose body did not decode (the server did act on it):
            // not proof enough to send it again.
            Ok(Probe::NotApplied)
                if !matches!(error, Error::Transport { .. } | Error::Server { .. }) =>
            {
                return Err(Error::OutcomeUnknown {
                    operation,
                    sent: sent(),
                    source: Box::new(error),
                    check: None,
                });
            }
            Ok(Probe::NotApplied) if sends < SENDS => {
                tracing::warn!(
                    operation = operation.client_method(),
                    "the write was not applied; sending it again"
                );
            }
            Ok(Probe::NotApplied) => return Err(error),
            Err(check) => {
                return Err(Error::OutcomeUnknown {
                    operation,
                    sent: sent(),
                    source: Box::new(error),
                    check: Some(Box::new(check)),
                });
            }
        }
    }
}

/// Whether a timeline entry is the one `change` makes.
fn is_entry_of(status: &Status, change: &StatusChange) -> bool {
    let record = change.record.as_ref();
    let level = Some(&change.level);
    let level_ok = status.level.as_ref() == level;
    let label = change
        .label
        .as_ref()
        .or_else(|| record.and_then(|r| r.name.as_ref()));
    let label_ok = label.is_none_or(|l| status.name.as_ref() == Some(l));
    let description = record.and_then(|r| r.description.as_ref());
    let description_ok = description.is_none_or(|d| status.description.as_ref() == Some(d));
    level_ok && label_ok && description_ok
}

/// Whether a stored position is the one `sent` reported.
fn is_position_of(stored: &UserPosition, sent: &UserPosition) -> bool {
    let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() < 1e-9,
        (None, _) => true,
        (Some(_), None) => false,
    };
    stored.user_id == sent.user_id
        && close(sent.latitude, stored.latitude)
        && close(sent.longitude, stored.longitude)
        && sent
            .timestamp
            // A time with an offset may be stored converted to account-local time: match it
            // only when it was sent as a wall-clock value.
            .filter(|t| t.offset() == DateTimeOffset::Unspecified)
            .is_none_or(|t| {
                stored.timestamp.is_some_and(|s| {
                    s.naive_local().trunc_subsecs(0) == t.naive_local().trunc_subsecs(0)
                })
            })
}

fn decode_base64(operation: Operation, text: &str) -> Result<Bytes> {
    BASE64
        .decode(text.trim())
        .map(Bytes::from)
        .map_err(|e| Error::Decode {
            operation,
            status: 200,
            path: ".".into(),
            message: format!("not valid base64: {e}"),
            truncated: false,
            retried: None,
        })
}

impl Resource<Order> {
    /// The order with this tracking number, if any. A tracking number that more than one
    /// order carries is refused with [`Error::Ambiguous`] (listing them), as in
    /// [`resolve`](Self::resolve).
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
        match self.find_tracking_number(&tracking_number.into()).await? {
            Some(id) => self.get(id).await.map(Some),
            None => Ok(None),
        }
    }

    /// The one order a tracking number names, or `None`; [`Error::Ambiguous`] when several do.
    async fn find_tracking_number(&self, tracking_number: &str) -> Result<Option<OrderId>> {
        let ids = self
            .ids(OrderFilter::new().tracking_number(tracking_number))
            .await?;
        match ids.as_slice() {
            [] => Ok(None),
            [id] => Ok(Some(*id)),
            many => Err(Error::Ambiguous {
                what: format!("tracking number {tracking_number:?}"),
                candidates: many.iter().map(|id| id.as_uuid()).collect(),
            }),
        }
    }

    /// The identifier of the order `order` names: an ID as it is (no call), a tracking number
    /// through the finder (one call). [`Error::NotFound`] when no order has the tracking
    /// number, [`Error::Ambiguous`] (with the candidates' IDs) when more than one has. Every
    /// order action of this library resolves its order this way, so a tracking number means
    /// the same order everywhere.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let simulator = ontime_mock::OnTimeMock::builder().seed(3).orders(5).start().await?;
    /// # let client = ontime::Client::builder().base_url(simulator.base_url()).api_key(simulator.api_key()).build()?;
    /// let id = client.orders().resolve("1000001").await?;
    /// assert_eq!(client.orders().resolve(id).await?, id);
    /// assert!(matches!(client.orders().resolve("no-such-number").await, Err(ontime::Error::NotFound { .. })));
    /// // An ID in a string is refused, not looked up as a tracking number; OrderRef::parse reads it.
    /// assert!(matches!(client.orders().resolve(id.to_string()).await, Err(ontime::Error::InvalidRequest { .. })));
    /// assert_eq!(client.orders().resolve(ontime::OrderRef::parse(&id.to_string())).await?, id);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn resolve(&self, order: impl Into<OrderRef>) -> Result<OrderId> {
        match order.into() {
            OrderRef::Id(id) => Ok(id),
            OrderRef::TrackingNumber(tn) if tn.parse::<OrderId>().is_ok() => {
                Err(Error::InvalidRequest {
                    operation: Operation::OrdersFind,
                    message: format!(
                        "{tn:?} is an order ID, not a tracking number: pass an OrderId (parse it, or use OrderRef::parse)"
                    ),
                })
            }
            OrderRef::TrackingNumber(tn) => {
                self.find_tracking_number(&tn)
                    .await?
                    .ok_or_else(|| Error::NotFound {
                        operation: Operation::OrdersFind,
                        message: Some(format!("no order has tracking number {tn:?}")),
                    })
            }
        }
    }

    /// Every status the order has had, oldest first (sorted by timestamp here, whatever order
    /// the server lists them in; entries with equal or missing timestamps keep the server's
    /// order, those without a timestamp first).
    pub async fn timeline(&self, order: OrderId) -> Result<Vec<Status>> {
        let raw = self.client.raw();
        let mut statuses = self
            .client
            .call(
                Operation::OrderStatusChanges,
                Idempotency::Idempotent,
                || raw.order_status_changes().order_id(order.as_uuid()).send(),
            )
            .await?;
        statuses.sort_by_key(|s| s.timestamp);
        Ok(statuses)
    }

    /// Sets a new status (appended to the order's timeline). The order is named by ID or by
    /// tracking number (resolved first, see [`resolve`](Self::resolve)); the change is sent by
    /// ID.
    ///
    /// A repeat would append a second entry, so this is never retried blindly. Before sending,
    /// it counts the timeline entries that look like this change (same level, label and
    /// description): one more read. When the answer is lost (cut off, malformed, timed out,
    /// connection dropped) it reads the timeline again: one entry more means applied (`Ok`);
    /// none more after a dropped connection or a failing gateway means not applied, and the
    /// change is sent once more; otherwise the result is [`Error::OutcomeUnknown`]. An identical
    /// change someone else makes in the same moment cannot be told apart from this one.
    ///
    /// ```
    /// use ontime::{StatusChange, StatusLevel};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let simulator = ontime_mock::OnTimeMock::builder().seed(3).orders(5).start().await?;
    /// # let client = ontime::Client::builder().base_url(simulator.base_url()).api_key(simulator.api_key()).build()?;
    /// let orders = client.orders();
    /// let id = orders
    ///     .update_status("1000002", StatusChange::new(StatusLevel::AssignedInRoute).label("Van 4"))
    ///     .await?; // the order's ID
    /// let timeline = orders.timeline(id).await?; // oldest first
    /// assert_eq!(timeline.last().and_then(|s| s.level.clone()), Some(StatusLevel::AssignedInRoute));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn update_status(
        &self,
        order: impl Into<OrderRef>,
        change: StatusChange,
    ) -> Result<OrderId> {
        let id = self.resolve(order).await?;
        let count =
            |timeline: Vec<Status>| timeline.iter().filter(|s| is_entry_of(s, &change)).count();
        let before = count(self.timeline(id).await?);
        let raw = self.client.raw();
        let sent = || {
            let mut text = format!("order {id}: status {:?}", change.level);
            if let Some(label) = &change.label {
                text.push_str(&format!(" labelled {label:?}"));
            }
            if let Some(at) = &change.at {
                text.push_str(&format!(" at {at}"));
            }
            text
        };
        let changed = send_resolved(
            Operation::OrderUpdateStatus,
            sent,
            || {
                self.client.call(
                    Operation::OrderUpdateStatus,
                    Idempotency::NonIdempotent,
                    || {
                        let mut b = raw
                            .order_update_status()
                            .id(id.as_uuid())
                            .detail(change.level.clone());
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
                    },
                )
            },
            || async {
                let after = count(self.timeline(id).await?);
                Ok(if after > before {
                    Probe::Applied(true)
                } else {
                    Probe::NotApplied
                })
            },
        )
        .await?;
        if !changed {
            return Err(Error::BadRequest {
                operation: Operation::OrderUpdateStatus,
                message: Some(format!(
                    "OnTime answered false: the status of order {id} was not changed"
                )),
            });
        }
        Ok(id)
    }

    /// Sets whether cash is collected at pickup and/or delivery, and how much. A tracking number
    /// is resolved first ([`resolve`](Self::resolve)). OnTime's `false` (not applied) is
    /// [`Error::BadRequest`].
    pub async fn set_cod_requirement(
        &self,
        order: impl Into<OrderRef>,
        cod: CodRequirement,
    ) -> Result<()> {
        let CodRequirement {
            amount,
            at_collection,
            at_delivery,
        } = cod;
        if !amount.is_finite() || amount < 0.0 {
            return Err(Error::InvalidRequest {
                operation: Operation::OrderCodRequirement,
                message: format!(
                    "the amount to collect must be a non-negative number, not {amount}"
                ),
            });
        }
        let id = self.resolve(order).await?;
        let raw = self.client.raw();
        self.client
            .call(
                Operation::OrderCodRequirement,
                Idempotency::Idempotent,
                || {
                    (raw.order_cod_requirement()
                        .amount_to_collect(amount)
                        .require_collection_cod(at_collection)
                        .require_delivery_cod(at_delivery))
                    .id(id.as_uuid())
                    .send()
                },
            )
            .await
            .and_then(|answer| {
                applied(Operation::OrderCodRequirement, answer, || {
                    format!("the cash-on-delivery requirement of order {id}")
                })
            })
    }

    /// Sets whether a signature is required at pickup and/or delivery. A tracking number is
    /// resolved first ([`resolve`](Self::resolve)). OnTime's `false` (not applied) is
    /// [`Error::BadRequest`].
    pub async fn set_signature_requirement(
        &self,
        order: impl Into<OrderRef>,
        signature: SignatureRequirement,
    ) -> Result<()> {
        let SignatureRequirement {
            at_collection,
            at_delivery,
        } = signature;
        let id = self.resolve(order).await?;
        let raw = self.client.raw();
        self.client
            .call(
                Operation::OrderSignatureRequirement,
                Idempotency::Idempotent,
                || {
                    (raw.order_signature_requirement()
                        .require_collection_signature(at_collection)
                        .require_delivery_signature(at_delivery))
                    .id(id.as_uuid())
                    .send()
                },
            )
            .await
            .and_then(|answer| {
                applied(Operation::OrderSignatureRequirement, answer, || {
                    format!("the signature requirement of order {id}")
                })
            })
    }

    /// Recalculates and stores the order's prices. OnTime's `false` (not applied) is
    /// [`Error::BadRequest`].
    pub async fn update_prices(&self, order: OrderId) -> Result<()> {
        let raw = self.client.raw();
        self.client
            .call(
                Operation::OrderUpdatePrices,
                Idempotency::Idempotent,
                || raw.order_update_prices().id(order.as_uuid()).send(),
            )
            .await
            .and_then(|answer| {
                applied(Operation::OrderUpdatePrices, answer, || {
                    format!("the price update of order {order}")
                })
            })
    }

    /// Prices a draft order without saving it.
    pub async fn total_cost(&self, draft: &Order) -> Result<f64> {
        let raw = self.client.raw();
        self.client
            .call(
                Operation::OrderGetTotalCost,
                Idempotency::Idempotent,
                || raw.order_get_total_cost().body(draft.clone()).send(),
            )
            .await
    }

    /// Renders a report document (normally a PDF) for the order.
    pub async fn report(&self, order: OrderId, kind: ReportKind) -> Result<Document> {
        let raw = self.client.raw();
        let code = kind.code().to_string();
        self.client
            .call_raw(Operation::OrderReport, Idempotency::Idempotent, || {
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

    /// The collection or delivery signature image (PNG bytes), or `None` when there is none. A
    /// tracking number is resolved first ([`resolve`](Self::resolve)): one no order has is
    /// [`Error::NotFound`].
    pub async fn signature(
        &self,
        order: impl Into<OrderRef>,
        which: SignatureType,
    ) -> Result<Option<Bytes>> {
        let id = self.resolve(order).await?;
        let raw = self.client.raw();
        let encoded = self
            .client
            .call(Operation::OrderSignature, Idempotency::Idempotent, || {
                (raw.order_signature().signature_type(which.clone()))
                    .id(id.as_uuid())
                    .send()
            })
            .await?;
        encoded
            .map(|text| decode_base64(Operation::OrderSignature, &text))
            .transpose()
    }

    /// The identifiers of the order's attachments.
    pub async fn attachment_ids(&self, order: OrderId) -> Result<Vec<FileAttachmentId>> {
        let raw = self.client.raw();
        let list = self
            .client
            .call(
                Operation::FileAttachmentsFind,
                Idempotency::Idempotent,
                || raw.file_attachments_find().order_id(order.as_uuid()).send(),
            )
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

    /// Attaches a file to the order.
    ///
    /// The server assigns the attachment's identifier, so a blind repeat would attach the file
    /// twice. Before sending, this lists the order's attachment IDs (one more call); when the
    /// answer is lost it lists them again and fetches the new ones: one with the same file name
    /// and the same bytes means applied (`Ok`, with that record); none after a dropped
    /// connection or a failing gateway means not applied, and the upload is sent once more;
    /// otherwise the result is [`Error::OutcomeUnknown`].
    pub async fn upload_attachment(
        &self,
        order: OrderId,
        file_name: impl Into<String>,
        contents: impl AsRef<[u8]>,
    ) -> Result<FileAttachment> {
        let file_name = file_name.into();
        let contents = contents.as_ref();
        let body = types::FileAttachment::builder()
            .file_name(Some(file_name.clone()))
            .contents(Some(BASE64.encode(contents)));
        let body = FileAttachment::try_from(body).map_err(|e| Error::InvalidRequest {
            operation: Operation::OrderFileAttachmentPost,
            message: e.to_string(),
        })?;
        let before = self.attachment_ids(order).await?;
        let raw = self.client.raw();
        let sent = || {
            format!(
                "order {order}: file {file_name:?} ({} bytes)",
                contents.len()
            )
        };
        send_resolved(
            Operation::OrderFileAttachmentPost,
            sent,
            || {
                self.client.call(
                    Operation::OrderFileAttachmentPost,
                    Idempotency::NonIdempotent,
                    || {
                        raw.order_file_attachment_post()
                            .order_id(order.as_uuid())
                            .body(body.clone())
                            .send()
                    },
                )
            },
            || async {
                let new: Vec<FileAttachmentId> = self
                    .attachment_ids(order)
                    .await?
                    .into_iter()
                    .filter(|id| !before.contains(id))
                    .collect();
                let files = Resource::<FileAttachment>::new(self.client.clone())
                    .get_many(new)
                    .await?;
                for file in files {
                    let same_name = file.file_name.as_deref() == Some(file_name.as_str());
                    if same_name && attachment(file.clone())?.bytes == contents {
                        return Ok(Probe::Applied(file));
                    }
                }
                Ok(Probe::NotApplied)
            },
        )
        .await
    }

    /// Permanently deletes an attachment.
    ///
    /// Deleting twice removes nothing more, so a failed attempt is retried like a read. When
    /// an attempt's answer is lost and a retry then finds the attachment gone (404), the first
    /// attempt deleted it: the result is `Ok`. A 404 on the first attempt is
    /// [`Error::NotFound`](crate::Error::NotFound). OnTime's `false` (not deleted) is
    /// [`Error::BadRequest`].
    pub async fn delete_attachment(&self, id: FileAttachmentId) -> Result<()> {
        let answer = self.delete_attachment_answer(id).await?;
        applied(Operation::OrderFileAttachmentDelete, answer, || {
            format!("the deletion of attachment {id}")
        })
    }

    async fn delete_attachment_answer(&self, id: FileAttachmentId) -> Result<bool> {
        let raw = self.client.raw();
        let attempt = |idempotency| {
            self.client
                .call(Operation::OrderFileAttachmentDelete, idempotency, || {
                    raw.order_file_attachment_delete().id(id.as_uuid()).send()
                })
        };
        // The first attempt alone, so that a 404 can be told apart from a 404 on a retry.
        let error = match attempt(Idempotency::NonIdempotent).await {
            Ok(deleted) => return Ok(deleted),
            Err(error) if !error.is_retryable() || self.client.retry_policy().attempts() < 2 => {
                return Err(error);
            }
            Err(error) => error,
        };
        tracing::warn!(error = %error, "delete failed; retrying (a 404 now means the first attempt deleted it)");
        match attempt(Idempotency::Idempotent).await {
            Err(Error::NotFound { .. }) => {
                tracing::info!(%id, "the attachment was deleted by the attempt whose answer was lost");
                Ok(true)
            }
            other => other,
        }
    }
}

fn attachment(file: FileAttachment) -> Result<Attachment> {
    let bytes = match &file.contents {
        Some(text) => decode_base64(Operation::FileAttachmentsGet, text)?,
        None => Bytes::new(),
    };
    Ok(Attachment {
        id: file.id,
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
            .call(
                Operation::UsersAuthenticate,
                Idempotency::Idempotent,
                || {
                    raw.users_authenticate()
                        .user_name(user_name)
                        .password(password)
                        .send()
                },
            )
            .await?;
        Ok(id.map(UserId::from))
    }

    /// Whether the user is available as a driver now.
    pub async fn availability(&self, user: UserId) -> Result<UserAvailability> {
        let raw = self.client.raw();
        self.client
            .call(Operation::UserAvailability, Idempotency::Idempotent, || {
                raw.user_availability().user_id(user.as_uuid()).send()
            })
            .await
    }

    /// Records a user's availability. OnTime's `false` (not applied) is [`Error::BadRequest`].
    pub async fn update_availability(&self, availability: UserAvailability) -> Result<()> {
        let raw = self.client.raw();
        self.client
            .call(
                Operation::UserUpdateAvailability,
                Idempotency::Idempotent,
                || {
                    raw.user_update_availability()
                        .body(availability.clone())
                        .send()
                },
            )
            .await
            .and_then(|answer| {
                applied(Operation::UserUpdateAvailability, answer, || {
                    "the availability change".to_string()
                })
            })
    }

    /// Reported positions matching `filter`, oldest first (sorted by timestamp here; equal or
    /// missing timestamps keep the server's order, those without one first).
    pub async fn positions(&self, filter: PositionFilter) -> Result<Vec<UserPosition>> {
        filter.check(Operation::UserPositions)?;
        let raw = self.client.raw();
        let mut positions = self
            .client
            .call(Operation::UserPositions, Idempotency::Idempotent, || {
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
            .call(
                Operation::UserPositionLatest,
                Idempotency::Idempotent,
                || raw.user_position_latest().user_id(user.as_uuid()).send(),
            )
            .await;
        found(result)
    }

    /// Reports a position (the body's `UserID` names the user).
    ///
    /// A blind repeat would record it twice. Before sending, this counts the user's stored
    /// positions with the same coordinates (and time, when one is given without offset): one
    /// more read. When the answer is lost it counts again: one more means applied (`Ok`); none
    /// more after a dropped connection or a failing gateway means not applied, and the report
    /// is sent once more; otherwise the result is [`Error::OutcomeUnknown`].
    pub async fn report_position(&self, position: UserPosition) -> Result<()> {
        let Some(user) = position.user_id else {
            return Err(Error::InvalidRequest {
                operation: Operation::UserUpdatePosition,
                message: "the position needs the user's ID (UserID)".into(),
            });
        };
        let filter = || {
            let mut filter = PositionFilter::new().user(user);
            if let Some(t) = position
                .timestamp
                .filter(|t| t.offset() == DateTimeOffset::Unspecified)
            {
                filter = filter.from(t).to(t);
            }
            filter
        };
        let count = |stored: Vec<UserPosition>| {
            stored
                .iter()
                .filter(|p| is_position_of(p, &position))
                .count()
        };
        let before = count(self.positions(filter()).await?);
        let raw = self.client.raw();
        let sent = || {
            format!(
                "user {user}: position {:?}, {:?}{}",
                position.latitude,
                position.longitude,
                position
                    .timestamp
                    .map(|t| format!(" at {t}"))
                    .unwrap_or_default()
            )
        };
        let answer = send_resolved(
            Operation::UserUpdatePosition,
            sent,
            || {
                self.client.call(
                    Operation::UserUpdatePosition,
                    Idempotency::NonIdempotent,
                    || raw.user_update_position().body(position.clone()).send(),
                )
            },
            || async {
                let after = count(self.positions(filter()).await?);
                Ok(if after > before {
                    Probe::Applied(true)
                } else {
                    Probe::NotApplied
                })
            },
        )
        .await?;
        applied(Operation::UserUpdatePosition, answer, || {
            format!("the position report of user {user}")
        })
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
            .call(
                Operation::CustomersAuthenticate,
                Idempotency::Idempotent,
                || {
                    raw.customers_authenticate()
                        .user_name(user_name)
                        .password(password)
                        .send()
                },
            )
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
            .call(
                Operation::ContactsAuthenticate,
                Idempotency::Idempotent,
                || {
                    raw.contacts_authenticate()
                        .user_name(user_name)
                        .password(password)
                        .send()
                },
            )
            .await?;
        Ok(id.map(ContactId::from))
    }
}

impl Resource<PriceSet> {
    /// The price set (service level) with this name, or `None`.
    pub async fn by_name(&self, name: &str) -> Result<Option<PriceSet>> {
        crate::filters::require_non_blank(Operation::PriceSetsByName, "name", name)?;
        let raw = self.client.raw();
        let result = self
            .client
            .call(Operation::PriceSetsByName, Idempotency::Idempotent, || {
                raw.price_sets_by_name().name(name).send()
            })
            .await;
        found(result)
    }
}

impl Resource<PriceModifier> {
    /// The price modifier with this name, or `None`.
    pub async fn by_name(&self, name: &str) -> Result<Option<PriceModifier>> {
        crate::filters::require_non_blank(Operation::PriceModifiersByName, "name", name)?;
        let raw = self.client.raw();
        let result = self
            .client
            .call(
                Operation::PriceModifiersByName,
                Idempotency::Idempotent,
                || raw.price_modifiers_by_name().name(name).send(),
            )
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
