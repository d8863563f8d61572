//! Civil dates and timestamps: the only time types in the ledger.
//!
//! The core never reads a clock: a [`Timestamp`] is always passed in by the caller
//! (the CLI reads the system clock, the demo and the tests a simulated one).
//! In the signed (binary) encoding a [`Date`] is an `i32` count of days since
//! 1970-01-01 and a [`Timestamp`] an `i64` count of milliseconds since the Unix
//! epoch (UTC). In JSON they are `YYYY-MM-DD` and RFC 3339 `YYYY-MM-DDTHH:MM:SS(.sss)Z`.

use std::fmt;
use std::str::FromStr;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// Milliseconds in a day.
pub const MS_PER_DAY: i64 = 86_400_000;

/// A calendar date (UTC), stored as days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub i32);

/// An instant, stored as milliseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

/// Why a date or timestamp string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {input:?}: expected {expected}")]
pub struct ParseTimeError {
    what: &'static str,
    input: String,
    expected: &'static str,
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

fn parse_ymd(s: &str) -> Option<(i64, u32, u32)> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = &s[r];
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let (y, m, d) = (digits(0..4)? as i64, digits(5..7)?, digits(8..10)?);
    ((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m)).then_some((y, m, d))
}

impl Date {
    /// The date of a year, month (1-12) and day, if it exists.
    pub fn from_ymd(y: i32, m: u32, d: u32) -> Option<Date> {
        ((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y as i64, m))
            .then(|| Date(days_from_civil(y as i64, m, d) as i32))
    }
    /// The (year, month, day) of this date.
    pub fn ymd(self) -> (i32, u32, u32) {
        let (y, m, d) = civil_from_days(self.0 as i64);
        (y as i32, m, d)
    }
    /// The first instant of this date (00:00:00 UTC).
    pub fn start(self) -> Timestamp {
        Timestamp(self.0 as i64 * MS_PER_DAY)
    }
    /// The last millisecond of this date (23:59:59.999 UTC).
    pub fn end(self) -> Timestamp {
        Timestamp((self.0 as i64 + 1) * MS_PER_DAY - 1)
    }
    /// This date moved by `days` (negative moves back), saturating at the
    /// ends of the range (a signed date may be any day number).
    pub fn add_days(self, days: i32) -> Date {
        Date(self.0.saturating_add(days))
    }
    /// The month of this date as `YYYY-MM`.
    pub fn month(self) -> String {
        let (y, m, _) = self.ymd();
        format!("{y:04}-{m:02}")
    }
}

impl Timestamp {
    /// The date (UTC) this instant falls on.
    pub fn date(self) -> Date {
        Date(self.0.div_euclid(MS_PER_DAY) as i32)
    }
    /// This instant moved by `ms` milliseconds.
    pub fn add_ms(self, ms: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(ms))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.rem_euclid(MS_PER_DAY);
        let (h, mi, s, frac) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
        write!(f, "{}T{h:02}:{mi:02}:{s:02}", self.date())?;
        if frac != 0 {
            write!(f, ".{frac:03}")?;
        }
        f.write_str("Z")
    }
}

impl FromStr for Date {
    type Err = ParseTimeError;
    fn from_str(s: &str) -> Result<Date, ParseTimeError> {
        let (y, m, d) = parse_ymd(s).ok_or_else(|| ParseTimeError {
            what: "date",
            input: s.into(),
            expected: "YYYY-MM-DD",
        })?;
        Ok(Date(days_from_civil(y, m, d) as i32))
    }
}

impl FromStr for Timestamp {
    type Err = ParseTimeError;
    /// Accepts `YYYY-MM-DD` (midnight UTC) or `YYYY-MM-DDTHH:MM:SS[.fff]Z`.
    fn from_str(s: &str) -> Result<Timestamp, ParseTimeError> {
        let err = || ParseTimeError {
            what: "timestamp",
            input: s.into(),
            expected: "YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[.sss]Z",
        };
        if s.len() == 10 {
            return s.parse::<Date>().map(Date::start).map_err(|_| err());
        }
        let date: Date = s.get(..10).ok_or_else(err)?.parse().map_err(|_| err())?;
        let rest = s[10..].strip_prefix('T').ok_or_else(err)?;
        let rest = rest.strip_suffix('Z').ok_or_else(err)?;
        let (hms, frac) = match rest.split_once('.') {
            Some((a, b)) => (a, Some(b)),
            None => (rest, None),
        };
        let parts: Vec<&str> = hms.split(':').collect();
        if parts.len() != 3
            || parts
                .iter()
                .any(|p| p.len() != 2 || !p.bytes().all(|c| c.is_ascii_digit()))
        {
            return Err(err());
        }
        let n = |i: usize| parts[i].parse::<i64>().unwrap_or(99);
        let (h, mi, sec) = (n(0), n(1), n(2));
        if h > 23 || mi > 59 || sec > 59 {
            return Err(err());
        }
        let ms = match frac {
            None => 0,
            Some(f) if (1..=3).contains(&f.len()) && f.bytes().all(|c| c.is_ascii_digit()) => {
                format!("{f:0<3}").parse::<i64>().map_err(|_| err())?
            }
            Some(_) => return Err(err()),
        };
        Ok(Timestamp(
            date.start().0 + ((h * 60 + mi) * 60 + sec) * 1000 + ms,
        ))
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(self)
        } else {
            s.serialize_i32(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            s.parse().map_err(de::Error::custom)
        } else {
            i32::deserialize(d).map(Date)
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(self)
        } else {
            s.serialize_i64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            s.parse().map_err(de::Error::custom)
        } else {
            i64::deserialize(d).map(Timestamp)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_over_four_centuries() {
        for z in (-200_000..200_000).step_by(7) {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
    }

    #[test]
    fn parses_and_prints() {
        let d: Date = "2024-02-29".parse().unwrap();
        assert_eq!(d.to_string(), "2024-02-29");
        assert!("2023-02-29".parse::<Date>().is_err());
        assert!("2024-13-01".parse::<Date>().is_err());
        assert!("24-01-01".parse::<Date>().is_err());
        let t: Timestamp = "2024-03-01T12:30:05.5Z".parse().unwrap();
        assert_eq!(t.to_string(), "2024-03-01T12:30:05.500Z");
        assert_eq!(t.date().to_string(), "2024-03-01");
        let t: Timestamp = "1970-01-01T00:00:01Z".parse().unwrap();
        assert_eq!(t, Timestamp(1000));
        assert!("2024-03-01T25:00:00Z".parse::<Timestamp>().is_err());
        assert_eq!(
            "2024-03-01".parse::<Timestamp>().unwrap(),
            d.add_days(1).start()
        );
        assert_eq!(Timestamp(-1).date(), Date(-1));
    }
}
