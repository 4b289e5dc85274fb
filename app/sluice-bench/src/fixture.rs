//! The batch both sides read: [`BATCH_SIZE`] S3 `ObjectCreated` events, each in an SNS
//! envelope, each in an SQS message (`sluice_events::sample`, shared with the library's
//! criterion benches).

pub use sluice_events::sample::{Announced, BATCH_SIZE, announcing, batch};
