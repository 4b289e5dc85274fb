//! Configuration from the environment, checked at initialisation.
//!
//! A Lambda function is configured through environment variables. Reading them all once, at
//! start, turns a typo into an `Runtime.InitError` naming the variable, instead of a failure
//! on the first event.

use std::time::Duration;

/// Why the configuration is invalid: the variable and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {reason}")]
pub struct ConfigError {
    /// The environment variable.
    pub variable: &'static str,
    /// What is wrong.
    pub reason: String,
}

/// Where the webhook signing secret comes from.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebhookSecret {
    /// An AWS Secrets Manager secret (ARN or name), read once at init; its `VersionId` is the key id.
    SecretsManager(String),
    /// A secret in the environment, for local runs.
    Plain {
        /// The key id sent with each signature.
        key_id: String,
        /// The secret.
        secret: String,
    },
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WebhookSecret::SecretsManager(id) => f.debug_tuple("SecretsManager").field(id).finish(),
            WebhookSecret::Plain { key_id, .. } => {
                f.debug_struct("Plain").field("key_id", key_id).field("secret", &"<redacted>").finish()
            }
        }
    }
}

/// Where receipts go in the results bucket unless `RESULTS_PREFIX` says otherwise.
pub const DEFAULT_RESULTS_PREFIX: &str = "receipts/";

