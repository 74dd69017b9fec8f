//! When to try again. The waits are data (`delivery.retry_schedule`), moved at random by up to
//! `delivery.jitter_percent` so that deliveries that failed together do not come back together.
//! A receiver's `Retry-After` is followed, within `[1 s, delivery.retry_after_max_seconds]`.

use crate::config::{DeliverySettings, Settings};
use anyhow::bail;
use jiff::Timestamp;
use std::time::Duration;

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Delivered {
        status: Option<i64>,
    },
    /// Worth another try: 408, 425, 429, 5xx, SMTP 4xx, a connection fault or a timeout.
    Retry {
        status: Option<i64>,
        error: String,
        retry_after: Option<Duration>,
    },
    /// Will not get better by trying again: other 4xx, SMTP 5xx, a destination no longer
    /// configured.
    Permanent {
        status: Option<i64>,
        error: String,
    },
}

impl Verdict {
    pub fn status(&self) -> Option<i64> {
        match self {
            Verdict::Delivered { status } | Verdict::Retry { status, .. } | Verdict::Permanent { status, .. } => {
                *status
            }
        }
    }

    pub fn error(&self) -> Option<&str> {
        match self {
            Verdict::Delivered { .. } => None,
            Verdict::Retry { error, .. } | Verdict::Permanent { error, .. } => Some(error),
        }
    }
}

/// How an HTTP answer counts.
pub fn http_verdict(status: u16, retry_after: Option<Duration>, excerpt: String) -> Verdict {
    let code = Some(i64::from(status));
    match status {
        200..=299 => Verdict::Delivered { status: code },
        408 | 425 | 429 | 500..=599 => Verdict::Retry {
            status: code,
            error: excerpt,
            retry_after,
        },
        _ => Verdict::Permanent {
            status: code,
            error: excerpt,
        },
    }
}

/// `Retry-After` as seconds or as an HTTP date, measured from `now`.
pub fn parse_retry_after(value: &str, now: Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    Some(Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO))
}

/// `delivery.retry_schedule` as durations.
pub fn schedule(settings: &DeliverySettings) -> anyhow::Result<Vec<Duration>> {
    let schedule = settings
        .retry_schedule
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let duration: jiff::SignedDuration = text.trim().parse().map_err(|_| {
                anyhow::anyhow!("delivery.retry_schedule[{i}]: {text:?} is not a duration such as 30s, 2m or 1h")
            })?;
            std::time::Duration::try_from(duration)
                .ok()
                .filter(|d| d.as_secs() >= 1 && d.as_secs() <= 7 * 86_400)
                .ok_or_else(|| anyhow::anyhow!("delivery.retry_schedule[{i}]: {text:?} must lie between 1s and 168h"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if schedule.is_empty() {
        bail!("delivery.retry_schedule: name at least one wait");
    }
    Ok(schedule)
}

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    schedule: Vec<Duration>,
    jitter: f64,
    retry_after_max: Duration,
}

impl RetryPolicy {
    pub fn new(settings: &Settings) -> anyhow::Result<RetryPolicy> {
        Ok(RetryPolicy {
            schedule: schedule(&settings.delivery)?,
            jitter: f64::from(settings.delivery.jitter_percent) / 100.0,
            retry_after_max: Duration::from_secs(settings.delivery.retry_after_max_seconds),
        })
    }

    /// The wait after failure number `failures` (1 for the first), or `None` when the schedule
    /// has run out.
    pub fn wait(&self, failures: usize, retry_after: Option<Duration>) -> Option<Duration> {
        let planned = *self.schedule.get(failures.checked_sub(1)?)?;
        if let Some(asked) = retry_after {
            return Some(asked.clamp(Duration::from_secs(1), self.retry_after_max.max(Duration::from_secs(1))));
        }
        if self.jitter == 0.0 {
            return Some(planned);
        }
        // A uniform fraction in [0, 1) from 53 random bits; without a random source, no jitter.
        let unit = getrandom::u64().map_or(0.5, |bits| (bits >> 11) as f64 / (1u64 << 53) as f64);
        let factor = 1.0 + self.jitter * (2.0 * unit - 1.0);
        Some(planned.mul_f64(factor))
    }

    /// How many attempts a delivery gets before it is a dead letter.
    pub fn attempts(&self) -> usize {
        self.schedule.len() + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(jitter: f64) -> RetryPolicy {
        RetryPolicy {
            schedule: vec![Duration::from_secs(5), Duration::from_secs(30)],
            jitter,
            retry_after_max: Duration::from_secs(60),
        }
    }

    #[test]
    fn the_schedule_runs_out() {
        let p = policy(0.0);
        assert_eq!(p.wait(1, None), Some(Duration::from_secs(5)));
        assert_eq!(p.wait(2, None), Some(Duration::from_secs(30)));
        assert_eq!(p.wait(3, None), None);
        assert_eq!(p.attempts(), 3);
    }

    #[test]
    fn jitter_stays_within_its_share() {
        let p = policy(0.2);
        for _ in 0..1000 {
            let wait = p.wait(2, None).unwrap().as_secs_f64();
            assert!((24.0..=36.0).contains(&wait), "{wait}");
        }
    }

    #[test]
    fn retry_after_is_followed_within_bounds() {
        let p = policy(0.2);
        assert_eq!(p.wait(1, Some(Duration::from_secs(20))), Some(Duration::from_secs(20)));
        assert_eq!(
            p.wait(1, Some(Duration::from_secs(3600))),
            Some(Duration::from_secs(60))
        );
        assert_eq!(p.wait(1, Some(Duration::ZERO)), Some(Duration::from_secs(1)));
        assert_eq!(p.wait(3, Some(Duration::from_secs(20))), None);
    }

    #[test]
    fn http_answers_are_classified() {
        let kind = |status| match http_verdict(status, None, String::new()) {
            Verdict::Delivered { .. } => "ok",
            Verdict::Retry { .. } => "retry",
            Verdict::Permanent { .. } => "dead",
        };
        for (status, expected) in [
            (200, "ok"),
            (204, "ok"),
            (301, "dead"),
            (400, "dead"),
            (401, "dead"),
            (404, "dead"),
            (408, "retry"),
            (409, "dead"),
            (425, "retry"),
            (429, "retry"),
            (500, "retry"),
            (503, "retry"),
        ] {
            assert_eq!(kind(status), expected, "{status}");
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now: Timestamp = "2026-11-23T12:00:00Z".parse().unwrap();
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(
            parse_retry_after("Mon, 23 Nov 2026 12:01:30 GMT", now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
