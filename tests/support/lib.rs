//! Support for the end-to-end suite: a partner API that applies each `Idempotency-Key` once,
//! and the accounting of every uploaded object on both paths.

/// Per-object accounting after a scenario.
pub mod accounting;
/// A fault proxy in front of S3, DynamoDB and the partner.
pub mod fault_proxy;
/// The partner API the webhook posts to.
pub mod partner;
/// A scenario: deployment, partner, uploads, accounting.
pub mod scenario;
