//! Physical quantities with units.
//!
//! Board files write quantities with their unit (`75 MHz`, `300 MT/s`, `4 GiB`, `1.25 Gbps`,
//! `13.75 ns`, `2 GB/s`, `6 cycles`). Each kind of quantity has its own type here, so a
//! frequency cannot be used where a transfer rate is due, and the parser refuses a value whose
//! unit belongs to another kind, naming both.
//!
//! Simulated time is [`Time`]: an integer count of femtoseconds. A 75 MHz cycle is
//! 13 333 333.3 fs, so the rounding error of one cycle is below a millionth of a nanosecond,
//! and nothing is ever rounded to whole nanoseconds.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Femtoseconds in one second.
pub const FS_PER_S: f64 = 1e15;

/// A point or span of simulated time, in femtoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(pub u64);

impl Time {
    /// Time zero.
    pub const ZERO: Time = Time(0);
    /// Builds a time from seconds, rounding to the nearest femtosecond.
    pub fn from_secs(s: f64) -> Time {
        Time((s * FS_PER_S).round() as u64)
    }
    /// Builds a time from picoseconds.
    pub fn from_ps(ps: u64) -> Time {
        Time(ps * 1000)
    }
    /// Femtoseconds.
    pub fn fs(self) -> u64 {
        self.0
    }
    /// Seconds as a float.
    pub fn secs(self) -> f64 {
        self.0 as f64 / FS_PER_S
    }
    /// Nanoseconds as a float (exact to the femtosecond).
    pub fn ns(self) -> f64 {
        self.0 as f64 / 1e6
    }
}

impl std::ops::Add for Time {
    type Output = Time;
    fn add(self, o: Time) -> Time {
        Time(self.0 + o.0)
    }
}
impl std::ops::AddAssign for Time {
    fn add_assign(&mut self, o: Time) {
        self.0 += o.0;
    }
}
impl std::ops::Sub for Time {
    type Output = Time;
    fn sub(self, o: Time) -> Time {
        Time(self.0.saturating_sub(o.0))
    }
}
impl std::ops::Mul<u64> for Time {
    type Output = Time;
    fn mul(self, k: u64) -> Time {
        Time(self.0 * k)
    }
}

/// A unit parse failure, with a message that names what was expected and what was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnitError(pub String);

/// Splits `"13.75 ns"` into `(13.75, "ns")`. The number may use exponent notation.
fn split_quantity(text: &str) -> Result<(f64, &str), UnitError> {
    let t = text.trim();
    let end = t
        .char_indices()
        .find(|&(i, c)| {
            !(c.is_ascii_digit()
                || c == '.'
                || c == '-'
                || c == '+'
                || ((c == 'e' || c == 'E')
                    && i > 0
                    && t[i + 1..]
                        .chars()
                        .next()
                        .is_some_and(|n| n.is_ascii_digit() || n == '-' || n == '+')))
        })
        .map(|(i, _)| i)
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(end);
    let value: f64 = num
        .trim()
        .parse()
        .map_err(|_| UnitError(format!("`{text}` is not a number followed by a unit")))?;
    if !value.is_finite() {
        return Err(UnitError(format!("`{text}` is not a finite number")));
    }
    Ok((value, unit.trim()))
}

/// Every unit any quantity kind accepts, with the kind's name, so a wrong-kind unit can be
/// reported as "MHz is a frequency, but a transfer rate is due here".
const UNIT_KINDS: &[(&str, &[&str])] = &[
    ("frequency", &["Hz", "kHz", "MHz", "GHz"]),
    ("transfer rate", &["T/s", "kT/s", "MT/s", "GT/s"]),
    (
        "bit rate",
        &["bps", "kbps", "Mbps", "Gbps", "b/s", "kb/s", "Mb/s", "Gb/s"],
    ),
    (
        "byte rate",
        &["B/s", "kB/s", "MB/s", "GB/s", "KiB/s", "MiB/s", "GiB/s"],
    ),
    (
        "size",
        &[
            "B", "KiB", "MiB", "GiB", "TiB", "kB", "MB", "GB", "bits", "bit",
        ],
    ),
    ("duration", &["fs", "ps", "ns", "us", "µs", "ms", "s"]),
    ("cycle count", &["cycles", "cycle", "ck", "nCK"]),
];

fn kind_of(unit: &str) -> Option<&'static str> {
    UNIT_KINDS
        .iter()
        .find(|(_, units)| units.contains(&unit))
        .map(|(k, _)| *k)
}

