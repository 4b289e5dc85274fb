//! One comparison run: both paths deployed on one topic, so both see the same S3 events; each
//! path's worker posting to its own partner API (which takes the processing time to answer
//! and can be down for a window) through its own request meters; the uploads made on the
//! workload's schedule; the work queue sampled; everything drained; then every figure computed
//! from what was recorded.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_sqs::types::QueueAttributeName;
use sluice_clock::epoch_millis as epoch_ms;
use sluice_harness::accounting::{Accountant, Path, Upload};
use sluice_harness::deployment::{Deployment, SNS_WORKER, SQS_WORKER, Settings};
use sluice_harness::partner::Partner;
use sluice_harness::proxy::{FaultProxy, Faults, Service};
use sluice_local::{InvocationRecord, Trigger};

use crate::comparison::{Comparison, CompressedTiming};
use crate::figures::{Observed, PathFigures};
use crate::model::calibrate::{LocalRun, settings_for};
use crate::model::check::agreement;
use crate::prices::US_EAST_1;
use crate::workload::{Workload, WorkloadError};

/// Where a run finds its workers and puts its logs.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The directory with the `sqs-worker` and `sns-worker` bootstraps.
    pub workers: PathBuf,
    /// Where the function logs go.
    pub log_dir: PathBuf,
    /// The longest the run waits for both paths to drain after the last upload.
    pub drain_limit: Duration,
}

/// What a run reports while it goes, for a progress bar.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// A new phase; `total` steps (0: no count).
    Phase {
        /// What it does.
        name: &'static str,
        /// Steps in it.
        total: u64,
    },
    /// Steps of the phase done so far.
    Done(u64),
}

/// Why a run could not be made; each says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompareError {
    /// An option out of range.
    #[error("invalid option {0}")]
    Workload(#[from] WorkloadError),
    /// A worker bootstrap is not where it should be.
    #[error("worker binary {0} is missing: build it with `cargo build -p sqs-worker -p sns-worker` (scripts/run does)")]
    WorkerMissing(PathBuf),
    /// The variables that point the SDK at the local stack are not set.
    #[error("{0} is not set: run `scripts/run`, or start the stack and `eval \"$(scripts/stack env)\"`")]
    EndpointNotSet(&'static str),
    /// The local stack does not answer.
    #[error("{service} does not answer at {endpoint} ({detail}): start the local stack with `scripts/stack start`")]
    StackUnreachable {
        /// The local stack (moto) or DynamoDB.
        service: &'static str,
        /// Where it was called.
        endpoint: String,
        /// What the call said.
        detail: String,
    },
    /// A loopback port for the partner or a meter could not be bound.
    #[error("cannot listen on loopback for the {what}: {source}")]
    Listen {
        /// Which.
        what: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// Provisioning or the local Lambda service failed.
    #[error("deploying the two paths failed: {0}")]
    Deploy(String),
    /// An upload failed.
    #[error("uploading {key} failed: {detail}")]
    Upload {
        /// The object key.
        key: String,
        /// What S3 said.
        detail: String,
    },
}

/// The worker binaries `template.yaml` names (`BuildProperties.Binary`).
const WORKER_BINARIES: [&str; 2] = ["sqs-worker", "sns-worker"];
/// What answers at `AWS_ENDPOINT_URL`.
const STACK: &str = "the local stack (moto)";

/// Checks that both worker bootstraps exist and the local stack answers, in seconds.
pub async fn preflight(aws: &aws_config::SdkConfig, workers: &FsPath) -> Result<(), CompareError> {
    for worker in WORKER_BINARIES {
        let path = workers.join(worker);
        if !path.is_file() {
            return Err(CompareError::WorkerMissing(path));
        }
    }
    let endpoint = std::env::var("AWS_ENDPOINT_URL").map_err(|_| CompareError::EndpointNotSet("AWS_ENDPOINT_URL"))?;
    if aws.region().is_none() {
        return Err(CompareError::EndpointNotSet("AWS_REGION"));
    }
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
        return Err(CompareError::EndpointNotSet("AWS_ACCESS_KEY_ID"));
    }
    let quick = Duration::from_secs(5);
    let s3 = sluice::aws::s3_client(aws);
    match tokio::time::timeout(quick, s3.list_buckets().send()).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            return Err(CompareError::StackUnreachable { service: STACK, endpoint, detail: causes(&e) });
        }
        Err(_) => {
            let detail = "no answer within 5 s".into();
            return Err(CompareError::StackUnreachable { service: STACK, endpoint, detail });
        }
    }
    if let Ok(dynamodb) = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        && let Err(detail) = reqwest_free_probe(&dynamodb).await
    {
        return Err(CompareError::StackUnreachable { service: "DynamoDB", endpoint: dynamodb, detail });
    }
    Ok(())
}

