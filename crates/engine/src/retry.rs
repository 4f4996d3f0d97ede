//! The one place that decides whether and when to try again: exponential backoff with full
//! jitter (AWS's "full jitter": a uniform wait in `[0, min(cap, base·2^n)]`), never shorter
//! than a server's Retry-After. Every network retry in the engine goes through [`retry`].
//!
//! **Retry-After** is read in both forms RFC 9110 gives (delta-seconds, HTTP-date; a date in the
//! past is no wait), bounded whatever the server sends (`service::retry_after`: a number too
//! large for a `Duration` saturates, a malformed one is ignored). A wait longer than
//! [`RetryPolicy::max_retry_after`] is not honoured by waiting: the item fails as
//! `server.rate_limited` (or `server.error` for a 5xx), and its message says the wait the server
//! asked for, so someone can decide. A shorter one is a floor under the backoff.
//!
//! **Renewals** (a refused upload URL fetched anew, bytes sent again after a checksum mismatch)
//! back off too ([`RetryPolicy::delay_renewal`]): with `max_attempts = u32::MAX`, as a watched
//! folder runs, a store that keeps refusing would otherwise be a tight loop.

use std::future::Future;
use std::time::Duration;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    pub base: Duration,
    pub cap: Duration,
    /// Longest Retry-After we are willing to honour; a longer one fails the job instead.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base: Duration::from_millis(250),
            cap: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(600),
        }
    }
}

impl RetryPolicy {
    /// How long to wait after failure number `failures` (1 = the first), or `None` to give up.
    /// `unit` is a uniform sample in `[0, 1)`, passed in so tests are deterministic.
    pub fn delay(&self, error: &Error, failures: u32, unit: f64) -> Option<Duration> {
        if !error.retryable() || failures >= self.max_attempts {
            return None;
        }
        let jittered = jitter(self.ceiling(failures), unit);
        match error.retry_after() {
            Some(asked) if asked > self.max_retry_after => None,
            Some(asked) => Some(asked.max(jittered)),
            None => Some(jittered),
        }
    }
}

impl RetryPolicy {
    /// [`delay`](Self::delay) for a request that may have taken effect ([`Error::in_doubt`]):
    /// an unreadable answer gets the same budget as a 5xx.
    pub fn delay_in_doubt(&self, error: &Error, failures: u32, unit: f64) -> Option<Duration> {
        match error {
            Error::BadResponse(message) => {
                let as_5xx = Error::Server { status: 502, message: message.clone(), retry_after: None };
                self.delay(&as_5xx, failures, unit)
            }
            other => self.delay(other, failures, unit),
        }
    }
}

impl RetryPolicy {
    /// The wait before a new upload target is fetched and the bytes sent again, after failure
    /// number `failures` of this item (a 403 from storage, a session lost, a checksum mismatch),
    /// or `None` once `max_attempts` are spent. Full jitter over the same growing ceiling as
    /// [`delay`](Self::delay), but never under `base`: each renewal costs an API call and a
    /// whole upload, so none follows another at once.
    pub fn delay_renewal(&self, failures: u32, unit: f64) -> Option<Duration> {
        if failures >= self.max_attempts {
            return None;
        }
        Some(self.backoff(failures, unit))
    }

    /// The wait before trying again after failure number `failures` of something that is tried
    /// until it works (a mirror's delete, a stopped queue): full jitter over the growing
    /// ceiling, never under `base`.
    pub fn backoff(&self, failures: u32, unit: f64) -> Duration {
        jitter(self.ceiling(failures), unit).max(self.base.min(self.cap))
    }

    /// The most the backoff waits after failure number `failures`: `base·2^failures`, capped.
    pub fn ceiling(&self, failures: u32) -> Duration {
        self.base.saturating_mul(1u32 << failures.min(20)).min(self.cap)
    }
}

/// `ceiling` scaled by the sample `unit`, read as 0 when it is not a number in `[0, 1]`
/// (`mul_f64` panics on NaN).
fn jitter(ceiling: Duration, unit: f64) -> Duration {
    ceiling.mul_f64(if unit.is_finite() { unit.clamp(0.0, 1.0) } else { 0.0 })
}

