//! Workflow notifications: what OnTime's Workflow Designer can make an account send when an
//! order's status changes — an HTTP `POST` of a body the account's administrator designed.
//!
//! OnTime documents neither the body nor its retry behaviour. The simulator renders a
//! [`NotifyTemplate`] per order status change and, when a `POST` fails (no connection, no
//! answer within the timeout, or a status other than 2xx), tries again a few times with a
//! doubling pause ([`NotifyConfig::attempts`], [`NotifyConfig::backoff`]). That schedule is
//! the simulator's choice, not a fact about OnTime. Only changes the activity makes are
//! notified, never changes clients make through the API.
//!
//! Only `http://` targets are supported (the simulator is meant for loopback), and the URL is
//! treated as a secret (receivers often put a token in it): `Debug` and logs show only its
//! host.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::NaiveDateTime;
use uuid::Uuid;

/// The default body: a small JSON object such as an administrator would design.
pub const DEFAULT_TEMPLATE: &str = r#"{"OrderID":"{{order_id}}","TrackingNumber":"{{tracking_number}}","Status":"{{status}}","Level":{{level}},"Timestamp":"{{timestamp}}"}"#;

/// The placeholders a template may use, each written `{{name}}` (spaces inside the braces are
/// allowed):
///
/// | placeholder | value |
/// |---|---|
/// | `order_id` | the order's GUID |
/// | `tracking_number` | the order's tracking number |
/// | `status` | the new status entry's label (`Name`) |
/// | `level` | its level code (an integer) |
/// | `status_id` | the status entry's GUID |
/// | `description` | its `Description` |
/// | `timestamp` | its `Timestamp`, account-local, `YYYY-MM-DDTHH:MM:SS` |
/// | `driver_id` | the order's `DriverCurrentlyAssigned` (empty when none) |
/// | `company` | the company id of `/sites/{company}` |
///
/// Values are escaped for the content type: inside JSON strings for a JSON content type,
/// form-encoded for `application/x-www-form-urlencoded`, as they are otherwise.
pub const PLACEHOLDERS: &[&str] = &[
    "order_id",
    "tracking_number",
    "status",
    "level",
    "status_id",
    "description",
    "timestamp",
    "driver_id",
    "company",
];

/// A notification body template (see [`PLACEHOLDERS`]).
#[derive(Clone, PartialEq, Eq)]
pub struct NotifyTemplate {
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    Field(usize),
}

/// A template that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// `{{` without a closing `}}`.
    #[error("the template has a `{{{{` at byte {0} without a closing `}}}}`")]
    Unclosed(usize),
    /// A placeholder that is not one of [`PLACEHOLDERS`].
    #[error("the template uses {{{{{0}}}}}, which is not one of: {list}", list = PLACEHOLDERS.join(", "))]
    Unknown(String),
}

impl NotifyTemplate {
    /// Parses a template, refusing unknown placeholders.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = text;
        let mut offset = 0;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            let after = &rest[open + 2..];
            let close = after
                .find("}}")
                .ok_or(TemplateError::Unclosed(offset + open))?;
            let name = after[..close].trim();
            let field = PLACEHOLDERS
                .iter()
                .position(|p| *p == name)
                .ok_or_else(|| TemplateError::Unknown(name.to_owned()))?;
            parts.push(Part::Field(field));
            let consumed = open + 2 + close + 2;
            offset += consumed;
            rest = &rest[consumed..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Self { parts })
    }

    /// Renders the template for one status change.
    pub fn render(&self, n: &Notification, escape: Escape) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Field(f) => {
                    let value = n.value(*f);
                    match escape {
                        Escape::Json => {
                            let quoted = serde_json::Value::String(value).to_string();
                            out.push_str(&quoted[1..quoted.len() - 1]);
                        }
                        Escape::Form => {
                            out.extend(form_urlencoded::byte_serialize(value.as_bytes()));
                        }
                        Escape::None => out.push_str(&value),
                    }
                }
            }
        }
        out
    }
}

impl Default for NotifyTemplate {
    fn default() -> Self {
        match Self::parse(DEFAULT_TEMPLATE) {
            Ok(t) => t,
            Err(_) => unreachable!("the default template parses"),
        }
    }
}

impl FromStr for NotifyTemplate {
    type Err = TemplateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Debug for NotifyTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text: String = self
            .parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.clone(),
                Part::Field(i) => format!("{{{{{}}}}}", PLACEHOLDERS[*i]),
            })
            .collect();
        f.debug_tuple("NotifyTemplate").field(&text).finish()
    }
}

