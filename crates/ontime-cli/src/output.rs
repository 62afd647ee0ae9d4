//! Printing records: aligned tables for people, JSON, NDJSON and CSV for programs.
//!
//! Lists stream: each record is written (and flushed) as soon as it arrives, so a pipe sees
//! records while the rest are still being fetched, and memory stays flat however many records
//! there are. Tables size their columns from the first [`TABLE_BATCH`] rows, then keep those
//! widths (longer values are cut with `…`).

use std::borrow::Cow;
use std::io::{self, IsTerminal, Write};
use std::time::Duration;

use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use serde_json::Value;
use unicode_width::UnicodeWidthStr;

use crate::cells;
use crate::error::CliError;
pub use crate::terminal::escape_controls;
use crate::views::{Col, Fmt, View, Viewable};

/// How many rows a table reads before it fixes its column widths.
pub const TABLE_BATCH: usize = 100;

/// An output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    // No doc comments: clap then lists the values on one line; `ontime --help` explains them.
    Table,
    Json,
    Ndjson,
    Csv,
}

/// Where results go: stdout in one format, with an optional progress bar on stderr.
pub struct Output {
    format: Format,
    out: Box<dyn Write + Send>,
    progress: Option<ProgressBar>,
}

impl Output {
    /// Prints to stdout.
    pub fn stdout(format: Format) -> Self {
        Self::new(format, Box::new(io::BufWriter::new(io::stdout())))
    }

    /// Prints to any writer.
    pub fn new(format: Format, out: Box<dyn Write + Send>) -> Self {
        Self {
            format,
            out,
            progress: None,
        }
    }

    /// Shows `progress` while records print; writes then pause the bar so lines stay whole.
    pub fn with_progress(&mut self, progress: &Progress) {
        self.progress = progress.bar.clone();
    }

    /// Writes through the progress bar (if any) and flushes.
    fn emit(&mut self, bytes: &[u8]) -> io::Result<()> {
        let out = &mut self.out;
        let mut write = || {
            out.write_all(bytes)?;
            out.flush()
        };
        match &self.progress {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }

    /// Prints one record: a field/value table, a JSON object, one NDJSON line, or a CSV header
    /// and row.
    pub fn one<V: Viewable>(&mut self, record: &V) -> Result<(), CliError> {
        self.one_with(V::VIEW, record)
    }

    /// Like [`one`](Self::one), with an explicit view.
    pub fn one_with<T: Serialize>(&mut self, view: &View, record: &T) -> Result<(), CliError> {
        match self.format {
            Format::Table => {
                let value = serde_json::to_value(record).map_err(CliError::internal)?;
                let rows = cells::detail_rows(view, &value);
                let mut table = TableWriter::new(&DETAIL_COLUMNS);
                let mut text = String::new();
                for (field, value) in rows {
                    table.push(vec![field, value], &mut text);
                }
                table.finish(&mut text);
                self.emit(text.as_bytes())?;
            }
            Format::Json => {
                let mut text = serde_json::to_string_pretty(record).map_err(CliError::internal)?;
                text.push('\n');
                self.emit(text.as_bytes())?;
            }
            Format::Ndjson => {
                let mut text = serde_json::to_string(record).map_err(CliError::internal)?;
                text.push('\n');
                self.emit(text.as_bytes())?;
            }
            Format::Csv => {
                let mut list = ListWriter::new(self, view);
                list.push_serialize(record)?;
                list.finish()?;
            }
        }
        Ok(())
    }

    /// Starts a list of records of one type.
    pub fn list<V: Viewable>(&mut self) -> ListWriter<'_> {
        ListWriter::new(self, V::VIEW)
    }

    /// Starts a list with an explicit view.
    pub fn list_with(&mut self, view: &'static View) -> ListWriter<'_> {
        ListWriter::new(self, view)
    }

    /// Writes lines of text (bare GUIDs, messages for people); control characters other than
    /// line breaks are escaped, as in tables.
    pub fn text(&mut self, text: &str) -> Result<(), CliError> {
        let text = escape_controls(text, true);
        self.emit(text.as_bytes())?;
        Ok(())
    }
}

const DETAIL_COLUMNS: [Col; 2] = [
    Col {
        header: "Field",
        path: &[],
        fmt: Fmt::Text,
        max: 40,
    },
    Col {
        header: "Value",
        path: &[],
        fmt: Fmt::Text,
        max: 100,
    },
];

/// Writes a list of records as they arrive.
pub struct ListWriter<'a> {
    output: &'a mut Output,
    view: &'a View,
    count: u64,
    table: Option<TableWriter<'a>>,
    /// The CSV header, until it is written with the first row (or at the end).
    csv_header: Option<Vec<u8>>,
}

