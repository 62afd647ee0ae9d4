//! Deterministic seeded data: a courier company in Dallas–Fort Worth with customers, contacts,
//! departments, locations in zones, price sets, drivers and dispatchers, vehicles, sessions,
//! positions, invoices, payments and any number of orders.

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeDelta, Timelike};
use indexmap::IndexMap;
use ontime_raw::lenient::{
    CompensationRole, CompensationType, LogInType, PriceModifierInput, PriceModifierType,
    PricingMethod,
};
use ontime_raw::types;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use crate::ids::{IdCodec, hash3};
use crate::pricing::{Pricing, cents};
use crate::store::{
    CredentialKind, F_ATTACHMENT, F_COD, F_COLLECTION_SIGNATURE, F_SIGNATURE, Geo, NONE16, NONE32,
    Row, SeedOrder, Slot, Store, Table, blank, dt, secs,
};
use crate::words::Words;

/// The first tracking number of seeded orders.
pub(crate) const FIRST_TRACKING: u64 = 1_000_001;

fn pick<'a, R: Rng>(rng: &mut R, list: &[&'a str]) -> &'a str {
    list[rng.random_range(0..list.len())]
}

fn row<T>(rec: T, at: NaiveDateTime) -> Row<T> {
    Row {
        rec,
        created: at,
        modified: at,
    }
}

/// The version of the seeded data's generator: which word lists it draws from. The same seed,
/// version, order count and clock start always give the same account; a version's lists never
/// change (new words make a new version), so pinning a version keeps snapshots of seeded data
/// stable while the default moves on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SeedVersion {
    /// The first word lists (the default).
    #[default]
    V1,
}

impl SeedVersion {
    pub(crate) fn words(self) -> &'static Words {
        match self {
            SeedVersion::V1 => &crate::words::V1,
        }
    }
}

struct Gen {
    rng: ChaCha8Rng,
    anchor: NaiveDateTime,
    words: &'static Words,
}

impl Gen {
    fn id(&mut self) -> Uuid {
        let mut bytes = [0u8; 16];
        self.rng.fill(&mut bytes);
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }

    fn phone(&mut self) -> String {
        let area = pick(&mut self.rng, &["214", "469", "972", "817", "682"]);
        format!(
            "{area}{:03}{:04}",
            self.rng.random_range(200..999),
            self.rng.random_range(0..10_000)
        )
    }

    fn person(&mut self) -> (String, String) {
        (
            pick(&mut self.rng, self.words.first_names).to_owned(),
            pick(&mut self.rng, self.words.last_names).to_owned(),
        )
    }

    fn days_ago(&mut self, min: i64, max: i64) -> NaiveDateTime {
        let secs = self.rng.random_range(min * 86_400..max * 86_400);
        crate::clock::whole_seconds(self.anchor - TimeDelta::seconds(secs))
    }
}

