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
//! `--quick`: 200 orders, the same figures. `--only TEXT` (repeatable): only the runs whose
//! name (`inbound_unlimited`, `poll_3333`, …) contains TEXT.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use ontime_bench::sync_sim::{ChangeKind, Outcome, Recall, Scenario, evaluate, percentile, run};
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
    // `--only TEXT` (repeatable): only the runs whose name (`poll_3333`, `inbound_86400`, …)
    // contains one of them.
    let args: Vec<String> = std::env::args().collect();
    let only: Vec<&str> = args
        .windows(2)
        .filter(|w| w[0] == "--only")
        .map(|w| w[1].as_str())
        .collect();
    for (label, budget) in BUDGETS {
        for inbound in [true, false] {
            let name = format!("{}_{label}", if inbound { "inbound" } else { "poll" });
            if !only.is_empty() && !only.iter().any(|o| name.contains(o)) {
                continue;
            }
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

    pass &= lag_figures(run, budget, inbound, outcome, recall);

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

/// Seconds between consecutive times.
fn gaps(times: &[DateTime<Utc>]) -> Vec<f64> {
    times
        .windows(2)
        .map(|w| (w[1] - w[0]).num_milliseconds() as f64 / 1_000.0)
        .collect()
}

/// The lag figures of one run: the goal as the issue words it, the interval it is held
/// against, the lag per kind of change and per source, and the arithmetic of what the goal
/// costs where it cannot be met.
fn lag_figures(run: &str, budget: u64, inbound: bool, outcome: &Outcome, recall: &Recall) -> bool {
    let mut pass = true;
    let p = |values: &[f64], q: f64| percentile(values, q).unwrap_or(f64::NAN);
    let poll_gaps = gaps(&outcome.poll_times);
    // The poll interval actually used: the median gap between two polls that listed.
    let interval = p(&poll_gaps, 50.0);
    let rounds = gaps(&outcome.round_times);
    info(
        NAME,
        &format!(
            "{run}: poll interval used p50 {interval:.0} s, p95 {:.0} s ({} polls; advised p50 \
             {:.0} s); reconcile round p50 {:.0} s, p95 {:.0} s ({} rounds)",
            p(&poll_gaps, 95.0),
            outcome.poll_times.len(),
            p(&outcome.poll_advised, 50.0),
            p(&rounds, 50.0),
            p(&rounds, 95.0),
            outcome.round_times.len(),
        ),
    );

    // The goal as worded: p95 of every order change ≤ 5 s with inbound triggers, ≤ one poll
    // interval (the one used) without.
    let p95 = p(&recall.order_lags, 95.0);
    let goal = if inbound { 5.0 } else { interval };
    pass &= report(
        NAME,
        &format!("lag_p95_s_{run}"),
        p95,
        &format!("<={goal:.0}"),
        p95 <= goal,
    )
    .pass;
    info(
        NAME,
        &format!(
            "{run}: order lag p50 {:.1} s, p95 {p95:.1} s against {} {goal:.0} s (with driver \
             changes, read in rounds, p95 {:.1} s)",
            p(&recall.order_lags, 50.0),
            if inbound {
                "the inbound goal"
            } else {
                "the poll interval"
            },
            p(&recall.lags, 95.0),
        ),
    );

    // Per kind and source.
    let mut table: BTreeMap<(ChangeKind, String), Vec<f64>> = BTreeMap::new();
    for c in &recall.order_detail {
        let source = c.source.map_or("?", |s| s.as_str()).to_owned();
        table.entry((c.kind, source)).or_default().push(c.lag);
    }
    for ((kind, source), lags) in &table {
        info(
            NAME,
            &format!(
                "{run}: lag of {:<16} stored by {:<9} n={:<5} p50 {:>7.1} s  p95 {:>7.1} s  max \
                 {:>7.1} s",
                kind.as_str(),
                source,
                lags.len(),
                p(lags, 50.0),
                p(lags, 95.0),
                p(lags, 100.0),
            ),
        );
    }
    let early = recall.order_detail.iter().filter(|c| c.lag < 0.0).count();
    if early > 0 {
        info(
            NAME,
            &format!(
                "{run}: {early} changes sit at a position first stored before they happened: a \
                 provisional event upgraded to a later entry at its level (event::provisional, \
                 rule 3: the last entries of the level); the change it stood for is stored \
                 later as new"
            ),
        );
    }
    if inbound {
        return pass;
    }

    // The part a poll can meet: changes its diff sees (a level change still the order's
    // latest at the next listing) are stored by that listing, within one interval.
    let seen: Vec<f64> = recall
        .order_detail
        .iter()
        .filter(|c| c.diff_visible)
        .map(|c| c.lag)
        .collect();
    let seen_p95 = p(&seen, 95.0);
    pass &= report(
        NAME,
        &format!("lag_p95_s_diff_visible_{run}"),
        seen_p95,
        &format!("<={interval:.0}"),
        seen_p95 <= interval,
    )
    .pass;

    // The rest: same-level labels and transfers change no finder's ID set. Only reading each
    // active order shows them: within one interval, every active order once per interval.
    let hidden = recall
        .order_detail
        .iter()
        .filter(|c| c.kind != ChangeKind::Level)
        .count();
    let total = recall.order_detail.len().max(1);
    let hidden_share = hidden as f64 / total as f64;
    let span = (outcome.finished_at - outcome.start).num_seconds().max(1) as f64;
    let active = recall.active_order_seconds / span;
    let reads = recall.active_order_seconds / interval.max(1.0);
    let budget_span = budget as f64 * span / 86_400.0;
    let floor = floor(outcome, inbound);
    info(
        NAME,
        &format!(
            "{run}: {hidden} of {total} order changes ({:.1} %) are same-level labels or \
             transfers, invisible to the finders' ID sets; storing 95 % of all changes within \
             one interval needs most of them within it, i.e. every active order read once per \
             interval: {active:.1} active orders on average × {span:.0} s / {interval:.0} s = \
             {reads:.0} record reads, {:.2}× the budget over those {span:.0} s ({budget_span:.0} \
             calls) and {:.2}× the calls floor ({floor:.0}; the goal allows 0.2×). {}",
            100.0 * hidden_share,
            reads / budget_span.max(1.0),
            reads / floor.max(1.0),
            if hidden_share <= 0.05 {
                "Fewer than 5 %: the goal does not need them."
            } else if reads > 0.2 * floor || reads > budget_span {
                "The goal as worded is impossible within the budget rules; the reconcile reads \
                 them at its share of the calls (round time above)."
            } else {
                "Affordable."
            }
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
