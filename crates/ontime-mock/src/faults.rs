//! Fault injection: latency, error statuses, dropped connections and damaged bodies, per server
//! or per route, deterministic under a seed.
//!
//! # What a fault does to the store
//!
//! Faults that **fail** the request — [`FaultKind::Status`], [`FaultKind::DropConnection`],
//! [`FaultKind::PlainTextError`], [`FaultKind::HtmlError`], [`FaultKind::EmptyBody`] — answer
//! before the operation runs: nothing in the store changes, as when a proxy or load balancer in
//! front of OnTime fails. The request log records them with the status sent (0 for a dropped
//! connection).
//!
//! [`FaultKind::Latency`] delays the request **before** the operation runs, as a slow network on
//! the way in does: the operation runs after the delay, but a client that gives up during it
//! (a timeout, a closed connection) cancels the request, and nothing is written. The request
//! log then records it with status 0.
//!
//! Faults that **damage or delay the answer** — [`FaultKind::LateAnswer`],
//! [`FaultKind::TruncatedBody`], [`FaultKind::MalformedJson`], [`FaultKind::SlowBody`] — let the
//! operation run normally (a post is applied, and logged with its status) and only change how
//! its answer travels. The operation completes whatever the client does afterwards: a client
//! that times out waiting for a late answer, or hangs up in the middle of a slow or truncated
//! one, still finds its write in the store, exactly once. This is how real networks and servers
//! fail after a write succeeded, and what the "no duplicate writes" and "outcome unknown"
//! checks of a client need.

use std::time::Duration;

use ontime_raw::index::Operation;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Which requests a [`FaultRule`] applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// Every request (including unknown paths).
    Any,
    /// One operation of the spec (e.g. [`Operation::OrdersGet`]).
    Operation(Operation),
    /// Requests whose path starts with `prefix` (and whose method is `method`, if given). A
    /// prefix starting with `/api/` is matched against the path after `/sites/{company}`;
    /// any other prefix against the whole path.
    Path {
        /// HTTP method (`"GET"`, `"POST"`, ...), or any.
        method: Option<String>,
        /// Path prefix.
        prefix: String,
    },
}

/// What a fault does.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultKind {
    /// Waits `fixed` plus a uniformly random part of `jitter` before handling the request.
    Latency {
        /// Always added.
        fixed: Duration,
        /// Up to this much more, drawn per request.
        jitter: Duration,
    },
    /// Runs the operation (the write lands and is logged), then holds the answer back for
    /// `delay` before sending it. A client whose timeout is shorter sees a timeout although
    /// the write succeeded; the operation is not undone when it hangs up.
    LateAnswer {
        /// How long the answer is held back after the operation ran.
        delay: Duration,
    },
    /// Answers `status` with a JSON `Fault` body (`Retry-After: retry_after` seconds if given).
    /// The operation does not run.
    Status {
        /// The HTTP status, e.g. 500, 502, 503 or 429.
        status: u16,
        /// Seconds for the `Retry-After` header.
        retry_after: Option<u64>,
    },
    /// Closes the connection without answering. The operation does not run.
    DropConnection,
    /// Runs the operation, then sends the headers (with the full `Content-Length`) and only the
    /// first half of the body before closing the connection.
    TruncatedBody,
    /// Runs the operation, then answers its status with a body that is not valid JSON.
    MalformedJson,
    /// Answers `status` with a `text/plain` body. The operation does not run.
    PlainTextError {
        /// The HTTP status.
        status: u16,
    },
    /// Answers `status` with an HTML error page (as IIS or a gateway sends). The operation
    /// does not run.
    HtmlError {
        /// The HTTP status.
        status: u16,
    },
    /// Answers `status` with no body at all. The operation does not run.
    EmptyBody {
        /// The HTTP status.
        status: u16,
    },
    /// Runs the operation, then sends its body in small chunks with `chunk_delay` between them.
    SlowBody {
        /// The pause between chunks.
        chunk_delay: Duration,
    },
}

impl FaultKind {
    /// Whether this fault answers instead of running the operation.
    pub fn fails_request(&self) -> bool {
        matches!(
            self,
            Self::Status { .. }
                | Self::DropConnection
                | Self::PlainTextError { .. }
                | Self::HtmlError { .. }
                | Self::EmptyBody { .. }
        )
    }

    /// A short name for the request log.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Latency { .. } => "latency",
            Self::LateAnswer { .. } => "late_answer",
            Self::Status { .. } => "status",
            Self::DropConnection => "drop_connection",
            Self::TruncatedBody => "truncated_body",
            Self::MalformedJson => "malformed_json",
            Self::PlainTextError { .. } => "plain_text_error",
            Self::HtmlError { .. } => "html_error",
            Self::EmptyBody { .. } => "empty_body",
            Self::SlowBody { .. } => "slow_body",
        }
    }
}

