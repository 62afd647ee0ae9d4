//! The simulator's command-line settings (feature `args`): one clap [`ServeArgs`] struct that
//! both the `ontime-mock` binary and `ontime mock serve` flatten into their commands, so the
//! two cannot drift apart.
//!
//! The account's name and key are not here: the binary adds them as [`AccountArgs`], and
//! `ontime` has global `--company` and `--api-key` flags of the same names.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{FixedOffset, NaiveDateTime, TimeDelta};

use crate::{ActivityConfig, FaultRule, MockBuilder, NotifyConfig, NotifyTemplate, OnTimeMock};

/// How to run a simulator: port, seeded data, clock, quotas, HTTP limits and faults.
#[derive(clap::Args, Clone, Debug)]
#[command(next_help_heading = "Simulator")]
#[non_exhaustive]
pub struct ServeArgs {
    /// Port on 127.0.0.1 (0 picks a free one)
    #[arg(long, default_value_t = 8080, env = "ONTIME_MOCK_PORT")]
    pub port: u16,
    /// Seed of the generated data, keys and fault decisions
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Number of orders to seed
    #[arg(long, default_value_t = 1000)]
    pub orders: usize,
    /// The customer-scoped API key [default: a GUID derived from the seed]
    #[arg(long, value_name = "KEY")]
    pub customer_key: Option<String>,
    /// Daily request quota per key
    #[arg(long, value_name = "N", default_value_t = crate::DEFAULT_DAILY_QUOTA)]
    pub daily_quota: u64,
    /// Monthly request quota per key
    #[arg(long, value_name = "N", default_value_t = crate::DEFAULT_MONTHLY_QUOTA)]
    pub monthly_quota: u64,
    /// The account's UTC offset, e.g. -06:00
    #[arg(long, default_value = "-06:00", value_parser = parse_offset, allow_hyphen_values = true)]
    pub utc_offset: FixedOffset,
    /// Start the clock at this account-local time (e.g. 2024-03-01T09:00:00) instead of now
    /// (same seed and start: same data)
    #[arg(long, value_name = "DATE", value_parser = parse_time)]
    pub clock_start: Option<NaiveDateTime>,
    /// Freeze the clock (it moves only when the simulator is told to)
    #[arg(long)]
    pub frozen_clock: bool,
    /// The largest request body accepted, in bytes; a longer one is answered 413
    #[arg(long, value_name = "BYTES", default_value_t = crate::DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    /// How many bytes of request bodies all connections together may hold; requests beyond it
    /// wait before their bodies are read. At least --max-body-bytes, at most 4 GiB
    #[arg(long, value_name = "BYTES", default_value_t = crate::DEFAULT_BODY_BUDGET_BYTES)]
    pub body_budget_bytes: usize,
    /// Close a connection that takes longer than this to send a request head (or idles longer
    /// between requests)
    #[arg(long, value_name = "MS", default_value_t = millis(crate::DEFAULT_HEADER_READ_TIMEOUT))]
    pub header_read_timeout_ms: u64,
    /// Answer 408 when a request body takes longer than this to arrive
    #[arg(long, value_name = "MS", default_value_t = millis(crate::DEFAULT_BODY_READ_TIMEOUT))]
    pub body_read_timeout_ms: u64,
    /// A fault rule, repeatable: KIND[,key=value...]. Kinds: latency (ms, jitter_ms; a delay
    /// before the operation runs: a client that gives up meanwhile cancels it), late (ms; the
    /// operation runs and is logged, then the answer is held back: the write stays even if the
    /// client times out), status (status, retry_after), drop, truncate, malformed, plain
    /// (status), html (status), empty (status), slow (chunk_delay_ms). status, drop, plain, html
    /// and empty answer before the operation runs (nothing is written); late, truncate,
    /// malformed and slow let it run and damage only the answer. Every rule also takes
    /// op=OPERATION (operationId or client method name, e.g. orderPost or order_post) or
    /// path=/api/PREFIX (with method=GET), p=PROBABILITY and times=N; any other key is refused.
    /// Example: --fault status,status=503,retry_after=2,p=0.1,op=orderPost
    #[arg(long = "fault", value_name = "RULE", value_parser = parse_fault)]
    pub faults: Vec<FaultRule>,
    /// How fast the clock runs: simulated seconds per real second (60: a minute per second)
    #[arg(long, value_name = "X", default_value_t = 1.0)]
    pub clock_speed: f64,
    /// Make the account live: RATE new orders per simulated hour, moved through courier
    /// lifecycles, with drivers going on and off shift and reporting positions
    #[arg(long, value_name = "RATE", help_heading = "Activity")]
    pub activity: Option<f64>,
    /// Stop creating orders after N (the activity ends once their lifecycles have)
    #[arg(
        long,
        value_name = "N",
        requires = "activity",
        help_heading = "Activity"
    )]
    pub activity_orders: Option<usize>,
    /// Seconds between a working driver's position reports
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 300,
        requires = "activity",
        help_heading = "Activity"
    )]
    pub position_interval: u32,
    /// POST a workflow notification to this http:// URL on every order status change
    #[arg(long, value_name = "URL", value_parser = parse_notify_url, requires = "activity", help_heading = "Activity")]
    pub notify_url: Option<NotifyConfig>,
    /// The notification body: a file, or the template itself. Placeholders: {{order_id}},
    /// {{tracking_number}}, {{status}}, {{level}}, {{status_id}}, {{description}},
    /// {{timestamp}}, {{driver_id}}, {{company}} [default: a small JSON object]
    #[arg(long, value_name = "FILE|INLINE", value_parser = parse_template, requires = "notify_url", help_heading = "Activity")]
    pub notify_template: Option<NotifyTemplate>,
    /// The notification's Content-Type (application/x-www-form-urlencoded form-encodes values)
    #[arg(
        long,
        value_name = "TYPE",
        default_value = "application/json",
        help_heading = "Activity"
    )]
    pub notify_content_type: String,
    /// Append every change (NDJSON, one change a line, flushed as written) to FILE
    #[arg(
        long,
        value_name = "FILE",
        requires = "activity",
        help_heading = "Activity"
    )]
    pub truth: Option<PathBuf>,
}

