//! How an execution environment's process starts.
//!
//! On Lambda, an OS-only runtime (`provided.al2023`, `provided.al2`) runs the function's own
//! `bootstrap`. A managed runtime runs Lambda's bootstrap for the language, which starts AWS's
//! runtime interface client with the function's `Handler`, its code in `/var/task` and its
//! layers in `/opt`. Locally the same clients do the same work:
//!
//! | runtime | runs as | found by |
//! |---|---|---|
//! | `provided.*`, or any runtime with a `bootstrap` configured | the function's `bootstrap` | the function's code |
//! | `python3.x` | `python -m awslambdaric <Handler>` | `SLUICE_LOCAL_PYTHON`, else `python3.x`, else `python3`, whichever imports `awslambdaric` |
//! | `nodejs*.x` | `aws-lambda-ric <Handler>` (AWS's Node.js client) | `SLUICE_LOCAL_NODE_RIC`, else `aws-lambda-ric` on `PATH` |
//! | anything else | not run | |
//!
//! The interpreter is this machine's, whatever its version: a `python3.12` function runs under
//! the interpreter found, and [`Launch::interpreter`](crate::launch::Launch::interpreter) says which, so the difference is visible.
//! Each function is resolved once, when the service starts; a function that cannot run is named
//! with its runtime and what would make it run ([`RuntimeUnavailable`](crate::launch::RuntimeUnavailable)).
//!
//! ```no_run
//! # async fn run() {
//! let function: sluice_local::FunctionConfig = serde_json::from_value(serde_json::json!({
//!     "name": "orders", "runtime": "python3.12", "handler": "app.handler", "task_root": "orders/"
//! })).unwrap();
//! match sluice_local::launch::Launch::resolve(&function).await {
//!     Ok(launch) => println!("runs {:?} under {:?}", launch.program, launch.interpreter),
//!     Err(why) => println!("not run: {why}"),
//! }
//! # }
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::FunctionConfig;

/// The interpreter with `awslambdaric` that Python functions run under, when set.
pub const PYTHON_VARIABLE: &str = "SLUICE_LOCAL_PYTHON";
/// AWS's Node.js runtime interface client (`aws-lambda-ric`) to run Node.js functions with, when set.
pub const NODE_RIC_VARIABLE: &str = "SLUICE_LOCAL_NODE_RIC";

/// The longest runtime identifier an error quotes whole (AWS's are under 20 bytes).
const RUNTIME_QUOTE_LIMIT: usize = 64;

/// How one function's execution environments start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// The function's code: the working directory and `LAMBDA_TASK_ROOT`.
    pub task_root: PathBuf,
    /// `_HANDLER`.
    pub handler: String,
    /// What the runtime adds to the environment (`PYTHONPATH`, `NODE_PATH`, `PATH`), under the
    /// function's own variables, which win as they do on Lambda.
    pub environment: BTreeMap<String, String>,
    /// The interpreter a managed runtime runs under, in words (`Python 3.11.7
    /// (/path/to/python)`); `None` for a bootstrap.
    pub interpreter: Option<String>,
}

/// Why a function's runtime cannot run here, and what would make it run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeUnavailable {
    /// A runtime the local service has no client for.
    #[error(
        "runtime {runtime} is not run locally: build it as a custom runtime (Runtime: provided.al2023 and a bootstrap in CodeUri) to run it here"
    )]
    Unsupported {
        /// The runtime.
        runtime: String,
    },
    /// A managed runtime with no `Handler`.
    #[error("runtime {runtime} needs a Handler (module.function for Python, file.export for Node.js)")]
    NoHandler {
        /// The runtime.
        runtime: String,
    },
    /// The runtime's interface client was not found.
    #[error("runtime {runtime}: {looked}; {remedy}")]
    NoClient {
        /// The runtime.
        runtime: String,
        /// Where it looked and what it found.
        looked: String,
        /// What would make it run.
        remedy: String,
    },
    /// An OS-only runtime whose bootstrap is not named.
    #[error("runtime {runtime} runs a bootstrap, and none is configured")]
    NoBootstrap {
        /// The runtime.
        runtime: String,
    },
}

