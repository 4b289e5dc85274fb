//! The AWS SDK's HTTP client, with its TLS roots loaded when the first connection needs them.
//!
//! The SDK's default client reads and parses the system's root certificates when an SDK client
//! is built, so that the first request does not pay for it. In a Lambda function that puts the
//! cost in the init phase of every cold start: on the benchmark machine it was about 8 ms of
//! `sqs-worker`'s 13 ms from process start to the first `/next` (`scripts/bench`; BENCHMARKS.md),
//! whether or not the event needs AWS at all, and even when every endpoint is plain HTTP (the
//! local stack). [`DeferredTlsClient`] is the same client (hyper, rustls with aws-lc) without
//! that early step: the roots load once, when the first HTTPS connection is made.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::{HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector};
use aws_smithy_runtime_api::client::runtime_components::{RuntimeComponents, RuntimeComponentsBuilder};
use aws_smithy_types::config_bag::ConfigBag;

/// The SDK's default HTTPS client, minus loading the TLS roots at client construction.
///
/// ```no_run
/// # async fn f() {
/// let aws = aws_config::from_env().http_client(sluice_object_summary::DeferredTlsClient::new()).load().await;
/// let s3 = aws_sdk_s3::Client::new(&aws); // no certificate read yet
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct DeferredTlsClient {
    inner: SharedHttpClient,
}

impl DeferredTlsClient {
    /// The client: hyper with rustls on aws-lc, as the SDK's default.
    pub fn new() -> Self {
        use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
        let inner =
            aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::AwsLc)).build_https();
        DeferredTlsClient { inner }
    }
}

impl Default for DeferredTlsClient {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpClient for DeferredTlsClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        self.inner.http_connector(settings, components)
    }

    /// The default client builds a connector here, loading the roots; this one waits for the
    /// first request's [`HttpClient::http_connector`] call.
    fn validate_base_client_config(&self, _: &RuntimeComponentsBuilder, _: &ConfigBag) -> Result<(), BoxError> {
        Ok(())
    }
}
