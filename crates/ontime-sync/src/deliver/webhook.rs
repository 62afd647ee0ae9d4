//! [`WebhookSink`]: Standard Webhooks v1 deliveries over HTTP(S).
//!
//! Each delivery is one `POST` of the rendered body (`content-type: application/json`) with
//! `webhook-id` (the event's id: the same on every retry, the receiver's idempotency key),
//! `webhook-timestamp` (Unix seconds of *this* attempt, from the sink's clock) and
//! `webhook-signature` (one `v1,…` per secret in use, see [`SigningKeys`]). The deliveries of
//! a batch are sent concurrently.
//!
//! # What an answer means
//!
//! | answer | [`Outcome`] |
//! |---|---|
//! | 2xx | `Delivered` |
//! | 410 Gone | `Gone`: the dispatcher disables the endpoint |
//! | 3xx | `Retry` "redirect not followed" — redirects are never followed: a receiver that moved must be reconfigured, and following would let a receiver point us anywhere |
//! | 429, 5xx | `Retry`, with the `Retry-After` asked for (seconds or HTTP date) |
//! | any other 4xx | `Retry` as well: like Svix, a 400/401/404 is more often a receiver's passing misconfiguration (a deploy, a rotated secret) than a verdict on the event, and the schedule gives up in time |
//! | timeout, connection error, DNS failure | `Retry` |
//! | a refused target | `Gone` with a reason starting "target refused": see below |
//!
//! `Retry-After` is read on every failed answer; the [schedule](super::schedule) decides how
//! much of it to honour. Reasons never hold the URL (it may carry a token), a secret or the
//! body. The answer's body is read (up to 64 KiB, so the connection can be reused) and dropped.
//!
//! # Target safety
//!
//! Unless the endpoint sets `allow_private`, a delivery never connects to a loopback,
//! private (RFC 1918, `fc00::/7`, the deprecated `fec0::/10`), link-local (`169.254.0.0/16`,
//! cloud metadata at `169.254.169.254` included, `fe80::/10`), shared (CGNAT, `100.64.0.0/10`) or
//! unspecified address, nor to one of those hidden in an IPv6 form (IPv4-mapped,
//! IPv4-compatible, NAT64 `64:ff9b::/96`). Multicast, broadcast and the reserved `240.0.0.0/4`
//! are refused always (they are no receivers). Both kinds of host are checked:
//!
//! - an IP literal in the URL when the sink is built ([`WebhookSink::new`] fails:
//!   [`WebhookError::TargetRefused`]);
//! - every address a host name resolves to, *at connection time*, inside the client's DNS
//!   resolver: refused addresses are dropped from the answer, so a DNS rebinding between a
//!   check and the connect cannot slip through (there is no separate check). Proxies are
//!   disabled (`HTTP_PROXY` would otherwise resolve the proxy instead of the target).
//!
//! A name that resolves *only* to refused addresses is a configuration problem, not a passing
//! fault: the sink answers [`Outcome::Gone`] with the reason `target refused: …`, and the
//! dispatcher disables the endpoint with that reason (its deliveries stay queued). Retrying
//! would spend the schedule on something only an operator can fix (the endpoint's address, or
//! `allow_private = true` for an internal receiver); re-enabling it tries again at once.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::join_all;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use reqwest::{StatusCode, Url};

use super::schedule::parse_retry_after;
use super::signature::{
    ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookSecret, signature_header,
};
use super::{Delivery, Outcome, Sink};
use crate::collect::Clock;

/// The default request timeout (Svix's).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// How long an old secret keeps signing after a rotation by default (Svix's 24 h).
pub const DEFAULT_ROTATION_GRACE: Duration = Duration::from_secs(24 * 3600);

/// The most of an answer's body read (and dropped).
const BODY_LIMIT: usize = 64 * 1024;

