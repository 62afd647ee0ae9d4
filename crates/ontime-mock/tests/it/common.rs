//! Helpers shared by the integration tests: a started mock and clients for it.

use chrono::{NaiveDate, NaiveDateTime};
use ontime_mock::{MockBuilder, OnTimeMock, RunningMock, SeedVersion};

/// A fixed clock start so seeded data is identical between runs (a Wednesday, 10:30).
pub fn start_time() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2024, 5, 15)
        .and_then(|d| d.and_hms_opt(10, 30, 0))
        .expect("valid date")
}

pub fn builder() -> MockBuilder {
    OnTimeMock::builder()
        .seed_version(SeedVersion::V1)
        .orders(300)
        .clock_start(start_time())
        .frozen_clock()
}

pub async fn start() -> RunningMock {
    builder().start().await.expect("mock starts")
}

pub fn client_with(mock: &RunningMock, key: &str) -> ontime_raw::Client {
    let hooks = ontime_raw::Hooks::new().api_key(key).expect("header value");
    ontime_raw::Client::new(&mock.base_url(), hooks)
}

pub fn client(mock: &RunningMock) -> ontime_raw::Client {
    client_with(mock, mock.api_key())
}

/// A plain HTTP client for requests the generated client cannot make (bad bodies, no key).
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .expect("client")
}

pub fn url(mock: &RunningMock, path: &str) -> String {
    format!("{}/api/{}", mock.base_url(), path.trim_start_matches('/'))
}

/// The status of a generated-client error (or of a success).
pub fn status_of<T: std::fmt::Debug>(
    r: Result<T, ontime_raw::Error<ontime_raw::types::Fault>>,
) -> u16 {
    match r {
        Ok(_) => 200,
        Err(e) => e.status().map(|s| s.as_u16()).unwrap_or(0),
    }
}
