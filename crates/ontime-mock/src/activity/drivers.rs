//! The drivers' side of the activity: who is on shift, where each driver is, and how shifts
//! are drawn. Applying availability and positions to the store is the engine's job.

use chrono::{NaiveDateTime, TimeDelta};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

/// A latitude and longitude.
pub(crate) type Point = (f64, f64);

/// A straight line a driver is travelling: from `from` at `t0` to `to` at `t1`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Leg {
    from: Point,
    t0: NaiveDateTime,
    to: Point,
    t1: NaiveDateTime,
}

/// One driver as the activity sees it.
#[derive(Clone, Debug)]
pub(crate) struct DriverSim {
    pub user: Uuid,
    pub name: String,
    /// Known personal details seeded for data-minimisation tests.
    pub known: Option<super::KnownPerson>,
    pub on_shift: bool,
    /// Orders assigned to the driver and not finished.
    pub active: u32,
    /// Whether a position report is scheduled.
    pub reporting: bool,
    /// Where the driver was when the current leg started (or is, without a leg).
    pos: Point,
    leg: Option<Leg>,
}

impl DriverSim {
    pub(crate) fn new(user: Uuid, name: String, on_shift: bool, pos: Point) -> Self {
        Self {
            user,
            name,
            known: None,
            on_shift,
            active: 0,
            reporting: false,
            pos,
            leg: None,
        }
    }

    /// Whether the driver reports positions: on shift, or finishing orders after it.
    pub(crate) fn working(&self) -> bool {
        self.on_shift || self.active > 0
    }

    /// Where the driver is at `t` (along the current leg, straight line, constant speed),
    /// rounded to 5 decimals as the API stores positions.
    pub(crate) fn position_at(&self, t: NaiveDateTime) -> Point {
        let p = match self.leg {
            Some(leg) if leg.t1 > leg.t0 => {
                let f = ((t - leg.t0).num_seconds() as f64
                    / (leg.t1 - leg.t0).num_seconds() as f64)
                    .clamp(0.0, 1.0);
                (
                    leg.from.0 + (leg.to.0 - leg.from.0) * f,
                    leg.from.1 + (leg.to.1 - leg.from.1) * f,
                )
            }
            Some(leg) if t >= leg.t1 => leg.to,
            _ => self.pos,
        };
        (round5(p.0), round5(p.1))
    }

    /// Heads for `to` from wherever the driver is at `t`, arriving at `arrive`.
    pub(crate) fn head_for(&mut self, t: NaiveDateTime, to: Point, arrive: NaiveDateTime) {
        let from = self.position_at(t);
        self.pos = from;
        self.leg = Some(Leg {
            from,
            t0: t,
            to,
            t1: arrive.max(t),
        });
    }

    /// Is at `at` now and stays there.
    pub(crate) fn arrive(&mut self, at: Point) {
        self.pos = at;
        self.leg = None;
    }
}

/// 5 decimals (about a metre), as seeded positions are stored.
pub(crate) fn round5(x: f64) -> f64 {
    (x * 1e5).round() / 1e5
}

/// How long a shift lasts.
pub(crate) fn shift_length(rng: &mut ChaCha8Rng) -> TimeDelta {
    TimeDelta::minutes(rng.random_range(6 * 60..=10 * 60))
}

/// How long a driver stays off between shifts.
pub(crate) fn break_length(rng: &mut ChaCha8Rng) -> TimeDelta {
    TimeDelta::minutes(rng.random_range(3 * 60..=10 * 60))
}

/// How much later the last driver on shift tries again to go off (someone must stay on).
pub(crate) fn stay_on(rng: &mut ChaCha8Rng) -> TimeDelta {
    TimeDelta::minutes(rng.random_range(30..=60))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2024, 5, 15)
            .and_then(|d| d.and_hms_opt(10, min, 0))
            .expect("valid")
    }

    #[test]
    fn drivers_move_in_straight_lines_and_stop_at_the_end() {
        let mut d = DriverSim::new(Uuid::nil(), "A B".into(), true, (32.0, -97.0));
        assert_eq!(d.position_at(at(0)), (32.0, -97.0));
        d.head_for(at(0), (33.0, -96.0), at(10));
        assert_eq!(d.position_at(at(5)), (32.5, -96.5));
        assert_eq!(d.position_at(at(20)), (33.0, -96.0));
        d.head_for(at(5), (32.5, -97.5), at(5));
        assert_eq!(d.position_at(at(6)), (32.5, -97.5));
        d.arrive((1.0, 2.0));
        assert_eq!(d.position_at(at(30)), (1.0, 2.0));
    }
}
