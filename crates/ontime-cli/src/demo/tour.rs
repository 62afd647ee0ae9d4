//! How the tour prints: steps, text, code, and tables (views narrowed to fit 100 columns), and
//! the small formatting helpers the steps share.

use std::io::Write;
use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};
use ontime::OnTimeDateTime;
use serde_json::Value;

use ontime::Client;
use ontime_mock::RunningMock;

use crate::error::CliError;
use crate::views::{self, Col, Fmt, View};

/// What the steps share: the printer, the client, the simulator and its frozen clock.
pub struct Demo {
    pub tour: Tour,
    pub client: Client,
    pub mock: RunningMock,
    pub now: NaiveDateTime,
}

/// Prints the tour to stdout as it goes.
pub struct Tour {
    step: u32,
    blank: bool,
}

impl Tour {
    pub fn new() -> Self {
        Tour {
            step: 0,
            blank: false,
        }
    }

    pub fn line(&mut self, text: impl AsRef<str>) {
        let text = text.as_ref();
        if text.is_empty() && self.blank {
            return;
        }
        self.blank = text.is_empty();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    pub fn step(&mut self, title: &str) {
        self.step += 1;
        let head = format!("── {}. {title} ", self.step);
        let fill = 78usize.saturating_sub(head.chars().count());
        self.line("");
        self.line(format!("{head}{}", "─".repeat(fill)));
    }

    pub fn say(&mut self, text: impl AsRef<str>) {
        for line in text.as_ref().lines() {
            self.line(format!("  {line}"));
        }
    }

    /// The SDK call a step makes, as code.
    pub fn code(&mut self, text: &str) {
        for line in text.lines() {
            self.line(format!("    {line}"));
        }
    }

    pub fn table(&mut self, text: &str) {
        self.line("");
        for line in text.lines() {
            self.line(format!("    {line}").trim_end());
        }
        self.line("");
    }
}

pub fn col(header: &'static str, path: &'static [&'static str], fmt: Fmt, max: usize) -> Col {
    Col {
        header,
        path,
        fmt,
        max,
    }
}

/// Orders without the ID column, so the tour fits 100 columns.
pub static DEMO_ORDERS: View = View {
    singular: "order",
    plural: "orders",
    fields: views::ORDER_FIELDS,
    columns: &[
        Col {
            header: "Tracking #",
            path: &["TrackingNumber"],
            fmt: Fmt::Text,
            max: 10,
        },
        Col {
            header: "Status",
            path: &["StatusLevel"],
            fmt: Fmt::Enum(&ontime::index::STATUS_LEVEL),
            max: 16,
        },
        Col {
            header: "Submitted",
            path: &["DateSubmitted"],
            fmt: Fmt::Date,
            max: 16,
        },
        Col {
            header: "From",
            path: &["CollectionLocation", "CompanyName"],
            fmt: Fmt::Text,
            max: 22,
        },
        Col {
            header: "To",
            path: &["DeliveryLocation", "CompanyName"],
            fmt: Fmt::Text,
            max: 22,
        },
        Col {
            header: "Total",
            path: &["TotalCost"],
            fmt: Fmt::Money,
            max: 8,
        },
    ],
};

/// Positions without the user column.
pub static DEMO_POSITIONS: View = View {
    singular: "position",
    plural: "positions",
    fields: views::USER_POSITION_FIELDS,
    columns: &[
        Col {
            header: "Time",
            path: &["Timestamp"],
            fmt: Fmt::Date,
            max: 16,
        },
        Col {
            header: "Latitude",
            path: &["Latitude"],
            fmt: Fmt::Num,
            max: 10,
        },
        Col {
            header: "Longitude",
            path: &["Longitude"],
            fmt: Fmt::Num,
            max: 10,
        },
    ],
};

/// How many fields of a record hold a value (embedded records counted field by field).
pub fn fields_with_values(value: &Value) -> usize {
    match value {
        Value::Null => 0,
        Value::Object(map) => map.values().map(fields_with_values).sum(),
        Value::Array(items) => items.iter().map(fields_with_values).sum(),
        _ => 1,
    }
}

/// The paths of the leaf values that differ between two records.
pub fn differences(a: &Value, b: &Value, path: String, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for key in keys {
                let sub = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                let null = Value::Null;
                differences(
                    x.get(key).unwrap_or(&null),
                    y.get(key).unwrap_or(&null),
                    sub,
                    out,
                );
            }
        }
        (x, y) if x != y => out.push(path),
        _ => {}
    }
}

/// `42 ms`, `1.3 s`.
pub fn duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// `86285` as `86,285`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

pub fn at(t: NaiveDateTime) -> OnTimeDateTime {
    OnTimeDateTime::naive(t)
}

pub fn minutes(m: i64) -> TimeDelta {
    TimeDelta::minutes(m)
}

pub fn demo_error(step: &str, error: impl Into<CliError>) -> CliError {
    let error = error.into();
    CliError::other(format!("the demo failed at \"{step}\": {}", error.message))
}
