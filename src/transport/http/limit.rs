//! A per-source request rate limit: requests are spaced evenly, one every `1 / rate` seconds, so
//! a burst never exceeds what the server's own throttle allows.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Hands out evenly spaced start times.
pub(super) struct RateLimiter {
    interval: Duration,
    next_slot: Mutex<Instant>,
}

impl RateLimiter {
    /// `rate` requests per second; the caller checks that it is positive and finite.
    pub(super) fn per_second(rate: f64) -> RateLimiter {
        RateLimiter {
            interval: Duration::from_secs_f64(1.0 / rate),
            next_slot: Mutex::new(Instant::now()),
        }
    }

    /// Waits for this request's slot.
    pub(super) async fn wait(&self) {
        let slot = {
            let mut next = self
                .next_slot
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let slot = (*next).max(Instant::now());
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn requests_are_spaced_by_the_rate() {
        let limiter = RateLimiter::per_second(20.0);
        let start = Instant::now();
        for _ in 0..5 {
            limiter.wait().await;
        }
        // The first request goes at once, the next four one every 50 ms.
        assert!(start.elapsed() >= Duration::from_millis(200));
    }
}
