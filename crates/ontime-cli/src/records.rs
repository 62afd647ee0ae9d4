//! `ontime get` and `ontime find` for every record type, and `ontime check`.

use std::str::FromStr;

use clap::builder::TypedValueParser;
use clap::{Args, ValueEnum};
use ontime::{
    Client, Fetch, LocationFilter, NoFilter, OnTimeDateTime, Resource, UserId, UserSessionFilter,
};
use serde::Serialize;

use crate::args;
use crate::context::Ctx;
use crate::error::CliError;
use crate::listing::{KeepGoing, ListArgs, find_and_print, get_and_print, parse_ids};
use crate::views::{Fmt, View, Viewable};

/// Every record type, for `ontime get`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RecordType {
    #[value(alias = "order")]
    Orders,
    #[value(alias = "customer")]
    Customers,
    #[value(alias = "contact")]
    Contacts,
    #[value(alias = "department")]
    Departments,
    #[value(alias = "invoice")]
    Invoices,
    #[value(alias = "item")]
    Items,
    #[value(alias = "location")]
    Locations,
    #[value(alias = "payment")]
    Payments,
    #[value(alias = "user")]
    Users,
    #[value(alias = "user-session")]
    UserSessions,
    #[value(alias = "vehicle")]
    Vehicles,
    #[value(alias = "zone")]
    Zones,
    #[value(alias = "status")]
    Statuses,
    #[value(alias = "price-set")]
    PriceSets,
    #[value(alias = "price-modifier")]
    PriceModifiers,
    #[value(alias = "file-attachment")]
    FileAttachments,
    #[value(alias = "user-misc-compensation")]
    UserMiscCompensations,
}

impl RecordType {
    /// Whether the spec has an account-wide finder for this type (`ontime find` takes these;
    /// the tests hold the list to the spec's operations).
    pub fn has_finder(self) -> bool {
        use RecordType as T;
        match self {
            T::Orders | T::Customers | T::Contacts | T::Departments | T::Invoices => true,
            T::Locations | T::Payments | T::Users | T::UserSessions | T::Vehicles => true,
            T::Zones | T::Statuses => true,
            T::Items | T::PriceSets | T::PriceModifiers | T::FileAttachments => false,
            T::UserMiscCompensations => false,
        }
    }
}

/// The `TYPE` of `ontime find`: the record types that have a finder.
fn finder_type() -> impl TypedValueParser<Value = RecordType> {
    let names = RecordType::value_variants()
        .iter()
        .filter(|t| t.has_finder())
        .filter_map(|t| t.to_possible_value());
    clap::builder::PossibleValuesParser::new(names)
        .try_map(|name: String| <RecordType as ValueEnum>::from_str(&name, true))
}

#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  ontime get zones 5f0c…  (one record: all its fields)\n  ontime get vehicles ID1 ID2 -o json\n  ontime get price-sets --name \"Same Day\""
)]
pub struct GetArgs {
    /// The record type
    #[arg(value_name = "TYPE")]
    pub kind: RecordType,
    /// The records' IDs (GUIDs), fetched concurrently and printed in this order
    #[arg(value_name = "ID", required_unless_present = "name")]
    pub ids: Vec<String>,
    /// Look the record up by name instead (customers, price-sets, price-modifiers)
    #[arg(long, conflicts_with = "ids", value_parser = args::non_blank)]
    pub name: Option<String>,
    #[command(flatten)]
    pub keep_going: KeepGoing,
}

#[derive(Args, Debug)]
#[command(
    after_help = "Orders, customers and users have more filters: see `ontime orders find --help`,\n`ontime customers find --help` and `ontime users find --help`."
)]
pub struct FindArgs {
    /// The record type
    #[arg(value_name = "TYPE", value_parser = finder_type())]
    pub kind: RecordType,
    /// Locations in this city (locations)
    #[arg(long, help_heading = "Filters", value_parser = args::non_blank)]
    pub city: Option<String>,
    /// Locations in this state or province (locations)
    #[arg(long, help_heading = "Filters", value_parser = args::non_blank)]
    pub state: Option<String>,
    /// Sessions of this user (user-sessions)
    #[arg(long, value_name = "USER_ID", value_parser = args::id::<UserId>, help_heading = "Filters")]
    pub user: Option<UserId>,
    /// Sessions that started at or after this time (user-sessions)
    #[arg(long, value_name = "DATE", value_parser = args::date, help_heading = "Filters")]
    pub logged_in_from: Option<OnTimeDateTime>,
    /// Sessions that ended at or before this time (user-sessions; a bare date: through the end of
    /// that day)
    #[arg(long, value_name = "DATE", value_parser = args::date_to, help_heading = "Filters")]
    pub logged_out_by: Option<OnTimeDateTime>,
    #[command(flatten)]
    pub list: ListArgs,
}

async fn get_typed<R>(
    ctx: &Ctx,
    resource: Resource<R>,
    ids: &[String],
    keep_going: KeepGoing,
) -> Result<(), CliError>
where
    R: Fetch + Viewable,
    R::Id: FromStr<Err = ontime::IdParseError>,
{
    let ids = parse_ids::<R::Id>(ids)?;
    get_and_print(ctx, resource, ids, keep_going).await
}

