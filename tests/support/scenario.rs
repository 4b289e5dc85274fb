//! One scenario: the workers deployed on the local stack with a partner API, uploads made,
//! everything drained, and every object accounted for on both paths.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use sluice_harness::deployment::{Deployment, Settings};

use sluice_harness::accounting::{Accountant, Path, PathAccount, Upload};
use sluice_harness::partner::{Partner, PartnerReport};
use sluice_harness::proxy::{FaultProxy, Faults, Service};

/// The longest a scenario may take to drain.
pub const SETTLE: Duration = Duration::from_secs(120);

/// The directory holding the worker bootstraps (`target/<profile>`).
pub fn workers() -> PathBuf {
    // target/<profile>/deps/<test> for tests, target/<profile>/<binary> for the soak command.
    let mut dir = std::env::current_exe().unwrap().parent().unwrap().to_owned();
    if dir.ends_with("deps") {
        dir.pop();
    }
    for worker in ["sqs-worker", "sns-worker"] {
        assert!(dir.join(worker).exists(), "{} is missing: cargo build -p {worker}", dir.join(worker).display());
    }
    dir
}

/// Both paths deployed on the local stack, a partner API behind their webhook, the uploads made
/// so far, and the accountant that finds where each ended.
pub struct Scenario {
    /// The SDK configuration of the local stack.
    pub aws: aws_config::SdkConfig,
    /// The pipeline deployed and running.
    pub deployment: Deployment,
    /// Where every upload ended, per path.
    pub accountant: Accountant,
    /// The partner API the workers' webhook posts to.
    pub partner: Partner,
    /// An S3 client for the uploads.
    pub s3: aws_sdk_s3::Client,
    /// The scenario's name (its stack and objects carry it).
    pub name: String,
    /// The uploads made so far.
    pub uploads: Vec<Upload>,
}

impl Scenario {
    /// A scenario with the default deployment settings.
    pub async fn start(name: &str) -> Scenario {
        Self::start_with(name, |settings, _| settings).await
    }

    /// A scenario whose deployment settings `adjust` changes, given the partner.
    pub async fn start_with(name: &str, adjust: impl FnOnce(Settings, &Partner) -> Settings) -> Scenario {
        let partner = Partner::start().await.expect("the partner on loopback");
        let settings = adjust(Settings::default().webhook_url(partner.url.clone()), &partner);
        let (aws, name, log_dir, deployment) = deploy(name, &settings).await;
        Self::assemble(aws, name, log_dir, deployment, partner)
    }

    /// The scenario around a running `deployment`, its partner and its log directory.
    fn assemble(
        aws: aws_config::SdkConfig,
        name: String,
        log_dir: PathBuf,
        deployment: Deployment,
        partner: Partner,
    ) -> Scenario {
        let accountant = Accountant::new(&aws, &deployment.resources, log_dir);
        let s3 = sluice::aws::s3_client(&aws);
        Scenario { aws, deployment, accountant, partner, s3, name, uploads: Vec::new() }
    }

    /// A scenario whose workers run in the network the template's `EnableVpc` and
    /// `StaticEgressIp` describe, with the partner on the internet side at
    /// [`PARTNER_HOST`](sluice_local::network::PARTNER_HOST), allow-listing only the stack's
    /// `StaticEgressIp` output (nobody when the stack has none).
    /// `adjust` changes the rest of the settings.
    pub async fn start_in_network(
        name: &str,
        enable_vpc: bool,
        static_egress_ip: bool,
        adjust: impl FnOnce(Settings) -> Settings,
    ) -> Scenario {
        use sluice_local::network::PARTNER_HOST;
        let settings = Settings::default()
            .webhook_url(format!("http://{PARTNER_HOST}/hook"))
            .network(enable_vpc, static_egress_ip);
        let (aws, name, log_dir, deployment) = deploy(name, &adjust(settings)).await;
        let network = deployment.service.network().expect("a network");
        let listener = network.listen_on_internet(std::net::SocketAddrV4::new(PARTNER_HOST, 80)).expect("the partner");
        let allowed = deployment.stack.outputs.get("StaticEgressIp").map(|ip| ip.parse().expect("an address"));
        let partner =
            Partner::start_on(listener, Duration::ZERO, Some(allowed.into_iter().collect())).expect("the partner");
        Self::assemble(aws, name, log_dir, deployment, partner)
    }

    /// Uploads `count` small CSV objects, each of its own content.
    pub async fn upload(&mut self, count: usize) {
        let uploads = upload(&self.s3, &self.deployment.resources.ingest_bucket, &self.name, count).await;
        self.uploads.extend(uploads);
    }

    /// Waits until everything drained, and accounts for both paths.
    pub async fn finish(&self) -> (BTreeMap<Path, PathAccount>, PartnerReport) {
        (settle(&self.accountant, &self.uploads).await, self.partner.report())
    }

    /// Where the trail of `upload` ends: its lines in the function logs.
    pub async fn trail(&self, path: Path, upload: &Upload) -> String {
        trail(&self.accountant, path, upload).await
    }

