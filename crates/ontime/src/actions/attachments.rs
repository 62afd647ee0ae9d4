//! Files attached to orders: listing, downloading, uploading and deleting them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use ontime_raw::index::Operation;
use ontime_raw::lenient::OnTimeDateTime;
use ontime_raw::types::{self, FileAttachment, Order};

use crate::actions::{Probe, applied, decode_base64, send_resolved};
use crate::resource::{Resource, fetch};
use crate::retry::Idempotency;
use crate::{Error, Result};
use ontime_raw::ids::*;

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

impl Resource<Order> {
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
