//! Trace context: where each message's trace comes from, what the processor and the code below
//! it see, and what the log lines name.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use serde_json::json;
use sluice::testing::LogLines;
use sluice::trace::{TraceContext, current};
use sluice::{Idempotency, ItemContext, SnsHandler, SqsBatchHandler, processor_fn};
use sluice_events::Json;
use sluice_idempotency::MemoryStore;

const PLENTY: Duration = Duration::from_secs(60);
const INVOCATION: &str = "Root=1-6752a1b0-0123456789abcdef01234567;Parent=1111111111111111;Sampled=1";
const PRODUCER: &str = "Root=1-6752a1b0-fedcba9876543210fedcba98;Parent=2222222222222222;Sampled=1";

/// What the processor saw for one job: its context's trace and the task-local one.
type Seen = Arc<Mutex<Vec<(String, Option<TraceContext>, Option<TraceContext>, Option<Duration>)>>>;

fn recording(seen: Seen) -> impl sluice::Processor<Json<Job>, Output = ()> {
    processor_fn(move |Json(job): Json<Job>, ctx: ItemContext| {
        let seen = seen.clone();
        async move {
            tracing::info!(job = %job.id, "working");
            seen.lock().unwrap().push((job.id, ctx.trace, current(), ctx.age()));
            Ok(())
        }
    })
}

/// JSON log lines, as `telemetry::init_logs` writes them with `AWS_LAMBDA_LOG_FORMAT=JSON`.
trait TraceOf {
    /// The `trace_id` of the span the line with `message` (and `field` = `value`) was logged in.
    fn trace_of(&self, message: &str, field: &str, value: &str) -> Option<String>;
}

impl TraceOf for LogLines {
    fn trace_of(&self, message: &str, field: &str, value: &str) -> Option<String> {
        let line = self
            .parsed()
            .into_iter()
            .find(|l| l["fields"]["message"] == message && l["fields"][field] == value)
            .unwrap_or_else(|| panic!("no line {message:?} with {field}={value}"));
        line["span"]["trace_id"].as_str().map(str::to_owned)
    }
}

fn hex(header: &str) -> String {
    TraceContext::parse(header).unwrap().trace_id.to_string()
}

#[tokio::test(flavor = "current_thread")]
async fn each_sqs_message_runs_under_its_senders_trace_else_the_invocations() {
    let lines = LogLines::default();
    let _guard = tracing::subscriber::set_default(lines.subscriber());
    let seen = Seen::default();
    let handler = SqsBatchHandler::builder(recording(seen.clone()), Idempotency::new(MemoryStore::new()))
        .idempotency_key(|Json(job): &Json<Job>, _| Some(job.id.clone()))
        .log_timeline(true)
        .build();
    let mut event = sqs_event(&[("m-1", &job("a", "ok")), ("m-2", &job("b", "ok")), ("m-3", &job("c", "ok"))]);
    event.records[0].attributes.insert("AWSTraceHeader".into(), PRODUCER.into());
    event.records[2].attributes.insert("AWSTraceHeader".into(), "Root=not-a-trace;Sampled=1".into());
    let sent_ms = sluice_clock::now_millis() - 1_500;
    for record in &mut event.records {
        record.attributes.insert("SentTimestamp".into(), sent_ms.to_string());
    }
    let mut ctx = context(PLENTY);
    ctx.xray_trace_id = Some(INVOCATION.into());

    let response = handler.handle(event, &ctx).await.unwrap();
    assert!(response.batch_item_failures.is_empty(), "a malformed trace header fails nothing: {response:?}");

    let (producer, invocation) = (TraceContext::parse(PRODUCER).ok(), TraceContext::parse(INVOCATION).ok());
    let mut seen = seen.lock().unwrap().clone();
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    let traces: Vec<_> = seen.iter().map(|(id, trace, current, _)| (id.as_str(), *trace, *current)).collect();
    assert_eq!(
        traces,
        [("a", producer, producer), ("b", invocation, invocation), ("c", invocation, invocation)],
        "the context and the task-local trace agree, per message"
    );
    for (id, _, _, age) in &seen {
        let age = age.unwrap_or_else(|| panic!("{id} has no age"));
        assert!(age >= Duration::from_millis(1_500), "{id}: age {age:?} counts from SentTimestamp");
    }

    assert_eq!(lines.trace_of("working", "job", "a"), Some(hex(PRODUCER)), "the processor's own line");
    assert_eq!(lines.trace_of("item done", "message_id", "m-1"), Some(hex(PRODUCER)));
    assert_eq!(lines.trace_of("item done", "message_id", "m-2"), Some(hex(INVOCATION)));
    assert_eq!(lines.trace_of("invocation summary", "path", "sqs"), Some(hex(INVOCATION)));
    let done = lines.parsed().into_iter().find(|l| l["fields"]["message"] == "item done").unwrap();
    assert!(done["fields"]["age_ms"].as_u64().unwrap() >= 1_500, "{done}");
    assert_eq!(done["span"]["requestId"], "req-1", "the request id stays on the line");
    assert_eq!(done["fields"]["sent_ms"], json!(sent_ms), "the line carries the item's timeline");
    assert_eq!(done["fields"]["received_ms"], json!(null), "a stamp the message lacks is left out");
}

