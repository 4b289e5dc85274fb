//! Support for the end-to-end suite: a scenario is a deployment on the local stack with a
//! partner API, uploads, and the accounting of every object on both paths. The instruments
//! (accountant, partner, fault proxy) live in `sluice-harness`, which `sluice compare` shares.

/// A scenario: deployment, partner, uploads, accounting.
pub mod scenario;

/// `sluice local up` as a child process.
pub mod local_up;
