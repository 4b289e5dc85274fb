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
    fn millis_round_trip() {
        for ms in [0, 1, 999, 1_000, 1_733_300_000_456] {
            assert_eq!(epoch_millis(from_epoch_millis(ms)), ms);
        }
    }
}
