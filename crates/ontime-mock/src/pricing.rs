//! How an order is priced: its price set's base price method (zone to zone, distance, flat
//! rate) plus the set's price modifiers (signature capture, COD, weight surcharge, tax).

use ontime_raw::lenient::{PriceModifierInput, PriceModifierType, PricingMethod};
use ontime_raw::types;
use uuid::Uuid;

/// The base-price rules of one price set (OnTime keeps these in the Management Suite; the API
/// does not expose them, so the simulator keeps them beside the `PriceSet` record).
#[derive(Clone, Debug)]
pub(crate) struct Pricing {
    pub method: PricingMethod,
    pub flat_rate: f64,
    pub base_fee: f64,
    pub per_mile: f64,
    pub zone_base: f64,
    pub zone_step: f64,
}

impl Pricing {
    /// The zone-to-zone price between two zones (by their position in the zone list): the base
    /// price plus a step per zone crossed; an unknown zone counts as three steps away.
    fn zone_price(&self, from: Option<usize>, to: Option<usize>) -> f64 {
        let steps = match (from, to) {
            (Some(a), Some(b)) => a.abs_diff(b) as f64,
            _ => 3.0,
        };
        self.zone_base + self.zone_step * steps
    }
}

/// What the price of an order depends on.
#[derive(Clone, Debug, Default)]
pub(crate) struct PriceInput {
    pub method: Option<PricingMethod>,
    pub collection_zone: Option<usize>,
    pub delivery_zone: Option<usize>,
    pub distance: f64,
    pub weight: f64,
    pub signature: bool,
    pub cod: bool,
    pub adjustment: f64,
    pub base_price: Option<f64>,
}

/// The result of pricing an order.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Quote {
    pub method: PricingMethod,
    pub base: f64,
    pub modifiers: Vec<(Uuid, f64)>,
    pub modifier_total: f64,
    pub subtotal: f64,
    pub tax: f64,
    pub total: f64,
}

pub(crate) fn cents(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// Prices `input` with `pricing` (`None`: no price set applies, so the posted base price is
/// used) and the price set's `modifiers`.
pub(crate) fn quote(
    input: &PriceInput,
    pricing: Option<&Pricing>,
    modifiers: &[&types::PriceModifier],
) -> Quote {
    let method = match (input.method.as_ref(), pricing) {
        (Some(m), _) if !m.is_unknown() && *m != PricingMethod::None => m.clone(),
        (_, Some(p)) => p.method.clone(),
        _ => PricingMethod::None,
    };
    let base = match (&method, pricing) {
        (PricingMethod::ZoneToZone, Some(p)) => {
            p.zone_price(input.collection_zone, input.delivery_zone)
        }
        (PricingMethod::Distance, Some(p)) => p.base_fee + p.per_mile * input.distance,
        (PricingMethod::FlatRate, Some(p)) => p.flat_rate,
        _ => input.base_price.unwrap_or(0.0),
    };
    let base = cents(base);
    let mut applied = Vec::new();
    let mut tax_rate = 0.0;
    for m in modifiers {
        let Some(id) = m.id.map(Uuid::from) else {
            continue;
        };
        let amount = match (&m.type_, &m.input) {
            (Some(PriceModifierType::SignatureCapture), _) if input.signature => {
                m.price.unwrap_or(0.0)
            }
            (Some(PriceModifierType::CashOnDelivery), _) if input.cod => m.price.unwrap_or(0.0),
            (Some(PriceModifierType::Other), Some(PriceModifierInput::Weight))
                if input.weight > 50.0 =>
            {
                m.custom_value.unwrap_or(0.0) * (input.weight - 50.0)
            }
            (Some(PriceModifierType::Tax), _) => {
                tax_rate += m.custom_value.unwrap_or(0.0) / 100.0;
                continue;
            }
            _ => continue,
        };
        applied.push((id, cents(amount)));
    }
    let modifier_total = cents(applied.iter().map(|(_, a)| a).sum());
    let subtotal = cents(base + input.adjustment + modifier_total);
    let tax = cents(subtotal * tax_rate);
    Quote {
        method,
        base,
        modifiers: applied,
        modifier_total,
        subtotal,
        tax,
        total: cents(subtotal + tax),
    }
}

/// Great-circle distance in miles.
pub(crate) fn haversine_miles(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lng1) = (a.0.to_radians(), a.1.to_radians());
    let (lat2, lng2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((lat2 - lat1) / 2.0).sin().powi(2)
        + lat1.cos() * lat2.cos() * ((lng2 - lng1) / 2.0).sin().powi(2);
    2.0 * 3958.8 * h.sqrt().asin()
}

/// Parses `"lat,lng"`.
pub(crate) fn parse_lat_lng(s: &str) -> Option<(f64, f64)> {
    let (a, b) = s.split_once(',')?;
    let lat: f64 = a.trim().parse().ok()?;
    let lng: f64 = b.trim().parse().ok()?;
    (lat.is_finite() && lng.is_finite()).then_some((lat, lng))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pricing(method: PricingMethod) -> Pricing {
        Pricing {
            method,
            flat_rate: 25.0,
            base_fee: 10.0,
            per_mile: 1.5,
            zone_base: 18.0,
            zone_step: 4.0,
        }
    }

    #[test]
    fn base_price_methods() {
        let input = PriceInput {
            collection_zone: Some(1),
            delivery_zone: Some(4),
            distance: 10.0,
            ..PriceInput::default()
        };
        let z = quote(&input, Some(&pricing(PricingMethod::ZoneToZone)), &[]);
        assert_eq!((z.base, z.total), (30.0, 30.0));
        let d = quote(&input, Some(&pricing(PricingMethod::Distance)), &[]);
        assert_eq!(d.base, 25.0);
        let f = quote(&input, Some(&pricing(PricingMethod::FlatRate)), &[]);
        assert_eq!(f.base, 25.0);
        let over = PriceInput {
            method: Some(PricingMethod::Distance),
            ..input.clone()
        };
        assert_eq!(
            quote(&over, Some(&pricing(PricingMethod::FlatRate)), &[]).base,
            25.0
        );
        let none = PriceInput {
            base_price: Some(12.5),
            ..PriceInput::default()
        };
        assert_eq!(quote(&none, None, &[]).total, 12.5);
    }

    #[test]
    fn modifiers_and_tax() {
        let sig = types::PriceModifier {
            id: Some(Uuid::from_u128(1).into()),
            type_: Some(PriceModifierType::SignatureCapture),
            price: Some(2.5),
            ..types::PriceModifier::builder().try_into().expect("default")
        };
        let tax = types::PriceModifier {
            id: Some(Uuid::from_u128(2).into()),
            type_: Some(PriceModifierType::Tax),
            custom_value: Some(10.0),
            ..types::PriceModifier::builder().try_into().expect("default")
        };
        let input = PriceInput {
            signature: true,
            ..PriceInput::default()
        };
        let q = quote(
            &input,
            Some(&pricing(PricingMethod::FlatRate)),
            &[&sig, &tax],
        );
        assert_eq!(q.modifiers, vec![(Uuid::from_u128(1), 2.5)]);
        assert_eq!((q.subtotal, q.tax, q.total), (27.5, 2.75, 30.25));
        assert!((haversine_miles((32.78, -96.80), (32.75, -97.33)) - 30.7).abs() < 1.0);
    }
}
