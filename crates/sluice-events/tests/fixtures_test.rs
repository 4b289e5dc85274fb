//! Decoding of AWS documentation samples and payloads captured from LocalStack.

use serde_json::Value;
use sluice_events::s3::{S3Notification, S3ObjectEvent};
use sluice_events::{Decoded, decode_body};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Bodies of an SQS ReceiveMessage capture (API casing: `Body`).
fn captured_bodies(name: &str) -> Vec<String> {
    let messages: Vec<Value> = serde_json::from_str(&fixture(name)).unwrap();
    messages.iter().map(|m| m["Body"].as_str().unwrap().to_owned()).collect()
}

fn records(decoded: Decoded<S3ObjectEvent>) -> Vec<S3ObjectEvent> {
    match decoded {
        Decoded::Items(items) => items,
        Decoded::Skip(why) => panic!("skipped: {why}"),
    }
}

const KOREAN_KEY: &str = "incoming/보고서 2026+final.csv";

#[test]
fn aws_documentation_sample_decodes() {
    let body = fixture("aws/s3-event.json");
    let (envelope, decoded) = decode_body::<S3ObjectEvent>(&body).unwrap();
    assert!(envelope.is_none());
    let r = &records(decoded)[0];
    assert_eq!(r.bucket, "mybucket");
    assert_eq!(r.key, "HappyFace.jpg");
    assert_eq!(r.size, Some(1024));
    assert_eq!(r.e_tag.as_deref(), Some("d41d8cd98f00b204e9800998ecf8427e"));
    assert_eq!(r.version_id.as_deref(), Some("096fKKXTRTtl3on89fVO.nfljtsv6qko"));
    assert_eq!(r.sequencer.as_deref(), Some("0055AED6DCD90281E5"));
    assert!(r.is_object_created());
}

#[test]
fn aws_documentation_test_event_is_skipped() {
    let (_, decoded) = decode_body::<S3ObjectEvent>(&fixture("aws/s3-test-event.json")).unwrap();
    assert_eq!(decoded, Decoded::Skip("s3:TestEvent"));
}

#[test]
fn captured_enveloped_delivery_decodes_through_the_sns_envelope() {
    let bodies = captured_bodies("captured/sqs-receive-enveloped.json");
    assert_eq!(bodies.len(), 2);

    let (envelope, decoded) = decode_body::<S3ObjectEvent>(&bodies[0]).unwrap();
    assert_eq!(envelope.unwrap().subject.as_deref(), Some("Amazon S3 Notification"));
    assert_eq!(decoded, Decoded::Skip("s3:TestEvent"));

    let (envelope, decoded) = decode_body::<S3ObjectEvent>(&bodies[1]).unwrap();
    let envelope = envelope.unwrap();
    assert_eq!(envelope.message_id, "d0d5f8b4-c190-4f05-86d8-eacadcccdfce");
    assert_eq!(envelope.topic_arn, "arn:aws:sns:us-east-1:000000000000:capture-uploads");
    let r = &records(decoded)[0];
    assert_eq!(r.key, KOREAN_KEY);
    assert_eq!(r.raw_key, "incoming/%EB%B3%B4%EA%B3%A0%EC%84%9C%202026%2Bfinal.csv");
    assert_eq!(r.version_id.as_deref(), Some("AaIYM.aABCNbBz1OfJph2zcPbbbMrPwY"));
    assert_eq!(r.size, Some(20));
}

#[test]
fn captured_raw_delivery_decodes_without_an_envelope() {
    let bodies = captured_bodies("captured/sqs-receive-raw.json");
    let (envelope, decoded) = decode_body::<S3ObjectEvent>(&bodies[0]).unwrap();
    assert!(envelope.is_none());
    assert_eq!(decoded, Decoded::Skip("s3:TestEvent"));
    let (envelope, decoded) = decode_body::<S3ObjectEvent>(&bodies[1]).unwrap();
    assert!(envelope.is_none());
    assert_eq!(records(decoded)[0].key, KOREAN_KEY);
}

#[test]
fn captured_http_notifications_decode_like_sqs_bodies() {
    let deliveries: Vec<Value> = serde_json::from_str(&fixture("captured/sns-http-deliveries.json")).unwrap();
    let notification = deliveries
        .iter()
        .filter(|d| d["headers"]["x-amz-sns-message-type"] == "Notification")
        .map(|d| d["body"].to_string())
        .find(|b| b.contains("Records"))
        .unwrap();
    let (_, decoded) = decode_body::<S3ObjectEvent>(&notification).unwrap();
    assert_eq!(records(decoded)[0].key, KOREAN_KEY);
}

#[test]
fn multi_record_documents_keep_every_record_and_its_order() {
    let rs = records(decode_body::<S3ObjectEvent>(&fixture("multi-record.json")).unwrap().1);
    assert_eq!(rs.len(), 2);
    assert_eq!(rs[0].key, "incoming/red flower.jpg");
    assert_eq!(rs[0].version_id, None);
    assert_eq!(rs[1].key, "incoming/1+1=2.txt");
    assert_eq!(rs[1].event_version, "2.3");
    assert_eq!(rs[1].event_name, "ObjectCreated:CompleteMultipartUpload");
}

#[test]
fn korean_key_round_trips_through_encoding() {
    // Encode the way AWS does (form-URL, `+` for space) and decode back.
    let encoded: String = KOREAN_KEY
        .bytes()
        .map(|b| match b {
            b' ' => "+".to_owned(),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'/' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    assert!(encoded.contains("%2B") && encoded.contains('+'));
    assert_eq!(sluice_events::s3::decode_key(&encoded).unwrap(), KOREAN_KEY);
}

#[test]
fn an_envelope_around_garbage_names_the_inner_problem() {
    let body = r#"{"Type":"Notification","MessageId":"m","TopicArn":"t","Message":"{\"Records\": 5}"}"#;
    let err = decode_body::<S3ObjectEvent>(body).unwrap_err();
    assert!(err.to_string().contains("S3 event"), "{err}");
    assert!(S3Notification::from_json("{").is_err());
}
