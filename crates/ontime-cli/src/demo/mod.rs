//! `ontime demo`: starts a seeded simulator in-process and tours the SDK against it. Every step
//! goes through the `ontime` facade, as an integration would; the simulator only provides the
//! account. The account's clock is frozen and its data seeded, so the tour prints the same thing
//! every time (except the simulator's port and the timings). The steps are in `steps.rs`, how
//! they print in `tour.rs`; the event feed (a second, living simulated account collected by
//! `ontime-sync` into a SQLite store) in `feed.rs`; one of its events delivered as a signed
//! webhook to a local verifying receiver in `webhook.rs`.

mod feed;
mod steps;
mod tour;
mod webhook;

use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveDateTime};
use clap::Args;
use ontime::{Client, OrderId};
use ontime_mock::OnTimeMock;

use crate::context::Ctx;
use crate::error::CliError;
use tour::Demo;

#[derive(Args, Debug)]
#[command(
    after_help = "The tour takes a few seconds. With --keep the simulator stays up afterwards, so you can
try the other commands against it (it prints how)."
)]
pub struct DemoArgs {
    /// Seed of the simulated account's data
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// How many orders the simulated account has
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(20..=1_000_000))]
    pub orders: u32,
    /// Keep the simulator running after the tour (until Ctrl-C)
    #[arg(long)]
    pub keep: bool,
}

/// The account's (frozen) clock during the tour.
fn clock_start() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 24)
        .and_then(|d| d.and_hms_opt(14, 30, 0))
        .unwrap_or_default()
}

pub async fn run(_ctx: &Ctx, args: DemoArgs) -> Result<(), CliError> {
    let started = Instant::now();
    let now = clock_start();
    let mock = OnTimeMock::builder()
        .seed(args.seed)
        .orders(args.orders as usize)
        .company("demo")
        .clock_start(now)
        .frozen_clock()
        .start()
        .await
        .map_err(|e| CliError::other(format!("could not start the simulator: {e}")))?;
    let mut tour = tour::Tour::new();
    tour.line("ontime demo: the OnTime 360 SDK at work against a simulated account");
    tour.line("");
    tour.say(format!(
        "Simulator  {}\n           seed {}, {} orders, account clock frozen at {} (UTC{})",
        mock.base_url(),
        args.seed,
        args.orders,
        now.format("%Y-%m-%d %H:%M"),
        mock.clock().utc_offset()
    ));

    let client = Client::builder()
        .base_url(mock.base_url())
        .api_key(mock.api_key())
        .build()?;
    let mut d = Demo {
        tour,
        client,
        mock,
        now,
    };
    steps::authenticate(&mut d).await?;
    let sample = steps::find_orders(&mut d).await?;
    let sample_id = sample.id.unwrap_or(OrderId::from_uuid(Default::default()));
    let sample_tn = sample.tracking_number.clone().unwrap_or_default();
    steps::timeline(&mut d, sample_id, &sample_tn).await?;
    steps::modify(&mut d, &sample, sample_id, &sample_tn).await?;
    let (created_id, created_tn) = steps::create(&mut d, &sample).await?;
    steps::attachments(&mut d, created_id, &created_tn).await?;
    steps::driver(&mut d).await?;
    let dir = feed::store_dir()?;
    let fed = feed::feed(&mut d.tour, args.seed, now, &dir, args.keep).await;
    if !args.keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
    fed?;
    steps::summary(&mut d, started);

    let Demo { mut tour, mock, .. } = d;
    if args.keep {
        let stop = crate::mock::stop_signals()?;
        tour.line("");
        tour.say(format!(
            "The simulator keeps running. From another shell:\n  export ONTIME_BASE_URL={} ONTIME_API_KEY={}\n  ontime orders find --status delivered --limit 10\nCtrl-C stops it.",
            mock.base_url(),
            mock.api_key()
        ));
        stop.wait().await;
    }
    tokio::time::timeout(Duration::from_secs(2), mock.shutdown())
        .await
        .ok();
    Ok(())
}
