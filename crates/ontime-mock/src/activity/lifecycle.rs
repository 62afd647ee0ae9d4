//! An order's courier lifecycle as a small state machine: what each order will do (its
//! [`Plan`], drawn when it is created) and, at each of its events, which status change comes
//! next ([`decide`]) and when the one after it is due. Applying a change to the store is the
//! engine's job; nothing here touches it.

use chrono::TimeDelta;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::truth::Step;

/// Shares of orders that take each detour (each 0..=1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Shares {
    pub exception: f64,
    pub cancel: f64,
    pub transfer: f64,
    pub unassign: f64,
}

/// When a cancelled order is cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cancel {
    /// While still unassigned (level 4, not billable).
    BeforeAssignment,
    /// After a driver was assigned, before pickup (level 5, billable).
    AfterAssignment,
}

/// What follows a failed delivery attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Another attempt, then delivered.
    Redeliver,
    /// Returned to the sender.
    Return,
}

/// The detours one order takes, drawn when it is created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    pub cancel: Option<Cancel>,
    pub unassign: bool,
    pub transfer: bool,
    pub exception: Option<Outcome>,
}

impl Plan {
    pub(crate) fn draw(rng: &mut ChaCha8Rng, shares: &Shares) -> Self {
        let r: f64 = rng.random();
        let cancel = (r < shares.cancel).then(|| {
            if rng.random_bool(0.5) {
                Cancel::BeforeAssignment
            } else {
                Cancel::AfterAssignment
            }
        });
        let exception = (r >= shares.cancel && r < shares.cancel + shares.exception).then(|| {
            if rng.random_bool(0.7) {
                Outcome::Redeliver
            } else {
                Outcome::Return
            }
        });
        Self {
            cancel,
            unassign: rng.random_bool(shares.unassign),
            transfer: rng.random_bool(shares.transfer),
            exception,
        }
    }
}

/// Where an order is in its lifecycle (what its last change was).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Waiting for a driver (new, or unassigned).
    Waiting,
    Assigned,
    PickedUp,
    /// On the way (after "In Transit" or a transfer).
    OnTheWay,
    /// A delivery attempt failed.
    Attempted(Outcome),
    /// Out for a second attempt.
    OutAgain,
    /// Delivered, returned or cancelled: no more changes.
    Done,
}

/// What the driver fields of the order do with a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DriverChange {
    Keep,
    /// An available driver takes the order (none available: the change waits).
    Assign,
    /// Another available driver takes it over (none: the transfer is dropped).
    Transfer,
    Clear,
}

/// The next status change of an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Transition {
    pub step: Step,
    pub level: i64,
    pub label: &'static str,
    pub driver: DriverChange,
    /// The stage after the change.
    pub next: Stage,
    /// Minutes until the order's next event (a range); unused when `next` is `Done`.
    pub next_in: (i64, i64),
    /// Whether the change comes with proof of delivery (signature and photo).
    pub proof: bool,
}

const fn t(
    step: Step,
    level: i64,
    label: &'static str,
    driver: DriverChange,
    next: Stage,
    next_in: (i64, i64),
) -> Transition {
    Transition {
        step,
        level,
        label,
        driver,
        next,
        next_in,
        proof: false,
    }
}

/// Labels of failed attempts (each classifies as an exception by its keywords).
pub(crate) const EXCEPTION_LABELS: &[&str] = &[
    "Attempted - Not Home",
    "Delivery Failed - Business Closed",
    "Refused by Recipient",
];

/// The minutes between an order's creation and its first event.
pub(crate) const FIRST_EVENT_IN: (i64, i64) = (2, 20);

/// How long an order waits before trying again for a driver when none is available.
pub(crate) const NO_DRIVER_RETRY_MINUTES: i64 = 10;

