//! The activity's engine: a queue of timed events (new orders, order steps, shift changes,
//! position reports) applied to the store one at a time, in time order, each recorded as
//! ground truth. Synchronous: the [`Activity`](super::Activity) handle drives it (step mode or
//! the background task) and sends the notifications it returns.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use chrono::{NaiveDateTime, TimeDelta};
use ontime_raw::lenient::StatusLevel;
use ontime_raw::types;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::sync::watch;
use uuid::Uuid;

use super::drivers::{self, DriverSim, Point, round5};
use super::lifecycle::{self, DriverChange, Plan, Shares, Stage, Transition};
use super::notify::Notification;
use super::personal::PersonalData;
use super::truth::{Change, Step, TruthChange, TruthFile};
use crate::state::Shared;
use crate::store::{F_SIGNATURE, Store, blank, dt};

/// What the engine needs of the [`ActivityConfig`](super::ActivityConfig).
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub seed: u64,
    /// Orders per simulated hour.
    pub rate: f64,
    pub orders: Option<usize>,
    pub position_interval: TimeDelta,
    pub shares: Shares,
    /// Known personal values to seed (none by default).
    pub personal: Option<PersonalData>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Event {
    NewOrder,
    /// The next step of order `n` (an index into `Engine::orders`).
    Order(usize),
    /// Driver `n` goes on or off shift.
    Shift(usize),
    /// Driver `n` reports a position.
    Position(usize),
}

/// An event due at `at`; `n` keeps events at the same second in the order they were planned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pending {
    at: NaiveDateTime,
    n: u64,
    event: Event,
}

impl Ord for Pending {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.n).cmp(&(other.at, other.n))
    }
}

impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// One order the activity created.
#[derive(Clone, Debug)]
struct OrderSim {
    slot: u32,
    id: Uuid,
    tracking: String,
    plan: Plan,
    stage: Stage,
    driver: Option<usize>,
    collection: Point,
    delivery: Point,
    recipient: String,
}

/// What one event did: the changes (in order) and the notifications to send for them.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub changes: Vec<TruthChange>,
    pub notifications: Vec<Notification>,
}

/// Where truth goes: the shared list, the file, the count watchers.
#[derive(Debug)]
pub(crate) struct Recorder {
    pub truth: Arc<Mutex<Vec<TruthChange>>>,
    pub file: Option<TruthFile>,
    pub count: watch::Sender<u64>,
    pub finished: watch::Sender<bool>,
    seq: u64,
}

impl Recorder {
    pub(crate) fn new(
        file: Option<TruthFile>,
        count: watch::Sender<u64>,
        finished: watch::Sender<bool>,
    ) -> Self {
        Self {
            truth: Arc::new(Mutex::new(Vec::new())),
            file,
            count,
            finished,
            seq: 0,
        }
    }

    fn record(&mut self, at: NaiveDateTime, change: Change, batch: &mut Batch) {
        self.seq += 1;
        let c = TruthChange {
            seq: self.seq,
            at,
            change,
        };
        if let Some(f) = &mut self.file {
            f.append(&c);
        }
        self.truth
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(c.clone());
        self.count.send_replace(self.seq);
        batch.changes.push(c);
    }
}

/// The simulation.
#[derive(Debug)]
pub(crate) struct Engine {
    shared: Arc<Shared>,
    settings: Settings,
    rng: ChaCha8Rng,
    queue: BinaryHeap<Reverse<Pending>>,
    planned: u64,
    /// Orders that arrived (created, or refused by the store: see `new_order`).
    arrivals: usize,
    orders: Vec<OrderSim>,
    /// Orders whose lifecycle has not ended.
    open: usize,
    drivers: Vec<DriverSim>,
    /// Customers that can order: (customer, its default price set, its contacts).
    customers: Vec<(Uuid, Option<Uuid>, Vec<types::Contact>)>,
    /// Locations with coordinates.
    locations: Vec<(types::Location, Point)>,
    recorder: Recorder,
}