/// The worker's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// `RESULTS_BUCKET` (required): where receipts are written.
    pub results_bucket: String,
    /// `RESULTS_PREFIX` (default `receipts/`): where in the bucket receipts are written.
    pub results_prefix: String,
    /// `IDEMPOTENCY_TABLE`: a DynamoDB table for idempotency records.
    pub idempotency_table: Option<String>,
    /// `IDEMPOTENCY_REDIS_URL`: a Redis or Valkey server for idempotency records.
    pub idempotency_redis_url: Option<String>,
    /// `IDEMPOTENCY_TTL_SECONDS` (default 1,209,600: 14 days, [`sluice::DEFAULT_TTL`]): how long
    /// completed records are kept. Keep it longer than any redelivery: the direct path's
    /// maximum event age and the dead-letter queues' retention.
    pub idempotency_ttl: Duration,
    /// `IDEMPOTENCY_LEASE_SECONDS` (default 30, [`sluice::DEFAULT_LEASE`]; fractions allowed,
    /// at least 0.03): how long a claim holds without a renewal; a crashed invocation's claim
    /// frees within it.
    pub idempotency_lease: Duration,
    /// `WEBHOOK_URL`: where each object version's summary is POSTed; `https://` only, unless
    /// `WEBHOOK_ALLOW_HTTP=true` (for a partner on this machine: the local stack and tests).
    pub webhook_url: Option<reqwest::Url>,
    /// `WEBHOOK_ALREADY_APPLIED_STATUSES` (comma-separated, default none): statuses with which
    /// the partner says "this key was applied already", treated as success.
    pub webhook_already_applied: Vec<u16>,
    /// Where the webhook signing secret comes from: `WEBHOOK_SECRET_ARN` (AWS Secrets Manager),
    /// or, for local runs only (with `WEBHOOK_ALLOW_HTTP=true`), `WEBHOOK_SECRET` named by
    /// `WEBHOOK_SECRET_KEY_ID` (default `local`). None: POSTs are unsigned.
    pub webhook_secret: Option<WebhookSecret>,
    /// `MAX_OBJECT_BYTES`: larger objects are refused as permanent failures.
    pub max_object_bytes: Option<u64>,
    /// `BATCH_CONCURRENCY` (default 10): records of an SQS batch processed at once.
    pub batch_concurrency: usize,
    /// `DEAD_LETTER_QUEUE_URL`: where permanent failures go at once.
    pub dead_letter_queue_url: Option<String>,
    /// `DEADLINE_MARGIN_MS` (default 1000, at least the handler's finish reserve,
    /// [`sluice::DEFAULT_FINISH_RESERVE`]): no record starts with less time left.
    pub deadline_margin: Duration,
    /// `AWS_LAMBDA_FUNCTION_NAME`, for the metrics dimension.
    pub function_name: String,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup` (for tests).
    ///
    /// ```
    /// use sluice_object_summary::Config;
    ///
    /// let err = Config::from_lookup(|_| None).unwrap_err();
    /// assert_eq!(err.to_string(), "RESULTS_BUCKET: is required");
    /// let config = Config::from_lookup(|name| (name == "RESULTS_BUCKET").then(|| "results".to_owned()))?;
    /// assert_eq!(config.batch_concurrency, 10);
    /// # Ok::<(), sluice_object_summary::ConfigError>(())
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let err = |variable: &'static str, reason: String| ConfigError { variable, reason };
        let number = |variable: &'static str, min: u64| -> Result<Option<u64>, ConfigError> {
            get(variable)
                .map(|v| match v.parse::<u64>() {
                    Ok(n) if n >= min => Ok(n),
                    Ok(n) => Err(err(variable, format!("must be at least {min}, got {n}"))),
                    Err(_) => Err(err(variable, format!("must be a whole number, got {v:?}"))),
                })
                .transpose()
        };
        let results_bucket = get("RESULTS_BUCKET").ok_or_else(|| err("RESULTS_BUCKET", "is required".into()))?;
        let allow_http = match get("WEBHOOK_ALLOW_HTTP").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => return Err(err("WEBHOOK_ALLOW_HTTP", format!("must be true or false, got {other:?}"))),
        };
        let webhook_url = get("WEBHOOK_URL")
            .map(|v| {
                let url =
                    reqwest::Url::parse(&v).map_err(|e| err("WEBHOOK_URL", format!("{v:?} is not a URL: {e}")))?;
                match url.scheme() {
                    "https" => Ok(url),
                    "http" if allow_http => Ok(url),
                    "http" => Err(err(
                        "WEBHOOK_URL",
                        format!(
                            "{v:?} is not https://: receipts would cross networks unencrypted (for a partner on \
                             this machine, set WEBHOOK_ALLOW_HTTP=true)"
                        ),
                    )),
                    other => Err(err(
                        "WEBHOOK_URL",
                        format!("scheme must be https (or http with WEBHOOK_ALLOW_HTTP), got {other:?}"),
                    )),
                }
            })
            .transpose()?;
        let webhook_secret = match (get("WEBHOOK_SECRET_ARN"), get("WEBHOOK_SECRET")) {
            (Some(_), Some(_)) => {
                return Err(err("WEBHOOK_SECRET", "set only one of WEBHOOK_SECRET_ARN and WEBHOOK_SECRET".into()));
            }
            (Some(arn), None) => Some(WebhookSecret::SecretsManager(arn)),
            (None, Some(_)) if !allow_http => {
                return Err(err(
                    "WEBHOOK_SECRET",
                    "a secret in the environment is for local runs only (with WEBHOOK_ALLOW_HTTP=true); \
                     deployed, name a Secrets Manager secret in WEBHOOK_SECRET_ARN"
                        .into(),
                ));
            }
            (None, Some(secret)) => Some(WebhookSecret::Plain {
                key_id: get("WEBHOOK_SECRET_KEY_ID").unwrap_or_else(|| "local".into()),
                secret,
            }),
            (None, None) => None,
        };
        let idempotency_table = get("IDEMPOTENCY_TABLE");
        let idempotency_redis_url = get("IDEMPOTENCY_REDIS_URL");
        if idempotency_table.is_some() && idempotency_redis_url.is_some() {
            return Err(err(
                "IDEMPOTENCY_REDIS_URL",
                "set only one of IDEMPOTENCY_TABLE and IDEMPOTENCY_REDIS_URL".into(),
            ));
        }
        let deadline_margin = Duration::from_millis(number("DEADLINE_MARGIN_MS", 0)?.unwrap_or(1000));
        if deadline_margin < sluice::DEFAULT_FINISH_RESERVE {
            return Err(err(
                "DEADLINE_MARGIN_MS",
                format!(
                    "must be at least the {} ms the handler keeps to finish, got {}: a record started later \
                     would be abandoned at once",
                    sluice::DEFAULT_FINISH_RESERVE.as_millis(),
                    deadline_margin.as_millis()
                ),
            ));
        }
        let webhook_already_applied = get("WEBHOOK_ALREADY_APPLIED_STATUSES")
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim())
                    .filter(|s| !s.is_empty())
                    .map(|s| match s.parse::<u16>() {
                        Ok(n) if (400..500).contains(&n) => Ok(n),
                        _ => Err(err(
                            "WEBHOOK_ALREADY_APPLIED_STATUSES",
                            format!("{s:?} is not a 4xx status (a comma-separated list such as 409)"),
                        )),
                    })
                    .collect::<Result<Vec<u16>, ConfigError>>()
            })
            .transpose()?
            .unwrap_or_default();
        Ok(Config {
            results_bucket,
            results_prefix: get("RESULTS_PREFIX").unwrap_or_else(|| DEFAULT_RESULTS_PREFIX.into()),
            idempotency_table,
            idempotency_redis_url,
            idempotency_ttl: number("IDEMPOTENCY_TTL_SECONDS", 1)?.map_or(sluice::DEFAULT_TTL, Duration::from_secs),
            idempotency_lease: get("IDEMPOTENCY_LEASE_SECONDS")
                .map(|v| match v.parse::<f64>() {
                    Ok(secs) if secs.is_finite() && secs >= 0.03 => Ok(Duration::from_secs_f64(secs)),
                    _ => Err(err(
                        "IDEMPOTENCY_LEASE_SECONDS",
                        format!("must be a number of seconds of at least 0.03, got {v:?}"),
                    )),
                })
                .transpose()?
                .unwrap_or(sluice::DEFAULT_LEASE),
            webhook_url,
            webhook_already_applied,
            webhook_secret,
            max_object_bytes: number("MAX_OBJECT_BYTES", 0)?,
            batch_concurrency: number("BATCH_CONCURRENCY", 1)?.unwrap_or(10) as usize,
            dead_letter_queue_url: get("DEAD_LETTER_QUEUE_URL"),
            deadline_margin,
            function_name: get("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|| "object-summary".into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn every_setting_is_read() {
        let c = config(&[
            ("RESULTS_BUCKET", "results"),
            ("IDEMPOTENCY_TABLE", "idem"),
            ("IDEMPOTENCY_TTL_SECONDS", "60"),
            ("WEBHOOK_URL", "https://partner.example/hook"),
            ("MAX_OBJECT_BYTES", "1024"),
            ("BATCH_CONCURRENCY", "4"),
            ("DEAD_LETTER_QUEUE_URL", "http://sqs/dlq"),
            ("DEADLINE_MARGIN_MS", "750"),
            ("IDEMPOTENCY_LEASE_SECONDS", "0.5"),
            ("WEBHOOK_ALREADY_APPLIED_STATUSES", "409, 410"),
        ])
        .unwrap();
        assert_eq!(c.idempotency_table.as_deref(), Some("idem"));
        assert_eq!(c.idempotency_ttl, Duration::from_secs(60));
        assert_eq!(c.webhook_url.unwrap().host_str(), Some("partner.example"));
        assert_eq!(c.max_object_bytes, Some(1024));
        assert_eq!(c.batch_concurrency, 4);
        assert_eq!(c.deadline_margin, Duration::from_millis(750));
        assert_eq!(c.idempotency_lease, Duration::from_millis(500));
        assert_eq!(c.webhook_already_applied, [409, 410]);
    }

    #[test]
    fn defaults_cover_the_redelivery_horizon() {
        let c = config(&[("RESULTS_BUCKET", "results")]).unwrap();
        // The direct path's events live up to 6 hours (MaximumEventAgeInSeconds at most
        // 21600); dead-letter queues keep messages up to 14 days.
        assert!(c.idempotency_ttl >= Duration::from_secs(21_600));
        assert_eq!(c.idempotency_ttl, Duration::from_secs(1_209_600));
        assert!(c.idempotency_lease < Duration::from_secs(60), "shorter than Lambda's first async retry delay");
    }

    #[test]
    fn invalid_values_name_the_variable() {
        let cases = [
            (vec![("IDEMPOTENCY_TTL_SECONDS", "soon")], "IDEMPOTENCY_TTL_SECONDS: must be a whole number"),
            (vec![("IDEMPOTENCY_TTL_SECONDS", "0")], "IDEMPOTENCY_TTL_SECONDS: must be at least 1"),
            (vec![("BATCH_CONCURRENCY", "0")], "BATCH_CONCURRENCY: must be at least 1"),
            (vec![("MAX_OBJECT_BYTES", "-1")], "MAX_OBJECT_BYTES: must be a whole number"),
            (vec![("WEBHOOK_URL", "partner")], "WEBHOOK_URL: \"partner\" is not a URL"),
            (vec![("WEBHOOK_URL", "ftp://x/y")], "WEBHOOK_URL: scheme must be https"),
            (
                vec![("WEBHOOK_URL", "http://partner.example/hook")],
                "WEBHOOK_URL: \"http://partner.example/hook\" is not https://",
            ),
            (vec![("WEBHOOK_ALLOW_HTTP", "yes")], "WEBHOOK_ALLOW_HTTP: must be true or false"),
            (vec![("DEADLINE_MARGIN_MS", "100")], "DEADLINE_MARGIN_MS: must be at least the 500 ms"),
            (vec![("IDEMPOTENCY_LEASE_SECONDS", "0")], "IDEMPOTENCY_LEASE_SECONDS: must be a number of seconds"),
            (
                vec![("WEBHOOK_ALREADY_APPLIED_STATUSES", "409,200")],
                "WEBHOOK_ALREADY_APPLIED_STATUSES: \"200\" is not a 4xx",
            ),
            (
                vec![("IDEMPOTENCY_TABLE", "t"), ("IDEMPOTENCY_REDIS_URL", "redis://r")],
                "IDEMPOTENCY_REDIS_URL: set only one",
            ),
        ];
        for (vars, expected) in cases {
            let mut all = vec![("RESULTS_BUCKET", "results")];
            all.extend(vars);
            let e = config(&all).unwrap_err().to_string();
            assert!(e.starts_with(expected), "{e:?} should start with {expected:?}");
        }
    }

    #[test]
    fn the_signing_secret_comes_from_secrets_manager_or_locally_from_the_environment() {
        let deployed =
            config(&[("RESULTS_BUCKET", "r"), ("WEBHOOK_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:1:secret:s")]);
        assert!(
            matches!(deployed.unwrap().webhook_secret, Some(WebhookSecret::SecretsManager(a)) if a.ends_with(":s"))
        );
        let local = [("RESULTS_BUCKET", "r"), ("WEBHOOK_SECRET", "hunter2"), ("WEBHOOK_ALLOW_HTTP", "true")];
        let c = config(&local).unwrap();
        assert!(matches!(&c.webhook_secret, Some(WebhookSecret::Plain { key_id, .. }) if key_id == "local"));
        assert!(!format!("{c:?}").contains("hunter2"), "the secret stays out of debug output");
        let e = config(&local[..2]).unwrap_err();
        assert_eq!(e.variable, "WEBHOOK_SECRET");
        assert!(e.reason.contains("WEBHOOK_SECRET_ARN"), "{e}");
    }

    #[test]
    fn plain_http_needs_the_explicit_local_opt_in() {
        let local =
            [("RESULTS_BUCKET", "r"), ("WEBHOOK_URL", "http://127.0.0.1:8080/hook"), ("WEBHOOK_ALLOW_HTTP", "true")];
        assert_eq!(config(&local).unwrap().webhook_url.unwrap().scheme(), "http");
        let e = config(&local[..2]).unwrap_err();
        assert_eq!(e.variable, "WEBHOOK_URL");
        assert!(e.reason.contains("WEBHOOK_ALLOW_HTTP=true"), "{e}");
    }

    #[test]
    fn blank_values_count_as_unset() {
        let e = config(&[("RESULTS_BUCKET", "  ")]).unwrap_err();
        assert_eq!(e.variable, "RESULTS_BUCKET");
        let c = config(&[("RESULTS_BUCKET", "r"), ("WEBHOOK_URL", "")]).unwrap();
        assert!(c.webhook_url.is_none());
    }
}
