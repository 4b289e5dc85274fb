//! Linux network namespaces, made and removed with iproute2's `ip`, and sockets opened inside
//! them.
//!
//! A [`Namespace`](crate::netns::Namespace) is deleted when dropped, so a test that fails half-way still removes what it
//! made (its veth links and iptables rules go with it: they live in the namespace). A process
//! killed outright cannot run its drops; the next [`Namespace::create`](crate::netns::Namespace::create) removes the namespaces
//! of dead sluice processes, whose names carry the pid that made them.
//!
//! A socket belongs to the namespace it was opened in, whichever thread uses it later: so
//! [`Namespace::listen`](crate::netns::Namespace::listen) opens a listener on a short-lived thread moved into the namespace
//! (`setns(2)`), and the service serves it from its own threads, which stay in the machine's
//! namespace. That is how the Runtime API sits on an instance's own loopback, as Lambda's does
//! (`127.0.0.1:9001` inside the execution environment), and how a forwarder owned by the service
//! reaches from a namespace back to the local stack on the machine's loopback.

use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Why the network could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetworkError {
    /// This machine or user cannot make network namespaces.
    #[error("network namespaces are unavailable: {0}")]
    Unavailable(String),
    /// A command failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status.
        status: String,
        /// What it wrote to stderr.
        stderr: String,
    },
    /// A system call failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// Prefix of the namespaces sluice makes: `sluice-<pid>-...`.
const PREFIX: &str = "sluice-";

/// Checks that namespaces, veth links and NAT rules can be made here: root, `ip` and
/// `iptables` present. The error says what is missing.
///
/// ```
/// match sluice_local::netns::available() {
///     Ok(()) => println!("network namespaces available"),
///     Err(why) => println!("skipped: {why}"),
/// }
/// ```
pub fn available() -> Result<(), NetworkError> {
    if !nix::unistd::geteuid().is_root() {
        return Err(NetworkError::Unavailable(
            "making network namespaces needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN)".into(),
        ));
    }
    for tool in ["ip", "iptables"] {
        if find(tool).is_none() {
            return Err(NetworkError::Unavailable(format!(
                "`{tool}` is not installed (Debian: apt-get install iproute2 iptables; scripts/setup does it)"
            )));
        }
    }
    Ok(())
}

/// The path of `program` on `PATH` or in the sbin directories (which a non-login `PATH` may lack).
fn find(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

fn tool(program: &str) -> Result<PathBuf, NetworkError> {
    find(program).ok_or_else(|| NetworkError::Unavailable(format!("`{program}` is not installed")))
}

/// Runs `program args`, failing with its stderr when it fails.
fn run<I, S>(program: &str, args: I) -> Result<(), NetworkError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let line = || {
        let words: Vec<_> = args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
        format!("{program} {}", words.join(" "))
    };
    let out = Command::new(tool(program)?)
        .args(&args)
        .output()
        .map_err(|source| NetworkError::Io { what: line(), source })?;
    if out.status.success() {
        return Ok(());
    }
    Err(NetworkError::Command {
        command: line(),
        status: out.status.to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
    })
}

/// A network namespace this process made; deleted on drop.
#[derive(Debug)]
pub struct Namespace {
    name: String,
}

impl Namespace {
    /// Makes the namespace `sluice-<pid>-<role>` with its loopback up, after removing the
    /// namespaces of sluice processes that are gone.
    pub fn create(role: &str) -> Result<Self, NetworkError> {
        available()?;
        sweep();
        let name = format!("{PREFIX}{}-{role}", std::process::id());
        run("ip", ["netns", "add", &name])?;
        let namespace = Namespace { name };
        namespace.ip(["link", "set", "lo", "up"])?;
        Ok(namespace)
    }

    /// Its name, as `ip netns list` shows it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `ip args` in the namespace (`ip -n NAME ...`).
    pub fn ip<const N: usize>(&self, args: [&str; N]) -> Result<(), NetworkError> {
        run("ip", ["-n", self.name.as_str()].into_iter().chain(args))
    }

    /// Runs `program args` in the namespace (`ip netns exec NAME ...`): iptables rules, sysctls.
    pub fn exec<const N: usize>(&self, program: &str, args: [&str; N]) -> Result<(), NetworkError> {
        let program = tool(program)?;
        let program = program.to_string_lossy();
        run("ip", ["netns", "exec", self.name.as_str(), &program].into_iter().chain(args))
    }

    /// Turns IPv4 forwarding on: the namespace routes between its links.
    pub fn forward(&self) -> Result<(), NetworkError> {
        self.exec("sh", ["-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"])
    }

    /// A command that runs `program` in the namespace: `ip netns exec` switches namespace and
    /// then executes `program` in its own process, so the child's pid is the program's.
    pub fn command(&self, program: &Path) -> Result<tokio::process::Command, NetworkError> {
        let mut command = tokio::process::Command::new(tool("ip")?);
        command.args(["netns", "exec", &self.name]).arg(program);
        Ok(command)
    }

    /// A TCP listener on `address` inside the namespace (non-blocking, for tokio).
    pub fn listen(&self, address: SocketAddr) -> Result<std::net::TcpListener, NetworkError> {
        let path = Path::new("/run/netns").join(&self.name);
        let what = format!("listening on {address} in network namespace {}", self.name);
        let opened = std::thread::scope(|scope| {
            scope
                .spawn(|| -> std::io::Result<std::net::TcpListener> {
                    let handle = std::fs::File::open(&path)?;
                    // Only this thread moves; it ends here, the socket stays in the namespace.
                    nix::sched::setns(&handle, nix::sched::CloneFlags::CLONE_NEWNET)?;
                    let listener = std::net::TcpListener::bind(address)?;
                    listener.set_nonblocking(true)?;
                    Ok(listener)
                })
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("the namespace thread panicked")))
        });
        opened.map_err(|source| NetworkError::Io { what, source })
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        if let Err(e) = run("ip", ["netns", "del", self.name.as_str()]) {
            tracing::warn!(namespace = %self.name, error = %e, "cannot delete the network namespace");
        }
    }
}

/// Deletes the namespaces of sluice processes that no longer run.
fn sweep() {
    let Ok(entries) = std::fs::read_dir("/run/netns") else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(PREFIX).and_then(|rest| rest.split('-').next()) else { continue };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            tracing::info!(namespace = %name, "deleting the network namespace of a process that is gone");
            let _ = run("ip", ["netns", "del", name.as_str()]);
        }
    }
}
