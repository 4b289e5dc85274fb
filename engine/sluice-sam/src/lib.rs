//! Any SAM application, deployed and run on a local stack: the template read (short-form
//! intrinsics included), each function's bootstrap located or built, the stack created through a
//! CloudFormation endpoint (the local stack's engine), and the local Lambda service's
//! configuration read back from what was deployed.
//!
//! Nothing here knows a particular application: `sluice local up` runs any `template.yaml` whose
//! functions are built for `provided.al2023` (or found as prebuilt bootstraps).
//!
//! - [`cfn_yaml`]: CloudFormation YAML, short-form intrinsics included, read as JSON;
//! - [`template`]: a SAM template's functions and where their code comes from;
//! - [`artifacts`]: each function's bootstrap, built or found;
//! - [`stack`]: deploy, read back and delete a stack, and the local Lambda service's
//!   configuration read from it;
//! - [`samconfig`]: the stack name and parameters `sam deploy --config-file` would use.

/// Each function's bootstrap, built or found.
pub mod artifacts;
/// CloudFormation YAML to JSON.
pub mod cfn_yaml;
/// `samconfig.toml`'s stack name and parameter overrides.
pub mod samconfig;
/// A SAM template deployed as a stack, and read back.
pub mod stack;
/// A SAM template's functions.
pub mod template;
