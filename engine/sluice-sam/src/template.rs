//! A SAM template, read as `sam build` reads it: its functions, their runtimes and where their
//! code comes from.
//!
//! A function's code is one of:
//! - a Rust crate built with `BuildMethod: rust-cargolambda` (the binary named by
//!   `BuildProperties.Binary`), as SAM builds Rust functions;
//! - a directory (`CodeUri`) holding a prebuilt `bootstrap`, for a custom runtime
//!   (`provided.al2023`, `provided.al2`);
//! - a directory of source for a managed runtime (`python3.12` with `Handler: app.handler`, ...),
//!   run in place with its `Layers` (those the template builds from a local `ContentUri`).
//!   Whether this machine can run that runtime is the local Lambda service's question
//!   (`sluice_local::launch`): a function it cannot run is named, and the rest run.
//!
//! Anything else (a container image, code already packaged to S3, another build method) is
//! refused with the function's name and what to change, before anything is deployed.
//!
//! ```no_run
//! let template = sluice_sam::template::SamTemplate::load("template.yaml".as_ref()).unwrap();
//! for function in template.functions().unwrap() {
//!     println!("{}: {:?}", function.logical_id, function.code);
//! }
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sluice_excerpt::Excerpt;

/// Why a template cannot be run locally.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The template.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not YAML (or JSON).
    #[error("{path}: {source}")]
    Yaml {
        /// The template.
        path: PathBuf,
        /// The parser's message.
        source: crate::cfn_yaml::YamlError,
    },
    /// The template has no `Resources` mapping.
    #[error("{0}: no Resources: is this a SAM or CloudFormation template?")]
    NoResources(PathBuf),
    /// A function the local Lambda service cannot run, and why.
    #[error("function {function}: {reason}")]
    Unsupported {
        /// The function's logical ID.
        function: String,
        /// What is wrong and what to do.
        reason: String,
    },
    /// A parameter the template does not declare, or a value it does not allow.
    #[error("parameter {name}: {reason}")]
    Parameter {
        /// The parameter.
        name: String,
        /// What is wrong.
        reason: String,
    },
}

/// Where a function's code comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FunctionCode {
    /// A Rust crate under `dir`, built with cargo (SAM's `rust-cargolambda` build method).
    Cargo {
        /// The directory `CodeUri` names (a crate or a workspace).
        dir: PathBuf,
        /// The binary (`BuildProperties.Binary`); `None` when the crate has one.
        binary: Option<String>,
    },
    /// A prebuilt `bootstrap` file.
    Bootstrap(PathBuf),
    /// Source a managed runtime runs in place: the directory `CodeUri` names.
    Source(PathBuf),
}

/// A function of the template, with the `Globals` applied.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SamFunction {
    /// Its logical ID.
    pub logical_id: String,
    /// Its runtime (`provided.al2023`, `python3.12`, ...).
    pub runtime: String,
    /// Where its code comes from.
    pub code: FunctionCode,
    /// The content of its layers that the template builds from a local `ContentUri`, in order.
    pub layers: Vec<PathBuf>,
    /// Its layers that cannot be found locally (an ARN of a published layer, ...), as written.
    pub unresolved_layers: Vec<String>,
}

/// A SAM template: its JSON (intrinsic functions in long form) and where it lives.
#[derive(Debug, Clone)]
pub struct SamTemplate {
    /// The file.
    pub path: PathBuf,
    /// The template as JSON.
    pub body: Value,
}

/// The OS-only runtimes, whose `bootstrap` is the program (custom runtimes). Any other runtime is
/// managed: Lambda's bootstrap runs the function's `Handler`.
pub const RUNTIMES: [&str; 3] = ["provided.al2023", "provided.al2", "provided"];

