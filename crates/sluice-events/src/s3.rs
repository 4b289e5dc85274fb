//! S3 event notifications: the `Records` document and the `s3:TestEvent`.
//!
//! S3 writes one JSON document per notification. It holds one or more records, or, when a
//! notification configuration is first saved, a test event without `Records`. The shape is
//! documented in the S3 User Guide, "Event message structure" (notification-content-structure).
//!
//! Two details make hand-written decoders go wrong, and this module handles both:
//! - **Versions.** S3 uses `eventVersion` 2.1, 2.2 and 2.3 and promises that only a new *major*
//!   version is incompatible, so any `2.x` is accepted and unknown fields are ignored.
//! - **Keys.** The object key is `application/x-www-form-urlencoded`: `+` stands for a space and
//!   everything else is percent-encoded (`red flower.jpg` arrives as `red+flower.jpg`, and a real
//!   `+` as `%2B`). [`S3ObjectEvent::key`](crate::s3::S3ObjectEvent::key) is the decoded key; the raw form is kept too.

use std::borrow::Cow;

use serde::Deserialize;

use crate::{DecodeError, Excerpt};

/// The only major `eventVersion` this decoder understands (S3 User Guide: "check the major
/// version, and ignore unknown fields").
pub const SUPPORTED_EVENT_VERSION_MAJOR: u32 = 2;

/// One S3 event record, with its object key already decoded.
///
/// ```
/// use sluice_events::s3::S3Notification;
///
/// let json = r#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1",
///   "eventTime":"2026-11-26T14:13:23.751Z","eventName":"ObjectCreated:Put",
///   "s3":{"bucket":{"name":"ingest"},"object":{"key":"incoming/red+flower%2B1.jpg","size":5,
///   "eTag":"abc","sequencer":"0055AED6DCD90281E5"}}}]}"#;
/// let S3Notification::Records(records) = S3Notification::from_json(json)? else { panic!() };
/// assert_eq!(records[0].key, "incoming/red flower+1.jpg");
/// assert_eq!(records[0].raw_key, "incoming/red+flower%2B1.jpg");
/// # Ok::<(), sluice_events::DecodeError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct S3ObjectEvent {
    /// `eventVersion` as sent, for example `2.1`.
    pub event_version: String,
    /// `eventName` without the `s3:` prefix, for example `ObjectCreated:Put`.
    pub event_name: String,
    /// `eventTime`, an ISO 8601 timestamp as sent.
    pub event_time: Option<String>,
    /// `awsRegion`.
    pub region: Option<String>,
    /// Bucket name.
    pub bucket: String,
    /// Object key, form-URL-decoded: the key as the uploader wrote it.
    pub key: String,
    /// Object key exactly as it appears in the event.
    pub raw_key: String,
    /// Object size in bytes (absent for delete events).
    pub size: Option<u64>,
    /// Entity tag (absent for delete events).
    pub e_tag: Option<String>,
    /// Version id, when the bucket has versioning on.
    pub version_id: Option<String>,
    /// Hexadecimal sequencer that orders events for the same key.
    pub sequencer: Option<String>,
}

impl S3ObjectEvent {
    /// True for `ObjectCreated:*` events (Put, Post, Copy, CompleteMultipartUpload).
    pub fn is_object_created(&self) -> bool {
        self.event_name.starts_with("ObjectCreated:")
    }
}

/// A decoded S3 notification document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum S3Notification {
    /// A document with `Records`: each one is an event on one object.
    Records(Vec<S3ObjectEvent>),
    /// The `s3:TestEvent` that S3 sends when a notification configuration is saved. It has no
    /// records and must be skipped, never failed.
    TestEvent {
        /// Bucket named in the test event.
        bucket: Option<String>,
    },
}

