//! `ontime orders ...`: the command tree and how commands name an order. The commands live by
//! job: `read.rs` (get, timeline), `status.rs` (status set, levels), `write.rs` (update with the
//! `--set` editor, create), `documents.rs` (cost, report, signature).

mod documents;
mod read;
mod status;
mod write;

use clap::{Args, Subcommand};
use ontime::{Client, LocationId, OnTimeDateTime, OrderFilter, OrderId, StatusLevel, UserId};

use crate::args::{self, OrderArg};
use crate::context::Ctx;
use crate::error::CliError;
use crate::listing::{self, ListArgs};

// Parsed once per run: the size difference between variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum OrdersCommand {
    /// Find orders by filters; they print as they arrive
    #[command(
        long_about = "Find orders by filters: one finder request, then the orders are fetched \
        concurrently (--concurrency) and printed as they arrive, in the finder's order."
    )]
    Find(FindOrders),
    /// Fetch orders by ID, or by tracking number with -t
    Get(read::GetOrders),
    /// An order's status history, oldest first
    Timeline(OrderArg),
    /// Set an order's status, or list the status levels
    #[command(subcommand)]
    Status(status::StatusCommand),
    /// Change fields of an order without clearing the others: fetch it, change them, read it
    /// again, post the whole record back
    Update(write::UpdateOrder),
    /// Create an order from a JSON file in the API's format
    Create(write::CreateOrder),
    /// Price an order, or a draft order from a JSON file, without saving it
    Cost(documents::CostOrder),
    /// Download a report (shipping label, waybill, bill of lading) to a file
    Report(documents::ReportOrder),
    /// Download an order's collection or delivery signature image to a file
    Signature(documents::SignatureOrder),
}

/// The order finder's filters (all optional; they combine with AND).
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Filters")]
pub struct OrderFilterArgs {
    /// Orders of the customer with this name
    #[arg(long, value_name = "NAME", value_parser = args::non_blank)]
    pub customer_name: Option<String>,
    /// Orders at this status level: a name (any case) or code; see `ontime orders status levels`
    #[arg(long, value_name = "STATUS", value_parser = args::status)]
    pub status: Option<StatusLevel>,
    /// The order with this tracking number
    #[arg(long, value_name = "NUMBER", value_parser = args::non_blank)]
    pub tracking_number: Option<String>,
    /// Orders submitted on this day
    #[arg(long, value_name = "DATE", value_parser = args::date)]
    pub submitted_on: Option<OnTimeDateTime>,
    /// Orders submitted at or after this time (2026-11-24, 2026-11-24T15:00:00, ...Z, ...-05:00)
    #[arg(long, value_name = "DATE", value_parser = args::date)]
    pub submitted_from: Option<OnTimeDateTime>,
    /// Orders submitted at or before this time (a bare date: through the end of that day)
    #[arg(long, value_name = "DATE", value_parser = args::date_to)]
    pub submitted_to: Option<OnTimeDateTime>,
    /// Orders collected at this location
    #[arg(long, value_name = "LOCATION_ID", value_parser = args::id::<LocationId>)]
    pub collection_location: Option<LocationId>,
    /// Orders delivered to this location
    #[arg(long, value_name = "LOCATION_ID", value_parser = args::id::<LocationId>)]
    pub delivery_location: Option<LocationId>,
    /// Orders currently assigned to this driver
    #[arg(long, value_name = "USER_ID", value_parser = args::id::<UserId>)]
    pub assigned_user: Option<UserId>,
    /// Orders with this reference number
    #[arg(long, value_name = "TEXT", value_parser = args::non_blank)]
    pub reference_number: Option<String>,
    /// Orders with this purchase order number
    #[arg(long, value_name = "TEXT", value_parser = args::non_blank)]
    pub purchase_order_number: Option<String>,
    /// Orders with this incoming tracking number
    #[arg(long, value_name = "TEXT", value_parser = args::non_blank)]
    pub incoming_tracking_number: Option<String>,
    /// Orders with this outgoing tracking number
    #[arg(long, value_name = "TEXT", value_parser = args::non_blank)]
    pub outgoing_tracking_number: Option<String>,
}

