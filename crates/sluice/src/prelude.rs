//! What a worker's `main.rs` needs, in one import: `use sluice::prelude::*;`.
//!
//! ```
//! use sluice::prelude::*;
//!
//! let processor = processor_fn(|event: S3ObjectEvent, _: ItemContext| async move {
//!     Ok::<_, ProcessError>(event.key)
//! });
//! let handler = SqsBatchHandler::builder(processor, Idempotency::new(MemoryStore::new())).build();
//! # let _ = handler;
//! ```

pub use crate::{Idempotency, ItemContext, Path, ProcessError, Processor, SnsHandler, SqsBatchHandler, processor_fn};
pub use sluice_events::Json;
pub use sluice_events::s3::S3ObjectEvent;
#[cfg(feature = "dynamodb")]
pub use sluice_idempotency::DynamoDbStore;
pub use sluice_idempotency::MemoryStore;
#[cfg(feature = "redis")]
pub use sluice_idempotency::RedisStore;
