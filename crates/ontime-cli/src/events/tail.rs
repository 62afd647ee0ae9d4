//! `ontime events tail`: stored events as NDJSON (or CSV), then new ones as they are committed.
//!
//! Following polls the store (every `--poll-interval`, idle between polls) for events after the
//! last position printed. Positions follow commit order, so nothing is skipped or repeated, and
//! a consumer that stopped can resume with `--after` the last position it saw.

use std::time::Duration;

use clap::Args;
use ontime_sync::store::{EventQuery, EventStore, Position, Store, StoredEvent};

use super::location::store_error;
use super::write::EventWriter;
use super::{FilterArgs, StoreArg};
use crate::context::Ctx;
use crate::error::CliError;
use crate::output::Format;

/// Events read per store query.
const PAGE: u32 = 500;

#[derive(Args, Debug)]
#[command(after_help = "Examples:
  ontime events tail                         # new events only, like tail -f
  ontime events tail --from-start --no-follow > all.ndjson
  ontime events tail --after 1200            # resume after the last position seen
  ontime events tail --last 20 --type order.delivered --account acme

Each line is the event's JSON with its store position first: {\"position\":1201,\"event_id\":...}.
Stops cleanly on Ctrl-C or SIGTERM, and when the reader closes the pipe (exit 0).")]
pub struct TailArgs {
    #[command(flatten)]
    pub store: StoreArg,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Start after this store position (the last one a previous run printed)
    #[arg(long, value_name = "POSITION", group = "start")]
    pub after: Option<Position>,
    /// Start with the first stored event
    #[arg(long, group = "start")]
    pub from_start: bool,
    /// Start with the last N matching events
    #[arg(long, value_name = "N", group = "start")]
    pub last: Option<u64>,
    /// Print what is stored and exit instead of waiting for new events
    #[arg(long)]
    pub no_follow: bool,
    /// How often to look for new events while following, in milliseconds
    #[arg(long, value_name = "MS", default_value_t = 500,
          value_parser = clap::value_parser!(u64).range(50..=60_000))]
    pub poll_interval: u64,
}

pub async fn run(ctx: &Ctx, args: TailArgs) -> Result<(), CliError> {
    let format = match ctx.global.output {
        None | Some(Format::Ndjson) => Format::Ndjson,
        Some(Format::Csv) => Format::Csv,
        Some(other) => {
            let name = clap::ValueEnum::to_possible_value(&other)
                .map(|v| v.get_name().to_owned())
                .unwrap_or_default();
            return Err(
                CliError::usage(format!("tail prints ndjson or csv, not {name}"))
                    .with_hint("use `ontime events export -o json` for a JSON array"),
            );
        }
    };
    let location = args.store.location()?;
    let store = location.open().await?;
    // Following, signals are watched from the start (one that arrives during a query is not
    // lost) and end the loop cleanly; a one-off dump keeps the default (Ctrl-C ends it).
    let mut stop = if args.no_follow {
        None
    } else {
        Some(Stop::new()?)
    };
    let mut out = EventWriter::new(format, Box::new(std::io::stdout()))?;
    let head = store.last_position().await.map_err(|e| store_error(&e))?;
    let mut after = match (args.after, args.from_start, args.last) {
        (Some(after), _, _) => after,
        (_, true, _) => 0,
        (_, _, Some(n)) => {
            for stored in last_n(&store, &args.filter, head, n).await? {
                out.push(Some(stored.position), &stored.event)?;
            }
            out.flush()?;
            head
        }
        _ => head,
    };
    loop {
        let page = page(&store, &args.filter, after).await?;
        if let Some(last) = page.last() {
            after = last.position;
        }
        let full = page.len() == PAGE as usize;
        for stored in page
            .iter()
            .filter(|s| args.filter.wants(s.event.event_type))
        {
            out.push(Some(stored.position), &stored.event)?;
        }
        out.flush()?;
        let Some(stop) = &mut stop else {
            if full {
                continue;
            }
            break;
        };
        // A full page: more is waiting, read on (but still stop on a signal).
        let pause = if full {
            Duration::ZERO
        } else {
            Duration::from_millis(args.poll_interval)
        };
        if stop.wait(pause).await {
            break;
        }
    }
    out.finish()?;
    store.close().await;
    Ok(())
}

/// The next page of events after `after` that the store can filter (account, one type).
async fn page(
    store: &Store,
    filter: &FilterArgs,
    after: Position,
) -> Result<Vec<StoredEvent>, CliError> {
    store
        .query(&EventQuery {
            after,
            account: filter.account.clone(),
            event_type: filter.store_type(),
            limit: PAGE,
            ..EventQuery::default()
        })
        .await
        .map_err(|e| store_error(&e))
}

/// The last `n` matching events at or before `head`, oldest first: windows of positions read
/// backwards from the head until `n` are found (memory: `n` plus one window).
async fn last_n(
    store: &Store,
    filter: &FilterArgs,
    head: Position,
    n: u64,
) -> Result<Vec<StoredEvent>, CliError> {
    let mut found: Vec<StoredEvent> = Vec::new();
    let mut end = head;
    while (found.len() as u64) < n && end > 0 {
        let start = end.saturating_sub(u64::from(PAGE));
        // Positions are unique: (start, end] holds at most PAGE of them, so one query reads
        // the whole window.
        let mut window: Vec<StoredEvent> = page(store, filter, start)
            .await?
            .into_iter()
            .filter(|s| s.position <= end && filter.wants(s.event.event_type))
            .collect();
        window.append(&mut found);
        found = window;
        end = start;
    }
    let skip = found
        .len()
        .saturating_sub(usize::try_from(n).unwrap_or(usize::MAX));
    found.drain(..skip);
    Ok(found)
}

/// Ctrl-C and (on Unix) SIGTERM, watched from creation on.
struct Stop {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Stop {
    fn new() -> Result<Self, CliError> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let watch = |kind| {
                signal(kind).map_err(|e| CliError::other(format!("could not watch signals: {e}")))
            };
            Ok(Self {
                interrupt: watch(SignalKind::interrupt())?,
                terminate: watch(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// Waits `interval`; true when a stop signal came (or had come) first.
    async fn wait(&mut self, interval: Duration) -> bool {
        #[cfg(unix)]
        {
            tokio::select! {
                biased;
                _ = self.interrupt.recv() => true,
                _ = self.terminate.recv() => true,
                _ = tokio::time::sleep(interval) => false,
            }
        }
        #[cfg(not(unix))]
        {
            tokio::select! {
                biased;
                _ = tokio::signal::ctrl_c() => true,
                _ = tokio::time::sleep(interval) => false,
            }
        }
    }
}
