//! The functions' networks, with the test function: where its instances run, which address
//! the internet sees, what a VPC without NAT cannot reach, and that everything is removed at
//! shutdown. Building a network needs root, `ip` and `iptables`; without them these tests say
//! why they are skipped. Run by `scripts/test`; `#[ignore]`d for a bare `cargo test`.

use std::net::{IpAddr, SocketAddr, SocketAddrV4};
use std::os::unix::fs::MetadataExt;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use sluice_local::network::{ELASTIC_IP, LAMBDA_PUBLIC_ADDRESS, PARTNER_HOST};
use sluice_local::{FunctionConfig, LocalLambda, NetworkConfig, ServiceConfig, ServiceOptions, StartError};

async fn aws() -> aws_config::SdkConfig {
    assert!(std::env::var_os("AWS_ENDPOINT_URL").is_some(), "AWS_ENDPOINT_URL is not set: run scripts/test");
    aws_config::load_from_env().await
}

fn options(aws: aws_config::SdkConfig) -> ServiceOptions {
    ServiceOptions { port: 0, log_dir: std::env::temp_dir().join("sluice-local-tests"), aws }
}

fn config(network: NetworkConfig) -> ServiceConfig {
    let function: FunctionConfig = serde_json::from_value(json!({
        "name": "net",
        "bootstrap": env!("CARGO_BIN_EXE_test-function"),
        "timeout": 5000,
    }))
    .unwrap();
    ServiceConfig { functions: vec![function], network: Some(network), ..Default::default() }
}

/// Accepts on `listener` and records each peer's address.
fn record_peers(listener: std::net::TcpListener) -> Arc<Mutex<Vec<IpAddr>>> {
    let peers: Arc<Mutex<Vec<IpAddr>>> = Arc::default();
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    let seen = peers.clone();
    tokio::spawn(async move {
        while let Ok((_, peer)) = listener.accept().await {
            seen.lock().unwrap().push(peer.ip());
        }
    });
    peers
}

async fn connect(service: &LocalLambda, to: SocketAddr) -> Value {
    let event = json!({"action": "connect", "to": to.to_string(), "timeout_ms": 1500}).to_string();
    let result = service.invoke_unchecked("net", event.into_bytes()).await.unwrap();
    assert!(result.is_success(), "{}", result.error_message());
    serde_json::from_slice(&result.body).unwrap()
}

/// The inode of the namespace `name`, as `/proc/<pid>/ns/net` shows it: `net:[inode]`.
fn namespace_link(name: &str) -> String {
    format!("net:[{}]", std::fs::metadata(format!("/run/netns/{name}")).unwrap().ino())
}

