//! `ontime events redeliver`: queue deliveries again, one event or a destination's dead letters
//! since a time.
//!
//! The store does the work ([`DeliveryStore::redeliver`]); this command checks the names first:
//! an event id the store does not hold and a destination name that neither `--config` nor the
//! store knows are errors with their own exit codes (5 and 14), so a typo never queues
//! deliveries for a destination nobody sends to.
//!
//! A disabled destination is not enabled by redelivering to it: its deliveries are queued and
//! wait. `--enable` enables it (the operator says the endpoint is fixed), and the command notes
//! a disabled destination otherwise.

use std::io::Write;

use chrono::{DateTime, Utc};
use clap::Args;
use ontime_sync::event::EventId;
use ontime_sync::store::StoreError;
use ontime_sync::store::outbox::{DeliveryStore, Redeliver};

use super::StoreArg;
use super::location::store_error;
use crate::error::{CliError, Exit};

#[derive(Args, Debug)]
#[command(group(
    clap::ArgGroup::new("what").required(true).args(["event_id", "failed_since"])
))]
pub struct RedeliverArgs {
    /// The event to deliver again (evt_…): to every destination it was queued for, or to
    /// those given with --endpoint
    #[arg(value_name = "EVENT_ID", conflicts_with = "failed_since")]
    event_id: Option<String>,
    /// A destination (the name of a webhook or NATS entry in sync.toml); repeat for several. Required with
    /// --failed-since
    #[arg(long = "endpoint", value_name = "NAME", value_parser = crate::args::non_blank)]
    endpoints: Vec<String>,
    /// Queue again the endpoints' dead letters from this time on: RFC 3339
    /// (2026-12-01T08:00:00Z) or a duration ago (2h, 30m, 1d)
    #[arg(long, value_name = "TIME", requires = "endpoints", value_parser = since)]
    failed_since: Option<DateTime<Utc>>,
    /// Enable the endpoints first if they were disabled (410 Gone, failing too long)
    #[arg(long)]
    enable: bool,
    #[command(flatten)]
    store: StoreArg,
}

/// `--failed-since`: RFC 3339, or a humantime duration before now.
fn since(text: &str) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    let ago = humantime::parse_duration(text).map_err(|_| {
        format!(
            "{text:?} is neither an RFC 3339 time (2026-12-01T08:00:00Z) nor a duration like 2h"
        )
    })?;
    chrono::TimeDelta::from_std(ago)
        .ok()
        .and_then(|ago| Utc::now().checked_sub_signed(ago))
        .ok_or_else(|| format!("{text:?} reaches too far back"))
}

pub async fn run(args: RedeliverArgs) -> Result<(), CliError> {
    let requests: Vec<Redeliver> = match (&args.event_id, args.failed_since) {
        (Some(text), _) => vec![Redeliver::Event {
            event_id: parse_event_id(text)?,
            destinations: args.endpoints.clone(),
        }],
        (None, Some(since)) => args
            .endpoints
            .iter()
            .map(|endpoint| Redeliver::FailedSince {
                destination: endpoint.clone(),
                since,
            })
            .collect(),
        (None, None) => {
            return Err(CliError::usage(
                "name an EVENT_ID, or --endpoint NAME with --failed-since TIME",
            ));
        }
    };
    let configured = match &args.store.config {
        Some(file) => Some(
            ontime_sync::config::SyncConfig::load(file, ontime_sync::config::Secrets::Skip)
                .map_err(|e| CliError::usage(e.to_string()))?
                .destination_names(),
        ),
        None => None,
    };
    let store = args.store.location()?.open().await?;
    let failed = |e: StoreError| store_error(&e);
    let health = store.destination_health().await.map_err(failed)?;
    for endpoint in &args.endpoints {
        let known = configured
            .as_ref()
            .is_some_and(|names| names.contains(endpoint))
            || health.iter().any(|h| &h.destination == endpoint);
        if !known {
            store.close().await;
            return Err(CliError::new(
                Exit::UnknownDestination,
                format!("no destination is named {endpoint:?}"),
            )
            .with_hint(
                "name a [[webhook]] or [[nats]] entry of sync.toml (pass --config to check against it)",
            ));
        }
    }
    let now = Utc::now();
    if args.enable {
        for endpoint in &args.endpoints {
            store
                .enable_destination(endpoint, now)
                .await
                .map_err(failed)?;
        }
    }
    let mut queued = 0;
    let mut result = Ok(());
    for what in &requests {
        match store.redeliver(what, now).await {
            Ok(n) => queued += n,
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    store.close().await;
    match result {
        Ok(()) => {}
        Err(StoreError::EventNotFound { event_id }) => {
            return Err(CliError::not_found(format!(
                "the store holds no event {event_id}"
            )));
        }
        Err(e) => return Err(failed(e)),
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "queued {queued} deliver{}",
        if queued == 1 { "y" } else { "ies" }
    )?;
    if !args.enable {
        for h in &health {
            if args.endpoints.contains(&h.destination)
                && let Some((_, why)) = &h.disabled
            {
                eprintln!(
                    "note: {} is disabled ({}): its deliveries wait until it is enabled (--enable)",
                    h.destination,
                    crate::terminal::escape_controls(why, true)
                );
            }
        }
    }
    Ok(())
}

fn parse_event_id(text: &str) -> Result<EventId, CliError> {
    let text = text.trim();
    let well_formed = text
        .strip_prefix(EventId::PREFIX)
        .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()));
    if !well_formed {
        return Err(CliError::usage(format!(
            "{text:?} is not an event id (evt_ followed by letters and digits)"
        )));
    }
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|e| CliError::usage(format!("{text:?} is not an event id: {e}")))
}