impl Launch {
    /// How `function` starts, or why it cannot. Runs the candidate interpreters to check that
    /// they have the runtime client (`tokio::process`, a few tens of milliseconds each).
    pub async fn resolve(function: &FunctionConfig) -> Result<Launch, RuntimeUnavailable> {
        // Quoted in every error: a runtime identifier is short, and a configuration's may be anything.
        let runtime = sluice_excerpt::clip(&function.runtime, RUNTIME_QUOTE_LIMIT).into_owned();
        let task_root = function.code_dir();
        let has_bootstrap = !function.bootstrap.as_os_str().is_empty();
        if !function.is_managed_runtime() && !has_bootstrap {
            return Err(RuntimeUnavailable::NoBootstrap { runtime });
        }
        // A bootstrap runs as it is, whatever the runtime: a managed runtime's bootstrap is a
        // wrapper that starts the runtime client itself (configurations written before
        // managed runtimes ran, the benchmark's Python side).
        if has_bootstrap {
            return Ok(Launch {
                program: function.bootstrap.clone(),
                args: Vec::new(),
                task_root,
                handler: function.handler.clone().unwrap_or_else(|| "bootstrap".into()),
                environment: BTreeMap::new(),
                interpreter: None,
            });
        }
        let language = if runtime.starts_with("python3") {
            Language::Python
        } else if runtime.starts_with("nodejs") {
            Language::Node
        } else {
            return Err(RuntimeUnavailable::Unsupported { runtime });
        };
        let handler = match function.handler.as_deref() {
            Some(handler) if !handler.is_empty() => handler.to_owned(),
            _ => return Err(RuntimeUnavailable::NoHandler { runtime }),
        };
        match language {
            Language::Python => python(&runtime, handler, task_root, &function.layers).await,
            Language::Node => node(&runtime, handler, task_root, &function.layers),
        }
    }
}

enum Language {
    Python,
    Node,
}

/// `python -m awslambdaric <handler>`, under the first interpreter that imports it.
async fn python(
    runtime: &str,
    handler: String,
    task_root: PathBuf,
    layers: &[PathBuf],
) -> Result<Launch, RuntimeUnavailable> {
    let candidates: Vec<(PathBuf, &str)> = match std::env::var_os(PYTHON_VARIABLE) {
        Some(set) => vec![(PathBuf::from(set), PYTHON_VARIABLE)],
        None => vec![(PathBuf::from(runtime), "PATH"), (PathBuf::from("python3"), "PATH")],
    };
    let mut looked = Vec::new();
    for (interpreter, source) in candidates {
        match python_version(&interpreter).await {
            Some(version) => {
                // Lambda's sys.path: the task root, then each layer's python/lib/pythonX.Y/site-packages
                // and python/ (Lambda Developer Guide, "Working with layers for Python").
                let mut path = vec![task_root.clone()];
                for layer in layers {
                    let python = layer.join("python");
                    path.push(python.join("lib").join(runtime).join("site-packages"));
                    path.push(python);
                }
                return Ok(Launch {
                    args: vec!["-m".into(), "awslambdaric".into(), handler.clone()],
                    program: interpreter.clone(),
                    task_root,
                    handler,
                    environment: runtime_paths(&[("PYTHONPATH", path)], layers),
                    interpreter: Some(format!("Python {version} ({} from {source})", interpreter.display())),
                });
            }
            None => looked.push(format!("{} ({source})", interpreter.display())),
        }
    }
    Err(RuntimeUnavailable::NoClient {
        runtime: runtime.to_owned(),
        looked: format!("no interpreter with awslambdaric: tried {}", looked.join(", ")),
        remedy: format!(
            "install AWS's runtime interface client (pip install awslambdaric) for {runtime}, or set {PYTHON_VARIABLE} \
             to a Python that has it"
        ),
    })
}

