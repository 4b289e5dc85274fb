//! Wall-clock time as AWS writes it: milliseconds or seconds since the Unix epoch.
//!
//! Lambda's `Lambda-Runtime-Deadline-Ms` header and `Context::deadline`, DynamoDB's TTL attribute
//! (seconds), Redis expiry times and the local Lambda service's records all carry epoch numbers.
//! The conversions live here once, so that they agree on the edge cases: a time before the
//! epoch is 0, and a millisecond count past `u64` saturates rather than wraps.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
//! assert_eq!(sluice_clock::epoch_millis(t), 1_700_000_000_123);
//! assert_eq!(sluice_clock::epoch_secs(t), 1_700_000_000);
//! assert_eq!(sluice_clock::from_epoch_millis(1_700_000_000_123), t);
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch; 0 before it.
///
/// ```
/// assert_eq!(sluice_clock::epoch_millis(std::time::UNIX_EPOCH), 0);
/// ```
pub fn epoch_millis(t: SystemTime) -> u64 {
    u64::try_from(t.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis()).unwrap_or(u64::MAX)
}

/// Whole seconds since the Unix epoch; 0 before it.
///
/// ```
/// assert!(sluice_clock::epoch_secs(std::time::SystemTime::now()) > 1_700_000_000);
/// ```
pub fn epoch_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}

