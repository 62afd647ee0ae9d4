//! `ontime attachments ...`: files attached to orders.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use futures::StreamExt;
use ontime::types::FileAttachment;
use ontime::{Attachment, FileAttachmentId};
use serde::Serialize;

use crate::args::{self, OrderArg};
use crate::context::Ctx;
use crate::download::{safe_name, write_download};
use crate::error::CliError;
use crate::orders;
use crate::output::Format;
use crate::views::{Col, Fmt, View, Viewable};

// Parsed once per run: the size difference between variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum AttachmentsCommand {
    /// List an order's attachments (names and sizes)
    List(OrderArg),
    /// Download an attachment to a file
    Get(GetAttachment),
    /// Attach a file to an order
    Put(PutAttachment),
    /// Delete an attachment (permanently)
    Delete(DeleteAttachment),
}

#[derive(Args, Debug)]
pub struct GetAttachment {
    /// The attachment's ID (see `ontime attachments list ORDER`)
    #[arg(value_name = "ATTACHMENT_ID", value_parser = args::id::<FileAttachmentId>)]
    pub id: FileAttachmentId,
    /// Where to write it; `-` writes to stdout [default: the attachment's file name]
    #[arg(long, short = 'O', value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
#[command(after_help = "Example:\n  ontime attachments put -t 1009214 delivery-note.pdf")]
pub struct PutAttachment {
    #[command(flatten)]
    pub order: OrderArg,
    /// The file to attach
    #[arg(value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub file: PathBuf,
    /// The name to store it under [default: the file's name]
    #[arg(long, value_parser = args::non_blank)]
    pub name: Option<String>,
}

#[derive(Args, Debug)]
pub struct DeleteAttachment {
    /// The attachment's ID
    #[arg(value_name = "ATTACHMENT_ID", value_parser = args::id::<FileAttachmentId>)]
    pub id: FileAttachmentId,
}

/// An attachment without its contents: what `list` and `put` show.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttachmentInfo {
    #[serde(rename = "ID")]
    pub id: Option<String>,
    pub file_name: Option<String>,
    pub size: usize,
    pub timestamp: Option<String>,
}

impl AttachmentInfo {
    #[cfg_attr(not(feature = "mock"), allow(dead_code))] // used by `ontime demo`
    pub fn of(a: &Attachment) -> Self {
        Self {
            id: a.id.map(|id| id.to_string()),
            file_name: a.file_name.clone(),
            size: a.bytes.len(),
            timestamp: a.timestamp.map(|t| t.to_string()),
        }
    }
}

static ATTACHMENT_INFO: View = View {
    singular: "attachment",
    plural: "attachments",
    fields: &[
        ("ID", Fmt::Id),
        ("FileName", Fmt::Text),
        ("Size", Fmt::Num),
        ("Timestamp", Fmt::Date),
    ],
    columns: &[
        Col {
            header: "ID",
            path: &["ID"],
            fmt: Fmt::Id,
            max: 36,
        },
        Col {
            header: "File name",
            path: &["FileName"],
            fmt: Fmt::Text,
            max: 40,
        },
        Col {
            header: "Bytes",
            path: &["Size"],
            fmt: Fmt::Num,
            max: 12,
        },
        Col {
            header: "Attached",
            path: &["Timestamp"],
            fmt: Fmt::Date,
            max: 22,
        },
    ],
};

impl Viewable for AttachmentInfo {
    const VIEW: &'static View = &ATTACHMENT_INFO;
}

pub async fn run(ctx: &Ctx, cmd: AttachmentsCommand) -> Result<(), CliError> {
    match cmd {
        AttachmentsCommand::List(order) => list(ctx, &order).await,
        AttachmentsCommand::Get(args) => get(ctx, args).await,
        AttachmentsCommand::Put(args) => put(ctx, args).await,
        AttachmentsCommand::Delete(args) => delete(ctx, args).await,
    }
}

fn info_of(file: FileAttachment) -> AttachmentInfo {
    AttachmentInfo {
        id: file.id.map(|id| id.to_string()),
        size: file
            .contents
            .as_deref()
            .map(crate::cells::base64_len)
            .unwrap_or(0),
        file_name: file.file_name,
        timestamp: file.timestamp.map(|t| t.to_string()),
    }
}

