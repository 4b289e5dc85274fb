//! The deployment on the local stack: what `template.yaml` defines, provisioned on LocalStack
//! (S3, SNS, SQS) and moto (DynamoDB), with the real worker bootstraps run by the local Lambda
//! service (`sluice-local`). The demo, the end-to-end suite and the compare command run on it.
//!
//! - [`topology`]: the resources, with the template's settings (a test compares the two);
//! - [`demo`]: both paths end to end on sample uploads, a poison object among them.

/// The demo: both paths end to end on the local stack.
pub mod demo;
/// The workers deployed on the local stack.
pub mod deployment;
/// The template's resources on the local stack.
pub mod topology;
