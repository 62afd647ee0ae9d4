//! API keys as OnTime has them: a scope (the whole account or one customer) and per-record-type
//! permissions.

use uuid::Uuid;

/// The record types a key's permissions are granted or denied for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// Contacts.
    Contact,
    /// Customers.
    Customer,
    /// Departments.
    Department,
    /// File attachments of orders.
    FileAttachment,
    /// Invoices.
    Invoice,
    /// Order items.
    Item,
    /// Locations.
    Location,
    /// Orders (and the order actions: status, COD, signatures, reports, prices).
    Order,
    /// Payments.
    Payment,
    /// Price modifiers.
    PriceModifier,
    /// Price sets.
    PriceSet,
    /// Status changes.
    Status,
    /// Users (and their availability and positions).
    User,
    /// Miscellaneous user compensations.
    UserMiscCompensation,
    /// User sessions.
    UserSession,
    /// Vehicles.
    Vehicle,
    /// Zones.
    Zone,
}

impl RecordKind {
    /// Every kind, in the order of the spec index's records (`ontime_raw::index::RECORDS`).
    /// A test fails when the spec gains a record that is neither a kind here nor listed as
    /// one that only travels inside others.
    pub const ALL: [RecordKind; 17] = [
        Self::Contact,
        Self::Customer,
        Self::Department,
        Self::FileAttachment,
        Self::Invoice,
        Self::Item,
        Self::Location,
        Self::Order,
        Self::Payment,
        Self::PriceModifier,
        Self::PriceSet,
        Self::Status,
        Self::User,
        Self::UserMiscCompensation,
        Self::UserSession,
        Self::Vehicle,
        Self::Zone,
    ];

    /// The spec's schema name of the record (`FileAttachment`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Contact => "Contact",
            Self::Customer => "Customer",
            Self::Department => "Department",
            Self::FileAttachment => "FileAttachment",
            Self::Invoice => "Invoice",
            Self::Item => "Item",
            Self::Location => "Location",
            Self::Order => "Order",
            Self::Payment => "Payment",
            Self::PriceModifier => "PriceModifier",
            Self::PriceSet => "PriceSet",
            Self::Status => "Status",
            Self::User => "User",
            Self::UserMiscCompensation => "UserMiscCompensation",
            Self::UserSession => "UserSession",
            Self::Vehicle => "Vehicle",
            Self::Zone => "Zone",
        }
    }

    /// The spec index's record of this kind.
    pub fn record(self) -> Option<&'static ontime_raw::index::Record> {
        ontime_raw::index::record(self.name())
    }

    /// The plural name used in fault messages.
    pub fn plural(self) -> &'static str {
        match self {
            Self::Contact => "Contacts",
            Self::Customer => "Customers",
            Self::Department => "Departments",
            Self::FileAttachment => "FileAttachments",
            Self::Invoice => "Invoices",
            Self::Item => "Items",
            Self::Location => "Locations",
            Self::Order => "Orders",
            Self::Payment => "Payments",
            Self::PriceModifier => "PriceModifiers",
            Self::PriceSet => "PriceSets",
            Self::Status => "Statuses",
            Self::User => "Users",
            Self::UserMiscCompensation => "UserMiscCompensations",
            Self::UserSession => "UserSessions",
            Self::Vehicle => "Vehicles",
            Self::Zone => "Zones",
        }
    }

    /// Whether a key scoped to one customer may touch this kind at all. Staff and account
    /// configuration data (users, vehicles, sessions, compensations, zones, billing) is not
    /// visible to customer keys; shared reference data (locations, price sets and modifiers) is
    /// readable.
    pub(crate) fn scoped_access(self, access: Access) -> bool {
        match self {
            Self::Order
            | Self::Item
            | Self::FileAttachment
            | Self::Status
            | Self::Contact
            | Self::Department
            | Self::Customer
            | Self::Location => true,
            Self::Invoice | Self::Payment | Self::Zone | Self::PriceSet | Self::PriceModifier => {
                access == Access::Read
            }
            Self::User | Self::UserMiscCompensation | Self::UserSession | Self::Vehicle => false,
        }
    }
}

/// Whether an operation reads or writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Reads records (finders, gets, reports, authenticate).
    Read,
    /// Creates or changes records.
    Write,
}