    /// Nothing lost, every version processed on both paths, its webhook effect applied once,
    /// no body conflicting under one key.
    pub async fn assert_processed_once(&self, accounts: &BTreeMap<Path, PathAccount>, partner: &PartnerReport) {
        let bucket = &self.deployment.resources.ingest_bucket;
        assert_processed_once(&self.accountant, bucket, &self.uploads, accounts, partner).await;
    }

    /// A scenario whose workers reach S3, DynamoDB and the partner through fault proxies with
    /// `faults` (seeds `seed`, `seed + 1`, `seed + 2`); `adjust` changes the rest of the settings.
    pub async fn start_behind_proxies(
        name: &str,
        faults: Faults,
        seed: u64,
        adjust: impl FnOnce(Settings) -> Settings,
    ) -> (Scenario, Proxies) {
        // A service's own endpoint variable, else the stack's one endpoint.
        let upstream = |var: &str| {
            std::env::var(var)
                .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
                .unwrap_or_else(|_| panic!("{var} is not set: start the stack"))
        };
        let s3 = FaultProxy::start(&upstream("AWS_ENDPOINT_URL"), Service::S3, faults, seed)
            .await
            .expect("a proxy on loopback");
        let dynamodb = FaultProxy::start(&upstream("AWS_ENDPOINT_URL_DYNAMODB"), Service::DynamoDb, faults, seed + 1)
            .await
            .expect("a proxy on loopback");
        let mut webhook = None;
        let scenario = Self::start_with(name, |settings, partner| {
            let base = partner.url.trim_end_matches("/hook").to_owned();
            let proxy = futures_block_on(FaultProxy::start(&base, Service::Http, faults, seed + 2))
                .expect("a proxy on loopback");
            let url = format!("{}/hook", proxy.url);
            webhook = Some(proxy);
            adjust(
                settings
                    .webhook_url(url)
                    .env("AWS_ENDPOINT_URL_S3", s3.url.clone())
                    .env("AWS_ENDPOINT_URL_DYNAMODB", dynamodb.url.clone()),
            )
        })
        .await;
        (scenario, Proxies { s3, dynamodb, webhook: webhook.expect("the webhook proxy") })
    }

    /// A queue subscribed to the topic, to see each notification as S3 sent it.
    pub async fn tap(&self) -> String {
        let sqs = aws_sdk_sqs::Client::new(&self.aws);
        let sns = aws_sdk_sns::Client::new(&self.aws);
        let tap = sqs.create_queue().queue_name(format!("{}-tap", self.name)).send().await.unwrap().queue_url.unwrap();
        let arn_name = aws_sdk_sqs::types::QueueAttributeName::QueueArn;
        let attributes = sqs.get_queue_attributes().queue_url(&tap).attribute_names(arn_name.clone()).send().await;
        let arn = attributes.unwrap().attributes.unwrap()[&arn_name].clone();
        let topic = &self.deployment.resources.topic_arn;
        sns.subscribe().topic_arn(topic).protocol("sqs").endpoint(&arn).send().await.unwrap();
        tap
    }

    /// Delivers every upload's notification again: published to the topic 1 to 3 more times
    /// (2 to 4 in all, drawn from `seed`), and its queued message sent to the work queue once
    /// more, waiting at most `limit` for the tap to see them all. Returns how many times
    /// notifications were published again.
    pub async fn deliver_again(&self, tap: &str, seed: u64, limit: Duration) -> u64 {
        let sqs = aws_sdk_sqs::Client::new(&self.aws);
        let sns = aws_sdk_sns::Client::new(&self.aws);
        let topology = &self.deployment.resources;
        let wanted = self.uploads.len();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let collected = sluice_local::wait::wait_for(limit, || {
            let (sqs, seen) = (sqs.clone(), seen.clone());
            async move {
                let out = sqs.receive_message().queue_url(tap).max_number_of_messages(10).send().await.ok()?;
                for m in out.messages.unwrap_or_default() {
                    let body = m.body().unwrap_or_default().to_owned();
                    if !body.contains("s3:TestEvent") {
                        seen.lock().unwrap().push(body);
                    }
                    let handle = m.receipt_handle().unwrap_or_default().to_owned();
                    let _ = sqs.delete_message().queue_url(tap).receipt_handle(handle).send().await;
                }
                (seen.lock().unwrap().len() >= wanted).then_some(())
            }
        })
        .await;
        let envelopes = seen.lock().unwrap().clone();
        assert!(collected.is_some(), "the tap saw {} of {wanted} notifications", envelopes.len());
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut republished = 0u64;
        for envelope in &envelopes {
            let parsed: serde_json::Value = serde_json::from_str(envelope).unwrap();
            let message = parsed["Message"].as_str().unwrap();
            for _ in 0..rng.u32(1..=3) {
                let publish = sns.publish().topic_arn(&topology.topic_arn).subject("Amazon S3 Notification");
                publish.message(message).send().await.unwrap();
                republished += 1;
            }
            sqs.send_message().queue_url(&topology.work_queue_url).message_body(envelope).send().await.unwrap();
        }
        republished
    }