/// Run `op` until it succeeds, fails for good, or the policy gives up. `on_retry` hears about
/// every wait (for logs and the UI).
pub async fn retry<T, F, Fut>(policy: &RetryPolicy, mut op: F, mut on_retry: impl FnMut(&Error, Duration)) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut failures = 0;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) => {
                failures += 1;
                let Some(wait) = policy.delay(&e, failures, fastrand::f64()) else { return Err(e) };
                on_retry(&e, wait);
                tokio::time::sleep(wait).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> Error {
        Error::Server { status: 503, message: "busy".into(), retry_after: None }
    }

    #[test]
    fn an_unreadable_answer_to_a_request_in_doubt_is_retried_like_a_5xx() {
        let p = RetryPolicy::default();
        let garbled = Error::BadResponse("not JSON".into());
        assert!(garbled.in_doubt() && !garbled.retryable());
        assert_eq!(p.delay(&garbled, 1, 1.0), None, "elsewhere it is final");
        assert_eq!(p.delay_in_doubt(&garbled, 1, 1.0), p.delay(&server(), 1, 1.0));
        assert_eq!(p.delay_in_doubt(&garbled, p.max_attempts, 1.0), None, "within the same budget");
        let refused = Error::Unauthorized("no".into());
        assert_eq!(p.delay_in_doubt(&refused, 1, 1.0), None);
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let p = RetryPolicy { max_attempts: 30, ..RetryPolicy::default() };
        assert_eq!(p.delay(&server(), 1, 1.0), Some(Duration::from_millis(500)));
        assert_eq!(p.delay(&server(), 3, 1.0), Some(Duration::from_secs(2)));
        assert_eq!(p.delay(&server(), 25, 1.0), Some(Duration::from_secs(30)));
        assert_eq!(p.delay(&server(), 3, 0.5), Some(Duration::from_secs(1)));
        assert_eq!(p.delay(&server(), 3, 0.0), Some(Duration::ZERO));
    }

    #[test]
    fn gives_up_on_permanent_errors_and_after_max_attempts() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(&Error::Unauthorized("no".into()), 1, 0.5), None);
        assert_eq!(p.delay(&server(), p.max_attempts, 0.5), None);
        assert!(p.delay(&server(), p.max_attempts - 1, 0.5).is_some());
    }

    #[test]
    fn retry_after_is_a_floor_within_reason() {
        let p = RetryPolicy::default();
        let asked = |s| Error::RateLimited { message: String::new(), retry_after: Some(Duration::from_secs(s)) };
        assert_eq!(p.delay(&asked(3), 1, 0.0), Some(Duration::from_secs(3)));
        assert_eq!(p.delay(&asked(0), 1, 1.0), Some(Duration::from_millis(500)));
        assert_eq!(p.delay(&asked(3600), 1, 0.5), None);
    }

    #[test]
    fn renewals_back_off_with_jitter_and_never_at_once() {
        let p = RetryPolicy { max_attempts: 30, ..RetryPolicy::default() };
        assert_eq!(p.delay_renewal(1, 1.0), Some(Duration::from_millis(500)));
        assert_eq!(p.delay_renewal(3, 1.0), Some(Duration::from_secs(2)));
        assert_eq!(p.delay_renewal(3, 0.5), Some(Duration::from_secs(1)));
        assert_eq!(p.delay_renewal(25, 1.0), Some(Duration::from_secs(30)), "capped");
        assert_eq!(p.delay_renewal(3, 0.0), Some(Duration::from_millis(250)), "never under base");
        assert_eq!(p.delay_renewal(1, f64::NAN), Some(Duration::from_millis(250)), "a bad sample is no panic");
        let ceilings: Vec<Duration> = (1..=6).map(|n| p.delay_renewal(n, 1.0).unwrap()).collect();
        assert!(ceilings.windows(2).all(|w| w[0] < w[1]), "grows until the cap: {ceilings:?}");
        assert_eq!(p.delay_renewal(30, 0.5), None);
        let watched = RetryPolicy { max_attempts: u32::MAX, ..RetryPolicy::default() };
        assert_eq!(watched.delay_renewal(u32::MAX - 1, 1.0), Some(watched.cap));
    }

    #[test]
    fn a_retry_after_too_long_to_honour_fails_and_says_so() {
        let p = RetryPolicy::default();
        let asked = Duration::from_secs(u64::MAX);
        let e = Error::RateLimited { message: "slow".into(), retry_after: Some(asked) };
        assert_eq!(p.delay(&e, 1, 0.5), None);
        assert!(e.info().message.contains("18446744073709551615 s"), "{}", e.info().message);
        let at_the_limit = Error::RateLimited { message: String::new(), retry_after: Some(p.max_retry_after) };
        assert_eq!(p.delay(&at_the_limit, 1, 0.5), Some(p.max_retry_after));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_runs_until_success() {
        let mut calls = 0;
        let mut waits = vec![];
        let out = retry(
            &RetryPolicy::default(),
            || {
                calls += 1;
                let n = calls;
                async move {
                    if n < 3 {
                        Err(server())
                    } else {
                        Ok(n)
                    }
                }
            },
            |_, w| waits.push(w),
        )
        .await;
        assert_eq!(out.unwrap(), 3);
        assert_eq!(waits.len(), 2);
    }
}