impl Engine {
    /// An engine starting at `start`: drivers as the seeded availability shows them, the first
    /// order, shift changes and position reports planned.
    pub(crate) fn new(
        shared: Arc<Shared>,
        settings: Settings,
        recorder: Recorder,
        start: NaiveDateTime,
    ) -> Self {
        let rng = ChaCha8Rng::seed_from_u64(settings.seed ^ 0xac71_7177_0000_0001);
        let (drivers, customers, locations) = {
            let mut store = shared.write();
            let mut drivers = initial_drivers(&store);
            if let Some(personal) = &settings.personal {
                seed_personal(&mut store, &mut drivers, personal);
            }
            (drivers, ordering_customers(&store), located(&store))
        };
        let mut engine = Self {
            shared,
            settings,
            rng,
            queue: BinaryHeap::new(),
            planned: 0,
            arrivals: 0,
            orders: Vec::new(),
            open: 0,
            drivers,
            customers,
            locations,
            recorder,
        };
        engine.plan_start(start);
        engine
    }

    fn plan_start(&mut self, start: NaiveDateTime) {
        if self.customers.is_empty() || self.locations.len() < 2 || self.drivers.is_empty() {
            tracing::warn!(
                "the seeded account has no customers, locations or drivers: no activity"
            );
            self.stop();
            return;
        }
        if self.settings.orders == Some(0) {
            self.stop();
            return;
        }
        let first = self.arrival_gap();
        self.plan(start + first, Event::NewOrder);
        let interval = self.settings.position_interval.num_seconds().max(1);
        let nobody_on = self.drivers.iter().all(|d| !d.on_shift);
        for d in 0..self.drivers.len() {
            // Someone comes on soon if nobody is on shift.
            let toggle = if nobody_on && d == 0 {
                TimeDelta::minutes(self.rng.random_range(1..=10))
            } else {
                TimeDelta::minutes(self.rng.random_range(30..=8 * 60))
            };
            self.plan(start + toggle, Event::Shift(d));
            if self.drivers[d].working() {
                let first = TimeDelta::seconds(self.rng.random_range(0..interval));
                self.drivers[d].reporting = true;
                self.plan(start + first, Event::Position(d));
            }
        }
    }

    fn plan(&mut self, at: NaiveDateTime, event: Event) {
        self.planned += 1;
        self.queue.push(Reverse(Pending {
            at: crate::clock::whole_seconds(at),
            n: self.planned,
            event,
        }));
    }

    /// Stops once the order limit was reached and every lifecycle has ended.
    fn finish_if_done(&mut self) {
        if self.open == 0 && self.settings.orders.is_some_and(|max| self.arrivals >= max) {
            self.stop();
        }
    }

    fn stop(&mut self) {
        self.queue.clear();
        self.recorder.finished.send_replace(true);
    }

    /// The time of the next event; `None` once the activity has finished.
    pub(crate) fn next_at(&self) -> Option<NaiveDateTime> {
        self.queue.peek().map(|Reverse(p)| p.at)
    }

    /// The truth so far (shared with the handle).
    pub(crate) fn truth(&self) -> Arc<Mutex<Vec<TruthChange>>> {
        self.recorder.truth.clone()
    }

    /// Applies the next event if it is due by `now`.
    pub(crate) fn run_next(&mut self, now: NaiveDateTime) -> Option<(NaiveDateTime, Batch)> {
        let Reverse(next) = *self.queue.peek()?;
        if next.at > now {
            return None;
        }
        self.queue.pop();
        let mut batch = Batch::default();
        let at = next.at;
        match next.event {
            Event::NewOrder => self.new_order(at, &mut batch),
            Event::Order(n) => self.order_step(n, at, &mut batch),
            Event::Shift(d) => self.shift(d, at, &mut batch),
            Event::Position(d) => self.position(d, at, &mut batch),
        }
        Some((at, batch))
    }

