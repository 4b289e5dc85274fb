//! A SAM template deployed as a CloudFormation stack, and the local Lambda service's
//! configuration read back from it.
//!
//! [`Stack::deploy`](crate::stack::Stack::deploy) does what `sam build && sam deploy` does, against whatever CloudFormation
//! the SDK's endpoint names (the local stack's engine, see `deploy/local/cloudformation.py`):
//! 1. each function's bootstrap is located or built, or its source located ([`crate::artifacts`]);
//! 2. each function's code package is uploaded and `CodeUri` rewritten to it, as `sam package`
//!    does. The package names the local bootstrap or source instead of holding it (the local
//!    Lambda service runs it in place), so the engine stores a few bytes, not the code. Layers
//!    built from a local `ContentUri` are packaged the same way;
//! 3. `CreateStack` with the parameters; the engine runs the SAM transform and creates every
//!    resource, resolving every reference.
//!
//! [`Stack::service_config`](crate::stack::Stack::service_config) then reads what the local Lambda service needs from the deployed
//! stack, through the Lambda, SNS and SQS APIs, as Lambda itself holds it: each function's
//! environment (references resolved), timeout, memory, reserved concurrency, VPC subnets and
//! logging format; its event source mappings; the SNS subscriptions that target it; its event
//! invoke config, dead-letter queue and on-failure destination. Nothing of this is repeated in
//! code. Each function is keyed by its logical ID in the service's configuration (mappings and
//! records name it so) and answers to the name CloudFormation gave it, as on Lambda; its handler,
//! code directory and layers are those of its runtime ([`crate::artifacts::Artifact`]).
//!
//! ```no_run
//! # async fn run(aws: &aws_config::SdkConfig) -> Result<(), sluice_sam::stack::StackError> {
//! use sluice_sam::stack::{Stack, StackRequest};
//! use sluice_sam::artifacts::Workers;
//! let request = StackRequest::new("demo", "template.yaml", Workers::Build { release: true })
//!     .parameter("BatchSize", "5");
//! let stack = Stack::deploy(aws, &request).await?;
//! let config = stack.service_config(aws).await?;
//! println!("{} functions; ingest bucket {}", config.functions.len(), stack.outputs["IngestBucketName"]);
//! Stack::delete(aws, "demo").await?;
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use aws_sdk_cloudformation::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudformation::types::{Capability, Parameter, StackStatus};
use serde_json::json;
use sluice_local::{
    AsyncInvokeConfig, EventSourceMappingConfig, FunctionConfig, NetworkConfig, ServiceConfig, SnsSubscriptionConfig,
    StartingPosition, StreamMappingConfig,
};

use crate::artifacts::{self, Artifact, Workers};
use crate::template::{SamTemplate, TemplateError};

/// The bucket code packages go to (created when missing), as SAM's managed bucket.
pub const ARTIFACTS_BUCKET: &str = "sluice-local-artifacts";

/// How long a stack may take to create or delete.
const STACK_DEADLINE: Duration = Duration::from_secs(120);

/// Why a deploy, a read or a delete failed.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// The template cannot be run locally (nothing was deployed).
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// An API call failed: which, and what the service said.
    #[error("{call}: {message}")]
    Call {
        /// The API call.
        call: String,
        /// The service's answer.
        message: String,
    },
    /// Nothing answered the call (connection refused, timed out): is the local stack running?
    #[error("{call}: {message}")]
    Unreachable {
        /// The API call.
        call: String,
        /// The SDK's error.
        message: String,
    },
    /// CloudFormation has no such stack (its `ValidationError` for a stack name it does not
    /// know, CloudFormation API Reference, `DescribeStacks`).
    #[error("{call}: {message}")]
    NoSuchStack {
        /// The API call.
        call: String,
        /// The service's answer.
        message: String,
    },
    /// The stack did not reach the state asked for.
    #[error("stack {stack} is {status}{}", reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default())]
    Status {
        /// The stack.
        stack: String,
        /// Its status.
        status: String,
        /// Its status reason.
        reason: Option<String>,
    },
    /// Something the local Lambda service cannot play, read from the stack.
    #[error("function {function}: {reason}")]
    Unsupported {
        /// The function's logical ID.
        function: String,
        /// What and why.
        reason: String,
    },
}

