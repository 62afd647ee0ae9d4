//! Typed filters for the finders, one per finder that takes any. Every filter parameter of the
//! spec has a setter; unset filters are not sent. Filters combine with AND. An empty or
//! whitespace-only text value is refused with [`Error::InvalidRequest`](crate::Error::InvalidRequest)
//! before anything is sent: OnTime takes an empty filter as none, so it would match every record.

use ontime_raw::index::Operation;
use ontime_raw::lenient::{OnTimeDateTime, StatusLevel};

use ontime_raw::ids::{LocationId, UserId};

macro_rules! filter {
    (
        $(#[$meta:meta])*
        $name:ident for $builder:ident {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty => $setter:ident ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq)]
        #[non_exhaustive]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: Option<$ty>, )*
        }

        impl $name {
            /// The finder this filter's fields are query parameters of.
            #[cfg(test)]
            pub(crate) const OPERATION: Operation = Operation::$builder;
            /// Each field's raw-client setter: the snake_case of its query parameter's name in
            /// the spec (a test checks each against the index's query list of `OPERATION`).
            #[cfg(test)]
            pub(crate) const SETTERS: &'static [&'static str] = &[$(stringify!($setter)),*];

            /// A filter that matches everything.
            pub fn new() -> Self {
                Self::default()
            }

            $(
                $(#[$fmeta])*
                pub fn $field(mut self, value: impl Into<$ty>) -> Self {
                    self.$field = Some(value.into());
                    self
                }
            )*

            /// Refuses empty or whitespace-only text values: OnTime takes an empty filter
            /// as no filter, so it would match every record.
            pub(crate) fn check(&self, operation: Operation) -> crate::Result<()> {
                $( if let Some(value) = &self.$field {
                    require_non_blank(operation, stringify!($field), value)?;
                } )*
                Ok(())
            }

            pub(crate) fn apply<'a>(
                &self,
                mut builder: ontime_raw::builder::$builder<'a>,
            ) -> ontime_raw::builder::$builder<'a> {
                $( if let Some(value) = &self.$field { builder = builder.$setter(value.clone()); } )*
                builder
            }
        }
    };
}

filter! {
    /// Filters for [`orders().find`](crate::Resource::find). Names marked *inferred* in the spec
    /// (`openapi/README.md`) are the best reading of the vendor's documentation; an OnTime
    /// server that spells them differently ignores them.
    ///
    /// ```
    /// use ontime::{OrderFilter, StatusLevel};
    /// let filter = OrderFilter::new()
    ///     .customer_name("Vesigo Studios")
    ///     .status(StatusLevel::Delivered)
    ///     .submitted_from(chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap().and_hms_opt(0, 0, 0).unwrap());
    /// assert_eq!(filter.customer_name.as_deref(), Some("Vesigo Studios"));
    /// ```
    OrderFilter for OrdersFind {
        /// Orders of the customer with this name (`customerName`).
        customer_name: String => customer_name,
        /// Orders collected at this location (`collectionLocationId`, inferred).
        collection_location: LocationId => collection_location_id,
        /// Orders submitted on this day (`dateSubmitted`, inferred).
        submitted_on: OnTimeDateTime => date_submitted,
        /// Orders submitted at or after this time (`dateSubmittedMin`).
        submitted_from: OnTimeDateTime => date_submitted_min,
        /// Orders submitted at or before this time (`dateSubmittedMax`, inferred).
        submitted_to: OnTimeDateTime => date_submitted_max,
        /// Orders delivered to this location (`deliveryLocationId`, inferred).
        delivery_location: LocationId => delivery_location_id,
        /// Orders currently assigned to this user (`assignedUserId`, inferred).
        assigned_user: UserId => assigned_user_id,
        /// Orders with this incoming tracking number (inferred name).
        incoming_tracking_number: String => incoming_tracking_number,
        /// Orders with this outgoing tracking number (inferred name).
        outgoing_tracking_number: String => outgoing_tracking_number,
        /// Orders with this purchase order number (inferred name).
        purchase_order_number: String => purchase_order_number,
        /// Orders with this reference number (inferred name).
        reference_number: String => reference_number,
        /// Orders at this status level (`status`, inferred).
        status: StatusLevel => status,
        /// The order with this tracking number (`trackingNumber`).
        tracking_number: String => tracking_number,
    }
}

filter! {
    /// Filters for [`customers().find`](crate::Resource::find); all names confirmed by the vendor.
    CustomerFilter for CustomersFind {
        /// Customers with this account number.
        account_number: String => account_number,
        /// Customers at this exact street address.
        address_line1: String => address_line1,
        /// Customers in this city.
        city: String => city,
        /// Customers in this country.
        country: String => country,
        /// Customers with this e-mail address.
        email: String => email,
        /// Inactive (`true`) or active (`false`) customers.
        inactive: bool => inactive,
        /// Customers with this name.
        name: String => name,
        /// Customers with this postal code.
        postal_code: String => postal_code,
        /// Customers with this primary contact.
        primary_contact_name: String => primary_contact_name,
        /// Customers with this reference number.
        reference_number: String => reference_number,
        /// Customers in this state or province.
        state: String => state,
        /// Customers modified at or after this time.
        modified_from: OnTimeDateTime => last_modified_date_min,
        /// Customers modified at or before this time.
        modified_to: OnTimeDateTime => last_modified_date_max,
        /// Customers created at or after this time.
        created_from: OnTimeDateTime => creation_date_min,
        /// Customers created at or before this time.
        created_to: OnTimeDateTime => creation_date_max,
    }
}

