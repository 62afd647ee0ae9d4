//! `ontime orders status set` and `ontime orders status levels`.

use clap::{Args, Subcommand};
use ontime::{OnTimeDateTime, StatusChange, StatusLevel};
use serde::Serialize;

use super::{named, not_found, resolve};
use crate::args::{self, OrderArg};
use crate::context::Ctx;
use crate::error::CliError;
use crate::output::Format;
use crate::views::{Col, Fmt, View};

#[derive(Subcommand, Debug)]
pub enum StatusCommand {
    /// Set an order's status (recorded in its timeline)
    Set(SetStatus),
    /// List the status levels: names and codes
    Levels,
}

#[derive(Args, Debug)]
#[command(
    after_help = "A status change is never sent twice blindly: the order's timeline is read first, and if
the answer to the change is lost, read again to see whether it was applied. When that cannot
be told (exit 8), look at `ontime orders timeline ORDER` before running the command again.
A tracking number two orders share is refused (exit 2) with both IDs.

Examples:
  ontime orders status set 44bc0a1d-ef24-49b5-a0cb-54181ce5dbcf delivered
  ontime orders status set -t 1009214 assigned-in-route --label \"Van 4\""
)]
pub struct SetStatus {
    #[command(flatten)]
    pub order: OrderArg,
    /// The new status: a name (any case, e.g. delivered, assigned-in-route) or a code (0-9)
    #[arg(value_name = "STATUS", value_parser = args::status)]
    pub status: StatusLevel,
    /// A label recorded with the change
    #[arg(long)]
    pub label: Option<String>,
    /// When the change happened (default: now, per the server)
    #[arg(long, value_name = "DATE", value_parser = args::date)]
    pub at: Option<OnTimeDateTime>,
}

/// What `orders status set` reports.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct StatusSet {
    order: String,
    status: String,
    status_level: i64,
    label: Option<String>,
    at: Option<String>,
}

static STATUS_SET_VIEW: View = View {
    singular: "status change",
    plural: "status changes",
    fields: &[
        ("Order", Fmt::Text),
        ("Status", Fmt::Text),
        ("StatusLevel", Fmt::Num),
        ("Label", Fmt::Text),
        ("At", Fmt::Date),
    ],
    columns: &[],
};

pub async fn set_status(ctx: &Ctx, args: SetStatus) -> Result<(), CliError> {
    let client = ctx.client()?;
    let id = resolve(&client, &args.order).await?;
    let mut change = StatusChange::new(args.status.clone());
    if let Some(label) = &args.label {
        change = change.label(label.clone());
    }
    if let Some(at) = args.at {
        change = change.at(at);
    }
    client
        .orders()
        .update_status(id, change)
        .await
        .map_err(|e| CliError::from(e).if_not_found(not_found(&args.order)))?;
    if ctx.format == Format::Table {
        let mut line = format!("The {} is now {}", named(&args.order, id), args.status);
        if let Some(label) = &args.label {
            line.push_str(&format!(" ({label})"));
        }
        line.push_str(".\n");
        return ctx.output().text(&line);
    }
    let result = StatusSet {
        order: id.to_string(),
        status: args.status.to_string(),
        status_level: args.status.code().unwrap_or_default(),
        label: args.label,
        at: args.at.map(|a| a.to_string()),
    };
    ctx.output().one_with(&STATUS_SET_VIEW, &result)
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Level {
    code: i64,
    name: String,
    meaning: &'static str,
}

static LEVELS_VIEW: View = View {
    singular: "status level",
    plural: "status levels",
    fields: &[
        ("Code", Fmt::Num),
        ("Name", Fmt::Text),
        ("Meaning", Fmt::Text),
    ],
    columns: &[
        Col {
            header: "Code",
            path: &["Code"],
            fmt: Fmt::Num,
            max: 4,
        },
        Col {
            header: "Name",
            path: &["Name"],
            fmt: Fmt::Text,
            max: 20,
        },
        Col {
            header: "Meaning",
            path: &["Meaning"],
            fmt: Fmt::Text,
            max: 60,
        },
    ],
};

fn meaning(level: &StatusLevel) -> &'static str {
    match level {
        StatusLevel::None => "no status",
        StatusLevel::Dispatched => "dispatched, not yet assigned to a driver",
        StatusLevel::AssignedInRoute => "assigned to a driver who is on the way",
        StatusLevel::Delivered => "delivered",
        StatusLevel::Cancelled => "cancelled",
        StatusLevel::CancelledBillable => "cancelled, but still billable",
        StatusLevel::Assigned => "assigned to a driver",
        StatusLevel::Stored => "held in storage",
        StatusLevel::UnassignedStored => "stored and not assigned to a driver",
        StatusLevel::Quoted => "a quote, not yet an order",
        _ => "",
    }
}

pub fn levels(ctx: &Ctx) -> Result<(), CliError> {
    let mut output = ctx.output();
    let mut list = output.list_with(&LEVELS_VIEW);
    for level in StatusLevel::ALL {
        list.push_serialize(&Level {
            code: level.code().unwrap_or_default(),
            name: level.to_string(),
            meaning: meaning(level),
        })?;
    }
    list.finish()?;
    Ok(())
}
