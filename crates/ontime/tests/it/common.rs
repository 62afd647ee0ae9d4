//! Shared by the snapshot tests: a seeded simulator with a frozen clock and a client for it.

use ontime::Client;
use ontime_mock::{OnTimeMock, RunningMock, SeedVersion};

/// Seed 7 (data version 1), 40 orders, the clock frozen at 2026-11-24 12:00: identical data on
/// every run.
pub async fn setup() -> (RunningMock, Client) {
    let start = chrono::NaiveDate::from_ymd_opt(2026, 11, 24)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap();
    let mock = OnTimeMock::builder()
        .seed(7)
        .seed_version(SeedVersion::V1)
        .orders(40)
        .clock_start(start)
        .frozen_clock()
        .start()
        .await
        .expect("simulator");
    let client = Client::builder()
        .base_url(mock.base_url())
        .api_key(mock.api_key())
        .build()
        .expect("client");
    (mock, client)
}