fn slug(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Builds the store for `orders` orders under `seed`, with the clock at `anchor`.
pub(crate) fn build(
    seed: u64,
    version: SeedVersion,
    orders: usize,
    anchor: NaiveDateTime,
) -> Store {
    let anchor = crate::clock::whole_seconds(anchor);
    let words = version.words();
    let mut g = Gen {
        rng: ChaCha8Rng::seed_from_u64(seed),
        anchor,
        words,
    };
    let n_customers = (orders / 100).clamp(8, 2000);
    let n_drivers = (orders / 300).clamp(6, 150);
    let n_dispatchers = (n_drivers / 5).clamp(2, 20);
    let long_ago = anchor - TimeDelta::days(400);

    // Zones.
    let mut zones: Table<types::Zone> = IndexMap::new();
    for (z, name) in words.zones.iter().enumerate() {
        let cities: Vec<&crate::words::City> =
            words.cities.iter().filter(|c| c.zone == z).collect();
        let mut zone = blank!(Zone);
        let id = g.id();
        zone.id = Some(id.into());
        zone.name = Some((*name).to_owned());
        zone.postal_codes = Some(
            cities
                .iter()
                .flat_map(|c| c.postal_codes.iter().copied())
                .collect::<Vec<_>>()
                .join(", "),
        );
        let mut names: Vec<&str> = cities.iter().map(|c| c.name).collect();
        names.dedup();
        zone.cities = Some(names.join(", "));
        let (lat, lng) = cities
            .first()
            .map(|c| (c.lat, c.lng))
            .unwrap_or((32.78, -96.80));
        zone.polygon_points = Some(format!(
            "{:.4},{:.4}|{:.4},{:.4}|{:.4},{:.4}|{:.4},{:.4}",
            lat - 0.08,
            lng - 0.08,
            lat - 0.08,
            lng + 0.08,
            lat + 0.08,
            lng + 0.08,
            lat + 0.08,
            lng - 0.08
        ));
        zones.insert(id, row(zone, long_ago));
    }

    // Locations: a pool of general destinations; customers get their own below.
    let mut locations: Table<types::Location> = IndexMap::new();
    let mut geo: Vec<Geo> = Vec::new();
    let new_location = |g: &mut Gen,
                        locations: &mut Table<types::Location>,
                        geo: &mut Vec<Geo>,
                        company: &str,
                        category: &str,
                        zones: &Table<types::Zone>| {
        let city = &words.cities[g.rng.random_range(0..words.cities.len())];
        let mut l = blank!(Location);
        let id = g.id();
        l.id = Some(id.into());
        let (first, last) = g.person();
        l.contact_name = Some(format!("{first} {last}"));
        l.company_name = Some(company.to_owned());
        l.address_line1 = Some(format!(
            "{} {} {}",
            g.rng.random_range(100..9999),
            pick(&mut g.rng, words.streets),
            pick(&mut g.rng, words.street_kinds)
        ));
        if g.rng.random_bool(0.3) {
            l.address_line2 = Some(format!("Suite {}", g.rng.random_range(100..1500)));
        }
        l.city = Some(city.name.to_owned());
        l.state = Some(city.state.to_owned());
        l.postal_code =
            Some(city.postal_codes[g.rng.random_range(0..city.postal_codes.len())].to_owned());
        l.country = Some("US".to_owned());
        l.phone = Some(g.phone());
        l.email = Some(format!(
            "{}.{}@{}.example.com",
            first.to_ascii_lowercase(),
            last.to_ascii_lowercase(),
            slug(company)
        ));
        l.category = Some(category.to_owned());
        let lat = city.lat + g.rng.random_range(-0.04..0.04);
        let lng = city.lng + g.rng.random_range(-0.04..0.04);
        l.latitude_longitude = Some(format!("{lat:.5},{lng:.5}"));
        l.zone = zones.get_index(city.zone).map(|(_, z)| z.rec.clone());
        locations.insert(id, row(l, long_ago));
        geo.push(Geo {
            lat_lng: Some((lat, lng)),
        });
        (locations.len() - 1) as u32
    };
    let general = 40 + n_customers;
    let mut general_locations = Vec::with_capacity(general);
    for _ in 0..general {
        let company = format!(
            "{} {}",
            pick(&mut g.rng, words.company_first),
            pick(&mut g.rng, words.company_second)
        );
        let category = pick(
            &mut g.rng,
            &["Medical", "Office", "Warehouse", "Retail", "Residential"],
        );
        general_locations.push(new_location(
            &mut g,
            &mut locations,
            &mut geo,
            &company,
            category,
            &zones,
        ));
    }

    // Price modifiers and price sets.
    let mut price_modifiers: Table<types::PriceModifier> = IndexMap::new();
    let modifier_specs: [(&str, &str, PriceModifierType, PriceModifierInput, f64, f64); 5] = [
        (
            "Signature Capture",
            "SIG",
            PriceModifierType::SignatureCapture,
            PriceModifierInput::None,
            2.5,
            0.0,
        ),
        (
            "COD Fee",
            "COD",
            PriceModifierType::CashOnDelivery,
            PriceModifierInput::None,
            5.0,
            0.0,
        ),
        (
            "Heavy Weight",
            "WEIGHT",
            PriceModifierType::Other,
            PriceModifierInput::Weight,
            0.0,
            0.35,
        ),
        (
            "After Hours",
            "AFTERHRS",
            PriceModifierType::AdHocCharge,
            PriceModifierInput::None,
            15.0,
            0.0,
        ),
        (
            "Sales Tax",
            "TAX",
            PriceModifierType::Tax,
            PriceModifierInput::BasePrice,
            0.0,
            8.25,
        ),
    ];
    for (name, internal, kind, input, price, custom) in modifier_specs {
        let mut m = blank!(PriceModifier);
        let id = g.id();
        m.id = Some(id.into());
        m.name = Some(name.to_owned());
        m.internal_name = Some(internal.to_owned());
        m.description = Some(format!("{name} charge"));
        m.type_ = Some(kind);
        m.input = Some(input);
        m.price = Some(price);
        m.custom_value = Some(custom);
        m.percent_commissionable = Some(if internal == "TAX" { 0.0 } else { 50.0 });
        m.flat_compensation = Some(0.0);
        m.percent_compensation = Some(0.0);
        price_modifiers.insert(id, row(m, long_ago));
    }
    let modifier_ids: Vec<Uuid> = price_modifiers.keys().copied().collect();
    let mut price_sets: Table<types::PriceSet> = IndexMap::new();
    let mut pricing = HashMap::new();
    type SetSpec = (
        &'static str,
        &'static str,
        PricingMethod,
        f64,
        f64,
        f64,
        f64,
        f64,
    );
    let set_specs: [SetSpec; 5] = [
        (
            "Standard",
            "Standard (4 hour)",
            PricingMethod::ZoneToZone,
            0.0,
            0.0,
            0.0,
            18.0,
            4.5,
        ),
        (
            "Rush",
            "Rush (2 hour)",
            PricingMethod::ZoneToZone,
            0.0,
            0.0,
            0.0,
            32.0,
            6.0,
        ),
        (
            "Distance",
            "Same Day Distance",
            PricingMethod::Distance,
            0.0,
            12.0,
            1.65,
            0.0,
            0.0,
        ),
        (
            "Flat Downtown",
            "Downtown Flat Rate",
            PricingMethod::FlatRate,
            15.0,
            0.0,
            0.0,
            0.0,
            0.0,
        ),
        (
            "Economy",
            "Next Day Economy",
            PricingMethod::Distance,
            0.0,
            8.0,
            0.95,
            0.0,
            0.0,
        ),
    ];
    for (internal, service, method, flat, fee, per_mile, zone_base, zone_step) in set_specs {
        let mut p = blank!(PriceSet);
        let id = g.id();
        p.id = Some(id.into());
        p.internal_name = Some(internal.to_owned());
        p.service_level = Some(service.to_owned());
        p.dispatcher_instructions = Some(format!(
            "{service}: confirm pickup window with the customer"
        ));
        p.customer_instructions = Some(format!("{service} delivery"));
        p.percent_commissionable = Some(60.0);
        p.is_displayed_on_customer_web_portal = Some(internal != "Flat Downtown");
        p.price_modifiers = Some(modifier_ids.iter().map(|&id| id.into()).collect());
        price_sets.insert(id, row(p, long_ago));
        pricing.insert(
            id,
            Pricing {
                method,
                flat_rate: flat,
                base_fee: fee,
                per_mile,
                zone_base,
                zone_step,
            },
        );
    }
    let price_set_ids: Vec<Uuid> = price_sets.keys().copied().collect();

    // Customers with contacts, departments and their own locations.
    let mut customers: Table<types::Customer> = IndexMap::new();
    let mut contacts: Table<types::Contact> = IndexMap::new();
    let mut departments: Table<types::Department> = IndexMap::new();
    let mut credentials = HashMap::new();
    struct CustomerSeed {
        contacts: (u32, u32),
        departments: (u32, u32),
        locations: Vec<u32>,
        price_set: u16,
    }
    let mut customer_seeds = Vec::with_capacity(n_customers);
    let combos = words.company_first.len() * words.company_second.len();
    for i in 0..n_customers {
        let first = words.company_first[(i * 7) % words.company_first.len()];
        let second = words.company_second
            [(i * 7 / words.company_first.len() + i) % words.company_second.len()];
        let mut name = format!("{first} {second}");
        if i >= combos / 2 {
            name = format!("{name} {}", i / (combos / 2) + 1);
        }
        let id = g.id();
        let created = g.days_ago(100, 1500);
        let home = new_location(&mut g, &mut locations, &mut geo, &name, "Customer", &zones);
        let mut own = vec![home];
        for _ in 0..2 {
            own.push(new_location(
                &mut g,
                &mut locations,
                &mut geo,
                &name,
                "Customer",
                &zones,
            ));
        }
        let contacts_start = contacts.len() as u32;
        let n_contacts = g.rng.random_range(1..=3);
        let mut contact_names = Vec::new();
        for _ in 0..n_contacts {
            let (f, l) = g.person();
            let mut c = blank!(Contact);
            let cid = g.id();
            c.id = Some(cid.into());
            c.customer_id = Some(id.into());
            c.name = Some(format!("{f} {l}"));
            let email = format!(
                "{}.{}@{}.example.com",
                f.to_ascii_lowercase(),
                l.to_ascii_lowercase(),
                slug(&name)
            );
            c.email = Some(email.clone());
            c.phone = Some(g.phone());
            credentials.insert(
                (CredentialKind::Contact, email.clone()),
                (
                    format!(
                        "contact-{}",
                        hash3(seed, u64::from(contacts_start), contacts.len() as u64) % 100_000
                    ),
                    cid,
                ),
            );
            contact_names.push(format!("{f} {l}"));
            contacts.insert(cid, row(c, created));
        }
        let departments_start = departments.len() as u32;
        let n_departments = if g.rng.random_bool(0.5) {
            g.rng.random_range(1..=2)
        } else {
            0
        };
        for d in 0..n_departments {
            let mut dep = blank!(Department);
            let did = g.id();
            dep.id = Some(did.into());
            dep.customer_id = Some(id.into());
            dep.name = Some(words.departments[(i + d) % words.departments.len()].to_owned());
            departments.insert(did, row(dep, created));
        }
        let price_set = match g.rng.random_range(0..10) {
            0..=5 => 0u16,
            6 => 1,
            7 => 2,
            8 => 3,
            _ => 4,
        };
        let loc = locations
            .get_index(home as usize)
            .map(|(_, r)| r.rec.clone());
        let loc = loc.unwrap_or_else(|| blank!(Location));
        let mut c = blank!(Customer);
        c.id = Some(id.into());
        c.name = Some(name.clone());
        c.account_number = Some(format!("C{:05}", i + 1001));
        c.primary_contact_name = contact_names.first().cloned();
        c.address_line1 = loc.address_line1.clone();
        c.address_line2 = loc.address_line2.clone();
        c.city = loc.city.clone();
        c.state = loc.state.clone();
        c.postal_code = loc.postal_code.clone();
        c.country = Some("US".to_owned());
        c.phone = loc.phone.clone();
        c.email = Some(format!("office@{}.example.com", slug(&name)));
        c.billing_email = Some(format!("billing@{}.example.com", slug(&name)));
        c.website = Some(format!("https://www.{}.example.com", slug(&name)));
        c.price_sets = Some(price_set_ids.iter().map(|&id| id.into()).collect());
        c.default_price_set = Some((price_set_ids[price_set as usize]).into());
        c.pricing_method = pricing
            .get(&price_set_ids[price_set as usize])
            .map(|p| p.method.clone());
        c.billing_adjustment_percentage = Some(0.0);
        c.send_invoice_by_email = Some(true);
        c.send_invoice_by_postal = Some(g.rng.random_bool(0.2));
        c.send_invoice_by_fax = Some(false);
        c.has_web_portal_access = Some(g.rng.random_bool(0.8));
        c.time_zone = Some("Central Standard Time".to_owned());
        c.reference_number = Some(format!("REF-{:04}", i + 1));
        if g.rng.random_bool(0.3) {
            c.purchase_order_number = Some(format!("PO-{:05}", g.rng.random_range(0..100_000)));
        }
        c.inactive = Some(g.rng.random_bool(0.05));
        c.destination_categories = Some("Customer, Medical, Office".to_owned());
        c.order_entry_required_fields = Some("ReferenceNumber".to_owned());
        credentials.insert(
            (CredentialKind::Customer, format!("c{:05}", i + 1001)),
            (
                format!("portal-{}", hash3(seed, i as u64, 77) % 100_000),
                id,
            ),
        );
        let modified = created + TimeDelta::days(g.rng.random_range(0..90));
        customers.insert(
            id,
            Row {
                rec: c,
                created,
                modified: modified.min(anchor),
            },
        );
        customer_seeds.push(CustomerSeed {
            contacts: (contacts_start, n_contacts),
            departments: (departments_start, n_departments as u32),
            locations: own,
            price_set,
        });
    }

    // Users: drivers and dispatchers, with vehicles.
    let mut users: Table<types::User> = IndexMap::new();
    let mut vehicles: Table<types::Vehicle> = IndexMap::new();
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

    // Sessions, positions and availability for the last days.
    let mut sessions: Table<types::UserSession> = IndexMap::new();
    let mut positions: HashMap<Uuid, Vec<types::UserPosition>> = HashMap::new();
    let mut availability = HashMap::new();
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

    // Orders.
    let mut slots = Vec::with_capacity(orders);
    let span = 90 * 86_400i64;
    let start = secs(anchor) - span;
    let n = orders.max(1) as f64;
    for i in 0..orders {
        let u: f64 = g.rng.random();
        let mut t = start + ((i as f64 + u) / n * span as f64) as i64;
        // Business hours, Monday to Saturday.
        let local = crate::store::from_secs(t);
        let hour = local.hour();
        if !(7..19).contains(&hour) {
            t += i64::from((7 + hour % 12) as i32 - hour as i32) * 3600;
        }
        if local.weekday().number_from_monday() == 7 {
            t -= 86_400;
        }
        let t = t.min(secs(anchor) - 60);
        let r: f64 = g.rng.random();
        let c = ((r * r) * n_customers as f64) as usize % n_customers;
        let cs = &customer_seeds[c];
        let age = secs(anchor) - t;
        let p: u32 = g.rng.random_range(0..100);
        let level: u8 = if age < 4 * 3600 {
            match p {
                0..=39 => 1,
                40..=69 => 6,
                _ => 2,
            }
        } else if age < 86_400 {
            match p {
                0..=59 => 3,
                60..=79 => 2,
                80..=89 => 6,
                _ => 1,
            }
        } else {
            match p {
                0..=84 => 3,
                85..=89 => 4,
                90..=91 => 5,
                92..=94 => 7,
                95 => 8,
                _ => 9,
            }
        };
        let assigned = matches!(level, 2 | 3 | 5 | 6 | 7);
        let driver = if assigned {
            drivers[g.rng.random_range(0..drivers.len())]
        } else {
            NONE16
        };
        let collection = if g.rng.random_bool(0.7) {
            cs.locations[0]
        } else {
            general_locations[g.rng.random_range(0..general_locations.len())]
        };
        let delivery = loop {
            let d = if g.rng.random_bool(0.25) {
                cs.locations[g.rng.random_range(0..cs.locations.len())]
            } else {
                general_locations[g.rng.random_range(0..general_locations.len())]
            };
            if d != collection {
                break d;
            }
        };
        let mut flags = 0;
        if level == 3 && g.rng.random_bool(0.1) {
            flags |= F_SIGNATURE | F_ATTACHMENT;
            if g.rng.random_bool(0.3) {
                flags |= F_COLLECTION_SIGNATURE;
            }
        }
        if g.rng.random_bool(0.03) {
            flags |= F_COD;
        }
        let price_set = if g.rng.random_bool(0.85) {
            cs.price_set
        } else {
            g.rng.random_range(0..price_set_ids.len() as u16)
        };
        slots.push(Slot::Seed(SeedOrder {
            submitted: t,
            customer: c as u32,
            collection,
            delivery,
            contact: cs.contacts.0 + g.rng.random_range(0..cs.contacts.1),
            department: if cs.departments.1 > 0 && g.rng.random_bool(0.6) {
                cs.departments.0 + g.rng.random_range(0..cs.departments.1)
            } else {
                NONE32
            },
            dispatcher: dispatchers[g.rng.random_range(0..dispatchers.len())],
            driver,
            price_set,
            level,
            items: g.rng.random_range(1..=3),
            flags,
        }));
    }

    let mut store = Store {
        seed,
        seed_version: version,
        codec: IdCodec::new(seed),
        anchor,
        rng: ChaCha8Rng::seed_from_u64(seed ^ 0x005e_ed0f_0a7e),
        zones,
        locations,
        geo,
        customers,
        contacts,
        departments,
        price_modifiers,
        price_sets,
        pricing,
        users,
        drivers,
        vehicles,
        sessions,
        compensations: IndexMap::new(),
        invoices: IndexMap::new(),
        payments: IndexMap::new(),
        availability,
        positions,
        credentials,
        vehicle_types: Vec::new(),
        orders: slots,
        seeded_orders: orders as u32,
        first_tracking: FIRST_TRACKING,
        next_tracking: FIRST_TRACKING + orders as u64,
        next_invoice_number: 5001,
        order_index: HashMap::new(),
        tracking_index: HashMap::new(),
        item_index: HashMap::new(),
        status_index: HashMap::new(),
        attachments: IndexMap::new(),
        deleted_attachments: HashSet::new(),
    };
    store.vehicle_types = ["Car", "Cargo van", "Box truck"]
        .iter()
        .map(|name| {
            let mut vt = blank!(VehicleType);
            vt.id = Some(g.id());
            vt.name = Some((*name).to_owned());
            vt
        })
        .collect();
    seed_billing(&mut store, &mut g);
    seed_compensations(&mut store, &mut g);
    store
}

/// Monthly invoices of delivered orders for the two months before the current one, with
/// payments for the older month.
fn seed_billing(store: &mut Store, g: &mut Gen) {
    let anchor = store.anchor;
    let this_month =
        NaiveDate::from_ymd_opt(anchor.year(), anchor.month(), 1).unwrap_or(anchor.date());
    let month_start = |back: u32| {
        let mut d = this_month;
        for _ in 0..back {
            d = (d - TimeDelta::days(1)).with_day(1).unwrap_or(d);
        }
        d
    };
    let bounds: Vec<(i64, i64, NaiveDate)> = (1..=2u32)
        .map(|back| {
            let from = month_start(back);
            let to = month_start(back - 1);
            (
                secs(from.and_hms_opt(0, 0, 0).unwrap_or_default()),
                secs(to.and_hms_opt(0, 0, 0).unwrap_or_default()),
                to,
            )
        })
        .collect();
    let mut groups: IndexMap<(u32, usize), Vec<u32>> = IndexMap::new();
    for (i, slot) in store.orders.iter().enumerate() {
        if let Slot::Seed(s) = slot {
            if s.level != 3 && s.level != 5 {
                continue;
            }
            if let Some(m) = bounds
                .iter()
                .position(|(a, b, _)| s.submitted >= *a && s.submitted < *b)
            {
                groups.entry((s.customer, m)).or_default().push(i as u32);
            }
        }
    }
    groups.sort_keys();
    for ((customer, m), orders) in groups {
        let (_, _, invoice_date) = bounds[m];
        let total: f64 = orders
            .iter()
            .map(|&i| store.order(i).total_cost.unwrap_or(0.0))
            .sum();
        let total = cents(total);
        let id = g.id();
        let mut inv = blank!(Invoice);
        inv.id = Some(id.into());
        inv.customer = store
            .customers
            .get_index(customer as usize)
            .map(|(id, _)| (*id).into());
        inv.orders = Some(orders.iter().map(|&i| store.order_id(i).into()).collect());
        inv.invoice_number = Some(store.next_invoice_number);
        store.next_invoice_number += 1;
        let date = invoice_date.and_hms_opt(8, 0, 0).unwrap_or(anchor);
        inv.date = Some(dt(date));
        inv.due_date = Some(dt(date + TimeDelta::days(30)));
        inv.memo = Some(format!(
            "Courier services {}",
            (invoice_date - TimeDelta::days(1)).format("%B %Y")
        ));
        inv.transferred_to_quick_books_desktop = Some(m == 1);
        inv.total_amount = Some(total);
        let paid_at = date + TimeDelta::days(g.rng.random_range(5..25));
        let paid = m == 1 && paid_at <= anchor;
        inv.is_paid = Some(paid);
        if paid {
            let mut p = blank!(Payment);
            let pid = g.id();
            p.id = Some(pid.into());
            p.customer = inv.customer;
            p.invoice = Some(id.into());
            p.amount = Some(total);
            p.date = Some(dt(paid_at));
            p.memo = Some(format!(
                "Payment for invoice {}",
                store.next_invoice_number - 1
            ));
            p.reference_number = Some(format!("CHK{:06}", g.rng.random_range(0..1_000_000)));
            p.transferred_to_quick_books_desktop = Some(true);
            store.payments.insert(pid, row(p, paid_at));
        }
        store.invoices.insert(id, row(inv, date));
    }
}

/// A few miscellaneous compensations per driver on recent delivered orders.
fn seed_compensations(store: &mut Store, g: &mut Gen) {
    let delivered: Vec<u32> = store
        .orders
        .iter()
        .enumerate()
        .rev()
        .filter_map(|(i, s)| match s {
            Slot::Seed(s) if s.level == 3 => Some(i as u32),
            _ => None,
        })
        .take(200)
        .collect();
    if delivered.is_empty() {
        return;
    }
    let drivers = store.drivers.clone();
    for d in drivers {
        let Some(user) = store.users.get_index(d as usize).map(|(id, _)| *id) else {
            continue;
        };
        for (desc, value) in [("Tolls", 7.5), ("Wait time", 15.0)] {
            let order = delivered[g.rng.random_range(0..delivered.len())];
            let mut c = blank!(UserMiscCompensation);
            let id = g.id();
            c.id = Some(id.into());
            c.user = Some(user.into());
            c.order_id = Some(store.order_id(order).into());
            c.role = Some(CompensationRole::Driver);
            c.type_ = Some(CompensationType::Money);
            c.description = Some(desc.to_owned());
            c.value = Some(value);
            store.compensations.insert(id, row(c, store.anchor));
        }
    }
}
