//! Files attached to orders.

use base64::Engine as _;
use bytes::Bytes;
use ontime_raw::types;

use super::orders::order_from_path;
use super::{Ctx, body, check_customer, param_guid, visible};
use crate::http_util::{ApiError, Reply};
use crate::state::Shared;

pub(crate) fn file_attachments_find(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let order = ctx
        .query
        .uuid("orderID")?
        .ok_or_else(|| ApiError::bad_request("orderID is required."))?;
    let store = s.read();
    let list = match store.order_idx(order) {
        Some(idx) if visible(&ctx.key, store.order_customer(idx)) => store.attachment_ids(idx),
        _ => Vec::new(),
    };
    Reply::ok(&list)
}

pub(crate) fn order_file_attachment_delete(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let id = param_guid(ctx, 0, "id")?;
    let mut store = s.write();
    let (idx, _) = store
        .attachment(id)
        .ok_or_else(|| ApiError::not_found("FileAttachment", id))?;
    check_customer(&ctx.key, store.order_customer(idx))?;
    Reply::ok(&store.delete_attachment(id))
}

pub(crate) fn order_file_attachment_post(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let a: types::FileAttachment = body(ctx, "FileAttachment")?;
    let contents = match a.contents.as_deref() {
        Some(c) => base64::engine::general_purpose::STANDARD
            .decode(c.trim())
            .map_err(|e| ApiError::bad_request(format!("Contents is not valid base64: {e}")))?,
        None => return Err(ApiError::bad_request("Contents is required.")),
    };
    let mut store = s.write();
    let idx = order_from_path(&store, ctx, "orderID")?;
    let name = a
        .file_name
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "attachment".to_owned());
    let id = store.add_attachment(idx, name, Bytes::from(contents), ctx.now);
    let (_, rec) = store
        .attachment(id)
        .ok_or_else(|| ApiError::new(500, "The attachment was not stored."))?;
    Reply::created(&rec)
}