async fn list(ctx: &Ctx, order: &OrderArg) -> Result<(), CliError> {
    let client = ctx.client()?;
    let id = orders::resolve(&client, order).await?;
    let ids = client.orders().attachment_ids(id).await.map_err(|e| {
        CliError::from(e).if_not_found(|| format!("no {} exists", order.describe()))
    })?;
    // OnTime answers an empty list for an order that does not exist, too: one more call,
    // only when the list is empty, tells the two apart (before anything is printed).
    if ids.is_empty() && client.orders().try_get(id).await?.is_none() {
        return Err(CliError::not_found(format!(
            "no {} exists",
            order.describe()
        )));
    }
    let mut stream = client.file_attachments().stream_many(ids.clone());
    let mut output = ctx.output();
    let mut list = output.list::<AttachmentInfo>();
    let mut index = 0;
    while let Some(file) = stream.next().await {
        let file = file.map_err(|e| match ids.get(index) {
            Some(id) => crate::listing::record_error(e, "attachment", id),
            None => CliError::from(e),
        })?;
        index += 1;
        list.push_serialize(&info_of(file))?;
    }
    if list.finish()? == 0 {
        ctx.note(format!("The {} has no attachments.", order.describe()));
    }
    Ok(())
}

async fn get(ctx: &Ctx, args: GetAttachment) -> Result<(), CliError> {
    let client = ctx.client()?;
    let attachment = client
        .orders()
        .download_attachment(args.id)
        .await
        .map_err(|e| {
            CliError::from(e).if_not_found(|| format!("no attachment has the ID {}", args.id))
        })?;
    let out = match &args.out {
        Some(path) => path.clone(),
        None => {
            // Only the last path component of the stored name, made safe.
            let name = attachment.file_name.as_deref().unwrap_or("attachment");
            let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
            PathBuf::from(safe_name(base))
        }
    };
    write_download(ctx, &out, &attachment.bytes, None)
}

async fn put(ctx: &Ctx, args: PutAttachment) -> Result<(), CliError> {
    let contents = std::fs::read(&args.file)
        .map_err(|e| CliError::usage(format!("could not read {}: {e}", args.file.display())))?;
    let name = match &args.name {
        Some(name) => name.clone(),
        None => file_name(&args.file)?,
    };
    let client = ctx.client()?;
    let id = orders::resolve(&client, &args.order).await?;
    let stored = client
        .orders()
        .upload_attachment(id, name.clone(), &contents)
        .await
        .map_err(|e| {
            CliError::from(e).if_not_found(|| format!("no {} exists", args.order.describe()))
        })?;
    let info = AttachmentInfo {
        id: stored.id.map(|id| id.to_string()),
        file_name: stored.file_name.or(Some(name)),
        size: contents.len(),
        timestamp: stored.timestamp.map(|t| t.to_string()),
    };
    if ctx.format == Format::Table {
        return ctx.output().text(&format!(
            "Attached {} ({} bytes) to {} as {}\n",
            info.file_name.as_deref().unwrap_or(""),
            info.size,
            orders::named(&args.order, id),
            info.id.as_deref().unwrap_or("?")
        ));
    }
    ctx.output().one_with(
        &ATTACHED_VIEW,
        &Attached {
            order: id.to_string(),
            info,
        },
    )
}

/// What `put` shows: the attachment and the order it was attached to.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Attached {
    order: String,
    #[serde(flatten)]
    info: AttachmentInfo,
}

static ATTACHED_VIEW: View = View {
    singular: "attachment",
    plural: "attachments",
    fields: &[
        ("Order", Fmt::Id),
        ("ID", Fmt::Id),
        ("FileName", Fmt::Text),
        ("Size", Fmt::Num),
        ("Timestamp", Fmt::Date),
    ],
    columns: &[],
};

fn file_name(path: &Path) -> Result<String, CliError> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .ok_or_else(|| CliError::usage(format!("{} has no file name: pass --name", path.display())))
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Deleted {
    #[serde(rename = "ID")]
    id: String,
    deleted: bool,
}

static DELETED_VIEW: View = View {
    singular: "deletion",
    plural: "deletions",
    fields: &[("ID", Fmt::Id), ("Deleted", Fmt::Bool)],
    columns: &[],
};

async fn delete(ctx: &Ctx, args: DeleteAttachment) -> Result<(), CliError> {
    let client = ctx.client()?;
    // OnTime's "not deleted" answer comes back as an error (BadRequest) from the facade.
    client
        .orders()
        .delete_attachment(args.id)
        .await
        .map_err(|e| {
            CliError::from(e).if_not_found(|| format!("no attachment has the ID {}", args.id))
        })?;
    if ctx.format == Format::Table {
        return ctx
            .output()
            .text(&format!("Deleted attachment {}\n", args.id));
    }
    ctx.output().one_with(
        &DELETED_VIEW,
        &Deleted {
            id: args.id.to_string(),
            deleted: true,
        },
    )
}
