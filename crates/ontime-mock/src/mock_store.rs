//! Reading the simulator's records from outside ([`MockStore`]), for tests' assertions.

use std::sync::Arc;

use ontime_raw::types;
use uuid::Uuid;

use crate::state::Shared;
use crate::store::{self, CredentialKind, Store, Table};

/// A seeded user, contact or customer login (for the authenticate endpoints).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    /// Whose login.
    pub kind: CredentialKind,
    /// The user name (for contacts their e-mail, for customers their account number).
    pub user_name: String,
    /// The password.
    pub password: String,
    /// The record it authenticates as.
    pub id: Uuid,
}

/// Reads records straight from the simulator's store (each call locks it briefly).
#[derive(Clone, Debug)]
pub struct MockStore {
    pub(crate) shared: Arc<Shared>,
}

impl MockStore {
    /// The GUIDs of one table, in store order.
    fn ids<T>(&self, table: impl FnOnce(&Store) -> &Table<T>) -> Vec<Uuid> {
        table(&self.shared.read()).keys().copied().collect()
    }

    /// One record of a table.
    fn record<T: Clone>(&self, table: impl FnOnce(&Store) -> &Table<T>, id: Uuid) -> Option<T> {
        table(&self.shared.read()).get(&id).map(|r| r.rec.clone())
    }

    /// An order as `GET api/orders/{id}` returns it.
    pub fn order(&self, id: Uuid) -> Option<types::Order> {
        let store = self.shared.read();
        store.order_idx(id).map(|i| store.order(i))
    }

    /// The status history of an order, oldest first.
    pub fn status_history(&self, id: Uuid) -> Option<Vec<types::Status>> {
        let store = self.shared.read();
        store.order_idx(id).map(|i| store.history(i))
    }

    /// The order with a tracking number.
    pub fn order_by_tracking(&self, tracking: &str) -> Option<types::Order> {
        let store = self.shared.read();
        store.order_by_tracking(tracking).map(|i| store.order(i))
    }

    /// All order GUIDs, in store order.
    pub fn order_ids(&self) -> Vec<Uuid> {
        let store = self.shared.read();
        (0..store.order_count() as u32)
            .map(|i| store.order_id(i))
            .collect()
    }

    /// How many orders there are.
    pub fn order_count(&self) -> usize {
        self.shared.read().order_count()
    }

    /// GUIDs of the orders of one customer.
    pub fn customer_order_ids(&self, customer: Uuid) -> Vec<Uuid> {
        let store = self.shared.read();
        (0..store.order_count() as u32)
            .filter(|i| store.order_customer(*i) == Some(customer))
            .map(|i| store.order_id(i))
            .collect()
    }

    /// All customer GUIDs.
    pub fn customer_ids(&self) -> Vec<Uuid> {
        self.ids(|s| &s.customers)
    }

    /// A customer record.
    pub fn customer(&self, id: Uuid) -> Option<types::Customer> {
        self.record(|s| &s.customers, id)
    }

    /// All contact GUIDs.
    pub fn contact_ids(&self) -> Vec<Uuid> {
        self.ids(|s| &s.contacts)
    }

    /// A contact record.
    pub fn contact(&self, id: Uuid) -> Option<types::Contact> {
        self.record(|s| &s.contacts, id)
    }

    /// All user GUIDs (drivers first, then dispatchers).
    pub fn user_ids(&self) -> Vec<Uuid> {
        self.ids(|s| &s.users)
    }

    /// GUIDs of the users who are drivers.
    pub fn driver_ids(&self) -> Vec<Uuid> {
        let store = self.shared.read();
        store
            .users
            .values()
            .filter(|u| u.rec.is_driver == Some(true))
            .filter_map(|u| u.rec.id.map(Uuid::from))
            .collect()
    }

    /// A user record.
    pub fn user(&self, id: Uuid) -> Option<types::User> {
        self.record(|s| &s.users, id)
    }

    /// All location GUIDs.
    pub fn location_ids(&self) -> Vec<Uuid> {
        self.ids(|s| &s.locations)
    }

    /// A location record.
    pub fn location(&self, id: Uuid) -> Option<types::Location> {
        self.record(|s| &s.locations, id)
    }

    /// All price set GUIDs.
    pub fn price_set_ids(&self) -> Vec<Uuid> {
        self.ids(|s| &s.price_sets)
    }

    /// All zone GUIDs.
    pub fn zone_ids(&self) -> Vec<Uuid> {
        self.ids(|s| &s.zones)
    }

    /// All vehicle GUIDs.
    pub fn vehicle_ids(&self) -> Vec<Uuid> {
        self.ids(|s| &s.vehicles)
    }