/// `ontime get TYPE ID...`
pub async fn get(ctx: &Ctx, args: GetArgs) -> Result<(), CliError> {
    if let Some(name) = &args.name {
        return get_by_name(ctx, args.kind, name).await;
    }
    let client = ctx.client()?;
    let ids = &args.ids;
    let kg = args.keep_going;
    match args.kind {
        RecordType::Orders => get_typed(ctx, client.orders(), ids, kg).await,
        RecordType::Customers => get_typed(ctx, client.customers(), ids, kg).await,
        RecordType::Contacts => get_typed(ctx, client.contacts(), ids, kg).await,
        RecordType::Departments => get_typed(ctx, client.departments(), ids, kg).await,
        RecordType::Invoices => get_typed(ctx, client.invoices(), ids, kg).await,
        RecordType::Items => get_typed(ctx, client.items(), ids, kg).await,
        RecordType::Locations => get_typed(ctx, client.locations(), ids, kg).await,
        RecordType::Payments => get_typed(ctx, client.payments(), ids, kg).await,
        RecordType::Users => get_typed(ctx, client.users(), ids, kg).await,
        RecordType::UserSessions => get_typed(ctx, client.user_sessions(), ids, kg).await,
        RecordType::Vehicles => get_typed(ctx, client.vehicles(), ids, kg).await,
        RecordType::Zones => get_typed(ctx, client.zones(), ids, kg).await,
        RecordType::Statuses => get_typed(ctx, client.statuses(), ids, kg).await,
        RecordType::PriceSets => get_typed(ctx, client.price_sets(), ids, kg).await,
        RecordType::PriceModifiers => get_typed(ctx, client.price_modifiers(), ids, kg).await,
        RecordType::FileAttachments => get_typed(ctx, client.file_attachments(), ids, kg).await,
        RecordType::UserMiscCompensations => {
            get_typed(ctx, client.user_misc_compensations(), ids, kg).await
        }
    }
}

async fn get_by_name(ctx: &Ctx, kind: RecordType, name: &str) -> Result<(), CliError> {
    let client = ctx.client()?;
    let missing = |what: &str| CliError::not_found(format!("no {what} is named {name:?}"));
    match kind {
        RecordType::Customers => {
            let found = client.customers().by_name(name).await?;
            ctx.output().one(&found.ok_or_else(|| missing("customer"))?)
        }
        RecordType::PriceSets => {
            let found = client.price_sets().by_name(name).await?;
            ctx.output()
                .one(&found.ok_or_else(|| missing("price set"))?)
        }
        RecordType::PriceModifiers => {
            let found = client.price_modifiers().by_name(name).await?;
            ctx.output()
                .one(&found.ok_or_else(|| missing("price modifier"))?)
        }
        other => Err(CliError::usage(format!(
            "--name works for customers, price-sets and price-modifiers, not {}",
            other
                .to_possible_value()
                .map(|v| v.get_name().to_string())
                .unwrap_or_default()
        ))),
    }
}

/// `ontime find TYPE [filters]`
pub async fn find(ctx: &Ctx, args: FindArgs) -> Result<(), CliError> {
    let location_filters = args.city.is_some() || args.state.is_some();
    let session_filters =
        args.user.is_some() || args.logged_in_from.is_some() || args.logged_out_by.is_some();
    if location_filters && args.kind != RecordType::Locations {
        return Err(CliError::usage("--city and --state filter locations only"));
    }
    if session_filters && args.kind != RecordType::UserSessions {
        return Err(CliError::usage(
            "--user, --logged-in-from and --logged-out-by filter user-sessions only",
        ));
    }
    args::check_range(
        "--logged-in-from",
        args.logged_in_from,
        "--logged-out-by",
        args.logged_out_by,
    )?;
    let client = ctx.client()?;
    let list = &args.list;
    match args.kind {
        RecordType::Orders => find_and_print(ctx, client.orders(), Default::default(), list).await,
        RecordType::Customers => {
            find_and_print(ctx, client.customers(), Default::default(), list).await
        }
        RecordType::Contacts => find_and_print(ctx, client.contacts(), NoFilter, list).await,
        RecordType::Departments => find_and_print(ctx, client.departments(), NoFilter, list).await,
        RecordType::Invoices => find_and_print(ctx, client.invoices(), NoFilter, list).await,
        RecordType::Locations => {
            let mut filter = LocationFilter::new();
            filter.city = args.city.clone();
            filter.state = args.state.clone();
            find_and_print(ctx, client.locations(), filter, list).await
        }
        RecordType::Payments => find_and_print(ctx, client.payments(), NoFilter, list).await,
        RecordType::Users => find_and_print(ctx, client.users(), Default::default(), list).await,
        RecordType::UserSessions => {
            let mut filter = UserSessionFilter::new();
            filter.user = args.user;
            filter.logged_in_from = args.logged_in_from;
            filter.logged_out_by = args.logged_out_by;
            find_and_print(ctx, client.user_sessions(), filter, list).await
        }
        RecordType::Vehicles => find_and_print(ctx, client.vehicles(), NoFilter, list).await,
        RecordType::Zones => find_and_print(ctx, client.zones(), NoFilter, list).await,
        RecordType::Statuses => find_and_print(ctx, client.statuses(), NoFilter, list).await,
        other => Err(CliError::usage(format!(
            "{} cannot be found by filters: the API has no finder for them",
            other
                .to_possible_value()
                .map(|v| v.get_name().to_string())
                .unwrap_or_default()
        ))),
    }
}

