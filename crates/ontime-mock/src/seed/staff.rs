//! Users (drivers and dispatchers) with their vehicles, and their recent activity: time-clock
//! sessions, positions and availability.

use std::collections::HashSet;

use chrono::{Datelike, NaiveDateTime, TimeDelta, Timelike};
use ontime_raw::lenient::LogInType;
use rand::Rng;
use uuid::Uuid;

use super::{Gen, row};
use crate::ids::hash3;
use crate::store::{CredentialKind, Row, Store, blank, dt};

/// `n_drivers` drivers (each with a vehicle) and `n_dispatchers` dispatchers; returns the
/// drivers' and the dispatchers' user slots.
pub(super) fn users(
    store: &mut Store,
    g: &mut Gen,
    n_drivers: usize,
    n_dispatchers: usize,
) -> (Vec<u16>, Vec<u16>) {
    let words = g.words;
    let anchor = g.anchor;
    let seed = store.seed;
    let Store {
        users,
        vehicles,
        credentials,
        ..
    } = store;
    let mut drivers = Vec::new();
    let mut dispatchers = Vec::new();
    let mut used_names = HashSet::new();
    for u in 0..n_drivers + n_dispatchers {
        let is_driver = u < n_drivers;
        let (first, last) = g.person();
        let mut user_name = format!("{}{}", &first[..1], last).to_ascii_lowercase();
        let mut n = 2;
        while !used_names.insert(user_name.clone()) {
            user_name = format!("{}{}{n}", &first[..1], last).to_ascii_lowercase();
            n += 1;
        }
        let id = g.id();
        let created = g.days_ago(200, 2000);
        let mut user = blank!(User);
        user.id = Some(id.into());
        user.first_name = Some(first.clone());
        user.last_name = Some(last.clone());
        user.user_name = Some(user_name.clone());
        user.email = Some(format!("{user_name}@swiftcourier.example.com"));
        user.is_driver = Some(is_driver);
        let contractor = is_driver && g.rng.random_bool(0.25);
        user.is_subcontractor = Some(contractor);
        user.is_employee = Some(!contractor);
        user.is_company = Some(false);
        user.company_name = Some(if contractor {
            format!("{last} Delivery LLC")
        } else {
            "Swift Courier".to_owned()
        });
        if contractor {
            user.employer_identification_number = Some(format!(
                "{:02}-{:07}",
                g.rng.random_range(10..99),
                g.rng.random_range(0..10_000_000)
            ));
        }
        user.hired_date = Some(dt(created.date().and_hms_opt(9, 0, 0).unwrap_or(created)));
        user.mobile_number = Some(g.phone());
        user.sms_number = user.mobile_number.clone();
        user.logged_in_as_driver = Some(is_driver);
        user.logged_in_as_dispatcher = Some(!is_driver);
        user.time_clock_sessions = Some(Vec::new());
        credentials.insert(
            (CredentialKind::User, user_name.clone()),
            (
                format!("{user_name}-{}", hash3(seed, u as u64, 55) % 10_000),
                id,
            ),
        );
        users.insert(
            id,
            Row {
                rec: user,
                created,
                modified: (created + TimeDelta::days(g.rng.random_range(0..200))).min(anchor),
            },
        );
        if is_driver {
            drivers.push(u as u16);
            let (make, model, kind) =
                words.vehicle_models[g.rng.random_range(0..words.vehicle_models.len())];
            let mut v = blank!(Vehicle);
            let vid = g.id();
            v.id = Some(vid.into());
            v.fleet_id = Some(format!("V-{:03}", u + 1));
            v.type_ = Some(kind.to_owned());
            v.capacity = Some(match kind {
                "Box truck" => "12,000 lb".to_owned(),
                "Cargo van" => "3,500 lb".to_owned(),
                _ => "600 lb".to_owned(),
            });
            v.odometer_reading = Some(g.rng.random_range(8_000..180_000));
            const VIN: &[u8] = b"ABCDEFGHJKLMNPRSTUVWXYZ0123456789";
            v.vehicle_identification_number = Some(
                (0..17)
                    .map(|_| VIN[g.rng.random_range(0..VIN.len())] as char)
                    .collect(),
            );
            v.registration_plate = Some(format!(
                "{}{}{}-{:04}",
                (b'A' + g.rng.random_range(0..26u8)) as char,
                (b'A' + g.rng.random_range(0..26u8)) as char,
                (b'A' + g.rng.random_range(0..26u8)) as char,
                g.rng.random_range(0..10_000)
            ));
            v.manufacturer = Some(make.to_owned());
            v.model = Some(model.to_owned());
            v.year = Some(g.rng.random_range(2014..2025));
            v.owner = Some(if contractor {
                format!("{first} {last}")
            } else {
                "Swift Courier".to_owned()
            });
            v.is_company_vehicle = Some(!contractor);
            v.capabilities = Some(if kind == "Box truck" {
                "Liftgate, pallet jack".to_owned()
            } else {
                "Temperature-controlled cooler".to_owned()
            });
            v.comments = Some(String::new());
            vehicles.insert(vid, row(v, created));
        } else {
            dispatchers.push(u as u16);
        }
    }
    (drivers, dispatchers)
}

