//! Why the service could not start.

use crate::sqs_mapping::MappingError;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A function's runtime cannot run here.
    #[error("function {function}: {source}")]
    Runtime {
        /// The function.
        function: String,
        /// Why, and what would make it run.
        #[source]
        source: crate::launch::RuntimeUnavailable,
    },
    /// A listener could not be bound.
    #[error("cannot listen: {0}")]
    Listen(#[from] std::io::Error),
    /// A mapping or subscription names a function that does not exist.
    #[error("unknown function {0:?}")]
    UnknownFunction(String),
    /// A setting is outside the range Lambda accepts.
    #[error("InvalidParameterValueException: {0}")]
    Invalid(String),
    /// The functions' network could not be built.
    #[error("network: {0}")]
    Network(#[from] crate::netns::NetworkError),
    /// A mapping was refused.
    #[error("event source mapping for {function}: {source}")]
    Mapping {
        /// The function.
        function: String,
        /// Why.
        #[source]
        source: MappingError,
    },
    /// An SNS subscription failed or was not confirmed in time.
    #[error("SNS subscription of {function} to {topic}: {message}")]
    Subscription {
        /// The function.
        function: String,
        /// The topic.
        topic: String,
        /// What went wrong.
        message: String,
    },
}
