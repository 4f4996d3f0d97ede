//! Bandwidth limit: one token bucket shared by every transfer, with an optional weekly
//! timetable in rclone's `--bwlimit` syntax, e.g. `10M`, `08:00,512k 19:00,10M 23:00,off`
//! or `Mon-08:00,1M Sat-00:00,off`. Rates are bytes per second in [`crate::size`]'s syntax
//! (`1.5MB`, `512KiB`, `10M`), without spaces inside an entry.

use std::sync::{Mutex, RwLock};
use std::time::Duration;

use tokio::time::Instant;

use chrono::{Datelike, Local, Timelike, Weekday};

use crate::error::{Error, Invalid, Result};
use crate::size::{ByteSize, Rate};

#[derive(Debug, Clone, PartialEq)]
struct Slot {
    day: Option<Weekday>,
    minute: u32,
    rate: Option<u64>,
}

/// When which rate applies. `None` as a rate means unlimited.
#[derive(Debug, Clone, PartialEq)]
pub struct Timetable {
    slots: Vec<Slot>,
}

fn parse_rate(s: &str) -> Result<Option<u64>> {
    if s.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let bad = || {
        Error::invalid(
            Invalid::Bandwidth,
            format!("bandwidth {s:?}: a rate is a number with an optional unit (e.g. 512k, 10MB, 1.5MiB/s), or off"),
        )
    };
    let rate = s.parse::<Rate>().map_err(|_| bad())?.bytes_per_second();
    // Below one byte a second nothing would ever move: that is a typo, not a limit.
    if rate == 0 {
        return Err(bad());
    }
    Ok(Some(rate))
}

fn parse_day(s: &str, entry: &str) -> Result<Weekday> {
    s.parse::<Weekday>().map_err(|_| {
        Error::invalid(
            Invalid::Bandwidth,
            format!("bandwidth timetable entry {entry:?}: {s:?} is not a weekday (use Mon, Tue, … Sun)"),
        )
    })
}

/// A rate as the timetable syntax writes it: `off`, the largest binary letter that keeps it
/// whole (`512k`, `10M`: what saved settings hold), else [`ByteSize`]'s exact form (`1500kB`),
/// so a parsed timetable prints back as it was meant.
fn format_rate(rate: Option<u64>) -> String {
    let Some(r) = rate else { return "off".into() };
    for (suffix, unit) in [("G", 1u64 << 30), ("M", 1 << 20), ("k", 1 << 10)] {
        if r >= unit && r % unit == 0 {
            return format!("{}{suffix}", r / unit);
        }
    }
    ByteSize::new(r).to_string()
}

impl std::fmt::Display for Timetable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let [Slot { day: None, minute: 0, rate }] = self.slots.as_slice() {
            return f.write_str(&format_rate(*rate));
        }
        let entries: Vec<String> = self
            .slots
            .iter()
            .map(|s| {
                let day = s.day.map(|d| format!("{d}-")).unwrap_or_default();
                format!("{day}{:02}:{:02},{}", s.minute / 60, s.minute % 60, format_rate(s.rate))
            })
            .collect();
        f.write_str(&entries.join(" "))
    }
}

impl Timetable {
    /// No limit at any time.
    pub fn unlimited() -> Self {
        Timetable { slots: vec![Slot { day: None, minute: 0, rate: None }] }
    }

    /// Whether some slot limits the rate (an all-`off` timetable never does).
    pub fn limits(&self) -> bool {
        self.slots.iter().any(|s| s.rate.is_some())
    }

