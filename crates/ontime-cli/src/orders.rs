//! `ontime orders ...`

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use ontime::types::Order;
use ontime::{
    Client, LocationId, OnTimeDateTime, OrderFilter, OrderId, ReportKind, SignatureType,
    StatusChange, StatusLevel, UserId,
};
use serde::Serialize;
use serde_json::Value;

use crate::args::{self, OrderArg};
use crate::context::Ctx;
use crate::error::CliError;
use crate::output::Format;
use crate::records::{self, ListArgs};
use crate::views::{self, Col, Fmt, TimelineEntry, View};

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
    Get(GetOrders),
    /// An order's status history, oldest first
    Timeline(OrderArg),
    /// Set an order's status, or list the status levels
    #[command(subcommand)]
    Status(StatusCommand),
    /// Change fields of an order without clearing the others: fetch it, change them, read it
    /// again, post the whole record back
    Update(UpdateOrder),
    /// Create an order from a JSON file in the API's format
    Create(CreateOrder),
    /// Price an order, or a draft order from a JSON file, without saving it
    Cost(CostOrder),
    /// Download a report (shipping label, waybill, bill of lading) to a file
    Report(ReportOrder),
    /// Download an order's collection or delivery signature image to a file
    Signature(SignatureOrder),
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

#[derive(Args, Debug)]
pub struct GetOrders {
    /// Order IDs (GUIDs), or tracking numbers with -t; several are fetched concurrently
    #[arg(value_name = "ORDER", required = true, value_parser = args::non_blank)]
    pub orders: Vec<String>,
    /// Take the ORDERs as tracking numbers
    #[arg(short = 't', long = "tracking-number")]
    pub by_tracking_number: bool,
    #[command(flatten)]
    pub keep_going: records::KeepGoing,
}

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

#[derive(Args, Debug)]
#[command(
    after_help = "FIELD is the API's field name (see `ontime orders get ORDER -o json`), any case;
embedded records take a dot: CollectionLocation.City=Boston. VALUE is JSON when it parses as
JSON for the field (numbers, true/false, null), text otherwise.

OnTime has no conditional update: a post replaces the stored order. So the order is read, changed,
and read again right before the post; if it moved in between (another update, a driver's status
change), the change is applied to the fresh copy, and after 3 reads that all moved nothing is posted
(exit 9). The status posted is the freshest read's. A change that lands between the last read and
the post (about one round trip) is still overwritten; when the answer shows the post set the status
back, the command exits 9 after saving the other fields, and the order's timeline needs a look.

Examples:
  ontime orders update -t 1009214 --set Comments=\"Leave at reception\"
  ontime orders update 44bc0a1d-ef24-49b5-a0cb-54181ce5dbcf --set Weight=12.5 --unset PurchaseOrderNumber"
)]
pub struct UpdateOrder {
    #[command(flatten)]
    pub order: OrderArg,
    /// Set FIELD to VALUE (repeatable)
    #[arg(long = "set", value_name = "FIELD=VALUE", value_parser = args::assignment)]
    pub set: Vec<(String, String)>,
    /// Clear FIELD (repeatable)
    #[arg(long = "unset", value_name = "FIELD")]
    pub unset: Vec<String>,
}

#[derive(Args, Debug)]
#[command(
    after_help = "The JSON is an order as the API writes it (see `ontime orders get ORDER -o json`).
Without TrackingNumber OnTime assigns one; without StatusLevel the order starts as submitted.
Without an ID (in the JSON or --id) the order is given a new random one before it is posted. If
the create fails after it was sent, the error names that ID: the order may have been stored, and
rerunning with --id ID updates it instead of creating a second order."
)]
pub struct CreateOrder {
    /// The order as JSON; `-` reads stdin
    #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub file: PathBuf,
    /// Allow the JSON's ID to name an existing order, which is then REPLACED: every field the
    /// JSON leaves out is cleared
    #[arg(long)]
    pub replace: bool,
    /// Create the order with this ID (instead of the JSON's, or a new random one). Rerunning a
    /// create that failed with the ID it printed replaces that order instead of adding another
    #[arg(long, value_name = "ID", value_parser = args::id::<OrderId>)]
    pub id: Option<OrderId>,
}

