//! `ontime events timeline ORDER`: an order's normalised timeline, from the store when it holds
//! events of the order, else derived straight from OnTime (the order record and its status
//! history: two calls, three with a tracking number). stderr says which source was used.

use clap::Args;
use ontime::{OrderId, OrderRef};
use ontime_sync::event::{
    AccountConfig, Event, ItemRef, OrderSource, StatusStep, derive_order_events,
};
use ontime_sync::store::{EventStore, OrderSubject};

use super::location::{Location, store_error};
use super::write::EventWriter;
use super::{StoreArg, TimeZoneArg};
use crate::context::Ctx;
use crate::error::CliError;

#[derive(Args, Debug)]
#[command(after_help = "Examples:
  ontime events timeline 1000042
  ontime events timeline 44bc0a1d-ef24-49b5-a0cb-54181ce5dbcf -o json
  ontime events timeline 1000042 --store postgres://sync@db/ontime --account acme

From the store when it has events of the order; otherwise straight from OnTime (pass the
account as for other commands). OnTime's history names no driver: straight from OnTime only
the latest entry gets an actor (the driver assigned now), while the store has the drivers the
collector saw at each step. Events not stored have no sequence and no position.")]
pub struct TimelineArgs {
    /// The order: its ID (a GUID), or else its tracking number
    #[arg(value_name = "ORDER", value_parser = crate::args::non_blank)]
    pub order: String,
    /// Take ORDER as a tracking number even if it looks like a GUID
    #[arg(short = 't', long = "tracking-number")]
    pub by_tracking_number: bool,
    /// The account: picks one when the store holds the order in several; names the account in
    /// events derived from OnTime [default: the company ID of the account URL]
    #[arg(long, value_name = "ACCOUNT", value_parser = crate::args::non_blank)]
    pub account: Option<String>,
    #[command(flatten)]
    pub store: StoreArg,
    #[command(flatten)]
    pub zone: TimeZoneArg,
}

pub async fn run(ctx: &Ctx, args: TimelineArgs) -> Result<(), CliError> {
    let order = if args.by_tracking_number {
        OrderRef::TrackingNumber(args.order.trim().to_owned())
    } else {
        OrderRef::parse(&args.order)
    };
    let location = args.store.location()?;
    if location.is_missing() {
        eprintln!(
            "note: no {} exists; reading the order from OnTime",
            location.describe()
        );
    } else if from_store(ctx, &args, &location, &order).await? {
        return Ok(());
    }
    from_ontime(ctx, &args, &order).await
}

/// Prints the order's timeline from the store; false when the store has no events of it.
async fn from_store(
    ctx: &Ctx,
    args: &TimelineArgs,
    location: &Location,
    order: &OrderRef,
) -> Result<bool, CliError> {
    let store = location.open().await?;
    let found = store
        .locate_order(args.account.as_deref(), order)
        .await
        .map_err(|e| store_error(&e))?;
    let OrderSubject { account, subject } = match &found[..] {
        [] => {
            eprintln!(
                "note: the {} has no events of {}; reading it from OnTime",
                location.describe(),
                describe(order)
            );
            store.close().await;
            return Ok(false);
        }
        [one] => one.clone(),
        many => {
            let listed: Vec<String> = many
                .iter()
                .map(|m| format!("{} in account {}", m.subject, m.account))
                .collect();
            return Err(CliError::usage(format!(
                "the store holds several orders for {}: {}",
                describe(order),
                listed.join(", ")
            ))
            .with_hint("pass --account ACCOUNT, or the order's ID"));
        }
    };
    let events = store
        .timeline(&account, &subject)
        .await
        .map_err(|e| store_error(&e))?;
    store.close().await;
    eprintln!(
        "note: source: the {} (account {account}, {} events)",
        location.describe(),
        events.len()
    );
    let mut out = EventWriter::new(ctx.format, Box::new(std::io::stdout()))?;
    for stored in &events {
        out.push(Some(stored.position), &stored.event)?;
    }
    out.finish()?;
    Ok(true)
}

/// Derives the timeline from OnTime's order record and status history.
async fn from_ontime(ctx: &Ctx, args: &TimelineArgs, order: &OrderRef) -> Result<(), CliError> {
    let client = ctx.client()?;
    let orders = client.orders();
    let not_found = || format!("no {} in the store nor in OnTime", describe(order));
    let id: OrderId = orders
        .resolve(order.clone())
        .await
        .map_err(|e| CliError::from(e).if_not_found(not_found))?;
    let (record, statuses) = tokio::try_join!(orders.get(id), orders.timeline(id))
        .map_err(|e| CliError::from(e).if_not_found(not_found))?;
    let zone = args.zone.or_utc("OnTime's times without offset");
    let account = args
        .account
        .clone()
        .unwrap_or_else(|| company_of(client.base_url()));
    let config = AccountConfig::new(account.clone(), zone);
    let observed_at = chrono::Utc::now();
    let last = statuses.len().saturating_sub(1);
    let source = OrderSource {
        order_id: id,
        tracking_number: record.tracking_number.clone(),
        items: record
            .items
            .iter()
            .flatten()
            .filter_map(ItemRef::from_item)
            .collect(),
        steps: statuses
            .into_iter()
            .enumerate()
            .map(|(index, status)| StatusStep {
                status,
                // Only the driver assigned now is known, and only for the latest entry.
                driver: (index == last)
                    .then_some(record.driver_currently_assigned)
                    .flatten(),
                observed_at,
            })
            .collect(),
    };
    let events: Vec<Event> = derive_order_events(&config, &source);
    eprintln!(
        "note: source: OnTime (account {account}, time zone {zone}, {} events derived, not stored)",
        events.len()
    );
    let mut out = EventWriter::new(ctx.format, Box::new(std::io::stdout()))?;
    for event in &events {
        out.push(None, event)?;
    }
    out.finish()?;
    Ok(())
}

/// The company ID in an account URL (`…/sites/{company}`), or the URL's last segment.
fn company_of(base_url: &str) -> String {
    let path = base_url.trim_end_matches('/');
    path.rsplit('/').next().unwrap_or(path).to_owned()
}

fn describe(order: &OrderRef) -> String {
    match order {
        OrderRef::Id(id) => format!("order {id}"),
        OrderRef::TrackingNumber(tn) => format!("the order with tracking number {tn}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_defaults_to_the_company_of_the_url() {
        assert_eq!(
            company_of("https://secure.ontime360.com/sites/acme/"),
            "acme"
        );
        assert_eq!(company_of("http://127.0.0.1:8080/sites/demo"), "demo");
    }
}