/// What a new API key may do; see [`RunningMock::add_key`](crate::RunningMock::add_key).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeySpec {
    /// The key's value; `None` generates a GUID-shaped key.
    pub key: Option<String>,
    /// Restrict the key to one customer's data (`None`: the whole account).
    pub customer: Option<Uuid>,
    /// Record types this key is denied (403).
    pub deny: Vec<RecordKind>,
    /// When set, the only record types this key may touch (403 for every other).
    pub allow: Option<Vec<RecordKind>>,
    /// Record types this key may read but not change (403 on their writes).
    pub deny_write: Vec<RecordKind>,
    /// Deny every write (403 on posts and order actions that change data).
    pub read_only: bool,
    /// Daily quota of this key (`None`: the server's default).
    pub daily_quota: Option<u64>,
    /// Monthly quota of this key (`None`: the server's default).
    pub monthly_quota: Option<u64>,
}

impl KeySpec {
    /// A full-access key.
    pub fn full() -> Self {
        Self::default()
    }

    /// A key scoped to `customer`.
    pub fn customer(customer: Uuid) -> Self {
        Self {
            customer: Some(customer),
            ..Self::default()
        }
    }

    /// Uses `key` as the key's value.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Denies `kind`.
    pub fn deny(mut self, kind: RecordKind) -> Self {
        self.deny.push(kind);
        self
    }

    /// Allows `kind`: once any kind is allowed, every kind not allowed is denied.
    pub fn allow(mut self, kind: RecordKind) -> Self {
        self.allow.get_or_insert_with(Vec::new).push(kind);
        self
    }

    /// Lets the key read `kind` but not change it.
    pub fn deny_write(mut self, kind: RecordKind) -> Self {
        self.deny_write.push(kind);
        self
    }

    /// Denies all writes.
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// Gives the key its own daily quota.
    pub fn daily_quota(mut self, quota: u64) -> Self {
        self.daily_quota = Some(quota);
        self
    }

    /// Gives the key its own monthly quota.
    pub fn monthly_quota(mut self, quota: u64) -> Self {
        self.monthly_quota = Some(quota);
        self
    }

    /// Why this key may not do `access` on `kind`, if it may not.
    pub(crate) fn check(&self, kind: RecordKind, access: Access) -> Result<(), String> {
        let allowed = self
            .allow
            .as_ref()
            .is_none_or(|allow| allow.contains(&kind));
        if self.deny.contains(&kind) || !allowed {
            return Err(format!(
                "The API key does not have permission to access {}.",
                kind.plural()
            ));
        }
        if (self.read_only || self.deny_write.contains(&kind)) && access == Access::Write {
            return Err(format!(
                "The API key does not have permission to modify {}.",
                kind.plural()
            ));
        }
        if self.customer.is_some() && !kind.scoped_access(access) {
            return Err(format!(
                "The API key is restricted to a single customer and cannot {} {}.",
                if access == Access::Read {
                    "access"
                } else {
                    "modify"
                },
                kind.plural()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::RecordKind;
    use ontime_raw::index::RECORDS;

    /// Records of the spec that only travel inside others (no operation of their own, so no
    /// permission of their own: a user's availability and positions are the user's).
    const EMBEDDED: &[&str] = &[
        "Fault",
        "TimeWindow",
        "UserAvailability",
        "UserDefinedField",
        "UserPosition",
        "VehicleType",
    ];

    /// The kinds are the spec's records, in its order, less the embedded ones: a record added
    /// to the spec fails this test until it is made a kind or listed as embedded.
    #[test]
    fn kinds_are_the_spec_index_records() {
        let from_index: Vec<&str> = RECORDS
            .iter()
            .map(|r| r.name)
            .filter(|name| !EMBEDDED.contains(name))
            .collect();
        let kinds: Vec<&str> = RecordKind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(kinds, from_index);
        for name in EMBEDDED {
            assert!(
                RECORDS.iter().any(|r| r.name == *name),
                "{name} is no longer a record of the spec"
            );
        }
        for kind in RecordKind::ALL {
            assert!(kind.record().is_some(), "{kind:?}");
            // The plural of the fault messages is the record's name made plural.
            let plural = match kind.name() {
                "Status" => "Statuses".to_owned(),
                name => format!("{name}s"),
            };
            assert_eq!(kind.plural(), plural);
        }
    }
}
