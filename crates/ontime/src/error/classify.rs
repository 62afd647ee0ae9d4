//! Turning what a server answered (statuses, bodies) into [`Error`]s.

use std::time::Duration;

use ontime_raw::hooks::Refused;
use ontime_raw::index::Operation;
use serde::de::DeserializeOwned;

use super::Error;

/// Best-effort human message from an error body in any of the forms servers use: a JSON object
/// (`Message`, `message`, `error`, ...), a JSON string, plain text, an HTML page, or nothing.
pub(crate) fn message_from_body(body: &[u8]) -> Option<String> {
    const MAX: usize = 500;
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let message = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(serde_json::Value::Object(map)) => {
            let keys = [
                "Message",
                "message",
                "error_description",
                "error",
                "ExceptionMessage",
                "title",
            ];
            let main = keys
                .iter()
                .find_map(|k| map.get(*k).and_then(|v| v.as_str()));
            let detail = map.get("MessageDetail").and_then(|v| v.as_str());
            match (main, detail) {
                (Some(m), Some(d)) => format!("{m} ({d})"),
                (Some(m), None) => m.to_string(),
                _ => text.to_string(),
            }
        }
        Ok(other) => other.to_string(),
        Err(_) if text.starts_with('<') => html_text(text),
        Err(_) => text.to_string(),
    };
    let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
    if message.is_empty() {
        return None;
    }
    Some(if message.chars().count() > MAX {
        let cut: String = message.chars().take(MAX).collect();
        format!("{cut}…")
    } else {
        message
    })
}

/// The visible text of an HTML page: the `<title>` if any, else the text without tags.
fn html_text(html: &str) -> String {
    let lower = html.to_ascii_lowercase();
    if let (Some(start), Some(end)) = (lower.find("<title>"), lower.find("</title>"))
        && start + 7 <= end
    {
        let title = html[start + 7..end].trim();
        if !title.is_empty() {
            return title.to_string();
        }
    }
    let mut out = String::new();
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// Where in the JSON `bytes` stop matching `T`.
pub(crate) fn decode_path<T: DeserializeOwned>(bytes: &[u8]) -> Option<String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(_) => None,
        Err(error) => Some(error.path().to_string()),
    }
}

/// Whether a body that failed to decode is JSON at all (then the error is about its shape), as
/// opposed to a web page or text from something other than the API.
pub(crate) fn looks_like_json(content_type: Option<&str>, body: &[u8]) -> bool {
    let declared_json = content_type.is_none_or(|t| t.to_ascii_lowercase().contains("json"));
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    let json_start = match first {
        // An empty body with a JSON type is an answer cut short.
        None => declared_json,
        Some(b) => b"{[\"-0123456789tfn".contains(b),
    };
    json_start && (declared_json || serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok())
}

pub(crate) fn refused_error(operation: Operation, status: u16, refused: &Refused) -> Error {
    match refused {
        Refused::TooLarge {
            limit,
            content_length,
        } => Error::BodyTooLarge {
            operation,
            status,
            limit: *limit,
            content_length: *content_length,
        },
        Refused::Redirect { status, location } => Error::Redirect {
            operation,
            status: status.map(|s| s.as_u16()),
            location: location.clone(),
        },
        // Refused is non-exhaustive; a new reason is still a refusal of the answer.
        other => Error::UnexpectedResponse {
            operation,
            status,
            content_type: None,
            snippet: Some(other.to_string()),
        },
    }
}

pub(crate) fn by_status(
    operation: Operation,
    status: u16,
    message: Option<String>,
    retry_after: Option<Duration>,
) -> Error {
    match status {
        400 => Error::BadRequest { operation, message },
        401 => Error::Unauthorized { operation, message },
        403 => Error::Forbidden { operation, message },
        404 => Error::NotFound { operation, message },
        429 => Error::RateLimited {
            operation,
            retry_after,
            message,
            retried: None,
        },
        _ => Error::Server {
            operation,
            status,
            message,
            retry_after,
            retried: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_come_out_of_every_body_format() {
        assert_eq!(
            message_from_body(br#"{"Message":"Bad TrackingNumber"}"#).as_deref(),
            Some("Bad TrackingNumber")
        );
        assert_eq!(
            message_from_body(br#"{"Message":"Invalid","MessageDetail":"ID is not a GUID"}"#)
                .as_deref(),
            Some("Invalid (ID is not a GUID)")
        );
        assert_eq!(
            message_from_body(br#""Order not found""#).as_deref(),
            Some("Order not found")
        );
        assert_eq!(
            message_from_body(b"Service Unavailable\r\n").as_deref(),
            Some("Service Unavailable")
        );
        assert_eq!(
            message_from_body(
                b"<html><head><title>502 Bad Gateway</title></head><body>x</body></html>"
            )
            .as_deref(),
            Some("502 Bad Gateway")
        );
        assert_eq!(
            message_from_body(b"<html><body><h1>Down</h1> for maintenance</body></html>")
                .as_deref(),
            Some("Down for maintenance")
        );
        assert_eq!(message_from_body(b"   "), None);
        assert_eq!(
            message_from_body(br#"{"unexpected": 1}"#).as_deref(),
            Some(r#"{"unexpected": 1}"#)
        );
        let long = "x".repeat(2000);
        assert_eq!(
            message_from_body(long.as_bytes()).map(|m| m.chars().count()),
            Some(501)
        );
    }

    #[test]
    fn only_json_bodies_count_as_json() {
        assert!(looks_like_json(
            Some("application/json; charset=utf-8"),
            b"{\"a\": \"x\"}"
        ));
        assert!(looks_like_json(None, b"[1, 2"));
        assert!(
            looks_like_json(Some("application/json"), b""),
            "cut short, not foreign"
        );
        assert!(!looks_like_json(Some("application/json"), b"<html>"));
        assert!(!looks_like_json(Some("text/html"), b"<html>"));
        assert!(!looks_like_json(Some("text/html"), b""));
        assert!(!looks_like_json(Some("text/plain"), b"true story"));
        assert!(looks_like_json(Some("text/plain"), b"[\"a\"]"));
    }
}
