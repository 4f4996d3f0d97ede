//! Aggregate progress: [`Aggregate`], the one model of a batch's figures, over throughput as an
//! exponential moving average (time-weighted, so uneven sampling does not skew it) and the
//! time left for what is still to send, queued jobs included.

use std::time::Duration;

use tokio::time::Instant;

mod aggregate;
pub use aggregate::{Aggregate, Figures, SPEED_WINDOW};

pub struct Throughput {
    tau: Duration,
    last: Option<(Instant, u64)>,
    ema: f64,
    /// How much of the average real samples make up (the rest is its starting zero): the
    /// rate is `ema / weight`, so the first seconds read the speed they saw, not a fraction of
    /// it that climbs (the time left would start far too long and fall faster than the bytes).
    weight: f64,
}

impl Throughput {
    /// `tau`: how quickly old samples fade (about the window the average covers).
    pub fn new(tau: Duration) -> Self {
        Throughput { tau, last: None, ema: 0.0, weight: 0.0 }
    }

    /// Feed the running total of bytes done; returns bytes per second.
    pub fn sample(&mut self, done: u64) -> f64 {
        self.sample_at(Instant::now(), done)
    }

    /// [`sample`](Self::sample) at a given instant (a scripted sequence of events, in tests).
    pub fn sample_at(&mut self, now: Instant, done: u64) -> f64 {
        if let Some((at, before)) = self.last {
            let dt = now.duration_since(at).as_secs_f64();
            if dt > 0.0 {
                let instant = done.saturating_sub(before) as f64 / dt;
                let alpha = 1.0 - (-dt / self.tau.as_secs_f64()).exp();
                self.ema += alpha * (instant - self.ema);
                self.weight += alpha * (1.0 - self.weight);
            }
        }
        self.last = Some((now, done));
        self.rate()
    }

    /// Units per second, as learned so far (0 before two samples).
    pub fn rate(&self) -> f64 {
        match self.weight > 0.0 {
            true => self.ema / self.weight,
            false => 0.0,
        }
    }

    /// No rate above `most`: a burst that passed a limiter's bucket at once is not a speed the
    /// link keeps, and the time left must not count on it.
    pub fn cap(&mut self, most: f64) {
        self.ema = self.ema.min(most * self.weight);
    }

    /// Seconds left for `remaining` units (bytes, files) at the current rate; `None` while
    /// nothing moves.
    pub fn eta(&self, remaining: u64) -> Option<f64> {
        let rate = self.rate();
        (rate >= 1.0).then(|| remaining as f64 / rate)
    }
}

/// Files go by faster than one a second and average under 1 MiB: then the rate of files is the
/// figure that means something, for the speed shown and the time left (the UI's `smallFiles`
/// and the CLI's bar follow the same rule).
pub fn small_files(bytes_per_sec: f64, files_per_sec: f64) -> bool {
    files_per_sec >= 1.0 && bytes_per_sec / files_per_sec < 1024.0 * 1024.0
}

/// Seconds left for what is still to go, from the rate that drives it: small files go at a
/// rate of files, not of bytes (each costs round trips, whatever it holds), so their time left
/// counts files; larger ones count bytes.
pub fn time_left(bytes: &Throughput, files: &Throughput, bytes_left: u64, files_left: u64) -> Option<f64> {
    match small_files(bytes.rate(), files.rate()) {
        true => files.eta(files_left),
        false => bytes.eta(bytes_left),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rates learned from `per_tick` units every 100 ms for 10 s.
    async fn learned(per_tick: u64) -> Throughput {
        let mut t = Throughput::new(Duration::from_secs(1));
        for tick in 0..=100u64 {
            t.sample(tick * per_tick);
            tokio::time::advance(Duration::from_millis(100)).await;
        }
        t
    }

    #[tokio::test(start_paused = true)]
    async fn small_files_count_down_by_files_large_ones_by_bytes() {
        // 50 two-byte files a second; 1,000 files left, one of them 1 MB: 20 s, not the
        // 10,000 s the bytes would say.
        let (bytes, files) = (learned(10).await, learned(5).await);
        let eta = time_left(&bytes, &files, 1_000_000, 1_000).unwrap();
        assert!((eta - 20.0).abs() < 0.5, "{eta}");
        // 10 files of 5 MB a second: the bytes say it (500 MB left is 10 s, whatever the count).
        let (bytes, files) = (learned(5_000_000).await, learned(1).await);
        assert!(!small_files(bytes.rate(), files.rate()));
        let eta = time_left(&bytes, &files, 500_000_000, 3).unwrap();
        assert!((eta - 10.0).abs() < 0.5, "{eta}");
        // Nothing moving: no time left to say.
        let still = Throughput::new(Duration::from_secs(1));
        assert_eq!(time_left(&still, &still, 10, 10), None);
    }

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