#[derive(Args, Debug)]
pub struct CostOrder {
    /// The order's ID, or its tracking number with -t
    #[arg(value_name = "ORDER", required_unless_present = "file", value_parser = args::non_blank)]
    pub order: Option<String>,
    /// Take ORDER as a tracking number
    #[arg(short = 't', long = "tracking-number")]
    pub by_tracking_number: bool,
    /// Price a draft order from this JSON file instead (`-` reads stdin)
    #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath, conflicts_with = "order")]
    pub file: Option<PathBuf>,
    /// Recalculate and store the order's prices, then show the stored total
    #[arg(long, conflicts_with = "file")]
    pub store: bool,
}

/// Report kinds by friendly name or API code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportArg {
    /// Shipping label (SL)
    #[value(name = "label", alias = "sl", alias = "shipping-label")]
    Label,
    /// Waybill (WB)
    #[value(name = "waybill", alias = "wb")]
    Waybill,
    /// Bill of lading (BOL)
    #[value(name = "bill-of-lading", alias = "bol")]
    BillOfLading,
}

impl ReportArg {
    fn kind(self) -> ReportKind {
        match self {
            ReportArg::Label => ReportKind::ShippingLabel,
            ReportArg::Waybill => ReportKind::Waybill,
            ReportArg::BillOfLading => ReportKind::BillOfLading,
        }
    }
}

#[derive(Args, Debug)]
pub struct ReportOrder {
    #[command(flatten)]
    pub order: OrderArg,
    /// Which report
    #[arg(long, value_enum, default_value_t = ReportArg::Label)]
    pub kind: ReportArg,
    /// Any other report code the account offers (instead of --kind)
    #[arg(long, value_name = "CODE", conflicts_with = "kind", value_parser = args::non_blank)]
    pub code: Option<String>,
    /// Where to write it; `-` writes to stdout [default: ORDER-CODE.pdf]
    #[arg(long, short = 'O', value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub out: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SignatureArg {
    /// Taken at pickup
    Collection,
    /// Taken at delivery
    Delivery,
}

#[derive(Args, Debug)]
pub struct SignatureOrder {
    #[command(flatten)]
    pub order: OrderArg,
    /// Which signature
    #[arg(long, value_enum, default_value_t = SignatureArg::Delivery)]
    pub which: SignatureArg,
    /// Where to write the image; `-` writes to stdout [default: ORDER-WHICH-signature.png]
    #[arg(long, short = 'O', value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub out: Option<PathBuf>,
}

