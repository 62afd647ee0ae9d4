//! `ontime events export`: events by time range (when they occurred), account and type, read
//! from the store in pages of [`PAGE`] and written as they come: memory stays flat however
//! many events there are.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;
use clap::Args;
use ontime_sync::event::resolve_local_time;
use ontime_sync::store::{EventQuery, EventStore};

use super::location::store_error;
use super::write::EventWriter;
use super::{FilterArgs, StoreArg, TimeZoneArg, columns};
use crate::context::Ctx;
use crate::error::CliError;
use crate::output::Format;

/// Events read per store query (and written per flush).
const PAGE: u32 = 1000;

#[derive(Args, Debug)]
#[command(after_long_help = export_help())]
pub struct ExportArgs {
    /// Events that occurred at or after this time: RFC 3339 (2026-03-02T08:00:00Z, ...-06:00),
    /// a local date-time (2026-03-02T08:00) or a date (2026-03-02), both in --time-zone
    #[arg(long, value_name = "TIME", value_parser = TimeArg::parse)]
    pub from: Option<TimeArg>,
    /// Events that occurred before this time (same forms; a date includes that whole day)
    #[arg(long, value_name = "TIME", value_parser = TimeArg::parse)]
    pub to: Option<TimeArg>,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Write to this file instead of stdout (written as FILE.part, renamed when complete)
    #[arg(long = "output-file", visible_alias = "out", value_name = "FILE",
          value_hint = clap::ValueHint::FilePath)]
    pub output_file: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArg,
    #[command(flatten)]
    pub zone: TimeZoneArg,
}

