//! The deployment on the local stack: a SAM template deployed through the local stack's
//! CloudFormation engine, its functions (the real worker bootstraps) run by the local Lambda
//! service (`sluice-local`) as the deployed stack configures them, and the instruments that
//! watch it. The demo, the end-to-end suite and `sluice compare` run on `template.yaml`.
//!
//! - [`cfn_yaml`]: CloudFormation YAML, short-form intrinsics included, read as JSON;
//! - [`template`]: a SAM template's functions and where their code comes from;
//! - [`artifacts`]: each function's bootstrap, built or found;
//! - [`stack`]: deploy, read back and delete a stack, and the local Lambda service's
//!   configuration read from it;
//! - [`resources`]: the pipeline's resources in a deployed `template.yaml` stack;
//! - [`samconfig`]: the stack name and parameters `sam deploy --config-file` would use;
//! - [`deployment`]: the pipeline deployed and running, with what a run may vary;
//! - [`partner`]: the downstream API the workers' webhook posts to (latency, outage windows);
//! - [`proxy`]: a fault proxy and request meter in front of S3, DynamoDB or the partner;
//! - [`accounting`]: where every uploaded object ended on each path;
//! - [`demo`]: both paths end to end on sample uploads, a poison object among them;
//! - [`network_demo`]: both paths in Lambda's network, a VPC without NAT, or behind a NAT
//!   gateway, with the address each invocation's webhook calls came from.

/// Where every uploaded object ended, per path.
pub mod accounting;
/// Each function's bootstrap, built or found.
pub mod artifacts;
/// CloudFormation YAML to JSON.
pub mod cfn_yaml;
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
/// The pipeline's resources in a deployed stack.
pub mod resources;
/// `samconfig.toml`'s stack name and parameter overrides.
pub mod samconfig;
/// A SAM template deployed as a stack, and read back.
pub mod stack;
/// A SAM template's functions.
pub mod template;