pub async fn run(ctx: &Ctx, cmd: OrdersCommand) -> Result<(), CliError> {
    match cmd {
        OrdersCommand::Find(args) => {
            let client = ctx.client()?;
            records::find_and_print(ctx, client.orders(), args.filter.to_filter()?, &args.list)
                .await
        }
        OrdersCommand::Get(args) => get(ctx, args).await,
        OrdersCommand::Timeline(order) => timeline(ctx, &order).await,
        OrdersCommand::Status(StatusCommand::Set(args)) => set_status(ctx, args).await,
        OrdersCommand::Status(StatusCommand::Levels) => levels(ctx),
        OrdersCommand::Update(args) => update(ctx, args).await,
        OrdersCommand::Create(args) => create(ctx, args).await,
        OrdersCommand::Cost(args) => cost(ctx, args).await,
        OrdersCommand::Report(args) => report(ctx, args).await,
        OrdersCommand::Signature(args) => signature(ctx, args).await,
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

fn not_found(arg: &OrderArg) -> impl FnOnce() -> String + '_ {
    move || format!("no {} exists", arg.describe())
}

async fn get(ctx: &Ctx, args: GetOrders) -> Result<(), CliError> {
    if !args.by_tracking_number {
        let ids = records::parse_ids::<OrderId>(&args.orders)
            .map_err(|e| e.with_hint("to name orders by tracking number, add -t"))?;
        let client = ctx.client()?;
        return records::get_and_print(ctx, client.orders(), ids, args.keep_going).await;
    }
    let client = ctx.client()?;
    let orders = client.orders();
    // One order by tracking number: the error names it.
    let fetch = |tn: String| {
        let orders = orders.clone();
        async move {
            let found = orders.by_tracking_number(tn.clone()).await.map_err(|e| {
                let e = CliError::from(e);
                let message = format!("order with tracking number {tn}: {}", e.message);
                CliError { message, ..e }
            })?;
            found.ok_or_else(|| {
                CliError::not_found(format!("no order has the tracking number {tn}"))
            })
        }
    };
    if let [tn] = &args.orders[..] {
        let order = fetch(tn.trim().to_string()).await?;
        return ctx.output().one(&order);
    }
    let mut output = ctx.output();
    let mut list = output.list::<Order>();
    let mut failures = records::Failures::new(args.keep_going, "orders");
    for tn in &args.orders {
        match fetch(tn.trim().to_string()).await {
            Ok(order) => list.push_serialize(&order)?,
            Err(e) => failures.add(e)?,
        }
    }
    list.finish()?;
    failures.finish(args.orders.len())
}

async fn timeline(ctx: &Ctx, arg: &OrderArg) -> Result<(), CliError> {
    let client = ctx.client()?;
    let id = resolve(&client, arg).await?;
    let statuses = client
        .orders()
        .timeline(id)
        .await
        .map_err(|e| CliError::from(e).if_not_found(not_found(arg)))?;
    let mut output = ctx.output();
    let mut list = output.list::<TimelineEntry>();
    for status in statuses {
        list.push_serialize(&TimelineEntry(status))?;
    }
    let count = list.finish()?;
    if count == 0 {
        ctx.note(format!("The {} has no status changes.", arg.describe()));
    }
    Ok(())
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

async fn set_status(ctx: &Ctx, args: SetStatus) -> Result<(), CliError> {
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

fn levels(ctx: &Ctx) -> Result<(), CliError> {
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

/// The canonical top-level field name for `name` (any case), or a usage error.
fn field_name(name: &str) -> Result<&'static str, CliError> {
    if let Some((field, _)) = views::ORDER_FIELDS
        .iter()
        .find(|(f, _)| f.eq_ignore_ascii_case(name))
    {
        return Ok(field);
    }
    let suggestion = did_you_mean(name, views::ORDER_FIELDS);
    Err(
        CliError::usage(format!("orders have no field {name:?}{suggestion}"))
            .with_hint("see the fields with `ontime orders get ORDER -o json`"),
    )
}

/// ` (did you mean X?)` for the field of `fields` closest to `name`, if one is close.
fn did_you_mean(name: &str, fields: &[views::Field]) -> String {
    fields
        .iter()
        .map(|(f, _)| {
            (
                args::levenshtein(&f.to_lowercase(), &name.to_lowercase()),
                f,
            )
        })
        .filter(|(d, _)| *d <= 3)
        .min_by_key(|(d, _)| *d)
        .map(|(_, f)| format!(" (did you mean {f}?)"))
        .unwrap_or_default()
}

/// How a field of an order is shown and checked, following an embedded record's fields one
/// level (`CollectionLocation.City`); `None` for fields not described.
fn field_fmt(path: &[String]) -> Option<Fmt> {
    let mut fields: &[views::Field] = views::ORDER_FIELDS;
    let mut fmt = None;
    for key in path {
        fmt = fields
            .iter()
            .find(|(f, _)| f.eq_ignore_ascii_case(key))
            .map(|(_, fmt)| *fmt);
        fields = match fmt {
            Some(Fmt::Object(sub)) => sub,
            _ => &[],
        };
    }
    fmt
}

/// One change of `orders update`: a path into the order's JSON and the new value (`None` clears).
#[derive(Clone, Debug)]
struct Change {
    path: Vec<String>,
    raw: Option<String>,
}

fn changes(args: &UpdateOrder) -> Result<Vec<Change>, CliError> {
    let mut out = Vec::new();
    let named = args
        .set
        .iter()
        .map(|(f, v)| (f.as_str(), Some(v.clone())))
        .chain(args.unset.iter().map(|f| (f.as_str(), None)));
    for (field, raw) in named {
        let mut path: Vec<String> = field.split('.').map(|s| s.trim().to_string()).collect();
        if path.iter().any(String::is_empty) {
            return Err(CliError::usage(format!("{field:?} is not a field name")));
        }
        let top = field_name(&path[0])?;
        match top {
            "ID" => return Err(CliError::usage("an order's ID cannot be changed")),
            "StatusLevel" | "Status" => {
                return Err(CliError::usage(format!(
                    "{top} is changed with `ontime orders status set`, which records the change in the order's timeline"
                )));
            }
            _ => {}
        }
        path[0] = top.to_string();
        // An enum takes only the names and codes the spec lists (as its code).
        let raw = match (field_fmt(&path), raw) {
            (Some(Fmt::Enum(kind)), Some(raw)) => Some(
                views::known_enum(kind, &raw)
                    .map_err(|e| CliError::usage(format!("{field}={raw}: {e}")))?
                    .to_string(),
            ),
            (_, raw) => raw,
        };
        out.push(Change { path, raw });
    }
    if out.is_empty() {
        return Err(CliError::usage(
            "nothing to change: give --set FIELD=VALUE or --unset FIELD",
        ));
    }
    Ok(out)
}

fn set_path(target: &mut Value, path: &[String], value: Value) {
    let mut node = target;
    for key in &path[..path.len() - 1] {
        if !node.get(key).is_some_and(Value::is_object) {
            node[key.as_str()] = Value::Object(Default::default());
        }
        node = &mut node[key.as_str()];
    }
    node[path[path.len() - 1].as_str()] = value;
}

/// Applies the changes to an order: each value as JSON if that fits the field, else as text.
fn apply(order: &Order, changes: &[Change]) -> Result<Order, String> {
    let mut value = serde_json::to_value(order).map_err(|e| e.to_string())?;
    for change in changes {
        let Some(raw) = &change.raw else {
            set_path(&mut value, &change.path, Value::Null);
            continue;
        };
        let as_json = serde_json::from_str::<Value>(raw).ok();
        let mut last_error = None;
        for candidate in as_json.into_iter().chain([Value::String(raw.clone())]) {
            let mut trial = value.clone();
            set_path(&mut trial, &change.path, candidate);
            match serde_json::from_value::<Order>(trial.clone()) {
                Ok(_) => {
                    value = trial;
                    last_error = None;
                    break;
                }
                Err(e) => last_error = Some(e.to_string()),
            }
        }
        if let Some(error) = last_error {
            return Err(format!("{}={raw}: {error}", change.path.join(".")));
        }
    }
    serde_json::from_value(value).map_err(|e| e.to_string())
}

async fn update(ctx: &Ctx, args: UpdateOrder) -> Result<(), CliError> {
    let changes = changes(&args)?;
    // Check the values against an empty order first, so a bad value fails before any request.
    let empty: Order = serde_json::from_str("{}").map_err(CliError::internal)?;
    let draft = apply(&empty, &changes).map_err(CliError::usage)?;
    check_order(&draft).map_err(CliError::usage)?;
    let client = ctx.client()?;
    let id = resolve(&client, &args.order).await?;
    // A change that does not fit the stored order is refused before anything is posted.
    let saved = client
        .orders()
        .try_modify(id, |order| {
            *order = apply(order, &changes)?;
            Ok::<(), String>(())
        })
        .await
        .map_err(|e| match e {
            ontime::Error::ChangeRejected { source, .. } => {
                CliError::usage(format!("{source} (nothing was changed)"))
            }
            other => CliError::from(other).if_not_found(not_found(&args.order)),
        })?;
    ctx.output().one(&saved)
}

fn read_json(ctx: &Ctx, path: &Path) -> Result<String, CliError> {
    if path == Path::new("-") {
        if ctx.global.api_key_stdin {
            return Err(CliError::usage(
                "stdin cannot carry both the API key (--api-key-stdin) and the order (--file -)",
            )
            .with_hint("pass the key with --api-key-file or ONTIME_API_KEY"));
        }
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CliError::usage(format!("could not read stdin: {e}")))?;
        return Ok(text);
    }
    std::fs::read_to_string(path)
        .map_err(|e| CliError::usage(format!("could not read {}: {e}", path.display())))
}

fn parse_order(ctx: &Ctx, path: &Path) -> Result<Order, CliError> {
    let text = read_json(ctx, path)?;
    let order = serde_json::from_str::<Order>(&text)
        .map_err(|e| CliError::usage(format!("{} is not an order in JSON: {e}", path.display())))?;
    check_order(&order).map_err(|e| {
        CliError::usage(format!("{}: {e}", path.display()))
            .with_hint("see an order's fields with `ontime orders get ORDER -o json`")
    })?;
    Ok(order)
}

/// Refuses what the spec says an order cannot hold, before it is posted: fields orders (and
/// their embedded records) do not have, and enum values outside the spec's lists. The library
/// keeps such values (a newer server may know them); a file from a user is checked.
fn check_order(order: &Order) -> Result<(), String> {
    let unknown = |prefix: &str,
                   extra: &serde_json::Map<String, Value>,
                   fields: &[views::Field]| {
        match extra.keys().next() {
            Some(key) => Err(format!(
                "orders have no field {prefix}{key}{}",
                did_you_mean(key, fields)
            )),
            None => Ok(()),
        }
    };
    unknown("", &order.extra, views::ORDER_FIELDS)?;
    let embedded: [(&str, Option<&serde_json::Map<String, Value>>); 8] = [
        (
            "CollectionLocation.",
            order.collection_location.as_ref().map(|l| &l.extra),
        ),
        (
            "DeliveryLocation.",
            order.delivery_location.as_ref().map(|l| &l.extra),
        ),
        (
            "CustomerContact.",
            order.customer_contact.as_ref().map(|c| &c.extra),
        ),
        ("Department.", order.department.as_ref().map(|d| &d.extra)),
        (
            "CollectionArrivalWindow.",
            order.collection_arrival_window.as_ref().map(|w| &w.extra),
        ),
        (
            "DeliveryArrivalWindow.",
            order.delivery_arrival_window.as_ref().map(|w| &w.extra),
        ),
        ("Status.", order.status.as_ref().map(|s| &s.extra)),
        (
            "VehicleRequired.",
            order.vehicle_required.as_ref().map(|v| &v.extra),
        ),
    ];
    for (prefix, extra) in embedded {
        if let Some(extra) = extra {
            let top = prefix.trim_end_matches('.');
            let fields = match field_fmt(&[top.to_string()]) {
                Some(Fmt::Object(sub)) => sub,
                _ => &[],
            };
            unknown(prefix, extra, fields)?;
        }
    }
    let enums = [
        (
            "StatusLevel",
            order
                .status_level
                .as_ref()
                .filter(|v| v.is_unknown())
                .map(|v| v.to_string()),
        ),
        (
            "BasePriceType",
            order
                .base_price_type
                .as_ref()
                .filter(|v| v.is_unknown())
                .map(|v| v.to_string()),
        ),
        (
            "Status.Level",
            order
                .status
                .as_ref()
                .and_then(|s| s.level.as_ref())
                .filter(|v| v.is_unknown())
                .map(|v| v.to_string()),
        ),
    ];
    for (field, value) in enums {
        if let Some(value) = value {
            let path: Vec<String> = field.split('.').map(str::to_string).collect();
            if let Some(Fmt::Enum(kind)) = field_fmt(&path) {
                views::known_enum(kind, &value).map_err(|e| format!("{field}: {e}"))?;
            }
        }
    }
    Ok(())
}

async fn create(ctx: &Ctx, args: CreateOrder) -> Result<(), CliError> {
    let mut order = parse_order(ctx, &args.file)?;
    if let Some(id) = args.id {
        if order.id.is_some_and(|own| own != id.as_uuid()) {
            return Err(CliError::usage(format!(
                "--id {id} differs from the ID in {}",
                args.file.display()
            )));
        }
        order.id = Some(id);
    }
    let client = ctx.client()?;
    // A rerun with --id after a failed create may find the order it stored: updating it is
    // what the rerun is for.
    let rerun = args.id.is_some();
    if let (Some(id), false, false) = (order.id, args.replace, rerun)
        && client.orders().try_get(id).await?.is_some()
    {
        return Err(CliError::usage(format!(
            "order {id} already exists: creating it again would replace it and clear every field the JSON leaves out"
        ))
        .with_hint("change fields with `ontime orders update`, or pass --replace to replace it"));
    }
    let saved = client.orders().save(order).await.map_err(|e| {
        let posted = e.posted_id().filter(|_| e.may_have_been_applied());
        let error = CliError::from(e);
        match posted {
            // The message says the order may have been stored as this ID.
            Some(id) => error.with_hint(format!(
                "the order may have been stored as {id}; rerun with --id {id}: it updates that order instead of creating another"
            )),
            None => error,
        }
    })?;
    ctx.output().one(&saved)
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Cost {
    order: Option<String>,
    tracking_number: Option<String>,
    total_cost: f64,
    stored: bool,
}

static COST_VIEW: View = View {
    singular: "price",
    plural: "prices",
    fields: &[
        ("Order", Fmt::Id),
        ("TrackingNumber", Fmt::Text),
        ("TotalCost", Fmt::Money),
        ("Stored", Fmt::Bool),
    ],
    columns: &[],
};

async fn cost(ctx: &Ctx, args: CostOrder) -> Result<(), CliError> {
    if let Some(path) = &args.file {
        let draft = parse_order(ctx, path)?;
        let client = ctx.client()?;
        let total = client.orders().total_cost(&draft).await?;
        let result = Cost {
            order: draft.id.map(|id| id.to_string()),
            tracking_number: draft.tracking_number.clone(),
            total_cost: total,
            stored: false,
        };
        return ctx.output().one_with(&COST_VIEW, &result);
    }
    let arg = OrderArg {
        order: args.order.clone().unwrap_or_default(),
        by_tracking_number: args.by_tracking_number,
    };
    let client = ctx.client()?;
    let id = resolve(&client, &arg).await?;
    let orders = client.orders();
    let (order, total) = if args.store {
        orders
            .update_prices(id)
            .await
            .map_err(|e| CliError::from(e).if_not_found(not_found(&arg)))?;
        let order = orders
            .get(id)
            .await
            .map_err(|e| CliError::from(e).if_not_found(not_found(&arg)))?;
        let total = order.total_cost.unwrap_or_default();
        (order, total)
    } else {
        let order = orders
            .get(id)
            .await
            .map_err(|e| CliError::from(e).if_not_found(not_found(&arg)))?;
        let total = orders.total_cost(&order).await?;
        (order, total)
    };
    let result = Cost {
        order: Some(id.to_string()),
        tracking_number: order.tracking_number,
        total_cost: total,
        stored: args.store,
    };
    ctx.output().one_with(&COST_VIEW, &result)
}

/// What a download reports.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Written {
    pub file: String,
    pub bytes: usize,
    pub content_type: Option<String>,
}

pub static WRITTEN_VIEW: View = View {
    singular: "file",
    plural: "files",
    fields: &[
        ("File", Fmt::Text),
        ("Bytes", Fmt::Num),
        ("ContentType", Fmt::Text),
    ],
    columns: &[],
};

/// Writes downloaded bytes to `out` (`-` is stdout) and reports it (on stderr for tables).
pub fn write_download(
    ctx: &Ctx,
    out: &Path,
    bytes: &[u8],
    content_type: Option<String>,
) -> Result<(), CliError> {
    if out == Path::new("-") {
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(bytes)?;
        stdout.flush()?;
        return Ok(());
    }
    std::fs::write(out, bytes)
        .map_err(|e| CliError::other(format!("could not write {}: {e}", out.display())))?;
    let written = Written {
        file: out.display().to_string(),
        bytes: bytes.len(),
        content_type,
    };
    if ctx.format == Format::Table {
        let kind = written
            .content_type
            .as_deref()
            .map(|t| format!(" ({t})"))
            .unwrap_or_default();
        return ctx.output().text(&format!(
            "Wrote {}{kind} to {}\n",
            views::human_size(written.bytes),
            written.file
        ));
    }
    ctx.output().one_with(&WRITTEN_VIEW, &written)
}

/// A file name made of the safe characters of `text`.
pub fn safe_name(text: &str) -> String {
    let name: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let name = name.trim_start_matches('.').to_string();
    if name.is_empty() {
        "download".into()
    } else {
        name
    }
}

async fn report(ctx: &Ctx, args: ReportOrder) -> Result<(), CliError> {
    let client = ctx.client()?;
    let id = resolve(&client, &args.order).await?;
    let kind = match &args.code {
        Some(code) => ReportKind::Other(code.trim().to_string()),
        None => args.kind.kind(),
    };
    let document = client
        .orders()
        .report(id, kind.clone())
        .await
        .map_err(|e| CliError::from(e).if_not_found(not_found(&args.order)))?;
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from(safe_name(&format!(
            "{}-{}.pdf",
            args.order.order.trim(),
            kind.code()
        )))
    });
    write_download(ctx, &out, &document.bytes, document.content_type)
}

