//! Serialized events validate against the generated schema in `schemas/` (kept fresh by
//! `cargo xtask codegen --check`), and the schema rejects what it should.

use chrono::{TimeZone, Utc};
use ontime_sync::event::{availability_event, derive_order_events, position_event};
use serde_json::Value;

use crate::fixtures::{account, driver, lifecycle};

fn validator() -> jsonschema::Validator {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../schemas/event.schema.json"
    );
    let text = std::fs::read_to_string(path)
        .expect("schemas/event.schema.json (run `cargo xtask codegen`)");
    let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("schema compiles")
}

fn sample() -> Vec<Value> {
    let at: ontime::OnTimeDateTime = "2026-03-02T09:00:00".parse().unwrap();
    let seen = Utc.with_ymd_and_hms(2026, 3, 2, 15, 1, 0).unwrap();
    let mut events = derive_order_events(&account(), &lifecycle(1));
    events[0].sequence = Some(1);
    events.push(availability_event(
        &account(),
        driver(1),
        false,
        Some("Lunch".into()),
        at,
        seen,
    ));
    events.push(position_event(&account(), driver(1), 41.88, -87.63, at, seen).unwrap());
    events
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect()
}

#[test]
fn every_sample_event_is_valid() {
    let validator = validator();
    let sample = sample();
    assert!(sample.len() > 10);
    for event in &sample {
        let errors: Vec<String> = validator
            .iter_errors(event)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{event}\n{errors:#?}");
    }
}

#[test]
fn the_schema_rejects_broken_events() {
    let validator = validator();
    let good = sample().remove(0);
    let mut broken = Vec::new();
    let mut unknown_type = good.clone();
    unknown_type["type"] = "order.teleported".into();
    broken.push(unknown_type);
    let mut bad_id = good.clone();
    bad_id["event_id"] = "evt_NOT-BASE32".into();
    broken.push(bad_id);
    let mut no_time = good.clone();
    no_time.as_object_mut().unwrap().remove("occurred_at");
    broken.push(no_time);
    let mut bad_precision = good;
    bad_precision["time_precision"] = "roughly".into();
    broken.push(bad_precision);
    for event in &broken {
        assert!(!validator.is_valid(event), "accepted {event}");
    }
}