/// How placeholder values are escaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Escape {
    /// As the inside of a JSON string.
    Json,
    /// Form-encoded (`application/x-www-form-urlencoded`).
    Form,
    /// Not at all.
    None,
}

impl Escape {
    /// The escaping a content type needs.
    pub fn for_content_type(content_type: &str) -> Self {
        let ct = content_type.to_ascii_lowercase();
        if ct.contains("json") {
            Escape::Json
        } else if ct.contains("x-www-form-urlencoded") {
            Escape::Form
        } else {
            Escape::None
        }
    }
}

/// What a notification is about: one order status change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// The company id.
    pub company: String,
    /// The order's GUID.
    pub order_id: Uuid,
    /// The order's tracking number.
    pub tracking_number: String,
    /// The status entry's GUID.
    pub status_id: Uuid,
    /// Its label.
    pub status: String,
    /// Its level code.
    pub level: i64,
    /// Its description.
    pub description: String,
    /// Its timestamp (account-local).
    pub timestamp: NaiveDateTime,
    /// The order's driver after the change.
    pub driver_id: Option<Uuid>,
}

impl Notification {
    fn value(&self, field: usize) -> String {
        match PLACEHOLDERS.get(field).copied() {
            Some("order_id") => self.order_id.to_string(),
            Some("tracking_number") => self.tracking_number.clone(),
            Some("status") => self.status.clone(),
            Some("level") => self.level.to_string(),
            Some("status_id") => self.status_id.to_string(),
            Some("description") => self.description.clone(),
            Some("timestamp") => self.timestamp.format("%Y-%m-%dT%H:%M:%S").to_string(),
            Some("driver_id") => self.driver_id.map(|d| d.to_string()).unwrap_or_default(),
            Some("company") => self.company.clone(),
            _ => String::new(),
        }
    }
}

/// Where and how to send workflow notifications.
#[derive(Clone)]
pub struct NotifyConfig {
    url: reqwest::Url,
    template: NotifyTemplate,
    content_type: String,
    attempts: u32,
    backoff: Duration,
    timeout: Duration,
}

/// A notification target that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyUrlError {
    /// Not a URL.
    #[error("the notification URL is not a valid URL")]
    Invalid,
    /// Not `http://`.
    #[error("the notification URL must start with http:// (got scheme {0:?})")]
    Scheme(String),
}

impl NotifyConfig {
    /// Notifications to `url` (`http://` only) with the default JSON template, content type
    /// `application/json`, 4 attempts with pauses from 100 ms doubling, 5 s timeout each.
    pub fn new(url: &str) -> Result<Self, NotifyUrlError> {
        let url = reqwest::Url::parse(url).map_err(|_| NotifyUrlError::Invalid)?;
        if url.scheme() != "http" {
            return Err(NotifyUrlError::Scheme(url.scheme().to_owned()));
        }
        if url.host_str().is_none() {
            return Err(NotifyUrlError::Invalid);
        }
        Ok(Self {
            url,
            template: NotifyTemplate::default(),
            content_type: "application/json".to_owned(),
            attempts: 4,
            backoff: Duration::from_millis(100),
            timeout: Duration::from_secs(5),
        })
    }

    /// The body template.
    pub fn template(mut self, template: NotifyTemplate) -> Self {
        self.template = template;
        self
    }

    /// The `Content-Type` of the body (it also picks how values are escaped, see [`Escape`]).
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = content_type.into();
        self
    }

    /// How many times one notification is tried in all (at least 1).
    pub fn attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts.max(1);
        self
    }

    /// The pause before the first retry; each further retry waits twice as long.
    pub fn backoff(mut self, backoff: Duration) -> Self {
        self.backoff = backoff;
        self
    }

    /// How long one attempt may take.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The host and port of the target (what `Debug` and logs show of the URL).
    pub fn host(&self) -> String {
        match (self.url.host_str(), self.url.port_or_known_default()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            _ => String::new(),
        }
    }
}

/// The URL is redacted to its host: it may carry a token.
impl fmt::Debug for NotifyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotifyConfig")
            .field("host", &self.host())
            .field("url", &"[redacted]")
            .field("template", &self.template)
            .field("content_type", &self.content_type)
            .field("attempts", &self.attempts)
            .field("backoff", &self.backoff)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Counts of notifications so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NotifyStats {
    /// Notifications delivered (a 2xx answer to one of their attempts).
    pub sent: u64,
    /// Notifications given up after their last attempt failed.
    pub failed: u64,
    /// `POST`s made, retries included.
    pub attempts: u64,
}