/// A TCP connect to the endpoint's host and port: enough to tell "nothing listens there".
async fn reqwest_free_probe(endpoint: &str) -> Result<(), String> {
    let authority = endpoint.split("://").nth(1).unwrap_or(endpoint).split('/').next().unwrap_or_default();
    match tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(authority)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("no answer within 5 s".into()),
    }
}

/// An error and its causes on one line, each said once (no debug dump of a raw response), cut
/// to a readable length.
fn causes(e: &dyn std::error::Error) -> String {
    sluice_excerpt::clip(&sluice_retry::error_chain(e), 240).into_owned()
}

/// The meters and partner of one path.
struct Instruments {
    partner: Partner,
    dynamodb: FaultProxy,
    sqs: FaultProxy,
}

impl Instruments {
    async fn start(processing: Duration, dynamodb: &str, sqs: &str) -> Result<Self, CompareError> {
        let listen = |what| move |source| CompareError::Listen { what, source };
        Ok(Instruments {
            partner: Partner::start_with(processing).await.map_err(listen("partner API"))?,
            dynamodb: FaultProxy::start(dynamodb, Service::DynamoDb, Faults::default(), 0)
                .await
                .map_err(listen("DynamoDB request meter"))?,
            sqs: FaultProxy::start(sqs, Service::Http, Faults::default(), 0)
                .await
                .map_err(listen("SQS request meter"))?,
        })
    }
}

/// The body of object `i`: CSV lines to `size` bytes, distinct per object and seed.
fn body(i: usize, size: u64, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(size as usize);
    let mut line = 0u64;
    while (out.len() as u64) < size {
        out.extend_from_slice(format!("{seed},{i},{line},{}\n", line * line).as_bytes());
        line += 1;
    }
    out.truncate(size as usize);
    out
}

