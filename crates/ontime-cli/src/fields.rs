//! The field lists of the records, from the spec index (`ontime::index`, generated from
//! `openapi/ontime.json`): every field of a record, in a curated order (ID first) with any field
//! the list does not name after it, so a field added to the spec is shown, written to CSV and
//! accepted by `--set` without an edit here. Each field has a [`Fmt`], its kind as the CLI
//! renders it.

use ontime::index::{self, str_eq};

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
    /// An int-or-name enum of the spec (shown by name).
    Enum(&'static index::Enum),
    /// An embedded record, with its own fields.
    Object(&'static [Field]),
    /// A list (shown as a count).
    Array,
}

/// The spec's enum called `name`, when compiling (a field typed with an enum the index does not
/// list stops the build).
const fn enumeration(name: &str) -> &'static index::Enum {
    let mut i = 0;
    while i < index::ENUMS.len() {
        if str_eq(index::ENUMS[i].name, name) {
            return &index::ENUMS[i];
        }
        i += 1;
    }
    panic!("a record field has an enum the spec index does not list")
}

/// A wire field name and its kind.
pub type Field = (&'static str, Fmt);

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
        index::Kind::Enum(name) => Fmt::Enum(enumeration(name)),
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
