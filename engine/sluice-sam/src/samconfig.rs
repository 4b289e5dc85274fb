//! `samconfig.toml`, read as `sam deploy --config-file` reads it: the stack name and the
//! parameter overrides of one environment, so `sluice local up --config-file` deploys what
//! `sam deploy --config-file` deploys.
//!
//! ```
//! let text = r#"
//! [default.global.parameters]
//! stack_name = "sluice"
//! [default.deploy.parameters]
//! parameter_overrides = ["EnableVpc=false", "BatchSize=10"]
//! "#;
//! let config = sluice_sam::samconfig::SamConfig::parse(text, "default").unwrap();
//! assert_eq!(config.stack_name.as_deref(), Some("sluice"));
//! assert_eq!(config.parameters["BatchSize"], "10");
//! ```

use std::collections::BTreeMap;

/// The deploy settings of one environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SamConfig {
    /// `stack_name` (deploy's, else global's).
    pub stack_name: Option<String>,
    /// `parameter_overrides`, as `Key=Value` pairs.
    pub parameters: BTreeMap<String, String>,
}

/// The file is not TOML, or a setting is not what SAM expects.
#[derive(Debug, thiserror::Error)]
#[error("samconfig: {0}")]
pub struct SamConfigError(String);

impl SamConfig {
    /// Environment `env` of the samconfig `text`.
    pub fn parse(text: &str, env: &str) -> Result<Self, SamConfigError> {
        let root: toml::Table = text.parse().map_err(|e: toml::de::Error| SamConfigError(e.to_string()))?;
        let section = |command: &str| root.get(env).and_then(|e| e.get(command)).and_then(|c| c.get("parameters"));
        let setting = |name: &str| {
            section("deploy").and_then(|p| p.get(name)).or_else(|| section("global").and_then(|p| p.get(name)))
        };
        let stack_name = match setting("stack_name") {
            None => None,
            Some(toml::Value::String(name)) => Some(name.clone()),
            Some(other) => return Err(SamConfigError(format!("stack_name is {other:?}, not a string"))),
        };
        let pairs: Vec<String> = match setting("parameter_overrides") {
            None => Vec::new(),
            Some(toml::Value::String(text)) => text.split_whitespace().map(str::to_owned).collect(),
            Some(toml::Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| SamConfigError(format!("parameter_overrides has {i:?}")))
                })
                .collect::<Result<_, _>>()?,
            Some(other) => return Err(SamConfigError(format!("parameter_overrides is {other:?}"))),
        };
        let mut parameters = BTreeMap::new();
        for pair in pairs {
            let (key, value) = parse_override(&pair).map_err(SamConfigError)?;
            parameters.insert(key, value);
        }
        Ok(SamConfig { stack_name, parameters })
    }
}

/// `Key=Value` (or SAM's `ParameterKey=Key,ParameterValue=Value`), quotes around the value removed.
pub fn parse_override(pair: &str) -> Result<(String, String), String> {
    if let Some(rest) = pair.strip_prefix("ParameterKey=") {
        let (key, value) = rest
            .split_once(",ParameterValue=")
            .ok_or_else(|| format!("{pair:?} is not ParameterKey=K,ParameterValue=V"))?;
        return Ok((key.to_owned(), value.trim_matches('"').to_owned()));
    }
    let (key, value) = pair.split_once('=').ok_or_else(|| format!("{pair:?} is not Key=Value"))?;
    if key.is_empty() {
        return Err(format!("{pair:?} has no parameter name"));
    }
    Ok((key.to_owned(), value.trim_matches('"').to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_may_be_one_string_or_a_list_and_deploy_wins_over_global() {
        let text = "[prod.global.parameters]\nstack_name = \"a\"\n[prod.deploy.parameters]\nstack_name = \"b\"\nparameter_overrides = \"X=1 Y=\\\"two\\\"\"\n";
        let config = SamConfig::parse(text, "prod").unwrap();
        assert_eq!(config.stack_name.as_deref(), Some("b"));
        assert_eq!(config.parameters, BTreeMap::from([("X".into(), "1".into()), ("Y".into(), "two".into())]));
        assert_eq!(SamConfig::parse(text, "dev").unwrap(), SamConfig::default());
    }

    #[test]
    fn a_bad_override_is_named() {
        let error = SamConfig::parse("[default.deploy.parameters]\nparameter_overrides = [\"NoEquals\"]\n", "default");
        assert_eq!(error.unwrap_err().to_string(), "samconfig: \"NoEquals\" is not Key=Value");
        assert_eq!(parse_override("ParameterKey=A,ParameterValue=b").unwrap(), ("A".into(), "b".into()));
    }

    #[test]
    fn the_repository_samconfig_is_read() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/samconfig.toml")).unwrap();
        let config = SamConfig::parse(&text, "default").unwrap();
        assert_eq!(config.stack_name.as_deref(), Some("sluice"));
        assert_eq!(config.parameters["EnableVpc"], "false");
    }
}