    fn arrival_gap(&mut self) -> TimeDelta {
        // Exponential gaps: a Poisson process of `rate` orders an hour (several orders may
        // arrive in one second).
        let u: f64 = self.rng.random_range(f64::EPSILON..1.0);
        let hours = -u.ln() / self.settings.rate;
        TimeDelta::seconds(((hours * 3600.0).round() as i64).clamp(0, 30 * 86_400))
    }

    // ------------------------------------------------------------------ orders

    fn new_order(&mut self, at: NaiveDateTime, batch: &mut Batch) {
        self.arrivals += 1;
        if self.settings.orders.is_none_or(|n| self.arrivals < n) {
            let gap = self.arrival_gap();
            self.plan(at + gap, Event::NewOrder);
        }
        let (customer, price_set, contacts) =
            self.customers[self.rng.random_range(0..self.customers.len())].clone();
        let contact = (!contacts.is_empty())
            .then(|| contacts[self.rng.random_range(0..contacts.len())].clone());
        let from = self.rng.random_range(0..self.locations.len());
        let to = loop {
            let to = self.rng.random_range(0..self.locations.len());
            if to != from {
                break to;
            }
        };
        let (collection, c_point) = self.locations[from].clone();
        let (delivery, d_point) = self.locations[to].clone();
        let plan = Plan::draw(&mut self.rng, &self.settings.shares);
        let n_items = self.rng.random_range(1..=3);
        let words = self.shared.read().seed_version.words().item_descriptions;
        let descriptions: Vec<&str> = (0..n_items)
            .map(|_| words[self.rng.random_range(0..words.len())])
            .collect();
        let weights: Vec<f64> = (0..n_items)
            .map(|_| f64::from(self.rng.random_range(5..400_u32)) / 10.0)
            .collect();
        let recipient = delivery
            .contact_name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| "the recipient".to_owned());
        let mut store = self.shared.write();
        let tracking = store.next_tracking_number();
        let mut o = blank!(Order);
        o.tracking_number = Some(tracking.clone());
        o.customer = Some(customer.into());
        o.price_set = price_set.map(Into::into);
        o.requested_by = contact.as_ref().and_then(|c| c.name.clone());
        o.customer_contact = contact;
        o.collection_contact_name = collection.contact_name.clone();
        o.delivery_contact_name = delivery.contact_name.clone();
        o.collection_location = Some(collection);
        o.delivery_location = Some(delivery);
        o.description = descriptions.first().map(|d| (*d).to_owned());
        o.submission_source = Some("Web Portal".to_owned());
        o.delivery_signature_required = Some(true);
        o.collection_signature_required = Some(false);
        o.quantity = Some(n_items);
        o.weight = Some(weights.iter().sum::<f64>());
        o.items = Some(
            descriptions
                .iter()
                .zip(&weights)
                .enumerate()
                .map(|(k, (d, w))| {
                    let mut item = blank!(Item);
                    item.tracking_number = Some(format!("{tracking}-{:03}", k + 1));
                    item.description = Some((*d).to_owned());
                    item.weight = Some(*w);
                    item
                })
                .collect(),
        );
        // Arrival windows as a customer would ask for them.
        let window = |from: i64, len: i64| {
            let mut w = blank!(TimeWindow);
            w.earliest_time = Some(dt(at + TimeDelta::minutes(from)));
            w.latest_time = Some(dt(at + TimeDelta::minutes(from + len)));
            w.length = Some(ontime_raw::lenient::TimeSpan::from_secs(len * 60));
            w
        };
        o.collection_arrival_window = Some(window(15, 120));
        o.delivery_arrival_window = Some(window(60, 240));
        let posted = match store.post_order(o, at) {
            Ok(posted) => posted,
            Err(e) => {
                // Cannot happen with the seeded price sets; never silently: say so.
                tracing::error!(error = ?e, "the activity could not create an order");
                drop(store);
                self.finish_if_done();
                return;
            }
        };
        let id = posted.id.map(Uuid::from).unwrap_or_default();
        let Some(slot) = store.order_idx(id) else {
            tracing::error!(%id, "the activity's new order is not in the store");
            drop(store);
            self.finish_if_done();
            return;
        };
        let status = posted.status.clone().unwrap_or_else(|| blank!(Status));
        drop(store);
        let n = self.orders.len();
        self.orders.push(OrderSim {
            slot,
            id,
            tracking: tracking.clone(),
            plan,
            stage: Stage::Waiting,
            driver: None,
            collection: c_point,
            delivery: d_point,
            recipient,
        });
        self.open += 1;
        self.record_status(n, at, &status, Step::Created, None, batch);
        let next = lifecycle::minutes(&mut self.rng, lifecycle::FIRST_EVENT_IN);
        self.plan(at + next, Event::Order(n));
    }

    fn record_status(
        &mut self,
        n: usize,
        at: NaiveDateTime,
        status: &types::Status,
        step: Step,
        driver: Option<Uuid>,
        batch: &mut Batch,
    ) {
        let o = &self.orders[n];
        let status_id = status.id.map(Uuid::from).unwrap_or_default();
        let level = status
            .level
            .as_ref()
            .and_then(StatusLevel::code)
            .unwrap_or(0);
        let label = status.name.clone().unwrap_or_default();
        batch.notifications.push(Notification {
            company: self.shared.company.clone(),
            order_id: o.id,
            tracking_number: o.tracking.clone(),
            status_id,
            status: label.clone(),
            level,
            description: status.description.clone().unwrap_or_default(),
            timestamp: at,
            driver_id: driver,
        });
        let change = Change::OrderStatus {
            order: o.id,
            tracking_number: o.tracking.clone(),
            status_id,
            level,
            label,
            driver,
            step,
        };
        self.recorder.record(at, change, batch);
    }

    /// A driver for a new assignment (or a transfer away from `not`): one on shift with the
    /// fewest open orders.
    fn pick_driver(&mut self, not: Option<usize>) -> Option<usize> {
        let candidates: Vec<usize> = (0..self.drivers.len())
            .filter(|d| self.drivers[*d].on_shift && Some(*d) != not)
            .collect();
        let least = candidates.iter().map(|d| self.drivers[*d].active).min()?;
        let best: Vec<usize> = candidates
            .into_iter()
            .filter(|d| self.drivers[*d].active == least)
            .collect();
        Some(best[self.rng.random_range(0..best.len())])
    }

    fn order_step(&mut self, n: usize, at: NaiveDateTime, batch: &mut Batch) {
        let stage = self.orders[n].stage;
        let mut plan = self.orders[n].plan;
        let Some(mut tr) = lifecycle::decide(stage, &mut plan, &mut self.rng) else {
            return;
        };
        let current = self.orders[n].driver;
        let new_driver = match tr.driver {
            DriverChange::Keep => current,
            DriverChange::Clear => None,
            DriverChange::Assign => match self.pick_driver(None) {
                Some(d) => Some(d),
                None => {
                    // Nobody on shift: the order waits and tries again.
                    let retry = TimeDelta::minutes(lifecycle::NO_DRIVER_RETRY_MINUTES);
                    self.plan(at + retry, Event::Order(n));
                    return;
                }
            },
            DriverChange::Transfer => match self.pick_driver(current) {
                Some(d) => Some(d),
                None => {
                    // Nobody to hand over to: the transfer does not happen.
                    match lifecycle::decide(stage, &mut plan, &mut self.rng) {
                        Some(other) => {
                            tr = other;
                            current
                        }
                        None => return,
                    }
                }
            },
        };
        self.orders[n].plan = plan;
        let next_at = at + lifecycle::minutes(&mut self.rng, tr.next_in);
        self.apply_transition(n, at, &tr, new_driver, next_at, batch);
        self.orders[n].stage = tr.next;
        if tr.next == Stage::Done {
            self.open -= 1;
            // The driver who ends the order lets it go (a cancellation already did).
            if let Some(d) = new_driver {
                self.drivers[d].active = self.drivers[d].active.saturating_sub(1);
            }
            self.finish_if_done();
        } else {
            self.plan(next_at, Event::Order(n));
        }
    }

    fn description(
        &self,
        n: usize,
        tr: &Transition,
        before: Option<usize>,
        after: Option<usize>,
    ) -> String {
        let name = |d: Option<usize>| {
            d.map(|d| self.drivers[d].name.clone())
                .unwrap_or_else(|| "a driver".to_owned())
        };
        // With known personal values, how a dispatcher would note how to reach the driver.
        let reach = |d: Option<usize>| {
            d.and_then(|d| self.drivers[d].known.as_ref())
                .map(|p| format!(", call {} or write to {}", p.phone, p.email))
                .unwrap_or_default()
        };
        let signer = self
            .settings
            .personal
            .as_ref()
            .and_then(|p| p.signer(n))
            .unwrap_or(&self.orders[n].recipient);
        match tr.step {
            Step::Created => "Order submitted".to_owned(),
            Step::Assigned => format!("Assigned to {}{}", name(after), reach(after)),
            Step::Unassigned => format!("Unassigned from {}", name(before)),
            Step::PickedUp => format!("Picked up by {}", name(after)),
            Step::InTransit => format!("On the way with {}", name(after)),
            Step::Transferred => format!(
                "Transferred from {} to {}{}",
                name(before),
                name(after),
                reach(after)
            ),
            Step::Delivered => format!("Delivered, signed by {signer}"),
            Step::Exception if tr.level == 3 => {
                "Returned to the sender after a failed delivery".to_owned()
            }
            Step::Exception => format!("{} ({}{})", tr.label, name(after), reach(after)),
            Step::Cancelled => "Cancelled at the customer's request".to_owned(),
        }
    }

    /// Applies one status change to the store, the drivers and the truth.
    fn apply_transition(
        &mut self,
        n: usize,
        at: NaiveDateTime,
        tr: &Transition,
        driver: Option<usize>,
        next_at: NaiveDateTime,
        batch: &mut Batch,
    ) {
        let before = self.orders[n].driver;
        let description = self.description(n, tr, before, driver);
        let driver_id = driver.map(|d| self.drivers[d].user);
        let (slot, tracking) = (self.orders[n].slot, self.orders[n].tracking.clone());
        let (collection, delivery) = (self.orders[n].collection, self.orders[n].delivery);
        let status = {
            let mut store = self.shared.write();
            {
                let full = store.make_full(slot);
                let o = &mut full.order;
                o.driver_currently_assigned = driver_id.map(Into::into);
                match tr.driver {
                    DriverChange::Assign => {
                        o.collection_assigned_driver = driver_id.map(Into::into);
                        o.delivery_assigned_driver = driver_id.map(Into::into);
                    }
                    DriverChange::Transfer => {
                        o.delivery_assigned_driver = driver_id.map(Into::into)
                    }
                    DriverChange::Clear if tr.step == Step::Unassigned => {
                        o.collection_assigned_driver = None;
                        o.delivery_assigned_driver = None;
                    }
                    DriverChange::Clear | DriverChange::Keep => {}
                }
                let coords = |p: Point| Some(format!("{:.5},{:.5}", p.0, p.1));
                match tr.step {
                    Step::PickedUp => o.driver_coordinates_on_collection = coords(collection),
                    Step::Delivered => o.driver_coordinates_on_delivery = coords(delivery),
                    _ => {}
                }
                if tr.proof {
                    full.flags |= F_SIGNATURE;
                }
            }
            if tr.proof {
                let photo = crate::assets::photo_png(store.h(slot, 0xac71));
                store.add_attachment(slot, format!("POD-{tracking}.png"), Bytes::from(photo), at);
            }
            let collected = store.make_full(slot).order.collection_arrival_date;
            let id = store.update_status(
                slot,
                Some(StatusLevel::from(tr.level)),
                Some(tr.label.to_owned()),
                Some(description),
                at,
            );
            if tr.step != Step::PickedUp {
                // Only the pickup is the arrival at the collection; later same-level changes
                // (in transit, transfer, a failed attempt) are not.
                store.make_full(slot).order.collection_arrival_date = collected;
            }
            store
                .history(slot)
                .into_iter()
                .find(|s| s.id.map(Uuid::from) == id)
        };
        let Some(status) = status else {
            tracing::error!(order = %self.orders[n].id, "the activity's status entry is missing");
            return;
        };
        // The drivers' loads and routes.
        if before != driver {
            if let Some(d) = before {
                self.drivers[d].active = self.drivers[d].active.saturating_sub(1);
            }
            if let Some(d) = driver {
                self.drivers[d].active += 1;
                self.ensure_reporting(d, at);
            }
        }
        if let Some(d) = driver {
            match tr.next {
                Stage::Assigned => self.drivers[d].head_for(at, collection, next_at),
                Stage::PickedUp | Stage::OnTheWay | Stage::OutAgain => {
                    self.drivers[d].head_for(at, delivery, next_at)
                }
                Stage::Attempted(_) => self.drivers[d].arrive(delivery),
                Stage::Done if tr.step != Step::Cancelled => self.drivers[d].arrive(delivery),
                Stage::Done | Stage::Waiting => {}
            }
        }
        self.orders[n].driver = driver;
        self.record_status(n, at, &status, tr.step, driver_id, batch);
    }

    // ------------------------------------------------------------------ drivers

    fn ensure_reporting(&mut self, d: usize, at: NaiveDateTime) {
        if !self.drivers[d].reporting {
            self.drivers[d].reporting = true;
            let next = at + self.settings.position_interval;
            self.plan(next, Event::Position(d));
        }
    }

    fn shift(&mut self, d: usize, at: NaiveDateTime, batch: &mut Batch) {
        let going_on = !self.drivers[d].on_shift;
        if !going_on && self.drivers.iter().filter(|x| x.on_shift).count() == 1 {
            // The last driver on shift stays until someone else comes on.
            let later = drivers::stay_on(&mut self.rng);
            self.plan(at + later, Event::Shift(d));
            return;
        }
        let next = if going_on {
            drivers::shift_length(&mut self.rng)
        } else {
            drivers::break_length(&mut self.rng)
        };
        let user = self.drivers[d].user;
        let (lat, lng) = self.drivers[d].position_at(at);
        let status = match (&self.drivers[d].known, going_on) {
            (None, true) => "On shift".to_owned(),
            (None, false) => "Off duty".to_owned(),
            (Some(p), true) => format!("On shift: {} ({})", p.full_name(), p.phone),
            (Some(p), false) => format!("Off duty, {} reads {}", p.first_name, p.email),
        };
        {
            let mut store = self.shared.write();
            let id = match store.availability.get(&user).and_then(|a| a.id) {
                Some(id) => id,
                None => store.new_id(),
            };
            let a = store
                .availability
                .entry(user)
                .or_insert_with(|| blank!(UserAvailability));
            a.id = Some(id);
            a.user_id = Some(user.into());
            a.is_available = Some(going_on);
            a.current_status = Some(status);
            a.last_status_change = Some(dt(at));
            a.next_availability_change = Some(dt(at + next));
            a.latitude = Some(lat);
            a.longitude = Some(lng);
        }
        self.drivers[d].on_shift = going_on;
        self.recorder.record(
            at,
            Change::Availability {
                user,
                available: going_on,
            },
            batch,
        );
        if going_on {
            self.ensure_reporting(d, at);
        }
        self.plan(at + next, Event::Shift(d));
    }

    fn position(&mut self, d: usize, at: NaiveDateTime, batch: &mut Batch) {
        if !self.drivers[d].working() {
            self.drivers[d].reporting = false;
            return;
        }
        let user = self.drivers[d].user;
        let (latitude, longitude) = self.drivers[d].position_at(at);
        {
            let mut store = self.shared.write();
            let mut p = blank!(UserPosition);
            p.id = Some(store.new_id());
            p.user_id = Some(user.into());
            p.latitude = Some(latitude);
            p.longitude = Some(longitude);
            p.timestamp = Some(dt(at));
            store.positions.entry(user).or_default().push(p);
            if let Some(u) = store.users.get_mut(&user) {
                u.rec.driver_last_sync = Some(dt(at));
            }
        }
        self.recorder.record(
            at,
            Change::Position {
                user,
                latitude,
                longitude,
            },
            batch,
        );
        let next = at + self.settings.position_interval;
        self.plan(next, Event::Position(d));
    }
}

