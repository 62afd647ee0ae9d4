//! What may reach the terminal: text from records and servers is shown, never obeyed.

use std::borrow::Cow;

/// Text for a terminal: control characters (C0, DEL and C1: colour codes, window-title and
/// other escape sequences, bells, carriage returns) are written as visible escapes such as
/// `\u{1b}` or `\t`, so a record's text cannot recolour, retitle or rewrite the terminal.
/// Line breaks stay when `keep_newlines` is set (messages); table cells escape them too.
/// CSV, JSON and NDJSON output keep the record's bytes: they are data for programs.
pub fn escape_controls(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    let escape = |c: char| c.is_control() && !(keep_newlines && c == '\n');
    if !text.chars().any(escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if escape(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}
