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

// ---- [[webhook]] ---------------------------------------------------------------------------

const WHSEC_NEW: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const WHSEC_OLD: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const PSEUDO_KEY: &str = "pseudonym-key-never-shown-0123456789";

fn webhook_env(name: &str) -> Option<String> {
    match name {
        "ERP_SECRET" => Some(WHSEC_NEW.to_owned()),
        "ERP_OLD" => Some(WHSEC_OLD.to_owned()),
        "NOT_A_SECRET" => Some("whsec_!!!".to_owned()),
        "SHORT_SECRET" => Some("whsec_c2hvcnQ=".to_owned()),
        "ERP_PSEUDO" => Some(PSEUDO_KEY.to_owned()),
        other => env(other),
    }
}

fn parse_hooks(text: &str) -> Result<SyncConfig, String> {
    SyncConfig::parse(
        Path::new("/etc/ontime/sync.toml"),
        text,
        Secrets::Read,
        &webhook_env,
    )
    .map_err(|e| e.to_string())
}

/// GOOD (lines 1–29) plus two endpoints (from lines 31 and 48 on).
fn hooks() -> String {
    format!(
        "{GOOD}{}",
        r#"
[[webhook]]
name = "erp"
url = "https://erp.example.com/hooks/ontime?token=abc"
event_types = ["order.*", "item.custody_changed"]
accounts = ["beta"]
secrets = [
  { env = "ERP_SECRET" },
  { env = "ERP_OLD", rotated_at = "2026-12-02T08:00:00Z" },
]
rotation_grace = "12h"
timeout = "20s"
retry_schedule = ["1s", "1m"]
jitter = "full"
max_retry_after = "1h"
disable_after = "2d"
concurrency = 8

[[webhook]]
name = "local"
url = "http://127.0.0.1:8080/in"
allow_private = true
secrets = [{ env = "ERP_SECRET" }]
pseudonym_key_env = "ERP_PSEUDO"
policy = { position = { round = 3 }, tracking_number = "pseudonymise" }
"#
    )
}

#[test]
fn webhooks_are_read_with_defaults() {
    use ontime_sync::deliver::schedule::Jitter;
    use ontime_sync::event::EventType;

    let config = parse_hooks(&hooks()).unwrap();
    let [erp, local] = &config.webhooks[..] else {
        panic!("two webhooks: {:?}", config.webhooks);
    };
    assert_eq!(erp.name, "erp");
    assert!(erp.event_types.matches(EventType::OrderDelivered));
    assert!(erp.event_types.matches(EventType::ItemCustodyChanged));
    assert!(!erp.event_types.matches(EventType::DriverPosition));
    assert_eq!(erp.secrets.len(), 2);
    assert_eq!(erp.secrets[0].retire_at, None);
    assert_eq!(
        erp.secrets[1].retire_at.unwrap().to_rfc3339(),
        "2026-12-02T20:00:00+00:00",
        "rotated_at + rotation_grace"
    );
    assert_eq!(erp.timeout, Duration::from_secs(20));
    assert_eq!(
        erp.schedule.waits(),
        [Duration::from_secs(1), Duration::from_secs(60)]
    );
    assert_eq!(erp.schedule.jitter(), Jitter::Full);
    assert_eq!(erp.schedule.max_retry_after(), Duration::from_secs(3600));
    assert_eq!(erp.disable_after, Some(Duration::from_secs(2 * 86_400)));
    assert_eq!(erp.concurrency, 8);
    assert!(!erp.allow_private);
    // Destinations apply to every account unless restricted.
    assert_eq!(config.destinations_for("acme"), ["local"]);
    assert_eq!(config.destinations_for("beta"), ["erp", "local"]);
    let settings = erp.dispatch_settings("w1");
    assert_eq!(settings.destination, "erp");
    assert!(settings.ordered);
    assert!(settings.claim_ttl > erp.timeout * 2);
    assert!(erp.endpoint().is_some());

    // The defaults: Svix's schedule, 15 s, 5 days, 32, every type, private refused.
    assert_eq!(local.schedule.attempts(), 8);
    assert_eq!(local.schedule.jitter(), Jitter::Proportional(0.2));
    assert_eq!(local.timeout, Duration::from_secs(15));
    assert_eq!(local.disable_after, Some(Duration::from_secs(5 * 86_400)));
    assert_eq!(local.concurrency, 32);
    assert!(EventType::ALL.iter().all(|t| local.event_types.matches(*t)));
    assert_eq!(local.accounts, None);
    assert!(local.allow_private);

    // Redaction: the default sends no personal data; a policy table and a key from the env.
    use ontime_sync::policy::{Field, FieldRule, PositionRule, RedactionPolicy};
    assert_eq!(erp.policy, RedactionPolicy::default());
    assert!(erp.pseudonym_key.is_none());
    assert_eq!(
        local.policy.rule(Field::TrackingNumber),
        FieldRule::Pseudonymise
    );
    assert_eq!(
        local.policy.position,
        PositionRule::Round(3.try_into().unwrap())
    );
    assert!(local.pseudonym_key.is_some());
    assert!(local.redactor().unwrap().has_key());

    // Without secrets read, nothing is needed from the environment and no endpoint is built.
    let skipped =
        SyncConfig::parse(Path::new("sync.toml"), &hooks(), Secrets::Skip, &|_| None).unwrap();
    assert!(skipped.webhooks[0].secrets[0].secret.is_none());
    assert!(skipped.webhooks[0].endpoint().is_none());
}

