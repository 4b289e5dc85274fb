//! The batch both sides read: `size` S3 `ObjectCreated` events, each in an SNS envelope, each
//! in an SQS message, as Lambda's event source mapping hands them to a function. The S3 event
//! and the envelope are the shapes LocalStack emits (the key form-URL encoded, non-ASCII).

use serde_json::json;

/// Records per batch: the event source mapping's default `BatchSize` (Lambda Developer Guide,
/// services-sqs-parameters).
pub const BATCH_SIZE: usize = 10;

/// The batch as JSON bytes. `round` goes into every message id and version id, so batches of
/// different rounds carry different idempotency keys.
///
/// ```
/// let bytes = sluice_bench::fixture::batch(0, 10);
/// let event: aws_lambda_events::sqs::SqsEvent = serde_json::from_slice(&bytes).unwrap();
/// assert_eq!(event.records.len(), 10);
/// ```
pub fn batch(round: u64, size: usize) -> Vec<u8> {
    let records: Vec<_> = (0..size)
        .map(|i| {
            let s3 = json!({"Records": [{
                "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
                "eventTime": "2026-11-26T14:13:23.751Z", "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "AIDAJDPLRKLG7UEXAMPLE"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {"x-amz-request-id": "fc4a1be6", "x-amz-id-2": "eftixk72aD6Ap51TnqcoF8eFidJG9Z/2"},
                "s3": {"s3SchemaVersion": "1.0", "configurationId": "943d7fa2",
                       "bucket": {"name": "ingest", "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                                  "arn": "arn:aws:s3:::ingest"},
                       "object": {"key": format!("incoming/%EB%B3%B4%EA%B3%A0%EC%84%9C+{i}.csv"), "size": 20,
                                  "eTag": "b6d279f30f1a9d827718723951466304", "versionId": format!("v{round}-{i}"),
                                  "sequencer": "0055AED6DCD90281E5"}}}]});
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
