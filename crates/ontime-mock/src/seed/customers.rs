//! Customers with their contacts, departments, logins and own locations.

use chrono::TimeDelta;
use rand::Rng;
use uuid::Uuid;

use super::{Gen, new_location, row, slug};
use crate::ids::hash3;
use crate::store::{CredentialKind, Row, Store, blank};

/// What seeded orders need of a customer: its contacts, departments, locations and price set.
pub(super) struct CustomerSeed {
    pub(super) contacts: (u32, u32),
    pub(super) departments: (u32, u32),
    pub(super) locations: Vec<u32>,
    pub(super) price_set: u16,
}

/// `n_customers` customers; returns what their orders need of them.
pub(super) fn customers(
    store: &mut Store,
    g: &mut Gen,
    n_customers: usize,
    price_set_ids: &[Uuid],
) -> Vec<CustomerSeed> {
    let words = g.words;
    let anchor = g.anchor;
    let seed = store.seed;
    let Store {
        customers,
        contacts,
        departments,
        credentials,
        locations,
        geo,
        zones,
        price_sets: _,
        pricing,
        ..
    } = store;
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
        let home = new_location(g, locations, geo, &name, "Customer", zones);
        let mut own = vec![home];
        for _ in 0..2 {
            own.push(new_location(g, locations, geo, &name, "Customer", zones));
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
    customer_seeds
}