    /// All invoice GUIDs.
    pub fn invoice_ids(&self) -> Vec<Uuid> {
        self.ids(|s| &s.invoices)
    }

    /// All miscellaneous-compensation GUIDs (the API has no finder for them).
    pub fn compensation_ids(&self) -> Vec<Uuid> {
        self.ids(|s| &s.compensations)
    }

    /// The positions of a user, oldest first.
    pub fn positions(&self, user: Uuid) -> Vec<types::UserPosition> {
        self.shared
            .read()
            .positions
            .get(&user)
            .cloned()
            .unwrap_or_default()
    }

    /// The availability of a user.
    pub fn availability(&self, user: Uuid) -> Option<types::UserAvailability> {
        self.shared.read().availability.get(&user).cloned()
    }

    /// The attachment GUIDs of an order.
    pub fn attachment_ids(&self, order: Uuid) -> Vec<Uuid> {
        let store = self.shared.read();
        store
            .order_idx(order)
            .map(|i| store.attachment_ids(i))
            .unwrap_or_default()
    }

    /// GUIDs of orders that have a delivery signature.
    pub fn signed_order_ids(&self) -> Vec<Uuid> {
        let store = self.shared.read();
        (0..store.order_count() as u32)
            .filter(|i| store.flags(*i) & store::F_SIGNATURE != 0)
            .map(|i| store.order_id(i))
            .collect()
    }

    /// The seeded logins of one kind, sorted by user name.
    pub fn credentials(&self, kind: CredentialKind) -> Vec<Credential> {
        let store = self.shared.read();
        let mut out: Vec<Credential> = store
            .credentials
            .iter()
            .filter(|((k, _), _)| *k == kind)
            .map(|((k, user), (password, id))| Credential {
                kind: *k,
                user_name: user.clone(),
                password: password.clone(),
                id: *id,
            })
            .collect();
        out.sort_by(|a, b| a.user_name.cmp(&b.user_name));
        out
    }

    /// What `POST api/order/getTotalCost` answers for `order`.
    pub fn total_cost(&self, order: &types::Order) -> f64 {
        self.shared.read().quote(order).total
    }

    /// A fingerprint of everything the store holds (for determinism checks and "nothing changed"
    /// assertions): every record of every table, positions, availability, credentials and
    /// attachments.
    pub fn fingerprint(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let store = self.shared.read();
        let mut h = std::collections::hash_map::DefaultHasher::new();
        macro_rules! feed {
            ($v:expr) => {
                erased::Json::hash_json($v, &mut h)
            };
        }
        macro_rules! tables {
            ($($table:ident),*) => {$(
                for (id, r) in store.$table.iter() {
                    id.hash(&mut h);
                    feed!(&r.rec);
                }
            )*};
        }
        tables!(
            zones,
            locations,
            customers,
            contacts,
            departments,
            price_modifiers,
            price_sets,
            users,
            vehicles,
            sessions,
            compensations,
            invoices,
            payments
        );
        // Hash maps iterate in no fixed order: feed them sorted by key.
        let mut availability: Vec<_> = store.availability.iter().collect();
        availability.sort_by_key(|(id, _)| **id);
        for (id, a) in availability {
            id.hash(&mut h);
            feed!(a);
        }
        let mut positions: Vec<_> = store.positions.iter().collect();
        positions.sort_by_key(|(id, _)| **id);
        for (id, p) in positions {
            id.hash(&mut h);
            feed!(p);
        }
        let mut credentials: Vec<_> = store
            .credentials
            .iter()
            .map(|((kind, user), (password, id))| (format!("{kind:?}"), user, password, id))
            .collect();
        credentials.sort();
        credentials.hash(&mut h);
        for (id, a) in &store.attachments {
            (id, a.order, &a.file_name, &a.contents[..], a.timestamp).hash(&mut h);
        }
        let mut deleted: Vec<_> = store.deleted_attachments.iter().collect();
        deleted.sort();
        deleted.hash(&mut h);
        for i in 0..store.order_count() as u32 {
            feed!(&store.order(i));
            feed!(&store.history(i));
        }
        store.order_count().hash(&mut h);
        h.finish()
    }
}

mod erased {
    use std::hash::{Hash, Hasher};

    pub(crate) trait Json {
        fn hash_json(&self, h: &mut std::collections::hash_map::DefaultHasher);
    }

    impl<T: serde::Serialize> Json for T {
        fn hash_json(&self, h: &mut std::collections::hash_map::DefaultHasher) {
            serde_json::to_vec(self).unwrap_or_default().hash(h);
            h.write_u8(0xff);
        }
    }
}
