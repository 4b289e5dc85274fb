//! Sample events for tests and benchmarks (feature `sample`): S3 `ObjectCreated` events, each
//! in an SNS envelope, each in an SQS message, as Lambda's event source mapping hands them to a
//! function. The S3 event and the envelope are the shapes LocalStack emits (the key form-URL
//! encoded, non-ASCII).

use serde_json::json;

/// Records per batch: the event source mapping's default `BatchSize` (Lambda Developer Guide,
/// services-sqs-parameters).
pub const BATCH_SIZE: usize = 10;

/// One S3 object a message of the batch announces.
#[derive(Debug, Clone)]
pub struct Announced {
    /// The bucket.
    pub bucket: String,
    /// The key as S3 events carry it (form-URL encoded).
    pub key: String,
    /// Bytes.
    pub size: u64,
    /// The ETag, unquoted.
    pub e_tag: String,
    /// The version (versioned buckets only).
    pub version_id: Option<String>,
}

/// The batch as JSON bytes. `round` goes into every message id and version id, so batches of
/// different rounds carry different idempotency keys.
///
/// ```
/// let bytes = sluice_events::sample::batch(0, 10);
/// let event: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
/// assert_eq!(event["Records"].as_array().unwrap().len(), 10);
/// ```
pub fn batch(round: u64, size: usize) -> Vec<u8> {
    let objects: Vec<_> = (0..size)
        .map(|i| Announced {
            bucket: "ingest".into(),
            key: format!("incoming/%EB%B3%B4%EA%B3%A0%EC%84%9C+{i}.csv"),
            size: 20,
            e_tag: "b6d279f30f1a9d827718723951466304".into(),
            version_id: Some(format!("v{round}-{i}")),
        })
        .collect();
    announcing(round, &objects)
}

/// A batch of one message per object in `objects`; `round` goes into the message ids.
///
/// ```
/// use sluice_events::sample::{Announced, announcing};
/// let object = Announced { bucket: "b".into(), key: "k".into(), size: 3, e_tag: "e".into(), version_id: None };
/// let event: serde_json::Value = serde_json::from_slice(&announcing(0, &[object])).unwrap();
/// assert_eq!(event["Records"][0]["eventSource"], "aws:sqs");
/// ```
pub fn announcing(round: u64, objects: &[Announced]) -> Vec<u8> {
    let records: Vec<_> = objects
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let mut object = json!({"key": o.key, "size": o.size, "eTag": o.e_tag, "sequencer": "0055AED6DCD90281E5"});
            if let Some(version) = &o.version_id {
                object["versionId"] = json!(version);
            }
            let s3 = json!({"Records": [{
                "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
                "eventTime": "2026-11-26T14:13:23.751Z", "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "AIDAJDPLRKLG7UEXAMPLE"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {"x-amz-request-id": "fc4a1be6", "x-amz-id-2": "eftixk72aD6Ap51TnqcoF8eFidJG9Z/2"},
                "s3": {"s3SchemaVersion": "1.0", "configurationId": "943d7fa2",
                       "bucket": {"name": o.bucket, "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                                  "arn": format!("arn:aws:s3:::{}", o.bucket)},
                       "object": object}}]});
            let envelope = json!({
                "Type": "Notification", "MessageId": format!("sns-{round}-{i}"),
                "TopicArn": "arn:aws:sns:us-east-1:000000000000:uploads", "Subject": "Amazon S3 Notification",
                "Message": s3.to_string(), "Timestamp": "2026-11-26T14:13:23.773Z", "SignatureVersion": "1",
                "Signature": "IOmUGnghcgy8asWxqU3Eqj2LLMnW+apPBBfKzUOG50a+kWr3fSBF0yQLK6TCvKdJBGe+dFUEYGesZQgfcduIfw221rguhY/sTzf7q08Ucn+pdMoinRKBIGQiNMUWqwsJVdQlCPHwC7UC2Xun2SJAF9QRNBnvVQQIu/CuazJEGHmLCjS94C4YN6HtVd8PkjCl/uGTwjBVLKeTFVWmTmwSCE7NCY67KPLsdwQmgULq7IvKdSmmtYoFI/0w266txLw+nrjRarfcyUvKEA2m2vDV2K0qiSr68RyVDy7o6Bw5D8jykDxToWkqWpV1wuAraZ4SzyUXNCM31DMem4iOsA5ODg==",
                "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem",
                "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-east-1:000000000000:uploads:97554538"
            });
            json!({
                "messageId": format!("m-{round}-{i}"), "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
                "body": envelope.to_string(),
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1545082649183",
                               "SenderId": "AIDAIENQZJOLO23YVJ4VO", "ApproximateFirstReceiveTimestamp": "1545082649185"},
                "messageAttributes": {}, "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
                "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:work", "awsRegion": "us-east-1"
            })
        })
        .collect();
    serde_json::to_vec(&json!({ "Records": records })).expect("JSON values serialise")
}