impl S3Notification {
    /// Decodes an S3 notification document (the SNS `Message`, or a raw-delivery SQS body).
    ///
    /// Errors name what is wrong: invalid JSON (nested deeper than 128 levels included),
    /// neither `Records` nor a test event, an empty `Records` array or one over
    /// [`MAX_RECORDS`], a record of another major version, a bucket name over
    /// [`MAX_BUCKET_BYTES`], another text field over [`MAX_FIELD_BYTES`], or a key that is not
    /// valid percent-encoded UTF-8 or is over [`MAX_KEY_BYTES`].
    pub fn from_json(json: &str) -> Result<Self, DecodeError> {
        let doc: RawDocument = serde_json::from_str(json).map_err(|e| DecodeError::json("S3 event", e))?;
        match doc {
            RawDocument { records: Some(records), .. } => {
                if records.is_empty() {
                    return Err(DecodeError::invalid("S3 event", "`Records` is empty"));
                }
                if records.len() > MAX_RECORDS {
                    return Err(DecodeError::invalid(
                        "S3 event",
                        format!(
                            "`Records` holds {} records, more than the {MAX_RECORDS} a notification may carry (S3 sends one)",
                            records.len()
                        ),
                    ));
                }
                records
                    .into_iter()
                    .enumerate()
                    .map(|(i, r)| r.into_event(i))
                    .collect::<Result<Vec<_>, _>>()
                    .map(S3Notification::Records)
            }
            RawDocument { event: Some(event), bucket, .. } if event == "s3:TestEvent" => {
                Ok(S3Notification::TestEvent { bucket })
            }
            RawDocument { event: Some(event), .. } => Err(DecodeError::invalid(
                "S3 event",
                format!("unknown `Event` {} (only s3:TestEvent has no `Records`)", Excerpt::of(&event)),
            )),
            _ => Err(DecodeError::invalid("S3 event", "the document has neither `Records` nor `Event: s3:TestEvent`")),
        }
    }
}

/// Decodes an S3 object key: `+` becomes a space, then percent-escapes are decoded as UTF-8.
///
/// ```
/// assert_eq!(sluice_events::s3::decode_key("a+b%2Bc%20d")?, "a b+c d");
/// assert_eq!(sluice_events::s3::decode_key("%EB%B3%B4%EA%B3%A0%EC%84%9C")?, "보고서");
/// # Ok::<(), sluice_events::DecodeError>(())
/// ```
pub fn decode_key(raw: &str) -> Result<String, DecodeError> {
    decoded_key(raw).map(Cow::into_owned)
}

/// [`decode_key`], borrowing `raw` when it holds nothing to decode (most keys).
fn decoded_key(raw: &str) -> Result<Cow<'_, str>, DecodeError> {
    // An encoded byte takes at most 3 characters: a longer key cannot decode within the limit.
    if raw.len() > 3 * MAX_KEY_BYTES {
        return Err(too_long(raw.len()));
    }
    let key = if raw.contains(['+', '%']) {
        let spaced = raw.replace('+', " ");
        let key = percent_encoding::percent_decode_str(&spaced).decode_utf8().map_err(|_| {
            DecodeError::invalid("S3 object key", format!("{} does not decode to UTF-8", Excerpt::of(raw)))
        })?;
        Cow::Owned(key.into_owned())
    } else {
        Cow::Borrowed(raw)
    };
    if key.len() > MAX_KEY_BYTES {
        return Err(too_long(key.len()));
    }
    Ok(key)
}

/// At most this many records in one notification document: S3 sends one per notification;
/// more is not S3's, and each record costs the worker a download.
pub const MAX_RECORDS: usize = 100;

/// S3 object keys are at most 1,024 bytes of UTF-8 (Amazon S3 User Guide, "Naming objects").
pub const MAX_KEY_BYTES: usize = 1024;

/// S3 bucket names are 3 to 63 characters (Amazon S3 User Guide, "General purpose bucket naming
/// rules"; directory bucket names keep the same limit).
pub const MAX_BUCKET_BYTES: usize = 63;

/// Every other text field of a record (`eventName`, `eventTime`, `awsRegion`, `eTag`,
/// `versionId`, `sequencer`) is at most this long: S3's are tens of bytes (a version id is up
/// to 1,024), and each one reaches the worker's labels, idempotency keys and log lines.
pub const MAX_FIELD_BYTES: usize = 1024;

