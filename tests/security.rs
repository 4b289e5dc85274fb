//! Hostile and unauthenticated traffic: signed webhooks with a secret from AWS Secrets Manager,
//! verified by the partner as a partner would. Run by `scripts/test`; `#[ignore]`d for a bare
//! `cargo test`.

use std::collections::HashMap;

use sluice_e2e::scenario::Scenario;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local stack: run scripts/test"]
async fn every_webhook_post_is_signed_with_the_secrets_manager_secret_and_verifies() {
    let aws = aws_config::load_from_env().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&aws);
    let secret = uuid::Uuid::new_v4().simple().to_string();
    let name = format!("e2e-webhook-signing-{}", &secret[..8]);
    let created = secrets.create_secret().name(&name).secret_string(&secret).send().await.expect("a secret");
    let (arn, version) = (created.arn().unwrap().to_owned(), created.version_id().unwrap().to_owned());
    let mut scenario = Scenario::start_with("signed", |settings, _| settings.env("WEBHOOK_SECRET_ARN", &arn)).await;
    // The partner holds the secret under its version id, the key id each signature names.
    scenario.partner.require_signatures(HashMap::from([(version.clone(), secret.into_bytes())]));
    scenario.upload(4).await;
    let (accounts, partner) = scenario.finish().await;
    scenario.assert_processed_once(&accounts, &partner).await;
    assert_eq!(partner.refused_signatures, 0, "every POST carried a valid signature");
    assert!(partner.calls.iter().all(|c| c.status == 201), "{:?}", partner.calls);
    scenario.stop().await;
    secrets.delete_secret().secret_id(&arn).force_delete_without_recovery(true).send().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local stack: run scripts/test"]
async fn a_partner_holding_another_secret_refuses_every_post_and_the_objects_keep_their_reason() {
    let mut scenario = Scenario::start_with("forged", |settings, _| {
        settings.env("WEBHOOK_SECRET", "the worker's secret").env("WEBHOOK_SECRET_KEY_ID", "k1")
    })
    .await;
    scenario.partner.require_signatures(HashMap::from([("k1".to_owned(), b"the partner's secret".to_vec())]));
    scenario.upload(2).await;
    let letters = sluice_local::wait::wait_for(sluice_e2e::scenario::SETTLE, || {
        let accountant = &scenario.accountant;
        async move { Some(accountant.letters(sluice_harness::accounting::Path::Sqs).await).filter(|l| l.len() >= 2) }
    })
    .await
    .expect("both objects in the queue path's DLQ");
    for letter in &letters {
        assert!(letter.reason.contains(r#"answered 401: "signature does not match the body""#), "{letter:#?}");
    }
    let partner = scenario.partner.report();
    assert!(partner.applied.is_empty() && partner.refused_signatures >= 2, "{partner:?}");
    scenario.stop().await;
}