/// The simulated account's name and full-access key, for a command that has no flags of its
/// own for them (`ontime` has global ones).
#[derive(clap::Args, Clone, Debug)]
#[non_exhaustive]
pub struct AccountArgs {
    /// Company id in /sites/{company}
    #[arg(long, default_value = "demo")]
    pub company: String,
    /// Full-access API key [default: a GUID derived from the seed]
    #[arg(long, value_name = "KEY", env = "ONTIME_MOCK_API_KEY")]
    pub api_key: Option<String>,
}

impl AccountArgs {
    /// `builder` with this company and key.
    pub fn apply(self, mut builder: MockBuilder) -> MockBuilder {
        builder = builder.company(self.company);
        if let Some(key) = self.api_key {
            builder = builder.api_key(key);
        }
        builder
    }
}

impl ServeArgs {
    /// A simulator builder with these settings (company and full-access key left at their
    /// defaults: see [`AccountArgs`]).
    pub fn builder(&self) -> MockBuilder {
        let mut builder = OnTimeMock::builder()
            .port(self.port)
            .seed(self.seed)
            .orders(self.orders)
            .daily_quota(self.daily_quota)
            .monthly_quota(self.monthly_quota)
            .utc_offset(self.utc_offset)
            .max_body_bytes(self.max_body_bytes)
            .body_budget_bytes(self.body_budget_bytes)
            .header_read_timeout(Duration::from_millis(self.header_read_timeout_ms))
            .body_read_timeout(Duration::from_millis(self.body_read_timeout_ms));
        if let Some(key) = &self.customer_key {
            builder = builder.customer_key(key.clone());
        }
        if let Some(start) = self.clock_start {
            builder = builder.clock_start(start);
        }
        if self.frozen_clock {
            builder = builder.frozen_clock();
        }
        for rule in &self.faults {
            builder = builder.fault(rule.clone());
        }
        if self.clock_speed != 1.0 {
            builder = builder.clock_speed(self.clock_speed);
        }
        if let Some(rate) = self.activity {
            let mut activity = ActivityConfig::new(rate)
                .position_interval(TimeDelta::seconds(i64::from(self.position_interval)));
            if let Some(n) = self.activity_orders {
                activity = activity.orders(n);
            }
            if let Some(notify) = &self.notify_url {
                let mut notify = notify
                    .clone()
                    .content_type(self.notify_content_type.clone());
                if let Some(template) = &self.notify_template {
                    notify = notify.template(template.clone());
                }
                activity = activity.notify(notify);
            }
            if let Some(path) = &self.truth {
                activity = activity.truth_file(path.clone());
            }
            builder = builder.activity(activity);
        }
        builder
    }
}

const fn millis(d: Duration) -> u64 {
    d.as_secs() * 1000 + d.subsec_millis() as u64
}

fn parse_offset(s: &str) -> Result<FixedOffset, String> {
    s.trim()
        .parse::<FixedOffset>()
        .map_err(|_| format!("{s:?} is not a UTC offset such as -06:00 or +01:00"))
}

