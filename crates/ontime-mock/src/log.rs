//! The request log tests read to assert what a client sent and how often.

use std::collections::VecDeque;

use chrono::NaiveDateTime;
use ontime_raw::index::Operation;

/// One request the simulator received. Its `Debug` output redacts the key.
#[derive(Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// Position in arrival order, from 0 (keeps counting when the log is cleared).
    pub seq: u64,
    /// HTTP method.
    pub method: String,
    /// The path as sent (still percent-encoded).
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    /// The body as text (lossy UTF-8), if there was one.
    pub body: Option<String>,
    /// The status answered (for a `late` fault: the status the late answer carries); 0 when no
    /// answer was sent: a `drop` fault closed the connection, or the client went away before
    /// the answer was ready (while its body was read, or during a `latency` delay, which
    /// cancels the request: nothing was written).
    pub status: u16,
    /// The operation the request named; `None` for paths the spec does not have.
    pub operation: Option<Operation>,
    /// The `Authorization` key sent (without a `Bearer` prefix), if any.
    pub key: Option<String>,
    /// The injected fault, if one applied.
    pub fault: Option<&'static str>,
    /// When it arrived, by the mock clock.
    pub at: NaiveDateTime,
}

impl std::fmt::Debug for LoggedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoggedRequest")
            .field("seq", &self.seq)
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("body", &self.body)
            .field("status", &self.status)
            .field("operation", &self.operation)
            .field("key", &self.key.as_ref().map(|_| "[redacted]"))
            .field("fault", &self.fault)
            .field("at", &self.at)
            .finish()
    }
}

impl LoggedRequest {
    /// The spec's `operationId` of the request, or `"unknown"` for paths the spec does not
    /// have.
    pub fn operation_id(&self) -> &'static str {
        self.operation.map_or("unknown", Operation::id)
    }

    /// Whether the request was a write (POST or DELETE).
    pub fn is_write(&self) -> bool {
        self.method == "POST" || self.method == "DELETE"
    }

    /// The body parsed as JSON.
    pub fn body_json(&self) -> Option<serde_json::Value> {
        self.body
            .as_deref()
            .and_then(|b| serde_json::from_str(b).ok())
    }

    /// The value of a query parameter (case-insensitive name, decoded).
    pub fn query_param(&self, name: &str) -> Option<String> {
        let q = crate::http_util::Query::parse(self.query.as_deref());
        q.str(name).map(str::to_owned)
    }
}

/// A bounded log: the most recent `capacity` requests.
#[derive(Debug)]
pub(crate) struct RequestLog {
    entries: VecDeque<LoggedRequest>,
    capacity: usize,
    next_seq: u64,
    /// How many requests were logged so far, for those who wait for one.
    seen: tokio::sync::watch::Sender<u64>,
}

impl RequestLog {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            capacity,
            next_seq: 0,
            seen: tokio::sync::watch::Sender::new(0),
        }
    }

    /// A watch of how many requests were logged so far.
    pub(crate) fn seen(&self) -> tokio::sync::watch::Receiver<u64> {
        self.seen.subscribe()
    }

    pub(crate) fn push(&mut self, mut entry: LoggedRequest) {
        entry.seq = self.next_seq;
        self.next_seq += 1;
        self.seen.send_replace(self.next_seq);
        if self.capacity == 0 {
            return;
        }
        if self.entries.len() >= self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    pub(crate) fn snapshot(&self) -> Vec<LoggedRequest> {
        self.entries.iter().cloned().collect()
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }
}
