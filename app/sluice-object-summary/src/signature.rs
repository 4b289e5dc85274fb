//! Signed webhooks: every POST carries an HMAC-SHA256 of a timestamp and the exact body, so the
//! partner can tell sluice's calls from anyone else's and refuse a replay.
//!
//! The header, in the style of Stripe's and GitHub's webhook signatures:
//!
//! ```text
//! Sluice-Signature: t=1795813920,k=<key id>,v1=<hex of HMAC-SHA256(secret, "<t>.<body>")>
//! ```
//!
//! - `t` is the Unix time of the attempt (each retry signs afresh);
//! - `k` names the secret, so a partner can hold the old and the new one while a secret is
//!   rotated: with AWS Secrets Manager it is the secret value's `VersionId`;
//! - `v1` is lower-case hex. A partner recomputes it over the raw body it received (before any
//!   JSON parsing), compares in constant time, and refuses a `t` older than a few minutes.
//!
//! [`verify`](crate::signature::verify) does exactly that, for partners written in Rust and for the tests.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use sluice_excerpt::Excerpt;

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "Sluice-Signature";

/// How old a signature's timestamp may be before [`verify`] refuses it (5 minutes, Stripe's
/// default tolerance).
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// A webhook signing secret and its key id.
///
/// ```
/// use sluice_object_summary::signature::{SigningKey, verify, DEFAULT_TOLERANCE};
///
/// let key = SigningKey::new("v1-2026", b"partner-shared-secret".to_vec());
/// let header = key.sign(1_795_813_920, br#"{"size":3}"#);
/// let secret = |id: &str| (id == "v1-2026").then(|| b"partner-shared-secret".to_vec());
/// assert!(verify(&header, br#"{"size":3}"#, secret, 1_795_813_950, DEFAULT_TOLERANCE).is_ok());
/// assert!(verify(&header, br#"{"size":4}"#, secret, 1_795_813_950, DEFAULT_TOLERANCE).is_err());
/// ```
#[derive(Clone)]
pub struct SigningKey {
    key_id: String,
    secret: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("key_id", &self.key_id).field("secret", &"<redacted>").finish()
    }
}

impl SigningKey {
    /// The secret `secret`, named `key_id`.
    pub fn new(key_id: impl Into<String>, secret: Vec<u8>) -> Self {
        SigningKey { key_id: key_id.into(), secret }
    }

    /// The key id.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The `Sluice-Signature` value for `body` sent at Unix time `timestamp`.
    pub fn sign(&self, timestamp: u64, body: &[u8]) -> String {
        let mac = mac(&self.secret, timestamp, body).finalize().into_bytes();
        format!("t={timestamp},k={},v1={}", self.key_id, hex::encode(mac))
    }
}

fn mac(secret: &[u8], timestamp: u64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The header is not `t=...,k=...,v1=...`.
    #[error("malformed {SIGNATURE_HEADER} header: {0}")]
    Malformed(String),
    /// The key id names no secret the partner holds.
    #[error("unknown signing key {0}")]
    UnknownKey(Excerpt),
    /// The timestamp is outside the tolerance: a replay, or a clock far off.
    #[error("signature timestamp {age_seconds} s away from now, more than the {tolerance_seconds} s allowed")]
    Stale {
        /// Seconds between the timestamp and now.
        age_seconds: u64,
        /// The tolerance.
        tolerance_seconds: u64,
    },
    /// The body or timestamp is not what was signed, or the secret differs.
    #[error("signature does not match the body")]
    Mismatch,
}