impl OrderFilterArgs {
    /// The facade's filter; a range that ends before it starts is a usage error.
    pub fn to_filter(&self) -> Result<OrderFilter, CliError> {
        args::check_range(
            "--submitted-from",
            self.submitted_from,
            "--submitted-to",
            self.submitted_to,
        )?;
        let mut f = OrderFilter::new();
        f.customer_name = self.customer_name.clone();
        f.status = self.status.clone();
        f.tracking_number = self.tracking_number.clone();
        f.submitted_on = self.submitted_on;
        f.submitted_from = self.submitted_from;
        f.submitted_to = self.submitted_to;
        f.collection_location = self.collection_location;
        f.delivery_location = self.delivery_location;
        f.assigned_user = self.assigned_user;
        f.reference_number = self.reference_number.clone();
        f.purchase_order_number = self.purchase_order_number.clone();
        f.incoming_tracking_number = self.incoming_tracking_number.clone();
        f.outgoing_tracking_number = self.outgoing_tracking_number.clone();
        Ok(f)
    }
}

#[derive(Args, Debug)]
#[command(after_help = "Examples:
  ontime orders find --status delivered --submitted-from 2026-11-01
  ontime orders find --customer-name \"Vesigo Studios\" --limit 20
  ontime orders find --submitted-on 2026-11-24 -o csv > today.csv
  ontime orders find --status dispatched --ids-only | xargs ontime orders get")]
pub struct FindOrders {
    #[command(flatten)]
    pub filter: OrderFilterArgs,
    #[command(flatten)]
    pub list: ListArgs,
}

pub async fn run(ctx: &Ctx, cmd: OrdersCommand) -> Result<(), CliError> {
    match cmd {
        OrdersCommand::Find(args) => {
            let client = ctx.client()?;
            listing::find_and_print(ctx, client.orders(), args.filter.to_filter()?, &args.list)
                .await
        }
        OrdersCommand::Get(args) => read::get(ctx, args).await,
        OrdersCommand::Timeline(order) => read::timeline(ctx, &order).await,
        OrdersCommand::Status(status::StatusCommand::Set(args)) => {
            status::set_status(ctx, args).await
        }
        OrdersCommand::Status(status::StatusCommand::Levels) => status::levels(ctx),
        OrdersCommand::Update(args) => write::update(ctx, args).await,
        OrdersCommand::Create(args) => write::create(ctx, args).await,
        OrdersCommand::Cost(args) => documents::cost(ctx, args).await,
        OrdersCommand::Report(args) => documents::report(ctx, args).await,
        OrdersCommand::Signature(args) => documents::signature(ctx, args).await,
    }
}

/// The ID of the order `arg` names (a tracking number costs one finder request; one that
/// several orders carry is refused, listing them).
pub async fn resolve(client: &Client, arg: &OrderArg) -> Result<OrderId, CliError> {
    let order = arg.to_ref()?;
    client.orders().resolve(order).await.map_err(|e| {
        CliError::from(e).if_not_found(|| match arg.by_tracking_number {
            true => format!("no order has the tracking number {}", arg.order.trim()),
            false => format!("no {} exists", arg.describe()),
        })
    })
}

/// How output names an order: its ID, and the tracking number the user gave, if any.
pub fn named(arg: &OrderArg, id: OrderId) -> String {
    if arg.by_tracking_number {
        format!("order {id} (tracking number {})", arg.order.trim())
    } else {
        format!("order {id}")
    }
}

pub(crate) fn not_found(arg: &OrderArg) -> impl FnOnce() -> String + '_ {
    move || format!("no {} exists", arg.describe())
}
