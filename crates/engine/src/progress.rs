//! Aggregate progress: throughput as an exponential moving average (time-weighted, so uneven
//! sampling does not skew it) and the ETA for the bytes still to send, queued ones included.

use std::time::Duration;

use tokio::time::Instant;

pub struct Throughput {
    tau: Duration,
    last: Option<(Instant, u64)>,
    ema: f64,
}

impl Throughput {
    /// `tau`: how quickly old samples fade (about the window the average covers).
    pub fn new(tau: Duration) -> Self {
        Throughput { tau, last: None, ema: 0.0 }
    }

    /// Feed the running total of bytes done; returns bytes per second.
    pub fn sample(&mut self, done: u64) -> f64 {
        let now = Instant::now();
        if let Some((at, before)) = self.last {
            let dt = now.duration_since(at).as_secs_f64();
            if dt > 0.0 {
                let instant = done.saturating_sub(before) as f64 / dt;
                let alpha = 1.0 - (-dt / self.tau.as_secs_f64()).exp();
                self.ema += alpha * (instant - self.ema);
            }
        }
        self.last = Some((now, done));
        self.ema
    }

    /// Seconds left for `remaining` bytes at the current rate; `None` while nothing moves.
    pub fn eta(&self, remaining: u64) -> Option<f64> {
        (self.ema >= 1.0).then(|| remaining as f64 / self.ema)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_steady_rate_is_learned_and_gives_an_eta() {
        let mut t = Throughput::new(Duration::from_secs(1));
        assert_eq!(t.sample(0), 0.0);
        assert_eq!(t.eta(100), None);
        let mut done = 0;
        for _ in 0..40 {
            tokio::time::advance(Duration::from_millis(250)).await;
            done += 250_000; // 1 MB/s
            t.sample(done);
        }
        let rate = t.sample(done);
        assert!((rate - 1_000_000.0).abs() < 10_000.0, "{rate}");
        let eta = t.eta(5_000_000).unwrap();
        assert!((eta - 5.0).abs() < 0.1, "{eta}");
    }
}
