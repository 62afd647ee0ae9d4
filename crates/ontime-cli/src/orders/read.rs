//! `ontime orders get` and `ontime orders timeline`.

use clap::Args;
use ontime::OrderId;
use ontime::types::Order;

use super::{not_found, resolve};
use crate::args::{self, OrderArg};
use crate::context::Ctx;
use crate::error::CliError;
use crate::listing;
use crate::views::TimelineEntry;

#[derive(Args, Debug)]
pub struct GetOrders {
    /// Order IDs (GUIDs), or tracking numbers with -t; several are fetched concurrently
    #[arg(value_name = "ORDER", required = true, value_parser = args::non_blank)]
    pub orders: Vec<String>,
    /// Take the ORDERs as tracking numbers
    #[arg(short = 't', long = "tracking-number")]
    pub by_tracking_number: bool,
    #[command(flatten)]
    pub keep_going: listing::KeepGoing,
}

pub async fn get(ctx: &Ctx, args: GetOrders) -> Result<(), CliError> {
    if !args.by_tracking_number {
        let ids = listing::parse_ids::<OrderId>(&args.orders)
            .map_err(|e| e.with_hint("to name orders by tracking number, add -t"))?;
        let client = ctx.client()?;
        return listing::get_and_print(ctx, client.orders(), ids, args.keep_going).await;
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
    let mut failures = listing::Failures::new(args.keep_going, "orders");
    for tn in &args.orders {
        match fetch(tn.trim().to_string()).await {
            Ok(order) => list.push_serialize(&order)?,
            Err(e) => failures.add(e)?,
        }
    }
    list.finish()?;
    failures.finish(args.orders.len())
}

pub async fn timeline(ctx: &Ctx, arg: &OrderArg) -> Result<(), CliError> {
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