    /// Stops the local Lambda service.
    pub async fn stop(self) {
        self.deployment.service.shutdown().await;
        let _ = &self.aws;
    }
}

/// Uploads `count` small CSV objects under `incoming/<name>/` of `bucket`, each of its own content.
pub async fn upload(s3: &aws_sdk_s3::Client, bucket: &str, name: &str, count: usize) -> Vec<Upload> {
    let mut uploads = Vec::new();
    for i in 0..count {
        let key = format!("incoming/{name}/{i:04}.csv");
        let body: String = (0..=i % 7).map(|line| format!("{i},{line}\n")).collect();
        let put = s3
            .put_object()
            .bucket(bucket)
            .key(&key)
            .body(ByteStream::from(body.into_bytes()))
            .send()
            .await
            .expect("uploaded");
        uploads.push(Upload { key, version_id: put.version_id.expect("a versioned bucket") });
    }
    uploads
}

/// Waits until `uploads` drained (bounded by [`SETTLE`]), and accounts for both paths.
pub async fn settle(accountant: &Accountant, uploads: &[Upload]) -> BTreeMap<Path, PathAccount> {
    let settled = accountant.settle(uploads, SETTLE).await;
    let mut accounts = BTreeMap::new();
    for path in Path::BOTH {
        accounts.insert(path, accountant.account(path, uploads).await);
    }
    print(&accounts);
    assert!(settled, "not drained within {SETTLE:?}: {accounts:#?}");
    accounts
}

/// Prints each path's account, for a failing test's output.
pub fn print(accounts: &BTreeMap<Path, PathAccount>) {
    println!(
        "{:<5} {:>8} {:>9} {:>10} {:>12} {:>5}",
        "path", "uploaded", "processed", "duplicates", "dead-letter", "lost"
    );
    for (path, a) in accounts {
        let dead: usize = a.dead_lettered.values().sum();
        println!(
            "{:<5} {:>8} {:>9} {:>10} {:>12} {:>5}",
            path.name(),
            a.uploaded,
            a.processed,
            a.duplicates_suppressed,
            dead,
            a.lost.len()
        );
    }
}

/// Where the trail of `upload` ends on `path`: its lines in the function logs.
pub async fn trail(accountant: &Accountant, path: Path, upload: &Upload) -> String {
    let lines = accountant.log_lines(path, &upload.key).await;
    format!("{} {}@{}: {} log lines\n{}", path.name(), upload.key, upload.version_id, lines.len(), lines.join("\n"))
}

/// Nothing lost, every version of `uploads` (to `bucket`) processed on both paths, its webhook
/// effect applied once, no body conflicting under one key.
pub async fn assert_processed_once(
    accountant: &Accountant,
    bucket: &str,
    uploads: &[Upload],
    accounts: &BTreeMap<Path, PathAccount>,
    partner: &PartnerReport,
) {
    for (path, account) in accounts {
        let mut trails = Vec::new();
        for upload in &account.lost {
            trails.push(trail(accountant, *path, upload).await);
        }
        assert!(account.lost.is_empty(), "lost on the {} path:\n{}", path.name(), trails.join("\n\n"));
        assert_eq!(account.processed, uploads.len(), "{} path: {account:#?}", path.name());
    }
    assert!(partner.conflicts.is_empty(), "bodies conflicting under one key: {:?}", partner.conflicts);
    for upload in uploads {
        let identity = upload.identity(bucket);
        let key = sluice_object_summary::idempotency_key(&identity);
        assert!(partner.applied.contains_key(&key), "no webhook effect for {identity}");
    }
    assert_eq!(partner.applied.len(), uploads.len(), "one applied effect per object version");
}

/// Deploys template.yaml with `settings` as a stack of its own, named after `name`: the SDK
/// configuration, the unique name, the log directory and the deployment.
async fn deploy(name: &str, settings: &Settings) -> (aws_config::SdkConfig, String, PathBuf, Deployment) {
    assert!(std::env::var_os("AWS_ENDPOINT_URL").is_some(), "AWS_ENDPOINT_URL is not set: run scripts/test");
    let aws = aws_config::load_from_env().await;
    let name = format!("e2e-{name}-{}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
    let log_dir = std::env::temp_dir().join("sluice-e2e").join(&name);
    let deployment = Deployment::start(&aws, &name, &workers(), &log_dir, settings).await.expect("deployed");
    (aws, name, log_dir, deployment)
}

/// Runs `future` to completion from inside a synchronous closure on the multi-threaded runtime.
pub fn futures_block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(future))
}

/// The fault proxies in front of a scenario's S3, DynamoDB and partner.
pub struct Proxies {
    /// In front of S3.
    pub s3: FaultProxy,
    /// In front of DynamoDB.
    pub dynamodb: FaultProxy,
    /// In front of the partner API.
    pub webhook: FaultProxy,
}

impl Proxies {
    /// Each proxy with its name.
    pub fn named(&self) -> [(&'static str, &FaultProxy); 3] {
        [("S3", &self.s3), ("DynamoDB", &self.dynamodb), ("webhook", &self.webhook)]
    }
}
