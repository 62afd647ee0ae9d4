//! OnTime's request quotas, as the server reports them, and the client's own call counter.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;

/// The account's request budget as of the last response that carried `X-RateLimit-*` headers
/// (KB a293), plus how many HTTP calls this client has made. Fields are `None` until the server
/// reports them (it does so "when applicable"; smaller plans have no monthly cap).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Quota {
    /// Requests allowed per day.
    pub daily_limit: Option<u64>,
    /// Requests left today.
    pub daily_remaining: Option<u64>,
    /// When the daily count resets.
    pub daily_reset: Option<DateTime<Utc>>,
    /// Requests allowed per calendar month.
    pub monthly_limit: Option<u64>,
    /// Requests left this month.
    pub monthly_remaining: Option<u64>,
    /// When the monthly count resets.
    pub monthly_reset: Option<DateTime<Utc>>,
    /// HTTP requests this client has sent (all attempts, all responses).
    pub calls: u64,
}

impl Quota {
    /// The smaller of the daily and monthly remaining counts, when known.
    pub fn remaining(&self) -> Option<u64> {
        match (self.daily_remaining, self.monthly_remaining) {
            (Some(d), Some(m)) => Some(d.min(m)),
            (d, m) => d.or(m),
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct QuotaTracker {
    state: Mutex<Quota>,
    calls: AtomicU64,
}

impl QuotaTracker {
    pub(crate) fn record_call(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn update(&self, headers: &HeaderMap) {
        // The names as the spec spells them; header lookup ignores case.
        use ontime_raw::index::headers as H;
        let int = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let time = |name: &str| {
            int(name).and_then(|s| DateTime::from_timestamp(i64::try_from(s).ok()?, 0))
        };
        let update = [
            int(H::X_RATE_LIMIT_LIMIT_DAILY),
            int(H::X_RATE_LIMIT_REMAINING_DAILY),
            int(H::X_RATE_LIMIT_LIMIT_MONTHLY),
            int(H::X_RATE_LIMIT_REMAINING_MONTHLY),
        ];
        if update.iter().all(Option::is_none) {
            return;
        }
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let keep = |new: Option<u64>, old: Option<u64>| new.or(old);
        state.daily_limit = keep(update[0], state.daily_limit);
        state.daily_remaining = keep(update[1], state.daily_remaining);
        state.monthly_limit = keep(update[2], state.monthly_limit);
        state.monthly_remaining = keep(update[3], state.monthly_remaining);
        state.daily_reset = time(H::X_RATE_LIMIT_RESET_DAILY).or(state.daily_reset);
        state.monthly_reset = time(H::X_RATE_LIMIT_RESET_MONTHLY).or(state.monthly_reset);
    }

    pub(crate) fn snapshot(&self) -> Quota {
        let mut quota = self.state.lock().map(|s| *s).unwrap_or_default();
        quota.calls = self.calls.load(Ordering::Relaxed);
        quota
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_update_the_quota_and_missing_ones_keep_old_values() {
        let tracker = QuotaTracker::default();
        let mut headers = HeaderMap::new();
        headers.insert("X-RateLimit-Limit-Daily", "86400".parse().unwrap());
        headers.insert("X-RateLimit-Remaining-Daily", "86000".parse().unwrap());
        headers.insert("X-RateLimit-Reset-Daily", "1764115200".parse().unwrap());
        headers.insert("X-RateLimit-Remaining-Monthly", "99000".parse().unwrap());
        tracker.update(&headers);
        tracker.record_call();
        let mut later = HeaderMap::new();
        later.insert("X-RateLimit-Remaining-Daily", "85999".parse().unwrap());
        tracker.update(&later);
        tracker.update(&HeaderMap::new());
        let q = tracker.snapshot();
        assert_eq!(q.daily_limit, Some(86400));
        assert_eq!(q.daily_remaining, Some(85999));
        assert_eq!(q.daily_reset.map(|t| t.timestamp()), Some(1_764_115_200));
        assert_eq!(q.monthly_remaining, Some(99000));
        assert_eq!(q.remaining(), Some(85999));
        assert_eq!(q.calls, 1);
    }
}