impl<'a> ListWriter<'a> {
    fn new(output: &'a mut Output, view: &'a View) -> Self {
        let table = (output.format == Format::Table).then(|| TableWriter::new(view.columns));
        let csv_header = (output.format == Format::Csv)
            .then(|| csv_line(view.csv_fields().map(|(name, _)| *name)).unwrap_or_default());
        Self {
            output,
            view,
            count: 0,
            table,
            csv_header,
        }
    }

    /// Writes one record.
    pub fn push_serialize<T: Serialize + ?Sized>(&mut self, record: &T) -> Result<(), CliError> {
        let first = self.count == 0;
        self.count += 1;
        match self.output.format {
            Format::Json => {
                let text = serde_json::to_string_pretty(record).map_err(CliError::internal)?;
                let mut chunk = String::with_capacity(text.len() + 8);
                chunk.push_str(if first { "[\n  " } else { ",\n  " });
                chunk.push_str(&text.replace('\n', "\n  "));
                self.output.emit(chunk.as_bytes())?;
            }
            Format::Ndjson => {
                let mut line = serde_json::to_vec(record).map_err(CliError::internal)?;
                line.push(b'\n');
                self.output.emit(&line)?;
            }
            Format::Csv => {
                let value = serde_json::to_value(record).map_err(CliError::internal)?;
                let cells: Vec<String> = self
                    .view
                    .csv_fields()
                    .map(|(name, fmt)| cells::csv_cell(value.get(*name), *fmt))
                    .collect();
                let mut bytes = self.csv_header.take().unwrap_or_default();
                bytes.extend(csv_line(&cells).map_err(CliError::internal)?);
                self.output.emit(&bytes)?;
            }
            Format::Table => {
                let value = serde_json::to_value(record).map_err(CliError::internal)?;
                let cells = self
                    .view
                    .columns
                    .iter()
                    .map(|c| cells::table_cell(cells::lookup(&value, c.path), c.fmt))
                    .collect();
                let mut text = String::new();
                if let Some(table) = &mut self.table {
                    table.push(cells, &mut text);
                }
                if !text.is_empty() {
                    self.output.emit(text.as_bytes())?;
                }
            }
        }
        Ok(())
    }

    /// Ends the list (closes the JSON array, prints the rows a table still holds).
    pub fn finish(mut self) -> Result<u64, CliError> {
        match self.output.format {
            Format::Json => {
                let end: &[u8] = if self.count == 0 { b"[]\n" } else { b"\n]\n" };
                self.output.emit(end)?;
            }
            Format::Csv if self.count == 0 => {
                // Still print the header, so the file has its columns.
                if let Some(header) = self.csv_header.take() {
                    self.output.emit(&header)?;
                }
            }
            Format::Table => {
                let mut text = String::new();
                if let Some(table) = self.table.take() {
                    table.finish(&mut text);
                }
                if !text.is_empty() {
                    self.output.emit(text.as_bytes())?;
                }
            }
            _ => {}
        }
        Ok(self.count)
    }
}

/// One CSV record with its line end.
fn csv_line<I, T>(cells: I) -> Result<Vec<u8>, csv::Error>
where
    I: IntoIterator<Item = T>,
    T: AsRef<[u8]>,
{
    let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
    writer.write_record(cells)?;
    writer.into_inner().map_err(|e| e.into_error().into())
}

/// An aligned text table that prints rows as they come once its widths are fixed.
pub struct TableWriter<'a> {
    columns: &'a [Col],
    pending: Vec<Vec<String>>,
    widths: Option<Vec<usize>>,
}

impl<'a> TableWriter<'a> {
    pub fn new(columns: &'a [Col]) -> Self {
        Self {
            columns,
            pending: Vec::new(),
            widths: None,
        }
    }

