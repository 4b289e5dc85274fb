//! Where every uploaded object version ended, per path: processed (its idempotency record is
//! `COMPLETED`, which the worker writes only after the whole processor succeeded, webhook
//! included, and its version receipt exists), in a dead-letter queue (with the reason), or lost
//! (neither, once the scenario has drained). Duplicates the idempotency store suppressed are
//! counted from the function logs.
//!
//! The record, not the worker's "item done" log line, is the evidence: an instance killed
//! between completing the record and writing that line has still processed the item, and its
//! redeliveries are answered as duplicates.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use crate::resources::Resources;
use sluice_events::s3::S3Notification;

/// One uploaded object version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Upload {
    /// Its key.
    pub key: String,
    /// The version the upload made.
    pub version_id: String,
}

impl Upload {
    /// Its identity as the workers name it (`bucket/key@v:version`), from which the webhook's
    /// `Idempotency-Key` is derived.
    pub fn identity(&self, bucket: &str) -> String {
        format!("{bucket}/{}@v:{}", self.key, self.version_id)
    }
}

/// The two paths, with where their results and dead letters go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Path {
    /// S3 -> SNS -> SQS -> Lambda.
    Sqs,
    /// S3 -> SNS -> Lambda.
    Sns,
}

impl Path {
    /// Both paths.
    pub const BOTH: [Path; 2] = [Path::Sqs, Path::Sns];

    /// `sqs` or `sns`.
    pub fn name(self) -> &'static str {
        match self {
            Path::Sqs => "sqs",
            Path::Sns => "sns",
        }
    }

    /// Its function.
    pub fn function(self) -> &'static str {
        match self {
            Path::Sqs => crate::deployment::SQS_WORKER,
            Path::Sns => crate::deployment::SNS_WORKER,
        }
    }
}

/// The accounting of one path.
#[derive(Debug, Clone, Default)]
pub struct PathAccount {
    /// Object versions uploaded.
    pub uploaded: usize,
    /// Processed: record completed, version receipt written.
    pub processed: usize,
    /// Deliveries the idempotency store recognised as duplicates.
    pub duplicates_suppressed: u64,
    /// Dead letters in the path's dead-letter queue, by reason: message copies, so a
    /// duplicated notification can leave a letter for an object that was processed too.
    pub dead_lettered: BTreeMap<String, usize>,
    /// Object versions not processed whose event is in the DLQ: kept, to be redriven.
    /// `processed + kept_in_dlq + lost.len() == uploaded`.
    pub kept_in_dlq: usize,
    /// Neither processed nor dead-lettered.
    pub lost: Vec<Upload>,
}

/// A dead letter: what it carried, why it is there, after how many attempts.
#[derive(Debug, Clone)]
pub struct Letter {
    /// The object version, when the message was an S3 event.
    pub upload: Option<Upload>,
    /// The S3 event or other message it carried.
    pub message: String,
    /// Why it failed.
    pub reason: String,
    /// Receives (SQS path) or invocations (SNS path) before it got here.
    pub attempts: u32,
}

/// Watches a deployment's results and dead-letter queues.
pub struct Accountant {
    s3: aws_sdk_s3::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    sqs: aws_sdk_sqs::Client,
    resources: Resources,
    log_dir: PathBuf,
    letters: Mutex<BTreeMap<Path, Vec<Letter>>>,
}

impl Accountant {
    /// An accountant of `resources`, whose functions log to `log_dir`.
    pub fn new(aws: &aws_config::SdkConfig, resources: &Resources, log_dir: PathBuf) -> Self {
        Accountant {
            s3: sluice::aws::s3_client(aws),
            dynamodb: aws_sdk_dynamodb::Client::new(aws),
            sqs: aws_sdk_sqs::Client::new(aws),
            resources: resources.clone(),
            log_dir,
            letters: Mutex::default(),
        }
    }

    /// The same accountant, reading the idempotency table through `aws`'s endpoint: for a stack
    /// whose DynamoDB is served apart from its S3, SNS and SQS.
    pub fn with_dynamodb(mut self, aws: &aws_config::SdkConfig) -> Self {
        self.dynamodb = aws_sdk_dynamodb::Client::new(aws);
        self
    }

    fn receipt_key(path: Path, upload: &Upload) -> String {
        sluice_object_summary::version_receipt_key_under(
            &format!("receipts/{}/", path.name()),
            &upload.key,
            Some(&upload.version_id),
            None,
            None,
        )
    }

