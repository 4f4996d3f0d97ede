//! Sizes and rates as people write them: `1.5 MB`, `16MiB`, `512k`, `10 MB/s`, `1048576`.
//! The one parser for every size a person types: the CLI's flags (`--chunk-size`,
//! `--resumable-above`, `push --size`), the bandwidth timetable (`bandwidth`) and so the app's
//! Settings check (`Prefs::validated`).
//!
//! - Decimal units are 1000-based, as Twindrop shows sizes: `kB`, `MB`, `GB`, `TB`.
//! - Binary units are 1024-based: `KiB`, `MiB`, `GiB`, `TiB`.
//! - A lone letter (`k`, `M`, `G`, `T`) keeps the binary meaning it had before decimal units
//!   came (rclone's, and what saved settings hold: `--bwlimit 10M`, `--chunk-size 8M`, which
//!   must stay a multiple of 256 KiB).
//! - A plain number (or one ending in `B`) is bytes.
//!
//! Units are case-insensitive; a space may stand between number and unit; the number may have
//! a fraction (`1.5 MB`), and a fraction of a byte is dropped (rounded down). A rate may end
//! in `/s`. Negative sizes, sizes past `u64::MAX` and words (`fast`) are refused.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// A number of bytes, parsed from what a person wrote. Prints back exactly (`16MiB`, `1500kB`,
/// `100B`), so `s.parse::<ByteSize>()?.to_string().parse()` gives the same size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ByteSize(u64);

/// Bytes per second: a [`ByteSize`] that may be written with `/s` (`10 MB/s`, `512k`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Rate(ByteSize);

/// Every unit, lowercase, with its size in bytes. Decimal units come first among equals when a
/// size is printed.
const UNITS: &[(&str, u64)] = &[
    ("tb", 1_000_000_000_000),
    ("gb", 1_000_000_000),
    ("mb", 1_000_000),
    ("kb", 1_000),
    ("tib", 1 << 40),
    ("gib", 1 << 30),
    ("mib", 1 << 20),
    ("kib", 1 << 10),
    ("t", 1 << 40),
    ("g", 1 << 30),
    ("m", 1 << 20),
    ("k", 1 << 10),
    ("b", 1),
    ("", 1),
];

/// How a unit is written when a size is printed.
const SHOWN: &[(&str, u64)] = &[
    ("TB", 1_000_000_000_000),
    ("GB", 1_000_000_000),
    ("MB", 1_000_000),
    ("kB", 1_000),
    ("TiB", 1 << 40),
    ("GiB", 1 << 30),
    ("MiB", 1 << 20),
    ("KiB", 1 << 10),
];

impl ByteSize {
    pub const fn new(bytes: u64) -> Self {
        ByteSize(bytes)
    }

    pub const fn bytes(self) -> u64 {
        self.0
    }
}

impl From<ByteSize> for u64 {
    fn from(size: ByteSize) -> u64 {
        size.0
    }
}

fn refused(text: &str, why: &str) -> Error {
    Error::Input(format!("size {text:?}: {why}"))
}

const EXAMPLES: &str = "write a number of bytes with an optional unit, e.g. 1.5 MB, 16 MiB, 512k or 1048576";

impl FromStr for ByteSize {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let s = text.trim();
        if s.is_empty() {
            return Err(refused(text, &format!("empty; {EXAMPLES}")));
        }
        if s.starts_with('-') {
            return Err(refused(text, "a size cannot be negative"));
        }
        let end = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
        let (number, unit) = (&s[..end], s[end..].trim_start());
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && fraction.is_empty() || fraction.contains('.') {
            return Err(refused(text, &format!("not a number; {EXAMPLES}")));
        }
        let unit = unit.to_ascii_lowercase();
        let Some(&(_, scale)) = UNITS.iter().find(|(name, _)| *name == unit) else {
            return Err(refused(text, &format!("unknown unit; use kB, MB, GB, TB (1000-based), KiB, MiB, GiB, TiB or k, M, G, T (1024-based); {EXAMPLES}")));
        };
        let too_big = || refused(text, "too large (the most is 18446744073709551615 bytes)");
        let whole: u128 = match whole {
            "" => 0,
            digits => digits.parse().map_err(|_| too_big())?,
        };
        // Digits past 24 cannot move the result by a byte (scale < 2^41): they are dropped,
        // which keeps the arithmetic inside u128.
        let fraction = &fraction[..fraction.len().min(24)];
        let part = match fraction {
            "" => 0,
            digits => {
                let numerator: u128 = digits.parse().expect("at most 24 digits fit a u128");
                numerator * u128::from(scale) / 10u128.pow(digits.len() as u32)
            }
        };
        let bytes = whole.checked_mul(u128::from(scale)).and_then(|b| b.checked_add(part)).ok_or_else(too_big)?;
        u64::try_from(bytes).map(ByteSize).map_err(|_| too_big())
    }
}

