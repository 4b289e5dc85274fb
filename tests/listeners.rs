//! Nothing of the local stack is reachable from another machine: every socket moto,
//! redis (and their children) and the local Lambda service listen on is bound to loopback. An
//! unauthenticated AWS emulator on `0.0.0.0` would serve the test data to any network the
//! machine joins. Run by `scripts/test` with the stack up; `#[ignore]`d for a bare `cargo test`.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use sluice_e2e::scenario::Scenario;

/// A listening (TCP) or bound (UDP) socket: its inode and local address.
#[derive(Debug)]
struct Bound {
    inode: u64,
    address: IpAddr,
    port: u16,
    protocol: &'static str,
}

/// Parses `/proc/net/{tcp,tcp6,udp,udp6}`: TCP sockets in LISTEN, every UDP socket.
fn bound_sockets() -> Vec<Bound> {
    let mut found = Vec::new();
    for (file, protocol) in [("tcp", "tcp"), ("tcp6", "tcp"), ("udp", "udp"), ("udp6", "udp")] {
        let text = std::fs::read_to_string(Path::new("/proc/net").join(file)).unwrap_or_default();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state), Some(inode)) = (fields.get(1), fields.get(3), fields.get(9)) else {
                continue;
            };
            if protocol == "tcp" && *state != "0A" {
                continue; // not LISTEN
            }
            let (address, port) = local.split_once(':').expect("address:port");
            found.push(Bound {
                inode: inode.parse().unwrap(),
                address: decode(address),
                port: u16::from_str_radix(port, 16).unwrap(),
                protocol,
            });
        }
    }
    found
}

/// A `/proc/net` address: 4 bytes (IPv4) or 16 (IPv6), as 32-bit words in host byte order.
fn decode(hex: &str) -> IpAddr {
    let words: Vec<u32> =
        (0..hex.len() / 8).map(|i| u32::from_str_radix(&hex[i * 8..i * 8 + 8], 16).unwrap().to_be()).collect();
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
    match bytes.len() {
        4 => IpAddr::from(<[u8; 4]>::try_from(bytes).unwrap()),
        _ => IpAddr::from(<[u8; 16]>::try_from(bytes).unwrap()),
    }
}

fn is_loopback(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

/// The socket inodes process `pid` holds.
fn socket_inodes(pid: u32) -> BTreeSet<u64> {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return BTreeSet::new() };
    fds.flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|link| link.to_str()?.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok())
        .collect()
}

/// The processes of process group `group` (the stack script starts each server with setsid).
fn group_members(group: u32) -> Vec<u32> {
    let mut members = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // pid (comm) state ppid pgrp ...: comm may hold spaces, so count from its closing paren.
        let after = &stat[stat.rfind(')').map_or(0, |i| i + 1)..];
        if after.split_whitespace().nth(2).and_then(|g| g.parse::<u32>().ok()) == Some(group) {
            members.push(pid);
        }
    }
    members
}

/// The sockets `pids` listen on that are not bound to loopback, described.
fn exposed(what: &str, pids: &[u32], sockets: &[Bound]) -> Vec<String> {
    let inodes: BTreeSet<u64> = pids.iter().flat_map(|p| socket_inodes(*p)).collect();
    sockets
        .iter()
        .filter(|s| inodes.contains(&s.inode) && !is_loopback(s.address))
        .map(|s| format!("{what}: {} {}:{}", s.protocol, s.address, s.port))
        .collect()
}

fn stack_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/stack")
}

#[test]
fn proc_net_addresses_decode_as_the_kernel_writes_them() {
    assert_eq!(decode("0100007F"), IpAddr::from([127, 0, 0, 1]));
    assert_eq!(decode("00000000"), IpAddr::from([0, 0, 0, 0]));
    assert_eq!(decode("00000000000000000000000001000000"), "::1".parse::<IpAddr>().unwrap());
    assert!(is_loopback(decode("0000000000000000FFFF00000100007F")), "::ffff:127.0.0.1");
    assert!(!is_loopback(decode("00000000000000000000000000000000")), "::");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local stack: run scripts/test"]
async fn every_listener_of_the_local_stack_and_the_lambda_service_is_on_loopback() {
    let mut problems = Vec::new();
    let mut servers = 0;
    let mut listening = 0;
    let sockets = bound_sockets();
    for name in ["moto", "dynamodb", "redis"] {
        let pid_file = stack_dir().join(format!("{name}.pid"));
        let pid: u32 = std::fs::read_to_string(&pid_file)
            .unwrap_or_else(|_| panic!("{} is missing: start the stack (scripts/stack start)", pid_file.display()))
            .trim()
            .parse()
            .unwrap();
        let members = group_members(pid);
        assert!(!members.is_empty(), "{name} (pid {pid}) is not running: start the stack");
        servers += 1;
        let inodes: BTreeSet<u64> = members.iter().flat_map(|p| socket_inodes(*p)).collect();
        listening += sockets.iter().filter(|s| inodes.contains(&s.inode)).count();
        problems.extend(exposed(name, &members, &sockets));
    }
    // The local Lambda service with both workers deployed and warm: its Invoke API and each
    // instance's Runtime API, in this process.
    let mut scenario = Scenario::start("listeners").await;
    scenario.upload(2).await;
    let (accounts, partner) = scenario.finish().await;
    scenario.assert_processed_once(&accounts, &partner).await;
    let sockets = bound_sockets();
    problems.extend(exposed("this process (the local Lambda service, the partner)", &[std::process::id()], &sockets));
    let own = socket_inodes(std::process::id());
    let serving = sockets.iter().filter(|s| own.contains(&s.inode) && s.protocol == "tcp").count();
    assert!(serving >= 4, "the Invoke API, the partner and two warm instances' Runtime APIs listen: {serving}");
    scenario.stop().await;
    assert_eq!(servers, 3);
    assert!(listening >= 3, "each server listens on something");
    assert!(problems.is_empty(), "listening beyond loopback:\n{}", problems.join("\n"));
}