async fn signature(ctx: &Ctx, args: SignatureOrder) -> Result<(), CliError> {
    let order = args.order.to_ref()?;
    let client = ctx.client()?;
    let (which, word) = match args.which {
        SignatureArg::Collection => (SignatureType::Collection, "collection"),
        SignatureArg::Delivery => (SignatureType::Delivery, "delivery"),
    };
    // OnTime answers JSON null for an order without the signature; a 404 (a missing order, or
    // a server that reports a missing signature that way) keeps the server's message.
    let image = client
        .orders()
        .signature(order, which)
        .await
        .map_err(|e| {
            let server = e.server_message().map(str::to_string);
            CliError::from(e).if_not_found(|| {
                server.unwrap_or_else(|| {
                    format!(
                        "the {} has no {word} signature, or does not exist",
                        args.order.describe()
                    )
                })
            })
        })?
        .ok_or_else(|| {
            CliError::not_found(format!(
                "the {} has no {word} signature",
                args.order.describe()
            ))
        })?;
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from(safe_name(&format!(
            "{}-{word}-signature.png",
            args.order.order.trim()
        )))
    });
    write_download(ctx, &out, &image, Some("image/png".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(set: &[(&str, &str)], unset: &[&str]) -> UpdateOrder {
        UpdateOrder {
            order: OrderArg {
                order: "1".into(),
                by_tracking_number: true,
            },
            set: set
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            unset: unset.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn updates_take_json_or_text_and_keep_other_fields() {
        let order: Order = serde_json::from_value(serde_json::json!({
            "TrackingNumber": "1001", "Comments": "old", "Weight": 1.0,
            "PurchaseOrderNumber": "PO-1", "Unknown": {"kept": true}
        }))
        .unwrap();
        let changes = changes(&update(
            &[
                ("comments", "123"),
                ("Weight", "12.5"),
                ("CollectionLocation.City", "Boston"),
            ],
            &["PurchaseOrderNumber"],
        ))
        .unwrap();
        let changed = apply(&order, &changes).unwrap();
        assert_eq!(changed.comments.as_deref(), Some("123"));
        assert_eq!(changed.weight, Some(12.5));
        assert_eq!(changed.purchase_order_number, None);
        assert_eq!(
            changed.collection_location.and_then(|l| l.city).as_deref(),
            Some("Boston")
        );
        assert_eq!(changed.tracking_number.as_deref(), Some("1001"));
        assert_eq!(changed.extra.get("Unknown"), order.extra.get("Unknown"));
        let err = apply(&order, &changes_of(&[("Weight", "heavy")])).unwrap_err();
        assert!(err.starts_with("Weight=heavy: "), "{err}");
    }

    fn changes_of(set: &[(&str, &str)]) -> Vec<Change> {
        changes(&update(set, &[])).unwrap()
    }

    #[test]
    fn updates_refuse_unknown_fields_ids_and_statuses() {
        let err = changes(&update(&[("Coments", "x")], &[])).unwrap_err();
        assert!(
            err.message.contains("did you mean Comments?"),
            "{}",
            err.message
        );
        assert!(changes(&update(&[("ID", "x")], &[])).is_err());
        let err = changes(&update(&[("StatusLevel", "3")], &[])).unwrap_err();
        assert!(err.message.contains("orders status set"));
        assert!(changes(&update(&[], &[])).is_err());
    }

    #[test]
    fn download_names_are_safe() {
        assert_eq!(safe_name("../etc/passwd"), "_etc_passwd");
        assert_eq!(safe_name("1009214-SL.pdf"), "1009214-SL.pdf");
        assert_eq!(safe_name("..."), "download");
    }
}
