//! The networking demonstration (`sluice demo --network`): both workers deployed in the network
//! the template's `EnableVpc` and `StaticEgressIp` describe, a partner API on the internet side
//! that allow-lists only the NAT gateway's Elastic IP, a few uploads, and every invocation shown
//! with the address its webhook calls came from, as the partner saw it.
//!
//! What it shows, mode by mode (see [`sluice_local::network`]):
//! - Lambda's network (`EnableVpc=false`): the calls come from an address of AWS's choosing,
//!   which the partner refuses (403); each object ends in its path's dead-letter queue;
//! - a VPC without NAT (`EnableVpc=true`): no call arrives; each webhook attempt times out, the
//!   objects are retried and then dead-lettered with that reason, while S3 and DynamoDB answer
//!   through the endpoints and the logs still arrive;
//! - a VPC behind a NAT gateway (`StaticEgressIp=true`): every call comes from the Elastic IP
//!   and is accepted.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddrV4};
use std::path::Path;
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use sluice_local::network::PARTNER_HOST;

use crate::accounting::{Accountant, Path as DeliveryPath, Upload};
use crate::deployment::{Deployment, Settings};
use crate::partner::{Call, Partner};

/// The workers' timeout in the demonstration: short, so a VPC without NAT fails its attempts
/// quickly (the template's is 30 s; the ratio to the queue's visibility timeout still holds).
pub const FUNCTION_TIMEOUT: Duration = Duration::from_secs(4);

/// One invocation and the calls it made.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct InvocationRow {
    /// The function.
    pub function: String,
    /// The Lambda request id.
    pub request_id: String,
    /// The instance that ran it.
    pub instance: u64,
    /// 1 for a first attempt, 2 and 3 for asynchronous retries.
    pub attempt: u32,
    /// How it ended (`Success`, `FunctionError`, ...).
    pub outcome: String,
    /// The partner's view of each webhook call it made: source address and status.
    pub calls: Vec<(IpAddr, u16)>,
}

/// What a demonstration run showed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NetworkReport {
    /// The template's parameters it ran with.
    pub enable_vpc: bool,
    /// See [`NetworkReport::enable_vpc`].
    pub static_egress_ip: bool,
    /// The address the network gives the functions' outbound calls, if any leave.
    pub egress_address: Option<IpAddr>,
    /// The stack's `StaticEgressIp` output, the one address the partner allow-lists.
    pub allowed: Option<IpAddr>,
    /// Every invocation, in the order they started.
    pub invocations: Vec<InvocationRow>,
    /// Calls the partner saw, by source address.
    pub sources: BTreeMap<IpAddr, usize>,
    /// Objects whose webhook effect the partner applied.
    pub applied: usize,
    /// Objects uploaded.
    pub uploaded: usize,
    /// Dead letters per path, with their reasons.
    pub dead_letters: BTreeMap<&'static str, Vec<String>>,
    /// Connections to each local AWS endpoint through the endpoint forwarders.
    pub endpoint_connections: BTreeMap<std::net::SocketAddr, u64>,
    /// Whether every upload was processed or dead-lettered on both paths in time.
    pub settled: bool,
}

