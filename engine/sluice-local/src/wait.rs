//! Waiting on a condition with a deadline, instead of sleeping and hoping: for tests, demos
//! and anything that watches the local stack until something has happened.

use std::time::Duration;

/// One message from the queue at `url`, with its message attributes, long-polling 1 s; `None`
/// when there is none (or the call failed).
pub async fn receive_one(sqs: &aws_sdk_sqs::Client, url: &str) -> Option<aws_sdk_sqs::types::Message> {
    let out =
        sqs.receive_message().queue_url(url).wait_time_seconds(1).message_attribute_names("All").send().await.ok()?;
    out.messages.unwrap_or_default().into_iter().next()
}

/// Waits, at most `limit`, until `check` returns `Some`.
pub async fn wait_for<T, F, Fut>(limit: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let end = tokio::time::Instant::now() + limit;
    loop {
        if let Some(found) = check().await {
            return Some(found);
        }
        if tokio::time::Instant::now() >= end {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
