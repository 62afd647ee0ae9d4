//! How each record type is shown: the columns of its table, and the wire fields (with their
//! kinds) used for CSV and for the one-record detail view.
//!
//! The field lists come from the spec index (`ontime::index`, from ontime-raw, generated from
//! `openapi/ontime.json`): every field of a record, in a curated order (ID first) with any
//! field the list does not name after it, so a field added to the spec is shown, written to CSV
//! and accepted by `orders update --set` without an edit here. Values are read from the record's JSON form, so a table shows exactly what the
//! API sent, with enum codes turned into names and dates shortened.

use ontime::index;
use ontime::types;
use serde::Serialize;
use serde_json::Value;

/// What kind of value a field holds, which decides how it is rendered.
#[derive(Clone, Copy, Debug)]
pub enum Fmt {
    /// Free text.
    Text,
    /// A GUID.
    Id,
    /// An OnTime date-time (shown as `YYYY-MM-DD HH:MM` in tables).
    Date,
    /// An amount of money (two decimals in tables).
    Money,
    /// Any other number.
    Num,
    /// A boolean (`yes`/`no` in tables).
    Bool,
    /// Base64 contents (shown as a size; left out of CSV).
    Bytes,
    /// An integer-coded enum (shown by name).
    Enum(EnumKind),
    /// An embedded record, with its own fields.
    Object(&'static [Field]),
    /// A list (shown as a count).
    Array,
}

/// The lenient enums of the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnumKind {
    StatusLevel,
    PricingMethod,
    PriceModifierType,
    PriceModifierInput,
    CompensationRole,
    CompensationType,
    LogInType,
}

impl EnumKind {
    /// The kind for the spec's enum schema `name` (a record field typed with an enum the CLI
    /// does not know stops the build).
    pub const fn named(name: &str) -> EnumKind {
        const KINDS: [(&str, EnumKind); 7] = [
            ("StatusLevel", EnumKind::StatusLevel),
            ("PricingMethod", EnumKind::PricingMethod),
            ("PriceModifierType", EnumKind::PriceModifierType),
            ("PriceModifierInput", EnumKind::PriceModifierInput),
            ("CompensationRole", EnumKind::CompensationRole),
            ("CompensationType", EnumKind::CompensationType),
            ("LogInType", EnumKind::LogInType),
        ];
        let mut i = 0;
        while i < KINDS.len() {
            if str_eq(KINDS[i].0, name) {
                return KINDS[i].1;
            }
            i += 1;
        }
        panic!("a record field has an enum views.rs does not know")
    }
}

