//! `sync.toml`: every kind of error names file:line:column and the field; secrets stay out of
//! `Debug` and of every error.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use ontime_sync::config::{DriverIds, Secrets, SourceKind, SyncConfig};

const KEY: &str = "k3y-that-must-never-show-0001";
const TOKEN: &str = "inbound-token-never-shown-0002";

fn env(name: &str) -> Option<String> {
    match name {
        "ACME_KEY" => Some(KEY.to_owned()),
        "ACME_INBOUND" => Some(TOKEN.to_owned()),
        "SHORT_TOKEN" => Some("short".to_owned()),
        "EMPTY" => Some("  ".to_owned()),
        _ => None,
    }
}

fn parse(text: &str) -> Result<SyncConfig, String> {
    SyncConfig::parse(
        Path::new("/etc/ontime/sync.toml"),
        text,
        Secrets::Read,
        &env,
    )
    .map_err(|e| e.to_string())
}

const GOOD: &str = r#"
[store]
url = "sqlite://events.db"

[worker]
id = "host-1"
lease_ttl = "45s"

[http]
listen = "127.0.0.1:0"

[[account]]
name = "acme"
url = "http://127.0.0.1:9/sites/acme"
api_key_env = "ACME_KEY"
time_zone = "Europe/Berlin"
plan = { daily = 86400, monthly = 100000, share = 0.5 }
poll.levels = ["dispatched", "Assigned-In-Route", "3"]
drivers.ids = ["0d000000-0000-0000-0000-000000000001"]
drivers.position_interval = "2m"
inbound.token_env = "ACME_INBOUND"
labels = { "Not home - back door" = "order.exception" }

[[account]]
name = "beta"
api_key_env = "ACME_KEY"
time_zone = "America/Chicago"
plan = { daily = 1000 }
sources = ["poll"]
"#;

#[test]
fn a_full_file_is_read_with_defaults_and_relative_paths() {
    let config = parse(GOOD).unwrap();
    assert_eq!(config.store.as_str(), "/etc/ontime/events.db");
    assert_eq!(config.worker.id, "host-1");
    assert_eq!(config.worker.lease_ttl, Duration::from_secs(45));
    assert_eq!(config.http.listen.port(), 0);
    let acme = &config.accounts[0];
    assert_eq!(acme.company, "acme");
    assert_eq!(acme.api_key.as_ref().unwrap().expose(), KEY);
    assert_eq!(acme.plan.daily_cap, 86_400);
    assert_eq!(acme.plan.monthly_cap, Some(100_000));
    assert_eq!(acme.plan.share, 0.5);
    assert_eq!(
        acme.poll_levels,
        [
            ontime::StatusLevel::Dispatched,
            ontime::StatusLevel::AssignedInRoute,
            ontime::StatusLevel::Delivered
        ]
    );
    assert_eq!(
        acme.sources,
        BTreeSet::from(SourceKind::ALL),
        "every configured source by default"
    );
    assert!(matches!(&acme.drivers, DriverIds::List(ids) if ids.len() == 1));
    assert_eq!(acme.position_interval, Duration::from_secs(120));
    assert!(acme.inbound.as_ref().unwrap().token.is_some());
    let beta = &config.accounts[1];
    assert_eq!(beta.sources, BTreeSet::from([SourceKind::Poll]));
    assert_eq!(beta.plan.share, 0.8);
    assert_eq!(beta.drivers, DriverIds::All);

    // Without secrets (`ontime sync status`): nothing read, nothing needed.
    let skipped =
        SyncConfig::parse(Path::new("sync.toml"), GOOD, Secrets::Skip, &|_| None).unwrap();
    assert!(skipped.accounts[0].api_key.is_none());
}

#[test]
fn secrets_are_absent_from_debug_and_errors() {
    let config = parse(GOOD).unwrap();
    let debug = format!("{config:?}");
    assert!(!debug.contains(KEY), "{debug}");
    assert!(!debug.contains(TOKEN), "{debug}");
    assert!(debug.contains("<redacted>"));
    // A Postgres URL's password is hidden too.
    let pg = GOOD.replace("sqlite://events.db", "postgres://u:hunter2@db/ontime");
    let config = parse(&pg).unwrap();
    assert_eq!(config.store.as_str(), "postgres://u:hunter2@db/ontime");
    assert!(!format!("{config:?}").contains("hunter2"));
    // A token too short: the error says why, never the value.
    let short = GOOD.replace("ACME_INBOUND", "SHORT_TOKEN");
    let error = parse(&short).unwrap_err();
    assert!(error.contains("shorter than 16"), "{error}");
    assert!(!error.contains("\"short\""), "{error}");
    // A key written inline is refused, and the error does not repeat it.
    let inline = GOOD.replace(
        "api_key_env = \"ACME_KEY\"\ntime_zone = \"Europe/Berlin\"",
        "api_key = \"inline-secret-123\"\ntime_zone = \"Europe/Berlin\"",
    );
    let error = parse(&inline).unwrap_err();
    assert!(!error.contains("inline-secret-123"), "{error}");
}

