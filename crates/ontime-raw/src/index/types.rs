//! The types the generated index data is made of.

use super::data::Operation;

/// What a field holds, as the spec types it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A string.
    Text,
    /// A GUID (`format: uuid`).
    Id,
    /// An OnTime date-time (`format: ontime-date-time`).
    DateTime,
    /// A .NET TimeSpan string (`format: timespan`).
    TimeSpan,
    /// An integer.
    Integer,
    /// A floating-point number.
    Number,
    /// A boolean.
    Bool,
    /// Base64 contents (`format: byte`).
    Bytes,
    /// An int-or-name enum of [`ENUMS`](super::ENUMS), by name.
    Enum(&'static str),
    /// An embedded record of [`RECORDS`](super::RECORDS), by name.
    Record(&'static str),
    /// A list of values of one kind.
    Array(&'static Kind),
    /// A JSON object keyed by free names, with values of one kind.
    Map(&'static Kind),
    /// Any JSON value (the spec does not constrain it).
    Any,
}

/// One field of a record: its wire name and kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// The wire name (`TrackingNumber`).
    pub name: &'static str,
    /// What it holds.
    pub kind: Kind,
}

/// A record schema: its name and fields (sorted by wire name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// The schema name (`Order`).
    pub name: &'static str,
    /// The fields the spec lists.
    pub fields: &'static [Field],
}

impl Record {
    /// The field called `name` (exact wire spelling).
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// An int-or-name enum: its codes paired with their names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Enum {
    /// The schema name (`StatusLevel`).
    pub name: &'static str,
    /// `(code, name)` pairs, as the spec lists them.
    pub values: &'static [(i64, &'static str)],
}

/// The wire facts of one [`Operation`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OperationInfo {
    /// The operation.
    pub operation: Operation,
    /// Its `operationId` as the spec spells it (`ordersFind`).
    pub id: &'static str,
    /// The method of [`crate::Client`] that sends it (`orders_find`).
    pub client_method: &'static str,
    /// The HTTP method, upper case.
    pub method: &'static str,
    /// The path template under the site root (`/api/orders/{id}`).
    pub path: &'static str,
    /// The names of its query parameters, as sent.
    pub query: &'static [&'static str],
}