/// Sends notifications and counts them.
#[derive(Debug)]
pub(crate) struct Notifier {
    config: NotifyConfig,
    client: reqwest::Client,
    escape: Escape,
    sent: AtomicU64,
    failed: AtomicU64,
    attempts: AtomicU64,
}

impl Notifier {
    pub(crate) fn new(config: NotifyConfig) -> Result<Self, crate::MockError> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| crate::MockError::Invalid(format!("notification client: {e}")))?;
        Ok(Self {
            escape: Escape::for_content_type(&config.content_type),
            config,
            client,
            sent: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            attempts: AtomicU64::new(0),
        })
    }

    pub(crate) fn stats(&self) -> NotifyStats {
        NotifyStats {
            sent: self.sent.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            attempts: self.attempts.load(Ordering::Relaxed),
        }
    }

    /// Sends one notification, retrying as configured; returns whether it was delivered.
    pub(crate) async fn send(&self, n: &Notification) -> bool {
        let body = self.config.template.render(n, self.escape);
        let mut pause = self.config.backoff;
        for attempt in 1..=self.config.attempts {
            self.attempts.fetch_add(1, Ordering::Relaxed);
            let outcome = self
                .client
                .post(self.config.url.clone())
                .header(reqwest::header::CONTENT_TYPE, &self.config.content_type)
                .body(body.clone())
                .send()
                .await;
            let why = match outcome {
                Ok(r) if r.status().is_success() => {
                    self.sent.fetch_add(1, Ordering::Relaxed);
                    return true;
                }
                Ok(r) => format!("status {}", r.status().as_u16()),
                // Without the URL: it may carry a token.
                Err(e) => format!("{}", e.without_url()),
            };
            tracing::debug!(host = %self.config.host(), attempt, %why, order = %n.order_id,
                "workflow notification failed");
            if attempt < self.config.attempts {
                // The retry schedule is a pause by design: nothing signals that the target
                // has recovered.
                tokio::time::sleep(pause).await;
                pause = pause.saturating_mul(2);
            }
        }
        tracing::warn!(host = %self.config.host(), order = %n.order_id,
            attempts = self.config.attempts, "workflow notification given up");
        self.failed.fetch_add(1, Ordering::Relaxed);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Notification {
        Notification {
            company: "demo".to_owned(),
            order_id: Uuid::nil(),
            tracking_number: "1000201".to_owned(),
            status_id: Uuid::max(),
            status: "Attempted - \"Not\" Home & co".to_owned(),
            level: 2,
            description: "d".to_owned(),
            timestamp: chrono::NaiveDate::from_ymd_opt(2024, 5, 15)
                .and_then(|d| d.and_hms_opt(10, 31, 7))
                .expect("valid"),
            driver_id: None,
        }
    }

    #[test]
    fn the_default_template_renders_valid_json() {
        let body = NotifyTemplate::default().render(&sample(), Escape::Json);
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(v["Status"], "Attempted - \"Not\" Home & co");
        assert_eq!(v["Level"], 2);
        assert_eq!(v["Timestamp"], "2024-05-15T10:31:07");
        assert_eq!(v["TrackingNumber"], "1000201");
    }

    #[test]
    fn form_templates_are_encoded_and_unknown_placeholders_refused() {
        let t: NotifyTemplate = "id={{ order_id }}&s={{status}}&d={{driver_id}}"
            .parse()
            .expect("parses");
        let body = t.render(
            &sample(),
            Escape::for_content_type("application/x-www-form-urlencoded"),
        );
        let pairs: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(pairs[1].1, "Attempted - \"Not\" Home & co");
        assert_eq!(pairs[2].1, "");
        assert_eq!(
            NotifyTemplate::parse("{{orderid}}"),
            Err(TemplateError::Unknown("orderid".to_owned()))
        );
        assert_eq!(
            NotifyTemplate::parse("ab{{level"),
            Err(TemplateError::Unclosed(2))
        );
    }

    #[test]
    fn urls_are_checked_and_hidden() {
        assert!(matches!(
            NotifyConfig::new("ftp://x/"),
            Err(NotifyUrlError::Scheme(_))
        ));
        assert_eq!(
            NotifyConfig::new("not a url").err(),
            Some(NotifyUrlError::Invalid)
        );
        let c = NotifyConfig::new("http://127.0.0.1:9/inbound/secret-token-123456").expect("ok");
        let shown = format!("{c:?}");
        assert!(!shown.contains("secret-token"), "{shown}");
        assert!(shown.contains("127.0.0.1:9"), "{shown}");
    }
}
