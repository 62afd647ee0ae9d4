//! A simulated day of an OnTime account collected by the `ontime-sync` account runner: 2,000
//! orders (about 10,000 status changes; `--quick`: 200) and drivers reporting positions, at
//! three daily budgets — unlimited (10,000,000), 86,400 and 3,333 (the Grow plan's monthly
//! cap spread over 30 days) — each "with inbound triggers" (inbound + poll + reconcile +
//! drivers) and "without" (poll + reconcile + drivers).
//!
//! Step mode with the simulator's frozen clock ([`ontime_bench::sync_sim`]): the activity is
//! advanced to each tick (at least 5 s apart; the runner's `next_due` when later), then the
//! runner ticks there. The simulator's daily quota equals the budget (and the plan's share is
//! 1.0), so "never over the budget" is checked by the server too: it would answer 429. The
//! day runs at UTC+00:00 from 00:00; the drain after the activity ends lasts 30 minutes
//! (4 hours for the 3,333 budget, which crosses midnight: the next day's budget upgrades what
//! was left provisional).
//!
//! Figures, per budget and mode (`RESULT` lines; absolute figures as `INFO`):
//! - `recall_*`: changes found exactly once over the truth's changes (order status changes,
//!   driver availability changes and positions). Goal 1.0 at every budget.
//! - `exact_share_*`: of the truth's changes, those stored with an exact time. Goal 1.0 at
//!   unlimited and 86,400 (at 3,333 an `INFO` line).
//! - `lag_p95_s_*`: seconds from an order status change to the tick that stored it
//!   (provisional or exact), 95th percentile (p50, and the p95 with driver changes, which are
//!   read in rounds, as `INFO`). Goal ≤ 5 s with inbound triggers; without, ≤ one poll
//!   interval at that budget: the pacing floor of a poll, max(15 s, 2 × 5 finder calls / the
//!   budget's rate per second).
//! - `calls_max_day_*`: OnTime calls the runner spent in its busiest UTC day (the quota's
//!   window; a drain past midnight spends the next day's). Goal ≤ the budget, and no 429 from
//!   the server.
//! - `calls_per_floor_*`: calls spent over the floor for the sources' work. Goal ≤ 1.2.
//!   Floors: poll = its finder calls + 2 per moved order (an order's level changes in the
//!   truth: every one a poll can see as a move, so an upper bound of the moves a poll sees);
//!   inbound = 2 per notified change (order record + history); drivers = 1 per driver per
//!   round per kind (their calls: a round never calls twice for one driver and kind). The
//!   reconcile has no floor: its calls count against the others'. With inbound, a change is
//!   notified and fetched; the poll's moved orders are then already fetched, so the floor of
//!   the run is the inbound floor + finder calls + driver calls.
//!
//! `--quick`: 200 orders, the same figures.

use std::collections::BTreeMap;

use chrono::TimeDelta;
use ontime_bench::sync_sim::{Outcome, Recall, Scenario, evaluate, percentile, run};
use ontime_bench::{info, quick, report};
use ontime_mock::Change;
use ontime_sync::config::SourceKind;
use ontime_sync::store::Store;

const NAME: &str = "sync_day";
/// The budgets: (label, calls a day).
const BUDGETS: [(&str, u64); 3] = [
    ("unlimited", 10_000_000),
    ("86400", 86_400),
    ("3333", 3_333),
];
/// Finder calls per poll (the default watched levels).
const FINDER_CALLS: f64 = 5.0;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), BoxError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(day(quick()))
}

async fn day(quick: bool) -> Result<(), BoxError> {
    let orders = if quick { 200 } else { 2_000 };
    // Arrivals over about 16 hours from 00:00, lifecycles ending a few hours later.
    let rate = orders as f64 / 16.0;
    let mut all_pass = true;
    for (label, budget) in BUDGETS {
        for inbound in [true, false] {
            let mut scenario = Scenario::new(orders, rate);
            scenario.start = scenario.start.date().and_hms_opt(0, 0, 0).ok_or("start")?;
            if budget < 10_000_000 {
                scenario = scenario.budget(budget);
            }
            scenario.daily_budget = budget;
            scenario.drain = if budget < 10_000 {
                TimeDelta::hours(4)
            } else {
                TimeDelta::minutes(30)
            };
            scenario = if inbound {
                scenario.sources(&SourceKind::ALL)
            } else {
                scenario.sources(&[SourceKind::Poll, SourceKind::Reconcile, SourceKind::Drivers])
            };
            let dir = tempfile::tempdir()?;
            let store = Store::open_sqlite(&dir.path().join("events.db")).await?;
            let started = std::time::Instant::now();
            let outcome = run(&scenario, store).await?;
            let recall = evaluate(&outcome);
            let mode = if inbound { "inbound" } else { "poll" };
            all_pass &= figures(
                &format!("{mode}_{label}"),
                budget,
                inbound,
                &outcome,
                &recall,
            );
            info(
                NAME,
                &format!(
                    "{mode}_{label}: {} ticks in {:.1} s wall, simulated {} to {}",
                    outcome.ticks,
                    started.elapsed().as_secs_f64(),
                    outcome.start,
                    outcome.end
                ),
            );
        }
    }
    info(
        NAME,
        if all_pass {
            "all figures pass"
        } else {
            "some figures fail"
        },
    );
    Ok(())
}