impl SamTemplate {
    /// Reads the template at `path` (YAML with short-form intrinsics, or JSON), blocking: for
    /// synchronous callers. Async code calls [`SamTemplate::read`].
    pub fn load(path: &Path) -> Result<Self, TemplateError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| TemplateError::Read { path: path.to_owned(), source })?;
        Self::parse(path, &text)
    }

    /// [`SamTemplate::load`] for async code: the file is read with `tokio::fs`.
    pub async fn read(path: &Path) -> Result<Self, TemplateError> {
        let text = tokio::fs::read_to_string(path)
            .await
            .map_err(|source| TemplateError::Read { path: path.to_owned(), source })?;
        Self::parse(path, &text)
    }

    /// The template `text`, read from `path`.
    fn parse(path: &Path, text: &str) -> Result<Self, TemplateError> {
        let body =
            crate::cfn_yaml::to_json(text).map_err(|source| TemplateError::Yaml { path: path.to_owned(), source })?;
        if !body["Resources"].is_object() {
            return Err(TemplateError::NoResources(path.to_owned()));
        }
        Ok(SamTemplate { path: path.to_owned(), body })
    }

    /// The directory relative `CodeUri`s start from.
    pub fn dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => PathBuf::from("."),
        }
    }

    /// Every function, or the first one the local Lambda service cannot run.
    pub fn functions(&self) -> Result<Vec<SamFunction>, TemplateError> {
        let globals = &self.body["Globals"]["Function"];
        let mut functions = Vec::new();
        for (logical_id, resource) in self.body["Resources"].as_object().into_iter().flatten() {
            let unsupported = |reason: String| TemplateError::Unsupported { function: logical_id.clone(), reason };
            match resource["Type"].as_str() {
                Some("AWS::Serverless::Function") => {}
                Some("AWS::Lambda::Function") => {
                    return Err(unsupported(
                        "AWS::Lambda::Function is not run locally: declare it as AWS::Serverless::Function with a \
                         local CodeUri"
                            .into(),
                    ));
                }
                _ => continue,
            }
            let property = |name: &str| {
                let own = &resource["Properties"][name];
                if own.is_null() { globals[name].clone() } else { own.clone() }
            };
            if property("PackageType").as_str() == Some("Image") {
                return Err(unsupported("container images (PackageType: Image) are not run locally".into()));
            }
            let runtime = property("Runtime").as_str().unwrap_or_default().to_owned();
            if runtime.is_empty() {
                return Err(unsupported(format!(
                    "no Runtime: name one ({} for a bootstrap, python3.12, ...)",
                    RUNTIMES[..2].join(", ")
                )));
            }
            let managed = !RUNTIMES.contains(&runtime.as_str());
            let code_uri = match property("CodeUri") {
                Value::String(uri) if uri.starts_with("s3://") => {
                    return Err(unsupported(format!(
                        "CodeUri {} is already packaged: point it at the source directory",
                        Excerpt::of(&uri)
                    )));
                }
                Value::String(uri) => self.dir().join(uri),
                Value::Null => self.dir(),
                other => {
                    return Err(unsupported(format!(
                        "CodeUri {} is not a local directory",
                        Excerpt::of(&other.to_string())
                    )));
                }
            };
            let metadata = &resource["Metadata"];
            let code = match metadata["BuildMethod"].as_str() {
                Some("rust-cargolambda") => FunctionCode::Cargo {
                    dir: code_uri,
                    binary: metadata["BuildProperties"]["Binary"].as_str().map(str::to_owned),
                },
                Some(other) => {
                    return Err(unsupported(format!(
                        "BuildMethod {} is not supported locally: use rust-cargolambda, or no build method and a \
                         prebuilt bootstrap in CodeUri",
                        Excerpt::of(other)
                    )));
                }
                None if managed => {
                    if !code_uri.is_dir() {
                        return Err(unsupported(format!(
                            "{} is not a directory: CodeUri must name the function's source",
                            code_uri.display()
                        )));
                    }
                    FunctionCode::Source(code_uri)
                }
                None => {
                    let bootstrap = if code_uri.file_name().is_some_and(|n| n == "bootstrap") {
                        code_uri.clone()
                    } else {
                        code_uri.join("bootstrap")
                    };
                    if !bootstrap.is_file() {
                        return Err(unsupported(format!(
                            "{} has no bootstrap: put the built program there, or build a Rust crate with \
                             Metadata: BuildMethod: rust-cargolambda",
                            code_uri.display()
                        )));
                    }
                    FunctionCode::Bootstrap(bootstrap)
                }
            };
            let (layers, unresolved_layers) = self.layers(&property("Layers"));
            functions.push(SamFunction { logical_id: logical_id.clone(), runtime, code, layers, unresolved_layers });
        }
        Ok(functions)
    }

    /// The local content of each of `layers` (a function's `Layers`): a `Ref` to an
    /// `AWS::Serverless::LayerVersion` of this template whose `ContentUri` is a local directory.
    /// The rest are returned as written.
    fn layers(&self, layers: &Value) -> (Vec<PathBuf>, Vec<String>) {
        let (mut local, mut unresolved) = (Vec::new(), Vec::new());
        for layer in layers.as_array().into_iter().flatten() {
            let resource = layer["Ref"].as_str().map(|id| &self.body["Resources"][id]);
            match resource {
                Some(r)
                    if r["Type"] == "AWS::Serverless::LayerVersion" && r["Properties"]["ContentUri"].is_string() =>
                {
                    let uri = r["Properties"]["ContentUri"].as_str().unwrap_or_default();
                    local.push(self.dir().join(uri));
                }
                _ => unresolved.push(Excerpt::of(&layer.to_string()).to_string()),
            }
        }
        (local, unresolved)
    }

    /// `overrides` checked against the declared parameters: an undeclared name, a value outside
    /// `AllowedValues`, or a number outside `MinValue` to `MaxValue` is refused before anything
    /// is deployed, with the parameter's name.
    pub fn check_parameters(&self, overrides: &BTreeMap<String, String>) -> Result<(), TemplateError> {
        let declared = self.body["Parameters"].as_object();
        for (name, value) in overrides {
            let parameter = |reason: String| TemplateError::Parameter { name: name.clone(), reason };
            let Some(spec) = declared.and_then(|d| d.get(name)) else {
                let known: Vec<&str> = declared.into_iter().flatten().map(|(k, _)| k.as_str()).collect();
                return Err(parameter(format!("not declared by the template (it has {})", known.join(", "))));
            };
            if let Some(allowed) = spec["AllowedValues"].as_array() {
                let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                if !allowed.iter().any(|a| text(a) == *value) {
                    let allowed: Vec<String> = allowed.iter().map(text).collect();
                    return Err(parameter(format!("{} is not one of {}", Excerpt::of(value), allowed.join(", "))));
                }
            }
            if spec["Type"].as_str() == Some("Number") {
                let number: f64 =
                    value.parse().map_err(|_| parameter(format!("{} is not a number", Excerpt::of(value))))?;
                if let Some(min) = spec["MinValue"].as_f64().filter(|min| number < *min) {
                    return Err(parameter(format!("{value} is below its MinValue, {min}")));
                }
                if let Some(max) = spec["MaxValue"].as_f64().filter(|max| number > *max) {
                    return Err(parameter(format!("{value} is above its MaxValue, {max}")));
                }
            }
        }
        Ok(())
    }

    /// The layers the template builds from a local directory: (logical ID, `ContentUri`).
    pub fn local_layers(&self) -> Vec<(String, PathBuf)> {
        let resources = self.body["Resources"].as_object().into_iter().flatten();
        resources
            .filter(|(_, r)| r["Type"] == "AWS::Serverless::LayerVersion")
            .filter_map(|(id, r)| Some((id.clone(), self.dir().join(r["Properties"]["ContentUri"].as_str()?))))
            .filter(|(_, dir)| !dir.to_string_lossy().starts_with("s3://"))
            .collect()
    }

    /// The template with each function's `CodeUri` (a layer's `ContentUri`) replaced by the S3
    /// location of its package, as `sam package` writes it.
    pub fn packaged(&self, locations: &BTreeMap<String, (String, String)>) -> Value {
        let mut body = self.body.clone();
        for (logical_id, (bucket, key)) in locations {
            let resource = &mut body["Resources"][logical_id];
            let property = match resource["Type"].as_str() {
                Some("AWS::Serverless::LayerVersion") => "ContentUri",
                _ => "CodeUri",
            };
            if let Some(properties) = resource.get_mut("Properties") {
                properties[property] = json!({"Bucket": bucket, "Key": key});
            }
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(text: &str) -> (tempdir::Dir, SamTemplate) {
        let dir = tempdir::Dir::new();
        let path = dir.0.join("template.yaml");
        std::fs::write(&path, text).unwrap();
        let template = SamTemplate::load(&path).unwrap();
        (dir, template)
    }

    mod tempdir {
        pub(super) struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub(super) fn new() -> Self {
                let dir = std::env::temp_dir().join(format!("sluice-template-{}", uuid::Uuid::new_v4()));
                std::fs::create_dir_all(&dir).unwrap();
                Dir(dir)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    const RUST: &str = "\
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: provided.al2023
Resources:
  Worker:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: rust-cargolambda
      BuildProperties:
        Binary: worker
    Properties:
      CodeUri: .
      Handler: bootstrap
";

    #[test]
    fn a_rust_function_is_built_from_its_crate() {
        let (dir, template) = template(RUST);
        let functions = template.functions().unwrap();
        assert_eq!(functions.len(), 1);
        assert_eq!(functions[0].runtime, "provided.al2023");
        assert_eq!(functions[0].code, FunctionCode::Cargo { dir: dir.0.join("."), binary: Some("worker".into()) });
    }

    #[test]
    fn a_prebuilt_bootstrap_runs_as_it_is_and_a_missing_one_is_named() {
        let text = RUST
            .replace(
                "    Metadata:\n      BuildMethod: rust-cargolambda\n      BuildProperties:\n        Binary: worker\n",
                "",
            )
            .replace("CodeUri: .", "CodeUri: app/");
        let (dir, template) = template(&text);
        let error = template.functions().unwrap_err().to_string();
        assert!(error.starts_with("function Worker: ") && error.contains("has no bootstrap"), "{error}");
        std::fs::create_dir_all(dir.0.join("app")).unwrap();
        std::fs::write(dir.0.join("app/bootstrap"), "#!/bin/sh\n").unwrap();
        let functions = template.functions().unwrap();
        assert_eq!(functions[0].code, FunctionCode::Bootstrap(dir.0.join("app/").join("bootstrap")));
    }

    #[test]
    fn other_runtimes_images_and_build_methods_are_refused_by_name() {
        for (from, to, expected) in [
            ("Handler: bootstrap", "PackageType: Image", "container images"),
            ("BuildMethod: rust-cargolambda", "BuildMethod: makefile", "BuildMethod \"makefile\" is not supported"),
            ("CodeUri: .", "CodeUri: s3://bucket/code.zip", "already packaged"),
        ] {
            let (_dir, template) = template(&RUST.replace(from, to));
            let error = template.functions().unwrap_err().to_string();
            assert!(error.starts_with("function Worker: ") && error.contains(expected), "{to}: {error}");
        }
    }

    #[test]
    fn a_managed_runtime_runs_its_source_in_place_with_the_layers_the_template_builds() {
        let text = RUST
            .replace(
                "    Metadata:\n      BuildMethod: rust-cargolambda\n      BuildProperties:\n        Binary: worker\n",
                "",
            )
            .replace("Runtime: provided.al2023", "Runtime: python3.12")
            .replace("CodeUri: .", "CodeUri: src/\n      Layers: [!Ref Deps, arn:aws:lambda:us-east-1:1:layer:x:1]")
            .replace("Handler: bootstrap", "Handler: app.handler")
            + "  Deps:\n    Type: AWS::Serverless::LayerVersion\n    Properties:\n      ContentUri: deps/\n";
        let (dir, template) = template(&text);
        let error = template.functions().unwrap_err().to_string();
        assert!(error.contains("is not a directory: CodeUri must name the function's source"), "{error}");
        std::fs::create_dir_all(dir.0.join("src")).unwrap();
        let functions = template.functions().unwrap();
        assert_eq!(functions[0].runtime, "python3.12");
        assert_eq!(functions[0].code, FunctionCode::Source(dir.0.join("src/")));
        assert_eq!(functions[0].layers, vec![dir.0.join("deps/")]);
        assert_eq!(functions[0].unresolved_layers, vec!["\"\\\"arn:aws:lambda:us-east-1:1:layer:x:1\\\"\"".to_owned()]);
    }

    #[test]
    fn parameters_are_checked_against_the_declaration() {
        let (_dir, switches) = template(&format!(
            "{RUST}Parameters:\n  EnableVpc:\n    Type: String\n    AllowedValues: [\"true\", \"false\"]\n"
        ));
        let ok = BTreeMap::from([("EnableVpc".to_owned(), "true".to_owned())]);
        switches.check_parameters(&ok).unwrap();
        let bad = BTreeMap::from([("EnableVpc".to_owned(), "yes".to_owned())]);
        let error = switches.check_parameters(&bad).unwrap_err().to_string();
        assert_eq!(error, "parameter EnableVpc: \"yes\" is not one of true, false");
        let (_dir2, numbers) = template(&format!(
            "{RUST}Parameters:\n  BatchSize:\n    Type: Number\n    MinValue: 1\n    MaxValue: 10\n"
        ));
        let big = BTreeMap::from([("BatchSize".to_owned(), "20".to_owned())]);
        assert_eq!(
            numbers.check_parameters(&big).unwrap_err().to_string(),
            "parameter BatchSize: 20 is above its MaxValue, 10"
        );
        let unknown = BTreeMap::from([("Nope".to_owned(), "1".to_owned())]);
        let error = switches.check_parameters(&unknown).unwrap_err().to_string();
        assert!(error.contains("not declared by the template (it has EnableVpc)"), "{error}");
    }

    #[test]
    fn packaging_replaces_code_uri_with_the_s3_location() {
        let (_dir, template) = template(RUST);
        let locations =
            BTreeMap::from([("Worker".to_owned(), ("artifacts".to_owned(), "stack/Worker.json".to_owned()))]);
        let body = template.packaged(&locations);
        assert_eq!(
            body["Resources"]["Worker"]["Properties"]["CodeUri"],
            json!({"Bucket": "artifacts", "Key": "stack/Worker.json"})
        );
        assert_eq!(template.body["Resources"]["Worker"]["Properties"]["CodeUri"], ".");
    }
}
