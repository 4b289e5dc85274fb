//! The sample pipeline deployed on the local stack, and the instruments that watch it: the
//! repository's `template.yaml` deployed through the generic engine (`sluice-sam`), its two
//! workers run by the local Lambda service, and what the demo, the end-to-end suites, `sluice
//! compare` and `sluice bench` measure them with.
//!
//! - [`resources`]: the pipeline's resources in a deployed `template.yaml` stack;
//! - [`deployment`]: the pipeline deployed and running, with what a run may vary;
//! - [`partner`]: the downstream API the workers' webhook posts to (latency, outage windows);
//! - [`proxy`]: a fault proxy and request meter in front of S3, DynamoDB or the partner;
//! - [`accounting`]: where every uploaded object ended on each path;
//! - [`provisioned`]: the pipeline made by API calls, for LocalStack, whose CloudFormation cannot
//!   deploy the template here;
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
/// The pipeline made by API calls, for a stack without a usable CloudFormation.
pub mod provisioned;
/// A fault proxy and request meter.
pub mod proxy;
/// The pipeline's resources in a deployed stack.
pub mod resources;
