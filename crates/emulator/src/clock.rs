//! Time as the API shows it: epoch seconds as a float rounded to 3 decimals.
//!
//! Timestamps are kept as whole milliseconds so that comparisons (is this URL expired?) are exact
//! and a value survives a JSON round trip unchanged; they only become floats on the wire.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
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

    /// Whole seconds since the epoch (rounded down).
    pub(crate) fn as_secs(self) -> u64 {
        self.0 / 1000
    }

    pub(crate) fn as_millis(self) -> u64 {
        self.0
    }

    pub(crate) fn from_secs(secs: u64) -> Timestamp {
        Timestamp(secs.saturating_mul(1000))
    }

    /// `2030-01-01T00:00:00.000Z` (`millis`) or `2030-01-01T00:00:00Z`, in UTC.
    pub(crate) fn iso8601(self, millis: bool) -> String {
        let format = if millis { "%Y-%m-%dT%H:%M:%S%.3fZ" } else { "%Y-%m-%dT%H:%M:%SZ" };
        self.utc().format(format).to_string()
    }

    /// `2030-01-01`, the UTC date.
    pub(crate) fn date(self) -> String {
        self.utc().format("%Y-%m-%d").to_string()
    }

    /// The calendar's reading (chrono). Every `u64` of milliseconds up to year 262,143 has one;
    /// beyond, the epoch stands in rather than a panic (no clock or client reaches that far).
    fn utc(self) -> DateTime<Utc> {
        i64::try_from(self.0).ok().and_then(DateTime::from_timestamp_millis).unwrap_or_default()
    }

    /// Reads `YYYY-MM-DDThh:mm:ssZ`, with optional fractional seconds (`.000Z`): the UTC forms
    /// Alibaba Cloud uses for `x-acs-date`, `Timestamp` and a policy's `expiration`. The layout is
    /// checked here; whether the date exists (no 2030-02-31) is chrono's calendar.
    pub(crate) fn parse_iso8601(text: &str) -> Option<Timestamp> {
        let bytes = text.as_bytes();
        let number = |range: std::ops::Range<usize>| -> Option<u32> {
            let part = text.get(range)?;
            part.bytes().all(|b| b.is_ascii_digit()).then(|| part.parse().ok())?
        };
        if bytes.len() < 20 || bytes[4] != b'-' || bytes[7] != b'-' || bytes[10] != b'T' {
            return None;
        }
        if bytes[13] != b':' || bytes[16] != b':' || *bytes.last()? != b'Z' {
            return None;
        }
        let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
        let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
        let fraction = &text[19..text.len() - 1];
        let millis = match fraction.strip_prefix('.') {
            None if fraction.is_empty() => 0,
            Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
                let padded = format!("{digits:0<3}");
                padded[..3].parse::<u32>().ok()?
            }
            _ => return None,
        };
        let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
        // A leap second (`:60`) is chrono's second 59 with 1,000 ms more: the next minute's start.
        let (second, millis) = if second == 60 { (59, millis + 1000) } else { (second, millis) };
        let time = NaiveTime::from_hms_milli_opt(hour, minute, second, millis)?;
        let millis = date.and_time(time).and_utc().timestamp_millis();
        u64::try_from(millis).ok().map(Timestamp)
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
    fn utc_dates_are_written_and_read() {
        let ts = Timestamp::from_secs(1_654_326_678);
        assert_eq!(ts.iso8601(false), "2022-06-04T07:11:18Z");
        assert_eq!(ts.iso8601(true), "2022-06-04T07:11:18.000Z");
        assert_eq!(ts.date(), "2022-06-04");
        assert_eq!(Timestamp::parse_iso8601("2022-06-04T07:11:18Z"), Some(ts));
        assert_eq!(Timestamp::parse_iso8601("2022-06-04T07:11:18.000Z"), Some(ts));
        assert_eq!(Timestamp::parse_iso8601("2022-06-04T07:11:18.5Z"), Some(ts.plus(Duration::from_millis(500))));
        assert_eq!(Timestamp::parse_iso8601("2030-01-01T00:00:00.000Z"), Some(Timestamp::from_secs(1_893_456_000)));
        assert_eq!(Timestamp::parse_iso8601("2000-02-29T23:59:59Z"), Some(Timestamp::from_secs(951_868_799)));
        assert_eq!(Timestamp::from_secs(951_868_799).iso8601(false), "2000-02-29T23:59:59Z");
        for bad in ["2022-06-04 07:11:18Z", "2022-06-04T07:11:18", "2022-13-04T07:11:18Z", "2022-06-04T07:11:18.Z", "x"]
        {
            assert_eq!(Timestamp::parse_iso8601(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates_that_do_not_exist_are_refused() {
        // The hand-written calendar before chrono took any day up to 31 in any month.
        for bad in [
            "2030-02-31T00:00:00Z",
            "2030-02-29T00:00:00Z",
            "2100-02-29T00:00:00Z",
            "2030-04-31T12:00:00.000Z",
            "2030-00-10T00:00:00Z",
            "2030-01-00T00:00:00Z",
            "2030-01-01T24:00:00Z",
            "2030-01-01T23:60:00Z",
            "1969-12-31T23:59:59Z",
        ] {
            assert_eq!(Timestamp::parse_iso8601(bad), None, "{bad}");
        }
        assert_eq!(Timestamp::parse_iso8601("2028-02-29T00:00:00Z"), Some(Timestamp::from_secs(1_835_395_200)));
        assert_eq!(Timestamp::parse_iso8601("2030-01-31T00:00:00Z"), Some(Timestamp::from_secs(1_896_048_000)));
        // A leap second reads as the next minute's start, as before.
        assert_eq!(Timestamp::parse_iso8601("2016-12-31T23:59:60Z"), Some(Timestamp::from_secs(1_483_228_800)));
    }

    #[test]
    fn advancing_moves_now_forward() {
        let clock = Clock::default();
        let before = clock.now();
        clock.advance(Duration::from_secs(3600));
        assert!(clock.now() >= before.plus(Duration::from_secs(3600)));
    }
}
