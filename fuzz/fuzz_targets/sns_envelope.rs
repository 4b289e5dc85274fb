//! SNS envelope detection and the whole body decoding (envelope, then S3 payload) on arbitrary
//! text: never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_events::s3::S3ObjectEvent;

fuzz_target!(|text: &str| {
    let _ = sluice_events::sns::SnsEnvelope::detect(text);
    let _ = sluice_events::decode_body::<S3ObjectEvent>(text);
});
