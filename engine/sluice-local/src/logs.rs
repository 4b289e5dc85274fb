//! Function logs, as Lambda writes them: what the process prints, framed per invocation by
//! `START`, `END` and `REPORT` lines (Lambda Developer Guide, "Lambda function logs").
//!
//! Every instance's standard output and error go to the function's log file, and the last
//! [`TAIL_KEPT`] bytes stay in memory too, so an invocation with `LogType: Tail` gets the last
//! 4 KB of its own log, as the Invoke API returns them in `X-Amz-Log-Result`.

use std::collections::VecDeque;
use std::io::Write;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};

/// Bytes of recent output kept per instance.
pub(crate) const TAIL_KEPT: usize = 64 * 1024;
/// The Invoke API returns the last 4 KB of the log (Lambda API `Invoke`, `LogType`).
pub(crate) const TAIL_RETURNED: usize = 4 * 1024;

/// The longest [`InstanceLog::settle`] waits for output still in the pipes.
const SETTLE_LIMIT: Duration = Duration::from_millis(50);

// FIONREAD: the bytes waiting in a pipe.
nix::ioctl_read_bad!(bytes_waiting, nix::libc::FIONREAD, nix::libc::c_int);

/// One instance's log: appended to the function's file, its tail kept in memory.
pub(crate) struct InstanceLog {
    file: Arc<Mutex<std::fs::File>>,
    tail: Mutex<Tail>,
    /// The read ends of the process's stdout and stderr pipes still being copied.
    pipes: Mutex<Vec<RawFd>>,
    /// Reads taken from a pipe and not yet in the log.
    copying: AtomicUsize,
}

#[derive(Default)]
struct Tail {
    bytes: VecDeque<u8>,
    total: u64,
}

impl InstanceLog {
    pub(crate) fn new(file: Arc<Mutex<std::fs::File>>) -> Self {
        InstanceLog { file, tail: Mutex::default(), pipes: Mutex::default(), copying: AtomicUsize::new(0) }
    }

    /// Appends `data`.
    pub(crate) fn write(&self, data: &[u8]) {
        let _ = self.file.lock().expect("log poisoned").write_all(data);
        let mut tail = self.tail.lock().expect("log poisoned");
        tail.bytes.extend(data);
        let excess = tail.bytes.len().saturating_sub(TAIL_KEPT);
        tail.bytes.drain(..excess);
        tail.total += data.len() as u64;
    }

    /// A position in the log, to read what comes after it.
    pub(crate) fn mark(&self) -> u64 {
        self.tail.lock().expect("log poisoned").total
    }

    /// The last `max` bytes written since `mark` (as far as the tail still holds them).
    pub(crate) fn since(&self, mark: u64, max: usize) -> Vec<u8> {
        let tail = self.tail.lock().expect("log poisoned");
        let written = (tail.total - mark).min(tail.bytes.len() as u64) as usize;
        let take = written.min(max);
        tail.bytes.iter().skip(tail.bytes.len() - take).copied().collect()
    }

    /// Copies everything `reader` (the process's stdout or stderr) yields into the log.
    pub(crate) fn pump(self: &Arc<Self>, mut reader: impl AsyncRead + AsRawFd + Unpin + Send + 'static) {
        let log = self.clone();
        let fd = reader.as_raw_fd();
        self.pipes.lock().expect("log poisoned").push(fd);
        tokio::spawn(async move {
            let mut buffer = vec![0u8; 8192];
            loop {
                let read = reader.read(&mut buffer).await;
                log.copying.fetch_add(1, Ordering::SeqCst);
                let copied = match read {
                    Ok(n) if n > 0 => {
                        log.write(&buffer[..n]);
                        true
                    }
                    _ => false,
                };
                log.copying.fetch_sub(1, Ordering::SeqCst);
                if !copied {
                    break;
                }
            }
            // Forgotten before the pipe closes, so its number, free again, is never asked about.
            log.pipes.lock().expect("log poisoned").retain(|p| *p != fd);
            drop(reader);
        });
    }

    /// Waits until what the process has written to its pipes is in the log (at most
    /// [`SETTLE_LIMIT`]): a runtime prints, then posts its response, and Lambda's log has the
    /// printed lines before the invocation's `END`. The copy runs on its own task, so without
    /// this the `END` line could overtake them.
    pub(crate) async fn settle(&self) {
        let deadline = tokio::time::Instant::now() + SETTLE_LIMIT;
        let idle = || self.copying.load(Ordering::SeqCst) == 0 && self.waiting() == 0;
        loop {
            if idle() {
                // Again after a turn of the scheduler: a read that just left the pipe is counted.
                tokio::task::yield_now().await;
                if idle() {
                    return;
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Bytes waiting in the pipes.
    fn waiting(&self) -> i64 {
        let pipes = self.pipes.lock().expect("log poisoned");
        pipes
            .iter()
            .map(|fd| {
                let mut n: nix::libc::c_int = 0;
                // SAFETY: FIONREAD writes one c_int; the fd is a pipe this log still reads.
                match unsafe { bytes_waiting(*fd, &mut n) } {
                    Ok(_) => i64::from(n),
                    Err(_) => 0,
                }
            })
            .sum()
    }
}

/// Lambda's `REPORT` line of one invocation.
pub(crate) fn report_line(
    request_id: &str,
    duration_ms: f64,
    billed_ms: u64,
    memory_mb: u32,
    max_memory_mb: Option<u64>,
    init_ms: Option<f64>,
) -> String {
    let mut line = format!(
        "REPORT RequestId: {request_id}\tDuration: {duration_ms:.2} ms\tBilled Duration: {billed_ms} ms\tMemory Size: {memory_mb} MB"
    );
    if let Some(used) = max_memory_mb {
        line.push_str(&format!("\tMax Memory Used: {used} MB"));
    }
    if let Some(init) = init_ms {
        line.push_str(&format!("\tInit Duration: {init:.2} ms"));
    }
    line.push('\n');
    line
}

/// The peak resident memory of process `pid` so far in KiB (`VmHWM` in `/proc/<pid>/status`),
/// if known. Like Lambda's "Max Memory Used", it is the execution environment's peak, not the
/// invocation's: it never goes down while the instance lives.
pub(crate) fn peak_rss_kb(pid: Option<u32>) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_returns_the_last_bytes_after_the_mark_bounded() {
        let file = tempfile();
        let log = InstanceLog::new(Arc::new(Mutex::new(file)));
        log.write(b"before\n");
        let mark = log.mark();
        log.write(b"START\nhello\nEND\n");
        assert_eq!(log.since(mark, 1024), b"START\nhello\nEND\n");
        assert_eq!(log.since(mark, 4), b"END\n");
    }

    fn tempfile() -> std::fs::File {
        let path = std::env::temp_dir().join(format!("sluice-logs-{}", uuid::Uuid::new_v4()));
        std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap()
    }
}