/// A signing secret and when it stops signing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningKey {
    /// The secret (its `Debug` is redacted).
    pub secret: WebhookSecret,
    /// When it stops signing (`None`: the current secret, signs until replaced).
    pub retire_at: Option<DateTime<Utc>>,
}

/// An endpoint's secrets. During a rotation the old secret keeps signing until its
/// `retire_at` (both signatures go out: a receiver that knows either accepts), then only the
/// new one signs. At least one secret never retires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningKeys(Vec<SigningKey>);

impl SigningKeys {
    /// One current secret.
    pub fn single(secret: WebhookSecret) -> Self {
        Self(vec![SigningKey {
            secret,
            retire_at: None,
        }])
    }

    /// These secrets; [`WebhookError::NoCurrentSecret`] unless one of them has no `retire_at`.
    pub fn new(keys: Vec<SigningKey>) -> Result<Self, WebhookError> {
        if keys.iter().all(|k| k.retire_at.is_some()) {
            return Err(WebhookError::NoCurrentSecret);
        }
        Ok(Self(keys))
    }

    /// Rotates to `new`: every secret in use retires at `now + grace` at the latest, `new`
    /// becomes the current one.
    pub fn rotate(&mut self, new: WebhookSecret, now: DateTime<Utc>, grace: Duration) {
        let until = now + chrono::TimeDelta::from_std(grace).unwrap_or(chrono::TimeDelta::MAX);
        for key in &mut self.0 {
            key.retire_at = Some(key.retire_at.map_or(until, |at| at.min(until)));
        }
        self.0.insert(
            0,
            SigningKey {
                secret: new,
                retire_at: None,
            },
        );
    }

    /// The secrets that sign at `now` (never empty).
    pub fn active(&self, now: DateTime<Utc>) -> impl Iterator<Item = &WebhookSecret> {
        self.0
            .iter()
            .filter(move |k| k.retire_at.is_none_or(|at| now < at))
            .map(|k| &k.secret)
    }

    /// Every secret, retired ones included.
    pub fn keys(&self) -> &[SigningKey] {
        &self.0
    }
}

/// One webhook endpoint: where to, signed how, waiting how long.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    /// `http://` or `https://`.
    pub url: Url,
    /// The secrets.
    pub keys: SigningKeys,
    /// The whole request's timeout (connect, send, answer).
    pub timeout: Duration,
    /// Whether loopback, private, link-local and shared addresses may be targets.
    pub allow_private: bool,
}

impl WebhookEndpoint {
    /// An endpoint with the default timeout and target safety on.
    pub fn new(url: Url, keys: SigningKeys) -> Self {
        Self {
            url,
            keys,
            timeout: DEFAULT_TIMEOUT,
            allow_private: false,
        }
    }
}

impl fmt::Debug for WebhookEndpoint {
    /// Shows the URL without its query and fragment (they may carry a token).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookEndpoint")
            .field("url", &display_url(&self.url))
            .field("keys", &self.keys)
            .field("timeout", &self.timeout)
            .field("allow_private", &self.allow_private)
            .finish()
    }
}

/// The URL as it may be logged: scheme, host, port and path (no user info, query, fragment).
pub fn display_url(url: &Url) -> String {
    let mut shown = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(port) = url.port() {
        shown.push_str(&format!(":{port}"));
    }
    shown.push_str(url.path());
    shown
}

/// A target address the endpoint may not reach.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "target refused: {host} {} {kind} address {address}{}",
    if self.resolved { "resolves only to refused addresses, e.g. the" } else { "is the" },
    if self.allowable { " (set allow_private = true for an internal receiver)" } else { "" }
)]
pub struct TargetRefused {
    /// The host as written in the URL.
    pub host: String,
    /// An address refused.
    pub address: IpAddr,
    /// What kind of address (`loopback`, `private`, `link-local`, …).
    pub kind: &'static str,
    /// Whether the address came from DNS (else: a literal in the URL).
    pub resolved: bool,
    /// Whether `allow_private` would allow it.
    pub allowable: bool,
}