/// Prints the figures of one run; whether all passed.
fn figures(run: &str, budget: u64, inbound: bool, outcome: &Outcome, recall: &Recall) -> bool {
    let mut pass = true;
    let value = recall.recall();
    pass &= report(
        NAME,
        &format!("recall_{run}"),
        value,
        "1.0",
        recall.is_complete(),
    )
    .pass;
    info(
        NAME,
        &format!(
            "{run}: orders {} of {} (missing {}, doubled {}, invented {}, provisional left {}), \
             drivers {} of {} (missing {}, doubled {}, invented {}, baseline {}), sequence gaps {}, \
             wrong types {}, in-transit/unassigned steps with a driver seen late {}, transfers \
             {} of {} as order.transferred",
            recall.order_found,
            recall.order_changes,
            recall.order_missing.len(),
            recall.order_doubled.len(),
            recall.order_invented,
            recall.order_provisional,
            recall.driver_found,
            recall.driver_changes,
            recall.driver_missing.len(),
            recall.driver_doubled,
            recall.driver_invented.len(),
            recall.driver_baseline,
            recall.sequence_gaps.len(),
            recall.wrong_type.len(),
            recall.driver_seen_late,
            recall.transfers.1,
            recall.transfers.0,
        ),
    );

    let exact = recall.exact_share();
    if budget >= 86_400 {
        pass &= report(
            NAME,
            &format!("exact_share_{run}"),
            exact,
            "1.0",
            exact >= 1.0,
        )
        .pass;
    } else {
        info(
            NAME,
            &format!("{run}: exact share {exact:.4} (no goal at this budget)"),
        );
    }

    let p50 = percentile(&recall.order_lags, 50.0).unwrap_or(f64::NAN);
    let p95 = percentile(&recall.order_lags, 95.0).unwrap_or(f64::NAN);
    let goal = if inbound {
        5.0
    } else {
        (2.0 * FINDER_CALLS / (budget as f64 / 86_400.0)).max(15.0)
    };
    pass &= report(
        NAME,
        &format!("lag_p95_s_{run}"),
        p95,
        &format!("<={goal:.0}"),
        p95 <= goal,
    )
    .pass;
    let all_p95 = percentile(&recall.lags, 95.0).unwrap_or(f64::NAN);
    info(
        NAME,
        &format!(
            "{run}: order lag p50 {p50:.1} s, p95 {p95:.1} s (with driver changes, read in \
             rounds, p95 {all_p95:.1} s)"
        ),
    );

    let spent: u64 = outcome.calls.values().sum();
    // Per UTC day (the quota's window): a drain past midnight spends the next day's budget.
    let busiest = outcome.calls_by_day.values().copied().max().unwrap_or(0);
    let within = busiest <= budget && outcome.refused == 0;
    pass &= report(
        NAME,
        &format!("calls_max_day_{run}"),
        busiest as f64,
        &format!("<={budget} and 0x429"),
        within,
    )
    .pass;
    info(
        NAME,
        &format!(
            "{run}: calls by source {:?}, by day {:?}, counted by the server {}, answered 429 {}",
            outcome.calls, outcome.calls_by_day, outcome.server_calls, outcome.refused
        ),
    );

    let floor = floor(outcome, inbound);
    let ratio = spent as f64 / floor.max(1.0);
    pass &= report(
        NAME,
        &format!("calls_per_floor_{run}"),
        ratio,
        "<=1.2",
        ratio <= 1.2,
    )
    .pass;
    info(
        NAME,
        &format!(
            "{run}: floor {floor:.0} calls for {} changes ({:.3} calls per change, floor {:.3})",
            outcome.truth.len(),
            spent as f64 / outcome.truth.len().max(1) as f64,
            floor / outcome.truth.len().max(1) as f64
        ),
    );
    pass
}

/// The floor of a run's calls (see the module documentation).
fn floor(outcome: &Outcome, inbound: bool) -> f64 {
    let drivers = outcome.calls.get("drivers").copied().unwrap_or(0) as f64;
    // The poll's finder calls: what the server counted as finder requests.
    let finder = outcome.finder_calls as f64;
    let changes = if inbound {
        outcome.notified as f64
    } else {
        level_moves(outcome) as f64
    };
    finder + 2.0 * changes + drivers
}

/// Order status changes that changed the order's level (each a move a poll can see).
fn level_moves(outcome: &Outcome) -> usize {
    let mut levels: BTreeMap<uuid::Uuid, i64> = BTreeMap::new();
    let mut moves = 0;
    for change in &outcome.truth {
        if let Change::OrderStatus { order, level, .. } = &change.change
            && levels.insert(*order, *level) != Some(*level)
        {
            moves += 1;
        }
    }
    moves
}
