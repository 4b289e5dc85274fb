//! The functions' network: Lambda's own network, or a VPC's private subnet with or without a
//! NAT gateway, built from network namespaces and veth links so that what AWS documents about
//! networking can be run and seen (Lambda Developer Guide, configuration-vpc and
//! configuration-vpc-internet):
//!
//! - **outside a VPC** a function reaches the internet from an address of AWS's choosing;
//! - **in a VPC** it has no route to the internet, even in a public subnet, unless the subnet
//!   routes through a NAT gateway; S3 and DynamoDB stay reachable through gateway endpoints;
//!   its logs still arrive, because Lambda ships them, not the function;
//! - **behind a NAT gateway with an Elastic IP** every call leaves from that one address.
//!
//! Every address comes from the documentation ranges (RFC 5737), never RFC 1918, and nothing
//! is linked to the machine's own namespace or uplink:
//!
//! ```text
//!   functions outside a VPC            functions in the VPC (private subnet 198.51.100.0/24)
//!   [lambda] 203.0.113.200/25          [subnet] eni0 198.51.100.10, default via .1
//!      |                                  |
//!      |                               [router] 198.51.100.1: the VPC router; with a NAT gateway
//!      |                                  |     it forwards and MASQUERADEs out of the Elastic IP,
//!      |                                  |     without one it forwards nothing (packets dropped)
//!      |                                  | eip0 192.0.2.10 (NAT link 192.0.2.0/24, NAT only)
//!   [internet] 203.0.113.129/25, 192.0.2.1; the partner host 203.0.113.10
//! ```
//!
//! The local stack stays on the machine's loopback. In the functions' namespace the service
//! listens on the same loopback addresses (`aws_endpoints`) and forwards each connection to
//! the machine's: a path to S3 and DynamoDB that never passes the router or the NAT, like a
//! gateway endpoint, with the functions' endpoint settings unchanged, as on AWS. The Runtime
//! API is on each namespace's loopback too, and logs are read from the processes' pipes.
//!
//! Simplified: one router namespace plays both the VPC router and the NAT gateway (in AWS the
//! NAT gateway sits in a public subnet); the forwarder forwards a port, so the local stack's SQS and
//! SNS on the S3 port are reachable as well (in AWS they need interface endpoints or NAT).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::config::NetworkConfig;
use crate::netns::{Namespace, NetworkError};

/// The partner host on the internet side: a partner API listens here ([`Network::listen_on_internet`]).
pub const PARTNER_HOST: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);
/// The address functions outside a VPC leave from: one of AWS's, which nobody can allow-list.
pub const LAMBDA_PUBLIC_ADDRESS: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 200);
pub use crate::config::ELASTIC_IP;
/// The functions' address in the private subnet (their Hyperplane ENI, shared by all instances).
pub const PRIVATE_SUBNET_ADDRESS: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);
/// The VPC router, the private subnet's gateway.
pub const VPC_ROUTER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
const INTERNET_NAT_SIDE: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const INTERNET_LAMBDA_SIDE: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 129);

static NEXT_NETWORK: AtomicU64 = AtomicU64::new(1);

/// A built network: namespaces, links, rules, and the service's endpoint forwarders. Removed
/// by [`Network::remove`] or on drop, whichever comes first.
///
/// ```no_run
/// use sluice_local::config::NetworkConfig;
/// # async fn f() -> Result<(), sluice_local::netns::NetworkError> {
/// let config = NetworkConfig { enable_vpc: true, static_egress_ip: true, ..NetworkConfig::default() };
/// let network = sluice_local::network::Network::create(&config)?;
/// assert_eq!(network.egress_address(), Some(sluice_local::network::ELASTIC_IP));
/// network.remove();
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Network {
    config: NetworkConfig,
    parts: Mutex<Option<Parts>>,
    forwarders: Vec<tokio::task::AbortHandle>,
    connections: BTreeMap<SocketAddr, Arc<AtomicU64>>,
}

#[derive(Debug)]
struct Parts {
    // Dropped in this order: the functions' side first.
    functions: Namespace,
    // Held so that it is deleted with the others.
    _router: Option<Namespace>,
    internet: Namespace,
}