fn runnable(test: &str) -> bool {
    match sluice_local::netns::available() {
        Ok(()) => true,
        Err(why) => {
            println!("skipped {test}: {why}");
            false
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local stack: run scripts/test"]
async fn each_network_gives_the_functions_its_own_egress_and_reaches_the_aws_endpoints_without_nat() {
    if !runnable("each_network") {
        return;
    }
    let partner = SocketAddr::V4(SocketAddrV4::new(PARTNER_HOST, 80));
    for (enable_vpc, static_egress_ip, egress) in
        [(false, false, Some(LAMBDA_PUBLIC_ADDRESS)), (true, false, None), (true, true, Some(ELASTIC_IP))]
    {
        let mode = format!("enable_vpc {enable_vpc}, static_egress_ip {static_egress_ip}");
        // A stand-in for an AWS endpoint on the machine's loopback.
        let endpoint = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        endpoint.set_nonblocking(true).unwrap();
        let endpoint_address = endpoint.local_addr().unwrap();
        let endpoint_peers = record_peers(endpoint);
        let network =
            NetworkConfig { enable_vpc, static_egress_ip, aws_endpoints: vec![endpoint_address], elastic_ip: None };
        let service = LocalLambda::start(config(network), options(aws().await)).await.unwrap();
        let built = service.network().expect("a network");
        assert_eq!(built.egress_address(), egress, "{mode}");
        let namespace = built.functions_namespace().unwrap();
        let internet = built.listen_on_internet(SocketAddrV4::new(PARTNER_HOST, 80)).unwrap();
        let partner_peers = record_peers(internet);

        // The instance runs in the functions' namespace; the Runtime API answered it there.
        let answer = connect(&service, partner).await;
        assert_eq!(answer["netns"], json!(namespace_link(&namespace)), "{mode}: {answer}");
        match egress {
            Some(address) => {
                assert_eq!(answer["connected"], json!(true), "{mode}: {answer}");
                let seen = sluice_local::wait::wait_for(std::time::Duration::from_secs(5), || {
                    let peers = partner_peers.clone();
                    async move { peers.lock().unwrap().first().copied() }
                })
                .await;
                assert_eq!(seen, Some(IpAddr::V4(address)), "{mode}: the partner saw the egress address");
            }
            None => {
                // No route out of the VPC: the connection attempt gets no answer at all.
                assert_eq!(answer["connected"], json!(false), "{mode}: {answer}");
                assert!(answer["error"].as_str().unwrap().contains("timed out"), "{mode}: {answer}");
                assert!(partner_peers.lock().unwrap().is_empty());
            }
        }
        // The AWS endpoint is reached through the service's forwarder, in every network.
        let answer = connect(&service, endpoint_address).await;
        assert_eq!(answer["connected"], json!(true), "{mode}: {answer}");
        assert_eq!(built.endpoint_connections()[&endpoint_address], 1, "{mode}");
        let forwarded = sluice_local::wait::wait_for(std::time::Duration::from_secs(5), || {
            let peers = endpoint_peers.clone();
            async move { (!peers.lock().unwrap().is_empty()).then_some(()) }
        })
        .await;
        assert!(forwarded.is_some(), "{mode}: the forwarder reached the endpoint on the machine's loopback");

        service.shutdown().await;
        assert!(!std::path::Path::new("/run/netns").join(&namespace).exists(), "{mode}: {namespace} removed");
    }
    let left: Vec<_> = std::fs::read_dir("/run/netns")
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    let ours = format!("sluice-{}-", std::process::id());
    assert!(!left.iter().any(|n| n.starts_with(&ours)), "namespaces left behind: {left:?}");
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn a_network_the_template_could_not_express_is_refused_with_the_setting_named() {
    let nat_without_vpc =
        NetworkConfig { enable_vpc: false, static_egress_ip: true, aws_endpoints: vec![], elastic_ip: None };
    let error = LocalLambda::start(config(nat_without_vpc), options(aws().await)).await.err().unwrap();
    assert!(matches!(&error, StartError::Invalid(m) if m.contains("static_egress_ip needs enable_vpc")), "{error}");
    let remote = NetworkConfig {
        enable_vpc: true,
        static_egress_ip: false,
        aws_endpoints: vec!["192.0.2.1:443".parse().unwrap()],
        elastic_ip: None,
    };
    let error = LocalLambda::start(config(remote), options(aws().await)).await.err().unwrap();
    assert!(
        matches!(&error, StartError::Invalid(m) if m.contains("192.0.2.1:443 is not a loopback address")),
        "{error}"
    );
}

#[test]
#[ignore = "needs the local stack: run scripts/test"]
fn a_test_that_fails_with_its_network_up_still_removes_it() {
    if !runnable("a_test_that_fails") {
        return;
    }
    let namespaces: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = namespaces.clone();
    let failed = std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async move {
            let network =
                NetworkConfig { enable_vpc: true, static_egress_ip: true, aws_endpoints: vec![], elastic_ip: None };
            let service = LocalLambda::start(config(network), options(aws().await)).await.unwrap();
            let answer = connect(&service, "127.0.0.1:9".parse().unwrap()).await;
            assert!(answer["netns"].is_string(), "an instance ran in the network");
            seen.lock().unwrap().push(service.network().unwrap().functions_namespace().unwrap());
            panic!("the test fails with the network up");
        })
    })
    .join();
    assert!(failed.is_err(), "the scenario panicked");
    let namespaces = namespaces.lock().unwrap().clone();
    assert_eq!(namespaces.len(), 1);
    assert!(!std::path::Path::new("/run/netns").join(&namespaces[0]).exists(), "{namespaces:?} left behind");
}
