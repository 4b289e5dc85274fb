//! The AWS SDK configuration every part of the benchmark uses against the local stack: one
//! region, fixed test credentials, and the endpoint of the service the part talks to.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};

/// The configuration for `endpoint` (`None`: the SDK's own endpoints, for a client that makes
/// no request, as the local Lambda service's when no queue or topic is mapped).
pub(crate) fn local(endpoint: Option<&str>) -> SdkConfig {
    let credentials = Credentials::new("test", "test", None, None, "bench");
    let mut config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(credentials));
    if let Some(endpoint) = endpoint {
        config = config.endpoint_url(endpoint);
    }
    config.build()
}