fn export_help() -> String {
    format!(
        "Examples:
  ontime events export --from 2026-03-01 --to 2026-03-31 -o csv --out march.csv
  ontime events export --from 2026-03-02T08:00:00-06:00 --type order.delivered,order.exception

Formats: ndjson (default; the event's JSON with its store position first), csv, json.
CSV columns (the same for every event type; empty where an event has no such field):
{}",
        columns::help()
    )
}

pub async fn run(ctx: &Ctx, args: ExportArgs) -> Result<(), CliError> {
    let format = match ctx.global.output {
        None => Format::Ndjson,
        Some(Format::Table) => {
            return Err(CliError::usage(
                "export writes ndjson, csv or json, not a table",
            ));
        }
        Some(format) => format,
    };
    let local = [&args.from, &args.to]
        .into_iter()
        .flatten()
        .any(|t| !matches!(t, TimeArg::Instant(_)));
    let zone = if local {
        args.zone.or_utc("dates and times without offset")
    } else {
        args.zone.time_zone.unwrap_or(Tz::UTC)
    };
    let from = args.from.as_ref().map(|t| t.start(zone));
    let to = args.to.as_ref().map(|t| t.end(zone));
    if let (Some(from), Some(to)) = (from, to)
        && to < from
    {
        return Err(CliError::usage(format!(
            "--to ({}) is before --from ({})",
            to.to_rfc3339(),
            from.to_rfc3339()
        )));
    }
    let location = args.store.location()?;
    let store = location.open().await?;
    let (writer, target) = Target::open(args.output_file.as_deref())?;
    let mut out = EventWriter::new(format, writer)?;
    let mut query = EventQuery {
        account: args.filter.account.clone(),
        event_type: args.filter.store_type(),
        from: from.map(|t| t.with_timezone(&Utc)),
        to: to.map(|t| t.with_timezone(&Utc)),
        limit: PAGE,
        ..EventQuery::default()
    };
    let result = async {
        loop {
            let page = store.query(&query).await.map_err(|e| store_error(&e))?;
            for stored in &page {
                if args.filter.wants(stored.event.event_type) {
                    out.push(Some(stored.position), &stored.event)?;
                }
            }
            out.flush()?;
            match page.last() {
                Some(last) if page.len() == PAGE as usize => query.after = last.position,
                _ => break,
            }
        }
        out.finish()
    }
    .await;
    store.close().await;
    let count = target.complete(result)?;
    if let Some(path) = &args.output_file {
        eprintln!("note: wrote {count} events to {}", path.display());
    }
    Ok(())
}

/// Where the export goes: stdout, or `FILE.part` renamed to `FILE` once complete.
struct Target {
    /// The part file and the final path.
    file: Option<(PathBuf, PathBuf)>,
}

type Writer = Box<dyn Write + Send>;

impl Target {
    fn open(path: Option<&Path>) -> Result<(Writer, Self), CliError> {
        let Some(path) = path else {
            let stdout = BufWriter::with_capacity(64 * 1024, std::io::stdout());
            return Ok((Box::new(stdout), Self { file: None }));
        };
        let mut part = path.as_os_str().to_owned();
        part.push(".part");
        let part = PathBuf::from(part);
        let file = File::create(&part)
            .map_err(|e| CliError::other(format!("could not create {}: {e}", part.display())))?;
        let writer = Box::new(BufWriter::with_capacity(64 * 1024, file));
        Ok((
            writer,
            Self {
                file: Some((part, path.to_owned())),
            },
        ))
    }

    /// Renames the part file into place when `result` is a success; removes it otherwise.
    fn complete(self, result: Result<u64, CliError>) -> Result<u64, CliError> {
        let Some((part, path)) = self.file else {
            return result;
        };
        match result {
            Ok(count) => {
                std::fs::rename(&part, &path).map_err(|e| {
                    CliError::other(format!("could not rename {}: {e}", part.display()))
                })?;
                Ok(count)
            }
            Err(mut e) => {
                let _ = std::fs::remove_file(&part);
                // A closed stdout is not what failed here.
                e.broken_pipe = false;
                Err(e)
            }
        }
    }
}

/// `--from` / `--to` as given: an instant, or a local date-time or date read in the time zone.
#[derive(Clone, Debug, PartialEq)]
pub enum TimeArg {
    /// RFC 3339, with its offset.
    Instant(DateTime<FixedOffset>),
    /// A wall-clock time in the time zone.
    Local(NaiveDateTime),
    /// A whole day in the time zone.
    Date(NaiveDate),
}

const TIME_FORMS: &str = "expected RFC 3339 (2026-03-02T08:00:00Z, 2026-03-02T08:00:00-06:00), \
     a local date-time (2026-03-02T08:00[:00]) or a date (2026-03-02)";

impl TimeArg {
    fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
            return Ok(Self::Instant(instant));
        }
        for form in [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M:%S",
        ] {
            if let Ok(local) = NaiveDateTime::parse_from_str(text, form) {
                return Ok(Self::Local(local));
            }
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(Self::Date)
            .map_err(|_| format!("{text:?} is not a time: {TIME_FORMS}"))
    }

    /// The first instant it names.
    fn start(&self, zone: Tz) -> DateTime<FixedOffset> {
        match self {
            Self::Instant(t) => *t,
            Self::Local(t) => resolve_local_time(*t, zone).0,
            Self::Date(d) => resolve_local_time(d.and_time(chrono::NaiveTime::MIN), zone).0,
        }
    }

    /// The end of what it names (exclusive): a date ends where the next day starts.
    fn end(&self, zone: Tz) -> DateTime<FixedOffset> {
        match self {
            Self::Date(d) => match d.succ_opt() {
                Some(next) => Self::Date(next).start(zone),
                None => self.start(zone),
            },
            other => other.start(zone),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_in_every_form_and_dates_cover_whole_days() {
        let chicago = chrono_tz::America::Chicago;
        let day = TimeArg::parse("2026-03-02").unwrap();
        assert_eq!(day.start(chicago).to_rfc3339(), "2026-03-02T00:00:00-06:00");
        assert_eq!(day.end(chicago).to_rfc3339(), "2026-03-03T00:00:00-06:00");
        // The day the clocks go forward is 23 hours long.
        let dst = TimeArg::parse("2026-03-08").unwrap();
        assert_eq!(dst.end(chicago).to_rfc3339(), "2026-03-09T00:00:00-05:00");
        let local = TimeArg::parse("2026-03-02T08:30").unwrap();
        assert_eq!(local.end(chicago).to_rfc3339(), "2026-03-02T08:30:00-06:00");
        let instant = TimeArg::parse("2026-03-02T08:30:00Z").unwrap();
        assert_eq!(
            instant.start(chicago).to_rfc3339(),
            "2026-03-02T08:30:00+00:00"
        );
        for bad in ["yesterday", "2026-13-01", "2026-03-02T25:00", ""] {
            let err = TimeArg::parse(bad).unwrap_err();
            assert!(err.contains("RFC 3339"), "{bad}: {err}");
        }
    }
}