/// One fault-injection rule.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultRule {
    /// Which requests it applies to.
    pub route: Route,
    /// What it does.
    pub kind: FaultKind,
    /// The chance (0.0 to 1.0) that it applies to a matching request; 1.0 means always.
    pub probability: f64,
    /// Apply it to at most this many requests (`None`: no limit).
    pub times: Option<u32>,
}

impl FaultRule {
    /// A rule that applies `kind` to every request.
    pub fn always(kind: FaultKind) -> Self {
        Self {
            route: Route::Any,
            kind,
            probability: 1.0,
            times: None,
        }
    }

    /// Restricts the rule to one operation. Where the operation is a string a user typed,
    /// parse it first: `"ordersGet".parse::<Operation>()` accepts the spec's `operationId`
    /// and the client method name (`orders_get`) and refuses any other.
    pub fn on_operation(mut self, operation: Operation) -> Self {
        self.route = Route::Operation(operation);
        self
    }

    /// Restricts the rule to a method and path prefix (see [`Route::Path`]).
    pub fn on_path(mut self, method: Option<&str>, prefix: impl Into<String>) -> Self {
        self.route = Route::Path {
            method: method.map(str::to_owned),
            prefix: prefix.into(),
        };
        self
    }

    /// Applies the rule to the first `n` matching requests only.
    pub fn first(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }

    /// Applies the rule with probability `p` (0.0 to 1.0).
    pub fn with_probability(mut self, p: f64) -> Self {
        self.probability = p.clamp(0.0, 1.0);
        self
    }

    /// Shorthand: a status fault (`Retry-After` given for 429 and 503 when `retry_after` is
    /// `Some`).
    pub fn status(status: u16, retry_after: Option<u64>) -> Self {
        Self::always(FaultKind::Status {
            status,
            retry_after,
        })
    }

    fn matches(
        &self,
        operation: Option<Operation>,
        method: &str,
        path: &str,
        api_path: Option<&str>,
    ) -> bool {
        match &self.route {
            Route::Any => true,
            Route::Operation(op) => operation == Some(*op),
            Route::Path { method: m, prefix } => {
                m.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method))
                    && if prefix.starts_with("/api/") {
                        api_path.is_some_and(|p| p.starts_with(prefix.as_str()))
                    } else {
                        path.starts_with(prefix.as_str())
                    }
            }
        }
    }
}

/// What the fault engine chose for one request.
#[derive(Debug, Default)]
pub(crate) struct Chosen {
    pub delay: Duration,
    pub fault: Option<FaultKind>,
}

/// The rules of a server and the random source that decides them.
///
/// Each set of rules gets a fresh random stream derived from the server's seed and how many
/// times rules were set, so the faults a sequence of requests meets depend only on the seed,
/// the rules and the order the requests arrive in (send them one at a time for a repeatable
/// run), not on what earlier rules drew.
#[derive(Debug)]
pub(crate) struct FaultEngine {
    rules: Vec<(FaultRule, u32)>,
    rng: ChaCha8Rng,
    seed: u64,
    generation: u64,
}

impl FaultEngine {
    pub(crate) fn new(seed: u64, rules: Vec<FaultRule>) -> Self {
        Self {
            rules: rules.into_iter().map(|r| (r, 0)).collect(),
            rng: Self::stream(seed, 0),
            seed,
            generation: 0,
        }
    }

    fn stream(seed: u64, generation: u64) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x00fa_017f_a017);
        rng.set_stream(generation);
        rng
    }

    pub(crate) fn set(&mut self, rules: Vec<FaultRule>) {
        self.rules = rules.into_iter().map(|r| (r, 0)).collect();
        self.generation += 1;
        self.rng = Self::stream(self.seed, self.generation);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Decides the faults of one request: the sum of all latency rules that fire, and the first
    /// other rule that fires. Rules are tried in order; a rule's `times` counts the requests it
    /// was applied to.
    pub(crate) fn choose(
        &mut self,
        operation: Option<Operation>,
        method: &str,
        path: &str,
        api_path: Option<&str>,
    ) -> Chosen {
        let mut chosen = Chosen::default();
        for (rule, fired) in &mut self.rules {
            if !rule.matches(operation, method, path, api_path) {
                continue;
            }
            let is_latency = matches!(rule.kind, FaultKind::Latency { .. });
            if !is_latency && chosen.fault.is_some() {
                continue;
            }
            if rule.times.is_some_and(|t| *fired >= t) {
                continue;
            }
            if rule.probability < 1.0 && self.rng.random::<f64>() >= rule.probability {
                continue;
            }
            *fired += 1;
            match &rule.kind {
                FaultKind::Latency { fixed, jitter } => {
                    let extra = jitter.mul_f64(self.rng.random::<f64>());
                    chosen.delay += *fixed + extra;
                }
                kind => chosen.fault = Some(kind.clone()),
            }
        }
        chosen
    }
}