fn wrong_unit(text: &str, unit: &str, want: &str, accepted: &str) -> UnitError {
    match kind_of(unit) {
        Some(kind) if unit.is_empty() => UnitError(format!(
            "`{text}` has no unit; a {want} is due here ({accepted}) [{kind}]"
        )),
        Some(kind) => UnitError(format!(
            "`{text}` is a {kind}, but a {want} is due here (units: {accepted})"
        )),
        None if unit.is_empty() => UnitError(format!(
            "`{text}` has no unit; a {want} is due here (units: {accepted})"
        )),
        None => UnitError(format!(
            "`{text}`: unknown unit `{unit}`; a {want} is due here (units: {accepted})"
        )),
    }
}

macro_rules! quantity {
    ($(#[$doc:meta])* $name:ident, $want:expr, $accepted:expr, $positive:expr, [$(($u:expr, $scale:expr)),* $(,)?], $display_unit:expr, $display_scale:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
        pub struct $name(f64);

        impl $name {
            /// Builds the quantity from its value in base units.
            pub fn new(base: f64) -> Self {
                Self(base)
            }
            /// The value in base units.
            pub fn base(self) -> f64 {
                self.0
            }
            /// Parses text such as the board files hold.
            pub fn parse(text: &str) -> Result<Self, UnitError> {
                let (v, unit) = split_quantity(text)?;
                let scale = match unit {
                    $($u => $scale,)*
                    other => return Err(wrong_unit(text, other, $want, $accepted)),
                };
                if v < 0.0 {
                    return Err(UnitError(format!("`{text}`: a {} cannot be negative", $want)));
                }
                if $positive && v == 0.0 {
                    return Err(UnitError(format!("`{text}`: a {} must be greater than zero", $want)));
                }
                Ok(Self(v * scale))
            }
        }

        impl fmt::Display for $name {
            /// Prints in the preferred unit when that round-trips exactly through
            /// [`Self::parse`], else in the first unit that does (the base unit always does),
            /// so a resolved config reloads to bit-identical values.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let candidates = [($display_unit, $display_scale) $(, ($u, $scale))*];
                for (unit, scale) in candidates {
                    let v: f64 = self.0 / scale;
                    if v * scale == self.0 {
                        return write!(f, "{} {}", fmt_num(v), unit);
                    }
                }
                write!(f, "{} (base units)", self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnitError;
            fn from_str(s: &str) -> Result<Self, UnitError> {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_string())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(TextVisitor(Self::parse, $want))
            }
        }
    };
}

/// Formats a number in the shortest text that parses back to the same `f64`.
fn fmt_num(v: f64) -> String {
    format!("{v}")
}

quantity!(
    /// A clock frequency, in hertz.
    Frequency, "frequency", "Hz, kHz, MHz, GHz", true,
    [("Hz", 1.0), ("kHz", 1e3), ("MHz", 1e6), ("GHz", 1e9)], "MHz", 1e6
);
quantity!(
    /// A data transfer rate on a DRAM bus, in transfers per second.
    TransferRate, "transfer rate", "T/s, kT/s, MT/s, GT/s", true,
    [("T/s", 1.0), ("kT/s", 1e3), ("MT/s", 1e6), ("GT/s", 1e9)], "MT/s", 1e6
);
quantity!(
    /// A serial line rate, in bits per second.
    BitRate, "bit rate", "bps, kbps, Mbps, Gbps", true,
    [("bps", 1.0), ("kbps", 1e3), ("Mbps", 1e6), ("Gbps", 1e9), ("b/s", 1.0), ("kb/s", 1e3), ("Mb/s", 1e6), ("Gb/s", 1e9)], "Gbps", 1e9
);
quantity!(
    /// A bandwidth, in bytes per second (decimal prefixes as storage vendors use them).
    ByteRate, "byte rate", "B/s, kB/s, MB/s, GB/s, KiB/s, MiB/s, GiB/s", true,
    [("B/s", 1.0), ("kB/s", 1e3), ("MB/s", 1e6), ("GB/s", 1e9), ("KiB/s", 1024.0), ("MiB/s", 1048576.0), ("GiB/s", 1073741824.0)], "MB/s", 1e6
);
quantity!(
    /// A span of time in the board file, in seconds; converts to simulation [`Time`].
    Duration, "duration", "fs, ps, ns, us, ms, s", false,
    [("fs", 1e-15), ("ps", 1e-12), ("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("s", 1.0)], "ns", 1e-9
);

impl Frequency {
    /// Hertz.
    pub fn hz(self) -> f64 {
        self.0
    }
    /// The length of one cycle.
    pub fn period(self) -> Time {
        Time::from_secs(1.0 / self.0)
    }
    /// The time that `cycles` cycles of this clock take.
    pub fn cycles_to_time(self, cycles: u64) -> Time {
        Time((cycles as f64 * FS_PER_S / self.0).round() as u64)
    }
    /// Whole cycles of this clock needed to cover `d`, rounding up (as JEDEC ns figures are
    /// converted to clocks).
    pub fn cycles_covering(self, d: Duration) -> u64 {
        // A relative tolerance absorbs decimal representation error (13.75 ns at 150 MHz is
        // 2.0625 clocks, 15 ns is exactly 2.25, 6.6667 ns must stay 1).
        let c = d.secs() * self.0;
        (c - 1e-9).ceil().max(0.0) as u64
    }
}

impl TransferRate {
    /// Transfers per second.
    pub fn per_sec(self) -> f64 {
        self.0
    }
}

impl BitRate {
    /// Bits per second.
    pub fn bps(self) -> f64 {
        self.0
    }
}

impl ByteRate {
    /// Bytes per second.
    pub fn bytes_per_sec(self) -> f64 {
        self.0
    }
}

impl Duration {
    /// Seconds.
    pub fn secs(self) -> f64 {
        self.0
    }
    /// Nanoseconds.
    pub fn ns(self) -> f64 {
        self.0 * 1e9
    }
    /// As simulation time, to the nearest femtosecond.
    pub fn time(self) -> Time {
        Time::from_secs(self.0)
    }
}

/// A memory or buffer size, in bytes (binary prefixes: `4 GiB`, `256 KiB`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// Bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }
    /// Parses `4 GiB`, `1500 B`, `64 bits` (bits must make whole bytes).
    pub fn parse(text: &str) -> Result<Self, UnitError> {
        let (v, unit) = split_quantity(text)?;
        let scale: f64 = match unit {
            "B" => 1.0,
            "KiB" => 1024.0,
            "MiB" => 1024.0 * 1024.0,
            "GiB" => 1024.0 * 1024.0 * 1024.0,
            "TiB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
            "kB" => 1e3,
            "MB" => 1e6,
            "GB" => 1e9,
            "bits" | "bit" => 0.125,
            other => {
                return Err(wrong_unit(
                    text,
                    other,
                    "size",
                    "B, KiB, MiB, GiB, TiB, kB, MB, GB, bits",
                ))
            }
        };
        if v < 0.0 {
            return Err(UnitError(format!("`{text}`: a size cannot be negative")));
        }
        let b = v * scale;
        // 2^64 bytes: past it the value would not fit (and `as u64` would saturate silently).
        if b >= 18_446_744_073_709_551_616.0 {
            return Err(UnitError(format!(
                "`{text}` is too large: sizes must be under 2^64 bytes"
            )));
        }
        if b != b.trunc() {
            return Err(UnitError(format!(
                "`{text}` is not a whole number of bytes"
            )));
        }
        Ok(ByteSize(b as u64))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        let units = [
            (1u64 << 40, "TiB"),
            (1 << 30, "GiB"),
            (1 << 20, "MiB"),
            (1 << 10, "KiB"),
        ];
        for (scale, name) in units {
            if b >= scale && b.is_multiple_of(scale) {
                return write!(f, "{} {name}", b / scale);
            }
        }
        write!(f, "{b} B")
    }
}

impl std::str::FromStr for ByteSize {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Self, UnitError> {
        Self::parse(s)
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor(Self::parse, "size"))
    }
}

/// Deserializes a quantity from its text (or a bare number, which then lacks its unit and is
/// refused by the parser with a message saying so).
struct TextVisitor<T>(fn(&str) -> Result<T, UnitError>, &'static str);

impl<T> serde::de::Visitor<'_> for TextVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a {} with a unit", self.1)
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
        (self.0)(v).map_err(E::custom)
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<T, E> {
        self.visit_str(&v.to_string())
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<T, E> {
        self.visit_str(&v.to_string())
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<T, E> {
        self.visit_str(&v.to_string())
    }
}

/// The largest whole number an `f64` holds exactly (2^53).
const MAX_EXACT_COUNT: f64 = 9_007_199_254_740_992.0;

/// A whole number of clock cycles (`6 cycles`); which clock is stated by the key's doc.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cycles(pub u64);

impl Cycles {
    /// The count.
    pub fn count(self) -> u64 {
        self.0
    }
    /// Parses `6 cycles` (also `ck` and `nCK`).
    pub fn parse(text: &str) -> Result<Self, UnitError> {
        let (v, unit) = split_quantity(text)?;
        match unit {
            "cycles" | "cycle" | "ck" | "nCK" => {}
            other => return Err(wrong_unit(text, other, "cycle count", "cycles, ck, nCK")),
        }
        if v < 0.0 || v != v.trunc() {
            return Err(UnitError(format!(
                "`{text}`: a cycle count must be a whole number, zero or more"
            )));
        }
        // Past 2^53 an f64 no longer holds every whole number, and past 2^64 `as u64` would
        // saturate silently; no clocked latency comes near either.
        if v > MAX_EXACT_COUNT {
            return Err(UnitError(format!(
                "`{text}` is too large: cycle counts must be at most 2^53"
            )));
        }
        Ok(Cycles(v as u64))
    }
}

impl fmt::Display for Cycles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} cycles", self.0)
    }
}