impl Network {
    /// Builds the network `config` describes and starts its endpoint forwarders (on the
    /// current tokio runtime).
    pub fn create(config: &NetworkConfig) -> Result<Self, NetworkError> {
        let id = NEXT_NETWORK.fetch_add(1, Ordering::Relaxed);
        let internet = Namespace::create(&format!("{id}-internet"))?;
        internet.ip(["addr", "add", &format!("{PARTNER_HOST}/32"), "dev", "lo"])?;
        let (functions, router) = if config.enable_vpc {
            let subnet = Namespace::create(&format!("{id}-subnet"))?;
            let router = Namespace::create(&format!("{id}-router"))?;
            link((&subnet, "eni0", PRIVATE_SUBNET_ADDRESS, 24), (&router, "subnet0", VPC_ROUTER, 24))?;
            subnet.ip(["route", "add", "default", "via", &VPC_ROUTER.to_string()])?;
            if config.static_egress_ip {
                link((&router, "eip0", config.elastic_ip(), 24), (&internet, "nat0", INTERNET_NAT_SIDE, 24))?;
                router.ip(["route", "add", "default", "via", &INTERNET_NAT_SIDE.to_string()])?;
                router.forward()?;
                router.exec("iptables", ["-t", "nat", "-A", "POSTROUTING", "-o", "eip0", "-j", "MASQUERADE"])?;
            }
            // Without a NAT gateway the router keeps forwarding off: a packet for the internet
            // is dropped without an answer, so a connection attempt times out, as in a VPC whose
            // route table has no route to 0.0.0.0/0.
            (subnet, Some(router))
        } else {
            let lambda = Namespace::create(&format!("{id}-lambda"))?;
            link((&lambda, "eth0", LAMBDA_PUBLIC_ADDRESS, 25), (&internet, "lambda0", INTERNET_LAMBDA_SIDE, 25))?;
            lambda.ip(["route", "add", "default", "via", &INTERNET_LAMBDA_SIDE.to_string()])?;
            (lambda, None)
        };
        let mut forwarders = Vec::new();
        let mut connections = BTreeMap::new();
        for &endpoint in &config.aws_endpoints {
            let listener = functions.listen(endpoint)?;
            let listener = tokio::net::TcpListener::from_std(listener)
                .map_err(|source| NetworkError::Io { what: format!("serving {endpoint}"), source })?;
            let count = Arc::new(AtomicU64::new(0));
            connections.insert(endpoint, count.clone());
            forwarders.push(tokio::spawn(forward(listener, endpoint, count)).abort_handle());
        }
        tracing::info!(
            vpc = config.enable_vpc,
            nat = config.static_egress_ip,
            functions = functions.name(),
            "network built"
        );
        let parts = Parts { functions, _router: router, internet };
        Ok(Network { config: config.clone(), parts: Mutex::new(Some(parts)), forwarders, connections })
    }

    /// What it was built from.
    pub fn config(&self) -> &NetworkConfig {
        &self.config
    }

    /// The address the internet sees the functions' calls come from: the Elastic IP behind a
    /// NAT gateway, one of AWS's outside a VPC, none in a VPC without NAT (no call leaves).
    pub fn egress_address(&self) -> Option<Ipv4Addr> {
        match (self.config.enable_vpc, self.config.static_egress_ip) {
            (false, _) => Some(LAMBDA_PUBLIC_ADDRESS),
            (true, true) => Some(self.config.elastic_ip()),
            (true, false) => None,
        }
    }

    /// The namespace the functions run in, by name.
    pub fn functions_namespace(&self) -> Option<String> {
        self.with(|p| Ok(p.functions.name().to_owned())).ok()
    }

    /// A listener on the internet side, at `address` (on [`PARTNER_HOST`]): where a partner
    /// API serves.
    pub fn listen_on_internet(&self, address: SocketAddrV4) -> Result<std::net::TcpListener, NetworkError> {
        self.with(|p| p.internet.listen(address.into()))
    }

    /// A listener in the functions' namespace: an instance's Runtime API.
    pub(crate) fn listen_for_functions(&self, address: SocketAddr) -> Result<std::net::TcpListener, NetworkError> {
        self.with(|p| p.functions.listen(address))
    }

    /// A command running `program` in the functions' namespace.
    pub(crate) fn function_command(&self, program: &std::path::Path) -> Result<tokio::process::Command, NetworkError> {
        self.with(|p| p.functions.command(program))
    }

    /// Connections the functions opened to each AWS endpoint so far (through the forwarders).
    pub fn endpoint_connections(&self) -> BTreeMap<SocketAddr, u64> {
        self.connections.iter().map(|(a, n)| (*a, n.load(Ordering::Relaxed))).collect()
    }

    /// Stops the forwarders and deletes the namespaces, their links and rules. Idempotent.
    pub fn remove(&self) {
        for forwarder in &self.forwarders {
            forwarder.abort();
        }
        drop(self.parts.lock().expect("network poisoned").take());
    }

    fn with<T>(&self, f: impl FnOnce(&Parts) -> Result<T, NetworkError>) -> Result<T, NetworkError> {
        match self.parts.lock().expect("network poisoned").as_ref() {
            Some(parts) => f(parts),
            None => Err(NetworkError::Unavailable("the network was removed".into())),
        }
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        self.remove();
    }
}

/// A veth pair from `a` to `b`, each end addressed (`address/prefix`) and up.
fn link(a: (&Namespace, &str, Ipv4Addr, u8), b: (&Namespace, &str, Ipv4Addr, u8)) -> Result<(), NetworkError> {
    let ((na, ia, _, _), (nb, ib, _, _)) = (a, b);
    na.ip(["link", "add", ia, "type", "veth", "peer", "name", ib, "netns", nb.name()])?;
    for (namespace, interface, address, prefix) in [a, b] {
        namespace.ip(["addr", "add", &format!("{address}/{prefix}"), "dev", interface])?;
        namespace.ip(["link", "set", interface, "up"])?;
    }
    Ok(())
}

/// Accepts in the functions' namespace and relays each connection to `upstream` on the
/// machine's loopback.
async fn forward(listener: tokio::net::TcpListener, upstream: SocketAddr, count: Arc<AtomicU64>) {
    loop {
        let mut inbound = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!(%upstream, error = %e, "endpoint forwarder cannot accept");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        count.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            match tokio::net::TcpStream::connect(upstream).await {
                Ok(mut outbound) => {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
                Err(e) => tracing::warn!(%upstream, error = %e, "endpoint forwarder cannot reach the local stack"),
            }
        });
    }
}
