//! The one retry policy for every Graph request gwb sends.
//!
//! Policy:
//! - Retried: HTTP 429, 503 and 504, and transport failures (connection refused or reset, a body
//!   cut off mid-read, timeouts). Nothing else: a 400, 401, 403 or 404 will not change by asking
//!   again, and a 500 from Graph is usually a real bug in the request.
//! - Wait: the response's `Retry-After`, as seconds (fractional allowed: Graph sends `2.128`) or as
//!   an HTTP date, but never less than a quarter second ([`MIN_CHARGE`]: `Retry-After: 0` is not
//!   an invitation to ask again at once). Without one, capped exponential backoff with jitter:
//!   attempt `n` (from 0) waits a random time between half and all of `min(cap, base * 2^n)`.
//! - Budget: `budget` (`--retry-budget`, 15 minutes by default) bounds each request's retrying:
//!   the waits (each charged at least a quarter second) plus the time the attempts took. A 429
//!   or 503 that carries `Retry-After` is retried for as long as the budget lasts, whatever the
//!   number of attempts (Graph's guidance: keep honouring it through a throttling storm); other
//!   failures get at most `max_attempts` tries. A single wait longer than what is left of the
//!   budget gives up at once rather than sleeping and then failing.
//! - Fast failure: before any request of the run got an HTTP answer, a connection that cannot be
//!   made (refused, no such host, TLS) is tried 3 times, a second or two apart, then reported
//!   with the host: that is a wrong URL, proxy or firewall. Mid-run, it is retried as above.
//! - Stalls: an attempt that times out (no bytes for the read timeout, or past the request
//!   timeout) is retried, but three in a row end the request.
//! - Every retry logs one line at `warn` level: method, path, why, and how long it waits.
//! - Tests remove the sleeping with [`Sleeper::recording`], which records each wait instead.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// How often and how long to retry. Shared by the client and (later) the batch executor.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_backoff: Duration,
    pub budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            base_delay: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
            budget: Duration::from_secs(15 * 60),
        }
    }
}

/// The least a wait after `Retry-After` lasts (and is charged against the budget), so a storm of
/// `Retry-After: 0` neither hammers Graph nor goes round for ever.
pub(crate) const MIN_CHARGE: Duration = Duration::from_millis(250);

impl RetryPolicy {
    /// Whether another attempt is allowed after `attempt` attempts that ended in `status`:
    /// throttling that names its wait (429 or 503 with `Retry-After`) is waited out whatever the
    /// number of attempts (the budget bounds it); anything else gets at most `max_attempts`.
    pub(crate) fn allows_another(
        &self,
        attempt: u32,
        status: Option<u16>,
        has_retry_after: bool,
    ) -> bool {
        attempt < self.max_attempts || (has_retry_after && matches!(status, Some(429 | 503)))
    }

    /// What a wait costs the budget: the wait, but at least [`MIN_CHARGE`].
    pub(crate) fn charge(wait: Duration) -> Duration {
        wait.max(MIN_CHARGE)
    }

    /// Backoff for attempt `n` (0-based) when the server gave no `Retry-After`.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.min(20)));
        let ceiling = exp.min(self.max_backoff);
        // "Equal jitter": never less than half the step, so a burst of clients spreads out
        // without any of them retrying immediately.
        let half = ceiling / 2;
        half + ceiling.saturating_sub(half).mul_f64(fastrand::f64())
    }
}

/// Whether a status is worth retrying under this policy.
pub(crate) fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 503 | 504)
}

/// Parse a `Retry-After` value: delta-seconds (fractional allowed) or an HTTP date.
/// A date in the past means "now". Returns `None` for anything unparseable, so the caller
/// falls back to backoff rather than trusting garbage.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        if secs.is_finite() && (0.0..1e9).contains(&secs) {
            return Some(Duration::from_secs_f64(secs));
        }
        return None;
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Waits between attempts. The real one sleeps; the recording one (tests) returns at once and
/// remembers what it was asked to wait.
#[derive(Clone, Debug, Default)]
pub struct Sleeper {
    record: Option<Arc<Mutex<Vec<Duration>>>>,
}

impl Sleeper {
    pub(crate) fn real() -> Self {
        Self { record: None }
    }

    /// A sleeper that does not sleep; the returned list fills with the requested waits.
    pub fn recording() -> (Self, Arc<Mutex<Vec<Duration>>>) {
        let record = Arc::new(Mutex::new(Vec::new()));
        (
            Self {
                record: Some(record.clone()),
            },
            record,
        )
    }

    pub(crate) async fn sleep(&self, d: Duration) {
        match &self.record {
            Some(r) => r.lock().expect("sleeper record poisoned").push(d),
            None => tokio::time::sleep(d).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractional_seconds() {
        let d = parse_retry_after("2.128", SystemTime::now()).unwrap();
        assert_eq!(d, Duration::from_millis(2128));
        assert_eq!(
            parse_retry_after(" 7 ", SystemTime::now()),
            Some(Duration::from_secs(7))
        );
    }

    #[test]
    fn http_date_relative_to_now() {
        let now = httpdate::parse_http_date("Sun, 22 Nov 2026 10:00:00 GMT").unwrap();
        let d = parse_retry_after("Sun, 22 Nov 2026 10:01:30 GMT", now).unwrap();
        assert_eq!(d, Duration::from_secs(90));
        // A date already past means retry now, not a negative or huge wait.
        let d = parse_retry_after("Sun, 22 Nov 2026 09:00:00 GMT", now).unwrap();
        assert_eq!(d, Duration::ZERO);
    }

    #[test]
    fn garbage_is_rejected() {
        for v in ["", "soon", "-1", "NaN", "inf", "1e12"] {
            assert_eq!(parse_retry_after(v, SystemTime::now()), None, "{v:?}");
        }
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let p = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            ..RetryPolicy::default()
        };
        for _ in 0..100 {
            let d0 = p.backoff(0);
            assert!(d0 >= Duration::from_millis(50) && d0 <= Duration::from_millis(100));
            let d3 = p.backoff(3);
            assert!(d3 >= Duration::from_millis(400) && d3 <= Duration::from_millis(800));
            let d30 = p.backoff(30);
            assert!(d30 >= Duration::from_millis(500) && d30 <= Duration::from_secs(1));
        }
    }

    #[test]
    fn retryable_statuses() {
        for s in [429, 503, 504] {
            assert!(is_retryable_status(s));
        }
        for s in [200, 400, 401, 403, 404, 500, 502] {
            assert!(!is_retryable_status(s));
        }
    }
}

#[cfg(test)]
mod properties {
    use std::time::{Duration, SystemTime};

    use proptest::prelude::*;

    use super::parse_retry_after;

    proptest! {
    /// Retry-After: never a panic; seconds (fractions too) read as written; garbage is None.
    #[test]
    fn retry_after_parses_seconds_and_rejects_garbage(secs in 0.0f64..100_000.0, junk in ".{0,40}") {
        let now = SystemTime::now();
        let d = parse_retry_after(&format!("{secs}"), now).unwrap();
        prop_assert!((d.as_secs_f64() - secs).abs() < 1e-6);
        let _ = parse_retry_after(&junk, now);
        prop_assert_eq!(parse_retry_after(&format!("-{}", secs + 1.0), now), None);
        let later = now + Duration::from_secs(secs as u64 + 2);
        let date = httpdate::fmt_http_date(later);
        let d = parse_retry_after(&date, now).unwrap();
        prop_assert!(d <= Duration::from_secs(secs as u64 + 2) && d + Duration::from_secs(1) >= Duration::from_secs(secs as u64 + 1));
    }
    }
}
