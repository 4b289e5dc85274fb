//! SNS envelope detection and the whole body decoding (envelope, then S3 payload) on arbitrary
//! text: never a panic, and a short error.
//!
//! The assertions are `sluice_fuzz_checks::sns_envelope`, which the test command also runs on every
//! kept corpus and regression input.
#![no_main]

libfuzzer_sys::fuzz_target!(|text: &str| sluice_fuzz_checks::sns_envelope(text));
