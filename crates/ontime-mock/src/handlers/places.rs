//! Locations and zones, and how a state filter matches (by code or name).

use ontime_raw::types;
use uuid::Uuid;

use super::Ctx;
use super::eq_ci;
use super::generic::{Stored, find, stored};
use crate::http_util::{ApiError, Reply};
use crate::state::Shared;
use crate::store::{Geo, Store};

impl Stored for types::Location {
    stored!(locations);

    /// Locations are shared by every customer's orders: a scoped key may add new ones but not
    /// change existing ones (that would change other customers' orders).
    fn before_upsert(&mut self, store: &mut Store, ctx: &Ctx) -> Result<(), ApiError> {
        if ctx.key.customer.is_some()
            && self
                .id
                .is_some_and(|id| store.locations.contains_key(&Uuid::from(id)))
        {
            return Err(ApiError::forbidden(
                "The API key is restricted to a single customer and cannot change existing locations.",
            ));
        }
        Ok(())
    }

    /// Pricing reads a location's coordinates from the geography kept beside the table.
    fn after_upsert(store: &mut Store, id: Uuid, _ctx: &Ctx) {
        let Some(i) = store.locations.get_index_of(&id) else {
            return;
        };
        let geo = Geo {
            lat_lng: store.locations[i]
                .rec
                .latitude_longitude
                .as_deref()
                .and_then(crate::pricing::parse_lat_lng),
        };
        if i < store.geo.len() {
            store.geo[i] = geo;
        } else {
            store.geo.push(geo);
        }
    }
}

impl Stored for types::Zone {
    stored!(zones);
}

pub(crate) fn locations_find(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let (city, state) = (ctx.query.str("city"), ctx.query.str("state"));
    find::<types::Location>(s, ctx, |r| {
        eq_ci(r.rec.city.as_deref(), city) && state_matches(r.rec.state.as_deref(), state)
    })
}

/// US states, DC and Canadian provinces and territories: postal code and name.
const REGIONS: &[(&str, &str)] = &[
    ("AL", "Alabama"),
    ("AK", "Alaska"),
    ("AZ", "Arizona"),
    ("AR", "Arkansas"),
    ("CA", "California"),
    ("CO", "Colorado"),
    ("CT", "Connecticut"),
    ("DE", "Delaware"),
    ("DC", "District of Columbia"),
    ("FL", "Florida"),
    ("GA", "Georgia"),
    ("HI", "Hawaii"),
    ("ID", "Idaho"),
    ("IL", "Illinois"),
    ("IN", "Indiana"),
    ("IA", "Iowa"),
    ("KS", "Kansas"),
    ("KY", "Kentucky"),
    ("LA", "Louisiana"),
    ("ME", "Maine"),
    ("MD", "Maryland"),
    ("MA", "Massachusetts"),
    ("MI", "Michigan"),
    ("MN", "Minnesota"),
    ("MS", "Mississippi"),
    ("MO", "Missouri"),
    ("MT", "Montana"),
    ("NE", "Nebraska"),
    ("NV", "Nevada"),
    ("NH", "New Hampshire"),
    ("NJ", "New Jersey"),
    ("NM", "New Mexico"),
    ("NY", "New York"),
    ("NC", "North Carolina"),
    ("ND", "North Dakota"),
    ("OH", "Ohio"),
    ("OK", "Oklahoma"),
    ("OR", "Oregon"),
    ("PA", "Pennsylvania"),
    ("RI", "Rhode Island"),
    ("SC", "South Carolina"),
    ("SD", "South Dakota"),
    ("TN", "Tennessee"),
    ("TX", "Texas"),
    ("UT", "Utah"),
    ("VT", "Vermont"),
    ("VA", "Virginia"),
    ("WA", "Washington"),
    ("WV", "West Virginia"),
    ("WI", "Wisconsin"),
    ("WY", "Wyoming"),
    ("PR", "Puerto Rico"),
    ("AB", "Alberta"),
    ("BC", "British Columbia"),
    ("MB", "Manitoba"),
    ("NB", "New Brunswick"),
    ("NL", "Newfoundland and Labrador"),
    ("NS", "Nova Scotia"),
    ("NT", "Northwest Territories"),
    ("NU", "Nunavut"),
    ("ON", "Ontario"),
    ("PE", "Prince Edward Island"),
    ("QC", "Quebec"),
    ("SK", "Saskatchewan"),
    ("YT", "Yukon"),
];

/// States match by code or by name, in any case (`TX` = `Texas`, as KB a291's example filters).
pub(crate) fn state_matches(field: Option<&str>, wanted: Option<&str>) -> bool {
    let Some(w) = wanted else { return true };
    let Some(f) = field else { return false };
    let norm = |s: &str| {
        let s = s.trim();
        REGIONS
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(s))
            .map_or_else(|| s.to_ascii_uppercase(), |(code, _)| (*code).to_owned())
    };
    norm(f) == norm(w)
}

#[cfg(test)]
mod region_tests {
    use super::state_matches;

    #[test]
    fn states_match_by_code_or_name_in_any_case() {
        assert!(state_matches(Some("TX"), Some("texas")));
        assert!(state_matches(Some("Texas"), Some("tx")));
        assert!(state_matches(Some("new york"), Some("NY")));
        assert!(state_matches(Some("QC"), Some("Quebec")));
        assert!(state_matches(Some("Bavaria"), Some("bavaria")));
        assert!(state_matches(Some("TX"), None));
        assert!(!state_matches(Some("TX"), Some("Oklahoma")));
        assert!(!state_matches(None, Some("TX")));
    }
}
