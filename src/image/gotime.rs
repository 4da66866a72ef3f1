//! Timestamps as Go's `time.Time` reads and writes them in JSON (RFC 3339, nanoseconds trimmed,
//! zone offset kept, the zero time `0001-01-01T00:00:00Z`), so re-encoding a base config keeps
//! ko's bytes. Depends on nothing else in rko.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Seconds from 0001-01-01T00:00:00Z to the Unix epoch.
const ZERO_UNIX: i64 = -62_135_596_800;

/// A point in time with the zone offset it was written with.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Time {
    unix: i64,
    nanos: u32,
    offset_seconds: i32,
}

impl Default for Time {
    fn default() -> Self {
        Time::ZERO
    }
}

impl Time {
    /// Go's zero `time.Time`, which ggcr writes for unset history and config times.
    pub const ZERO: Time = Time { unix: ZERO_UNIX, nanos: 0, offset_seconds: 0 };

    pub fn from_unix(seconds: i64) -> Time {
        Time { unix: seconds, nanos: 0, offset_seconds: 0 }
    }

    pub fn is_zero(&self) -> bool {
        self.unix == ZERO_UNIX && self.nanos == 0
    }

    pub fn unix(&self) -> i64 {
        self.unix
    }

    /// Parse RFC 3339 (`2006-01-02T15:04:05.999999999Z07:00`) as Go's JSON decoder does.
    pub fn parse(text: &str) -> Option<Time> {
        let bytes = text.as_bytes();
        if bytes.len() < 20 || bytes[4] != b'-' || bytes[7] != b'-' || !matches!(bytes[10], b'T' | b't') {
            return None;
        }
        if bytes[13] != b':' || bytes[16] != b':' {
            return None;
        }
        let number = |range: std::ops::Range<usize>| -> Option<i64> {
            let part = text.get(range)?;
            if part.bytes().all(|b| b.is_ascii_digit()) { part.parse().ok() } else { None }
        };
        let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
        let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
        if !(1..=12).contains(&month)
            || day < 1
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 59
        {
            return None;
        }
        let mut rest = &text[19..];
        let mut nanos = 0u32;
        if let Some(fraction) = rest.strip_prefix('.') {
            let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 || digits > 9 {
                return None;
            }
            nanos = fraction[..digits].parse::<u32>().ok()? * 10u32.pow(9 - digits as u32);
            rest = &fraction[digits..];
        }
        let offset_seconds = match rest {
            "Z" | "z" => 0,
            _ => {
                let sign = match rest.as_bytes().first()? {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return None,
                };
                if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                    return None;
                }
                let hours: i32 = rest[1..3].parse().ok()?;
                let minutes: i32 = rest[4..6].parse().ok()?;
                if hours > 23 || minutes > 59 {
                    return None;
                }
                sign * (hours * 3600 + minutes * 60)
            }
        };
        let local = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
        Some(Time { unix: local - i64::from(offset_seconds), nanos, offset_seconds })
    }
}

impl fmt::Display for Time {
    /// RFC 3339 with trailing zeros of the fraction trimmed (Go's `RFC3339Nano`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let local = self.unix + i64::from(self.offset_seconds);
        let (days, seconds_of_day) = (local.div_euclid(86_400), local.rem_euclid(86_400));
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
            seconds_of_day / 3600,
            seconds_of_day % 3600 / 60,
            seconds_of_day % 60
        )?;
        if self.nanos != 0 {
            let fraction = format!("{:09}", self.nanos);
            write!(f, ".{}", fraction.trim_end_matches('0'))?;
        }
        if self.offset_seconds == 0 {
            f.write_str("Z")
        } else {
            let sign = if self.offset_seconds < 0 { '-' } else { '+' };
            let offset = self.offset_seconds.abs();
            write!(f, "{sign}{:02}:{:02}", offset / 3600, offset % 3600 / 60)
        }
    }
}

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Time, D::Error> {
        match Option::<String>::deserialize(deserializer)? {
            None => Ok(Time::ZERO),
            Some(text) => {
                Time::parse(&text).ok_or_else(|| serde::de::Error::custom(format!("invalid RFC 3339 time `{text}`")))
            }
        }
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_time_prints_like_go() {
        assert_eq!(Time::ZERO.to_string(), "0001-01-01T00:00:00Z");
        assert!(Time::parse("0001-01-01T00:00:00Z").unwrap().is_zero());
    }

    #[test]
    fn epochs_print_in_utc() {
        assert_eq!(Time::from_unix(1_700_000_000).to_string(), "2023-11-14T22:13:20Z");
        assert_eq!(Time::from_unix(1_600_000_000).to_string(), "2020-09-13T12:26:40Z");
        assert_eq!(Time::from_unix(0).to_string(), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn round_trips_fractions_and_offsets() {
        for text in ["2024-02-29T23:59:59.5+02:00", "2019-01-01T00:00:00.123456789-07:30", "2000-01-01T00:00:00Z"] {
            assert_eq!(Time::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(Time::parse("2024-01-01T00:00:00.500000000Z").unwrap().to_string(), "2024-01-01T00:00:00.5Z");
        assert_eq!(Time::parse("2024-01-01T02:00:00+02:00").unwrap().unix(), 1_704_067_200);
    }

    #[test]
    fn rejects_malformed_times() {
        for text in ["2024-13-01T00:00:00Z", "2023-02-29T00:00:00Z", "2024-01-01 00:00:00Z", "2024-01-01T00:00:00", "x"]
        {
            assert!(Time::parse(text).is_none(), "{text}");
        }
    }
}
