//! Why the benchmark could not run.

/// Why the benchmark could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// A file could not be written or read.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The Python side did not run or did not answer as expected.
    #[error("the Powertools side failed: {0}")]
    Python(String),
    /// The batch did not decode or a handler failed a record.
    #[error("the sluice side failed: {0}")]
    Sluice(String),
}
