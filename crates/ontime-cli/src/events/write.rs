//! Printing events: NDJSON and JSON in the event's wire form with its store position first,
//! CSV in the flat columns of `columns.rs`, and the timeline table.
//!
//! Unlike `output.rs` (which flushes each record, for lists fetched one request at a time), this
//! writer flushes when told to: per page in exports, per event in `tail`.

use std::io::Write;

use ontime_sync::event::Event;
use ontime_sync::store::Position;
use serde::Serialize;

use super::columns::{self, actor, custodian};
use crate::error::CliError;
use crate::output::{Format, TableWriter};
use crate::views::{Col, Fmt};

/// One event as printed: `{"position":123, ...the event}`. `position` is absent for events that
/// are not stored (a timeline straight from OnTime). Consumers resume with `--after POSITION`.
#[derive(Serialize)]
pub struct Line<'a> {
    /// The store position.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
    /// The event's wire form.
    #[serde(flatten)]
    pub event: &'a Event,
}

/// The timeline table.
const TABLE: [Col; 7] = [
    Col {
        header: "#",
        path: &[],
        fmt: Fmt::Num,
        max: 6,
    },
    Col {
        header: "Occurred at",
        path: &[],
        fmt: Fmt::Text,
        max: 25,
    },
    Col {
        header: "Precision",
        path: &[],
        fmt: Fmt::Text,
        max: 9,
    },
    Col {
        header: "Type",
        path: &[],
        fmt: Fmt::Text,
        max: 28,
    },
    Col {
        header: "OnTime level / label",
        path: &[],
        fmt: Fmt::Text,
        max: 40,
    },
    Col {
        header: "Actor",
        path: &[],
        fmt: Fmt::Text,
        max: 43,
    },
    Col {
        header: "Item (custody)",
        path: &[],
        fmt: Fmt::Text,
        max: 110,
    },
];

/// Writes events in one format.
pub struct EventWriter {
    format: Format,
    out: Box<dyn Write + Send>,
    count: u64,
    table: Option<TableWriter<'static>>,
}

impl EventWriter {
    /// A writer to `out`; CSV starts with its header (also when no event follows).
    pub fn new(format: Format, mut out: Box<dyn Write + Send>) -> Result<Self, CliError> {
        if format == Format::Csv {
            out.write_all(&csv_line(columns::header())?)?;
        }
        Ok(Self {
            format,
            out,
            count: 0,
            table: (format == Format::Table).then(|| TableWriter::new(&TABLE)),
        })
    }

    /// Writes one event (buffered until [`flush`](Self::flush)).
    pub fn push(&mut self, position: Option<Position>, event: &Event) -> Result<(), CliError> {
        let first = self.count == 0;
        self.count += 1;
        let line = Line { position, event };
        match self.format {
            Format::Ndjson => {
                serde_json::to_writer(&mut self.out, &line).map_err(json_error)?;
                self.out.write_all(b"\n")?;
            }
            Format::Json => {
                self.out
                    .write_all(if first { b"[\n  " } else { b",\n  " })?;
                serde_json::to_writer(&mut self.out, &line).map_err(json_error)?;
            }
            Format::Csv => {
                self.out
                    .write_all(&csv_line(columns::row(position, event))?)?;
            }
            Format::Table => {
                let mut text = String::new();
                if let Some(table) = &mut self.table {
                    table.push(table_row(event), &mut text);
                }
                self.out.write_all(text.as_bytes())?;
            }
        }
        Ok(())
    }

    /// Sends what was written on.
    pub fn flush(&mut self) -> Result<(), CliError> {
        self.out.flush()?;
        Ok(())
    }

    /// Ends the output (closes the JSON array, prints the rows a table still holds), flushes,
    /// and returns how many events were written.
    pub fn finish(mut self) -> Result<u64, CliError> {
        match self.format {
            Format::Json => {
                let end: &[u8] = if self.count == 0 { b"[]\n" } else { b"\n]\n" };
                self.out.write_all(end)?;
            }
            Format::Table => {
                let mut text = String::new();
                if let Some(table) = self.table.take() {
                    table.finish(&mut text);
                }
                self.out.write_all(text.as_bytes())?;
            }
            Format::Ndjson | Format::Csv => {}
        }
        self.flush()?;
        Ok(self.count)
    }
}

/// A serialisation failure of an event (an I/O error underneath keeps its broken-pipe meaning).
fn json_error(error: serde_json::Error) -> CliError {
    match error.io_error_kind() {
        Some(kind) => CliError::from(std::io::Error::from(kind)),
        None => CliError::internal(error),
    }
}

fn csv_line<I, T>(cells: I) -> Result<Vec<u8>, CliError>
where
    I: IntoIterator<Item = T>,
    T: AsRef<[u8]>,
{
    let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
    writer.write_record(cells).map_err(CliError::internal)?;
    writer
        .into_inner()
        .map_err(|e| CliError::internal(e.into_error()))
}

/// The timeline table's cells of one event.
fn table_row(event: &Event) -> Vec<String> {
    let ontime = event.ontime.as_ref().map_or(String::new(), |o| {
        let level = match (&o.level_name, o.level_code) {
            (Some(name), Some(code)) => format!("{code} {name}"),
            (None, Some(code)) => code.to_string(),
            (Some(name), None) => name.clone(),
            (None, None) => String::new(),
        };
        match &o.label {
            Some(label) if level.is_empty() => format!("{label:?}"),
            Some(label) => format!("{level} / {label:?}"),
            None => level,
        }
    });
    let item = event.custody.as_ref().map_or(String::new(), |c| {
        format!(
            "{}: {} → {}",
            c.item_tracking_number,
            custodian(&c.from),
            custodian(&c.to)
        )
    });
    vec![
        event.sequence.map(|s| s.to_string()).unwrap_or_default(),
        event.occurred_at.to_rfc3339(),
        match event.time_precision {
            ontime_sync::event::TimePrecision::Exact => "exact".into(),
            ontime_sync::event::TimePrecision::Observed => "observed".into(),
        },
        event.event_type.to_string(),
        ontime,
        event.actor.as_ref().map(actor).unwrap_or_default(),
        item,
    ]
}
