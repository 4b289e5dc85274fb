//! How much of the benchmark to run, and with what.

use std::path::PathBuf;

/// How much to run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Rounds; every side runs once per round, in turn.
    pub rounds: usize,
    /// Iterations of each side per round.
    pub iterations: usize,
    /// The Python interpreter of the venv with Powertools (`.venv-bench/bin/python`).
    pub python: PathBuf,
    /// The Powertools side's script (`app/sluice-bench/python/powertools_inprocess.py`); the
    /// stream sides run `powertools_streams.py` beside it.
    pub script: PathBuf,
    /// Where the batch file is written.
    pub dir: PathBuf,
    /// The functions under the local Lambda service, if that part runs.
    pub runtime: Option<crate::runtime::RuntimeSettings>,
    /// DynamoDB idempotency on moto, if that part runs.
    pub idempotency: Option<crate::idempotency::IdempotencySettings>,
    /// Peak memory summarising real S3 objects, if that part runs.
    pub memory: Option<crate::memory::MemorySettings>,
}
