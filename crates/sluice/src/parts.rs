//! What a built handler is made of: the engine that runs each message, where dead letters go,
//! the metrics, and the SQS handler's settings. The builder makes one; each handler is made
//! from one.

use std::sync::Arc;

use crate::dead_letter::DeadLetterSink;
use crate::engine::Engine;
use crate::report::EmfMetrics;

/// What a handler is built from.
pub(crate) struct HandlerParts<T> {
    pub engine: Engine<T>,
    pub dead_letters: Option<Arc<dyn DeadLetterSink>>,
    pub metrics: EmfMetrics,
    pub batch_concurrency: usize,
    pub fail_when_all_fail: bool,
}