    /// The identities (`bucket/key@v:version`) whose idempotency record the path's worker
    /// completed: the whole processor succeeded, webhook included. Empty when the table cannot
    /// be read (nothing then counts as processed, so a failure shows, never hides).
    async fn done(&self, path: Path) -> HashSet<String> {
        // The worker prefixes its keys with its AWS_LAMBDA_FUNCTION_NAME: the deployed name.
        let prefix = format!("{}#", self.deployed_name(path));
        let mut done = HashSet::new();
        let mut start = None;
        loop {
            let scanned = self
                .dynamodb
                .scan()
                .table_name(&self.resources.idempotency_table)
                .projection_expression("#id, #status")
                .expression_attribute_names("#id", "id")
                .expression_attribute_names("#status", "status")
                .set_exclusive_start_key(start)
                .send()
                .await;
            let Ok(page) = scanned else {
                return HashSet::new();
            };
            for item in page.items() {
                let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok());
                if text("status").map(String::as_str) == Some("COMPLETED")
                    && let Some(identity) = text("id").and_then(|id| id.strip_prefix(&prefix))
                {
                    done.insert(identity.to_owned());
                }
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return done,
            }
        }
    }

    fn identity(&self, upload: &Upload) -> String {
        upload.identity(&self.resources.ingest_bucket)
    }

    /// Processed: its idempotency record completed, and its version receipt is there.
    async fn processed(&self, path: Path, upload: &Upload, done: &HashSet<String>) -> bool {
        if !done.contains(&self.identity(upload)) {
            return false;
        }
        let key = Self::receipt_key(path, upload);
        self.s3.head_object().bucket(&self.resources.results_bucket).key(key).send().await.is_ok()
    }

    /// Moves what the path's dead-letter queue holds now into the accountant.
    async fn collect_letters(&self, path: Path) {
        let url = match path {
            Path::Sqs => &self.resources.work_dlq_url,
            Path::Sns => &self.resources.direct_failures_url,
        };
        loop {
            let Ok(out) = self
                .sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .send()
                .await
            else {
                return;
            };
            let messages = out.messages.unwrap_or_default();
            if messages.is_empty() {
                return;
            }
            for m in messages {
                let body = m.body().unwrap_or_default();
                let (message, reason, attempts) = match path {
                    Path::Sqs => {
                        let attribute = |name: &str| {
                            m.message_attributes()
                                .and_then(|a| a.get(name))
                                .and_then(|v| v.string_value())
                                .map(str::to_owned)
                        };
                        let reason = attribute("ErrorMessage")
                            .unwrap_or_else(|| "redriven by the queue after maxReceiveCount".to_owned());
                        let attempts = attribute("ApproximateReceiveCount").and_then(|n| n.parse().ok()).unwrap_or(0);
                        let opened = sluice_events::open(body);
                        (opened.payload(body).to_owned(), reason, attempts)
                    }
                    Path::Sns => {
                        let record: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
                        let reason = record["responsePayload"]["errorMessage"].as_str().unwrap_or("").to_owned();
                        let message = record["requestPayload"]["Records"][0]["Sns"]["Message"].as_str().unwrap_or("");
                        let attempts = record["requestContext"]["approximateInvokeCount"].as_u64().unwrap_or(0) as u32;
                        (message.to_owned(), reason, attempts)
                    }
                };
                let uploads = uploads_in(&message);
                let letters: Vec<Letter> = if uploads.is_empty() {
                    vec![Letter { upload: None, message, reason, attempts }]
                } else {
                    uploads
                        .into_iter()
                        .map(|u| Letter { upload: Some(u), message: message.clone(), reason: reason.clone(), attempts })
                        .collect()
                };
                self.letters.lock().expect("letters").entry(path).or_default().extend(letters);
                let _ = self
                    .sqs
                    .delete_message()
                    .queue_url(url)
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .send()
                    .await;
            }
        }
    }

    fn dead_lettered(&self, path: Path) -> HashSet<Upload> {
        let letters = self.letters.lock().expect("letters");
        letters.get(&path).into_iter().flatten().filter_map(|l| l.upload.clone()).collect()
    }

    /// The dead letters of `path` collected so far, after collecting what its queue holds now.
    pub async fn letters(&self, path: Path) -> Vec<Letter> {
        self.collect_letters(path).await;
        self.letters.lock().expect("letters").get(&path).cloned().unwrap_or_default()
    }

    /// Waits, at most `limit`, until every upload is processed or dead-lettered on both paths.
    /// True when everything settled.
    pub async fn settle(&self, uploads: &[Upload], limit: Duration) -> bool {
        let end = tokio::time::Instant::now() + limit;
        loop {
            let mut open = 0;
            for path in Path::BOTH {
                self.collect_letters(path).await;
                let letters = self.dead_lettered(path);
                let done = self.done(path).await;
                for upload in uploads.iter().filter(|u| !letters.contains(u)) {
                    if !self.processed(path, upload, &done).await {
                        open += 1;
                    }
                }
            }
            if open == 0 {
                return true;
            }
            if tokio::time::Instant::now() >= end {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// The accounting of `path` for `uploads`.
    pub async fn account(&self, path: Path, uploads: &[Upload]) -> PathAccount {
        self.collect_letters(path).await;
        let mut account = PathAccount { uploaded: uploads.len(), ..PathAccount::default() };
        let letters = self.letters.lock().expect("letters").get(&path).cloned().unwrap_or_default();
        for letter in &letters {
            *account.dead_lettered.entry(letter.reason.clone()).or_default() += 1;
        }
        let dead: HashSet<&Upload> = letters.iter().filter_map(|l| l.upload.as_ref()).collect();
        let done = self.done(path).await;
        for upload in uploads {
            if self.processed(path, upload, &done).await {
                account.processed += 1;
            } else if dead.contains(upload) {
                account.kept_in_dlq += 1;
            } else {
                account.lost.push(upload.clone());
            }
        }
        account.duplicates_suppressed = self.outcomes(path).await.duplicate;
        account
    }

    /// The item outcomes `path`'s worker reported, summed over the EMF metrics documents it
    /// wrote, one per invocation (the records CloudWatch would turn into metrics), not counted
    /// from log text.
    pub async fn outcomes(&self, path: Path) -> Outcomes {
        let mut sum = Outcomes::default();
        for line in self.log(path).await.lines() {
            let Ok(document) = serde_json::from_str::<serde_json::Value>(line) else { continue };
            if document.get("_aws").is_none() {
                continue;
            }
            let count = |name: &str| document.get(name).and_then(serde_json::Value::as_u64).unwrap_or(0);
            sum.processed += count("Processed");
            sum.duplicate += count("Duplicate");
            sum.skipped += count("Skipped");
            sum.failed += count("Failed");
            sum.dead_lettered += count("DeadLettered");
        }
        sum
    }

    /// The function log lines of `path` that contain `needle`: a trail for a person to read.
    pub async fn log_lines(&self, path: Path, needle: &str) -> Vec<String> {
        self.log(path).await.lines().filter(|l| l.contains(needle)).map(str::to_owned).collect()
    }

    /// The function log of `path` so far (empty before its first line): the local Lambda service
    /// names each function's log after its deployed name.
    async fn log(&self, path: Path) -> String {
        let file = self.log_dir.join(format!("{}.log", self.deployed_name(path)));
        tokio::fs::read_to_string(file).await.unwrap_or_default()
    }

    /// The name Lambda knows `path`'s worker by.
    fn deployed_name(&self, path: Path) -> &str {
        match path {
            Path::Sqs => &self.resources.sqs_function,
            Path::Sns => &self.resources.sns_function,
        }
    }
}

/// Item outcomes, as a worker's EMF metrics count them (`sluice::EmfMetrics`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcomes {
    /// Items processed.
    pub processed: u64,
    /// Deliveries of an item already completed: its stored result returned, nothing run.
    pub duplicate: u64,
    /// Items skipped before any claim.
    pub skipped: u64,
    /// Items failed (retryable or permanent).
    pub failed: u64,
    /// Messages sent to a dead-letter queue.
    pub dead_lettered: u64,
}

/// The object versions an S3 notification document names.
fn uploads_in(document: &str) -> Vec<Upload> {
    match S3Notification::from_json(document) {
        Ok(S3Notification::Records(records)) => {
            records.into_iter().filter_map(|r| Some(Upload { key: r.key, version_id: r.version_id? })).collect()
        }
        _ => Vec::new(),
    }
}
