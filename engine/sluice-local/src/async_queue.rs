//! Asynchronous invocation: the internal queue, retries, the DLQ and the on-failure destination.
//!
//! `Invoke` with `Event` answers 202 at once and queues the event (Lambda Developer Guide,
//! invocation-async). A failed attempt (function error, timeout, runtime exit) is retried
//! `MaximumRetryAttempts` times (0 to 2, default 2) about 1 and 2 minutes later
//! ([`crate::config::ASYNC_RETRY_DELAYS`], on the service's time scale), unless the event would
//! be older than `MaximumEventAgeInSeconds`. Every attempt keeps the request id of the first:
//! Lambda's retries of one event share it (AWS re:Post knowledge center, "lambda function
//! duplicate invocations": duplicates "with the same request ID" are the Lambda service's
//! retries). Then the event goes to the dead-letter queue as-is, with the message attributes
//! `RequestID` (String), `ErrorCode` (Number, the status code of the last attempt: 200 for a
//! function error, 429 for a throttle) and `ErrorMessage` (String, at most 1 KB), and the
//! invocation record to the on-failure destination (invocation-async-retain-records). A
//! function with reserved concurrency 0 sends new events there at once, without retries
//! (invocation-async: "Reserved concurrency 0"). An event that finds no concurrency is
//! throttled: returned to the queue and tried again with backoff (1 s doubling to 5 min) until
//! its event age runs out; throttles are not retries. The rules and their numbers are
//! [`sluice_rules::async_invoke`]'s, which the model of both paths plays too.

use std::sync::Arc;
use std::time::SystemTime;

use aws_sdk_sqs::types::MessageAttributeValue;
use serde_json::json;
use sluice_rules::async_invoke::{self, GiveUp};
use time::format_description::well_known::Rfc3339;
use tokio::time::Instant;

use crate::function::{Function, InvokeRequest, InvokeResult};
use crate::records::{AsyncEventRecord, Trigger};

/// Lambda cuts `ErrorMessage` to its first kilobyte.
const ERROR_MESSAGE_BYTES: usize = 1024;

/// Runs `event` through `function` with Lambda's asynchronous retry rules, AWS's waits
/// divided by `time_scale`. Every attempt continues one trace: the caller's, else one started
/// for the event.
pub(crate) async fn run(
    function: Arc<Function>,
    sqs: aws_sdk_sqs::Client,
    event: Vec<u8>,
    request_id: String,
    trace: Option<sluice_trace::TraceContext>,
    time_scale: f64,
) {
    let trace = Some(trace.unwrap_or_else(crate::trace::new_trace));
    let received = Instant::now();
    let config = function.config.async_invoke.clone();
    let maximum_event_age = config.maximum_event_age.div_f64(time_scale);
    let mut attempts = 0u32;
    let mut throttles = 0u32;
    let (last, condition) = loop {
        if function.always_throttled() {
            let reason = crate::concurrency::ThrottleReason::Reserved;
            break (InvokeResult::throttled(request_id.clone(), reason), GiveUp::RetriesExhausted);
        }
        let slot = match function.try_slot() {
            Ok(slot) => slot,
            Err(reason) => {
                // Back to the queue, and tried again later: throttles are not retries.
                let wait = async_invoke::throttle_backoff_jittered(throttles, fastrand::f64()).div_f64(time_scale);
                throttles += 1;
                function.records.throttle(&function.config.name, Trigger::Async);
                if received.elapsed() + wait > maximum_event_age {
                    break (InvokeResult::throttled(request_id.clone(), reason), GiveUp::EventAgeExceeded);
                }
                tokio::time::sleep(wait).await;
                continue;
            }
        };
        attempts += 1;
        let request = InvokeRequest {
            request_id: request_id.clone(),
            attempt: attempts,
            throttles,
            queue_wait: received.elapsed(),
            trace,
            ..InvokeRequest::new(event.clone(), Trigger::Async)
        };
        let result = function.invoke(slot, request).await;
        if result.is_success() {
            let record = AsyncEventRecord {
                function: function.config.name.clone(),
                request_id,
                attempts,
                throttles,
                succeeded: true,
                condition: None,
                dead_lettered: false,
                sent_to_destination: false,
            };
            function.records.async_event(record);
            return;
        }
        let Some(delay) = async_invoke::retry_delay(attempts - 1, config.maximum_retry_attempts) else {
            break (result, GiveUp::RetriesExhausted);
        };
        let delay = delay.div_f64(time_scale);
        if received.elapsed() + delay > maximum_event_age {
            break (result, GiveUp::EventAgeExceeded);
        }
        tracing::info!(function = %function.config.name, attempt = attempts, delay_ms = delay.as_millis() as u64,
            error = %result.error_message(), "async invocation failed; retrying");
        tokio::time::sleep(delay).await;
    };
    let condition = condition.as_str();
    tracing::warn!(function = %function.config.name, attempts, throttles, condition, error = %last.error_message(),
        "async invocation failed for good");
    let mut dead_lettered = false;
    if let Some(url) = &config.dead_letter_queue_url {
        function.records.sqs_request(&function.config.name, "SendMessage");
        dead_lettered = send_dead_letter(&sqs, url, &event, &last).await;
    }
    let mut sent_to_destination = false;
    if let Some(url) = &config.on_failure_queue_url {
        function.records.sqs_request(&function.config.name, "SendMessage");
        let record = invocation_record(&function, &event, &last, attempts, condition);
        match sqs.send_message().queue_url(url).message_body(record.to_string()).send().await {
            Ok(_) => sent_to_destination = true,
            Err(e) => {
                tracing::error!(error = %aws_sdk_sqs::error::DisplayErrorContext(&e), "on-failure destination send failed")
            }
        }
    }
    function.records.async_event(AsyncEventRecord {
        function: function.config.name.clone(),
        request_id,
        attempts,
        throttles,
        succeeded: false,
        condition: Some(condition),
        dead_lettered,
        sent_to_destination,
    });
}

