//! AWS Lambda's rules for the two S3 event paths, each defined once, with its source.
//!
//! The local Lambda service plays these rules in real time (on its time scale), and the model
//! of both paths plays them in virtual time. Both read them from here, so the two cannot
//! drift apart: a change of a number changes what both do, and the model's agreement test
//! against a local run catches a rule that one of them applies differently.
//!
//! - [`async_invoke`]: the asynchronous invocation queue (S3 -> SNS -> Lambda);
//! - [`sqs_mapping`]: the SQS event source mapping (S3 -> SNS -> SQS -> Lambda);
//! - [`stream_mapping`]: the Kinesis and DynamoDB Streams event source mappings;
//! - [`scaling`]: concurrency and how fast a function gets new execution environments.
//!
//! Sources are pages of the AWS Lambda Developer Guide (`docs.aws.amazon.com/lambda/latest/dg/`
//! followed by the page name and `.html`) unless a line names another.
//!
//! ```
//! use std::time::Duration;
//! use sluice_rules::async_invoke;
//!
//! // A throttled event is tried again after 1 s, 2 s, 4 s, ... never more than 5 minutes apart.
//! let waits: Vec<Duration> = (0..10).map(async_invoke::throttle_backoff).collect();
//! assert_eq!(waits[0], Duration::from_secs(1));
//! assert_eq!(waits[9], Duration::from_secs(300));
//! ```

pub mod async_invoke;
pub mod scaling;
pub mod sqs_mapping;
pub mod stream_mapping;
