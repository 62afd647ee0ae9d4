//! Documents rendered for an order: reports (labels, waybills, ...) and signature images.

use bytes::Bytes;
use futures::TryStreamExt;
use ontime_raw::ResponseValue;
use ontime_raw::index::Operation;
use ontime_raw::lenient::SignatureType;
use ontime_raw::types::Order;

use super::OrderRef;
use crate::Result;
use crate::actions::decode_base64;
use crate::resource::Resource;
use crate::retry::Idempotency;
use ontime_raw::ids::*;

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

impl Resource<Order> {
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
    /// [`Error::NotFound`](crate::Error::NotFound).
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
}