impl fmt::Display for ByteSize {
    /// Exact: the unit that keeps the number whole and smallest (decimal on a tie), else bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let best = SHOWN
            .iter()
            .filter(|(_, scale)| self.0 >= *scale && self.0.is_multiple_of(*scale))
            .min_by_key(|(_, scale)| self.0 / scale);
        match best {
            Some((unit, scale)) => write!(f, "{}{unit}", self.0 / scale),
            None => write!(f, "{}B", self.0),
        }
    }
}

impl Rate {
    pub const fn per_second(size: ByteSize) -> Self {
        Rate(size)
    }

    pub const fn bytes_per_second(self) -> u64 {
        self.0 .0
    }
}

impl FromStr for Rate {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let s = text.trim();
        let size = match s.len().checked_sub(2).filter(|&at| s.is_char_boundary(at)) {
            Some(at) if s[at..].eq_ignore_ascii_case("/s") => &s[..at],
            _ => s,
        };
        size.parse().map(Rate)
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/s", self.0)
    }
}

/// How a size reads to a person: decimal units, as GNOME and macOS show them ("999 B",
/// "2.9 kB", "12.4 MB"), one decimal from a kilobyte on, rounded half up. The app's window
/// writes the same strings (`ui/src/lib/units.ts`); `ui/src/lib/units.fixtures.json` pins both.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["kB", "MB", "GB", "TB", "PB", "EB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    // Counted in whole tenths first, so 999,950 B carries over to "1.0 MB", not "1000.0 kB".
    let mut unit: u128 = 1000;
    for (i, name) in UNITS.iter().enumerate() {
        let tenths = (u128::from(bytes) * 10 + unit / 2) / unit;
        if tenths < 10_000 || i == UNITS.len() - 1 {
            return format!("{}.{} {name}", tenths / 10, tenths % 10);
        }
        unit *= 1000;
    }
    unreachable!("the last unit always answers")
}