/// Why a webhook sink could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// Not an `http(s)://` URL with a host.
    #[error("webhook URL {url}: {reason}")]
    InvalidUrl {
        /// The URL as it may be shown ([`display_url`]).
        url: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The URL's host is an address the endpoint may not reach.
    #[error(transparent)]
    TargetRefused(#[from] TargetRefused),
    /// Every secret has a `retire_at`: nothing would sign once they pass.
    #[error("no current webhook secret: at least one secret must have no retire_at")]
    NoCurrentSecret,
    /// The HTTP client could not be built (TLS setup).
    #[error("the HTTP client could not be built: {0}")]
    Client(#[source] reqwest::Error),
}

/// Why `ip` may not be a target: `Some((kind, allowable))`, `allowable` when `allow_private`
/// lifts the refusal; `None` for an ordinary public unicast address.
pub fn refused_kind(ip: IpAddr) -> Option<(&'static str, bool)> {
    match ip {
        IpAddr::V4(v4) => refused_v4(v4),
        IpAddr::V6(v6) => refused_v6(v6),
    }
}

fn refused_v4(ip: Ipv4Addr) -> Option<(&'static str, bool)> {
    let [a, b, ..] = ip.octets();
    if ip.is_unspecified() || a == 0 {
        Some(("unspecified", false))
    } else if ip.is_broadcast() || ip.is_multicast() || a >= 240 {
        Some(("multicast, broadcast or reserved", false))
    } else if ip.is_loopback() {
        Some(("loopback", true))
    } else if ip.is_private() {
        Some(("private", true))
    } else if ip.is_link_local() {
        Some(("link-local", true))
    } else if a == 100 && (64..128).contains(&b) {
        Some(("shared (CGNAT)", true))
    } else {
        None
    }
}

fn refused_v6(ip: Ipv6Addr) -> Option<(&'static str, bool)> {
    let segments = ip.segments();
    if ip.is_unspecified() {
        Some(("unspecified", false))
    } else if ip.is_loopback() {
        Some(("loopback", true))
    } else if ip.is_multicast() {
        Some(("multicast, broadcast or reserved", false))
    } else if let Some(v4) = ip.to_ipv4_mapped() {
        refused_v4(v4)
    } else if segments[..6] == [0; 6] {
        // IPv4-compatible (deprecated): ::a.b.c.d.
        refused_v4(Ipv4Addr::from_bits(ip.to_bits() as u32))
    } else if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // NAT64: the IPv4 address in the last 32 bits is what is reached.
        refused_v4(Ipv4Addr::from_bits(ip.to_bits() as u32))
    } else if (segments[0] & 0xfe00) == 0xfc00 || (segments[0] & 0xffc0) == 0xfec0 {
        Some(("private", true))
    } else if (segments[0] & 0xffc0) == 0xfe80 {
        Some(("link-local", true))
    } else {
        None
    }
}

/// Checks that `url` is `http(s)://` with a host, and that a host written as an IP address is
/// one the endpoint may reach (names are checked when resolved, at every connection).
pub fn check_target(url: &Url, allow_private: bool) -> Result<(), WebhookError> {
    let invalid = |reason| WebhookError::InvalidUrl {
        url: display_url(url),
        reason,
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("not an http:// or https:// URL"));
    }
    let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
        return Err(invalid("no host"));
    };
    // An IPv6 literal is written in brackets; a name never parses as an address.
    let literal = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok();
    if let Some(ip) = literal
        && let Some((kind, allowable)) = refused_kind(ip)
        && !(allowable && allow_private)
    {
        return Err(TargetRefused {
            host: host.to_owned(),
            address: ip,
            kind,
            resolved: false,
            allowable,
        }
        .into());
    }
    Ok(())
}

