//! `ontime sync run` (the collector daemon) and `ontime sync status`, on `sync.toml`
//! (`ontime_sync::config`).

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use clap::{Args, Subcommand};
use ontime_sync::collect::SystemClock;
use ontime_sync::config::{Secrets, SyncConfig};
use ontime_sync::run::account::{AccountStatus, STATUS_CURSOR};
use ontime_sync::run::http::HttpState;
use ontime_sync::run::worker::Health;
use ontime_sync::run::{
    CancellationToken, Deliveries, DeliveryRoutes, DestinationState, Metrics, Role, Worker, http,
};
use ontime_sync::store::outbox::DeliveryStore;
use ontime_sync::store::{EventStore, Store};

use crate::error::{CliError, Exit, chain};

const RUN_HELP: &str = "\
Logs go to stderr (RUST_LOG filters them; default info; `RUST_LOG=ontime_sync=debug` adds one
`delivery` line per attempt: destination, event id, position, attempt, outcome). The first
line on stderr is `ontime sync: listening on http://ADDR` (GET /healthz, GET /metrics,
POST /inbound/{token}).

Roles: `all` (default) collects and delivers in one process, each destination ([[webhook]],
[[nats]]) in its own task; `collect` only queues events for the destinations; `deliver` only
sends the outbox (no OnTime calls, no leases). Several `deliver` processes on one Postgres
share the outbox: each delivery is claimed by one of them at a time.

Shutdown (SIGTERM or Ctrl-C): nothing more is claimed; sends in flight finish within their
timeout (the longest destination timeout plus 10 s at most), else they are abandoned and their
claims expire (twice the destination's timeout plus 30 s) and are sent again by the next
dispatcher (receivers deduplicate by webhook-id). The collector's step in progress finishes,
leases are released.

Exit status: 0 after SIGTERM or Ctrl-C; 2 when sync.toml is invalid (the message names
file:line:column and the field) or a destination cannot be set up; 6 when the store cannot be
opened; 1 when the HTTP address cannot be bound.";

#[derive(Subcommand, Debug)]
pub enum SyncCommand {
    /// Run the collector and the deliveries: every account of sync.toml under leases, every
    /// destination in its own task, until SIGTERM or Ctrl-C
    #[command(after_long_help = RUN_HELP)]
    Run(RunArgs),
    /// Show each account's sync status and each destination's health, backlog and dead
    /// letters from the store (works while daemons run elsewhere)
    Status(StatusArgs),
}

#[derive(Args, Debug)]
pub struct ConfigArg {
    /// The configuration file
    #[arg(long, value_name = "PATH", default_value = "sync.toml", value_hint = clap::ValueHint::FilePath)]
    config: PathBuf,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// What this process does: collect, deliver, or all
    #[arg(long, value_name = "ROLE", default_value = "all", value_parser = ["collect", "deliver", "all"])]
    role: String,
}

#[derive(Args, Debug)]
#[command(after_long_help = STATUS_HELP)]
pub struct StatusArgs {
    /// The configuration file (its accounts and destinations; keys are not read)
    /// [default: sync.toml, unless --store is given]
    #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    config: Option<PathBuf>,
    /// Read this store instead (a SQLite path or a postgres:// URL, never created): shows
    /// every destination the store knows, and no account
    #[arg(long, value_name = "URL", conflicts_with = "config")]
    store: Option<String>,
    /// One JSON object: {"accounts": {name: {lease, status}}, "destinations": {name: state}}
    #[arg(long)]
    json: bool,
}

const STATUS_HELP: &str = "\
Each destination ([[webhook]], [[nats]]) shows its health: ok, failing since T (every attempt
since T failed), or disabled (when and why: 410 Gone, a refused target, failing longer than
disable_after); its backlog (deliveries waiting) and how long the oldest has waited; its dead
letters (queue them again with `ontime events redeliver --endpoint NAME --failed-since T`);
its last error. Destinations are read from the store: several `ontime sync run` processes
share them.";

pub async fn run(cmd: SyncCommand) -> Result<(), CliError> {
    match cmd {
        SyncCommand::Run(args) => daemon(args).await,
        SyncCommand::Status(args) => status(args).await,
    }
}