/// Sessions, positions and availability of every user for the last days.
pub(super) fn activity(store: &mut Store, g: &mut Gen, n_drivers: usize) {
    let words = g.words;
    let anchor = g.anchor;
    let Store {
        users,
        vehicles,
        sessions,
        positions,
        availability,
        ..
    } = store;
    let today = anchor.date();
    let user_ids: Vec<Uuid> = users.keys().copied().collect();
    let vehicle_ids: Vec<Uuid> = vehicles.keys().copied().collect();
    for (u, uid) in user_ids.iter().enumerate() {
        let is_driver = u < n_drivers;
        let mut session_ids = Vec::new();
        let mut mileage = vehicles
            .get_index(u.min(vehicle_ids.len().saturating_sub(1)))
            .and_then(|(_, v)| v.rec.odometer_reading)
            .unwrap_or(10_000);
        let mut last_position: Option<(NaiveDateTime, f64, f64)> = None;
        for back in (0..5i64).rev() {
            let day = today - TimeDelta::days(back);
            if day.weekday().number_from_monday() > 5 && back != 0 {
                continue;
            }
            let login = day
                .and_hms_opt(7, g.rng.random_range(0..30), 0)
                .unwrap_or(anchor);
            if login > anchor {
                continue;
            }
            let logout = day
                .and_hms_opt(17, g.rng.random_range(0..50), 0)
                .unwrap_or(anchor);
            let mut s = blank!(UserSession);
            let sid = g.id();
            s.id = Some(sid.into());
            s.user_id = Some((*uid).into());
            s.log_in_type = Some(if is_driver {
                LogInType::Driver
            } else {
                LogInType::Dispatcher
            });
            s.log_in_time = Some(dt(login));
            let ended = logout <= anchor;
            if ended {
                s.log_out_time = Some(dt(logout));
            }
            if is_driver {
                s.vehicle = vehicle_ids.get(u).copied().map(Into::into);
                let driven = g.rng.random_range(40..180);
                s.start_mileage = Some(mileage);
                if ended {
                    s.end_mileage = Some(mileage + driven);
                }
                mileage += driven;
                // Positions every 15 minutes of the shift, a random walk from a city centre.
                let city = &words.cities[g.rng.random_range(0..words.cities.len())];
                let (mut lat, mut lng) = (city.lat, city.lng);
                let mut t = login;
                let end = logout.min(anchor);
                let list = positions.entry(*uid).or_default();
                while t <= end && back < 2 {
                    lat += g.rng.random_range(-0.01..0.01);
                    lng += g.rng.random_range(-0.01..0.01);
                    let mut p = blank!(UserPosition);
                    p.id = Some(g.id());
                    p.user_id = Some((*uid).into());
                    p.latitude = Some((lat * 1e5).round() / 1e5);
                    p.longitude = Some((lng * 1e5).round() / 1e5);
                    p.timestamp = Some(dt(t));
                    list.push(p);
                    last_position = Some((t, lat, lng));
                    t += TimeDelta::minutes(15);
                }
            }
            session_ids.push(sid);
            sessions.insert(sid, row(s, login));
        }
        let on_shift =
            (7..17).contains(&anchor.hour()) && anchor.weekday().number_from_monday() <= 5;
        let mut a = blank!(UserAvailability);
        a.id = Some(g.id());
        a.user_id = Some((*uid).into());
        a.is_available = Some(is_driver && on_shift);
        a.current_status = Some(
            if !is_driver {
                "Dispatching"
            } else if on_shift {
                "On shift"
            } else {
                "Off duty"
            }
            .to_owned(),
        );
        let change = today
            .and_hms_opt(if on_shift { 7 } else { 17 }, 0, 0)
            .unwrap_or(anchor);
        a.last_status_change = Some(dt(change.min(anchor)));
        a.next_availability_change = Some(dt(if on_shift {
            today
        } else {
            today + TimeDelta::days(1)
        }
        .and_hms_opt(if on_shift { 17 } else { 7 }, 0, 0)
        .unwrap_or(anchor)));
        if let Some((t, lat, lng)) = last_position {
            a.latitude = Some((lat * 1e5).round() / 1e5);
            a.longitude = Some((lng * 1e5).round() / 1e5);
            if let Some(user) = users.get_mut(uid) {
                user.rec.driver_last_sync = Some(dt(t));
            }
        }
        availability.insert(*uid, a);
        if let Some(user) = users.get_mut(uid) {
            user.rec.time_clock_sessions = Some(session_ids.into_iter().map(Into::into).collect());
        }
    }
}
