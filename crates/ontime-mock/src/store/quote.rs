//! Prices of orders: the zone of a location, a quote from the price sets, and applying it.

use ontime_raw::types;
use uuid::Uuid;

use super::Store;
use crate::pricing::{self, PriceInput, Quote};

impl Store {
    pub(crate) fn zone_of(&self, location: Option<&types::Location>) -> Option<usize> {
        let l = location?;
        if let Some(z) = l.zone.as_ref().and_then(|z| z.id)
            && let Some(i) = self.zones.get_index_of(&Uuid::from(z))
        {
            return Some(i);
        }
        if let Some(pc) = l.postal_code.as_deref() {
            let hit = self.zones.values().position(|z| {
                z.rec
                    .postal_codes
                    .as_deref()
                    .is_some_and(|codes| codes.split(',').any(|c| c.trim() == pc.trim()))
            });
            if hit.is_some() {
                return hit;
            }
        }
        let city = l.city.as_deref()?;
        self.zones.values().position(|z| {
            z.rec.cities.as_deref().is_some_and(|cities| {
                cities
                    .split(',')
                    .any(|c| c.trim().eq_ignore_ascii_case(city.trim()))
            })
        })
    }

    /// Prices an order by its price set (or its customer's default, or the account's first).
    pub(crate) fn quote(&self, o: &types::Order) -> Quote {
        let price_set = o
            .price_set
            .map(Uuid::from)
            .filter(|p| self.price_sets.contains_key(p))
            .or_else(|| {
                o.customer
                    .and_then(|c| self.customers.get(&Uuid::from(c)))
                    .and_then(|c| c.rec.default_price_set.map(Uuid::from))
            })
            .or_else(|| self.price_sets.keys().next().copied());
        let pricing = price_set.and_then(|p| self.pricing.get(&p));
        let modifiers: Vec<&types::PriceModifier> = price_set
            .and_then(|p| self.price_sets.get(&p))
            .and_then(|p| p.rec.price_modifiers.as_ref())
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| self.price_modifiers.get(&Uuid::from(*id)).map(|r| &r.rec))
                    .collect()
            })
            .unwrap_or_default();
        let lat_lng = |l: Option<&types::Location>| {
            l.and_then(|l| l.latitude_longitude.as_deref())
                .and_then(pricing::parse_lat_lng)
        };
        let distance = o.distance.unwrap_or_else(|| {
            match (
                lat_lng(o.collection_location.as_ref()),
                lat_lng(o.delivery_location.as_ref()),
            ) {
                (Some(a), Some(b)) => (pricing::haversine_miles(a, b) * 12.0).round() / 10.0,
                _ => 0.0,
            }
        });
        let input = PriceInput {
            method: o.base_price_type.clone(),
            collection_zone: self.zone_of(o.collection_location.as_ref()),
            delivery_zone: self.zone_of(o.delivery_location.as_ref()),
            distance,
            weight: o.weight.unwrap_or(0.0),
            signature: o.delivery_signature_required == Some(true)
                || o.collection_signature_required == Some(true),
            cod: o.delivery_cod_required == Some(true) || o.collection_cod_required == Some(true),
            adjustment: o.price_adjustment.unwrap_or(0.0),
            base_price: o.base_price,
        };
        pricing::quote(&input, pricing, &modifiers)
    }

    /// Writes the quote's figures into the order (as `order/post` and `updatePrices` do).
    pub(crate) fn apply_quote(&self, o: &mut types::Order) {
        let q = self.quote(o);
        if o.distance.is_none() {
            let lat_lng = |l: Option<&types::Location>| {
                l.and_then(|l| l.latitude_longitude.as_deref())
                    .and_then(pricing::parse_lat_lng)
            };
            if let (Some(a), Some(b)) = (
                lat_lng(o.collection_location.as_ref()),
                lat_lng(o.delivery_location.as_ref()),
            ) {
                o.distance = Some((pricing::haversine_miles(a, b) * 12.0).round() / 10.0);
            }
        }
        o.base_price_type = Some(q.method.clone());
        o.base_price = Some(q.base);
        o.price_modifiers = Some(
            q.modifiers
                .iter()
                .filter_map(|(id, amount)| {
                    self.price_modifiers.get(id).map(|m| {
                        let mut m = m.rec.clone();
                        m.price = Some(*amount);
                        m
                    })
                })
                .collect(),
        );
        o.price_modifier_total_cost = Some(q.modifier_total);
        o.subtotal = Some(q.subtotal);
        o.tax_total = Some(q.tax);
        o.total_cost = Some(q.total);
    }

    // ------------------------------------------------------------------ finders
}
