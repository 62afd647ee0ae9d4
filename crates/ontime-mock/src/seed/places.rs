//! Zones and locations: the zones of the metro area and a pool of general destinations
//! (customers' own locations are added with the customers).

use ontime_raw::types;
use rand::Rng;

use super::{Gen, pick, row, slug};
use crate::store::{Geo, Store, Table, blank};

/// The zones, one per zone of the word lists, with their cities' postal codes.
pub(super) fn zones(store: &mut Store, g: &mut Gen) {
    let words = g.words;
    let long_ago = g.long_ago();
    let zones = &mut store.zones;
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
}

/// Adds a location of `company` in a random city and returns its slot.
pub(super) fn new_location(
    g: &mut Gen,
    locations: &mut Table<types::Location>,
    geo: &mut Vec<Geo>,
    company: &str,
    category: &str,
    zones: &Table<types::Zone>,
) -> u32 {
    let words = g.words;
    let long_ago = g.long_ago();
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
}

/// The general destinations (40 more than there are customers); returns their slots.
pub(super) fn general_locations(store: &mut Store, g: &mut Gen, n_customers: usize) -> Vec<u32> {
    let words = g.words;
    let Store {
        locations,
        geo,
        zones,
        ..
    } = store;
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
        general_locations.push(new_location(g, locations, geo, &company, category, zones));
    }
    general_locations
}
