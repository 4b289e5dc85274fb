//! Each function's code, as `sam build` would make it: a Rust crate is built with cargo
//! (natively: the local Lambda service runs it on this machine, where `sam build` cross-compiles
//! for the function's architecture with cargo-lambda), a prebuilt bootstrap is taken as it is,
//! and a managed runtime's source directory and layers are run in place (dependencies are not
//! installed: `sam build` would `pip install` a `requirements.txt`; here they come from a layer,
//! the code directory or the interpreter).
//!
//! Building runs cargo as a child process the caller's runtime waits on (`tokio::process`),
//! never blocking it.
//!
//! ```no_run
//! # async fn run() {
//! use sluice_sam::artifacts::{Workers, artifacts};
//! let template = sluice_sam::template::SamTemplate::read("template.yaml".as_ref()).await.unwrap();
//! let functions = template.functions().unwrap();
//! // Built already (the tests): binaries by name in target/debug.
//! let built = artifacts(&functions, &Workers::Built("target/debug".into())).await.unwrap();
//! // Or built now, in release, as `sluice local up` does by default.
//! let fresh = artifacts(&functions, &Workers::Build { release: true }).await.unwrap();
//! # }
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tokio::process::Command;

use crate::template::{FunctionCode, SamFunction, TemplateError};

/// Where Rust functions' binaries come from.
#[derive(Debug, Clone)]
pub enum Workers {
    /// Built already: `<dir>/<binary>` (a cargo target profile directory).
    Built(PathBuf),
    /// Built now with `cargo build --bin <binary>` in the function's `CodeUri`.
    Build {
        /// `--release`, as `sam build` builds.
        release: bool,
    },
}

/// What runs a function locally.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Artifact {
    /// A custom runtime's `bootstrap`.
    Bootstrap(PathBuf),
    /// A managed runtime's source, run in place.
    Source {
        /// The code directory (`LAMBDA_TASK_ROOT`).
        dir: PathBuf,
        /// Its layers' content, in order.
        layers: Vec<PathBuf>,
    },
}

/// The artifact of every function, by logical ID.
pub async fn artifacts(
    functions: &[SamFunction],
    workers: &Workers,
) -> Result<BTreeMap<String, Artifact>, TemplateError> {
    let mut out = BTreeMap::new();
    for function in functions {
        let unsupported = |reason: String| TemplateError::Unsupported { function: function.logical_id.clone(), reason };
        let path = match (&function.code, workers) {
            (FunctionCode::Bootstrap(path), _) => path.clone(),
            (FunctionCode::Source(dir), _) => {
                let mut layers = Vec::new();
                for layer in &function.layers {
                    layers.push(canonical(layer).await);
                }
                out.insert(function.logical_id.clone(), Artifact::Source { dir: canonical(dir).await, layers });
                continue;
            }
            (FunctionCode::Cargo { binary, .. }, Workers::Built(dir)) => {
                let name = binary.clone().ok_or_else(|| {
                    unsupported("name its binary (Metadata: BuildProperties: Binary) to run a prebuilt one".into())
                })?;
                let path = dir.join(&name);
                if !tokio::fs::metadata(&path).await.is_ok_and(|m| m.is_file()) {
                    return Err(unsupported(format!("{} is missing: cargo build --bin {name}", path.display())));
                }
                path
            }
            (FunctionCode::Cargo { dir, binary }, Workers::Build { release }) => {
                build(dir, binary.as_deref(), *release).await.map_err(unsupported)?
            }
        };
        out.insert(function.logical_id.clone(), Artifact::Bootstrap(canonical(&path).await));
    }
    Ok(out)
}

/// `path` made absolute with links resolved, or as it is when it cannot be.
async fn canonical(path: &Path) -> PathBuf {
    tokio::fs::canonicalize(path).await.unwrap_or_else(|_| path.to_owned())
}

/// `cargo build --bin <binary>` in `dir`, and the binary's path.
async fn build(dir: &Path, binary: Option<&str>, release: bool) -> Result<PathBuf, String> {
    let manifest = dir.join("Cargo.toml");
    if !tokio::fs::metadata(&manifest).await.is_ok_and(|m| m.is_file()) {
        return Err(format!("{} has no Cargo.toml: CodeUri must name the crate (or its workspace)", dir.display()));
    }
    let metadata = Command::new("cargo")
        .args(["metadata", "--format-version", "1", "--no-deps", "--manifest-path"])
        .arg(&manifest)
        .output()
        .await
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !metadata.status.success() {
        return Err(format!("cargo metadata failed: {}", String::from_utf8_lossy(&metadata.stderr).trim()));
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&metadata.stdout).map_err(|e| format!("cargo metadata: {e}"))?;
    let bins: Vec<&str> = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["targets"].as_array().into_iter().flatten())
        .filter(|t| t["kind"].as_array().is_some_and(|k| k.iter().any(|k| k == "bin")))
        .filter_map(|t| t["name"].as_str())
        .collect();
    let binary = match binary {
        Some(name) if bins.contains(&name) => name.to_owned(),
        Some(name) => return Err(format!("no binary {name} in {} (it has {})", dir.display(), bins.join(", "))),
        None if bins.len() == 1 => bins[0].to_owned(),
        None => {
            return Err(format!(
                "{} has {} binaries: name one (Metadata: BuildProperties: Binary)",
                dir.display(),
                bins.len()
            ));
        }
    };
    let mut cargo = Command::new("cargo");
    cargo.args(["build", "--bin", &binary, "--manifest-path"]).arg(&manifest);
    if release {
        cargo.arg("--release");
    }
    let status = cargo.status().await.map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("cargo build --bin {binary} failed ({status})"));
    }
    let target = metadata["target_directory"].as_str().ok_or("cargo metadata has no target_directory")?;
    Ok(Path::new(target).join(if release { "release" } else { "debug" }).join(binary))
}
