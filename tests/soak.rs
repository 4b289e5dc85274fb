//! The soak run: every scenario's faults at once, on both paths, with many objects.
//! `scripts/soak [objects]` (default 2,000) starts the local stack and runs it; it prints the
//! accounting table and exits non-zero if anything was lost or applied twice.
//!
//! At once: 10% transient faults on S3, DynamoDB and the webhook (server errors, throttles,
//! delays), instances killed in 5% of invocations, 3% timeouts, 5% throttles, and every
//! notification delivered 2 to 4 times through SNS plus every queued message twice.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use sluice_e2e::scenario::Scenario;
use sluice_harness::accounting::Path;
use sluice_harness::proxy::Faults;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let objects: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(2000);
    let started = Instant::now();
    let faults = Faults { server_error: 3, throttle: 3, reset: 2, delay: 2, ..Faults::default() };
    let crashes = sluice_local::FaultInjection { seed: 24, kill_percent: 5, timeout_percent: 3, throttle_percent: 5 };
    let (mut scenario, proxies) = Scenario::start_behind_proxies("soak", faults, 21, |settings| {
        settings.faults(crashes).function_timeout(Duration::from_secs(3))
    })
    .await;
    let tap = scenario.tap().await;
    scenario.upload(objects).await;
    // The local stack fans each notification out to three subscribers; under 2,000 uploads it falls
    // minutes behind, so the waits grow with the count.
    let limit = Duration::from_secs(600 + objects as u64 / 2);
    let republished = scenario.deliver_again(&tap, 25, limit).await;
    let settled = scenario.accountant.settle(&scenario.uploads, limit).await;
    let mut accounts = BTreeMap::new();
    for path in Path::BOTH {
        accounts.insert(path, scenario.accountant.account(path, &scenario.uploads).await);
    }
    let partner = scenario.partner.report();
    let records = scenario.deployment.service.records();
    let processed: usize = accounts.values().map(|a| a.processed).sum();
    let reruns = partner.posts.saturating_sub(processed as u64);

    println!("soak: {objects} uploads, {republished} notifications published again, {objects} queued twice");
    println!("took {:.0} s; settled: {settled}", started.elapsed().as_secs_f64());
    println!();
    println!("| path | uploaded | processed | kept in a DLQ | lost | dead letters (copies) | duplicates suppressed |");
    println!("|---|---|---|---|---|---|---|");
    for (path, a) in &accounts {
        let letters: usize = a.dead_lettered.values().sum();
        println!(
            "| {} | {} | {} | {} | {} | {letters} | {} |",
            path.name(),
            a.uploaded,
            a.processed,
            a.kept_in_dlq,
            a.lost.len(),
            a.duplicates_suppressed
        );
    }
    println!();
    println!(
        "partner: {} effects applied (one per object version), {} POSTs, {} conflicting bodies; {} re-runs after a \
         crash repeated an effect under the same key",
        partner.applied.len(),
        partner.posts,
        partner.conflicts.len(),
        reruns
    );
    for path in Path::BOTH {
        println!("{} worker, injected: {:?}", path.name(), records.faults(path.function()));
        for (reason, n) in &accounts[&path].dead_lettered {
            println!("  {} in the {} DLQ: {reason}", n, path.name());
        }
    }
    for (name, proxy) in proxies.named() {
        println!("{name} proxy: {:?}", proxy.counts());
    }
    scenario.stop().await;
    let lost: usize = accounts.values().map(|a| a.lost.len()).sum();
    if !settled || lost > 0 || !partner.conflicts.is_empty() || partner.applied.len() != objects {
        eprintln!(
            "soak failed: settled {settled}, lost {lost}, conflicts {}, applied {}",
            partner.conflicts.len(),
            partner.applied.len()
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
