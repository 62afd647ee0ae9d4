//! The simulator accepts what the spec allows.

use ontime_mock::{OnTimeMock, SeedVersion};
use serde_json::Value;

use super::spec;

/// Every value of the spec's `StatusLevel` (each integer code and each name) is a level
/// `order/updateStatus` accepts as `detail`, and the order then has that level.
#[tokio::test]
async fn update_status_accepts_every_level_the_spec_lists() {
    let spec = spec();
    let options = spec
        .pointer("/components/schemas/StatusLevel/oneOf")
        .and_then(Value::as_array)
        .expect("StatusLevel is a oneOf of codes and names");
    let codes: Vec<i64> = options[0]["enum"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_i64().expect("integer code"))
        .collect();
    let names: Vec<&str> = options[1]["enum"]
        .as_array()
        .expect("names")
        .iter()
        .map(|n| n.as_str().expect("name"))
        .collect();
    assert_eq!(codes.len(), names.len());
    assert!(codes.contains(&0), "the spec lists level 0 (None)");

    let start = chrono::NaiveDate::from_ymd_opt(2026, 11, 24)
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .expect("valid date");
    let mock = OnTimeMock::builder()
        .seed(7)
        .seed_version(SeedVersion::V1)
        .orders(3)
        .clock_start(start)
        .frozen_clock()
        .start()
        .await
        .expect("simulator starts");
    let http = reqwest::Client::new();
    let api = |path: &str| format!("{}/api/{path}", mock.base_url());
    let orders: Vec<String> = http
        .get(api("orders"))
        .header("Authorization", mock.api_key())
        .send()
        .await
        .expect("orders")
        .json()
        .await
        .expect("ids");
    let order = &orders[0];
    // By code and by name (the name is spelled as the spec spells it), level 0 included.
    let values = codes
        .iter()
        .map(ToString::to_string)
        .zip(codes.iter().copied())
        .chain(
            names
                .iter()
                .map(|n| n.to_string())
                .zip(codes.iter().copied()),
        );
    for (detail, code) in values {
        let response = http
            .post(api(&format!(
                "order/updateStatus?id={order}&detail={detail}"
            )))
            .header("Authorization", mock.api_key())
            .send()
            .await
            .expect("updateStatus");
        let status = response.status();
        let body = response.text().await.expect("body");
        assert_eq!(
            (status.as_u16(), body.as_str()),
            (200, "true"),
            "detail={detail}"
        );
        let record: Value = http
            .get(api(&format!("orders/{order}")))
            .header("Authorization", mock.api_key())
            .send()
            .await
            .expect("order")
            .json()
            .await
            .expect("order JSON");
        assert_eq!(record["StatusLevel"], code, "after detail={detail}");
    }
}
