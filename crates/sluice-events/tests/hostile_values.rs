//! Every decode error path, driven with a 1 MiB hostile value where the input can carry one:
//! each error names what was wrong in at most 512 bytes, quoting the value only as a short
//! excerpt with its length. A producer cannot grow a log line or a dead-letter reason by
//! growing its message.

use serde::Deserialize;
use sluice_events::s3::{S3Notification, S3ObjectEvent, decode_key};
use sluice_events::{DecodeError, Json, Payload, decode_body};

/// The bound every error message keeps, whatever the input.
const MAX_ERROR_BYTES: usize = 512;

/// One mebibyte of `c`.
fn mib(c: char) -> String {
    std::iter::repeat_n(c, 1 << 20).collect()
}

fn record(version: &str, name: &str, key: &str) -> serde_json::Value {
    serde_json::json!({"eventVersion": version, "eventName": name,
        "s3": {"bucket": {"name": "b"}, "object": {"key": key, "size": 1}}})
}

fn doc(records: Vec<serde_json::Value>) -> String {
    serde_json::json!({ "Records": records }).to_string()
}

/// Asserts `result` failed with a short message that says `names`.
fn short_error<T: std::fmt::Debug>(case: &str, result: Result<T, DecodeError>, names: &str) -> DecodeError {
    let error = result.expect_err(case);
    let message = error.to_string();
    assert!(message.len() <= MAX_ERROR_BYTES, "{case}: {} bytes: {}…", message.len(), &message[..300]);
    assert!(message.contains(names), "{case}: {message:?} does not say {names:?}");
    error
}