/// [`human`] per second ("12.4 MB/s"), for a measured rate.
pub fn human_rate(bytes_per_sec: f64) -> String {
    format!("{}/s", human(bytes_per_sec.max(0.0).round() as u64))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The tray and the CLI (through `human`) read sizes as the window does: the UI's own test
    /// (`ui/src/lib/units.test.ts`) holds its formatter to the same fixtures.
    #[test]
    fn sizes_read_as_the_window_shows_them() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/lib/units.fixtures.json");
        let fixtures: Vec<serde_json::Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert!(fixtures.len() > 10);
        for f in fixtures {
            let bytes = f["bytes"].as_u64().unwrap();
            assert_eq!(human(bytes), f["size"].as_str().unwrap(), "{bytes}");
            assert_eq!(human_rate(bytes as f64), f["rate"].as_str().unwrap(), "{bytes}");
        }
        assert_eq!(human(u64::MAX), "18.4 EB");
    }

    fn size(s: &str) -> u64 {
        s.parse::<ByteSize>().unwrap_or_else(|e| panic!("{s:?}: {e}")).bytes()
    }

    #[test]
    fn units_decimal_binary_and_the_lone_letters() {
        assert_eq!(size("1048576"), 1 << 20);
        assert_eq!(size("100B"), 100);
        assert_eq!(size("1.5 MB"), 1_500_000);
        assert_eq!(size("1.5MB"), 1_500_000);
        assert_eq!(size("1.5 mb"), 1_500_000);
        assert_eq!(size("2kB"), 2_000);
        assert_eq!(size("1 TB"), 1_000_000_000_000);
        assert_eq!(size("16MiB"), 16 << 20);
        assert_eq!(size("16 mib"), 16 << 20);
        assert_eq!(size("1GiB"), 1 << 30);
        // The lone letters keep their old binary meaning: chunk sizes stay multiples of 256 KiB.
        assert_eq!(size("8M"), 8 << 20);
        assert_eq!(size("256k"), 256 << 10);
        assert_eq!(size("256K"), 256 << 10);
        assert_eq!(size("1.5M"), 1_572_864);
        assert_eq!(size("2G"), 2 << 30);
        assert_eq!(size("1T"), 1 << 40);
        assert_eq!(size(" 0.5 KiB "), 512);
        assert_eq!(size(".5k"), 512);
        assert_eq!(size("0"), 0);
        // A fraction of a byte is dropped.
        assert_eq!(size("1.1k"), 1126);
        assert_eq!(size("0.0001"), 0);
    }

    #[test]
    fn refusals_are_bad_input_and_say_why() {
        for (bad, why) in [
            ("", "empty"),
            ("  ", "empty"),
            ("fast", "not a number"),
            ("k", "not a number"),
            ("-1M", "negative"),
            ("1.2.3", "not a number"),
            ("10Q", "unknown unit"),
            ("1e3", "unknown unit"),
            ("12 M B", "unknown unit"),
            ("18446744073709551616", "too large"),
            ("20000000 TB", "too large"),
            ("99999999999999999999999999999999999999999999", "too large"),
        ] {
            let e = bad.parse::<ByteSize>().unwrap_err();
            assert_eq!(e.code(), "input.invalid", "{bad:?}");
            assert!(e.is_bad_input());
            assert!(e.to_string().contains(why), "{bad:?}: {e}");
        }
        assert_eq!(size("18446744073709551615"), u64::MAX);
    }

    #[test]
    fn sizes_print_exactly_in_the_smallest_whole_unit() {
        for (bytes, shown) in [
            (0, "0B"),
            (100, "100B"),
            (1000, "1kB"),
            (1024, "1KiB"),
            (1_500_000, "1500kB"),
            (16 << 20, "16MiB"),
            (1_000_000_000, "1GB"),
            (1_024_000, "1000KiB"),
            (1025, "1025B"),
        ] {
            assert_eq!(ByteSize::new(bytes).to_string(), shown);
        }
    }

    #[test]
    fn rates_take_an_optional_per_second() {
        let rate = |s: &str| s.parse::<Rate>().unwrap().bytes_per_second();
        assert_eq!(rate("10 MB/s"), 10_000_000);
        assert_eq!(rate("10MB/S"), 10_000_000);
        assert_eq!(rate("512k"), 512 << 10);
        assert_eq!(rate("100/s"), 100);
        assert_eq!(Rate::per_second(ByteSize::new(2 << 20)).to_string(), "2MiB/s");
        assert!("/s".parse::<Rate>().is_err());
        assert!("fast/s".parse::<Rate>().is_err());
        assert!("10 MB/h".parse::<Rate>().is_err());
    }

    fn unit() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "", "B", "k", "K", "kB", "KB", "KiB", "M", "MB", "mb", "MiB", "G", "GB", "GiB", "T", "TB", "TiB",
        ])
    }

    proptest! {
        #[test]
        fn display_parses_back_to_the_same_size(bytes in any::<u64>()) {
            let shown = ByteSize::new(bytes).to_string();
            prop_assert_eq!(shown.parse::<ByteSize>().unwrap().bytes(), bytes, "{}", shown);
            let rate = Rate::per_second(ByteSize::new(bytes));
            prop_assert_eq!(rate.to_string().parse::<Rate>().unwrap(), rate);
        }

        #[test]
        fn any_text_is_parsed_or_refused_without_a_panic(text in ".{0,40}") {
            let _ = text.parse::<ByteSize>();
            let _ = text.parse::<Rate>();
        }

        #[test]
        fn number_like_text_never_panics(text in "[-+0-9. ]{0,30}[a-zA-Z/ ]{0,5}") {
            if let Ok(size) = text.parse::<ByteSize>() {
                prop_assert!(!text.trim_start().starts_with('-'));
                prop_assert_eq!(size.to_string().parse::<ByteSize>().unwrap(), size);
            }
        }

        #[test]
        fn more_is_never_less(a in 0u64..1_000_000_000, b in 0u64..1_000_000_000, fa in 0u32..1000, fb in 0u32..1000, unit in unit()) {
            let (small, large) = if (a, fa) <= (b, fb) { ((a, fa), (b, fb)) } else { ((b, fb), (a, fa)) };
            let parse = |(n, f): (u64, u32)| format!("{n}.{f:03} {unit}").parse::<ByteSize>();
            match (parse(small), parse(large)) {
                (Ok(s), Ok(l)) => prop_assert!(s <= l, "{:?} {:?} {}", small, large, unit),
                // Past u64::MAX: the larger one overflows first, never the smaller alone.
                (Ok(_), Err(e)) => prop_assert!(e.to_string().contains("too large")),
                (Err(_), Err(_)) => {}
                (Err(e), Ok(_)) => prop_assert!(false, "the smaller one failed: {}", e),
            }
        }

        #[test]
        fn a_larger_unit_gives_at_least_as_much(n in 0u64..1_000_000) {
            let mut last = 0;
            for unit in ["B", "kB", "KiB", "MB", "MiB", "GB", "GiB", "TB", "TiB"] {
                let bytes = format!("{n}{unit}").parse::<ByteSize>().unwrap().bytes();
                prop_assert!(bytes >= last, "{}{}", n, unit);
                last = bytes;
            }
        }
    }
}
