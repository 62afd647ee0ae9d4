//! The pieces of [`Error`]'s messages: server-message suffixes, durations, sizes, redirect
//! texts and retry hints.

use std::time::Duration;

use super::{Error, Retried};

pub(super) fn suffix(message: &Option<String>) -> String {
    match message {
        Some(m) if !m.is_empty() => format!(": {m}"),
        _ => String::new(),
    }
}

pub(super) fn check_suffix(check: &Option<Box<Error>>) -> String {
    match check {
        Some(e) => format!(" (the check failed: {e})"),
        None => String::new(),
    }
}

pub(super) fn save_note(id: &uuid::Uuid, source: &Error) -> String {
    if source.may_have_been_applied() {
        format!("the new record was posted as {id} and may have been stored")
    } else {
        format!("the new record was posted as {id}; OnTime refused it")
    }
}

pub(super) fn join_ids(ids: &[uuid::Uuid]) -> String {
    ids.iter()
        .map(|id| id.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn retried_suffix(retried: &Option<Retried>) -> String {
    retried.map(|r| format!(" ({r})")).unwrap_or_default()
}

pub(super) fn seconds(duration: &Duration) -> String {
    let secs = duration.as_secs_f64();
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{secs:.1}s")
    }
}

pub(super) fn bytes_text(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

pub(super) fn announced(content_length: &Option<u64>) -> String {
    content_length
        .map(|n| format!(" (it announced {n} bytes; none were read)"))
        .unwrap_or_default()
}

pub(super) fn redirect_text(status: Option<u16>, location: Option<&str>) -> String {
    let to = location.map(|l| format!(" to {l}")).unwrap_or_default();
    match status {
        Some(status) => format!(
            "the server answered with a redirect ({status}){to}; the OnTime API never redirects, \
             so it was not followed"
        ),
        None => format!(
            "the HTTP client followed a redirect{to}; the OnTime API never redirects, so the \
             answer was refused (a redirected write turns into a read and does not happen)"
        ),
    }
}

pub(super) fn retry_hint(retry_after: &Option<Duration>) -> String {
    retry_after
        .map(|d| format!(", retry after {}s", d.as_secs()))
        .unwrap_or_default()
}