#[test]
fn webhook_secrets_and_tokens_stay_out_of_debug_and_errors() {
    let config = parse_hooks(&hooks()).unwrap();
    let debug = format!("{config:?}");
    for secret in [
        WHSEC_NEW,
        WHSEC_OLD,
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "token=abc",
        PSEUDO_KEY,
    ] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
    assert!(debug.contains("https://erp.example.com/hooks/ontime"));
    let inline = hooks().replace(
        "secrets = [{ env = \"ERP_SECRET\" }]",
        &format!("secrets = [{{ value = \"{WHSEC_NEW}\" }}]"),
    );
    let error = parse_hooks(&inline).unwrap_err();
    assert!(error.contains("never written in the file"), "{error}");
    assert!(!error.contains(WHSEC_NEW), "{error}");
}

/// (what to replace in hooks(), with what, the expected error).
const WEBHOOK_CASES: &[(&str, &str, &str)] = &[
    (
        "name = \"local\"",
        "name = \"erp\"",
        "/etc/ontime/sync.toml:49:8: webhook[1].name: duplicate webhook name \"erp\" (also webhook[0])",
    ),
    (
        "name = \"local\"",
        "name = \" \"",
        "/etc/ontime/sync.toml:49:8: webhook[1].name: must not be empty",
    ),
    (
        "url = \"http://127.0.0.1:8080/in\"",
        "url = \"ftp://files.example.com/in\"",
        "/etc/ontime/sync.toml:50:7: webhook[1].url: webhook URL ftp://files.example.com/in: not an http:// or https:// URL",
    ),
    (
        "url = \"http://127.0.0.1:8080/in\"",
        "url = \"not a url\"",
        "/etc/ontime/sync.toml:50:7: webhook[1].url: not a URL",
    ),
    (
        "allow_private = true\n",
        "",
        "/etc/ontime/sync.toml:50:7: webhook[1].url: target refused: 127.0.0.1 is the loopback address 127.0.0.1 (set allow_private = true",
    ),
    (
        "url = \"https://erp.example.com/hooks/ontime?token=abc\"",
        "url = \"http://[::ffff:a9fe:a9fe]/latest/meta-data\"",
        "/etc/ontime/sync.toml:33:7: webhook[0].url: target refused: [::ffff:a9fe:a9fe] is the link-local address ::ffff:169.254.169.254",
    ),
    (
        "url = \"http://127.0.0.1:8080/in\"",
        "url = \"http://0.0.0.0:8080/in\"",
        "/etc/ontime/sync.toml:50:7: webhook[1].url: target refused: 0.0.0.0 is the unspecified address 0.0.0.0",
    ),
    (
        "\"item.custody_changed\"",
        "\"item.custody_changd\"",
        "/etc/ontime/sync.toml:34:27: webhook[0].event_types[1]: unknown event type \"item.custody_changd\"",
    ),
    (
        "\"order.*\"",
        "\"parcel.*\"",
        "/etc/ontime/sync.toml:34:16: webhook[0].event_types[0]: no event type matches \"parcel.*\"",
    ),
    (
        "accounts = [\"beta\"]",
        "accounts = [\"beta\", \"gamma\"]",
        "/etc/ontime/sync.toml:35:21: webhook[0].accounts[1]: no [[account]] is named \"gamma\"",
    ),
    (
        "secrets = [{ env = \"ERP_SECRET\" }]",
        "secrets = []",
        "/etc/ontime/sync.toml:52:11: webhook[1].secrets: no secret",
    ),
    (
        "secrets = [{ env = \"ERP_SECRET\" }]",
        "secret = \"whsec_abc\"",
        "/etc/ontime/sync.toml:52:10: webhook[1].secret: a webhook secret is never written in the file",
    ),
    (
        "secrets = [{ env = \"ERP_SECRET\" }]",
        "secrets = [{ env = \"UNSET_SECRET\" }]",
        "/etc/ontime/sync.toml:52:20: webhook[1].secrets[0].env: environment variable UNSET_SECRET is not set",
    ),
    (
        "secrets = [{ env = \"ERP_SECRET\" }]",
        "secrets = [{ file = \"hook.secret\" }]",
        "/etc/ontime/sync.toml:52:21: webhook[1].secrets[0].file: cannot read /etc/ontime/hook.secret",
    ),
    (
        "secrets = [{ env = \"ERP_SECRET\" }]",
        "secrets = [{ env = \"NOT_A_SECRET\" }]",
        "/etc/ontime/sync.toml:52:20: webhook[1].secrets[0].env: the webhook secret is not base64",
    ),
    (
        "secrets = [{ env = \"ERP_SECRET\" }]",
        "secrets = [{ env = \"SHORT_SECRET\" }]",
        "/etc/ontime/sync.toml:52:20: webhook[1].secrets[0].env: the webhook secret has 5 bytes; Standard Webhooks wants 24 to 64",
    ),
    (
        "secrets = [{ env = \"ERP_SECRET\" }]",
        "secrets = [{ env = \"ERP_SECRET\", file = \"x\" }]",
        "/etc/ontime/sync.toml:52:20: webhook[1].secrets[0].env: give either file or env, not both",
    ),
    (
        "secrets = [{ env = \"ERP_SECRET\" }]",
        "secrets = [{ retire_at = \"2026-12-02T08:00:00Z\" }]",
        "/etc/ontime/sync.toml:52:12: webhook[1].secrets[0]: no webhook secret: set file",
    ),
    (
        "secrets = [{ env = \"ERP_SECRET\" }]",
        "secrets = [{ env = \"ERP_SECRET\", retire_at = \"2026-12-02T08:00:00Z\" }]",
        "/etc/ontime/sync.toml:52:11: webhook[1].secrets: every secret retires",
    ),
    (
        "rotated_at = \"2026-12-02T08:00:00Z\"",
        "rotated_at = \"yesterday\"",
        "/etc/ontime/sync.toml:38:35: webhook[0].secrets[1].rotated_at: not an RFC 3339 instant",
    ),
    (
        "rotated_at = \"2026-12-02T08:00:00Z\"",
        "rotated_at = \"2026-12-02T08:00:00Z\", retire_at = \"2026-12-03T08:00:00Z\"",
        "/etc/ontime/sync.toml:38:35: webhook[0].secrets[1].rotated_at: give either retire_at or rotated_at, not both",
    ),
    (
        "secrets = [{ env = \"ERP_SECRET\" }]",
        "secrets = [{ env = \"ERP_SECRET\", since = \"x\" }]",
        "/etc/ontime/sync.toml:52:34: webhook[1].secrets[0].since: unknown field `since`",
    ),
    (
        "timeout = \"20s\"",
        "timeout = \"20m\"",
        "/etc/ontime/sync.toml:41:11: webhook[0].timeout: must be between 1s and 5m",
    ),
    (
        "retry_schedule = [\"1s\", \"1m\"]",
        "retry_schedule = [\"1s\", \"0s\"]",
        "/etc/ontime/sync.toml:42:25: webhook[0].retry_schedule[1]: must be more than 0s",
    ),
    (
        "retry_schedule = [\"1s\", \"1m\"]",
        "retry_schedule = [\"1s\", \"soon\"]",
        "/etc/ontime/sync.toml:42:25: webhook[0].retry_schedule[1]: not a duration",
    ),
    (
        "jitter = \"full\"",
        "jitter = 1.5",
        "/etc/ontime/sync.toml:43:10: webhook[0].jitter: expected \"full\", \"none\" or a fraction",
    ),
    (
        "disable_after = \"2d\"",
        "disable_after = \"0s\"",
        "/etc/ontime/sync.toml:45:17: webhook[0].disable_after: must be more than 0s",
    ),
    (
        "concurrency = 8",
        "concurrency = 0",
        "/etc/ontime/sync.toml:46:15: webhook[0].concurrency: must be between 1 and 1024",
    ),
    (
        "tracking_number = \"pseudonymise\"",
        "phone = \"keep\"",
        "/etc/ontime/sync.toml:54:38: webhook[1].policy.phone: unknown field `phone`",
    ),
    (
        "pseudonym_key_env = \"ERP_PSEUDO\"\n",
        "",
        "/etc/ontime/sync.toml:53:10: webhook[1].policy: tracking_number = \"pseudonymise\" needs a pseudonymisation key",
    ),
    (
        "pseudonym_key_env = \"ERP_PSEUDO\"",
        "pseudonym_key_env = \"SHORT_TOKEN\"",
        "/etc/ontime/sync.toml:53:21: webhook[1].pseudonym_key_env: the pseudonymisation key has 5 bytes; it needs at least 32",
    ),
    (
        "pseudonym_key_env = \"ERP_PSEUDO\"",
        "pseudonym_key_env = \"ERP_PSEUDO\"\npseudonym_key_file = \"k\"",
        "/etc/ontime/sync.toml:53:21: webhook[1].pseudonym_key_env: give either pseudonym_key_file or pseudonym_key_env, not both",
    ),
    (
        "concurrency = 8",
        "concurency = 8",
        "/etc/ontime/sync.toml:46:1: webhook[0].concurency: unknown field `concurency`",
    ),
];

#[test]
fn every_webhook_error_names_file_line_column_and_field() {
    let good = hooks();
    let mut wrong = Vec::new();
    for (from, to, expected) in WEBHOOK_CASES {
        assert!(good.contains(from), "case {from:?} does not apply");
        let text = good.replacen(from, to, 1);
        match parse_hooks(&text) {
            Ok(_) => wrong.push(format!("\n  accepted: {to}\n  expected: {expected}…")),
            Err(error) if !error.starts_with(expected) => {
                wrong.push(format!("\n  got:      {error}\n  expected: {expected}…"))
            }
            Err(error) => {
                assert!(
                    !error.contains(WHSEC_NEW) && !error.contains(WHSEC_OLD),
                    "{error}"
                )
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.concat());
    // "never" turns the disabling off.
    let never = good.replacen("\"2d\"", "\"never\"", 1);
    assert_eq!(parse_hooks(&never).unwrap().webhooks[0].disable_after, None);
}