/// Runs the comparison: deploys, uploads, drains and measures. `progress` hears of each step.
pub async fn compare(
    aws: &aws_config::SdkConfig,
    setup: &Setup,
    workload: &Workload,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Comparison, CompareError> {
    workload.check()?;
    preflight(aws, &setup.workers).await?;
    let began = Instant::now();
    progress(Progress::Phase { name: "deploying both paths", total: 0 });
    let endpoint = std::env::var("AWS_ENDPOINT_URL").map_err(|_| CompareError::EndpointNotSet("AWS_ENDPOINT_URL"))?;
    let dynamodb = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap_or_else(|_| endpoint.clone());
    let sqs_endpoint = std::env::var("AWS_ENDPOINT_URL_SQS").unwrap_or_else(|_| endpoint.clone());
    let queue = Instruments::start(workload.processing, &dynamodb, &sqs_endpoint).await?;
    let direct = Instruments::start(workload.processing, &dynamodb, &sqs_endpoint).await?;
    let mut settings = Settings::default()
        .time_scale(workload.time_scale)
        .account_concurrency(workload.account_concurrency)
        .batching(workload.batch_size, workload.batching_window)
        .maximum_concurrency(workload.maximum_concurrency)
        .reserved_concurrency(workload.reserved_concurrency.unwrap_or(0))
        .direct_on_failure(workload.direct_dlq);
    for (function, instruments) in [(SQS_WORKER, &queue), (SNS_WORKER, &direct)] {
        settings = settings
            .env_for(function, "WEBHOOK_URL", instruments.partner.url.clone())
            .env_for(function, "AWS_ENDPOINT_URL_DYNAMODB", instruments.dynamodb.url.clone())
            .env_for(function, "AWS_ENDPOINT_URL_SQS", instruments.sqs.url.clone());
    }
    let name = format!("compare-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let log_dir = setup.log_dir.join(&name);
    let deployment = Deployment::start(aws, &name, &setup.workers, &log_dir, &settings)
        .await
        .map_err(|e| CompareError::Deploy(e.to_string()))?;
    let resources = deployment.resources.clone();
    let visibility = work_queue_visibility(aws, &resources.work_queue_url).await?;

    // The work queue's depth, sampled until the run is drained.
    let samples: Arc<Mutex<Vec<(u64, u64)>>> = Arc::default();
    let sampler = {
        let (sqs, url, samples) = (aws_sdk_sqs::Client::new(aws), resources.work_queue_url.clone(), samples.clone());
        tokio::spawn(async move {
            loop {
                let asked = sqs
                    .get_queue_attributes()
                    .queue_url(&url)
                    .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
                    .send()
                    .await;
                if let Ok(out) = asked {
                    let visible = out
                        .attributes()
                        .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessages))
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(0);
                    samples.lock().expect("samples").push((sluice_clock::now_millis(), visible));
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };

    // The uploads, on schedule, at most 16 in flight.
    let schedule = workload.schedule();
    let sizes = workload.sizes();
    progress(Progress::Phase { name: "uploading", total: workload.objects as u64 });
    let s3 = sluice::aws::s3_client(aws);
    let started = tokio::time::Instant::now();
    let t0 = SystemTime::now();
    if let Some(o) = workload.outage {
        for partner in [&queue.partner, &direct.partner] {
            partner.schedule_outage(o.start, o.length);
        }
    }
    let slots = Arc::new(tokio::sync::Semaphore::new(16));
    let mut puts = Vec::with_capacity(workload.objects);
    for (i, (offset, size)) in schedule.iter().zip(&sizes).enumerate() {
        tokio::time::sleep_until(started + *offset).await;
        let permit = slots.clone().acquire_owned().await.expect("the semaphore is never closed");
        let (s3, bucket, seed, size) = (s3.clone(), resources.ingest_bucket.clone(), workload.seed, *size);
        let key = format!("{}{name}/{i:05}.csv", resources.upload_prefix);
        puts.push(tokio::spawn(async move {
            let put = s3.put_object().bucket(bucket).key(&key).body(ByteStream::from(body(i, size, seed))).send().await;
            drop(permit);
            match put {
                Ok(out) => Ok((Upload { key, version_id: out.version_id.unwrap_or_default() }, SystemTime::now())),
                Err(e) => Err(CompareError::Upload { key, detail: causes(&e) }),
            }
        }));
        progress(Progress::Done(i as u64 + 1));
    }
    let mut uploads = Vec::with_capacity(puts.len());
    for put in puts {
        uploads.push(put.await.expect("an upload task never panics")?);
    }

    // Drained: every object processed or kept in a DLQ on the queue path, with the queue
    // empty; every event done on the direct path (succeeded or given up).
    progress(Progress::Phase { name: "waiting for both paths to finish", total: 2 * uploads.len() as u64 });
    let accountant = Accountant::new(aws, &resources, log_dir.clone());
    let just_uploads: Vec<Upload> = uploads.iter().map(|(u, _)| u.clone()).collect();
    let keys: HashMap<String, &Upload> = just_uploads
        .iter()
        .map(|u| (sluice_object_summary::idempotency_key(&u.identity(&resources.ingest_bucket)), u))
        .collect();
    let drain_end = tokio::time::Instant::now() + setup.drain_limit;
    let mut queue_account = None;
    let settled = loop {
        let applied = queue.partner.report().applied.keys().filter(|k| keys.contains_key(*k)).count();
        let kept = accountant.letters(Path::Sqs).await.len();
        let waiting = samples.lock().expect("samples").last().map(|s| s.1).unwrap_or(0);
        let direct_done =
            deployment.service.records().async_events().iter().filter(|e| e.function == SNS_WORKER).count();
        progress(Progress::Done(((applied + kept).min(uploads.len()) + direct_done.min(uploads.len())) as u64));
        // The partner applies an effect before the worker completes its record: confirm with
        // the accounting itself (records completed, receipts written) before calling it done.
        if applied + kept >= uploads.len() && waiting == 0 && direct_done >= uploads.len() {
            let account = accountant.account(Path::Sqs, &just_uploads).await;
            if account.lost.is_empty() {
                queue_account = Some(account);
                break true;
            }
        }
        if tokio::time::Instant::now() >= drain_end {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    sampler.abort();
    progress(Progress::Phase { name: "measuring", total: 0 });
    let mut accounts = BTreeMap::new();
    for path in Path::BOTH {
        // The queue path's account that settled the drain is final: nothing was pending then.
        let settled_account = if path == Path::Sqs { queue_account.take() } else { None };
        let account = match settled_account {
            Some(account) => account,
            None => accountant.account(path, &just_uploads).await,
        };
        accounts.insert(path, account);
    }
    deployment.service.shutdown().await;
    let records = deployment.service.records();
    let invocations = records.invocations();
    let batches = records.batches();
    // The service's own records, beside the logs: what every figure can be checked against.
    let records_file = log_dir.join("records.json");
    let written = match serde_json::to_vec(&records.to_json()) {
        Ok(json) => tokio::fs::write(&records_file, json).await,
        Err(e) => Err(std::io::Error::other(e)),
    };
    if let Err(e) = written {
        tracing::warn!(error = %e, file = %records_file.display(), "the local Lambda service's records were not written");
    }

    let t0_ms = uploads.iter().map(|(_, at)| epoch_ms(*at)).min().unwrap_or_else(|| epoch_ms(t0));
    let uploaded_at: HashMap<String, u64> = uploads
        .iter()
        .map(|(u, at)| (sluice_object_summary::idempotency_key(&u.identity(&resources.ingest_bucket)), epoch_ms(*at)))
        .collect();
    // Each worker's log: the timeline of every object it processed.
    let mut timelines = HashMap::new();
    for path in [Path::Sqs, Path::Sns] {
        let log = deployment
            .service
            .function_config(path.function())
            .map(|c| log_dir.join(format!("{}.log", c.deployed_name())));
        let text = match log {
            Some(log) => tokio::fs::read_to_string(&log).await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, file = %log.display(), "no worker log: the path has no hop breakdown");
                String::new()
            }),
            None => String::new(),
        };
        timelines.insert(path, crate::hops::read_log(&text));
    }
    let observe = |path: Path, instruments: &Instruments| {
        let function = path.function();
        let mine: Vec<&InvocationRecord> = invocations.iter().filter(|r| r.function == function).collect();
        let mut sqs_requests: BTreeMap<String, u64> =
            records.sqs_requests(function).into_iter().map(|(a, n)| (a.to_owned(), n)).collect();
        for (action, n) in instruments.sqs.operations() {
            *sqs_requests.entry(action_of(&action)).or_default() += n;
        }
        if path == Path::Sqs {
            // SNS's delivery of each event into the queue is a SendMessage the queue bills.
            *sqs_requests.entry("SendMessage (SNS delivery)".into()).or_default() += uploads.len() as u64;
        }
        let queue_depth = match path {
            Path::Sqs => samples.lock().expect("samples").clone(),
            Path::Sns => waiting_for_first_attempt(&mine),
        };
        Observed {
            t0_ms,
            uploaded_at: uploaded_at.clone(),
            applied_at: instruments.partner.report().applied_at.into_iter().map(|(k, at)| (k, epoch_ms(at))).collect(),
            invocations: mine,
            throttles: records.all_throttles(function),
            account: accounts[&path].clone(),
            queue_depth,
            sqs_requests,
            dynamodb_requests: instruments.dynamodb.operations(),
            sns_publishes: uploads.len() as u64,
            batches: batches.iter().filter(|b| b.function == function).count() as u64,
            timelines: timelines.get(&path).cloned().unwrap_or_default(),
        }
    };
    let applied_ms = |instruments: &Instruments| -> Vec<u64> {
        instruments.partner.report().applied_at.into_values().map(epoch_ms).collect()
    };
    let paths = vec![
        PathFigures::measure("queue", "S3 -> SNS -> SQS -> Lambda", &observe(Path::Sqs, &queue), &US_EAST_1),
        PathFigures::measure("direct", "S3 -> SNS -> Lambda", &observe(Path::Sns, &direct), &US_EAST_1),
    ];
    // The model of the same run, from its own records: what AWS's rules say it should measure.
    progress(Progress::Phase { name: "modelling the same run", total: 0 });
    let local = LocalRun {
        workload,
        uploads_ms: uploads.iter().map(|(_, at)| epoch_ms(*at)).collect(),
        direct: invocations.iter().filter(|r| r.function == SNS_WORKER).collect(),
        queue: invocations.iter().filter(|r| r.function == SQS_WORKER).collect(),
        queue_batches: batches.iter().filter(|b| b.function == SQS_WORKER).collect(),
        direct_applied_ms: applied_ms(&direct),
        queue_applied_ms: applied_ms(&queue),
        visibility_timeout: visibility,
        function_timeout: deployment
            .service
            .function_config(SQS_WORKER)
            .map_or(sluice_local::config::DEFAULT_TIMEOUT, |c| c.timeout),
    };
    let settings = settings_for(&local);
    let modelled = crate::model::run(&settings, &|_, _| {}).map_err(CompareError::Workload)?;
    // The same model with other seeds: the range its latencies span is what the rules allow.
    let draws = (1..crate::model::check::DRAWS)
        .map(|k| {
            let mut draw = settings.clone();
            draw.seed = settings.seed.wrapping_add(k);
            crate::model::run(&draw, &|_, _| {})
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(CompareError::Workload)?;
    let check = agreement(&paths[0], &paths[1], modelled, &draws);
    let scale = workload.time_scale;
    Ok(Comparison {
        workload: workload.clone(),
        stack: name,
        time_scale: scale,
        compressed: CompressedTiming::at(scale, workload, visibility),
        started: time::OffsetDateTime::from(t0)
            .replace_nanosecond(0)
            .unwrap_or_else(|_| time::OffsetDateTime::from(t0))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        wall_seconds: began.elapsed().as_secs_f64(),
        settled,
        paths,
        prices: US_EAST_1,
        log_dir: log_dir.display().to_string(),
        records_file: records_file.display().to_string(),
        check,
    })
}

/// The work queue's visibility timeout, as the stack set it.
async fn work_queue_visibility(aws: &aws_config::SdkConfig, url: &str) -> Result<Duration, CompareError> {
    let asked = aws_sdk_sqs::Client::new(aws)
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::VisibilityTimeout)
        .send()
        .await
        .map_err(|e| CompareError::Deploy(format!("GetQueueAttributes {url}: {}", causes(&e))))?;
    let seconds = asked
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::VisibilityTimeout))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| CompareError::Deploy(format!("the work queue {url} has no visibility timeout")))?;
    Ok(Duration::from_secs(seconds))
}

/// The SQS action of a metered request: the `Action` of the query protocol or the
/// `X-Amz-Target` of the JSON one (`AmazonSQS.SendMessage`), as the meter counted it.
fn action_of(operation: &str) -> String {
    if operation == "POST" || operation == "GET" { "other".into() } else { operation.to_owned() }
}

/// Events in Lambda's internal queue waiting for their first attempt, over time: each first
/// attempt waited from its arrival (its start less its queue wait) to its start.
fn waiting_for_first_attempt(invocations: &[&InvocationRecord]) -> Vec<(u64, u64)> {
    let first_attempts = invocations.iter().filter(|r| r.trigger == Trigger::Async && r.attempt == 1);
    crate::figures::step_curve(first_attempts.map(|r| (r.start_ms.saturating_sub(r.queue_wait_ms), r.start_ms)))
}
