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
        let secs = self.0 / 1000;
        let (year, month, day) = civil_from_days((secs / 86_400) as i64);
        let of_day = secs % 86_400;
        let (hour, minute, second) = (of_day / 3600, of_day % 3600 / 60, of_day % 60);
        let fraction = if millis { format!(".{:03}", self.0 % 1000) } else { String::new() };
        format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{fraction}Z")
    }

    /// `2030-01-01`, the UTC date.
    pub(crate) fn date(self) -> String {
        let (year, month, day) = civil_from_days((self.0 / 1000 / 86_400) as i64);
        format!("{year:04}-{month:02}-{day:02}")
    }

    /// Reads `YYYY-MM-DDThh:mm:ssZ`, with optional fractional seconds (`.000Z`): the UTC forms
    /// Alibaba Cloud uses for `x-acs-date`, `Timestamp` and a policy's `expiration`.
    pub(crate) fn parse_iso8601(text: &str) -> Option<Timestamp> {
        let bytes = text.as_bytes();
        let number = |range: std::ops::Range<usize>| -> Option<u64> {
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
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        let fraction = &text[19..text.len() - 1];
        let millis = match fraction.strip_prefix('.') {
            None if fraction.is_empty() => 0,
            Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
                let padded = format!("{digits:0<3}");
                padded[..3].parse::<u64>().ok()?
            }
            _ => return None,
        };
        let days = days_from_civil(year as i64, month as u32, day as u32);
        let secs = u64::try_from(days).ok()? * 86_400 + hour * 3600 + minute * 60 + second;
        Some(Timestamp(secs * 1000 + millis))
    }
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// (year, month, day) → days since 1970-01-01.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let month = i64::from(month);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
    fn advancing_moves_now_forward() {
        let clock = Clock::default();
        let before = clock.now();
        clock.advance(Duration::from_secs(3600));
        assert!(clock.now() >= before.plus(Duration::from_secs(3600)));
    }
}
