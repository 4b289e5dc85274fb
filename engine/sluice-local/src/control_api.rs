//! The read side of Lambda's control plane, for code that looks a function up before it calls
//! it (Lambda API reference): `GetFunction`, `GetFunctionConfiguration`, `ListFunctions`,
//! `ListEventSourceMappings` and `GetEventSourceMapping`. Names resolve as `Invoke`'s do: the
//! deployed name, `name:$LATEST`, a partial or full ARN; a logical ID gets the 404 that names
//! the deployed name. Nothing here changes a function: the stack's CloudFormation does that.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::config::EventSourceMappingConfig;
use crate::function::Function;
use crate::invoke_api::{aws_error, resolve};
use crate::shared::Shared;

/// A function's `FunctionConfiguration`, as the Lambda API answers it.
fn configuration(function: &Function) -> Value {
    let config = &function.config;
    let mut answer = json!({
        "FunctionName": config.deployed_name(),
        "FunctionArn": function.arn,
        "Runtime": config.runtime,
        "Handler": config.handler.clone().unwrap_or_else(|| "bootstrap".into()),
        "Timeout": config.timeout.as_secs(),
        "MemorySize": config.memory_mb,
        "Version": "$LATEST",
        "PackageType": "Zip",
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "Environment": {"Variables": config.environment},
    });
    if !config.layers.is_empty() {
        let layers: Vec<Value> = config.layers.iter().map(|l| json!({"Arn": l.display().to_string()})).collect();
        answer["Layers"] = Value::Array(layers);
    }
    answer
}

/// `GET /2015-03-31/functions/{name}` (`GetFunction`): the configuration, and the reserved
/// concurrency when there is one.
pub(crate) async fn get_function(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let function = match resolve(&shared, &name, query.get("Qualifier").map(String::as_str), &request_id) {
        Ok(function) => function,
        Err(not_found) => return *not_found,
    };
    let mut answer = json!({"Configuration": configuration(&function)});
    if let Some(reserved) = function.config.reserved_concurrency {
        answer["Concurrency"] = json!({"ReservedConcurrentExecutions": reserved});
    }
    ok(&request_id, answer)
}

/// `GET /2015-03-31/functions/{name}/configuration` (`GetFunctionConfiguration`).
pub(crate) async fn get_function_configuration(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    match resolve(&shared, &name, query.get("Qualifier").map(String::as_str), &request_id) {
        Ok(function) => ok(&request_id, configuration(&function)),
        Err(not_found) => *not_found,
    }
}

/// `GET /2015-03-31/functions/` (`ListFunctions`): every function, in one page, by name.
pub(crate) async fn list_functions(State(shared): State<Arc<Shared>>) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let mut functions: Vec<&Arc<Function>> = shared.functions.values().collect();
    functions.sort_by(|a, b| a.config.deployed_name().cmp(b.config.deployed_name()));
    let functions: Vec<Value> = functions.into_iter().map(|f| configuration(f)).collect();
    ok(&request_id, json!({"Functions": functions}))
}

/// `GET /2015-03-31/event-source-mappings/` (`ListEventSourceMappings`), of one function when
/// `FunctionName` names it (any form `Invoke` takes).
pub(crate) async fn list_event_source_mappings(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let only = match query.get("FunctionName") {
        Some(name) => match resolve(&shared, name, None, &request_id) {
            Ok(function) => Some(function.config.name.clone()),
            Err(not_found) => return *not_found,
        },
        None => None,
    };
    let mappings: Vec<Value> = shared
        .event_source_mappings
        .iter()
        .filter(|(_, m)| only.as_ref().is_none_or(|name| *name == m.function))
        .map(|(uuid, m)| mapping(&shared, uuid, m))
        .collect();
    ok(&request_id, json!({"EventSourceMappings": mappings}))
}

/// `GET /2015-03-31/event-source-mappings/{uuid}` (`GetEventSourceMapping`).
pub(crate) async fn get_event_source_mapping(State(shared): State<Arc<Shared>>, Path(uuid): Path<String>) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    match shared.event_source_mappings.iter().find(|(id, _)| *id == uuid) {
        Some((id, m)) => ok(&request_id, mapping(&shared, id, m)),
        None => aws_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            format!("The resource you requested does not exist: event source mapping {uuid}"),
            &request_id,
        ),
    }
}

/// An `EventSourceMappingConfiguration`.
fn mapping(shared: &Shared, uuid: &str, m: &EventSourceMappingConfig) -> Value {
    let function_arn = shared.functions.get(&m.function).map(|f| f.arn.clone()).unwrap_or_default();
    let mut answer = json!({
        "UUID": uuid,
        "EventSourceArn": queue_arn(&m.queue_url, &shared.region),
        "FunctionArn": function_arn,
        "BatchSize": m.batch_size,
        "MaximumBatchingWindowInSeconds": m.batching_window.as_secs(),
        "State": "Enabled",
        "FunctionResponseTypes": if m.report_batch_item_failures { vec!["ReportBatchItemFailures"] } else { vec![] },
    });
    if let Some(maximum) = m.maximum_concurrency {
        answer["ScalingConfig"] = json!({"MaximumConcurrency": maximum});
    }
    answer
}

/// The ARN of the queue at `url` (`.../<account>/<name>`).
fn queue_arn(url: &str, region: &str) -> String {
    let mut segments = url.trim_end_matches('/').rsplit('/');
    let name = segments.next().unwrap_or_default();
    let account = segments.next().unwrap_or_default();
    format!("arn:aws:sqs:{region}:{account}:{name}")
}

fn ok(request_id: &str, body: Value) -> Response {
    (StatusCode::OK, [("x-amzn-requestid", request_id.to_owned())], axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_queue_url_names_its_arn() {
        for url in ["https://sqs.us-east-1.amazonaws.com/123456789012/work", "http://127.0.0.1:4566/000000000000/work/"]
        {
            let arn = super::queue_arn(url, "us-east-1");
            assert!(arn.starts_with("arn:aws:sqs:us-east-1:") && arn.ends_with(":work"), "{arn}");
        }
    }
}
