//! The state every API of the service serves from: the functions, the time scale, the
//! records, the SQS and SNS clients. The service builds it; the Invoke API, the SNS endpoint and
//! the subscriptions read it.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Notify;

use crate::function::Function;
use crate::records::Records;

pub(crate) struct Shared {
    pub(crate) functions: HashMap<String, Arc<Function>>,
    pub(crate) time_scale: f64,
    pub(crate) region: String,
    pub(crate) records: Arc<Records>,
    pub(crate) sqs: aws_sdk_sqs::Client,
    pub(crate) sns: aws_sdk_sns::Client,
    pub(crate) confirmed: Notify,
    pub(crate) network: Option<Arc<crate::network::Network>>,
}
