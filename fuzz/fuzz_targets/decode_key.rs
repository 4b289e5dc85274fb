//! S3 key decoding on arbitrary text: a key within S3's 1,024 bytes, or an error; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|raw: &str| {
    if let Ok(key) = sluice_events::s3::decode_key(raw) {
        assert!(key.len() <= sluice_events::s3::MAX_KEY_BYTES);
    }
});
