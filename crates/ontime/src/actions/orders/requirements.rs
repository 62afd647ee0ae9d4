//! What an order requires at pickup/delivery: cash on delivery and signatures.

use ontime_raw::index::Operation;
use ontime_raw::types::Order;

use super::OrderRef;
use crate::actions::applied;
use crate::resource::Resource;
use crate::retry::Idempotency;
use crate::{Error, Result};

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

impl Resource<Order> {
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
}
