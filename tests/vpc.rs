//! The networking facts of the two paths, run: both workers in Lambda's network, in a VPC's
//! private subnet without NAT, and behind a NAT gateway with an Elastic IP, built by the local
//! Lambda service from network namespaces (documentation addresses only, nothing linked to the
//! machine's uplink). The partner API sits on the internet side and allow-lists the Elastic IP.
//!
//! Needs root, `ip` and `iptables` (`scripts/setup` installs them; CI runs as root); elsewhere
//! each test says why it is skipped and passes without running. Run by `scripts/test`.

use std::collections::BTreeSet;
use std::time::Duration;

use sluice_e2e::scenario::{SETTLE, Scenario};
use sluice_harness::accounting::{Letter, Path};
use sluice_local::network::LAMBDA_PUBLIC_ADDRESS;

/// Whether this machine can run the scenarios; says why not when it cannot.
fn runnable(test: &str) -> bool {
    match sluice_local::netns::available() {
        Ok(()) => true,
        Err(why) => {
            println!("skipped {test}: {why}");
            false
        }
    }
}

/// Waits until `path`'s dead-letter queue holds `count` letters, and returns them.
async fn letters(scenario: &Scenario, path: Path, count: usize) -> Vec<Letter> {
    sluice_local::wait::wait_for(SETTLE, || {
        let accountant = &scenario.accountant;
        async move { Some(accountant.letters(path).await).filter(|l| l.len() >= count) }
    })
    .await
    .unwrap_or_else(|| panic!("{} path: fewer than {count} dead letters within {SETTLE:?}", path.name()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local stack: run scripts/test"]
async fn outside_a_vpc_the_workers_leave_from_an_address_the_partner_does_not_allow() {
    if !runnable("outside_a_vpc") {
        return;
    }
    let mut scenario = Scenario::start_in_network("outside-vpc", false, false, |s| s).await;
    scenario.upload(3).await;
    for path in Path::BOTH {
        let letters = letters(&scenario, path, 3).await;
        for letter in &letters {
            assert!(
                letter.reason.contains("403") && letter.reason.contains("not on the allow-list"),
                "{} path: {letter:#?}",
                path.name()
            );
        }
    }
    let partner = scenario.partner.report();
    println!("partner saw: {:?}", partner.sources());
    assert!(!partner.calls.is_empty());
    assert!(partner.calls.iter().all(|c| c.source == std::net::IpAddr::from(LAMBDA_PUBLIC_ADDRESS) && c.status == 403));
    assert!(partner.applied.is_empty(), "nothing applied from an address off the allow-list");
    scenario.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local stack: run scripts/test"]
async fn in_a_vpc_without_nat_the_webhook_times_out_while_s3_dynamodb_and_logs_still_work() {
    if !runnable("in_a_vpc_without_nat") {
        return;
    }
    // A 4 s timeout keeps each failing attempt short: the webhook's 2 s connect timeout, retried
    // until just before the deadline.
    let mut scenario =
        Scenario::start_in_network("vpc-no-nat", true, false, |s| s.function_timeout(Duration::from_secs(4))).await;
    scenario.upload(2).await;
    // The direct path: three attempts, then the on-failure destination with the timeout as reason.
    let direct = letters(&scenario, Path::Sns, 2).await;
    println!("direct path dead letter: {}", direct[0].reason);
    for letter in &direct {
        assert_eq!(letter.attempts, 3, "{letter:#?}");
        // Cut off at the deadline after an attempt whose connection got no answer at all.
        assert!(letter.reason.contains("webhook POST"), "{letter:#?}");
        assert!(letter.reason.contains("connection timed out after 2s"), "{letter:#?}");
    }
    // The queue path: redelivered until the redrive policy moves each message to its DLQ.
    let queued = letters(&scenario, Path::Sqs, 2).await;
    assert_eq!(queued.len(), 2, "{queued:#?}");
    let partner = scenario.partner.report();
    assert!(partner.calls.is_empty(), "no call left the VPC: {:?}", partner.calls);
    // S3 and DynamoDB were reached through the endpoints, not through a NAT.
    let network = scenario.deployment.service.network().expect("a network");
    let connections = network.endpoint_connections();
    println!("endpoint connections: {connections:?}");
    // (The local stack serves every API on one port: one endpoint, used.)
    assert!(!connections.is_empty() && connections.values().all(|n| *n > 0), "{connections:?}");
    // Logs flowed: every upload's trail, with the timeout, in each function's log.
    for path in Path::BOTH {
        for upload in &scenario.uploads {
            let lines = scenario.accountant.log_lines(path, &upload.key).await;
            assert!(lines.iter().any(|l| l.contains("timed out")), "{}", scenario.trail(path, upload).await);
        }
    }
    scenario.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local stack: run scripts/test"]
async fn behind_a_nat_gateway_every_call_of_every_instance_leaves_from_the_elastic_ip() {
    if !runnable("behind_a_nat_gateway") {
        return;
    }
    let mut scenario = Scenario::start_in_network("vpc-nat", true, true, |s| s).await;
    scenario.upload(12).await;
    let (accounts, partner) = scenario.finish().await;
    scenario.assert_processed_once(&accounts, &partner).await;
    println!("partner saw: {:?}", partner.sources());
    // The stack's StaticEgressIp output is the NAT gateway's address, in the documentation range.
    let egress: std::net::IpAddr = scenario.deployment.stack.output("StaticEgressIp").unwrap().parse().unwrap();
    assert!(egress.to_string().starts_with("192.0.2."), "{egress}");
    assert!(partner.calls.iter().all(|c| c.source == egress && c.status == 201));
    // Every instance that ran called from the Elastic IP: each call names its invocation.
    let records = scenario.deployment.service.records().invocations();
    let instance_of = |request_id: &str| records.iter().find(|r| r.request_id == request_id).map(|r| r.instance);
    let calling: BTreeSet<u64> = partner
        .calls
        .iter()
        .map(|c| instance_of(c.request_id.as_deref().unwrap_or_default()).expect("a call names its invocation"))
        .collect();
    let ran: BTreeSet<u64> =
        records.iter().filter(|r| r.outcome == sluice_local::Outcome::Success).map(|r| r.instance).collect();
    println!("instances calling the partner: {calling:?}");
    assert!(ran.len() >= 2 && ran.is_subset(&calling), "ran {ran:?}, called {calling:?}");
    scenario.stop().await;
}