fn too_long(bytes: usize) -> DecodeError {
    DecodeError::invalid("S3 object key", format!("{bytes} bytes long, over S3's {MAX_KEY_BYTES}-byte limit"))
}

#[derive(Deserialize)]
struct RawDocument {
    #[serde(rename = "Records")]
    records: Option<Vec<RawRecord>>,
    #[serde(rename = "Event")]
    event: Option<String>,
    #[serde(rename = "Bucket")]
    bucket: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRecord {
    event_version: Option<String>,
    event_name: Option<String>,
    event_time: Option<String>,
    aws_region: Option<String>,
    s3: Option<RawS3>,
}

#[derive(Deserialize)]
struct RawS3 {
    bucket: RawBucket,
    object: RawObject,
}

#[derive(Deserialize)]
struct RawBucket {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawObject {
    key: String,
    size: Option<u64>,
    e_tag: Option<String>,
    version_id: Option<String>,
    sequencer: Option<String>,
}

impl RawRecord {
    fn into_event(self, index: usize) -> Result<S3ObjectEvent, DecodeError> {
        let what = "S3 event record";
        let at = |msg: &str| DecodeError::invalid(what, format!("record {index}: {msg}"));
        let version = self.event_version.ok_or_else(|| at("missing `eventVersion`"))?;
        let major = version.split('.').next().and_then(|m| m.parse::<u32>().ok());
        if major != Some(SUPPORTED_EVENT_VERSION_MAJOR) {
            return Err(DecodeError::UnsupportedVersion {
                found: Excerpt::of(&version),
                supported: SUPPORTED_EVENT_VERSION_MAJOR,
            });
        }
        let event_name = self.event_name.ok_or_else(|| at("missing `eventName`"))?;
        let s3 = self.s3.ok_or_else(|| at("missing `s3`"))?;
        let bounded = |field: &str, value: Option<&String>, limit: usize| match value {
            Some(v) if v.len() > limit => Err(at(&format!(
                "`{field}` is {} bytes long, over the {limit} bytes it may hold: {}",
                v.len(),
                Excerpt::of(v)
            ))),
            _ => Ok(()),
        };
        bounded("bucket.name", Some(&s3.bucket.name), MAX_BUCKET_BYTES)?;
        bounded("eventVersion", Some(&version), MAX_FIELD_BYTES)?;
        bounded("eventName", Some(&event_name), MAX_FIELD_BYTES)?;
        bounded("eventTime", self.event_time.as_ref(), MAX_FIELD_BYTES)?;
        bounded("awsRegion", self.aws_region.as_ref(), MAX_FIELD_BYTES)?;
        bounded("eTag", s3.object.e_tag.as_ref(), MAX_FIELD_BYTES)?;
        bounded("versionId", s3.object.version_id.as_ref(), MAX_FIELD_BYTES)?;
        bounded("sequencer", s3.object.sequencer.as_ref(), MAX_FIELD_BYTES)?;
        let key = decoded_key(&s3.object.key)?.into_owned();
        Ok(S3ObjectEvent {
            event_version: version,
            event_name,
            event_time: self.event_time,
            region: self.aws_region,
            bucket: s3.bucket.name,
            key,
            raw_key: s3.object.key,
            size: s3.object.size,
            e_tag: s3.object.e_tag,
            // S3 omits versionId for unversioned buckets; some emitters send "null".
            version_id: s3.object.version_id.filter(|v| !v.is_empty() && v != "null"),
            sequencer: s3.object.sequencer.filter(|s| !s.is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(version: &str, key: &str) -> String {
        format!(
            r#"{{"Records":[{{"eventVersion":"{version}","eventName":"ObjectCreated:Put",
            "s3":{{"bucket":{{"name":"b"}},"object":{{"key":"{key}","size":1}}}},"futureField":1}}]}}"#
        )
    }