/// (what to replace in GOOD, with what, the expected error).
const CASES: &[(&str, &str, &str)] = &[
    // Syntax.
    ("[http]", "[http", "/etc/ontime/sync.toml:9:6: "),
    // An unknown key, with its path.
    (
        "plan = { daily = 1000 }",
        "plan = { daily = 1000, dayly = 5 }",
        "/etc/ontime/sync.toml:28:24: account[1].plan.dayly: unknown field `dayly`",
    ),
    (
        "[worker]\n",
        "[worker]\nthreads = 4\n",
        "/etc/ontime/sync.toml:6:1: worker.threads: unknown field `threads`",
    ),
    // A value of the wrong type.
    (
        "daily = 1000",
        "daily = \"many\"",
        "/etc/ontime/sync.toml:28:18: account[1].plan.daily: invalid type: string \"many\", expected u64",
    ),
    // Semantic checks, each at its value.
    (
        "share = 0.5",
        "share = 1.5",
        "/etc/ontime/sync.toml:17:51: account[0].plan.share: must be in (0, 1], got 1.5",
    ),
    (
        "share = 0.5",
        "share = 0.0",
        "/etc/ontime/sync.toml:17:51: account[0].plan.share: must be in (0, 1], got 0",
    ),
    (
        "\"America/Chicago\"",
        "\"America/Chicgo\"",
        "/etc/ontime/sync.toml:27:13: account[1].time_zone: unknown time zone \"America/Chicgo\"",
    ),
    (
        "lease_ttl = \"45s\"",
        "lease_ttl = \"45 parsecs\"",
        "/etc/ontime/sync.toml:7:13: worker.lease_ttl: not a duration like \"90s\", \"5m\" or \"1h\"",
    ),
    (
        "\"2m\"",
        "\"2\"",
        "/etc/ontime/sync.toml:20:29: account[0].drivers.position_interval: not a duration",
    ),
    (
        "name = \"beta\"",
        "name = \"acme\"",
        "/etc/ontime/sync.toml:25:8: account[1].name: duplicate account name \"acme\" (also account[0])",
    ),
    (
        "api_key_env = \"ACME_KEY\"\ntime_zone = \"America/Chicago\"",
        "time_zone = \"America/Chicago\"",
        "/etc/ontime/sync.toml:24:1: account[1]: no API key: set api_key_file",
    ),
    (
        "api_key_env = \"ACME_KEY\"\ntime_zone = \"America/Chicago\"",
        "api_key_env = \"NOT_SET\"\ntime_zone = \"America/Chicago\"",
        "/etc/ontime/sync.toml:26:15: account[1].api_key_env: environment variable NOT_SET is not set",
    ),
    (
        "api_key_env = \"ACME_KEY\"\ntime_zone = \"America/Chicago\"",
        "api_key_file = \"missing.key\"\ntime_zone = \"America/Chicago\"",
        "/etc/ontime/sync.toml:26:16: account[1].api_key_file: cannot read /etc/ontime/missing.key",
    ),
    (
        "api_key_env = \"ACME_KEY\"\ntime_zone = \"America/Chicago\"",
        "api_key = \"abc\"\ntime_zone = \"America/Chicago\"",
        "/etc/ontime/sync.toml:26:11: account[1].api_key: an API key is never written in the file: put it in a file (api_key_file) or an environment variable (api_key_env)",
    ),
    (
        "\"dispatched\"",
        "\"dispached\"",
        "/etc/ontime/sync.toml:18:16: account[0].poll.levels[0]: unknown status level \"dispached\"",
    ),
    (
        "sources = [\"poll\"]",
        "sources = [\"pol\"]",
        "/etc/ontime/sync.toml:29:12: account[1].sources[0]: unknown variant `pol`",
    ),
    (
        "sources = [\"poll\"]",
        "sources = [\"inbound\"]",
        "/etc/ontime/sync.toml:24:1: account[1].sources: the inbound source needs an inbound table",
    ),
    (
        "sources = [\"poll\"]",
        "sources = []",
        "/etc/ontime/sync.toml:24:1: account[1].sources: no source",
    ),
    (
        "sources = [\"poll\"]",
        "sources = [\"poll\"]\ninbound.token_env = \"ACME_INBOUND\"",
        "/etc/ontime/sync.toml:30:1: account[1].inbound: the same inbound token as account[0]",
    ),
    (
        "\"127.0.0.1:0\"",
        "\"localhost\"",
        "/etc/ontime/sync.toml:10:10: http.listen: not a socket address",
    ),
    (
        "\"order.exception\"",
        "\"order.exploded\"",
        "/etc/ontime/sync.toml:22:37: account[0].labels.Not home - back door: unknown variant `order.exploded`",
    ),
    (
        "sqlite://events.db",
        "mysql://db/events",
        "/etc/ontime/sync.toml:3:7: store.url: expected sqlite://PATH or postgres://",
    ),
    (
        "drivers.ids = [\"0d000000-0000-0000-0000-000000000001\"]",
        "drivers.ids = \"some\"",
        "/etc/ontime/sync.toml:19:15: account[0].drivers.ids: expected \"all\" or a list of driver GUIDs",
    ),
];

#[test]
fn every_error_names_file_line_column_and_field() {
    let mut wrong = Vec::new();
    for (from, to, expected) in CASES {
        assert!(GOOD.contains(from), "case {from:?} does not apply");
        let text = GOOD.replacen(from, to, 1);
        let error = parse(&text).expect_err(expected);
        if !error.starts_with(expected) {
            wrong.push(format!("\n  got:      {error}\n  expected: {expected}…"));
        }
        assert!(!error.contains(KEY) && !error.contains(TOKEN), "{error}");
    }
    assert!(wrong.is_empty(), "{}", wrong.concat());
}
