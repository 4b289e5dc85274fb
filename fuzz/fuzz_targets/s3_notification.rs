//! The S3 notification decoder on arbitrary text: it returns a notification or an error,
//! never panics, and an error message stays short whatever the input.
//!
//! The assertions are `sluice_fuzz_checks::s3_notification`, which the test command also runs on every
//! kept corpus and regression input.
#![no_main]

libfuzzer_sys::fuzz_target!(|text: &str| sluice_fuzz_checks::s3_notification(text));
