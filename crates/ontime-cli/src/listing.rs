//! Printing records for every command: finding and streaming them (`--limit`, `--ids-only`,
//! a count note), fetching several by ID (`--keep-going`), and how a failure names its record.

use std::str::FromStr;

use clap::Args;
use futures::StreamExt;
use futures::stream::BoxStream;
use ontime::{Fetch, Resource, Search};
use serde::Serialize;

use crate::context::Ctx;
use crate::error::{CliError, Exit};
use crate::output::Format;
use crate::views::{Col, Fmt, View, Viewable};

/// Options of every command that lists records found by a finder.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Listing")]
pub struct ListArgs {
    /// Fetch at most this many records (the finder's first N): saves requests
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Print only the IDs (one request, no record fetches); plain lines unless -o is given
    #[arg(long)]
    pub ids_only: bool,
    #[command(flatten)]
    pub keep_going: KeepGoing,
}

/// `--keep-going`, for commands that fetch many records.
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct KeepGoing {
    /// When a record cannot be fetched, go on with the others; the failures are listed with
    /// their IDs on stderr at the end, and the exit status is the most severe failure's (in
    /// this order: 4, 6, 5, 1; see `ontime --help`). A refused key (3) or a used-up quota (7)
    /// still stops at once
    #[arg(long)]
    pub keep_going: bool,
}

/// The records that could not be fetched, for `--keep-going`.
pub struct Failures {
    keep_going: bool,
    plural: &'static str,
    failed: Vec<CliError>,
}

impl Failures {
    pub fn new(keep_going: KeepGoing, plural: &'static str) -> Self {
        Self {
            keep_going: keep_going.keep_going,
            plural,
            failed: Vec::new(),
        }
    }

    /// Takes one record's failure (already naming the record): kept for the end with
    /// `--keep-going`, unless it affects every request; otherwise returned, to stop.
    pub fn add(&mut self, error: CliError) -> Result<(), CliError> {
        if !self.keep_going || error.broken_pipe || STOPS.contains(&error.exit) {
            return Err(error);
        }
        self.failed.push(error);
        Ok(())
    }

    /// After the records that could be fetched were printed: lists the failures on stderr and
    /// returns the error to exit with, if any failed.
    pub fn finish(self, attempted: usize) -> Result<(), CliError> {
        let Some(exit) = self.failed.iter().map(|e| e.exit).min_by_key(|exit| {
            SEVERITY
                .iter()
                .position(|s| s == exit)
                .unwrap_or(usize::MAX)
        }) else {
            return Ok(());
        };
        for error in &self.failed {
            eprintln!(
                "failed: {}",
                crate::terminal::escape_controls(&error.message, true)
            );
        }
        Err(CliError::new(
            exit,
            format!(
                "{} of {attempted} {} could not be fetched (listed above); the others were printed",
                self.failed.len(),
                self.plural
            ),
        ))
    }
}

/// Failures that stop `--keep-going` at once: every further request would fail the same way.
const STOPS: [Exit; 2] = [Exit::Auth, Exit::RateLimited];

/// The exit status of a `--keep-going` run whose records failed differently: the first of
/// these that occurred (anything not listed ranks last).
const SEVERITY: [Exit; 7] = [
    Exit::Auth,
    Exit::Permission,
    Exit::RateLimited,
    Exit::Network,
    Exit::NotFound,
    Exit::Usage,
    Exit::Other,
];

/// A record's fetch failure, naming the record: `no order has the ID …` for a missing one,
/// `order …: <why>` for anything else.
pub fn record_error(error: ontime::Error, singular: &str, id: &dyn std::fmt::Display) -> CliError {
    let error = CliError::from(error);
    if error.exit == Exit::NotFound {
        return error.if_not_found(|| format!("no {singular} has the ID {id}"));
    }
    let mut named = error;
    named.message = format!("{singular} {id}: {}", named.message);
    named
}