/// The version of `interpreter` if it runs and imports `awslambdaric`.
async fn python_version(interpreter: &Path) -> Option<String> {
    let out = tokio::process::Command::new(interpreter)
        .args(["-c", "import awslambdaric, platform; print(platform.python_version())"])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// `aws-lambda-ric <handler>`, AWS's Node.js runtime interface client, where it is installed.
fn node(runtime: &str, handler: String, task_root: PathBuf, layers: &[PathBuf]) -> Result<Launch, RuntimeUnavailable> {
    let (client, source) = match std::env::var_os(NODE_RIC_VARIABLE) {
        Some(set) => (Some(PathBuf::from(set)), NODE_RIC_VARIABLE),
        None => (on_path("aws-lambda-ric"), "PATH"),
    };
    let Some(client) = client.filter(|c| c.is_file()) else {
        return Err(RuntimeUnavailable::NoClient {
            runtime: runtime.to_owned(),
            looked: format!("no aws-lambda-ric (looked in {source})"),
            remedy: format!(
                "install AWS's Node.js runtime interface client (npm install -g aws-lambda-ric), or set \
                 {NODE_RIC_VARIABLE} to its aws-lambda-ric"
            ),
        });
    };
    // Lambda's NODE_PATH: each layer's nodejs/node_modules (Lambda Developer Guide, "Working with
    // layers for Node.js"), then the task root's own node_modules.
    let mut path: Vec<PathBuf> = layers.iter().map(|l| l.join("nodejs").join("node_modules")).collect();
    path.push(task_root.join("node_modules"));
    Ok(Launch {
        program: client.clone(),
        args: vec![handler.clone()],
        task_root,
        handler,
        environment: runtime_paths(&[("NODE_PATH", path)], layers),
        interpreter: Some(format!("Node.js through {} (from {source})", client.display())),
    })
}

/// The runtime's path variables, and `PATH` with each layer's `bin/` first (`/opt/bin` on Lambda).
fn runtime_paths(variables: &[(&str, Vec<PathBuf>)], layers: &[PathBuf]) -> BTreeMap<String, String> {
    let join = |paths: &mut dyn Iterator<Item = PathBuf>| {
        std::env::join_paths(paths).map(|p| p.to_string_lossy().into_owned()).unwrap_or_default()
    };
    let mut environment: BTreeMap<String, String> =
        variables.iter().map(|(name, paths)| ((*name).to_owned(), join(&mut paths.iter().cloned()))).collect();
    if !layers.is_empty() {
        let system = std::env::var_os("PATH").unwrap_or_default();
        let mut path = layers.iter().map(|l| l.join("bin")).chain(std::env::split_paths(&system));
        environment.insert("PATH".into(), join(&mut path));
    }
    environment
}

/// `name` as the shell would find it on `PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|dir| dir.join(name)).find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn function(runtime: &str, handler: Option<&str>) -> FunctionConfig {
        let mut f: FunctionConfig =
            serde_json::from_value(serde_json::json!({"name": "f", "task_root": "/code"})).unwrap();
        f.runtime = runtime.into();
        f.handler = handler.map(str::to_owned);
        f
    }

    #[tokio::test]
    async fn a_bootstrap_runs_as_it_is_and_other_runtimes_say_what_would_run_them() {
        let mut f = function("provided.al2023", None);
        f.bootstrap = "/code/bootstrap".into();
        let launch = Launch::resolve(&f).await.unwrap();
        assert_eq!((launch.program, launch.handler), (PathBuf::from("/code/bootstrap"), "bootstrap".to_owned()));
        let none = Launch::resolve(&function("provided.al2", None)).await.unwrap_err();
        assert!(matches!(none, RuntimeUnavailable::NoBootstrap { .. }), "{none}");
        let mut wrapped = function("python3.12", Some("app.handler"));
        wrapped.bootstrap = "/code/run-python".into();
        let launch = Launch::resolve(&wrapped).await.unwrap();
        assert_eq!((launch.program, launch.handler), (PathBuf::from("/code/run-python"), "app.handler".to_owned()));
        let java = Launch::resolve(&function("java21", Some("a.B::handle"))).await.unwrap_err();
        assert!(matches!(java, RuntimeUnavailable::Unsupported { .. }), "{java}");
        assert!(java.to_string().contains("provided.al2023"), "{java}");
        let hostile = Launch::resolve(&function(&"x".repeat(5000), Some("a.b"))).await.unwrap_err().to_string();
        assert!(hostile.len() < 400, "a runtime is quoted as an excerpt: {} bytes", hostile.len());
        let handlerless = Launch::resolve(&function("python3.12", None)).await.unwrap_err();
        assert!(matches!(handlerless, RuntimeUnavailable::NoHandler { .. }), "{handlerless}");
    }

    #[test]
    fn layers_go_on_the_runtime_paths_as_opt_does() {
        let layers = [PathBuf::from("/layers/one")];
        let env = runtime_paths(&[("PYTHONPATH", vec!["/code".into(), "/layers/one/python".into()])], &layers);
        assert_eq!(env["PYTHONPATH"], "/code:/layers/one/python");
        assert!(env["PATH"].starts_with("/layers/one/bin:"), "{}", env["PATH"]);
        let no_layers = runtime_paths(&[("NODE_PATH", vec!["/code/node_modules".into()])], &[]);
        assert!(!no_layers.contains_key("PATH"));
    }
}
