//! The fuzzers' kept corpus (`fuzz/corpus`, grown by `scripts/fuzz`) replayed on stable Rust in
//! every test run: each input the fuzzers found interesting decodes to a value or to a short
//! error, never a panic. A crash `scripts/fuzz` finds is added here as a named case.

use std::path::{Path, PathBuf};

fn corpus(target: &str) -> Vec<(PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus").join(target);
    let mut inputs: Vec<(PathBuf, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|entry| (entry.path(), String::from_utf8_lossy(&std::fs::read(entry.path()).unwrap()).into_owned()))
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "{} is empty", dir.display());
    inputs
}

#[test]
fn every_s3_notification_input_decodes_or_fails_with_a_short_error() {
    for (path, text) in corpus("s3_notification") {
        if let Err(e) = sluice_events::s3::S3Notification::from_json(&text) {
            assert!(e.to_string().len() < 1024, "{}: {e}", path.display());
        }
    }
}

#[test]
fn every_body_input_is_opened_and_decoded_without_a_panic() {
    for (_, text) in corpus("sns_envelope") {
        let _ = sluice_events::sns::SnsEnvelope::detect(&text);
        let _ = sluice_events::decode_body::<sluice_events::s3::S3ObjectEvent>(&text);
    }
}

#[test]
fn every_key_input_decodes_within_s3s_limit_or_fails() {
    for (path, raw) in corpus("decode_key") {
        if let Ok(key) = sluice_events::s3::decode_key(&raw) {
            assert!(key.len() <= sluice_events::s3::MAX_KEY_BYTES, "{}", path.display());
        }
    }
}