/// The next change of an order at `stage` under `plan` (the plan's one-off detours are used up
/// as they happen).
pub(crate) fn decide(stage: Stage, plan: &mut Plan, rng: &mut ChaCha8Rng) -> Option<Transition> {
    use DriverChange::{Assign, Clear, Keep, Transfer};
    let tr = match stage {
        Stage::Waiting if plan.cancel == Some(Cancel::BeforeAssignment) => {
            t(Step::Cancelled, 4, "Canceled", Clear, Stage::Done, (0, 0))
        }
        Stage::Waiting => t(
            Step::Assigned,
            6,
            "Assigned",
            Assign,
            Stage::Assigned,
            (10, 45),
        ),
        Stage::Assigned if plan.cancel == Some(Cancel::AfterAssignment) => t(
            Step::Cancelled,
            5,
            "Canceled (Billable)",
            Clear,
            Stage::Done,
            (0, 0),
        ),
        Stage::Assigned if plan.unassign => {
            plan.unassign = false;
            let (level, label) = if rng.random_bool(0.5) {
                (8, "Unassigned")
            } else {
                (1, "Awaiting Driver")
            };
            t(
                Step::Unassigned,
                level,
                label,
                Clear,
                Stage::Waiting,
                (5, 30),
            )
        }
        Stage::Assigned => t(
            Step::PickedUp,
            2,
            "Picked Up",
            Keep,
            Stage::PickedUp,
            (2, 10),
        ),
        Stage::PickedUp => t(
            Step::InTransit,
            2,
            "In Transit",
            Keep,
            Stage::OnTheWay,
            (15, 60),
        ),
        Stage::OnTheWay if plan.transfer => {
            plan.transfer = false;
            t(
                Step::Transferred,
                2,
                "Transferred",
                Transfer,
                Stage::OnTheWay,
                (15, 60),
            )
        }
        Stage::OnTheWay => match plan.exception.take() {
            Some(outcome) => {
                let label = EXCEPTION_LABELS[rng.random_range(0..EXCEPTION_LABELS.len())];
                let next_in = match outcome {
                    Outcome::Redeliver => (60, 240),
                    Outcome::Return => (60, 180),
                };
                t(
                    Step::Exception,
                    2,
                    label,
                    Keep,
                    Stage::Attempted(outcome),
                    next_in,
                )
            }
            None => delivered(),
        },
        Stage::Attempted(Outcome::Redeliver) => t(
            Step::InTransit,
            2,
            "Out for Delivery",
            Keep,
            Stage::OutAgain,
            (15, 60),
        ),
        Stage::Attempted(Outcome::Return) => t(
            Step::Exception,
            3,
            "Returned to Sender",
            Keep,
            Stage::Done,
            (0, 0),
        ),
        Stage::OutAgain => delivered(),
        Stage::Done => return None,
    };
    Some(tr)
}

fn delivered() -> Transition {
    Transition {
        proof: true,
        ..t(
            Step::Delivered,
            3,
            "Delivered",
            DriverChange::Keep,
            Stage::Done,
            (0, 0),
        )
    }
}

/// A random span in a range of minutes, in whole seconds.
pub(crate) fn minutes(rng: &mut ChaCha8Rng, (lo, hi): (i64, i64)) -> TimeDelta {
    TimeDelta::seconds(rng.random_range(lo * 60..=hi.max(lo) * 60))
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    /// Walks an order through its plan, assuming drivers are always available.
    fn walk(mut plan: Plan, rng: &mut ChaCha8Rng) -> Vec<(Step, i64)> {
        let mut stage = Stage::Waiting;
        let mut out = vec![(Step::Created, 1)];
        while let Some(tr) = decide(stage, &mut plan, rng) {
            out.push((tr.step, tr.level));
            stage = tr.next;
            assert!(out.len() < 20, "a lifecycle ends: {out:?}");
        }
        out
    }

    #[test]
    fn every_plan_ends_in_a_final_level() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let shares = Shares {
            exception: 0.3,
            cancel: 0.3,
            transfer: 0.5,
            unassign: 0.5,
        };
        let mut total = 0;
        for _ in 0..500 {
            let plan = Plan::draw(&mut rng, &shares);
            let steps = walk(plan, &mut rng);
            let (last, level) = *steps.last().expect("steps");
            assert!(matches!(level, 3..=5), "{steps:?}");
            assert!(
                matches!(last, Step::Delivered | Step::Cancelled | Step::Exception),
                "{steps:?}"
            );
            total += steps.len();
        }
        assert!(total > 500 * 3);
    }

    #[test]
    fn the_plain_path_is_five_changes() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let plain = Plan {
            cancel: None,
            unassign: false,
            transfer: false,
            exception: None,
        };
        assert_eq!(
            walk(plain, &mut rng),
            vec![
                (Step::Created, 1),
                (Step::Assigned, 6),
                (Step::PickedUp, 2),
                (Step::InTransit, 2),
                (Step::Delivered, 3)
            ]
        );
    }
}
