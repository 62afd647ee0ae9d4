//! How each record type is shown: the columns of its table, over the field lists of
//! `fields.rs`. Values are read from the record's JSON form (`cells.rs`), so a table shows
//! exactly what the API sent, with enum codes turned into names and dates shortened.

use ontime::{index, types};
use serde::Serialize;

pub use crate::fields::*;
use Fmt::*;

/// One table column: a header and where its value lives in the record's JSON.
#[derive(Clone, Copy, Debug)]
pub struct Col {
    pub header: &'static str,
    pub path: &'static [&'static str],
    pub fmt: Fmt,
    /// Widest the column grows; longer values are cut with `…`.
    pub max: usize,
}

const fn col(header: &'static str, path: &'static [&'static str], fmt: Fmt) -> Col {
    let max = match fmt {
        Fmt::Id => 36,
        Fmt::Date => 22,
        _ => 28,
    };
    Col {
        header,
        path,
        fmt,
        max,
    }
}

const fn wide(header: &'static str, path: &'static [&'static str], max: usize) -> Col {
    Col {
        header,
        path,
        fmt: Fmt::Text,
        max,
    }
}

/// How one record type is shown.
#[derive(Debug)]
pub struct View {
    /// `order`, for messages.
    pub singular: &'static str,
    /// `orders`, for messages.
    pub plural: &'static str,
    /// The wire fields in display order.
    pub fields: &'static [Field],
    /// The table columns.
    pub columns: &'static [Col],
}

impl View {
    /// The top-level scalar fields: the CSV columns.
    pub fn csv_fields(&self) -> impl Iterator<Item = &'static Field> + '_ {
        self.fields
            .iter()
            .filter(|(_, fmt)| !matches!(fmt, Fmt::Object(_) | Fmt::Array | Fmt::Bytes))
    }

    /// The kind of a top-level field, if the view knows it.
    pub fn field(&self, name: &str) -> Option<Fmt> {
        self.fields
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, fmt)| *fmt)
    }
}

/// A value the CLI can print: its JSON form plus a [`View`].
pub trait Viewable: Serialize {
    /// How it is shown.
    const VIEW: &'static View;
}

macro_rules! views {
    ($($ty:ty => $konst:ident { $singular:literal, $plural:literal, $fields:ident, [$($col:expr),* $(,)?] })*) => {$(
        pub const $konst: View = View {
            singular: $singular,
            plural: $plural,
            fields: $fields,
            columns: &[$($col),*],
        };
        impl Viewable for $ty {
            const VIEW: &'static View = &$konst;
        }
    )*};
}

