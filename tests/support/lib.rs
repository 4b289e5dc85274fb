//! Support for the end-to-end suite: a partner API that applies each `Idempotency-Key` once,
//! and the accounting of every uploaded object on both paths.

/// Per-object accounting after a scenario.
pub mod accounting;
/// The partner API the webhook posts to.
pub mod partner;
