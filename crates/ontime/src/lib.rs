//! A friendly client for the [OnTime 360](https://www.ontime360.com) courier-dispatch REST API.
//!
//! The raw API makes its users do busy work: finders return only GUIDs, every update must send
//! the whole record or lose data, enums come as integers, date-times without offsets. This crate
//! does that work:
//!
//! - **One client** ([`Client::builder`], [`Client::from_env`], or [`ClientBuilder::from_env`]
//!   with settings layered over the environment) with the API key kept secret,
//!   timeouts, a client-wide concurrency limit, retries with backoff and `Retry-After`, tracing
//!   spans per call, and the account's quota as the server reports it ([`Client::quota`]).
//! - **A handle per record type** (`client.orders()`, `client.customers()`, ...) with
//!   [`get`](Resource::get), [`ids`](Resource::ids), [`find`](Resource::find) (records, not
//!   GUIDs, fetched concurrently, as a stream or collected), [`get_many`](Resource::get_many),
//!   [`save`](Resource::save) and [`modify`](Resource::modify) wherever the API has them, plus
//!   the order and user actions.
//! - **Typed IDs** ([`OrderId`], [`CustomerId`], ...) and **typed filters** ([`OrderFilter`], ...).
//! - **One error type**, [`Error`], that says which operation failed, with what status and what
//!   the server said, whatever format it said it in.
//!
//! # OnTime clears what you leave out
//!
//! Every `*/post` of the API *replaces* the stored record: fields missing from the body are set to
//! null. Never post a record you built from scratch over an existing one. Change records with
//! [`Resource::modify`], which fetches the record, applies your change and posts the whole
//! record back; fields this library does not know yet are kept and written back too.
//!
//! ```
//! use futures::TryStreamExt;
//! use ontime::{Client, OrderFilter, StatusLevel};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let simulator = ontime_mock::OnTimeMock::builder().seed(1).orders(40).start().await?;
//! // Client::from_env() reads ONTIME_COMPANY_ID (or ONTIME_BASE_URL) and ONTIME_API_KEY;
//! // ClientBuilder::from_env() does the same and lets later settings override them.
//! let client = Client::builder()
//!     .base_url(simulator.base_url()) // or .company_id("my-company")
//!     .api_key(simulator.api_key())
//!     .build()?;
//! let mut delivered = client
//!     .orders()
//!     .find(OrderFilter::new().status(StatusLevel::Delivered))
//!     .stream();
//! while let Some(order) = delivered.try_next().await? {
//!     assert_eq!(order.status_level, Some(StatusLevel::Delivered));
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Testing your code
//!
//! The `ontime-mock` crate runs a stateful OnTime simulator in-process on 127.0.0.1 (seeded
//! data, fault injection, a request log). Point a client at it in one line:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let simulator = ontime_mock::OnTimeMock::builder().seed(7).orders(20).start().await?;
//! let client = ontime::Client::builder().base_url(simulator.base_url()).api_key(simulator.api_key()).build()?;
//!
//! let orders = client.orders().find_all().collect_vec().await?;
//! assert_eq!(orders.len(), 20);
//! // One finder call plus one get per order, as the simulator's request log shows.
//! assert_eq!(simulator.requests().len(), 21);
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod actions;
mod client;
mod env;
mod error;
mod filters;
mod quota;
mod resource;
mod retry;