views! {
    types::Order => ORDER { "order", "orders", ORDER_FIELDS, [
        col("ID", &["ID"], Id),
        wide("Tracking #", &["TrackingNumber"], 14),
        col("Status", &["StatusLevel"], Enum(&index::STATUS_LEVEL)),
        col("Submitted", &["DateSubmitted"], Date),
        wide("From", &["CollectionLocation", "CompanyName"], 24),
        wide("To", &["DeliveryLocation", "CompanyName"], 24),
        col("Total", &["TotalCost"], Money),
    ]}
    types::Customer => CUSTOMER { "customer", "customers", CUSTOMER_FIELDS, [
        col("ID", &["ID"], Id),
        wide("Name", &["Name"], 30),
        col("Account #", &["AccountNumber"], Text),
        col("City", &["City"], Text),
        col("State", &["State"], Text),
        col("Phone", &["Phone"], Text),
        col("Inactive", &["Inactive"], Bool),
    ]}
    types::Contact => CONTACT { "contact", "contacts", CONTACT_FIELDS, [
        col("ID", &["ID"], Id),
        col("Name", &["Name"], Text),
        wide("Email", &["Email"], 40),
        col("Phone", &["Phone"], Text),
        col("Customer", &["CustomerID"], Id),
    ]}
    types::Department => DEPARTMENT { "department", "departments", DEPARTMENT_FIELDS, [
        col("ID", &["ID"], Id),
        col("Name", &["Name"], Text),
        col("Customer", &["CustomerID"], Id),
    ]}
    types::Invoice => INVOICE { "invoice", "invoices", INVOICE_FIELDS, [
        col("ID", &["ID"], Id),
        col("Number", &["InvoiceNumber"], Num),
        col("Date", &["Date"], Date),
        col("Due", &["DueDate"], Date),
        col("Paid", &["IsPaid"], Bool),
        col("Orders", &["Orders"], Array),
        col("Total", &["TotalAmount"], Money),
    ]}
    types::Item => ITEM { "item", "items", ITEM_FIELDS, [
        col("ID", &["ID"], Id),
        col("Tracking #", &["TrackingNumber"], Text),
        wide("Description", &["Description"], 32),
        col("Weight", &["Weight"], Num),
        col("Height", &["Height"], Num),
        col("Width", &["Width"], Num),
        col("Length", &["Length"], Num),
    ]}
    types::Location => LOCATION { "location", "locations", LOCATION_FIELDS, [
        col("ID", &["ID"], Id),
        col("Company", &["CompanyName"], Text),
        col("Address", &["AddressLine1"], Text),
        col("City", &["City"], Text),
        col("State", &["State"], Text),
        col("Postal code", &["PostalCode"], Text),
        col("Zone", &["Zone", "Name"], Text),
    ]}
    types::Payment => PAYMENT { "payment", "payments", PAYMENT_FIELDS, [
        col("ID", &["ID"], Id),
        col("Date", &["Date"], Date),
        col("Amount", &["Amount"], Money),
        col("Reference", &["ReferenceNumber"], Text),
        col("Customer", &["Customer"], Id),
        col("Invoice", &["Invoice"], Id),
    ]}
    types::User => USER { "user", "users", USER_FIELDS, [
        col("ID", &["ID"], Id),
        col("User name", &["UserName"], Text),
        col("First name", &["FirstName"], Text),
        col("Last name", &["LastName"], Text),
        wide("Email", &["Email"], 40),
        col("Driver", &["IsDriver"], Bool),
    ]}
    types::UserSession => USER_SESSION { "user session", "user sessions", USER_SESSION_FIELDS, [
        col("ID", &["ID"], Id),
        col("User", &["UserID"], Id),
        col("As", &["LogInType"], Enum(&index::LOG_IN_TYPE)),
        col("Logged in", &["LogInTime"], Date),
        col("Logged out", &["LogOutTime"], Date),
        col("Start mileage", &["StartMileage"], Num),
        col("End mileage", &["EndMileage"], Num),
    ]}
    types::Vehicle => VEHICLE { "vehicle", "vehicles", VEHICLE_FIELDS, [
        col("ID", &["ID"], Id),
        col("Fleet ID", &["FleetID"], Text),
        col("Type", &["Type"], Text),
        col("Make", &["Manufacturer"], Text),
        col("Model", &["Model"], Text),
        col("Year", &["Year"], Num),
        col("Plate", &["RegistrationPlate"], Text),
    ]}
    types::Zone => ZONE { "zone", "zones", ZONE_FIELDS, [
        col("ID", &["ID"], Id),
        col("Name", &["Name"], Text),
        wide("Postal codes", &["PostalCodes"], 40),
        wide("Cities", &["Cities"], 40),
    ]}
    types::Status => STATUS { "status", "statuses", STATUS_FIELDS, [
        col("ID", &["ID"], Id),
        col("Time", &["Timestamp"], Date),
        col("Level", &["Level"], Enum(&index::STATUS_LEVEL)),
        col("Name", &["Name"], Text),
        wide("Description", &["Description"], 48),
    ]}
    types::PriceSet => PRICE_SET { "price set", "price sets", PRICE_SET_FIELDS, [
        col("ID", &["ID"], Id),
        col("Service level", &["ServiceLevel"], Text),
        col("Internal name", &["InternalName"], Text),
        col("On portal", &["IsDisplayedOnCustomerWebPortal"], Bool),
        col("Modifiers", &["PriceModifiers"], Array),
    ]}
    types::PriceModifier => PRICE_MODIFIER { "price modifier", "price modifiers", PRICE_MODIFIER_FIELDS, [
        col("ID", &["ID"], Id),
        col("Name", &["Name"], Text),
        col("Type", &["Type"], Enum(&index::PRICE_MODIFIER_TYPE)),
        col("Input", &["Input"], Enum(&index::PRICE_MODIFIER_INPUT)),
        col("Price", &["Price"], Money),
    ]}
    types::FileAttachment => FILE_ATTACHMENT { "file attachment", "file attachments", FILE_ATTACHMENT_FIELDS, [
        col("ID", &["ID"], Id),
        wide("File name", &["FileName"], 40),
        col("Size", &["Contents"], Bytes),
        col("Attached", &["Timestamp"], Date),
    ]}
    types::UserMiscCompensation => USER_MISC_COMPENSATION { "compensation", "compensations", USER_MISC_COMPENSATION_FIELDS, [
        col("ID", &["ID"], Id),
        col("User", &["User"], Id),
        col("Order", &["OrderID"], Id),
        col("Role", &["Role"], Enum(&index::COMPENSATION_ROLE)),
        col("Type", &["Type"], Enum(&index::COMPENSATION_TYPE)),
        col("Value", &["Value"], Num),
        col("Description", &["Description"], Text),
    ]}
    types::UserAvailability => USER_AVAILABILITY { "availability", "availabilities", USER_AVAILABILITY_FIELDS, [
        col("User", &["UserID"], Id),
        col("Available", &["IsAvailable"], Bool),
        col("Status", &["CurrentStatus"], Text),
        col("Since", &["LastStatusChange"], Date),
        col("Next change", &["NextAvailabilityChange"], Date),
        col("Latitude", &["Latitude"], Num),
        col("Longitude", &["Longitude"], Num),
    ]}
    types::UserPosition => USER_POSITION { "position", "positions", USER_POSITION_FIELDS, [
        col("Time", &["Timestamp"], Date),
        col("Latitude", &["Latitude"], Num),
        col("Longitude", &["Longitude"], Num),
        col("User", &["UserID"], Id),
    ]}
}