#[test]
fn every_s3_notification_error_is_short_whatever_the_value() {
    let hostile = mib('E');
    let cases: Vec<(&str, String, &str)> = vec![
        ("not JSON", format!("{{{hostile}"), "is not valid JSON"),
        ("cut short", format!(r#"{{"Records":[{{"eventVersion":"{hostile}"#), "EOF while parsing"),
        (
            "a string where a number goes",
            doc(vec![serde_json::json!({"eventVersion": "2.1", "eventName": "n",
            "s3": {"bucket": {"name": "b"}, "object": {"key": "k", "size": hostile}}})]),
            "invalid type: string",
        ),
        ("a string where an array goes", serde_json::json!({ "Records": hostile }).to_string(), "invalid type"),
        (
            "a string where an object goes",
            doc(vec![serde_json::json!({"eventVersion": "2.1", "eventName": "n",
            "s3": hostile})]),
            "invalid type",
        ),
        ("an unknown Event", serde_json::json!({ "Event": format!("s3:{hostile}") }).to_string(), "unknown `Event`"),
        ("neither Records nor Event", serde_json::json!({ hostile.clone(): 1 }).to_string(), "neither `Records`"),
        ("empty Records", doc(vec![]), "`Records` is empty"),
        ("too many Records", doc(vec![record("2.1", "n", "k"); 5000]), "more than the 100"),
        ("no eventVersion", doc(vec![serde_json::json!({"eventName": hostile})]), "missing `eventVersion`"),
        ("no eventName", doc(vec![serde_json::json!({"eventVersion": "2.1", "s3": hostile})]), "invalid type"),
        (
            "no eventName, s3 fine",
            doc(vec![serde_json::json!({"eventVersion": "2.1",
            "s3": {"bucket": {"name": hostile}, "object": {"key": "k"}}})]),
            "missing `eventName`",
        ),
        ("no s3", doc(vec![serde_json::json!({"eventVersion": "2.1", "eventName": hostile})]), "missing `s3`"),
        ("another major version", doc(vec![record(&format!("3.{hostile}"), "n", "k")]), "unsupported S3 eventVersion"),
        ("a key over 1,024 bytes", doc(vec![record("2.1", "n", &hostile)]), "over S3's 1024-byte limit"),
        (
            "a long bucket name",
            doc(vec![serde_json::json!({"eventVersion": "2.1", "eventName": "n",
            "s3": {"bucket": {"name": hostile}, "object": {"key": "k"}}})]),
            "`bucket.name` is 1048576 bytes long",
        ),
        ("a long eventName", doc(vec![record("2.1", &hostile, "k")]), "`eventName` is 1048576 bytes long"),
        (
            "a long versionId",
            doc(vec![serde_json::json!({"eventVersion": "2.1", "eventName": "n", "eventTime": "t",
            "s3": {"bucket": {"name": "b"}, "object": {"key": "k", "versionId": hostile}}})]),
            "`versionId` is",
        ),
        (
            "a long eventTime",
            doc(vec![serde_json::json!({"eventVersion": "2.1", "eventName": "n", "eventTime": hostile,
            "s3": {"bucket": {"name": "b"}, "object": {"key": "k"}}})]),
            "`eventTime` is",
        ),
        (
            "a long awsRegion",
            doc(vec![serde_json::json!({"eventVersion": "2.1", "eventName": "n", "awsRegion": hostile,
            "s3": {"bucket": {"name": "b"}, "object": {"key": "k"}}})]),
            "`awsRegion` is",
        ),
        (
            "a long eTag",
            doc(vec![serde_json::json!({"eventVersion": "2.1", "eventName": "n",
            "s3": {"bucket": {"name": "b"}, "object": {"key": "k", "eTag": hostile}}})]),
            "`eTag` is",
        ),
        (
            "a long sequencer",
            doc(vec![serde_json::json!({"eventVersion": "2.1", "eventName": "n",
            "s3": {"bucket": {"name": "b"}, "object": {"key": "k", "sequencer": hostile}}})]),
            "`sequencer` is",
        ),
        (
            "a key that decodes to over 1,024 bytes",
            doc(vec![record("2.1", "n", &"%41".repeat(1025))]),
            "over S3's 1024-byte limit",
        ),
        (
            "a key that is not UTF-8",
            doc(vec![record("2.1", "n", &format!("{}%FF", "k".repeat(3000)))]),
            "does not decode to UTF-8",
        ),
        (
            "nested half a million deep",
            format!(r#"{{"Records":{}{}}}"#, "[".repeat(1 << 19), "]".repeat(1 << 19)),
            "is not valid JSON",
        ),
    ];
    for (case, input, names) in cases {
        short_error(case, S3Notification::from_json(&input), names);
        // The same document inside an SNS envelope, as the queue path receives it.
        let envelope = serde_json::json!({"Type": "Notification", "MessageId": "m", "TopicArn": "t",
            "Message": input})
        .to_string();
        short_error(case, decode_body::<S3ObjectEvent>(&envelope), names);
    }
}

#[test]
fn the_quoted_values_are_excerpts_with_their_length() {
    let event = serde_json::json!({ "Event": format!("s3:{}", mib('E')) }).to_string();
    let message = S3Notification::from_json(&event).unwrap_err().to_string();
    assert!(message.contains(r#""s3:EEEE"#) && message.contains("…\" (1,048,579 bytes)"), "{message}");
    let version = doc(vec![record(&format!("3.{}", mib('9')), "n", "k")]);
    let error = S3Notification::from_json(&version).unwrap_err();
    assert!(matches!(&error, DecodeError::UnsupportedVersion { found, .. } if found.len() == 2 + (1 << 20)));
    let key = decode_key(&format!("{}%FF", "\u{1}".repeat(1000))).unwrap_err().to_string();
    assert!(key.contains(r#""\u{1}\u{1}"#) && key.contains("(1,003 bytes)"), "control characters escaped: {key}");
}

#[test]
fn a_json_payload_error_is_short_whatever_the_value() {
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Order {
        id: u64,
        kind: Kind,
    }
    #[derive(Debug, Deserialize)]
    enum Kind {
        Standard,
    }
    let hostile = mib('x');
    let cases = [
        ("a string where a number goes", serde_json::json!({"id": hostile, "kind": "Standard"}), "invalid type"),
        ("an unknown variant", serde_json::json!({"id": 1, "kind": hostile}), "unknown variant"),
        ("an unknown field", serde_json::json!({"id": 1, "kind": "Standard", hostile.clone(): 1}), "unknown field"),
        ("a missing field", serde_json::json!({"kind": "Standard"}), "missing field `id`"),
    ];
    for (case, value, names) in cases {
        short_error(case, <Json<Order>>::decode(&value.to_string()), names);
    }
    short_error("not JSON", <Json<Order>>::decode(&format!("[{hostile}")), "is not valid JSON");
}