/// Prints records from `stream` as they arrive, with a progress bar when `total` is known.
/// `ids` names the records in order, for error messages. With `--keep-going` a record that
/// fails is skipped and listed at the end.
pub async fn print_stream<R: Viewable + TypedRecord>(
    ctx: &Ctx,
    mut stream: BoxStream<'static, ontime::Result<R>>,
    ids: &[R::Id],
    keep_going: KeepGoing,
) -> Result<u64, CliError> {
    let progress = ctx.progress(
        Some(ids.len() as u64),
        &format!("Fetching {}", R::VIEW.plural),
    );
    let mut output = ctx.output();
    output.with_progress(&progress);
    let mut list = output.list::<R>();
    let mut failures = Failures::new(keep_going, R::VIEW.plural);
    let mut index = 0;
    while let Some(item) = stream.next().await {
        let id: &dyn std::fmt::Display = match ids.get(index) {
            Some(id) => id,
            None => &"(unknown)",
        };
        index += 1;
        progress.inc();
        match item {
            Ok(record) => list.push_serialize(&record)?,
            Err(e) => failures.add(record_error(e, R::VIEW.singular, id))?,
        }
    }
    let count = list.finish()?;
    progress.finish();
    failures.finish(ids.len())?;
    Ok(count)
}

/// A record type with its typed identifier (shorthand for the bounds the commands need).
pub trait TypedRecord: Fetch + Viewable {}
impl<R: Fetch + Viewable> TypedRecord for R {}

/// Prints IDs only: plain lines, or the chosen format.
pub fn print_ids<I: std::fmt::Display>(ctx: &Ctx, ids: &[I]) -> Result<(), CliError> {
    let mut output = ctx.output();
    if !ctx.format_chosen() || ctx.format == Format::Table {
        let mut text = String::new();
        for id in ids {
            text.push_str(&id.to_string());
            text.push('\n');
        }
        return output.text(&text);
    }
    let mut list = output.list_with(&ID_VIEW);
    for id in ids {
        list.push_serialize(&IdRow { id: id.to_string() })?;
    }
    list.finish()?;
    Ok(())
}

#[derive(Serialize)]
struct IdRow {
    #[serde(rename = "ID")]
    id: String,
}

static ID_VIEW: View = View {
    singular: "ID",
    plural: "IDs",
    fields: &[("ID", Fmt::Id)],
    columns: &[Col {
        header: "ID",
        path: &["ID"],
        fmt: Fmt::Id,
        max: 36,
    }],
};

/// Runs a finder and prints what it finds, as the records arrive.
pub async fn find_and_print<R>(
    ctx: &Ctx,
    resource: Resource<R>,
    filter: R::Filter,
    list: &ListArgs,
) -> Result<(), CliError>
where
    R: Fetch + Search + Viewable,
{
    let mut ids = resource.ids(filter).await?;
    let found = ids.len();
    if let Some(limit) = list.limit {
        ids.truncate(limit);
    }
    if list.ids_only {
        print_ids(ctx, &ids)?;
        note_count(ctx, R::VIEW, ids.len() as u64, found);
        return Ok(());
    }
    let stream = resource.stream_many(ids.clone());
    let count = print_stream::<R>(ctx, stream, &ids, list.keep_going).await?;
    note_count(ctx, R::VIEW, count, found);
    Ok(())
}

fn note_count(ctx: &Ctx, view: &View, shown: u64, found: usize) {
    let noun = if shown == 1 {
        view.singular
    } else {
        view.plural
    };
    if found == 0 {
        ctx.note(format!("No {} found.", view.plural));
    } else if shown as usize == found {
        ctx.note(format!("{shown} {noun}"));
    } else {
        ctx.note(format!("{shown} {noun} (of {found} found; --limit)"));
    }
}

/// Fetches records by ID: one shows as a detail view, several as a list, in the order given.
pub async fn get_and_print<R>(
    ctx: &Ctx,
    resource: Resource<R>,
    ids: Vec<R::Id>,
    keep_going: KeepGoing,
) -> Result<(), CliError>
where
    R: Fetch + Viewable,
{
    if let [id] = ids[..] {
        let record = resource
            .get(id)
            .await
            .map_err(|e| record_error(e, R::VIEW.singular, &id))?;
        return ctx.output().one(&record);
    }
    let stream = resource.stream_many(ids.clone());
    print_stream::<R>(ctx, stream, &ids, keep_going).await?;
    Ok(())
}

/// Parses GUIDs given as text into a record type's ID type, with that type's message.
pub fn parse_ids<I>(texts: &[String]) -> Result<Vec<I>, CliError>
where
    I: FromStr<Err = ontime::IdParseError>,
{
    texts
        .iter()
        .map(|t| t.parse::<I>().map_err(|e| CliError::usage(e.to_string())))
        .collect()
}