    /// Adds a row; appends to `out` whatever can be printed now. Control characters in the
    /// cells are shown as escapes (see [`escape_controls`]).
    pub fn push(&mut self, cells: Vec<String>, out: &mut String) {
        let cells: Vec<String> = cells
            .into_iter()
            .map(|cell| match escape_controls(&cell, false) {
                Cow::Borrowed(_) => cell,
                Cow::Owned(escaped) => escaped,
            })
            .collect();
        match &self.widths {
            Some(widths) => render_row(self.columns, widths, &cells, out),
            None => {
                self.pending.push(cells);
                if self.pending.len() >= TABLE_BATCH {
                    self.flush_pending(out);
                }
            }
        }
    }

    /// Appends the rows still held (and the header, if nothing was printed yet).
    pub fn finish(mut self, out: &mut String) {
        if self.widths.is_none() && !self.pending.is_empty() {
            self.flush_pending(out);
        }
    }

    fn flush_pending(&mut self, out: &mut String) {
        let widths: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, col)| {
                let widest = self
                    .pending
                    .iter()
                    .map(|row| row.get(i).map_or(0, |c| c.width()))
                    .max()
                    .unwrap_or(0);
                widest.min(col.max).max(col.header.width())
            })
            .collect();
        let headers: Vec<String> = self.columns.iter().map(|c| c.header.to_string()).collect();
        render_row(self.columns, &widths, &headers, out);
        let rules: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
        render_row(self.columns, &widths, &rules, out);
        for row in std::mem::take(&mut self.pending) {
            render_row(self.columns, &widths, &row, out);
        }
        self.widths = Some(widths);
    }
}

