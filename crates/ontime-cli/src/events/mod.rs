//! `ontime events …`: the events `ontime-sync` keeps, read from its store.
//!
//! - `tail` (`tail.rs`): stored events as NDJSON, each with its store position, following new
//!   ones until interrupted.
//! - `timeline` (`timeline.rs`): one order's normalised timeline, from the store or, when the
//!   store has none of its events, derived straight from OnTime.
//! - `export` (`export.rs`): events by time range, account and type, streamed page by page.
//! - `redeliver` (`redeliver.rs`): queue deliveries again (one event, or dead letters since T).
//!
//! Shared here: the options every events command takes (`--store`, filters, time zone); in
//! `location.rs` how the store is named and opened (never created by a read); in `columns.rs`
//! the flat CSV columns; in `write.rs` how events are printed.

pub(crate) mod columns;
mod export;
pub(crate) mod location;
mod redeliver;
mod tail;
mod timeline;
mod write;

use chrono_tz::Tz;
use clap::{Args, Subcommand};
use ontime_sync::event::EventType;

use crate::context::Ctx;
use crate::error::CliError;

/// Exit codes of the events commands (the same table as `ontime --help`).
const EVENTS_EXIT_CODES: &str = "\
Exit status of the events commands:
  0  success (also when the reader closes the output, as `head` does)
  1  the store failed or holds an unreadable event
  2  usage: a bad --store location or --config file, --type, --from/--to time or --time-zone
  5  not found: no store file at the --store path (nothing is created), or (timeline) no
     order with that ID or tracking number in the store nor in OnTime
  6  network: the Postgres server (or OnTime) could not be reached
 14  (redeliver) no destination has that --endpoint name (neither in --config nor in the
     store); an unknown EVENT_ID is 5
Other codes as in `ontime --help`.";

#[derive(Subcommand, Debug)]
#[command(after_help = EVENTS_EXIT_CODES)]
pub enum EventsCommand {
    /// Print stored events as NDJSON with their store position, then follow new ones
    Tail(tail::TailArgs),
    /// An order's normalised timeline, from the store or straight from OnTime
    Timeline(timeline::TimelineArgs),
    /// Export events between two times as NDJSON, CSV or JSON, streamed in pages
    Export(export::ExportArgs),
    /// Queue deliveries again: one event (to its destinations, or --endpoint), or an
    /// endpoint's dead letters since a time (--endpoint E --failed-since T)
    Redeliver(redeliver::RedeliverArgs),
}

pub async fn run(ctx: &Ctx, cmd: EventsCommand) -> Result<(), CliError> {
    match cmd {
        EventsCommand::Tail(args) => tail::run(ctx, args).await,
        EventsCommand::Timeline(args) => timeline::run(ctx, args).await,
        EventsCommand::Export(args) => export::run(ctx, args).await,
        EventsCommand::Redeliver(args) => redeliver::run(args).await,
    }
}

/// Where the events are.
#[derive(Args, Debug, Clone)]
pub struct StoreArg {
    /// The event store: a SQLite file (a path, or sqlite://PATH) or a postgres:// URL. Read
    /// commands never create it. The URL is never printed (it may hold a password)
    #[arg(
        long = "store",
        value_name = "URL",
        env = "ONTIME_SYNC_STORE",
        hide_env_values = true,
        default_value = "ontime-events.db"
    )]
    pub store: String,
    /// Read the store's location from this sync.toml's `[store] url` (as `ontime sync run`
    /// writes it; a relative SQLite path is relative to the file) instead of --store
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
}

impl StoreArg {
    /// Where the store is: `--config`'s `[store] url` when given (its keys are not read), else
    /// `--store`.
    pub fn location(&self) -> Result<location::Location, CliError> {
        match &self.config {
            Some(file) => {
                let config =
                    ontime_sync::config::SyncConfig::load(file, ontime_sync::config::Secrets::Skip)
                        .map_err(|e| CliError::usage(e.to_string()))?;
                location::Location::parse(config.store.as_str())
            }
            None => location::Location::parse(&self.store),
        }
    }
}

/// Which events: by account and type.
#[derive(Args, Debug, Clone, Default)]
pub struct FilterArgs {
    /// Only events of this account (company)
    #[arg(long, value_name = "ACCOUNT", value_parser = crate::args::non_blank)]
    pub account: Option<String>,
    /// Only events of these types (repeat, or separate with commas)
    #[arg(
        long = "type",
        value_name = "TYPE",
        value_delimiter = ',',
        value_parser = event_type_parser()
    )]
    pub types: Vec<EventType>,
}

impl FilterArgs {
    /// The one type the store can filter on, when exactly one was asked for (several are
    /// filtered here, see [`FilterArgs::wants`]).
    pub fn store_type(&self) -> Option<EventType> {
        match self.types[..] {
            [only] => Some(only),
            _ => None,
        }
    }

    /// Whether an event of `event_type` passes the type filter.
    pub fn wants(&self, event_type: EventType) -> bool {
        self.types.is_empty() || self.types.contains(&event_type)
    }
}

/// `--type`: one of the dotted names; clap lists them all on a bad value.
fn event_type_parser() -> impl clap::builder::TypedValueParser<Value = EventType> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(EventType::ALL.iter().map(|t| t.as_str()))
        .try_map(|name| name.parse::<EventType>())
}

/// The time zone of OnTime's offset-less times and of bare dates.
#[derive(Args, Debug, Clone)]
pub struct TimeZoneArg {
    /// The account's IANA time zone (e.g. America/Chicago), in which OnTime writes its times
    /// without offset [default: UTC, with a note]
    #[arg(
        long = "time-zone",
        value_name = "ZONE",
        env = "ONTIME_TIME_ZONE",
        value_parser = time_zone
    )]
    pub time_zone: Option<Tz>,
}

impl TimeZoneArg {
    /// The zone given, or UTC with a note on stderr saying why `why` needs one.
    pub fn or_utc(&self, why: &str) -> Tz {
        self.time_zone.unwrap_or_else(|| {
            eprintln!(
                "note: no time zone given: {why} are read as UTC (pass --time-zone or set ONTIME_TIME_ZONE)"
            );
            Tz::UTC
        })
    }
}

fn time_zone(text: &str) -> Result<Tz, String> {
    text.trim().parse::<Tz>().map_err(|_| {
        format!(
            "{:?} is not an IANA time zone (e.g. Europe/Berlin, America/Chicago, UTC)",
            text.trim()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_time_zones_parse_or_say_why_not() {
        use clap::Parser;
        #[derive(Parser)]
        struct T {
            #[command(flatten)]
            filter: FilterArgs,
            #[command(flatten)]
            zone: TimeZoneArg,
        }
        let t = T::try_parse_from([
            "t",
            "--type",
            "order.delivered,order.picked_up",
            "--type",
            "driver.position",
            "--time-zone",
            "Europe/Berlin",
        ])
        .unwrap();
        assert_eq!(
            t.filter.types,
            [
                EventType::OrderDelivered,
                EventType::OrderPickedUp,
                EventType::DriverPosition
            ]
        );
        assert_eq!(t.filter.store_type(), None);
        assert!(t.filter.wants(EventType::DriverPosition));
        assert!(!t.filter.wants(EventType::OrderCreated));
        assert_eq!(t.zone.time_zone, Some(chrono_tz::Europe::Berlin));
        let err = T::try_parse_from(["t", "--type", "order.teleported"])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("item.custody_changed"), "{err}");
        assert!(
            T::try_parse_from(["t", "--time-zone", "Mars/Olympus"])
                .err()
                .unwrap()
                .to_string()
                .contains("not an IANA time zone")
        );
    }
}