/// An SDK error of API call `name` as a [`StackError`], told apart by its kind: nothing
/// answered, no such stack, or anything else the service said.
fn call<E, R>(name: impl Into<String>) -> impl FnOnce(SdkError<E, R>) -> StackError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let call = name.into();
    move |e| {
        let message = sluice_retry::error_chain(&e);
        match &e {
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => StackError::Unreachable { call, message },
            // CloudFormation answers a stack name it does not know with a ValidationError whose
            // message says so; it has no error code of its own for it.
            SdkError::ServiceError(service)
                if service.err().code() == Some("ValidationError")
                    && service.err().message().is_some_and(|m| m.ends_with("does not exist")) =>
            {
                StackError::NoSuchStack { call, message }
            }
            _ => StackError::Call { call, message },
        }
    }
}

/// What to deploy.
#[derive(Debug, Clone)]
pub struct StackRequest {
    /// The stack's name (lower case: the template names buckets after it).
    pub name: String,
    /// The SAM template.
    pub template: PathBuf,
    /// Parameter overrides, as `sam deploy --parameter-overrides` takes them.
    pub parameters: BTreeMap<String, String>,
    /// Where Rust functions' binaries come from.
    pub workers: Workers,
}

impl StackRequest {
    /// Stack `name` from `template`, with the template's parameter defaults.
    pub fn new(name: impl Into<String>, template: impl Into<PathBuf>, workers: Workers) -> Self {
        StackRequest { name: name.into(), template: template.into(), parameters: BTreeMap::new(), workers }
    }

    /// Overrides parameter `name`.
    pub fn parameter(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.parameters.insert(name.into(), value.into());
        self
    }
}

/// One resource of a deployed stack.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StackResource {
    /// Its logical ID in the template.
    pub logical_id: String,
    /// Its type (`AWS::SQS::Queue`, ...).
    pub resource_type: String,
    /// Its name, ARN or URL, as `Ref` gives it.
    pub physical_id: String,
}

/// A deployed stack.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Stack {
    /// Its name.
    pub name: String,
    /// Its outputs.
    pub outputs: BTreeMap<String, String>,
    /// Its resources (the ones the engine created).
    pub resources: Vec<StackResource>,
    /// What runs each function locally, by logical ID.
    pub artifacts: BTreeMap<String, Artifact>,
}

impl Stack {
    /// Builds, packages and deploys `request`, and reads the stack back.
    pub async fn deploy(aws: &aws_config::SdkConfig, request: &StackRequest) -> Result<Stack, StackError> {
        let template = SamTemplate::read(&request.template).await?;
        template.check_parameters(&request.parameters)?;
        let functions = template.functions()?;
        let artifacts = artifacts::artifacts(&functions, &request.workers).await?;

        let s3 = sluice::aws::s3_client(aws);
        match s3.create_bucket().bucket(ARTIFACTS_BUCKET).send().await {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|s| s.is_bucket_already_owned_by_you()) => {}
            Err(e) => return Err(call(format!("CreateBucket {ARTIFACTS_BUCKET}"))(e)),
        }
        let mut locations = BTreeMap::new();
        let layers =
            template.local_layers().into_iter().map(|(id, dir)| (id, Artifact::Source { dir, layers: Vec::new() }));
        for (logical_id, artifact) in artifacts.iter().map(|(k, v)| (k.clone(), v.clone())).chain(layers) {
            let key = format!("{}/{logical_id}.json", request.name);
            let package = json!({"code": artifact, "runs": "in place, in the local Lambda service"});
            s3.put_object()
                .bucket(ARTIFACTS_BUCKET)
                .key(&key)
                .body(package.to_string().into_bytes().into())
                .send()
                .await
                .map_err(call(format!("PutObject {key}")))?;
            locations.insert(logical_id, (ARTIFACTS_BUCKET.to_owned(), key));
        }