/// Sends the event to the DLQ; false if the send failed (Lambda then drops the event).
async fn send_dead_letter(sqs: &aws_sdk_sqs::Client, url: &str, event: &[u8], last: &InvokeResult) -> bool {
    let mut message = last.error_message();
    if message.len() > ERROR_MESSAGE_BYTES {
        let mut end = ERROR_MESSAGE_BYTES;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
    }
    let attribute = |kind: &str, value: String| {
        MessageAttributeValue::builder().data_type(kind).string_value(value).build().expect("type and value are set")
    };
    let sent = sqs
        .send_message()
        .queue_url(url)
        .message_body(String::from_utf8_lossy(event))
        .message_attributes("RequestID", attribute("String", last.request_id.clone()))
        .message_attributes("ErrorCode", attribute("Number", last.status_code.to_string()))
        .message_attributes("ErrorMessage", attribute("String", message))
        .send()
        .await;
    if let Err(e) = &sent {
        // Lambda then drops the event and emits DeadLetterErrors.
        tracing::error!(error = %aws_sdk_sqs::error::DisplayErrorContext(e), "dead-letter queue send failed");
    }
    sent.is_ok()
}

/// The invocation record Lambda sends to destinations (invocation-async-retain-records).
fn invocation_record(
    function: &Function,
    event: &[u8],
    last: &InvokeResult,
    attempts: u32,
    condition: &str,
) -> serde_json::Value {
    let timestamp = time::OffsetDateTime::from(SystemTime::now()).format(&Rfc3339).unwrap_or_default();
    let payload =
        serde_json::from_slice::<serde_json::Value>(event).unwrap_or_else(|_| json!(String::from_utf8_lossy(event)));
    let response = serde_json::from_slice::<serde_json::Value>(&last.body).unwrap_or(serde_json::Value::Null);
    json!({
        "version": "1.0",
        "timestamp": timestamp,
        "requestContext": {
            "requestId": last.request_id,
            "functionArn": format!("{}:$LATEST", function.arn),
            "condition": condition,
            "approximateInvokeCount": attempts
        },
        "requestPayload": payload,
        "responseContext": { "statusCode": last.status_code, "executedVersion": "$LATEST", "functionError": "Unhandled" },
        "responsePayload": response
    })
}
