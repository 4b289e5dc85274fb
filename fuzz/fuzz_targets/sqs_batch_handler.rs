//! The SQS batch handler fed arbitrary event bytes, as the Runtime API would hand them over:
//! every failure and every dead letter is a message of the batch, with a short reason; never a
//! panic.
//!
//! The assertions are `sluice_fuzz_checks::sqs_batch_handler`, which the test command also runs on every
//! kept corpus and regression input.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| sluice_fuzz_checks::sqs_batch_handler(bytes));