pub use actions::{
    Attachment, CodRequirement, Document, OrderRef, ReportKind, SignatureRequirement, StatusChange,
};
pub use client::{
    AuthScheme, CallEvent, Client, ClientBuilder, DEFAULT_HOST, DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_ERROR_BODY_BYTES, MAX_CONCURRENCY,
};
pub use error::{ConfigErrorKind, Error, Retried};
pub use filters::{
    CustomerFilter, LocationFilter, NoFilter, OrderFilter, PositionFilter, UserFilter,
    UserSessionFilter,
};
pub use ontime_raw::ids::*;
pub use ontime_raw::index::{self, Operation};
pub use ontime_raw::lenient;
pub use ontime_raw::lenient::{
    CompensationRole, CompensationType, DateTimeOffset, LenientEnum, LogInType, OnTimeDateTime,
    PriceModifierInput, PriceModifierType, PricingMethod, SignatureType, StatusLevel, TimeSpan,
    UnknownEnumValue,
};
pub use ontime_raw::types;
pub use quota::Quota;
pub use resource::{Fetch, Find, MODIFY_ROUNDS, Record, Resource, Search, Store};
pub use retry::{Idempotency, RetryDecision, RetryEvent, RetryPolicy};

/// The result of every fallible call in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

macro_rules! handles {
    ($($(#[$doc:meta])* $method:ident => $ty:ident;)*) => {
        /// The record types with a handle, for the test against the spec index.
        #[cfg(test)]
        const HANDLED: &[&str] = &[$(stringify!($ty)),*];

        impl Client {
            $(
                $(#[$doc])*
                pub fn $method(&self) -> Resource<types::$ty> {
                    Resource::new(self.clone())
                }
            )*
        }
    };
}

handles! {
    /// Orders: get, find, save, modify, and the order actions (status, COD and signature
    /// requirements, prices, reports, signatures, attachments, timeline).
    orders => Order;
    /// Customers: get, find, save, modify, authenticate, by name.
    customers => Customer;
    /// Contacts: get, find, save, modify, authenticate.
    contacts => Contact;
    /// Departments: get, find, save, modify.
    departments => Department;
    /// Invoices: get, find, save, modify.
    invoices => Invoice;
    /// Items (an order's pieces): get, save, modify.
    items => Item;
    /// Locations: get, find (city, state), save, modify.
    locations => Location;
    /// Payments: get, find, save, modify.
    payments => Payment;
    /// Users: get, find, authenticate, availability and positions.
    users => User;
    /// Time-clock sessions: get, find, save, modify.
    user_sessions => UserSession;
    /// Vehicles: get, find, save, modify.
    vehicles => Vehicle;
    /// Zones: get, find, save, modify.
    zones => Zone;
    /// Status records: get, find.
    statuses => Status;
    /// Price sets (service levels): get, by name.
    price_sets => PriceSet;
    /// Price modifiers: get, by name.
    price_modifiers => PriceModifier;
    /// File attachments: get, and list one order's.
    file_attachments => FileAttachment;
    /// Miscellaneous user compensations: get, save, modify.
    user_misc_compensations => UserMiscCompensation;
}

#[cfg(test)]
mod tests {
    /// Every record of the spec that the API can fetch by ID has a handle, and every handle
    /// is a record of the spec: a record added to the spec fails here until it gets one.
    #[test]
    fn every_fetchable_record_of_the_spec_has_a_handle() {
        for name in super::HANDLED {
            assert!(
                crate::index::record(name).is_some(),
                "{name} is not a record of the spec"
            );
        }
        let fetchable: Vec<&str> = crate::index::RECORDS
            .iter()
            .map(|r| r.name)
            .filter(|name| {
                crate::Operation::all().any(|op| {
                    op.method() == "GET"
                        && op.path().ends_with("/{id}")
                        && op.info().id.to_ascii_lowercase().ends_with("get")
                        && op
                            .path()
                            .to_ascii_lowercase()
                            .contains(&name.to_ascii_lowercase())
                })
            })
            .collect();
        let mut missing: Vec<&str> = fetchable
            .iter()
            .copied()
            .filter(|name| !super::HANDLED.contains(name))
            .collect();
        missing.sort_unstable();
        assert_eq!(fetchable.len(), super::HANDLED.len(), "{fetchable:?}");
        assert_eq!(
            missing,
            Vec::<&str>::new(),
            "records the spec fetches by ID without a handle"
        );
    }
}

/// The workspace README's Rust examples, compiled as doc tests so they cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