filter! {
    /// Filters for [`users().find`](crate::Resource::find); all names confirmed by the vendor.
    UserFilter for UsersFind {
        /// Users with this e-mail address.
        email: String => email,
        /// Users with this first name.
        first_name: String => first_name,
        /// Users with this last name.
        last_name: String => last_name,
        /// The user with this sign-in name.
        user_name: String => user_name,
        /// Users modified at or after this time.
        modified_from: OnTimeDateTime => last_modified_date_min,
        /// Users modified at or before this time.
        modified_to: OnTimeDateTime => last_modified_date_max,
        /// Users created at or after this time.
        created_from: OnTimeDateTime => creation_date_min,
        /// Users created at or before this time.
        created_to: OnTimeDateTime => creation_date_max,
    }
}

filter! {
    /// Filters for [`user_sessions().find`](crate::Resource::find); names confirmed by the vendor.
    UserSessionFilter for UserSessionsFind {
        /// Sessions of this user (`userId`).
        user: UserId => user_id,
        /// Sessions that started at or after this time (`logInTime`).
        logged_in_from: OnTimeDateTime => log_in_time,
        /// Sessions that ended at or before this time (`logOutTime`).
        logged_out_by: OnTimeDateTime => log_out_time,
    }
}

filter! {
    /// Filters for [`locations().find`](crate::Resource::find); the two the vendor documents.
    LocationFilter for LocationsFind {
        /// Locations in this city.
        city: String => city,
        /// Locations in this state or province.
        state: String => state,
    }
}

filter! {
    /// Filters for [`users().positions`](crate::Resource::positions) (all names inferred: the
    /// position endpoints have no public documentation).
    PositionFilter for UserPositions {
        /// Positions of this user.
        user: UserId => user_id,
        /// Positions recorded at or after this time.
        from: OnTimeDateTime => date_min,
        /// Positions recorded at or before this time.
        to: OnTimeDateTime => date_max,
    }
}

/// A filter value that may be blank: text.
pub(crate) trait MaybeBlank {
    fn is_blank(&self) -> bool;
}

impl MaybeBlank for str {
    fn is_blank(&self) -> bool {
        self.trim().is_empty()
    }
}

impl MaybeBlank for String {
    fn is_blank(&self) -> bool {
        self.trim().is_empty()
    }
}

macro_rules! never_blank {
    ($($ty:ty),*) => {$(
        impl MaybeBlank for $ty {
            fn is_blank(&self) -> bool {
                false
            }
        }
    )*};
}

never_blank!(bool, OnTimeDateTime, StatusLevel, LocationId, UserId);

/// [`Error::InvalidRequest`](crate::Error::InvalidRequest) when `value` is empty or only
/// whitespace: a name, tracking number or filter value that would match everything (or,
/// sent as a lookup, something arbitrary).
pub(crate) fn require_non_blank(
    operation: Operation,
    what: &str,
    value: &(impl MaybeBlank + ?Sized),
) -> crate::Result<()> {
    if value.is_blank() {
        return Err(crate::Error::InvalidRequest {
            operation,
            message: format!("{what} is empty; an empty value would match every record"),
        });
    }
    Ok(())
}

/// The filter of finders that take no filter parameters: they return every record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoFilter;

impl NoFilter {
    pub(crate) fn check(&self, _operation: Operation) -> crate::Result<()> {
        Ok(())
    }

    pub(crate) fn apply<B>(&self, builder: B) -> B {
        builder
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `dateSubmittedMin` → `date_submitted_min`, as progenitor names setters.
    fn snake(name: &str) -> String {
        let mut out = String::new();
        for c in name.chars() {
            if c.is_ascii_uppercase() {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        }
        out
    }

    #[test]
    fn every_filter_field_is_a_query_parameter_of_its_spec_operation() {
        let filters: [(Operation, &[&str]); 6] = [
            (OrderFilter::OPERATION, OrderFilter::SETTERS),
            (CustomerFilter::OPERATION, CustomerFilter::SETTERS),
            (UserFilter::OPERATION, UserFilter::SETTERS),
            (UserSessionFilter::OPERATION, UserSessionFilter::SETTERS),
            (LocationFilter::OPERATION, LocationFilter::SETTERS),
            (PositionFilter::OPERATION, PositionFilter::SETTERS),
        ];
        for (operation, setters) in filters {
            let query: Vec<String> = operation.info().query.iter().map(|q| snake(q)).collect();
            for setter in setters {
                assert!(
                    query.iter().any(|q| q == setter),
                    "{operation}: no query parameter of the spec is `{setter}` ({query:?})"
                );
            }
        }
        // The order finder filters on every parameter the spec gives it, except the ones the
        // facade keeps to itself.
        assert!(OrderFilter::SETTERS.contains(&"tracking_number"));
        assert_eq!(snake("dateSubmittedMin"), "date_submitted_min");
    }
}
