//! Typed record identifiers: an `OrderId` cannot be passed where a `CustomerId` is expected.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

/// What every typed identifier offers.
pub trait TypedId:
    Copy
    + Eq
    + Ord
    + std::hash::Hash
    + fmt::Debug
    + fmt::Display
    + From<Uuid>
    + Into<Uuid>
    + Send
    + Sync
    + 'static
{
    /// The record kind, for messages (`"Order"`).
    const KIND: &'static str;
    /// A new random identifier (v4), for creating records with a client-assigned ID.
    fn new_random() -> Self {
        Self::from(Uuid::new_v4())
    }
}

macro_rules! id_types {
    ($($(#[$doc:meta])* $name:ident => $kind:literal;)*) => {$(
        $(#[$doc])*
        ///
        /// A newtype over [`Uuid`]; serialises as the plain GUID string OnTime uses.
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps a GUID.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }
            /// The GUID.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
            /// A new random identifier (v4), for creating a record with a client-assigned ID
            /// (which makes the create safe to retry).
            pub fn new_random() -> Self {
                Self(Uuid::new_v4())
            }
        }

        impl TypedId for $name {
            const KIND: &'static str = $kind;
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }

        impl PartialEq<Uuid> for $name {
            fn eq(&self, other: &Uuid) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<$name> for Uuid {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = IdParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s.trim())
                    .map(Self)
                    .map_err(|_| IdParseError { kind: $kind, input: s.chars().take(60).collect() })
            }
        }
    )*};
}

id_types! {
    /// Identifies an [`Order`](crate::types::Order).
    OrderId => "Order";
    /// Identifies a [`Customer`](crate::types::Customer).
    CustomerId => "Customer";
    /// Identifies a [`Contact`](crate::types::Contact).
    ContactId => "Contact";
    /// Identifies a [`Department`](crate::types::Department).
    DepartmentId => "Department";
    /// Identifies an [`Invoice`](crate::types::Invoice).
    InvoiceId => "Invoice";
    /// Identifies an [`Item`](crate::types::Item).
    ItemId => "Item";
    /// Identifies a [`Location`](crate::types::Location).
    LocationId => "Location";
    /// Identifies a [`Payment`](crate::types::Payment).
    PaymentId => "Payment";
    /// Identifies a [`User`](crate::types::User).
    UserId => "User";
    /// Identifies a [`UserSession`](crate::types::UserSession).
    UserSessionId => "UserSession";
    /// Identifies a [`Vehicle`](crate::types::Vehicle).
    VehicleId => "Vehicle";
    /// Identifies a [`Zone`](crate::types::Zone).
    ZoneId => "Zone";
    /// Identifies a [`Status`](crate::types::Status) record.
    StatusId => "Status";
    /// Identifies a [`PriceSet`](crate::types::PriceSet).
    PriceSetId => "PriceSet";
    /// Identifies a [`PriceModifier`](crate::types::PriceModifier).
    PriceModifierId => "PriceModifier";
    /// Identifies a [`FileAttachment`](crate::types::FileAttachment).
    FileAttachmentId => "FileAttachment";
    /// Identifies a [`UserMiscCompensation`](crate::types::UserMiscCompensation).
    UserMiscCompensationId => "UserMiscCompensation";
}

/// A string that is not a GUID was given as an identifier.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{input:?} is not a valid {kind} identifier (expected a GUID such as 44bc0a1d-ef24-49b5-a0cb-54181ce5dbcf)"
)]
pub struct IdParseError {
    kind: &'static str,
    input: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_display_and_serialise_as_plain_guids() {
        let id: OrderId = "44bc0a1d-ef24-49b5-a0cb-54181ce5dbcf".parse().unwrap();
        assert_eq!(id.to_string(), "44bc0a1d-ef24-49b5-a0cb-54181ce5dbcf");
        assert_eq!(
            format!("{id:?}"),
            "OrderId(44bc0a1d-ef24-49b5-a0cb-54181ce5dbcf)"
        );
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"44bc0a1d-ef24-49b5-a0cb-54181ce5dbcf\""
        );
        let back: OrderId =
            serde_json::from_str("\"44bc0a1d-ef24-49b5-a0cb-54181ce5dbcf\"").unwrap();
        assert_eq!(back, id);
    }

    #[test]
    fn bad_ids_name_the_kind_and_the_input() {
        let err = "not-a-guid".parse::<CustomerId>().unwrap_err();
        assert!(
            err.to_string()
                .contains("\"not-a-guid\" is not a valid Customer identifier"),
            "{err}"
        );
    }

    /// Compiles only while the generated records hold typed IDs: an order's `customer` is an
    /// `Option<CustomerId>`, comparable with the customer's own `id` and with nothing else.
    fn customer_of(order: &crate::types::Order) -> Option<CustomerId> {
        order.customer
    }

    #[test]
    fn generated_records_hold_typed_ids() {
        let customer = crate::types::Customer {
            id: Some(CustomerId::from_uuid(Uuid::from_u128(7))),
            ..crate::types::Customer::builder()
                .try_into()
                .expect("defaults")
        };
        let order = crate::types::Order {
            customer: customer.id,
            price_set: Some(PriceSetId::from_uuid(Uuid::from_u128(8))),
            ..crate::types::Order::builder().try_into().expect("defaults")
        };
        assert_eq!(customer_of(&order), customer.id);
        assert!(order.customer == customer.id);
        let price_sets: Option<Vec<PriceSetId>> = customer.price_sets;
        assert_eq!(price_sets, None);
    }

    #[test]
    fn record_ids_round_trip_as_plain_guids_including_the_all_zero_one() {
        let json = serde_json::json!({
            "ID": "44bc0a1d-ef24-49b5-a0cb-54181ce5dbcf",
            "Customer": "00000000-0000-0000-0000-000000000000",
            "CollectionAssignedDriver": null,
            "Dispatcher": "0005eed0-0000-0000-0000-000000000001",
        });
        let order: crate::types::Order = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(
            order.id,
            Some(
                "44bc0a1d-ef24-49b5-a0cb-54181ce5dbcf"
                    .parse::<OrderId>()
                    .unwrap()
            )
        );
        assert_eq!(order.customer, Some(CustomerId::from_uuid(Uuid::nil())));
        assert_eq!(order.collection_assigned_driver, None);
        let back = serde_json::to_value(&order).unwrap();
        for field in ["ID", "Customer", "Dispatcher"] {
            assert_eq!(back[field], json[field], "{field}");
        }
        assert_eq!(back.get("CollectionAssignedDriver"), None);
        let invoice: crate::types::Invoice = serde_json::from_value(serde_json::json!({
            "Orders": ["44bc0a1d-ef24-49b5-a0cb-54181ce5dbcf"]
        }))
        .unwrap();
        assert_eq!(invoice.orders, Some(vec![order.id.unwrap()]));
        assert!(
            serde_json::from_value::<crate::types::Order>(serde_json::json!({"ID": "x"})).is_err()
        );
    }

    #[test]
    fn ids_compare_with_their_guid() {
        let uuid = Uuid::from_u128(9);
        assert!(UserId::from(uuid) == uuid);
        assert!(uuid == UserId::from(uuid));
    }

    #[test]
    fn random_ids_differ() {
        assert_ne!(OrderId::new_random(), OrderId::new_random());
    }
}