/// A wire field name and its kind.
pub type Field = (&'static str, Fmt);

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

use EnumKind as E;
use Fmt::*;

/// The field list of a record: every field the spec index lists for it, the `first` names in
/// that order (the CLI's presentation order), then any other field of the index (a field added
/// to the spec appears without an edit here). Kinds come from the index; [`MONEY`] marks money;
/// `embeds` gives the field lists of embedded records (an embedded record not listed is still
/// shown, its values as plain text).
///
/// Evaluated when compiling: a name that is not in the index, a name given twice, or a money
/// entry that is not a number stops the build.
const fn fields<const N: usize>(
    record: &'static index::Record,
    first: &[&str],
    embeds: &[(&str, &'static [Field])],
) -> [Field; N] {
    let mut out: [Field; N] = [("", Fmt::Text); N];
    let mut len = 0;
    let mut i = 0;
    while i < first.len() {
        let mut j = 0;
        while j < len {
            if str_eq(out[j].0, first[i]) {
                panic!("a field is listed twice in views.rs");
            }
            j += 1;
        }
        let mut k = 0;
        let mut found = false;
        while k < record.fields.len() {
            let field = &record.fields[k];
            if str_eq(field.name, first[i]) {
                out[len] = (field.name, fmt_of(record, field, embeds));
                len += 1;
                found = true;
            }
            k += 1;
        }
        if !found {
            panic!("views.rs lists a field the spec index does not have");
        }
        i += 1;
    }
    let mut k = 0;
    while k < record.fields.len() {
        let field = &record.fields[k];
        let mut listed = false;
        let mut i = 0;
        while i < first.len() {
            listed |= str_eq(field.name, first[i]);
            i += 1;
        }
        if !listed {
            out[len] = (field.name, fmt_of(record, field, embeds));
            len += 1;
        }
        k += 1;
    }
    if len != N {
        panic!("field count differs from the index");
    }
    out
}

/// How a field of the index is rendered.
const fn fmt_of(
    record: &index::Record,
    field: &index::Field,
    embeds: &[(&str, &'static [Field])],
) -> Fmt {
    let money = is_money(record.name, field.name);
    let fmt = match field.kind {
        index::Kind::Text | index::Kind::TimeSpan | index::Kind::Any => Fmt::Text,
        index::Kind::Id => Fmt::Id,
        index::Kind::DateTime => Fmt::Date,
        index::Kind::Integer | index::Kind::Number if money => Fmt::Money,
        index::Kind::Integer | index::Kind::Number => Fmt::Num,
        index::Kind::Bool => Fmt::Bool,
        index::Kind::Bytes => Fmt::Bytes,
        index::Kind::Enum(name) => Fmt::Enum(EnumKind::named(name)),
        index::Kind::Array(_) => Fmt::Array,
        index::Kind::Map(_) => Fmt::Object(&[]),
        index::Kind::Record(_) => {
            let mut sub: &'static [Field] = &[];
            let mut i = 0;
            while i < embeds.len() {
                if str_eq(embeds[i].0, field.name) {
                    sub = embeds[i].1;
                }
                i += 1;
            }
            Fmt::Object(sub)
        }
    };
    if money && !matches!(fmt, Fmt::Money) {
        panic!("views.rs MONEY names a field that is not a number");
    }
    fmt
}

/// Whether [`MONEY`] lists `record.field`.
const fn is_money(record: &str, field: &str) -> bool {
    let mut i = 0;
    while i < MONEY.len() {
        if str_eq(MONEY[i].0, record) && str_eq(MONEY[i].1, field) {
            return true;
        }
        i += 1;
    }
    false
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// `record_fields!(ORDER_FIELDS = ORDER ["ID", …] embeds ["Status" => STATUS_FIELDS, …]);`
/// defines `ORDER_FIELDS` from `index::ORDER` with [`fields`].
macro_rules! record_fields {
    ($konst:ident = $record:ident [$($name:literal),* $(,)?] $(embeds [$($sub:literal => $fields:ident),* $(,)?])?) => {
        pub const $konst: &[Field] = &fields::<{ index::$record.fields.len() }>(
            &index::$record,
            &[$($name),*],
            &[$($(($sub, $fields)),*)?],
        );
    };
}

/// The fields the CLI shows as money (two decimals in tables). The spec types them as plain
/// numbers; every entry must name a numeric field of the index (checked when compiling).
pub const MONEY: &[(&str, &str)] = &[
    ("Order", "DeclaredValue"),
    ("Order", "BasePrice"),
    ("Order", "PriceAdjustment"),
    ("Order", "PriceModifierTotalCost"),
    ("Order", "Subtotal"),
    ("Order", "TaxTotal"),
    ("Order", "TotalCost"),
    ("Order", "CODAmount"),
    ("Invoice", "TotalAmount"),
    ("Payment", "Amount"),
    ("PriceModifier", "Price"),
    ("PriceModifier", "CustomValue"),
    ("PriceModifier", "FlatCompensation"),
];

record_fields!(ORDER_FIELDS = ORDER [
    "ID", "TrackingNumber", "StatusLevel", "Status", "DateSubmitted", "Customer", "Department",
    "CustomerContact", "RequestedBy", "Description", "Comments", "CollectionLocation",
    "CollectionContactName", "CollectionArrivalWindow", "CollectionArrivalDate",
    "CollectionCODRequired", "CollectionSignatureRequired", "CollectionAssignedDriver",
    "DeliveryLocation", "DeliveryContactName", "DeliveryArrivalWindow", "DeliveryArrivalDate",
    "DeliveryCODRequired", "DeliverySignatureRequired", "DeliveryAssignedDriver", "Dispatcher",
    "DriverCurrentlyAssigned", "RouteName", "VehicleRequired", "Items", "Quantity", "Weight",
    "Height", "Width", "Length", "Distance", "DeclaredValue", "PriceSet", "BasePriceType",
    "BasePrice", "PriceAdjustment", "PriceModifiers", "PriceModifierTotalCost", "Subtotal",
    "TaxTotal", "TotalCost", "CODAmount", "ReferenceNumber", "PurchaseOrderNumber",
    "IncomingTrackingNumber", "OutgoingTrackingNumber", "SubmissionSource",
    "DriverCoordinatesOnCollection", "DriverCoordinatesOnDelivery", "UserDefinedFields",
    "UserMiscCompensations",
] embeds [
    "Status" => STATUS_FIELDS,
    "Department" => DEPARTMENT_FIELDS,
    "CustomerContact" => CONTACT_FIELDS,
    "CollectionLocation" => LOCATION_FIELDS,
    "CollectionArrivalWindow" => TIME_WINDOW_FIELDS,
    "DeliveryLocation" => LOCATION_FIELDS,
    "DeliveryArrivalWindow" => TIME_WINDOW_FIELDS,
    "VehicleRequired" => VEHICLE_TYPE_FIELDS,
]);
record_fields!(CUSTOMER_FIELDS = CUSTOMER [
    "ID", "Name", "AccountNumber", "PrimaryContactName", "AddressLine1", "AddressLine2", "City",
    "State", "PostalCode", "Country", "Phone", "Fax", "Email", "Website", "BillingEmail",
    "TimeZone", "ReferenceNumber", "PurchaseOrderNumber", "Comments", "DestinationCategories",
    "OrderEntryRequiredFields", "BillingAdjustmentPercentage", "SendInvoiceByEmail",
    "SendInvoiceByPostal", "SendInvoiceByFax", "HasWebPortalAccess", "Inactive", "PricingMethod",
    "DefaultPriceSet", "PriceSets", "Departments", "Contacts",
]);
record_fields!(CONTACT_FIELDS = CONTACT [
    "ID", "CustomerID", "Name", "Email", "Phone",
]);
record_fields!(DEPARTMENT_FIELDS = DEPARTMENT [
    "ID", "CustomerID", "Name",
]);
record_fields!(INVOICE_FIELDS = INVOICE [
    "ID", "InvoiceNumber", "Customer", "Date", "DueDate", "IsPaid", "TotalAmount", "Memo",
    "TransferredToQuickBooksDesktop", "Orders",
]);
record_fields!(ITEM_FIELDS = ITEM [
    "ID", "OrderID", "TrackingNumber", "Description", "Comments", "Weight", "Height", "Width",
    "Length",
]);
record_fields!(LOCATION_FIELDS = LOCATION [
    "ID", "CompanyName", "ContactName", "AddressLine1", "AddressLine2", "City", "State",
    "PostalCode", "Country", "Comments", "Email", "Phone", "Category", "LatitudeLongitude", "Zone",
] embeds [
    "Zone" => ZONE_FIELDS,
]);
record_fields!(PAYMENT_FIELDS = PAYMENT [
    "ID", "Customer", "Invoice", "Amount", "Date", "Memo", "ReferenceNumber",
    "TransferredToQuickBooksDesktop",
]);
record_fields!(USER_FIELDS = USER [
    "ID", "UserName", "FirstName", "LastName", "Email", "MobileNumber", "SMSNumber", "IsDriver",
    "IsEmployee", "IsSubcontractor", "IsCompany", "CompanyName", "HiredDate",
    "EmployerIdentificationNumber", "LoggedInAsDispatcher", "LoggedInAsDriver", "DriverLastSync",
    "DriverLastLocation", "PictureBytes", "TimeClockSessions",
]);
record_fields!(USER_SESSION_FIELDS = USER_SESSION [
    "ID", "UserID", "LogInType", "LogInTime", "LogOutTime", "Vehicle", "StartMileage",
    "EndMileage",
]);
record_fields!(VEHICLE_FIELDS = VEHICLE [
    "ID", "FleetID", "Type", "Manufacturer", "Model", "Year", "RegistrationPlate",
    "VehicleIdentificationNumber", "Capacity", "Capabilities", "OdometerReading", "Owner",
    "IsCompanyVehicle", "Comments",
]);
record_fields!(ZONE_FIELDS = ZONE [
    "ID", "Name", "PostalCodes", "Cities", "PolygonPoints",
]);
record_fields!(STATUS_FIELDS = STATUS [
    "ID", "Timestamp", "Level", "Name", "Description",
]);
record_fields!(PRICE_SET_FIELDS = PRICE_SET [
    "ID", "ServiceLevel", "InternalName", "DispatcherInstructions", "CustomerInstructions",
    "PercentCommissionable", "IsDisplayedOnCustomerWebPortal", "PriceModifiers",
]);
record_fields!(PRICE_MODIFIER_FIELDS = PRICE_MODIFIER [
    "ID", "Name", "InternalName", "Description", "Type", "Input", "Price", "CustomValue",
    "PercentCommissionable", "FlatCompensation", "PercentCompensation", "Notes",
]);
record_fields!(FILE_ATTACHMENT_FIELDS = FILE_ATTACHMENT [
    "ID", "FileName", "Timestamp", "Contents",
]);
record_fields!(USER_MISC_COMPENSATION_FIELDS = USER_MISC_COMPENSATION [
    "ID", "User", "OrderID", "Role", "Type", "Value", "Description",
]);
record_fields!(USER_AVAILABILITY_FIELDS = USER_AVAILABILITY [
    "ID", "UserID", "IsAvailable", "CurrentStatus", "LastStatusChange", "NextAvailabilityChange",
    "Latitude", "Longitude",
]);
record_fields!(USER_POSITION_FIELDS = USER_POSITION [
    "ID", "UserID", "Timestamp", "Latitude", "Longitude",
]);
record_fields!(TIME_WINDOW_FIELDS = TIME_WINDOW [
    "EarliestTime", "LatestTime", "Length",
]);
record_fields!(VEHICLE_TYPE_FIELDS = VEHICLE_TYPE [
    "ID", "Name",
]);

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
        col("Status", &["StatusLevel"], Enum(E::StatusLevel)),
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
        col("As", &["LogInType"], Enum(E::LogInType)),
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
        col("Level", &["Level"], Enum(E::StatusLevel)),
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
        col("Type", &["Type"], Enum(E::PriceModifierType)),
        col("Input", &["Input"], Enum(E::PriceModifierInput)),
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
        col("Role", &["Role"], Enum(E::CompensationRole)),
        col("Type", &["Type"], Enum(E::CompensationType)),
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
        col("Level", &["Level"], Enum(E::StatusLevel)),
        col("Name", &["Name"], Text),
        wide("Description", &["Description"], 60),
    ],
};

impl Viewable for TimelineEntry {
    const VIEW: &'static View = &TIMELINE;
}

/// Follows `path` into a JSON value.
pub fn lookup<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}

/// The name of an enum value given as a code or a name (unknown values verbatim).
pub fn enum_name(kind: EnumKind, value: &Value) -> String {
    fn name<T: serde::de::DeserializeOwned + std::fmt::Display>(value: &Value) -> String {
        match T::deserialize(value) {
            Ok(v) => v.to_string(),
            Err(_) => plain(value),
        }
    }
    use ontime::lenient as l;
    match kind {
        E::StatusLevel => name::<l::StatusLevel>(value),
        E::PricingMethod => name::<l::PricingMethod>(value),
        E::PriceModifierType => name::<l::PriceModifierType>(value),
        E::PriceModifierInput => name::<l::PriceModifierInput>(value),
        E::CompensationRole => name::<l::CompensationRole>(value),
        E::CompensationType => name::<l::CompensationType>(value),
        E::LogInType => name::<l::LogInType>(value),
    }
}

/// A value for an enum field typed by a user: a known name (any case) or a known code, as the
/// code's JSON number. Anything else is refused with the valid names: the library keeps values
/// it does not know (the server may know them), but a typo should not reach the server.
pub fn known_enum(kind: EnumKind, raw: &str) -> Result<Value, String> {
    macro_rules! known {
        ($t:ty, $what:literal) => {{
            let text = raw.trim();
            let found = match text.parse::<i64>() {
                Ok(code) => <$t>::from_known_code(code),
                Err(_) => <$t>::from_known_name(text),
            };
            match found.and_then(|v| v.code()) {
                Some(code) => Ok(Value::from(code)),
                None => Err(format!(
                    "{text:?} is not a known {}: valid values are {} (any case), or their codes {}",
                    $what,
                    <$t>::ALL
                        .iter()
                        .map(|v| v.to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                    <$t>::ALL
                        .iter()
                        .filter_map(|v| v.code())
                        .map(|c| c.to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                )),
            }
        }};
    }
    use ontime::lenient as l;
    match kind {
        E::StatusLevel => known!(l::StatusLevel, "status level"),
        E::PricingMethod => known!(l::PricingMethod, "pricing method"),
        E::PriceModifierType => known!(l::PriceModifierType, "price modifier type"),
        E::PriceModifierInput => known!(l::PriceModifierInput, "price modifier input"),
        E::CompensationRole => known!(l::CompensationRole, "compensation role"),
        E::CompensationType => known!(l::CompensationType, "compensation type"),
        E::LogInType => known!(l::LogInType, "log-in type"),
    }
}

/// A scalar as plain text (strings without quotes).
pub fn plain(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A date-time shortened for tables: `2026-11-24T15:00:00` becomes `2026-11-24 15:00`; an
/// offset is kept (`2026-11-24 15:00Z`); the .NET "no date" value becomes empty.
pub fn short_date(text: &str) -> String {
    if text.starts_with("0001-01-01") {
        return String::new();
    }
    let Ok(dt) = ontime::OnTimeDateTime::parse(text) else {
        return text.to_string();
    };
    let mut out = dt.naive_local().format("%Y-%m-%d %H:%M").to_string();
    match dt.offset() {
        ontime::DateTimeOffset::Unspecified => {}
        ontime::DateTimeOffset::Utc => out.push('Z'),
        ontime::DateTimeOffset::Fixed(offset) => out.push_str(&offset.to_string()),
    }
    out
}

/// A date-time for the detail view: `2026-11-24 15:00:07` (offset kept).
pub fn long_date(text: &str) -> String {
    match ontime::OnTimeDateTime::parse(text) {
        Ok(dt) if !dt.is_unset() => text.replacen('T', " ", 1),
        Ok(_) => String::new(),
        Err(_) => text.to_string(),
    }
}

/// Roughly how many bytes a base64 text decodes to.
pub fn base64_len(text: &str) -> usize {
    let text = text.trim();
    let padding = text.bytes().rev().take_while(|b| *b == b'=').count();
    (text.len() / 4 * 3).saturating_sub(padding)
}

/// Human size: `812 B`, `12.4 KiB`, `3.1 MiB`.
pub fn human_size(bytes: usize) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if b < KIB {
        format!("{bytes} B")
    } else if b < KIB * KIB {
        format!("{:.1} KiB", b / KIB)
    } else {
        format!("{:.1} MiB", b / KIB / KIB)
    }
}

/// A value as shown in a table cell.
pub fn table_cell(value: Option<&Value>, fmt: Fmt) -> String {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return String::new();
    };
    match fmt {
        Fmt::Date => value
            .as_str()
            .map(short_date)
            .unwrap_or_else(|| plain(value)),
        Fmt::Money => match value.as_f64() {
            Some(n) => format!("{n:.2}"),
            None => plain(value),
        },
        Fmt::Bool => match value.as_bool() {
            Some(true) => "yes".into(),
            Some(false) => "no".into(),
            None => plain(value),
        },
        Fmt::Enum(kind) => enum_name(kind, value),
        Fmt::Bytes => value
            .as_str()
            .map(|s| human_size(base64_len(s)))
            .unwrap_or_default(),
        Fmt::Array => value
            .as_array()
            .map(|a| a.len().to_string())
            .unwrap_or_else(|| plain(value)),
        Fmt::Object(_) => match value {
            Value::Object(map) => map.get("Name").map(plain).unwrap_or_else(|| "{…}".into()),
            other => plain(other),
        },
        Fmt::Text | Fmt::Id | Fmt::Num => one_line(&plain(value)),
    }
}

/// A value as written in a CSV cell: wire text, enums by name.
pub fn csv_cell(value: Option<&Value>, fmt: Fmt) -> String {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return String::new();
    };
    match fmt {
        Fmt::Enum(kind) => enum_name(kind, value),
        _ => plain(value),
    }
}

/// Line breaks and tabs become spaces, so one value stays on one table line.
pub fn one_line(text: &str) -> String {
    if text.contains(['\n', '\r', '\t']) {
        text.split(['\n', '\r', '\t'])
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        text.to_string()
    }
}

/// The rows of the one-record detail view: every field that has a value, embedded records
/// flattened one level (`CollectionLocation.City`), lists counted.
pub fn detail_rows(view: &View, record: &Value) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    let Value::Object(map) = record else {
        rows.push(("Value".into(), plain(record)));
        return rows;
    };
    let known = view.fields.iter().map(|(name, fmt)| (*name, Some(*fmt)));
    let extra = map
        .keys()
        .filter(|k| view.field(k).is_none())
        .map(|k| (k.as_str(), None));
    for (name, fmt) in known.chain(extra) {
        let Some(value) = map.get(name).filter(|v| !v.is_null()) else {
            continue;
        };
        push_detail(&mut rows, name.to_string(), value, fmt, true);
    }
    rows
}

fn push_detail(
    rows: &mut Vec<(String, String)>,
    name: String,
    value: &Value,
    fmt: Option<Fmt>,
    top: bool,
) {
    match (value, fmt) {
        (Value::Null, _) => {}
        (Value::Object(map), fmt) if top => {
            let sub: &[Field] = match fmt {
                Some(Fmt::Object(fields)) => fields,
                _ => &[],
            };
            for (key, v) in map {
                let sub_fmt = sub.iter().find(|(n, _)| n == key).map(|(_, f)| *f);
                push_detail(rows, format!("{name}.{key}"), v, sub_fmt, false);
            }
        }
        (value @ Value::Object(_), _) => {
            rows.push((name, table_cell(Some(value), Fmt::Object(&[]))))
        }
        (Value::Array(items), _) => {
            let shown = if items.is_empty() {
                "none".to_string()
            } else if items.len() <= 3 && items.iter().all(|v| v.is_string()) {
                items.iter().map(plain).collect::<Vec<_>>().join(", ")
            } else if items.len() == 1 {
                "1 entry".to_string()
            } else {
                format!("{} entries", items.len())
            };
            rows.push((name, shown));
        }
        // Dates to the second: a detail view has room for them.
        (Value::String(text), Some(Fmt::Date)) => rows.push((name, long_date(text))),
        (value, Some(fmt)) => rows.push((name, table_cell(Some(value), fmt))),
        (value, None) => rows.push((name, one_line(&plain(value)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells_render_by_kind() {
        assert_eq!(
            table_cell(Some(&json!("2026-11-24T15:00:00")), Fmt::Date),
            "2026-11-24 15:00"
        );
        assert_eq!(
            table_cell(Some(&json!("2026-11-24T15:00:00-05:00")), Fmt::Date),
            "2026-11-24 15:00-05:00"
        );
        assert_eq!(
            table_cell(Some(&json!("0001-01-01T00:00:00")), Fmt::Date),
            ""
        );
        assert_eq!(table_cell(Some(&json!(42.5)), Fmt::Money), "42.50");
        assert_eq!(
            table_cell(Some(&json!(3)), Fmt::Enum(EnumKind::StatusLevel)),
            "Delivered"
        );
        assert_eq!(
            table_cell(Some(&json!(42)), Fmt::Enum(EnumKind::StatusLevel)),
            "42"
        );
        assert_eq!(table_cell(Some(&json!(true)), Fmt::Bool), "yes");
        assert_eq!(table_cell(Some(&json!("aGVsbG8=")), Fmt::Bytes), "5 B");
        assert_eq!(table_cell(Some(&json!([1, 2])), Fmt::Array), "2");
        assert_eq!(table_cell(None, Fmt::Text), "");
        assert_eq!(table_cell(Some(&json!("a\nb")), Fmt::Text), "a b");
        assert_eq!(
            csv_cell(Some(&json!(6)), Fmt::Enum(EnumKind::StatusLevel)),
            "Assigned"
        );
    }

    #[test]
    fn detail_flattens_one_level_and_names_enums() {
        let order = json!({
            "ID": "44bc0a1d-ef24-49b5-a0cb-54181ce5dbcf",
            "StatusLevel": 3,
            "Status": {"Level": 3, "Name": "Delivered"},
            "Items": [{}, {}],
            "Comments": null,
            "Future": "kept"
        });
        let rows = detail_rows(&ORDER, &order);
        let shown: Vec<_> = rows.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            shown,
            [
                "ID=44bc0a1d-ef24-49b5-a0cb-54181ce5dbcf",
                "StatusLevel=Delivered",
                "Status.Level=Delivered",
                "Status.Name=Delivered",
                "Items=2 entries",
                "Future=kept"
            ]
        );
    }

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

    /// A record whose spec gains a field shows it after the curated ones, with its kind.
    #[test]
    fn fields_not_listed_follow_the_curated_order() {
        const RECORD: index::Record = index::Record {
            name: "Order",
            fields: &[
                index::Field {
                    name: "Added",
                    kind: index::Kind::DateTime,
                },
                index::Field {
                    name: "ID",
                    kind: index::Kind::Id,
                },
                index::Field {
                    name: "TotalCost",
                    kind: index::Kind::Number,
                },
            ],
        };
        let built: [Field; 3] = fields(&RECORD, &["ID", "TotalCost"], &[]);
        let shown: Vec<String> = built.iter().map(|(n, f)| format!("{n}:{f:?}")).collect();
        assert_eq!(shown, ["ID:Id", "TotalCost:Money", "Added:Date"]);
    }

    #[test]
    fn csv_fields_are_the_scalars() {
        let names: Vec<_> = FILE_ATTACHMENT.csv_fields().map(|(n, _)| *n).collect();
        assert_eq!(names, ["ID", "FileName", "Timestamp"]);
        assert!(ORDER.csv_fields().all(|(n, _)| *n != "CollectionLocation"));
    }
}
