//! Time as the API shows it: epoch seconds as a float rounded to 3 decimals.
//!
//! Timestamps are kept as whole milliseconds so that comparisons (is this URL expired?) are exact
//! and a value survives a JSON round trip unchanged; they only become floats on the wire.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time with millisecond precision, serialized as `1648470469.687`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Timestamp(u64);

impl Timestamp {
    pub(crate) fn plus(self, by: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(by.as_millis() as u64))
    }

    pub(crate) fn minus(self, by: Duration) -> Timestamp {
        Timestamp(self.0.saturating_sub(by.as_millis() as u64))
    }

    /// Parses a client-supplied epoch-seconds value (e.g. the `validity_ts` query parameter).
    pub(crate) fn from_secs_f64(secs: f64) -> Option<Timestamp> {
        (secs.is_finite() && secs >= 0.0).then(|| Timestamp((secs * 1000.0).round() as u64))
    }

    pub(crate) fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.as_secs_f64())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let secs = f64::deserialize(deserializer)?;
        Timestamp::from_secs_f64(secs)
            .ok_or_else(|| serde::de::Error::custom("timestamp must be a finite, positive number"))
    }
}

/// The wall clock plus an offset that only ever grows (see `Emulator::advance_clock`).
#[derive(Debug, Default)]
pub(crate) struct Clock {
    offset_ms: AtomicU64,
}

impl Clock {
    pub(crate) fn now(&self) -> Timestamp {
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64;
        Timestamp(wall.saturating_add(self.offset_ms.load(Ordering::Relaxed)))
    }

    pub(crate) fn advance(&self, by: Duration) {
        self.offset_ms.fetch_add(by.as_millis() as u64, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_seconds_with_three_decimals() {
        let ts = Timestamp(1_648_470_469_687);
        assert_eq!(serde_json::to_string(&ts).unwrap(), "1648470469.687");
        let back: Timestamp = serde_json::from_str("1648470469.687").unwrap();
        assert_eq!(back, ts);
    }

    #[test]
    fn advancing_moves_now_forward() {
        let clock = Clock::default();
        let before = clock.now();
        clock.advance(Duration::from_secs(3600));
        assert!(clock.now() >= before.plus(Duration::from_secs(3600)));
    }
}