#[tokio::test(flavor = "current_thread")]
async fn an_sns_invocation_runs_under_its_lambda_runtime_trace_id() {
    let lines = LogLines::default();
    let _guard = tracing::subscriber::set_default(lines.subscriber());
    let seen = Seen::default();
    let handler =
        SnsHandler::builder(recording(seen.clone()), Idempotency::new(MemoryStore::new())).log_timeline(true).build();
    let mut ctx = context(PLENTY);
    ctx.xray_trace_id = Some(INVOCATION.into());
    handler.handle(sns_event("sns-1", &job("a", "ok")), &ctx).await.unwrap();

    let invocation = TraceContext::parse(INVOCATION).ok();
    let seen = seen.lock().unwrap().clone();
    assert_eq!((seen[0].1, seen[0].2), (invocation, invocation));
    // The SNS Timestamp of the sample event is in the past: its age counts from it.
    assert!(seen[0].3.unwrap() > Duration::from_secs(60));
    assert_eq!(lines.trace_of("working", "job", "a"), Some(hex(INVOCATION)));
    assert_eq!(lines.trace_of("invocation summary", "path", "sns"), Some(hex(INVOCATION)));
    assert_eq!(current(), None, "nothing leaks out of the invocation");
    let done = lines.parsed().into_iter().find(|l| l["fields"]["message"] == "item done").unwrap();
    assert_eq!(done["fields"]["published_ms"], json!(sluice_clock::rfc3339_millis("2026-11-26T14:13:23.773Z")));
}

#[tokio::test(flavor = "current_thread")]
async fn without_any_trace_header_nothing_is_invented_and_lines_stay_as_they_were() {
    let lines = LogLines::default();
    let _guard = tracing::subscriber::set_default(lines.subscriber());
    let seen = Seen::default();
    let handler = SnsHandler::builder(recording(seen.clone()), Idempotency::new(MemoryStore::new())).build();
    let mut ctx = context(PLENTY);
    ctx.xray_trace_id = Some("garbage".into());
    // The span lambda_runtime opens around each invocation.
    let runtime_span = tracing::info_span!("Lambda runtime invoke", requestId = "req-1");
    tracing::Instrument::instrument(handler.handle(sns_event("sns-1", &job("a", "ok")), &ctx), runtime_span)
        .await
        .unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!((seen[0].1, seen[0].2), (None, None));
    assert_eq!(lines.trace_of("working", "job", "a"), None);
    let line = lines.parsed().into_iter().find(|l| l["fields"]["message"] == "item done").unwrap();
    assert_eq!(line["span"]["requestId"], json!("req-1"));
    assert!(line["fields"]["age_ms"].is_u64(), "the age is on the line by default");
    assert_eq!(line["fields"]["published_ms"], json!(null), "the timeline only when asked for");
}