/// What `ontime check` reports.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CheckResult {
    base_url: String,
    key_accepted: bool,
    requests: u64,
    daily_limit: Option<u64>,
    daily_remaining: Option<u64>,
    daily_reset: Option<String>,
    monthly_limit: Option<u64>,
    monthly_remaining: Option<u64>,
    monthly_reset: Option<String>,
}

static CHECK_VIEW: View = View {
    singular: "check",
    plural: "checks",
    fields: &[
        ("BaseUrl", Fmt::Text),
        ("KeyAccepted", Fmt::Bool),
        ("Requests", Fmt::Num),
        ("DailyLimit", Fmt::Num),
        ("DailyRemaining", Fmt::Num),
        ("DailyReset", Fmt::Text),
        ("MonthlyLimit", Fmt::Num),
        ("MonthlyRemaining", Fmt::Num),
        ("MonthlyReset", Fmt::Text),
    ],
    columns: &[],
};

/// `ontime check`: one cheap request (a tracking-number lookup that matches nothing).
pub async fn check(ctx: &Ctx) -> Result<(), CliError> {
    let client = ctx.client()?;
    client
        .orders()
        .ids(ontime::OrderFilter::new().tracking_number("ontime-cli-check"))
        .await?;
    let result = check_result(&client);
    ctx.output().one_with(&CHECK_VIEW, &result)
}

fn check_result(client: &Client) -> CheckResult {
    let quota = client.quota();
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
    };
    CheckResult {
        base_url: client.base_url().to_string(),
        key_accepted: true,
        requests: quota.calls,
        daily_limit: quota.daily_limit,
        daily_remaining: quota.daily_remaining,
        daily_reset: time(quota.daily_reset),
        monthly_limit: quota.monthly_limit,
        monthly_remaining: quota.monthly_remaining,
        monthly_reset: time(quota.monthly_reset),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ontime::index::{self, Operation};

    /// `user-misc-compensations` is `userMiscCompensations`.
    fn camel(kebab: &str) -> String {
        let mut out = String::new();
        let mut upper = false;
        for c in kebab.chars() {
            match c {
                '-' => upper = true,
                c if upper => {
                    out.push(c.to_ascii_uppercase());
                    upper = false;
                }
                c => out.push(c),
            }
        }
        out
    }

    /// The record types `keep` accepts, camel-cased (`priceSets`), sorted.
    fn types(keep: impl Fn(RecordType) -> bool) -> Vec<String> {
        let mut names: Vec<String> = RecordType::value_variants()
            .iter()
            .filter(|t| keep(**t))
            .filter_map(|v| v.to_possible_value())
            .map(|v| camel(v.get_name()))
            .collect();
        names.sort();
        names
    }

    /// The record types of the spec's operations named `{type}{suffix}`, sorted.
    fn spec_types(suffix: &str, keep: impl Fn(&index::OperationInfo) -> bool) -> Vec<String> {
        let mut names: Vec<String> = Operation::all()
            .map(Operation::info)
            .filter(|info| keep(info))
            .filter_map(|info| info.id.strip_suffix(suffix).map(str::to_string))
            .collect();
        names.sort();
        names
    }

    /// `ontime get` takes exactly the record types the spec can fetch by ID.
    #[test]
    fn get_types_are_the_specs_getters() {
        assert_eq!(types(|_| true), spec_types("Get", |_| true));
    }

    /// `ontime find` takes exactly the record types the spec has an account-wide finder for
    /// (file attachments are found per order, by `ontime attachments list`).
    #[test]
    fn find_types_are_the_specs_finders() {
        let account_wide = |info: &index::OperationInfo| !info.query.contains(&"orderID");
        assert_eq!(
            types(RecordType::has_finder),
            spec_types("Find", account_wide)
        );
        let parsed = FindArgs::augment_args(clap::Command::new("find"))
            .try_get_matches_from(["find", "price-set"]);
        assert!(parsed.is_err(), "price sets have no finder");
        assert!(spec_types("Find", |_| true).contains(&"fileAttachments".to_string()));
    }

    /// Every type's singular alias names a record of the spec index (`price-set` is `PriceSet`).
    #[test]
    fn singular_aliases_name_spec_records() {
        for value in RecordType::value_variants() {
            let value = value.to_possible_value().expect("a visible value");
            let singular = value
                .get_name_and_aliases()
                .nth(1)
                .expect("a singular alias");
            let mut name = camel(singular);
            name[..1].make_ascii_uppercase();
            assert!(index::record(&name).is_some(), "{singular} is not {name}");
        }
    }
}