fn render_row(columns: &[Col], widths: &[usize], cells: &[String], out: &mut String) {
    let mut line = String::new();
    for (i, (col, width)) in columns.iter().zip(widths).enumerate() {
        let cell = cells.get(i).map(String::as_str).unwrap_or("");
        let cell = truncate(cell, *width);
        let pad = width.saturating_sub(cell.width());
        if i > 0 {
            line.push_str("  ");
        }
        let right = matches!(col.fmt, Fmt::Money | Fmt::Num | Fmt::Array | Fmt::Bytes);
        if right {
            line.push_str(&" ".repeat(pad));
            line.push_str(&cell);
        } else {
            line.push_str(&cell);
            line.push_str(&" ".repeat(pad));
        }
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

/// Cuts `text` to `width` columns, ending with `…` when cut.
fn truncate(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for ch in text.chars() {
        let w = unicode_width::UnicodeWidthChar::width(ch).unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(ch);
        used += w;
    }
    out.push('…');
    out
}

/// Renders a small table to a string (used by the demo and for messages).
#[cfg_attr(not(feature = "mock"), allow(dead_code))]
pub fn render_table(columns: &[Col], rows: Vec<Vec<String>>) -> String {
    let mut out = String::new();
    let mut table = TableWriter::new(columns);
    for row in rows {
        table.push(row, &mut out);
    }
    table.finish(&mut out);
    out
}

/// Renders records with an explicit view.
#[cfg_attr(not(feature = "mock"), allow(dead_code))]
pub fn render_records_with<T: Serialize>(view: &View, records: &[T]) -> String {
    let rows = records
        .iter()
        .map(|r| {
            let value = serde_json::to_value(r).unwrap_or(Value::Null);
            view.columns
                .iter()
                .map(|c| cells::table_cell(cells::lookup(&value, c.path), c.fmt))
                .collect()
        })
        .collect();
    render_table(view.columns, rows)
}

/// A progress bar on stderr, drawn only when stderr is a terminal (and not disabled).
#[derive(Default)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar counting to `len` (a spinner when `len` is unknown).
    pub fn new(enabled: bool, len: Option<u64>, message: &str) -> Self {
        if !enabled || !io::stderr().is_terminal() {
            return Self::default();
        }
        let bar = match len {
            Some(len) => ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr())
                .with_style(
                    ProgressStyle::with_template(
                        "{msg} [{bar:30.cyan/blue}] {human_pos}/{human_len} ({eta} left)",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                ),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
                ProgressStyle::with_template("{spinner} {msg} {human_pos}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        bar.set_message(message.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        Self { bar: Some(bar) }
    }

    pub fn inc(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        // Whatever happens (an error included), never leave a half-drawn bar behind.
        if let Some(bar) = &self.bar
            && !bar.is_finished()
        {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn print(format: Format, orders: &[ontime::types::Order]) -> String {
        let sink = Shared::default();
        let mut output = Output::new(format, Box::new(sink.clone()));
        let mut list = output.list::<ontime::types::Order>();
        for order in orders {
            list.push_serialize(order).unwrap();
        }
        list.finish().unwrap();
        String::from_utf8(sink.0.lock().unwrap().clone()).unwrap()
    }

    fn order(tn: &str, total: f64) -> ontime::types::Order {
        serde_json::from_value(serde_json::json!({
            "ID": "44bc0a1d-ef24-49b5-a0cb-54181ce5dbcf",
            "TrackingNumber": tn, "StatusLevel": 3, "TotalCost": total,
            "DateSubmitted": "2026-11-24T15:00:00",
            "CollectionLocation": {"CompanyName": "A very long company name that goes on and on"}
        }))
        .unwrap()
    }

    #[test]
    fn lists_in_every_format() {
        let orders = [order("1001", 12.5), order("1002", 7.0)];
        let table = print(Format::Table, &orders);
        assert!(table.starts_with("ID  "), "{table}");
        assert!(table.contains("A very long company nam…"), "{table}");
        assert!(table.contains("Delivered"), "{table}");
        assert!(table.contains("12.50"), "{table}");
        let json: Value = serde_json::from_str(&print(Format::Json, &orders)).unwrap();
        assert_eq!(json.as_array().unwrap().len(), 2);
        assert_eq!(print(Format::Json, &[]), "[]\n");
        let ndjson = print(Format::Ndjson, &orders);
        assert_eq!(ndjson.lines().count(), 2);
        for line in ndjson.lines() {
            serde_json::from_str::<Value>(line).unwrap();
        }
        let csv = print(Format::Csv, &orders);
        let mut lines = csv.lines();
        assert!(
            lines
                .next()
                .unwrap()
                .starts_with("ID,TrackingNumber,StatusLevel,")
        );
        assert!(lines.next().unwrap().contains(",1001,Delivered,"));
        assert_eq!(print(Format::Csv, &[]).lines().count(), 1);
        assert_eq!(print(Format::Table, &[]), "");
    }

    #[test]
    fn control_characters_are_escaped_in_tables_and_messages() {
        let hostile = "\u{1b}]0;title\u{7}\u{1b}[31mred\u{85}\u{7f}\tend";
        let shown = r"\u{1b}]0;title\u{7}\u{1b}[31mred\u{85}\u{7f}\tend";
        assert_eq!(escape_controls(hostile, false), shown);
        assert_eq!(escape_controls("a\nb", true), "a\nb");
        assert_eq!(escape_controls("a\nb", false), r"a\nb");
        assert!(matches!(
            escape_controls("plain é", false),
            Cow::Borrowed(_)
        ));
        let cols = [Col {
            header: "Name",
            path: &[],
            fmt: Fmt::Text,
            max: 80,
        }];
        let text = render_table(&cols, vec![vec![hostile.into()]]);
        assert!(
            !text.contains(|c: char| c.is_control() && c != '\n'),
            "{text:?}"
        );
        assert!(text.contains(shown), "{text}");
        // Widths count the escapes as shown.
        assert_eq!(
            text.lines().nth(1).map(|l| l.chars().count()),
            Some(shown.len())
        );
        let mut order = order("1001", 1.0);
        order.comments = Some(hostile.into());
        let csv = print(Format::Csv, std::slice::from_ref(&order));
        assert!(csv.contains("\u{1b}]0;title"), "CSV keeps the bytes");
    }

    #[test]
    fn tables_fix_widths_after_a_batch_and_cut_long_cells() {
        let cols = [Col {
            header: "Name",
            path: &[],
            fmt: Fmt::Text,
            max: 6,
        }];
        let mut rows: Vec<Vec<String>> = (0..TABLE_BATCH).map(|_| vec!["abc".into()]).collect();
        rows.push(vec!["abcdefghij".into()]);
        let text = render_table(&cols, rows);
        assert_eq!(text.lines().last(), Some("abc…"));
        assert_eq!(text.lines().next(), Some("Name"));
        assert_eq!(truncate("héllo wörld", 5), "héll…");
    }
}