fn load(args: &ConfigArg, secrets: Secrets) -> Result<SyncConfig, CliError> {
    SyncConfig::load(&args.config, secrets).map_err(|e| CliError::usage(e.to_string()))
}

async fn open(config: &SyncConfig) -> Result<Store, CliError> {
    Store::open(config.store.as_str()).await.map_err(|e| {
        CliError::new(
            Exit::Network,
            format!("cannot open the store: {}", chain(&e)),
        )
        .with_hint("check [store] url in the configuration and that the database is running")
    })
}

async fn daemon(args: RunArgs) -> Result<(), CliError> {
    init_logs();
    let role: Role = args.role.parse().map_err(CliError::usage)?;
    let config = load(&args.config, Secrets::Read)?;
    let store = open(&config).await?;
    let metrics = Arc::new(Metrics::new());
    let cancel = CancellationToken::new();
    let mut worker = if role.collects() {
        Some(
            Worker::new(&config, store.clone(), SystemClock, metrics.clone())
                .map_err(|e| CliError::usage(chain(&e)))?,
        )
    } else {
        None
    };
    let (health, state) = match &worker {
        Some(worker) => (worker.health(), worker.http_state()),
        None => {
            let health = Arc::new(Mutex::new(Health {
                worker: config.worker.id.clone(),
                store_ok: true,
                collecting: false,
                ..Health::default()
            }));
            let state = HttpState {
                metrics: metrics.clone(),
                health: health.clone(),
                inbound: Arc::new(Vec::new()),
                stale_after: TimeDelta::from_std(config.worker.lease_ttl)
                    .unwrap_or_default()
                    .max(TimeDelta::seconds(45)),
                now: Arc::new(Utc::now),
            };
            (health, state)
        }
    };
    let deliveries = if role.delivers() {
        let deliveries = Deliveries::start(
            &config,
            store.clone(),
            SystemClock,
            &config.worker.id,
            metrics.clone(),
            health,
            cancel.clone(),
        )
        .map_err(|e| CliError::usage(chain(&e)))?;
        Some(deliveries)
    } else {
        None
    };
    if let Some(worker) = &mut worker {
        let mut routes = DeliveryRoutes::from_config(&config);
        if let Some(deliveries) = &deliveries {
            routes = routes.with_wakers(deliveries.wakers());
        }
        worker.set_delivery(routes);
    }
    let listener = tokio::net::TcpListener::bind(config.http.listen)
        .await
        .map_err(|e| {
            CliError::other(format!("cannot listen on {}: {e}", config.http.listen))
                .with_hint("another program may use the port: change [http] listen")
        })?;
    let addr = listener.local_addr().map_err(CliError::internal)?;
    stop_on_signals(cancel.clone())?;
    // The first pass (leases, first steps) before the address is announced: /healthz is
    // meaningful from the first request on.
    if let Some(worker) = &mut worker {
        worker.step(Utc::now()).await;
    }
    let server = tokio::spawn(http::serve(listener, http::router(state), cancel.clone()));
    eprintln!("ontime sync: listening on http://{addr}");
    tracing::info!(
        worker = %config.worker.id,
        role = role.as_str(),
        accounts = if role.collects() { config.accounts.len() } else { 0 },
        destinations = deliveries.as_ref().map_or(0, |d| d.destinations().len()),
        %addr,
        "sync daemon started"
    );
    match worker {
        Some(worker) => worker.run(cancel.clone()).await,
        None => cancel.cancelled().await,
    }
    if let Some(deliveries) = deliveries {
        let bound = deliveries.shutdown_bound();
        let report = deliveries.stop(bound).await;
        if !report.abandoned.is_empty() {
            tracing::warn!(
                abandoned = ?report.abandoned,
                "sends still in flight were abandoned; their claims expire and are retried"
            );
        }
    }
    match server.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "HTTP server stopped with an error"),
        Err(e) => tracing::warn!(error = %e, "HTTP server task failed"),
    }
    store.close().await;
    tracing::info!("sync daemon stopped");
    Ok(())
}