        let cloudformation = aws_sdk_cloudformation::Client::new(aws);
        let parameters: Vec<Parameter> = request
            .parameters
            .iter()
            .map(|(k, v)| Parameter::builder().parameter_key(k).parameter_value(v).build())
            .collect();
        cloudformation
            .create_stack()
            .stack_name(&request.name)
            .template_body(template.packaged(&locations).to_string())
            .set_parameters(Some(parameters))
            .capabilities(Capability::CapabilityIam)
            .capabilities(Capability::CapabilityAutoExpand)
            .send()
            .await
            .map_err(call(format!("CreateStack {}", request.name)))?;
        let status = settled(&cloudformation, &request.name).await?;
        if status.0 != StackStatus::CreateComplete {
            return Err(StackError::Status {
                stack: request.name.clone(),
                status: status.0.to_string(),
                reason: status.1,
            });
        }
        Self::read(aws, &request.name, artifacts).await
    }

    /// Reads stack `name`'s outputs and resources.
    async fn read(
        aws: &aws_config::SdkConfig,
        name: &str,
        artifacts: BTreeMap<String, Artifact>,
    ) -> Result<Stack, StackError> {
        let cloudformation = aws_sdk_cloudformation::Client::new(aws);
        let described = cloudformation
            .describe_stacks()
            .stack_name(name)
            .send()
            .await
            .map_err(call(format!("DescribeStacks {name}")))?;
        let outputs = described
            .stacks()
            .first()
            .map(|s| {
                s.outputs()
                    .iter()
                    .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        let listed = cloudformation
            .describe_stack_resources()
            .stack_name(name)
            .send()
            .await
            .map_err(call(format!("DescribeStackResources {name}")))?;
        let resources = listed
            .stack_resources()
            .iter()
            // Resources the engine accepted without creating them have no IDs.
            .filter_map(|r| {
                Some(StackResource {
                    logical_id: r.logical_resource_id().filter(|id| !id.is_empty())?.to_owned(),
                    resource_type: r.resource_type()?.to_owned(),
                    physical_id: r.physical_resource_id()?.to_owned(),
                })
            })
            .collect();
        Ok(Stack { name: name.to_owned(), outputs, resources, artifacts })
    }

    /// Whether stack `name` exists (created and not deleted).
    pub async fn exists(aws: &aws_config::SdkConfig, name: &str) -> Result<bool, StackError> {
        let cloudformation = aws_sdk_cloudformation::Client::new(aws);
        match cloudformation.describe_stacks().stack_name(name).send().await {
            Ok(out) => Ok(out.stacks().iter().any(|s| s.stack_status() != Some(&StackStatus::DeleteComplete))),
            Err(e) => match call(format!("DescribeStacks {name}"))(e) {
                StackError::NoSuchStack { .. } => Ok(false),
                other => Err(other),
            },
        }
    }

    /// The local Lambda service's account concurrency for `config` unless one is asked for: its
    /// reservations plus the service's default for the rest (AWS keeps at least 100 unreserved).
    pub fn account_concurrency(config: &ServiceConfig) -> u32 {
        let reserved: u32 = config.functions.iter().filter_map(|f| f.reserved_concurrency).sum();
        reserved + sluice_local::concurrency::DEFAULT_ACCOUNT_CONCURRENCY
    }

    /// The name CloudFormation gave function `logical_id` of stack `name` (its physical ID), as
    /// `sam local invoke` resolves a logical ID; `None` when the stack has no such function.
    pub async fn function_name(
        aws: &aws_config::SdkConfig,
        name: &str,
        logical_id: &str,
    ) -> Result<Option<String>, StackError> {
        let stack = Self::read(aws, name, BTreeMap::new()).await?;
        let function = stack.resources_of("AWS::Lambda::Function").find(|r| r.logical_id == logical_id);
        Ok(function.map(|r| r.physical_id.clone()))
    }

    /// The resources of `resource_type`.
    pub fn resources_of<'a>(&'a self, resource_type: &'a str) -> impl Iterator<Item = &'a StackResource> + 'a {
        self.resources.iter().filter(move |r| r.resource_type == resource_type)
    }

    /// Output `key`, or an error naming it.
    pub fn output(&self, key: &str) -> Result<&str, StackError> {
        self.outputs.get(key).map(String::as_str).ok_or_else(|| StackError::Status {
            stack: self.name.clone(),
            status: "deployed".into(),
            reason: Some(format!("it has no output {key} (outputs: {:?})", self.outputs.keys().collect::<Vec<_>>())),
        })
    }

    /// The local Lambda service's configuration of the stack's functions, read from the stack.
    /// Each function gets the execution environment Lambda gives every function (region,
    /// credentials; here also the local stack's endpoints, from this process's environment).
    pub async fn service_config(&self, aws: &aws_config::SdkConfig) -> Result<ServiceConfig, StackError> {
        let lambda = aws_sdk_lambda::Client::new(aws);
        let sns = aws_sdk_sns::Client::new(aws);
        let sqs = aws_sdk_sqs::Client::new(aws);
        let mut config = ServiceConfig::default();
        let mut by_arn = BTreeMap::new();
        let mut in_vpc = false;
        for resource in self.resources_of("AWS::Lambda::Function") {
            let function = &resource.logical_id;
            let Some(artifact) = self.artifacts.get(function) else { continue };
            let name = &resource.physical_id;
            let unsupported = |reason: String| StackError::Unsupported { function: function.clone(), reason };
            let c = lambda
                .get_function_configuration()
                .function_name(name)
                .send()
                .await
                .map_err(call(format!("GetFunctionConfiguration {name}")))?;
            let mut environment = execution_environment();
            if let Some(logging) = c.logging_config() {
                // Lambda sets these for the runtime from LoggingConfig (monitoring-cloudwatchlogs-advanced).
                if let Some(format) = logging.log_format() {
                    environment.insert("AWS_LAMBDA_LOG_FORMAT".into(), format.as_str().to_owned());
                }
                if let Some(level) = logging.application_log_level() {
                    environment.insert("AWS_LAMBDA_LOG_LEVEL".into(), level.as_str().to_owned());
                }
            }
            let variables = c.environment().and_then(|e| e.variables()).cloned().unwrap_or_default();
            environment.extend(variables);
            in_vpc |= c.vpc_config().is_some_and(|v| !v.subnet_ids().is_empty());
            let reserved = lambda
                .get_function_concurrency()
                .function_name(name)
                .send()
                .await
                .map_err(call(format!("GetFunctionConcurrency {name}")))?
                .reserved_concurrent_executions()
                .map(|n| n as u32);
            let mut async_invoke = AsyncInvokeConfig::default();
            if let Some(target) = c.dead_letter_config().and_then(|d| d.target_arn()) {
                async_invoke.dead_letter_queue_url = Some(queue_url(&sqs, target).await.map_err(unsupported)?);
            }
            match lambda.get_function_event_invoke_config().function_name(name).send().await {
                Ok(invoke) => {
                    if let Some(n) = invoke.maximum_retry_attempts() {
                        async_invoke.maximum_retry_attempts = n as u32;
                    }
                    if let Some(age) = invoke.maximum_event_age_in_seconds() {
                        async_invoke.maximum_event_age = Duration::from_secs(age as u64);
                    }
                    if let Some(target) =
                        invoke.destination_config().and_then(|d| d.on_failure()).and_then(|f| f.destination())
                    {
                        async_invoke.on_failure_queue_url = Some(queue_url(&sqs, target).await.map_err(unsupported)?);
                    }
                }
                Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => {}
                Err(e) => return Err(call(format!("GetFunctionEventInvokeConfig {name}"))(e)),
            }
            let mappings = lambda
                .list_event_source_mappings()
                .function_name(name)
                .send()
                .await
                .map_err(call(format!("ListEventSourceMappings {name}")))?;
            for mapping in mappings.event_source_mappings() {
                if mapping.state().is_some_and(|s| s != "Enabled") {
                    continue;
                }
                let source = mapping.event_source_arn().unwrap_or_default();
                if source.starts_with("arn:aws:kinesis:") || source.starts_with("arn:aws:dynamodb:") {
                    config.stream_mappings.push(stream_mapping(&sqs, function, mapping).await.map_err(unsupported)?);
                    continue;
                }
                if !source.starts_with("arn:aws:sqs:") {
                    return Err(unsupported(format!(
                        "event source {source}: SQS queues, Kinesis streams and DynamoDB streams are mapped locally"
                    )));
                }
                config.event_source_mappings.push(EventSourceMappingConfig {
                    function: function.clone(),
                    queue_url: queue_url(&sqs, source).await.map_err(unsupported)?,
                    batch_size: mapping.batch_size().map_or(10, |n| n as u32),
                    batching_window: Duration::from_secs(
                        mapping.maximum_batching_window_in_seconds().unwrap_or(0) as u64
                    ),
                    maximum_concurrency: mapping
                        .scaling_config()
                        .and_then(|s| s.maximum_concurrency())
                        .map(|n| n as u32),
                    report_batch_item_failures: mapping
                        .function_response_types()
                        .iter()
                        .any(|t| t.as_str() == "ReportBatchItemFailures"),
                });
            }
            by_arn.insert(c.function_arn().unwrap_or_default().to_owned(), function.clone());
            config.functions.push(FunctionConfig {
                name: function.clone(),
                function_name: Some(name.clone()),
                bootstrap: match artifact {
                    Artifact::Bootstrap(path) => path.clone(),
                    Artifact::Source { .. } => PathBuf::new(),
                },
                handler: c.handler().map(str::to_owned),
                task_root: match artifact {
                    Artifact::Bootstrap(_) => None,
                    Artifact::Source { dir, .. } => Some(dir.clone()),
                },
                layers: match artifact {
                    Artifact::Bootstrap(_) => Vec::new(),
                    Artifact::Source { layers, .. } => layers.clone(),
                },
                environment,
                timeout: Duration::from_secs(c.timeout().unwrap_or(3) as u64),
                memory_mb: c.memory_size().unwrap_or(128) as u32,
                reserved_concurrency: reserved,
                runtime: c.runtime().map(|r| r.as_str().to_owned()).unwrap_or_default(),
                async_invoke,
                tracing: match c.tracing_config().and_then(|t| t.mode()) {
                    Some(aws_sdk_lambda::types::TracingMode::Active) => sluice_local::config::TracingMode::Active,
                    _ => sluice_local::config::TracingMode::PassThrough,
                },
                per_execution_environment_max_concurrency: None,
                faults: None,
            });
        }
        for resource in self.resources_of("AWS::SNS::Subscription") {
            let arn = &resource.physical_id;
            let attributes = sns
                .get_subscription_attributes()
                .subscription_arn(arn)
                .send()
                .await
                .map_err(call(format!("GetSubscriptionAttributes {arn}")))?;
            let attributes = attributes.attributes().cloned().unwrap_or_default();
            let attribute = |k: &str| attributes.get(k).cloned().unwrap_or_default();
            if attribute("Protocol") != "lambda" {
                continue;
            }
            if let Some(function) = by_arn.get(&attribute("Endpoint")) {
                config
                    .sns_subscriptions
                    .push(SnsSubscriptionConfig { topic_arn: attribute("TopicArn"), function: function.clone() });
            }
        }
        if in_vpc {
            // Routes are not evaluated: a NAT gateway in the stack is the functions' way out,
            // through the stack's first Elastic IP (the engine allocates them in 192.0.2.0/24).
            let nat = self.resources_of("AWS::EC2::NatGateway").next().is_some();
            let elastic_ip = self.resources_of("AWS::EC2::EIP").find_map(|r| r.physical_id.parse().ok());
            config.network = Some(NetworkConfig {
                enable_vpc: true,
                static_egress_ip: nat,
                aws_endpoints: Vec::new(),
                elastic_ip: elastic_ip.filter(|_| nat),
            });
        }
        Ok(config)
    }

    /// Deletes stack `name`: its buckets are emptied first (CloudFormation cannot delete a bucket
    /// with objects in it), then the stack, then its code packages.
    pub async fn delete(aws: &aws_config::SdkConfig, name: &str) -> Result<(), StackError> {
        let stack = Self::read(aws, name, BTreeMap::new()).await?;
        let s3 = sluice::aws::s3_client(aws);
        for bucket in stack.resources_of("AWS::S3::Bucket") {
            empty_bucket(&s3, &bucket.physical_id).await?;
        }
        let cloudformation = aws_sdk_cloudformation::Client::new(aws);
        cloudformation.delete_stack().stack_name(name).send().await.map_err(call(format!("DeleteStack {name}")))?;
        match settled(&cloudformation, name).await {
            Err(StackError::NoSuchStack { .. }) => {}
            Err(e) => return Err(e),
            Ok((StackStatus::DeleteComplete, _)) => {}
            Ok((status, reason)) => {
                return Err(StackError::Status { stack: name.to_owned(), status: status.to_string(), reason });
            }
        }
        for logical_id in stack.resources_of("AWS::Lambda::Function").map(|r| &r.logical_id) {
            let key = format!("{name}/{logical_id}.json");
            s3.delete_object()
                .bucket(ARTIFACTS_BUCKET)
                .key(&key)
                .send()
                .await
                .map_err(call(format!("DeleteObject {key}")))?;
        }
        Ok(())
    }
}

