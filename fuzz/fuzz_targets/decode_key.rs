//! S3 key decoding on arbitrary text: a key within S3's 1,024 bytes, or a short error; never a
//! panic.
//!
//! The assertions are `sluice_fuzz_checks::decode_key`, which the test command also runs on every
//! kept corpus and regression input.
#![no_main]

libfuzzer_sys::fuzz_target!(|raw: &str| sluice_fuzz_checks::decode_key(raw));