impl Serialize for Cycles {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Cycles {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor(Self::parse, "cycle count"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_kind() {
        assert_eq!(Frequency::parse("75 MHz").unwrap().hz(), 75e6);
        assert_eq!(TransferRate::parse("300 MT/s").unwrap().per_sec(), 300e6);
        assert_eq!(BitRate::parse("1.25 Gbps").unwrap().bps(), 1.25e9);
        assert_eq!(ByteRate::parse("2 GB/s").unwrap().bytes_per_sec(), 2e9);
        assert_eq!(ByteSize::parse("4 GiB").unwrap().bytes(), 4 << 30);
        assert_eq!(ByteSize::parse("64 bits").unwrap().bytes(), 8);
        assert!((Duration::parse("13.75 ns").unwrap().ns() - 13.75).abs() < 1e-9);
        assert_eq!(Cycles::parse("6 cycles").unwrap().count(), 6);
        assert_eq!(
            Duration::parse("7.8 us").unwrap().time(),
            Time(7_800_000_000)
        );
    }

    #[test]
    fn refuses_wrong_kind_and_sign() {
        let e = TransferRate::parse("75 MHz").unwrap_err().0;
        assert!(
            e.contains("frequency") && e.contains("transfer rate"),
            "{e}"
        );
        assert!(ByteRate::parse("0 GB/s")
            .unwrap_err()
            .0
            .contains("greater than zero"));
        assert!(ByteRate::parse("-2 GB/s")
            .unwrap_err()
            .0
            .contains("negative"));
        assert!(Frequency::parse("75").unwrap_err().0.contains("no unit"));
        assert!(Duration::parse("3 parsecs")
            .unwrap_err()
            .0
            .contains("unknown unit"));
    }

    #[test]
    fn ns_figures_round_up_to_clocks() {
        let dram = Frequency::parse("150 MHz").unwrap();
        let c = |s: &str| dram.cycles_covering(Duration::parse(s).unwrap());
        assert_eq!(c("13.75 ns"), 3);
        assert_eq!(c("35 ns"), 6);
        assert_eq!(c("48.75 ns"), 8);
        assert_eq!(c("260 ns"), 39);
        assert_eq!(c("15 ns"), 3);
        assert_eq!(c("6.6666666 ns"), 1);
    }

    #[test]
    fn display_round_trips_exactly() {
        for text in [
            "50 us",
            "13.75 ns",
            "7.8 us",
            "260 ns",
            "0.1 ns",
            "1.25 Gbps",
            "75 MHz",
        ] {
            if let Ok(d) = Duration::parse(text) {
                assert_eq!(Duration::parse(&d.to_string()).unwrap(), d, "{text} -> {d}");
            }
        }
        let d = Duration::parse("50 us").unwrap();
        assert_eq!(Duration::parse(&d.to_string()).unwrap(), d);
        let b = BitRate::parse("1.25 Gbps").unwrap();
        assert_eq!(b.to_string(), "1.25 Gbps");
        assert_eq!(Frequency::parse("75 MHz").unwrap().to_string(), "75 MHz");
    }

    #[test]
    fn cycle_time_is_not_rounded_to_ns() {
        let f = Frequency::parse("75 MHz").unwrap();
        assert_eq!(f.cycles_to_time(3), Time(40_000_000));
        assert_eq!(f.cycles_to_time(1), Time(13_333_333));
    }
}