/// Deploys both workers in the network `enable_vpc` / `static_egress_ip` describe, uploads
/// `objects` small objects and waits at most `limit` for each to be processed or
/// dead-lettered on both paths. Needs root ([`sluice_local::netns::available`]).
pub async fn run(
    aws: &aws_config::SdkConfig,
    workers: &Path,
    log_dir: &Path,
    (enable_vpc, static_egress_ip): (bool, bool),
    objects: usize,
    limit: Duration,
) -> Result<NetworkReport, Box<dyn std::error::Error>> {
    sluice_local::netns::available()?;
    let name = format!("sluice-net-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let log_dir = log_dir.join(&name);
    let settings = Settings::default()
        .webhook_url(format!("http://{PARTNER_HOST}/hook"))
        .function_timeout(FUNCTION_TIMEOUT)
        .network(enable_vpc, static_egress_ip);
    let deployment = Deployment::start(aws, &name, workers, &log_dir, &settings).await?;
    let result = demonstrate(aws, &deployment, &name, &log_dir, objects, limit).await;
    deployment.service.shutdown().await;
    result
}

async fn demonstrate(
    aws: &aws_config::SdkConfig,
    deployment: &Deployment,
    name: &str,
    log_dir: &Path,
    objects: usize,
    limit: Duration,
) -> Result<NetworkReport, Box<dyn std::error::Error>> {
    let network = deployment.service.network().ok_or("the deployment has no network")?;
    let listener = network.listen_on_internet(SocketAddrV4::new(PARTNER_HOST, 80))?;
    // As a partner is told to: allow-list the stack's StaticEgressIp output, nothing else.
    let allowed = deployment.stack.outputs.get("StaticEgressIp").and_then(|ip| ip.parse::<IpAddr>().ok());
    let partner = Partner::start_on(listener, Duration::ZERO, Some(allowed.into_iter().collect()))?;
    let resources = &deployment.resources;
    let s3 = sluice::aws::s3_client(aws);
    let mut uploads = Vec::new();
    for i in 0..objects {
        let key = format!("incoming/{name}/{i:02}.csv");
        let put = s3
            .put_object()
            .bucket(&resources.ingest_bucket)
            .key(&key)
            .body(ByteStream::from(format!("object,{i}\n").into_bytes()))
            .send()
            .await?;
        uploads.push(Upload { key, version_id: put.version_id.ok_or("the ingest bucket is not versioned")? });
    }
    let accountant = Accountant::new(aws, resources, log_dir.to_owned());
    let settled = accountant.settle(&uploads, limit).await;
    let seen = partner.report();
    let mut invocations: Vec<_> = deployment.service.records().invocations();
    invocations.sort_by_key(|r| r.start_ms);
    let rows = invocations
        .into_iter()
        .map(|r| {
            // An asynchronous retry keeps its request id: its time tells the attempts apart.
            let during = r.start_ms..=r.start_ms + r.duration_ms;
            let calls: Vec<&Call> = seen
                .calls
                .iter()
                .filter(|c| c.request_id.as_deref() == Some(&r.request_id) && during.contains(&c.received_ms))
                .collect();
            InvocationRow {
                calls: calls.iter().map(|c| (c.source, c.status)).collect(),
                function: r.function,
                request_id: r.request_id,
                instance: r.instance,
                attempt: r.attempt,
                outcome: format!("{:?}", r.outcome),
            }
        })
        .collect();
    let mut dead_letters = BTreeMap::new();
    for path in DeliveryPath::BOTH {
        let reasons = accountant.letters(path).await.into_iter().map(|l| l.reason).collect();
        dead_letters.insert(path.name(), reasons);
    }
    let config = network.config();
    Ok(NetworkReport {
        enable_vpc: config.enable_vpc,
        static_egress_ip: config.static_egress_ip,
        egress_address: network.egress_address().map(IpAddr::V4),
        allowed,
        invocations: rows,
        sources: seen.sources(),
        applied: seen.applied.len(),
        uploaded: uploads.len(),
        dead_letters,
        endpoint_connections: network.endpoint_connections(),
        settled,
    })
}

impl NetworkReport {
    /// The report as lines of text: the network, one line per invocation with the egress
    /// address of each webhook call, what the partner saw and what was dead-lettered.
    pub fn lines(&self) -> Vec<String> {
        let network = match (self.enable_vpc, self.static_egress_ip) {
            (false, _) => "Lambda's own network, outside any VPC",
            (true, false) => "a VPC's private subnet without a NAT gateway",
            (true, true) => "a VPC's private subnet behind a NAT gateway with an Elastic IP",
        };
        let mut lines = vec![
            format!("network: {network} (EnableVpc={}, StaticEgressIp={})", self.enable_vpc, self.static_egress_ip),
            format!(
                "egress address: {}; the partner at {PARTNER_HOST} allow-lists only the stack's StaticEgressIp: {}",
                self.egress_address.map_or("none (no route out)".to_owned(), |a| a.to_string()),
                self.allowed.map_or("none (no NAT gateway in the stack)".to_owned(), |a| a.to_string())
            ),
            String::new(),
            format!(
                "{:<11} {:<36} {:>8} {:>7}  {:<28} {}",
                "function", "invocation", "instance", "attempt", "webhook calls (source: status)", "outcome"
            ),
        ];
        for row in &self.invocations {
            let calls = if row.calls.is_empty() {
                "none arrived".to_owned()
            } else {
                row.calls.iter().map(|(source, status)| format!("{source}: {status}")).collect::<Vec<_>>().join(", ")
            };
            lines.push(format!(
                "{:<11} {:<36} {:>8} {:>7}  {:<28} {}",
                row.function, row.request_id, row.instance, row.attempt, calls, row.outcome
            ));
        }
        lines.push(String::new());
        let sources: Vec<String> = self.sources.iter().map(|(a, n)| format!("{a} x {n}")).collect();
        lines.push(format!(
            "the partner saw {} ({} of {} objects applied)",
            if sources.is_empty() { "no call".to_owned() } else { sources.join(", ") },
            self.applied,
            self.uploaded
        ));
        let endpoints: Vec<String> = self.endpoint_connections.iter().map(|(a, n)| format!("{a} x {n}")).collect();
        lines.push(format!("connections to the local AWS endpoints, without NAT: {}", endpoints.join(", ")));
        for (path, reasons) in &self.dead_letters {
            match reasons.first() {
                Some(first) => lines.push(format!("{path} path: {} dead letters, e.g. {first}", reasons.len())),
                None => lines.push(format!("{path} path: no dead letters")),
            }
        }
        if !self.settled {
            lines.push("not every object was processed or dead-lettered in time".into());
        }
        lines
    }
}