fn parse_time(s: &str) -> Result<NaiveDateTime, String> {
    s.parse::<ontime_raw::lenient::OnTimeDateTime>()
        .map(|t| t.naive_local())
        .map_err(|e| e.to_string())
}

fn parse_fault(s: &str) -> Result<FaultRule, String> {
    s.parse()
}

fn parse_notify_url(s: &str) -> Result<NotifyConfig, String> {
    NotifyConfig::new(s).map_err(|e| e.to_string())
}

/// A template file's contents when `s` names a file, else `s` itself.
fn parse_template(s: &str) -> Result<NotifyTemplate, String> {
    let path = std::path::Path::new(s);
    let text = if path.is_file() {
        std::fs::read_to_string(path).map_err(|e| format!("cannot read {s}: {e}"))?
    } else {
        s.to_owned()
    };
    text.parse()
        .map_err(|e: crate::TemplateError| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cmd {
        #[command(flatten)]
        serve: ServeArgs,
        #[command(flatten)]
        account: AccountArgs,
    }

    #[test]
    fn flags_reach_the_builder() {
        let cmd = Cmd::try_parse_from([
            "x",
            "--port",
            "0",
            "--utc-offset",
            "-05:00",
            "--clock-start",
            "2024-03-01T09:00:00",
            "--frozen-clock",
            "--max-body-bytes",
            "1024",
            "--body-budget-bytes",
            "2048",
            "--header-read-timeout-ms",
            "1500",
            "--fault",
            "drop,op=orders_get",
            "--company",
            "acme",
        ])
        .expect("parses");
        let expected = OnTimeMock::builder()
            .port(0)
            .seed(42)
            .orders(1000)
            .utc_offset(FixedOffset::west_opt(5 * 3600).expect("offset"))
            .clock_start(parse_time("2024-03-01T09:00:00").expect("time"))
            .frozen_clock()
            .max_body_bytes(1024)
            .body_budget_bytes(2048)
            .header_read_timeout(Duration::from_millis(1500))
            .fault(
                FaultRule::always(crate::FaultKind::DropConnection)
                    .on_operation(crate::Operation::OrdersGet),
            )
            .company("acme");
        let built = cmd.account.apply(cmd.serve.builder());
        assert_eq!(format!("{built:?}"), format!("{expected:?}"));
    }

    #[test]
    fn activity_flags_reach_the_builder() {
        let dir = std::env::temp_dir().join(format!("ontime-mock-args-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let template = dir.join("body.txt");
        std::fs::write(&template, "id={{order_id}}").expect("write");
        let cmd = Cmd::try_parse_from([
            "x",
            "--clock-speed",
            "60",
            "--activity",
            "12.5",
            "--activity-orders",
            "30",
            "--position-interval",
            "60",
            "--notify-url",
            "http://127.0.0.1:9/hook",
            "--notify-template",
            template.to_str().expect("utf-8"),
            "--notify-content-type",
            "application/x-www-form-urlencoded",
            "--truth",
            "truth.ndjson",
        ])
        .expect("parses");
        let notify = NotifyConfig::new("http://127.0.0.1:9/hook")
            .expect("url")
            .content_type("application/x-www-form-urlencoded")
            .template("id={{order_id}}".parse().expect("template"));
        let expected = OnTimeMock::builder()
            .port(8080)
            .orders(1000)
            .clock_speed(60.0)
            .activity(
                ActivityConfig::new(12.5)
                    .position_interval(TimeDelta::seconds(60))
                    .orders(30)
                    .notify(notify)
                    .truth_file("truth.ndjson"),
            );
        assert_eq!(
            format!("{:?}", cmd.account.apply(cmd.serve.builder())),
            format!("{expected:?}")
        );
        std::fs::remove_dir_all(&dir).expect("clean up");
        for bad in [
            vec!["x", "--activity-orders", "3"],
            vec![
                "x",
                "--activity",
                "1",
                "--notify-url",
                "https://example.com/",
            ],
            vec![
                "x",
                "--activity",
                "1",
                "--notify-url",
                "http://h/",
                "--notify-template",
                "{{nope}}",
            ],
        ] {
            assert!(Cmd::try_parse_from(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn defaults_are_the_builder_defaults_but_port_and_orders() {
        let cmd = Cmd::try_parse_from(["x"]).expect("parses");
        let expected = OnTimeMock::builder().port(8080).orders(1000);
        assert_eq!(
            format!("{:?}", cmd.account.apply(cmd.serve.builder())),
            format!("{expected:?}")
        );
    }
}