    /// Parse a rate (`10M`, `off`) or a timetable of `[Day-]HH:MM,RATE` entries separated by
    /// spaces. Each error names the entry and what is wrong with it.
    pub fn parse(spec: &str) -> Result<Self> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Err(Error::invalid(
                Invalid::Bandwidth,
                "bandwidth: empty; give a rate such as 10M, a timetable, or off",
            ));
        }
        if !spec.contains(',') {
            // One rate may be written with spaces (`10 MB/s`); only timetable entries may not.
            if let Ok(rate) = parse_rate(spec) {
                return Ok(Timetable { slots: vec![Slot { day: None, minute: 0, rate }] });
            }
            if spec.contains(char::is_whitespace) || spec.contains(':') {
                return Err(Error::invalid(
                    Invalid::Bandwidth,
                    format!("bandwidth {spec:?}: a timetable entry is TIME,RATE (e.g. 08:00,512k 19:00,off)"),
                ));
            }
            return Ok(Timetable { slots: vec![Slot { day: None, minute: 0, rate: parse_rate(spec)? }] });
        }
        let mut slots: Vec<Slot> = Vec::new();
        for entry in spec.split_whitespace() {
            let (when, rate) = entry.split_once(',').ok_or_else(|| {
                Error::invalid(Invalid::Bandwidth, format!("bandwidth timetable entry {entry:?}: expected TIME,RATE"))
            })?;
            let (day, time) = match when.split_once('-') {
                Some((d, t)) => (Some(parse_day(d, entry)?), t),
                None => (None, when),
            };
            let (h, m) = time
                .split_once(':')
                .filter(|(h, m)| (1..=2).contains(&h.len()) && m.len() == 2)
                .and_then(|(h, m)| Some((h.parse::<u32>().ok()?, m.parse::<u32>().ok()?)))
                .filter(|(h, m)| *h < 24 && *m < 60)
                .ok_or_else(|| {
                    Error::invalid(
                        Invalid::Bandwidth,
                        format!("bandwidth timetable entry {entry:?}: {time:?} is not a time (HH:MM, 00:00 to 23:59)"),
                    )
                })?;
            let rate = parse_rate(rate).map_err(|_| {
                Error::invalid(
                    Invalid::Bandwidth,
                    format!("bandwidth timetable entry {entry:?}: {rate:?} is not a rate (e.g. 512k, 10M, off)"),
                )
            })?;
            let slot = Slot { day, minute: h * 60 + m, rate };
            if slots.iter().any(|s| s.day == slot.day && s.minute == slot.minute) {
                return Err(Error::invalid(
                    Invalid::Bandwidth,
                    format!("bandwidth timetable: two entries start at {when}"),
                ));
            }
            slots.push(slot);
        }
        Ok(Timetable { slots })
    }

    /// The rate in force at `day` and minute of the day: the latest slot that started at or
    /// before then, wrapping round the week (or the day, for slots without a weekday).
    pub fn rate_at(&self, day: Weekday, minute: u32) -> Option<u64> {
        let week_minute = |d: Weekday, m: u32| d.num_days_from_monday() * 1440 + m;
        let now = week_minute(day, minute);
        let mut best: Option<(u32, &Slot)> = None;
        for slot in &self.slots {
            let starts: Vec<u32> = match slot.day {
                Some(d) => vec![week_minute(d, slot.minute)],
                None => (0..7).map(|d| d * 1440 + slot.minute).collect(),
            };
            for start in starts {
                // Minutes since the slot started, going back round the week if needed.
                let since = (now + 7 * 1440 - start) % (7 * 1440);
                if best.is_none_or(|(b, _)| since < b) {
                    best = Some((since, slot));
                }
            }
        }
        best.and_then(|(_, s)| s.rate)
    }

    fn rate_now(&self) -> Option<u64> {
        let now = Local::now();
        self.rate_at(now.weekday(), now.hour() * 60 + now.minute())
    }
}

/// A token bucket with a one-second burst. Callers may take more than the bucket holds (a
/// whole chunk); the debt is paid by sleeping, so the long-run rate is exact.
pub struct Limiter {
    /// Replaceable while transfers run, so a new limit applies to the bytes in flight.
    timetable: RwLock<Timetable>,
    bucket: Mutex<(f64, Instant)>,
}

impl Limiter {
    pub fn new(timetable: Timetable) -> Self {
        Limiter { timetable: RwLock::new(timetable), bucket: Mutex::new((0.0, Instant::now())) }
    }

    pub fn timetable(&self) -> Timetable {
        self.timetable.read().expect("bandwidth lock").clone()
    }

    /// Change the limit; the next chunk of every transfer is paced by it.
    pub fn set_timetable(&self, timetable: Timetable) {
        *self.timetable.write().expect("bandwidth lock") = timetable;
    }

    /// The limit in force now (bytes/s), if any: no speed shown is above it.
    pub fn limit_now(&self) -> Option<u64> {
        self.timetable.read().expect("bandwidth lock").rate_now()
    }