/// Waits (bounded) until stack `name` is no longer in progress; its status and reason.
async fn settled(
    cloudformation: &aws_sdk_cloudformation::Client,
    name: &str,
) -> Result<(StackStatus, Option<String>), StackError> {
    let deadline = tokio::time::Instant::now() + STACK_DEADLINE;
    loop {
        let described = cloudformation
            .describe_stacks()
            .stack_name(name)
            .send()
            .await
            .map_err(call(format!("DescribeStacks {name}")))?;
        let Some(stack) = described.stacks().first() else {
            return Err(StackError::NoSuchStack {
                call: format!("DescribeStacks {name}"),
                message: "no stack in the answer".into(),
            });
        };
        let status = stack.stack_status().cloned().unwrap_or(StackStatus::CreateFailed);
        if !status.as_str().ends_with("_IN_PROGRESS") {
            return Ok((status, stack.stack_status_reason().map(str::to_owned)));
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(StackError::Status {
                stack: name.to_owned(),
                status: status.to_string(),
                reason: Some(format!("still in progress after {STACK_DEADLINE:?}")),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A Kinesis or DynamoDB Streams mapping of the stack, as the local service plays it.
async fn stream_mapping(
    sqs: &aws_sdk_sqs::Client,
    function: &str,
    mapping: &aws_sdk_lambda::types::EventSourceMappingConfiguration,
) -> Result<StreamMappingConfig, String> {
    let starting_position = match mapping.starting_position().map(|p| p.as_str()) {
        None | Some("TRIM_HORIZON") => StartingPosition::TrimHorizon,
        Some("LATEST") => StartingPosition::Latest,
        Some(other) => return Err(format!("StartingPosition {other} is not played locally")),
    };
    let on_failure = match mapping.destination_config().and_then(|d| d.on_failure()).and_then(|f| f.destination()) {
        Some(arn) => Some(queue_url(sqs, arn).await?),
        None => None,
    };
    Ok(StreamMappingConfig {
        function: function.to_owned(),
        event_source_arn: mapping.event_source_arn().unwrap_or_default().to_owned(),
        starting_position,
        batch_size: mapping.batch_size().map_or(sluice_rules::stream_mapping::DEFAULT_BATCH_SIZE, |n| n as u32),
        batching_window: Duration::from_secs(mapping.maximum_batching_window_in_seconds().unwrap_or(0) as u64),
        maximum_retry_attempts: mapping.maximum_retry_attempts().unwrap_or(-1),
        maximum_record_age_seconds: mapping.maximum_record_age_in_seconds().unwrap_or(-1),
        bisect_batch_on_function_error: mapping.bisect_batch_on_function_error().unwrap_or(false),
        parallelization_factor: mapping.parallelization_factor().map_or(1, |n| n as u32),
        report_batch_item_failures: mapping
            .function_response_types()
            .iter()
            .any(|t| t.as_str() == "ReportBatchItemFailures"),
        on_failure_queue_url: on_failure,
    })
}

/// The URL of the queue with ARN `arn` (`arn:aws:sqs:<region>:<account>:<name>`).
async fn queue_url(sqs: &aws_sdk_sqs::Client, arn: &str) -> Result<String, String> {
    let parts: Vec<&str> = arn.split(':').collect();
    let (Some(account), Some(name)) = (parts.get(4), parts.get(5)) else {
        return Err(format!("{arn} is not an SQS queue ARN (SNS and Lambda destinations are not played locally)"));
    };
    if parts.get(2) != Some(&"sqs") {
        return Err(format!("{arn} is not an SQS queue ARN (SNS and Lambda destinations are not played locally)"));
    }
    sqs.get_queue_url()
        .queue_name(*name)
        .queue_owner_aws_account_id(*account)
        .send()
        .await
        .map_err(|e| format!("GetQueueUrl {name}: {}", aws_sdk_sqs::error::DisplayErrorContext(&e)))?
        .queue_url
        .ok_or_else(|| format!("GetQueueUrl {name}: no URL"))
}

/// Deletes every object version in `bucket`.
async fn empty_bucket(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<(), StackError> {
    loop {
        let listed = s3
            .list_object_versions()
            .bucket(bucket)
            .send()
            .await
            .map_err(call(format!("ListObjectVersions {bucket}")))?;
        let versions: Vec<(String, Option<String>)> = listed
            .versions()
            .iter()
            .filter_map(|v| Some((v.key()?.to_owned(), v.version_id().map(str::to_owned))))
            .chain(
                listed
                    .delete_markers()
                    .iter()
                    .filter_map(|m| Some((m.key()?.to_owned(), m.version_id().map(str::to_owned)))),
            )
            .collect();
        if versions.is_empty() {
            return Ok(());
        }
        for (key, version) in versions {
            s3.delete_object()
                .bucket(bucket)
                .key(&key)
                .set_version_id(version)
                .send()
                .await
                .map_err(call(format!("DeleteObject {bucket}/{key}")))?;
        }
    }
}

/// What Lambda gives every function's environment that the template does not: the region and
/// credentials (here the caller's), and the local stack's endpoints and log filter, taken from
/// this process's environment.
pub fn execution_environment() -> BTreeMap<String, String> {
    std::env::vars()
        .filter(|(name, _)| {
            name.starts_with("AWS_ENDPOINT_URL")
                || ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "RUST_LOG"]
                    .contains(&name.as_str())
        })
        .collect()
}
