//! Order actions: naming an order ([`OrderRef`], tracking-number lookup) here; status changes,
//! requirements, prices and documents in the submodules.

mod documents;
mod prices;
mod requirements;
mod status;

pub use documents::{Document, ReportKind};
pub use requirements::{CodRequirement, SignatureRequirement};
pub use status::StatusChange;

use ontime_raw::index::Operation;
use ontime_raw::types::Order;

use crate::filters::OrderFilter;
use crate::resource::Resource;
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
}