/// The time `ms` milliseconds after the Unix epoch.
///
/// ```
/// assert_eq!(sluice_clock::from_epoch_millis(0), std::time::UNIX_EPOCH);
/// ```
pub fn from_epoch_millis(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

/// The time `secs` seconds after the Unix epoch (DynamoDB's TTL attribute).
///
/// ```
/// assert_eq!(sluice_clock::epoch_secs(sluice_clock::from_epoch_secs(1_700_000_000)), 1_700_000_000);
/// ```
pub fn from_epoch_secs(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// Milliseconds since the Unix epoch, now.
///
/// ```
/// assert!(sluice_clock::now_millis() > 1_700_000_000_000);
/// ```
pub fn now_millis() -> u64 {
    epoch_millis(SystemTime::now())
}

/// Milliseconds since the Unix epoch of an RFC 3339 timestamp, as S3 (`eventTime`) and SNS
/// (`Timestamp`) write them (`2026-11-26T14:13:23.773Z`); `None` if `text` is not one. A
/// timestamp without an offset is read as UTC, which both services document their times in
/// (moto writes S3's `eventTime` so: `2026-11-26T14:13:23.773512`).
///
/// ```
/// assert_eq!(sluice_clock::rfc3339_millis("2023-11-14T22:13:20.123Z"), Some(1_700_000_000_123));
/// assert_eq!(sluice_clock::rfc3339_millis("2023-11-14T22:13:20.123456"), Some(1_700_000_000_123));
/// assert_eq!(sluice_clock::rfc3339_millis("yesterday"), None);
/// ```
pub fn rfc3339_millis(text: &str) -> Option<u64> {
    // Every item's event time is read on the hot path: the forms S3 and SNS write take a
    // direct route, anything else the `time` crate's parser.
    common_form_millis(text).or_else(|| parse_millis(text))
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction][Z]`, the forms S3, SNS and moto write; `None` for any
/// other, which [`parse_millis`] reads.
fn common_form_millis(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u64> {
        b[range].iter().try_fold(0u64, |n, d| d.is_ascii_digit().then(|| n * 10 + u64::from(d - b'0')))
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &b[19..];
    let mut millis = 0;
    if let Some((b'.', fraction)) = rest.split_first() {
        let digits = fraction.iter().take_while(|d| d.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        millis = fraction[..digits.min(3)].iter().fold(0, |n, d| n * 10 + u64::from(d - b'0'))
            * 10u64.pow(3 - digits.min(3) as u32);
        rest = &fraction[digits..];
    }
    if !(rest.is_empty() || rest == b"Z") || year < 1970 || !(1..=12).contains(&month) || hour > 23 || minute > 59 {
        return None;
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if day == 0 || day > month_days[month as usize - 1] || second > 59 {
        return None;
    }
    // Days since the epoch of a proleptic Gregorian date (the "days from civil" algorithm).
    let (y, m) = if month <= 2 { (year - 1, month + 9) } else { (year, month - 3) };
    let (era, year_of_era) = (y / 400, y % 400);
    let day_of_year = (153 * m + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    Some(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis)
}

/// `t` as an RFC 3339 timestamp in UTC with microseconds (`2026-12-05T15:30:00.123456Z`), the
/// form JSON log lines carry; a time before the epoch is the epoch.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// let t = UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456);
/// assert_eq!(sluice_clock::Rfc3339Micros(t).to_string(), "2023-11-14T22:13:20.123456Z");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Rfc3339Micros(pub SystemTime);

impl std::fmt::Display for Rfc3339Micros {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let since = self.0.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = since.as_secs();
        let (days, of_day) = (secs / 86_400, secs % 86_400);
        // The civil date of a day count (the "civil from days" algorithm, the inverse of the
        // one `common_form_millis` uses).
        let z = days + 719_468;
        let (era, day_of_era) = (z / 146_097, z % 146_097);
        let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let mp = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = year_of_era + era * 400 + u64::from(month <= 2);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
            of_day / 3600,
            of_day / 60 % 60,
            of_day % 60,
            since.subsec_micros()
        )
    }
}

/// Any RFC 3339 timestamp, or one without an offset read as UTC, through the `time` crate.
fn parse_millis(text: &str) -> Option<u64> {
    use time::macros::format_description;
    let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok().or_else(|| {
        let local = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]");
        time::PrimitiveDateTime::parse(text, local).ok().map(time::PrimitiveDateTime::assume_utc)
    })?;
    u64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn before_the_epoch_is_zero() {
        let before = UNIX_EPOCH - Duration::from_secs(5);
        assert_eq!(epoch_millis(before), 0);
        assert_eq!(epoch_secs(before), 0);
    }

    #[test]
    fn the_common_forms_read_as_the_general_parser_reads_them() {
        let mut cases: Vec<String> = [
            "1970-01-01T00:00:00Z",
            "2000-02-29T23:59:59.999Z",
            "2024-02-29T12:00:00.5Z",
            "2026-11-26T14:13:23.773Z",
            "2026-12-05T12:09:50.123456",
            "2100-03-01T00:00:00.000000001Z",
        ]
        .map(str::to_owned)
        .to_vec();
        // A day in every month of a span of years, leap years and century years included.
        for year in [1999, 2000, 2023, 2024, 2100] {
            for month in 1..=12 {
                cases.push(format!("{year}-{month:02}-28T07:08:09.010Z"));
            }
        }
        for case in &cases {
            assert_eq!(common_form_millis(case), parse_millis(case), "{case}");
            assert!(common_form_millis(case).is_some(), "{case} takes the direct route");
        }
        for other in
            ["2023-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-11-26T14:13:23+01:00", "2026-11-26 14:13:23"]
        {
            assert_eq!(common_form_millis(other), None, "{other} is left to the general parser");
        }
        assert_eq!(rfc3339_millis("2026-11-26T15:13:23.773+01:00"), rfc3339_millis("2026-11-26T14:13:23.773Z"));
    }

    #[test]
    fn formatted_timestamps_read_back_as_the_same_time() {
        let mut ms = 0;
        // Every few days for three centuries, at varied times of day.
        while ms < 10_000_000_000_000 {
            let text = Rfc3339Micros(from_epoch_millis(ms)).to_string();
            assert_eq!(parse_millis(&text), Some(ms), "{text}");
            ms += 3 * 86_400_000 + 3_723_456;
        }
        assert_eq!(Rfc3339Micros(UNIX_EPOCH - Duration::from_secs(1)).to_string(), "1970-01-01T00:00:00.000000Z");
    }

    #[test]
    fn millis_round_trip() {
        for ms in [0, 1, 999, 1_000, 1_733_300_000_456] {
            assert_eq!(epoch_millis(from_epoch_millis(ms)), ms);
        }
    }
}
