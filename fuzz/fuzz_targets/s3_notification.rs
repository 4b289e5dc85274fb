//! The S3 notification decoder on arbitrary text: it returns a notification or an error,
//! never panics, and an error message stays short whatever the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_events::s3::S3Notification;

fuzz_target!(|text: &str| {
    if let Err(e) = S3Notification::from_json(text) {
        assert!(e.to_string().len() < 1024, "an error message grew with the input");
    }
});
