//! `DeferredTlsClient` reads the system's TLS roots at the first HTTPS request, not when SDK
//! clients are built. Its own test binary: the roots are loaded once per process.
//!
//! The roots file is made not to exist, and the SDK panics when it loads roots and finds none:
//! that panic shows when the loading happens.

#[tokio::test]
async fn the_tls_roots_load_at_the_first_https_request_not_when_clients_are_built() {
    // SAFETY: set before anything in this process reads the environment or starts a thread
    // that could; this binary has no other test.
    unsafe {
        std::env::set_var("SSL_CERT_FILE", "/nonexistent/sluice-test-roots.pem");
        std::env::set_var("SSL_CERT_DIR", "/nonexistent");
    }
    let aws = aws_config::from_env()
        .http_client(sluice_object_summary::DeferredTlsClient::new())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new("k", "s", None, None, "test"))
        .endpoint_url("https://127.0.0.1:1")
        .load()
        .await;
    // Building clients reads no roots (or this would panic here).
    let s3 = aws_sdk_s3::Client::new(&aws);
    let _dynamodb = aws_sdk_dynamodb::Client::new(&aws);

    let first_request = tokio::spawn(async move { s3.list_buckets().send().await }).await;
    let panic = first_request.expect_err("the first HTTPS request loads the roots, and finds none").into_panic();
    let message = match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(text), _) => text.to_string(),
        (_, Some(text)) => text.clone(),
        _ => String::new(),
    };
    assert!(message.contains("no valid root certificates"), "{message}");
}