/// A status as one entry of an order's timeline (same JSON, table without the ID).
#[derive(Serialize)]
#[serde(transparent)]
pub struct TimelineEntry(pub types::Status);

pub const TIMELINE: View = View {
    singular: "status change",
    plural: "status changes",
    fields: STATUS_FIELDS,
    columns: &[
        col("Time", &["Timestamp"], Date),
        col("Level", &["Level"], Enum(&index::STATUS_LEVEL)),
        col("Name", &["Name"], Text),
        wide("Description", &["Description"], 60),
    ],
};

impl Viewable for TimelineEntry {
    const VIEW: &'static View = &TIMELINE;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record view holds exactly the fields of its record in the spec index, with the
    /// index's kinds (money aside).
    #[test]
    fn record_views_cover_the_spec_index() {
        let views: [(&View, &index::Record); 19] = [
            (&ORDER, &index::ORDER),
            (&CUSTOMER, &index::CUSTOMER),
            (&CONTACT, &index::CONTACT),
            (&DEPARTMENT, &index::DEPARTMENT),
            (&INVOICE, &index::INVOICE),
            (&ITEM, &index::ITEM),
            (&LOCATION, &index::LOCATION),
            (&PAYMENT, &index::PAYMENT),
            (&USER, &index::USER),
            (&USER_SESSION, &index::USER_SESSION),
            (&VEHICLE, &index::VEHICLE),
            (&ZONE, &index::ZONE),
            (&STATUS, &index::STATUS),
            (&PRICE_SET, &index::PRICE_SET),
            (&PRICE_MODIFIER, &index::PRICE_MODIFIER),
            (&FILE_ATTACHMENT, &index::FILE_ATTACHMENT),
            (&USER_MISC_COMPENSATION, &index::USER_MISC_COMPENSATION),
            (&USER_AVAILABILITY, &index::USER_AVAILABILITY),
            (&USER_POSITION, &index::USER_POSITION),
        ];
        for (view, record) in views {
            let mut shown: Vec<&str> = view.fields.iter().map(|(n, _)| *n).collect();
            shown.sort_unstable();
            let spec: Vec<&str> = record.fields.iter().map(|f| f.name).collect();
            assert_eq!(shown, spec, "{}", record.name);
            // Every table column reads a field of the record (or of an embedded record).
            for col in view.columns {
                let top = record.field(col.path[0]).expect("a column of a spec field");
                if let [_, sub] = col.path {
                    let index::Kind::Record(name) = top.kind else {
                        panic!(
                            "{}: column {:?} looks into a non-record",
                            record.name, col.path
                        )
                    };
                    assert!(index::record(name).and_then(|r| r.field(sub)).is_some());
                }
            }
        }
        assert_eq!(ORDER.fields[0].0, "ID");
        for (record, field) in MONEY {
            let kind = index::record(record)
                .and_then(|r| r.field(field))
                .map(|f| f.kind);
            assert_eq!(kind, Some(index::Kind::Number), "{record}.{field}");
        }
    }

    #[test]
    fn csv_fields_are_the_scalars() {
        let names: Vec<_> = FILE_ATTACHMENT.csv_fields().map(|(n, _)| *n).collect();
        assert_eq!(names, ["ID", "FileName", "Timestamp"]);
        assert!(ORDER.csv_fields().all(|(n, _)| *n != "CollectionLocation"));
    }
}