/// The keys every kind of rule takes (which requests, how often).
const COMMON_KEYS: &[&str] = &["op", "path", "method", "p", "times"];

/// The kinds of the `--fault` syntax and the keys each takes besides [`COMMON_KEYS`].
const KINDS: &[(&str, &[&str])] = &[
    ("latency", &["ms", "jitter_ms"]),
    ("late", &["ms"]),
    ("status", &["status", "retry_after"]),
    ("drop", &[]),
    ("truncate", &[]),
    ("malformed", &[]),
    ("plain", &["status"]),
    ("html", &["status"]),
    ("empty", &["status"]),
    ("slow", &["chunk_delay_ms"]),
];

/// Parses the binary's `--fault` syntax: a kind followed by comma-separated `key=value`
/// settings.
///
/// Kinds and their keys: `latency` (`ms`, `jitter_ms`: a delay before the operation runs),
/// `late` (`ms`: the operation runs, then its answer is held back that long), `status`
/// (`status`, `retry_after`),
/// `drop`, `truncate`, `malformed`, `plain` (`status`), `html` (`status`), `empty` (`status`),
/// `slow` (`chunk_delay_ms`). Any rule also takes `op=OPERATION_ID` or `path=PREFIX` (with
/// `method=GET`), `p=PROBABILITY` and `times=N`.
///
/// A key the kind does not take (say `probability=0.1` for `p=0.1`, or `ms` on a `drop` rule),
/// a key given twice, `method` without `path`, and `op` together with `path` are refused with
/// a message that lists the kind's keys: a rule never silently means something else than
/// written.
///
/// ```
/// use ontime_mock::{FaultKind, FaultRule, Operation, Route};
///
/// let rule: FaultRule = "status,status=503,retry_after=2,p=0.1,op=orderPost".parse().unwrap();
/// assert_eq!(rule.kind, FaultKind::Status { status: 503, retry_after: Some(2) });
/// assert_eq!(rule.route, Route::Operation(Operation::OrderPost));
/// // `op=` takes the client method name as well.
/// let same: FaultRule = "status,status=503,retry_after=2,p=0.1,op=order_post".parse().unwrap();
/// assert_eq!(same, rule);
/// assert_eq!(rule.probability, 0.1);
///
/// let refused = "status,status=503,probability=0.1".parse::<FaultRule>().unwrap_err();
/// assert!(refused.contains("status, retry_after, op, path, method, p, times"));
/// ```
impl std::str::FromStr for FaultRule {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.split(',').map(str::trim);
        let kind = parts.next().unwrap_or_default().to_ascii_lowercase();
        let Some((_, own_keys)) = KINDS.iter().find(|(name, _)| *name == kind) else {
            let kinds: Vec<&str> = KINDS.iter().map(|(name, _)| *name).collect();
            return Err(format!(
                "unknown fault kind {kind:?}; the kinds are: {}",
                kinds.join(", ")
            ));
        };
        let valid = || -> String {
            own_keys
                .iter()
                .chain(COMMON_KEYS)
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut settings = std::collections::HashMap::new();
        for part in parts.filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("expected key=value, got {part:?}"))?;
            let k = k.trim().to_ascii_lowercase();
            if !own_keys.contains(&k.as_str()) && !COMMON_KEYS.contains(&k.as_str()) {
                let hint = if k == "probability" {
                    " (p=PROBABILITY sets the chance a rule applies)"
                } else {
                    ""
                };
                return Err(format!(
                    "fault {kind:?} does not take the key {k:?}{hint}; its keys are: {}",
                    valid()
                ));
            }
            if settings.insert(k.clone(), v.trim().to_owned()).is_some() {
                return Err(format!("the key {k:?} is given twice"));
            }
        }
        if settings.contains_key("method") && !settings.contains_key("path") {
            return Err("method= applies to a path= prefix; give path= too".to_owned());
        }
        if settings.contains_key("op") && settings.contains_key("path") {
            return Err("give op= or path=, not both".to_owned());
        }
        let num = |name: &str, default: u64| -> Result<u64, String> {
            settings
                .get(name)
                .map(|v| {
                    v.parse::<u64>()
                        .map_err(|_| format!("{name}={v} is not a number"))
                })
                .unwrap_or(Ok(default))
        };
        let status = |default: u64| -> Result<u16, String> {
            let v = num("status", default)?;
            u16::try_from(v)
                .ok()
                .filter(|s| (100..=599).contains(s))
                .ok_or_else(|| format!("status={v} is not an HTTP status"))
        };
        let ms = |name: &str, default: u64| num(name, default).map(Duration::from_millis);
        let kind = match kind.as_str() {
            "latency" => FaultKind::Latency {
                fixed: ms("ms", 100)?,
                jitter: ms("jitter_ms", 0)?,
            },
            "status" => FaultKind::Status {
                status: status(503)?,
                retry_after: settings
                    .get("retry_after")
                    .map(|v| {
                        v.parse()
                            .map_err(|_| format!("retry_after={v} is not a number"))
                    })
                    .transpose()?,
            },
            "late" => FaultKind::LateAnswer {
                delay: ms("ms", 1000)?,
            },
            "drop" => FaultKind::DropConnection,
            "truncate" => FaultKind::TruncatedBody,
            "malformed" => FaultKind::MalformedJson,
            "plain" => FaultKind::PlainTextError {
                status: status(500)?,
            },
            "html" => FaultKind::HtmlError {
                status: status(502)?,
            },
            "empty" => FaultKind::EmptyBody {
                status: status(500)?,
            },
            "slow" => FaultKind::SlowBody {
                chunk_delay: ms("chunk_delay_ms", 100)?,
            },
            other => return Err(format!("unknown fault kind {other:?}")),
        };
        let mut rule = FaultRule::always(kind);
        if let Some(op) = settings.get("op") {
            let operation = op
                .parse::<Operation>()
                .map_err(|_| format!("unknown operation {op:?}"))?;
            rule = rule.on_operation(operation);
        } else if let Some(prefix) = settings.get("path") {
            rule = rule.on_path(settings.get("method").map(String::as_str), prefix.clone());
        }
        if let Some(p) = settings.get("p") {
            let p: f64 = p
                .parse()
                .map_err(|_| format!("p={p} is not a probability"))?;
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("p={p} is not between 0 and 1"));
            }
            rule = rule.with_probability(p);
        }
        if settings.contains_key("times") {
            rule = rule.first(u32::try_from(num("times", 0)?).map_err(|e| e.to_string())?);
        }
        Ok(rule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_match_count_and_roll_deterministically() {
        let rules = vec![
            FaultRule::always(FaultKind::Latency {
                fixed: Duration::from_millis(5),
                jitter: Duration::ZERO,
            }),
            FaultRule::status(503, Some(1))
                .on_operation(Operation::OrderPost)
                .first(2),
            FaultRule::always(FaultKind::DropConnection)
                .on_path(Some("GET"), "/api/orders")
                .with_probability(0.5),
        ];
        let mut engine = FaultEngine::new(1, rules.clone());
        let post = |e: &mut FaultEngine| {
            e.choose(
                Some(Operation::OrderPost),
                "POST",
                "/sites/x/api/order/post",
                Some("/api/order/post"),
            )
        };
        for _ in 0..2 {
            let c = post(&mut engine);
            assert_eq!(c.delay, Duration::from_millis(5));
            assert!(matches!(
                c.fault,
                Some(FaultKind::Status { status: 503, .. })
            ));
        }
        assert_eq!(post(&mut engine).fault, None);
        let rolls = |seed| {
            let mut e = FaultEngine::new(seed, rules.clone());
            (0..64)
                .map(|_| {
                    e.choose(
                        Some(Operation::OrdersFind),
                        "GET",
                        "/sites/x/api/orders",
                        Some("/api/orders"),
                    )
                    .fault
                    .is_some()
                })
                .collect::<Vec<_>>()
        };
        let a = rolls(7);
        assert_eq!(a, rolls(7));
        let hits = a.iter().filter(|h| **h).count();
        assert!((16..=48).contains(&hits), "{hits}");
    }

    #[test]
    fn rules_set_at_runtime_roll_the_same_whatever_came_before() {
        let coin = vec![FaultRule::always(FaultKind::DropConnection).with_probability(0.5)];
        let rolls = |e: &mut FaultEngine| {
            (0..64)
                .map(|_| e.choose(None, "GET", "/x", None).fault.is_some())
                .collect::<Vec<_>>()
        };
        // Two servers with the same seed whose earlier rules drew different amounts...
        let mut quiet = FaultEngine::new(3, Vec::new());
        let mut busy = FaultEngine::new(3, coin.clone());
        rolls(&mut busy);
        // ...draw the same once the same rules are set on both.
        quiet.set(coin.clone());
        busy.set(coin.clone());
        let first = rolls(&mut quiet);
        assert_eq!(first, rolls(&mut busy));
        // Each new set of rules draws a fresh stream.
        quiet.set(coin);
        assert_ne!(first, rolls(&mut quiet));
    }
}
