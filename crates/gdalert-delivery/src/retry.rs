//! Retry with exponential backoff and full jitter, inside one deadline.
//!
//! The deadline is the destination's `timeout`: every attempt and every wait
//! fits inside it, so one slow destination cannot hold the others (they run
//! concurrently) or push the Lambda past its own timeout.

use std::time::Duration;

pub use gdalert_pipeline::Failure;

/// Attempts and waits for one destination.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// First backoff ceiling; doubles per attempt.
    pub base_delay: Duration,
    /// Backoff ceiling.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `next` (1-based count of attempts made so
    /// far): the server's `Retry-After` if it gave one, else a random wait
    /// up to the exponential ceiling (full jitter, so many Lambdas retrying
    /// one webhook spread out instead of arriving together).
    pub fn wait(&self, attempts_made: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after;
        }
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempts_made.saturating_sub(1).min(16));
        let ceiling = exp.min(self.max_delay);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(fastrand::u64(0..=millis))
    }
}

/// Parses `Retry-After` (seconds, or an HTTP date).
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    (at.with_timezone(&chrono::Utc) - now).to_std().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_under_an_exponential_ceiling() {
        let p = RetryPolicy::default();
        for attempts in 1..10 {
            let ceiling = (p.base_delay * (1 << (attempts - 1))).min(p.max_delay);
            for _ in 0..50 {
                assert!(p.wait(attempts, None) <= ceiling);
            }
        }
        assert_eq!(
            p.wait(1, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .map(|d| d.with_timezone(&chrono::Utc))
            .unwrap_or_default();
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Tue, 01 Dec 2026 10:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
