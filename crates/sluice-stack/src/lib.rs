//! The deployment on the local stack: what `template.yaml` defines, provisioned on LocalStack
//! (S3, SNS, SQS) and moto (DynamoDB), with the real worker bootstraps run by the local Lambda
//! service (`sluice-local`), and the instruments that watch it. The demo, the end-to-end suite
//! and `sluice compare` run on it.
//!
//! - [`topology`]: the resources, with the template's settings (a test compares the two);
//! - [`deployment`]: both workers running on a topology, with what a run may vary;
//! - [`partner`]: the downstream API the workers' webhook posts to (latency, outage windows);
//! - [`proxy`]: a fault proxy and request meter in front of S3, DynamoDB or the partner;
//! - [`accounting`]: where every uploaded object ended on each path;
//! - [`demo`]: both paths end to end on sample uploads, a poison object among them;
//! - [`network_demo`]: both paths in Lambda's network, a VPC without NAT, or behind a NAT
//!   gateway, with the address each invocation's webhook calls came from.

/// Where every uploaded object ended, per path.
pub mod accounting;
/// The demo: both paths end to end on the local stack.
pub mod demo;
/// The workers deployed on the local stack.
pub mod deployment;
/// The networking demonstration: egress addresses per invocation.
pub mod network_demo;
/// The partner API the workers' webhook posts to.
pub mod partner;
/// A fault proxy and request meter.
pub mod proxy;
/// The template's resources on the local stack.
pub mod topology;
