//! The stream event source mapping: Kinesis Data Streams and DynamoDB Streams
//! (with-kinesis, services-kinesis-parameters, services-kinesis-errors,
//! services-kinesis-batchfailurereporting, with-ddb, services-ddb-params, services-ddb-errors,
//! services-ddb-batchfailurereporting; API `CreateEventSourceMapping`).
//!
//! A stream mapping reads each shard in order and invokes the function synchronously with a
//! batch of that shard's records. What happens to a batch that fails is decided here:
//! - the batch is retried until it succeeds, `MaximumRetryAttempts` retries are used up, or its
//!   oldest record is older than `MaximumRecordAgeInSeconds` (both unlimited by default, -1);
//! - with `BisectBatchOnFunctionError`, a batch that fails as a whole is split in two before it
//!   is retried, and "splitting a batch does not count towards the retry quota";
//! - with `ReportBatchItemFailures`, the lowest sequence number in the answer is the
//!   checkpoint: the records before it are done, and the retry starts at it;
//! - a batch that is given up on goes, as a description of the batch (not its records), to the
//!   on-failure destination, and the shard moves on.

use std::time::Duration;

/// `BatchSize` when none is set (services-kinesis-parameters, services-ddb-params).
pub const DEFAULT_BATCH_SIZE: u32 = 100;

/// The largest `BatchSize`, 10,000 for either stream (API `CreateEventSourceMapping`).
pub const MAXIMUM_BATCH_SIZE: u32 = 10_000;

/// The longest `MaximumBatchingWindowInSeconds` (API `CreateEventSourceMapping`: 0 to 300).
pub const MAXIMUM_BATCHING_WINDOW: Duration = Duration::from_secs(300);

/// "Lambda reads records from each shard at a base rate of once per second" (with-kinesis;
/// with-ddb: "Lambda polls shards in your DynamoDB stream for records at a base rate of 4 times
/// per second"). The local service polls an idle shard at the slower rate for both.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// `MaximumRetryAttempts`: -1 (unlimited, the default) or 0 to 10,000 (API
/// `CreateEventSourceMapping`).
pub const MAXIMUM_RETRY_ATTEMPTS_RANGE: (i32, i32) = (0, 10_000);

/// `MaximumRecordAgeInSeconds`: -1 (unlimited, the default) or 60 to 604,800 (API
/// `CreateEventSourceMapping`).
pub const MAXIMUM_RECORD_AGE_RANGE: (i32, i32) = (60, 604_800);

/// `ParallelizationFactor`: 1 (the default) to 10 batches of one shard at once (API
/// `CreateEventSourceMapping`).
pub const PARALLELIZATION_FACTOR_RANGE: (u32, u32) = (1, 10);

/// Why a mapping gave up on a batch: the `condition` of the record it sends to the on-failure
/// destination (services-kinesis-errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUp {
    /// `MaximumRetryAttempts` retries were made.
    RetryAttemptsExhausted,
    /// Its oldest record is older than `MaximumRecordAgeInSeconds`.
    RecordAgeExceeded,
}

impl GiveUp {
    /// The `condition` AWS writes.
    pub fn condition(self) -> &'static str {
        match self {
            GiveUp::RetryAttemptsExhausted => "RetryAttemptsExhausted",
            GiveUp::RecordAgeExceeded => "RecordAgeExceeded",
        }
    }
}

/// Whether a failed batch is given up on, after `retries` retries, with its oldest record
/// `oldest_age` old; `maximum_retry_attempts` and `maximum_record_age_seconds` as the mapping
/// has them (-1: unlimited). The record age is checked first: an expired record is never run
/// again.
///
/// ```
/// use std::time::Duration;
/// use sluice_rules::stream_mapping::{give_up, GiveUp};
///
/// assert_eq!(give_up(2, Duration::from_secs(5), 2, -1), Some(GiveUp::RetryAttemptsExhausted));
/// assert_eq!(give_up(1, Duration::from_secs(5), 2, -1), None);
/// assert_eq!(give_up(0, Duration::from_secs(61), -1, 60), Some(GiveUp::RecordAgeExceeded));
/// assert_eq!(give_up(9_999, Duration::from_secs(86_400), -1, -1), None);
/// ```
pub fn give_up(
    retries: u32,
    oldest_age: Duration,
    maximum_retry_attempts: i32,
    maximum_record_age_seconds: i32,
) -> Option<GiveUp> {
    if maximum_record_age_seconds >= 0 && oldest_age > Duration::from_secs(maximum_record_age_seconds as u64) {
        return Some(GiveUp::RecordAgeExceeded);
    }
    if maximum_retry_attempts >= 0 && retries >= maximum_retry_attempts as u32 {
        return Some(GiveUp::RetryAttemptsExhausted);
    }
    None
}

/// The size of the next try of a batch of `size` records that failed as a whole: half of it
/// (the first half; the second follows once the first succeeds) with
/// `BisectBatchOnFunctionError`, else all of it. A batch of one cannot be split.
///
/// ```
/// use sluice_rules::stream_mapping::bisected;
/// assert_eq!(bisected(10, true), (5, true));
/// assert_eq!(bisected(1, true), (1, false));
/// assert_eq!(bisected(10, false), (10, false));
/// ```
///
/// The second value says whether the batch was split: a split does not count as a retry.
pub fn bisected(size: usize, bisect: bool) -> (usize, bool) {
    if bisect && size > 1 { (size.div_ceil(2), true) } else { (size, false) }
}

/// Checks a mapping's settings as `CreateEventSourceMapping` does; the message names the
/// setting that is out of range.
///
/// ```
/// use sluice_rules::stream_mapping::validate;
/// assert!(validate(100, -1, -1, 1).is_ok());
/// assert!(validate(0, -1, -1, 1).unwrap_err().contains("BatchSize"));
/// assert!(validate(100, -1, 30, 1).unwrap_err().contains("MaximumRecordAgeInSeconds"));
/// assert!(validate(100, 10_001, -1, 1).unwrap_err().contains("MaximumRetryAttempts"));
/// assert!(validate(100, -1, -1, 11).unwrap_err().contains("ParallelizationFactor"));
/// ```
pub fn validate(
    batch_size: u32,
    maximum_retry_attempts: i32,
    maximum_record_age_seconds: i32,
    parallelization_factor: u32,
) -> Result<(), String> {
    if batch_size == 0 || batch_size > MAXIMUM_BATCH_SIZE {
        return Err(format!("BatchSize {batch_size} is not within 1 to {MAXIMUM_BATCH_SIZE}"));
    }
    let (least, most) = MAXIMUM_RETRY_ATTEMPTS_RANGE;
    if maximum_retry_attempts != -1 && !(least..=most).contains(&maximum_retry_attempts) {
        return Err(format!(
            "MaximumRetryAttempts {maximum_retry_attempts} is neither -1 nor within {least} to {most}"
        ));
    }
    let (least, most) = MAXIMUM_RECORD_AGE_RANGE;
    if maximum_record_age_seconds != -1 && !(least..=most).contains(&maximum_record_age_seconds) {
        return Err(format!(
            "MaximumRecordAgeInSeconds {maximum_record_age_seconds} is neither -1 nor within {least} to {most}"
        ));
    }
    let (least, most) = PARALLELIZATION_FACTOR_RANGE;
    if !(least..=most).contains(&parallelization_factor) {
        return Err(format!("ParallelizationFactor {parallelization_factor} is not within {least} to {most}"));
    }
    Ok(())
}