/// Logs at info on stderr unless `-v` already set a subscriber up; `RUST_LOG` filters.
fn init_logs() {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// Cancels `cancel` on SIGTERM or Ctrl-C (SIGINT).
fn stop_on_signals(cancel: CancellationToken) -> Result<(), CliError> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let cannot = |e: std::io::Error| CliError::other(format!("cannot listen for signals: {e}"));
        let mut term = signal(SignalKind::terminate()).map_err(cannot)?;
        let mut int = signal(SignalKind::interrupt()).map_err(cannot)?;
        tokio::spawn(async move {
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM: stopping after the current step"),
                _ = int.recv() => tracing::info!("SIGINT: stopping after the current step"),
            }
            cancel.cancel();
        });
    }
    #[cfg(not(unix))]
    {
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            cancel.cancel();
        });
    }
    Ok(())
}

async fn status(args: StatusArgs) -> Result<(), CliError> {
    let (config, store) = match &args.store {
        Some(url) => {
            let store = crate::events::location::Location::parse(url)?
                .open()
                .await?;
            (None, store)
        }
        None => {
            let file = ConfigArg {
                config: args.config.clone().unwrap_or_else(|| "sync.toml".into()),
            };
            let config = load(&file, Secrets::Skip)?;
            let store = open(&config).await?;
            (Some(config), store)
        }
    };
    let failed = |e: ontime_sync::store::StoreError| CliError::new(Exit::Network, chain(&e));
    let mut statuses = Vec::new();
    for account in config.iter().flat_map(|c| &c.accounts) {
        let lease = store.lease(&account.name).await.map_err(failed)?;
        let value = store
            .cursor(&account.name, STATUS_CURSOR)
            .await
            .map_err(failed)?;
        let status = match value {
            Some(value) => Some(
                serde_json::from_value::<AccountStatus>(value.clone()).map_err(|e| {
                    CliError::other(format!("account {}: unreadable status: {e}", account.name))
                })?,
            ),
            None => None,
        };
        statuses.push((account.name.clone(), lease, status));
    }
    let health = store.destination_health().await.map_err(failed)?;
    store.close().await;
    let now = Utc::now();
    // The configured destinations (also those the store has not seen yet), then any other the
    // store knows (a destination removed from the file still has its rows).
    let mut names: Vec<(String, &str)> = match &config {
        Some(c) => c
            .webhooks
            .iter()
            .map(|w| (w.name.clone(), "webhook"))
            .chain(c.nats.iter().map(|n| (n.name.clone(), "nats")))
            .collect(),
        None => Vec::new(),
    };
    for h in &health {
        if !names.iter().any(|(n, _)| n == &h.destination) {
            names.push((
                h.destination.clone(),
                if config.is_some() {
                    "not configured"
                } else {
                    ""
                },
            ));
        }
    }
    let list: Vec<String> = names.iter().map(|(n, _)| n.clone()).collect();
    let destinations = DestinationState::all(&list, &health, now);
    let mut out = std::io::stdout().lock();
    if args.json {
        let accounts: serde_json::Map<String, serde_json::Value> = statuses
            .into_iter()
            .map(|(name, lease, status)| {
                let lease = lease.map(|l| {
                    serde_json::json!({
                        "worker": l.worker,
                        "token": l.token,
                        "held": l.expires_at > now,
                        "expires_at": (l.expires_at > DateTime::<Utc>::MIN_UTC).then_some(l.expires_at),
                    })
                });
                let status = status.map(|s| serde_json::to_value(s).unwrap_or_default());
                (name, serde_json::json!({ "lease": lease, "status": status }))
            })
            .collect();
        let destinations: serde_json::Map<String, serde_json::Value> = destinations
            .iter()
            .zip(&names)
            .map(|((name, state), (_, kind))| {
                let mut value = serde_json::to_value(state).unwrap_or_default();
                if !kind.is_empty() {
                    value["kind"] = serde_json::Value::from(*kind);
                }
                (name.clone(), value)
            })
            .collect();
        let object = serde_json::json!({ "accounts": accounts, "destinations": destinations });
        let text = serde_json::to_string_pretty(&object).map_err(CliError::internal)?;
        writeln!(out, "{text}")?;
        return Ok(());
    }
    for (name, lease, status) in statuses {
        write_account(&mut out, &name, lease, status, now)?;
    }
    for ((name, state), (_, kind)) in destinations.iter().zip(&names) {
        write_destination(&mut out, name, kind, state, now)?;
    }
    Ok(())
}

