//! `sluice local up` as a user runs it: a child process whose standard output lists the stack's
//! outputs, then the Invoke API's address once the functions run. Interrupted, it stops the
//! functions and leaves the stack.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Lines};
use std::process::{Child, ChildStdout, Command, Stdio};

/// A running `sluice local up`.
pub struct LocalUp {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    /// The stack's outputs, as printed.
    pub outputs: BTreeMap<String, String>,
    /// What it printed up to the Invoke API's address.
    pub said: Vec<String>,
    /// The local Lambda service's Invoke API (`AWS_ENDPOINT_URL_LAMBDA`).
    pub endpoint: String,
}

impl LocalUp {
    /// Runs `command` (a `sluice local up ...`) until it serves. Bounded by the test's own
    /// timeout: `up` exits on any failure, which ends its output.
    pub fn start(mut command: Command) -> LocalUp {
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("sluice runs");
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        let (mut outputs, mut said) = (BTreeMap::new(), Vec::new());
        for line in lines.by_ref() {
            let line = line.expect("utf-8 output");
            println!("up: {line}");
            if let Some((key, value)) = line.trim().split_once(" = ") {
                outputs.insert(key.to_owned(), value.to_owned());
            }
            if let Some(endpoint) = line.strip_prefix("AWS_ENDPOINT_URL_LAMBDA=") {
                let endpoint = endpoint.to_owned();
                said.push(line);
                return LocalUp { child, lines, outputs, said, endpoint };
            }
            said.push(line);
        }
        let status = child.wait().expect("sluice exits");
        panic!("sluice local up did not start serving ({status}): {said:?}");
    }

    /// Interrupts it as Ctrl-C does; whether it exited cleanly, and what it printed meanwhile.
    pub fn interrupt(mut self) -> (bool, Vec<String>) {
        self.interrupted()
    }

    fn interrupted(&mut self) -> (bool, Vec<String>) {
        Command::new("kill").args(["-INT", &self.child.id().to_string()]).status().expect("kill runs");
        let said: Vec<String> = self.lines.by_ref().map_while(Result::ok).collect();
        (self.child.wait().expect("sluice exits").success(), said)
    }
}

/// A test that fails midway still stops the service it started (which would otherwise hold the
/// test's output open).
impl Drop for LocalUp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