/// The seeded drivers, on shift as their availability says, where they last reported.
fn initial_drivers(store: &Store) -> Vec<DriverSim> {
    store
        .drivers
        .iter()
        .filter_map(|slot| {
            let (id, row) = store.users.get_index(usize::from(*slot))?;
            let name = format!(
                "{} {}",
                row.rec.first_name.as_deref().unwrap_or_default(),
                row.rec.last_name.as_deref().unwrap_or_default()
            );
            let availability = store.availability.get(id);
            let on_shift = availability.and_then(|a| a.is_available).unwrap_or(false);
            let last = store
                .positions
                .get(id)
                .and_then(|v| v.last())
                .and_then(|p| Some((p.latitude?, p.longitude?)));
            let from_availability = availability.and_then(|a| Some((a.latitude?, a.longitude?)));
            let depot = store.geo.iter().find_map(|g| g.lat_lng);
            let pos = last
                .or(from_availability)
                .or(depot)
                .unwrap_or((32.7767, -96.797));
            Some(DriverSim::new(
                *id,
                name,
                on_shift,
                (round5(pos.0), round5(pos.1)),
            ))
        })
        .collect()
}

/// Puts the known personal values into the first drivers' records and the activity's view of
/// them (names in descriptions, contact details in texts).
fn seed_personal(store: &mut Store, drivers: &mut [DriverSim], personal: &PersonalData) {
    for (driver, person) in drivers.iter_mut().zip(&personal.drivers) {
        if let Some(row) = store.users.get_mut(&driver.user) {
            let user = &mut row.rec;
            user.first_name = Some(person.first_name.clone());
            user.last_name = Some(person.last_name.clone());
            user.mobile_number = Some(person.phone.clone());
            user.sms_number = Some(person.phone.clone());
            user.email = Some(person.email.clone());
        }
        driver.name = person.full_name();
        driver.known = Some(person.clone());
    }
}

/// Active customers with their default price set and contacts.
fn ordering_customers(store: &Store) -> Vec<(Uuid, Option<Uuid>, Vec<types::Contact>)> {
    store
        .customers
        .iter()
        .filter(|(_, r)| r.rec.inactive != Some(true))
        .map(|(id, r)| {
            let contacts = store
                .contacts
                .values()
                .filter(|c| c.rec.customer_id == Some((*id).into()))
                .map(|c| c.rec.clone())
                .collect();
            (*id, r.rec.default_price_set.map(Uuid::from), contacts)
        })
        .collect()
}

/// Locations with coordinates.
fn located(store: &Store) -> Vec<(types::Location, Point)> {
    store
        .locations
        .values()
        .zip(&store.geo)
        .filter_map(|(l, g)| Some((l.rec.clone(), g.lat_lng?)))
        .collect()
}