/// Checks a `Sluice-Signature` `header` against the raw `body`, with the secret `secret_for`
/// returns for its key id, at Unix time `now`.
pub fn verify(
    header: &str,
    body: &[u8],
    secret_for: impl Fn(&str) -> Option<Vec<u8>>,
    now: u64,
    tolerance: Duration,
) -> Result<(), SignatureError> {
    let (mut timestamp, mut key_id, mut signature) = (None, None, None);
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => {
                timestamp =
                    Some(v.parse::<u64>().map_err(|_| SignatureError::Malformed(format!("t={}", Excerpt::of(v))))?)
            }
            Some(("k", v)) => key_id = Some(v),
            Some(("v1", v)) => {
                signature =
                    Some(hex::decode(v).map_err(|_| SignatureError::Malformed(format!("v1={}", Excerpt::of(v))))?)
            }
            _ => {} // other schemes, for the future
        }
    }
    let missing = |what: &str| SignatureError::Malformed(format!("no {what}= in {}", Excerpt::of(header)));
    let timestamp = timestamp.ok_or_else(|| missing("t"))?;
    let key_id = key_id.ok_or_else(|| missing("k"))?;
    let signature = signature.ok_or_else(|| missing("v1"))?;
    let age_seconds = now.abs_diff(timestamp);
    if age_seconds > tolerance.as_secs() {
        return Err(SignatureError::Stale { age_seconds, tolerance_seconds: tolerance.as_secs() });
    }
    let secret = secret_for(key_id).ok_or_else(|| SignatureError::UnknownKey(Excerpt::of(key_id)))?;
    mac(&secret, timestamp, body).verify_slice(&signature).map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_795_813_920;

    fn secrets(id: &str) -> Option<Vec<u8>> {
        match id {
            "old" => Some(b"old secret".to_vec()),
            "new" => Some(b"new secret".to_vec()),
            _ => None,
        }
    }

    #[test]
    fn a_signature_verifies_with_its_key_and_only_over_the_exact_body_and_time() {
        let key = SigningKey::new("new", b"new secret".to_vec());
        let body = br#"{"bucket":"ingest","key":"incoming/a.csv"}"#;
        let header = key.sign(NOW, body);
        assert!(header.starts_with(&format!("t={NOW},k=new,v1=")), "{header}");
        assert_eq!(verify(&header, body, secrets, NOW + 10, DEFAULT_TOLERANCE), Ok(()));
        let tampered = br#"{"bucket":"ingest","key":"incoming/b.csv"}"#;
        assert_eq!(verify(&header, tampered, secrets, NOW, DEFAULT_TOLERANCE), Err(SignatureError::Mismatch));
        // The timestamp is signed too: moving it forward to pass the tolerance breaks the MAC.
        let moved = header.replace(&format!("t={NOW}"), &format!("t={}", NOW + 1000));
        assert_eq!(verify(&moved, body, secrets, NOW + 1000, DEFAULT_TOLERANCE), Err(SignatureError::Mismatch));
    }

    #[test]
    fn a_stale_timestamp_an_unknown_key_and_a_malformed_header_are_refused() {
        let key = SigningKey::new("old", b"old secret".to_vec());
        let header = key.sign(NOW, b"{}");
        let stale = verify(&header, b"{}", secrets, NOW + 301, DEFAULT_TOLERANCE);
        assert_eq!(stale, Err(SignatureError::Stale { age_seconds: 301, tolerance_seconds: 300 }));
        let unknown = SigningKey::new("gone", b"x".to_vec()).sign(NOW, b"{}");
        assert_eq!(
            verify(&unknown, b"{}", secrets, NOW, DEFAULT_TOLERANCE),
            Err(SignatureError::UnknownKey(Excerpt::of("gone")))
        );
        for bad in ["", "t=now,k=old,v1=00", "t=1,k=old", "t=1,k=old,v1=zz"] {
            assert!(
                matches!(verify(bad, b"{}", secrets, NOW, DEFAULT_TOLERANCE), Err(SignatureError::Malformed(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn during_a_rotation_both_keys_verify() {
        for (id, secret) in [("old", b"old secret"), ("new", b"new secret")] {
            let header = SigningKey::new(id, secret.to_vec()).sign(NOW, b"{}");
            assert_eq!(verify(&header, b"{}", secrets, NOW, DEFAULT_TOLERANCE), Ok(()), "{id}");
        }
    }

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        let key = SigningKey::new("k", b"hunter2".to_vec());
        assert!(!format!("{key:?}").contains("hunter2"));
    }
}
