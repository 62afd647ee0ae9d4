//! Keeping the API key out of errors and logs.

use super::Error;

/// Removes the API key from text that came from a server (error messages, web pages, headers),
/// before it enters an [`Error`] or a log: the key as configured, percent-encoded and
/// JSON-escaped (the `Bearer <key>` form contains the key, so it is covered too).
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    needles: Vec<String>,
}

/// What replaces a secret.
pub(crate) const REDACTED: &str = "[redacted]";

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Redactor([redacted])")
    }
}

impl Redactor {
    pub(crate) fn new(secret: &str) -> Self {
        let secret = secret.trim();
        if secret.is_empty() {
            return Self::default();
        }
        let mut needles = vec![secret.to_string()];
        let mut upper = String::new();
        let mut lower = String::new();
        for byte in secret.bytes() {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                upper.push(byte as char);
                lower.push(byte as char);
            } else {
                upper.push_str(&format!("%{byte:02X}"));
                lower.push_str(&format!("%{byte:02x}"));
            }
        }
        needles.extend([upper, lower]);
        if let Ok(json) = serde_json::to_string(secret) {
            needles.push(json.trim_matches('"').to_string());
        }
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        needles.dedup();
        Self { needles }
    }

    /// `text` with every occurrence of the secret replaced by `[redacted]`.
    pub(crate) fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for needle in &self.needles {
            if out.contains(needle.as_str()) {
                out = out.replace(needle.as_str(), REDACTED);
            }
        }
        out
    }

    fn option(&self, text: &mut Option<String>) {
        if let Some(text) = text {
            *text = self.text(text);
        }
    }

    /// The error with the secret removed from every text that came from the server.
    pub(crate) fn error(&self, mut error: Error) -> Error {
        if self.needles.is_empty() {
            return error;
        }
        match &mut error {
            Error::BadRequest { message, .. }
            | Error::Unauthorized { message, .. }
            | Error::Forbidden { message, .. }
            | Error::NotFound { message, .. }
            | Error::RateLimited { message, .. }
            | Error::Server { message, .. } => self.option(message),
            Error::Decode { path, message, .. } => {
                *path = self.text(path);
                *message = self.text(message);
            }
            Error::InvalidRequest { message, .. } => *message = self.text(message),
            Error::Redirect { location, .. } => self.option(location),
            Error::UnexpectedResponse {
                content_type,
                snippet,
                ..
            } => {
                self.option(content_type);
                self.option(snippet);
            }
            _ => {}
        }
        error
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ontime_raw::index::Operation;

    #[test]
    fn the_redactor_removes_the_key_in_every_form() {
        let r = Redactor::new("ab/c+d=");
        assert_eq!(r.text("key ab/c+d= here"), "key [redacted] here");
        assert_eq!(r.text("Bearer ab/c+d="), "Bearer [redacted]");
        assert_eq!(r.text("/login?k=ab%2Fc%2Bd%3D"), "/login?k=[redacted]");
        assert_eq!(r.text("/login?k=ab%2fc%2bd%3d"), "/login?k=[redacted]");
        assert_eq!(r.text("nothing secret"), "nothing secret");
        assert!(!format!("{r:?}").contains("ab/c"));
        let e = r.error(Error::Server {
            operation: Operation::OrdersGet,
            status: 500,
            message: Some("bad key ab/c+d=".into()),
            retry_after: None,
            retried: None,
        });
        assert_eq!(e.server_message(), Some("bad key [redacted]"));
        let e = r.error(Error::Redirect {
            operation: Operation::OrdersGet,
            status: Some(302),
            location: Some("https://x/?key=ab/c+d=".into()),
        });
        assert!(!e.to_string().contains("ab/c"), "{e}");
    }
}
