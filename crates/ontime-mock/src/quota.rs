//! OnTime's request quotas per key (KB a293): a daily window that resets at 00:00 UTC and a
//! monthly window that resets at 00:00 UTC on the 1st, both by the mock clock.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime};

/// The default daily quota (86,400 requests).
pub const DEFAULT_DAILY_QUOTA: u64 = 86_400;
/// The default monthly quota (100,000 requests).
pub const DEFAULT_MONTHLY_QUOTA: u64 = 100_000;

/// A key's quota usage, as the `X-RateLimit-*` headers report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaUsage {
    /// `X-RateLimit-Limit-Daily`.
    pub daily_limit: u64,
    /// Requests counted today.
    pub daily_used: u64,
    /// `X-RateLimit-Remaining-Daily`.
    pub daily_remaining: u64,
    /// `X-RateLimit-Reset-Daily`: the next 00:00 UTC, in epoch seconds.
    pub daily_reset: i64,
    /// `X-RateLimit-Limit-Monthly`.
    pub monthly_limit: u64,
    /// Requests counted this month.
    pub monthly_used: u64,
    /// `X-RateLimit-Remaining-Monthly`.
    pub monthly_remaining: u64,
    /// `X-RateLimit-Reset-Monthly`: 00:00 UTC on the next 1st, in epoch seconds.
    pub monthly_reset: i64,
}

impl QuotaUsage {
    /// Whether a window is used up.
    pub fn exhausted(&self) -> bool {
        self.daily_remaining == 0 || self.monthly_remaining == 0
    }

    /// Seconds until the exhausted window resets, from `now_utc`.
    pub fn retry_after(&self, now_utc: NaiveDateTime) -> u64 {
        let now = now_utc.and_utc().timestamp();
        let reset = if self.monthly_remaining == 0 {
            self.monthly_reset
        } else {
            self.daily_reset
        };
        u64::try_from(reset - now).unwrap_or(0).max(1)
    }

    /// The header pairs.
    pub fn headers(&self) -> [(&'static str, String); 6] {
        use ontime_raw::index::headers as H;
        [
            (H::X_RATE_LIMIT_LIMIT_DAILY, self.daily_limit.to_string()),
            (
                H::X_RATE_LIMIT_REMAINING_DAILY,
                self.daily_remaining.to_string(),
            ),
            (H::X_RATE_LIMIT_RESET_DAILY, self.daily_reset.to_string()),
            (
                H::X_RATE_LIMIT_LIMIT_MONTHLY,
                self.monthly_limit.to_string(),
            ),
            (
                H::X_RATE_LIMIT_REMAINING_MONTHLY,
                self.monthly_remaining.to_string(),
            ),
            (
                H::X_RATE_LIMIT_RESET_MONTHLY,
                self.monthly_reset.to_string(),
            ),
        ]
    }
}

#[derive(Clone, Copy, Debug)]
struct Counter {
    day: NaiveDate,
    daily: u64,
    month: (i32, u32),
    monthly: u64,
}

/// Counters of all keys.
#[derive(Debug, Default)]
pub(crate) struct Quotas {
    counters: HashMap<String, Counter>,
}

fn epoch(d: NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp())
        .unwrap_or_default()
}

fn next_month(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(d)
}

impl Quotas {
    fn counter(&mut self, key: &str, now_utc: NaiveDateTime) -> &mut Counter {
        let today = now_utc.date();
        let month = (today.year(), today.month());
        if !self.counters.contains_key(key) {
            self.counters.insert(
                key.to_owned(),
                Counter {
                    day: today,
                    daily: 0,
                    month,
                    monthly: 0,
                },
            );
        }
        let Some(c) = self.counters.get_mut(key) else {
            unreachable!("inserted above")
        };
        if c.day != today {
            c.day = today;
            c.daily = 0;
        }
        if c.month != month {
            c.month = month;
            c.monthly = 0;
        }
        c
    }

    fn usage(c: &Counter, daily: u64, monthly: u64) -> QuotaUsage {
        QuotaUsage {
            daily_limit: daily,
            daily_used: c.daily,
            daily_remaining: daily.saturating_sub(c.daily),
            daily_reset: epoch(c.day) + 86_400,
            monthly_limit: monthly,
            monthly_used: c.monthly,
            monthly_remaining: monthly.saturating_sub(c.monthly),
            monthly_reset: epoch(next_month(c.day)),
        }
    }

    /// Counts one request of `key`: `Ok(usage after it)`, or `Err(usage)` without counting when a
    /// window is used up.
    pub(crate) fn take(
        &mut self,
        key: &str,
        daily: u64,
        monthly: u64,
        now_utc: NaiveDateTime,
    ) -> Result<QuotaUsage, QuotaUsage> {
        let c = self.counter(key, now_utc);
        if c.daily >= daily || c.monthly >= monthly {
            return Err(Self::usage(c, daily, monthly));
        }
        c.daily += 1;
        c.monthly += 1;
        Ok(Self::usage(c, daily, monthly))
    }

    /// The usage of `key` without counting.
    pub(crate) fn peek(
        &mut self,
        key: &str,
        daily: u64,
        monthly: u64,
        now_utc: NaiveDateTime,
    ) -> QuotaUsage {
        let c = self.counter(key, now_utc);
        Self::usage(c, daily, monthly)
    }

    pub(crate) fn reset(&mut self, key: &str) {
        self.counters.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(d: u32, h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2024, 1, d)
            .and_then(|d| d.and_hms_opt(h, 0, 0))
            .expect("valid")
    }

    #[test]
    fn windows_count_and_reset() {
        let mut q = Quotas::default();
        assert_eq!(
            q.take("k", 2, 3, at(31, 10)).map(|u| u.daily_remaining),
            Ok(1)
        );
        assert!(q.take("k", 2, 3, at(31, 11)).is_ok());
        let err = q.take("k", 2, 3, at(31, 12)).expect_err("daily exhausted");
        assert_eq!(err.daily_reset, at(31, 0).and_utc().timestamp() + 86_400);
        assert_eq!(err.retry_after(at(31, 12)), 12 * 3600);
        // Next day (and next month): both windows reset.
        let ok = q
            .take("k", 2, 3, at(1, 1).with_month(2).expect("feb"))
            .expect("new day");
        assert_eq!((ok.daily_used, ok.monthly_used), (1, 1));
        assert!(q.take("other", 2, 3, at(31, 12)).is_ok());
    }
}
