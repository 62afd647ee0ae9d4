//! Price sets and price modifiers (read only through the API).

use ontime_raw::types;

use super::Ctx;
use super::generic::{Stored, find_by_name, stored};
use crate::http_util::{ApiError, Reply};
use crate::state::Shared;

impl Stored for types::PriceModifier {
    stored!(price_modifiers);
}

impl Stored for types::PriceSet {
    stored!(price_sets);
}

/// A price modifier by its name or internal name.
pub(crate) fn price_modifiers_by_name(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    find_by_name::<types::PriceModifier, 2>(s, ctx, |m| {
        [m.name.as_deref(), m.internal_name.as_deref()]
    })
}

/// A price set by its internal name or service level.
pub(crate) fn price_sets_by_name(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    find_by_name::<types::PriceSet, 2>(s, ctx, |p| {
        [p.internal_name.as_deref(), p.service_level.as_deref()]
    })
}
