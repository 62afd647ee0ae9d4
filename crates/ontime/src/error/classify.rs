//! Turning what a server answered (statuses, bodies) into [`Error`]s.

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
}