/// The client's DNS resolver: the system's, with refused addresses dropped.
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refused = None;
            let kept: Vec<SocketAddr> = found
                .into_iter()
                .filter(|addr| match refused_kind(addr.ip()) {
                    Some((_, true)) if allow_private => true,
                    Some((kind, allowable)) => {
                        refused.get_or_insert(TargetRefused {
                            host: host.clone(),
                            address: addr.ip(),
                            kind,
                            resolved: true,
                            allowable,
                        });
                        false
                    }
                    None => true,
                })
                .collect();
            match refused {
                Some(refused) if kept.is_empty() => Err(Box::new(refused) as _),
                _ => Ok(Box::new(kept.into_iter()) as Addrs),
            }
        })
    }
}

/// Sends deliveries to one webhook endpoint (see the [module documentation](self)).
#[derive(Clone)]
pub struct WebhookSink<C> {
    client: reqwest::Client,
    endpoint: Arc<WebhookEndpoint>,
    clock: C,
}

impl<C> fmt::Debug for WebhookSink<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSink")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl<C: Clock> WebhookSink<C> {
    /// A sink for `endpoint`; `clock` gives each attempt's `webhook-timestamp` (and the
    /// reference for a `Retry-After` date). Refuses a URL that is not `http(s)://`, and an IP
    /// literal the endpoint may not reach.
    pub fn new(endpoint: WebhookEndpoint, clock: C) -> Result<Self, WebhookError> {
        check_target(&endpoint.url, endpoint.allow_private)?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(endpoint.timeout)
            .dns_resolver(GuardedResolver {
                allow_private: endpoint.allow_private,
            })
            .user_agent(concat!("ontime-sync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(WebhookError::Client)?;
        Ok(Self {
            client,
            endpoint: Arc::new(endpoint),
            clock,
        })
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &WebhookEndpoint {
        &self.endpoint
    }

    /// Sends one delivery.
    pub async fn send_one(&self, delivery: &Delivery) -> Outcome {
        let now = self.clock.now();
        let timestamp = now.timestamp();
        let id = delivery.event.event_id.as_str();
        let signature = signature_header(
            self.endpoint.keys.active(now),
            id,
            timestamp,
            &delivery.body,
        );
        let request = self
            .client
            .post(self.endpoint.url.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(ID_HEADER, id)
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, signature)
            .body(delivery.body.clone());
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(error) => return self.failed(error),
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, self.clock.now()));
        // Read a little of the answer so the connection can be reused; its content is unused.
        let mut read = 0;
        while read < BODY_LIMIT {
            match response.chunk().await {
                Ok(Some(chunk)) => read += chunk.len(),
                _ => break,
            }
        }
        classify(status, retry_after)
    }

    fn failed(&self, error: reqwest::Error) -> Outcome {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
        while let Some(e) = source {
            if let Some(refused) = e.downcast_ref::<TargetRefused>() {
                return Outcome::Gone {
                    reason: refused.to_string(),
                };
            }
            source = e.source();
        }
        let reason = if error.is_timeout() {
            format!("timed out after {:?}", self.endpoint.timeout)
        } else {
            let what = if error.is_connect() {
                "connection failed"
            } else {
                "request failed"
            };
            // The URL is left out: it may carry a token.
            let mut reason = what.to_owned();
            let error = error.without_url();
            let mut source = std::error::Error::source(&error);
            while let Some(e) = source {
                reason.push_str(": ");
                reason.push_str(&e.to_string());
                source = e.source();
            }
            reason
        };
        Outcome::Retry {
            after: None,
            reason,
        }
    }
}

/// The outcome of an answer (see the table in the [module documentation](self)).
fn classify(status: StatusCode, retry_after: Option<Duration>) -> Outcome {
    let code = status.as_u16();
    if status.is_success() {
        return Outcome::Delivered;
    }
    if status == StatusCode::GONE {
        return Outcome::Gone {
            reason: "HTTP 410 Gone: the receiver asked to stop".to_owned(),
        };
    }
    let reason = if status.is_redirection() {
        format!("HTTP {code}: redirect not followed")
    } else {
        format!("HTTP {code}")
    };
    Outcome::Retry {
        after: retry_after,
        reason,
    }
}

