//! Price modifiers and price sets, with the pricing the simulator quotes from.

use ontime_raw::lenient::{PriceModifierInput, PriceModifierType, PricingMethod};
use uuid::Uuid;

use super::{Gen, row};
use crate::pricing::Pricing;
use crate::store::{Store, blank};

/// The price modifiers and price sets; returns the price sets' GUIDs.
pub(super) fn price_lists(store: &mut Store, g: &mut Gen) -> Vec<Uuid> {
    let _words = g.words;
    let long_ago = g.long_ago();
    let Store {
        price_modifiers,
        price_sets,
        pricing,
        zones: _,
        ..
    } = store;
    let modifier_specs: [(&str, &str, PriceModifierType, PriceModifierInput, f64, f64); 5] = [
        (
            "Signature Capture",
            "SIG",
            PriceModifierType::SignatureCapture,
            PriceModifierInput::None,
            2.5,
            0.0,
        ),
        (
            "COD Fee",
            "COD",
            PriceModifierType::CashOnDelivery,
            PriceModifierInput::None,
            5.0,
            0.0,
        ),
        (
            "Heavy Weight",
            "WEIGHT",
            PriceModifierType::Other,
            PriceModifierInput::Weight,
            0.0,
            0.35,
        ),
        (
            "After Hours",
            "AFTERHRS",
            PriceModifierType::AdHocCharge,
            PriceModifierInput::None,
            15.0,
            0.0,
        ),
        (
            "Sales Tax",
            "TAX",
            PriceModifierType::Tax,
            PriceModifierInput::BasePrice,
            0.0,
            8.25,
        ),
    ];
    for (name, internal, kind, input, price, custom) in modifier_specs {
        let mut m = blank!(PriceModifier);
        let id = g.id();
        m.id = Some(id.into());
        m.name = Some(name.to_owned());
        m.internal_name = Some(internal.to_owned());
        m.description = Some(format!("{name} charge"));
        m.type_ = Some(kind);
        m.input = Some(input);
        m.price = Some(price);
        m.custom_value = Some(custom);
        m.percent_commissionable = Some(if internal == "TAX" { 0.0 } else { 50.0 });
        m.flat_compensation = Some(0.0);
        m.percent_compensation = Some(0.0);
        price_modifiers.insert(id, row(m, long_ago));
    }
    let modifier_ids: Vec<Uuid> = price_modifiers.keys().copied().collect();
    type SetSpec = (
        &'static str,
        &'static str,
        PricingMethod,
        f64,
        f64,
        f64,
        f64,
        f64,
    );
    let set_specs: [SetSpec; 5] = [
        (
            "Standard",
            "Standard (4 hour)",
            PricingMethod::ZoneToZone,
            0.0,
            0.0,
            0.0,
            18.0,
            4.5,
        ),
        (
            "Rush",
            "Rush (2 hour)",
            PricingMethod::ZoneToZone,
            0.0,
            0.0,
            0.0,
            32.0,
            6.0,
        ),
        (
            "Distance",
            "Same Day Distance",
            PricingMethod::Distance,
            0.0,
            12.0,
            1.65,
            0.0,
            0.0,
        ),
        (
            "Flat Downtown",
            "Downtown Flat Rate",
            PricingMethod::FlatRate,
            15.0,
            0.0,
            0.0,
            0.0,
            0.0,
        ),
        (
            "Economy",
            "Next Day Economy",
            PricingMethod::Distance,
            0.0,
            8.0,
            0.95,
            0.0,
            0.0,
        ),
    ];
    for (internal, service, method, flat, fee, per_mile, zone_base, zone_step) in set_specs {
        let mut p = blank!(PriceSet);
        let id = g.id();
        p.id = Some(id.into());
        p.internal_name = Some(internal.to_owned());
        p.service_level = Some(service.to_owned());
        p.dispatcher_instructions = Some(format!(
            "{service}: confirm pickup window with the customer"
        ));
        p.customer_instructions = Some(format!("{service} delivery"));
        p.percent_commissionable = Some(60.0);
        p.is_displayed_on_customer_web_portal = Some(internal != "Flat Downtown");
        p.price_modifiers = Some(modifier_ids.iter().map(|&id| id.into()).collect());
        price_sets.insert(id, row(p, long_ago));
        pricing.insert(
            id,
            Pricing {
                method,
                flat_rate: flat,
                base_fee: fee,
                per_mile,
                zone_base,
                zone_step,
            },
        );
    }
    let price_set_ids: Vec<Uuid> = price_sets.keys().copied().collect();
    price_set_ids
}
