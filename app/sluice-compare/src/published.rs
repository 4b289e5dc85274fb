//! Published AWS figures to show beside the local measurements, never in their place: local
//! latencies are this machine's local stack, not AWS's.

use serde::Serialize;

/// A published messaging latency, producer to consumer Lambda.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PublishedLatency {
    /// The path measured.
    pub path: &'static str,
    /// Median, ms.
    pub p50_ms: f64,
    /// 90th percentile, ms (`None`: not published).
    pub p90_ms: Option<f64>,
    /// 99th percentile, ms.
    pub p99_ms: f64,
}

/// Where the latencies come from.
pub const LATENCY_SOURCE: &str = "bitesizedserverless.com, \"Serverless Messaging: Latency Compared\" \
     (eu-west-1, 2022-09, 1,024 messages per path)";

/// The published latencies of the two paths' building blocks.
pub const LATENCIES: [PublishedLatency; 4] = [
    PublishedLatency { path: "SQS standard -> event source mapping", p50_ms: 16.2, p90_ms: Some(33.8), p99_ms: 105.0 },
    PublishedLatency { path: "SQS FIFO -> event source mapping", p50_ms: 28.1, p90_ms: Some(61.2), p99_ms: 645.0 },
    PublishedLatency { path: "SNS -> Lambda (async)", p50_ms: 73.0, p90_ms: Some(125.0), p99_ms: 225.0 },
    PublishedLatency { path: "SNS FIFO -> SQS -> Lambda", p50_ms: 40.1, p90_ms: None, p99_ms: 497.0 },
];

/// How an event source mapping on a standard queue scales (services-sqs-scaling).
pub const MAPPING_SCALING: &str = "A standard queue's mapping starts with 5 concurrent batches and adds up to \
     300 concurrent invocations a minute while messages wait, up to 1,250 per mapping; MaximumConcurrency \
     (2 to 1,000) caps one mapping (AWS Lambda Developer Guide, services-sqs-scaling).";

/// What an asynchronous invocation does on failure (invocation-async-error-handling).
pub const ASYNC_RETRIES: &str = "An asynchronous event that fails is retried twice, about 1 and 2 minutes \
     later, then kept in a DLQ or on-failure destination if one is configured, else dropped \
     (AWS Lambda Developer Guide, invocation-async-error-handling).";