fn write_account(
    out: &mut impl Write,
    name: &str,
    lease: Option<ontime_sync::store::Lease>,
    status: Option<AccountStatus>,
    now: DateTime<Utc>,
) -> Result<(), CliError> {
    writeln!(out, "{name}")?;
    let holder = match lease {
        Some(l) if l.expires_at > now => format!(
            "{} (fencing token {}), renewed until {}",
            l.worker,
            l.token,
            l.expires_at.format("%Y-%m-%dT%H:%M:%SZ")
        ),
        Some(l) => format!(
            "none: released or expired (last {}, fencing token {})",
            l.worker, l.token
        ),
        None => "none: never leased".to_owned(),
    };
    writeln!(out, "  lease holder:  {holder}")?;
    let Some(s) = status else {
        writeln!(out, "  no status yet: no runner has collected this account")?;
        return Ok(());
    };
    writeln!(out, "  updated:       {}", ago(s.updated_at, now))?;
    writeln!(
        out,
        "  lag:           {}",
        s.lag_seconds.map_or("-".to_owned(), |l| format!("{l} s"))
    )?;
    writeln!(
        out,
        "  calls today:   {} (projected {} for the day; {} left in our share)",
        s.calls_today, s.projected_today, s.budget_left
    )?;
    let events: Vec<String> = s
        .events_by_type
        .iter()
        .map(|(ty, n)| format!("{ty} {n}"))
        .collect();
    writeln!(
        out,
        "  events:        {}",
        if events.is_empty() {
            "-".to_owned()
        } else {
            events.join(", ")
        }
    )?;
    writeln!(
        out,
        "  cursors:       poll {} orders, {} pending; inbound {} queued",
        s.cursors.poll_orders, s.cursors.poll_pending, s.cursors.inbound_queued
    )?;
    let error = match &s.last_error {
        Some(e) => format!("{} {}: {}", e.source, ago(Some(e.at), now), e.message),
        None => "-".to_owned(),
    };
    writeln!(
        out,
        "  last error:    {}",
        crate::terminal::escape_controls(&error, true)
    )?;
    Ok(())
}

/// One destination of `ontime sync status`.
fn write_destination(
    out: &mut impl Write,
    name: &str,
    kind: &str,
    state: &DestinationState,
    now: DateTime<Utc>,
) -> Result<(), CliError> {
    let clean = |text: &str| crate::terminal::escape_controls(text, true).into_owned();
    if kind.is_empty() {
        writeln!(out, "destination {}", clean(name))?;
    } else {
        writeln!(out, "destination {} ({kind})", clean(name))?;
    }
    let health = match (
        state.disabled_at,
        &state.disabled_reason,
        state.failing_since,
    ) {
        (Some(_), reason, _) => format!(
            "disabled since {}: {}",
            ago(state.disabled_at, now),
            clean(reason.as_deref().unwrap_or("-"))
        ),
        (None, _, Some(since)) => format!("failing since {}", ago(Some(since), now)),
        _ => "ok".to_owned(),
    };
    writeln!(out, "  health:        {health}")?;
    let oldest = match state.oldest_waiting_s {
        Some(age) => format!(" (oldest waiting {age} s)"),
        None => String::new(),
    };
    writeln!(out, "  backlog:       {}{oldest}", state.backlog)?;
    writeln!(out, "  dead letters:  {}", state.dead_letters)?;
    writeln!(out, "  last success:  {}", ago(state.last_success_at, now))?;
    writeln!(
        out,
        "  last error:    {}",
        clean(state.last_error.as_deref().unwrap_or("-"))
    )?;
    Ok(())
}

fn ago(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match at {
        Some(at) => {
            let seconds = (now - at).num_seconds();
            format!(
                "{} ({} s ago)",
                at.format("%Y-%m-%dT%H:%M:%SZ"),
                seconds.max(0)
            )
        }
        None => "-".to_owned(),
    }
}