    #[test]
    fn hostile_documents_fail_with_a_short_error_naming_the_limit() {
        let record = r#"{"eventVersion":"2.1","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}"#;
        let many = format!(r#"{{"Records":[{}]}}"#, vec![record; 5000].join(","));
        let e = S3Notification::from_json(&many).unwrap_err().to_string();
        assert!(e.contains("5000 records, more than the 100"), "{e}");
        let long_key = record.replace(r#""key":"k""#, &format!(r#""key":"{}""#, "a".repeat(5000)));
        let e = S3Notification::from_json(&format!(r#"{{"Records":[{long_key}]}}"#)).unwrap_err().to_string();
        assert!(e.contains("5000 bytes long, over S3's 1024-byte limit") && e.len() < 200, "{e}");
        let encoded =
            record.replace(r#""key":"k""#, &format!(r#""key":"{}{}""#, "%EB%B3%B4".repeat(300), "a".repeat(200)));
        let e = S3Notification::from_json(&format!(r#"{{"Records":[{encoded}]}}"#)).unwrap_err().to_string();
        assert!(e.contains("1100 bytes long"), "{e}");
        let deep = format!(r#"{{"Records":[{{"deep":{}{}}}]}}"#, "[".repeat(100_000), "]".repeat(100_000));
        // Skipped without recursing (no stack to overflow), then the record is judged as it is.
        let e = S3Notification::from_json(&deep).unwrap_err().to_string();
        assert!(e.contains("record 0: missing `eventVersion`"), "{e}");
        let deep_map = format!(r#"{{"Records":{}{}}}"#, r#"[{"s3":"#.repeat(10_000), "}]".repeat(10_000));
        let e = S3Notification::from_json(&deep_map).unwrap_err().to_string();
        assert!(e.len() < 200, "{e}");
        let invalid_utf8 = format!("{}%FF", "a".repeat(2000));
        let e = decode_key(&invalid_utf8).unwrap_err().to_string();
        assert!(e.len() < 200, "the message quotes the start of the key only: {e}");
    }

    #[test]
    fn any_minor_version_of_major_2_is_accepted() {
        for v in ["2.0", "2.1", "2.2", "2.3", "2.17"] {
            assert!(S3Notification::from_json(&doc(v, "k")).is_ok(), "{v}");
        }
    }

    #[test]
    fn other_major_versions_are_refused_with_the_version_named() {
        let err = S3Notification::from_json(&doc("3.0", "k")).unwrap_err();
        assert!(err.to_string().contains("3.0"), "{err}");
        assert!(matches!(err, DecodeError::UnsupportedVersion { .. }));
    }

    #[test]
    fn key_plus_is_space_and_percent_2b_is_plus() {
        assert_eq!(decode_key("red+flower.jpg").unwrap(), "red flower.jpg");
        assert_eq!(decode_key("a%2Bb").unwrap(), "a+b");
        assert_eq!(decode_key("a%20b").unwrap(), "a b");
        assert_eq!(decode_key("100%25").unwrap(), "100%");
    }

    #[test]
    fn key_that_is_not_utf8_is_an_error_naming_the_key() {
        let err = decode_key("bad%FF").unwrap_err();
        assert!(err.to_string().contains("bad%FF"), "{err}");
    }

    #[test]
    fn empty_records_and_unknown_documents_are_errors() {
        assert!(S3Notification::from_json(r#"{"Records":[]}"#).is_err());
        assert!(S3Notification::from_json(r#"{"hello":1}"#).is_err());
        assert!(S3Notification::from_json(r#"{"Event":"s3:Other"}"#).is_err());
        assert!(S3Notification::from_json("not json").is_err());
    }

    #[test]
    fn test_event_is_recognised() {
        let n = S3Notification::from_json(
            r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2014-10-13T15:57:02.089Z","Bucket":"bucketname","RequestId":"5582815E1AEA5ADF","HostId":"8cLeGAmw"}"#,
        )
        .unwrap();
        assert_eq!(n, S3Notification::TestEvent { bucket: Some("bucketname".into()) });
    }
}