    pub async fn take(&self, bytes: usize) {
        let rate = self.timetable.read().expect("bandwidth lock").rate_now();
        let Some(rate) = rate else { return };
        let wait = {
            let mut b = self.bucket.lock().expect("bandwidth lock");
            let now = Instant::now();
            let rate = rate as f64;
            b.0 = (b.0 + now.duration_since(b.1).as_secs_f64() * rate).min(rate);
            b.1 = now;
            b.0 -= bytes as f64;
            if b.0 < 0.0 {
                Duration::from_secs_f64(-b.0 / rate)
            } else {
                Duration::ZERO
            }
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The app's Settings form checks rates as they are typed with its own reading
    /// (`ui/src/lib/settings.ts`); both are held to these answers.
    #[test]
    fn rates_read_as_the_settings_form_reads_them() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/lib/rates.fixtures.json");
        let fixtures: Vec<serde_json::Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for f in fixtures {
            let text = f["text"].as_str().unwrap();
            match f["refused"].as_bool() {
                Some(true) => assert_eq!(parse_rate(text).unwrap_err().code(), "bandwidth.invalid", "{text:?}"),
                _ => assert_eq!(parse_rate(text).unwrap(), f["bytes"].as_u64(), "{text:?}"),
            }
        }
    }

    #[test]
    fn rates_parse() {
        assert_eq!(parse_rate("512k").unwrap(), Some(512 * 1024));
        assert_eq!(parse_rate("1.5M").unwrap(), Some(1_572_864));
        assert_eq!(parse_rate("100").unwrap(), Some(100));
        assert_eq!(parse_rate("off").unwrap(), None);
        assert_eq!(parse_rate("10MB").unwrap(), Some(10_000_000));
        assert_eq!(parse_rate("2MiB/s").unwrap(), Some(2 << 20));
        for bad in ["", "k", "-1M", "fast", "0", "0.1", "99999999999T"] {
            assert_eq!(parse_rate(bad).unwrap_err().code(), "bandwidth.invalid", "{bad}");
        }
    }

    #[test]
    fn timetables_pick_the_slot_in_force() {
        let t = Timetable::parse("08:00,512k 19:00,10M 23:00,off").unwrap();
        assert_eq!(t.rate_at(Weekday::Tue, 7 * 60), None); // still 23:00's "off" from the night before
        assert_eq!(t.rate_at(Weekday::Tue, 8 * 60), Some(512 * 1024));
        assert_eq!(t.rate_at(Weekday::Tue, 20 * 60), Some(10 << 20));
        let w = Timetable::parse("Mon-08:00,1M Sat-00:00,off").unwrap();
        assert_eq!(w.rate_at(Weekday::Wed, 0), Some(1 << 20));
        assert_eq!(w.rate_at(Weekday::Sun, 600), None);
        assert_eq!(w.rate_at(Weekday::Mon, 7 * 60), None);
        assert_eq!(Timetable::parse("2M").unwrap().rate_at(Weekday::Fri, 3), Some(2 << 20));
        assert!(Timetable::parse("25:00,1M").is_err());
        assert!(Timetable::parse("Xyz-08:00,1M").is_err());
    }

    /// Each mistake is named with the entry it is in, so a settings screen can show why.
    #[test]
    fn bad_timetables_say_what_is_wrong() {
        let reason = |spec: &str| Timetable::parse(spec).unwrap_err().to_string();
        assert!(reason("").contains("empty"), "{}", reason(""));
        assert!(reason("25:00,1M").contains("\"25:00\" is not a time"), "{}", reason("25:00,1M"));
        assert!(reason("8:5,1M").contains("is not a time"), "{}", reason("8:5,1M"));
        assert!(reason("08:00,fast").contains("\"fast\" is not a rate"), "{}", reason("08:00,fast"));
        assert!(reason("Xyz-08:00,1M").contains("\"Xyz\" is not a weekday"), "{}", reason("Xyz-08:00,1M"));
        assert!(reason("08:00,1M 08:00,off").contains("two entries start at 08:00"));
        assert!(reason("08:00 1M").contains("TIME,RATE"), "{}", reason("08:00 1M"));
        assert!(reason("0.1").contains("is a number"), "{}", reason("0.1"));
        for spec in ["", "25:00,1M", "08:00,fast", "08:00,1M 08:00,off"] {
            assert_eq!(Timetable::parse(spec).unwrap_err().code(), "bandwidth.invalid");
        }
    }

    #[test]
    fn timetables_print_back_as_parsed() {
        for spec in [
            "10M",
            "off",
            "512k",
            "1kB",
            "1500kB",
            "100B",
            "08:00,512k 19:00,10M 23:00,off",
            "Mon-08:00,1M Sat-00:00,off",
        ] {
            let t = Timetable::parse(spec).unwrap();
            assert_eq!(t.to_string(), spec);
            assert_eq!(Timetable::parse(&t.to_string()).unwrap(), t);
        }
        assert_eq!(Timetable::parse(" 8:00,1024k ").unwrap().to_string(), "08:00,1M");
        assert_eq!(Timetable::parse("1000").unwrap().to_string(), "1kB");
        assert_eq!(Timetable::parse(" 10 MB/s ").unwrap().to_string(), "10MB");
        assert_eq!(Timetable::parse("08:00,1.5MB 18:00,1MiB").unwrap().to_string(), "08:00,1500kB 18:00,1M");
        assert!(!Timetable::parse("off").unwrap().limits());
        assert!(!Timetable::unlimited().limits());
        assert!(Timetable::parse("09:00,1M 17:00,off").unwrap().limits());
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_limit_applies_to_the_next_chunk() {
        let limiter = Limiter::new(Timetable::unlimited());
        let start = tokio::time::Instant::now();
        for _ in 0..8 {
            limiter.take(256 * 1024).await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "no limit: no wait");
        limiter.set_timetable(Timetable::parse("512k").unwrap());
        let start = tokio::time::Instant::now();
        for _ in 0..4 {
            limiter.take(256 * 1024).await;
        }
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(1990) && took <= Duration::from_millis(2100), "{took:?}");
        assert_eq!(limiter.timetable().to_string(), "512k");
    }

    #[tokio::test(start_paused = true)]
    async fn the_bucket_holds_the_rate() {
        let limiter = Limiter::new(Timetable::parse("1M").unwrap());
        let start = tokio::time::Instant::now();
        for _ in 0..8 {
            limiter.take(256 * 1024).await;
        }
        // 2 MiB at 1 MiB/s, starting from an empty bucket: two seconds.
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(1990) && took <= Duration::from_millis(2100), "{took:?}");
    }
}
