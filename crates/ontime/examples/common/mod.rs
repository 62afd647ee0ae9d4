//! Shared by the examples: a client for the account in `ONTIME_*` variables when set, otherwise
//! for a seeded simulator started in-process on 127.0.0.1.

use ontime::Client;

/// Keeps the simulator (if any) running while the example uses the client.
#[allow(dead_code)] // `today` is read by some examples only
pub struct Account {
    pub client: Client,
    pub today: chrono::NaiveDate,
    _simulator: Option<ontime_mock::RunningMock>,
}

pub async fn account() -> Result<Account, Box<dyn std::error::Error>> {
    if std::env::var_os("ONTIME_API_KEY").is_some() {
        let client = Client::from_env()?;
        let today = chrono::Local::now().date_naive();
        return Ok(Account {
            client,
            today,
            _simulator: None,
        });
    }
    let simulator = ontime_mock::OnTimeMock::builder()
        .seed(42)
        .orders(500)
        .start()
        .await?;
    eprintln!(
        "(no ONTIME_API_KEY set: using a simulator at {})",
        simulator.base_url()
    );
    let client = Client::builder()
        .base_url(simulator.base_url())
        .api_key(simulator.api_key())
        .build()?;
    let today = simulator.clock().now().date();
    Ok(Account {
        client,
        today,
        _simulator: Some(simulator),
    })
}
