//! The state every API of the service serves from: the functions, the time scale, the
//! records, the SQS and SNS clients. The service builds it; the Invoke API, the SNS endpoint and
//! the subscriptions read it.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Notify;

use crate::function::Function;
use crate::records::Records;

pub(crate) struct Shared {
    /// By their key in the configuration.
    pub(crate) functions: HashMap<String, Arc<Function>>,
    pub(crate) time_scale: f64,
    pub(crate) region: String,
    pub(crate) records: Arc<Records>,
    pub(crate) sqs: aws_sdk_sqs::Client,
    pub(crate) sns: aws_sdk_sns::Client,
    pub(crate) confirmed: Notify,
    pub(crate) network: Option<Arc<crate::network::Network>>,
    /// The event source mappings, each with its UUID, as the control API lists them.
    pub(crate) event_source_mappings: Vec<(String, crate::config::EventSourceMappingConfig)>,
}

/// What the Lambda API finds for a function name.
pub(crate) enum Lookup {
    /// The function of that deployed name.
    Found(Arc<Function>),
    /// A configuration key (a logical ID) whose function Lambda knows by another name: Lambda
    /// does not accept it, and the answer says the name it does.
    KnownAs(String),
    /// Nothing by that name.
    Missing,
}

impl Shared {
    /// The function Lambda knows as `name` (a deployed name, already taken out of any ARN).
    pub(crate) fn by_deployed_name(&self, name: &str) -> Lookup {
        if let Some(f) = self.functions.values().find(|f| f.config.deployed_name() == name) {
            return Lookup::Found(f.clone());
        }
        match self.functions.get(name) {
            Some(f) => Lookup::KnownAs(f.config.deployed_name().to_owned()),
            None => Lookup::Missing,
        }
    }
}