impl<C: Clock> Sink for WebhookSink<C> {
    async fn send(&self, batch: Vec<Delivery>) -> Vec<Outcome> {
        join_all(batch.iter().map(|delivery| self.send_one(delivery))).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_refused_and_allowed() {
        let cases: &[(&str, Option<(&str, bool)>)] = &[
            ("93.184.215.14", None),
            ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", None),
            ("127.0.0.1", Some(("loopback", true))),
            ("127.9.9.9", Some(("loopback", true))),
            ("::1", Some(("loopback", true))),
            ("10.1.2.3", Some(("private", true))),
            ("172.16.0.1", Some(("private", true))),
            ("172.32.0.1", None),
            ("192.168.1.1", Some(("private", true))),
            ("169.254.169.254", Some(("link-local", true))),
            ("100.64.0.1", Some(("shared (CGNAT)", true))),
            ("100.127.255.255", Some(("shared (CGNAT)", true))),
            ("100.128.0.1", None),
            ("0.0.0.0", Some(("unspecified", false))),
            ("::", Some(("unspecified", false))),
            ("fd00::1", Some(("private", true))),
            ("fc12::1", Some(("private", true))),
            ("fe80::1", Some(("link-local", true))),
            ("::ffff:127.0.0.1", Some(("loopback", true))),
            ("::ffff:169.254.169.254", Some(("link-local", true))),
            ("::10.0.0.1", Some(("private", true))),
            ("64:ff9b::a9fe:a9fe", Some(("link-local", true))),
            (
                "224.0.0.1",
                Some(("multicast, broadcast or reserved", false)),
            ),
            (
                "255.255.255.255",
                Some(("multicast, broadcast or reserved", false)),
            ),
            ("ff02::1", Some(("multicast, broadcast or reserved", false))),
        ];
        for (ip, expected) in cases {
            assert_eq!(refused_kind(ip.parse().unwrap()), *expected, "{ip}");
        }
    }

    #[test]
    fn answers_map_to_outcomes() {
        let retry = |code: u16, after| match classify(StatusCode::from_u16(code).unwrap(), after) {
            Outcome::Retry { after, reason } => (after, reason),
            other => panic!("{code}: {other:?}"),
        };
        assert_eq!(classify(StatusCode::OK, None), Outcome::Delivered);
        assert_eq!(classify(StatusCode::ACCEPTED, None), Outcome::Delivered);
        assert!(matches!(
            classify(StatusCode::GONE, None),
            Outcome::Gone { .. }
        ));
        assert_eq!(retry(301, None).1, "HTTP 301: redirect not followed");
        assert_eq!(retry(500, None).1, "HTTP 500");
        assert_eq!(retry(404, None).1, "HTTP 404");
        let five = Some(Duration::from_secs(5));
        assert_eq!(retry(429, five).0, five);
    }

    #[test]
    fn rotation_signs_with_both_until_the_old_retires() {
        let (old, new) = (WebhookSecret::generate(), WebhookSecret::generate());
        let mut keys = SigningKeys::single(old.clone());
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        keys.rotate(new.clone(), now, DEFAULT_ROTATION_GRACE);
        let at = |hours| {
            keys.active(now + chrono::TimeDelta::hours(hours))
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(at(0), [new.clone(), old.clone()]);
        assert_eq!(at(23), [new.clone(), old]);
        assert_eq!(at(24), [new]);
        assert!(matches!(
            SigningKeys::new(vec![SigningKey {
                secret: WebhookSecret::generate(),
                retire_at: Some(now)
            }]),
            Err(WebhookError::NoCurrentSecret)
        ));
    }

    #[test]
    fn urls_are_shown_without_tokens() {
        let url: Url = "https://user:pw@hooks.example.com:8443/in?token=abc#x"
            .parse()
            .unwrap();
        assert_eq!(display_url(&url), "https://hooks.example.com:8443/in");
    }
}
