//! template.yaml's invariants, read from the file (deploying it is tests/deploy.rs's job).

use yaml_rust2::{Yaml, YamlLoader};

fn template() -> Yaml {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml");
    let text = std::fs::read_to_string(path).expect("template.yaml");
    YamlLoader::load_from_str(&text).expect("valid YAML").remove(0)
}

fn resource<'a>(t: &'a Yaml, name: &str) -> &'a Yaml {
    let r = &t["Resources"][name];
    assert!(!r.is_badvalue(), "no resource {name}");
    r
}

fn resources_of<'a>(t: &'a Yaml, kind: &str) -> Vec<(&'a str, &'a Yaml)> {
    t["Resources"]
        .as_hash()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(kind))
        .map(|(k, r)| (k.as_str().unwrap(), r))
        .collect()
}

fn int(y: &Yaml) -> i64 {
    y.as_i64().or_else(|| y.as_str().and_then(|s| s.parse().ok())).unwrap_or_else(|| panic!("not a number: {y:?}"))
}

#[test]
fn the_work_queue_visibility_timeout_covers_six_timeouts_and_the_largest_window() {
    let t = template();
    let timeout = int(&t["Globals"]["Function"]["Timeout"]);
    let max_window = int(&t["Parameters"]["BatchingWindowSeconds"]["MaxValue"]);
    let visibility = int(&resource(&t, "WorkQueue")["Properties"]["VisibilityTimeout"]);
    assert!(visibility >= 6 * timeout + max_window, "{visibility} < 6 x {timeout} + {max_window}");
}

#[test]
fn the_work_queue_redrives_after_at_least_five_receives_to_a_14_day_dlq() {
    let t = template();
    let redrive = &resource(&t, "WorkQueue")["Properties"]["RedrivePolicy"];
    assert!(int(&redrive["maxReceiveCount"]) >= 5);
    assert!(redrive["deadLetterTargetArn"].as_str().unwrap().starts_with("WorkDeadLetterQueue"), "{redrive:?}");
    for (name, queue) in resources_of(&t, "AWS::SQS::Queue") {
        if name.contains("DeadLetter") || name.contains("Failures") {
            assert_eq!(int(&queue["Properties"]["MessageRetentionPeriod"]), 1_209_600, "{name}");
        }
    }
}

#[test]
fn the_direct_path_retries_twice_then_keeps_the_event_in_a_destination() {
    let t = template();
    let config = &resource(&t, "SnsWorker")["Properties"]["EventInvokeConfig"];
    assert_eq!(int(&config["MaximumRetryAttempts"]), 2);
    assert_eq!(config["DestinationConfig"]["OnFailure"]["Type"].as_str(), Some("SQS"));
}

#[test]
fn the_mapping_reports_batch_item_failures() {
    let t = template();
    let event = &resource(&t, "SqsWorker")["Properties"]["Events"]["WorkQueue"];
    assert_eq!(event["Type"].as_str(), Some("SQS"));
    let types = event["Properties"]["FunctionResponseTypes"].as_vec().unwrap();
    assert!(types.iter().any(|v| v.as_str() == Some("ReportBatchItemFailures")));
}

#[test]
fn every_subscription_and_source_queue_that_could_drop_an_event_has_a_dlq() {
    let t = template();
    for (name, sub) in resources_of(&t, "AWS::SNS::Subscription") {
        assert!(!sub["Properties"]["RedrivePolicy"].is_badvalue(), "subscription {name} has no redrive policy");
    }
    for (name, function) in resources_of(&t, "AWS::Serverless::Function") {
        for (_, event) in function["Properties"]["Events"].as_hash().into_iter().flatten() {
            if event["Type"].as_str() == Some("SNS") {
                assert!(!event["Properties"]["RedrivePolicy"].is_badvalue(), "{name}'s SNS subscription has no DLQ");
            }
            if event["Type"].as_str() == Some("SQS") {
                let queue = event["Properties"]["Queue"].as_str().unwrap().split('.').next().unwrap().to_owned();
                assert!(!resource(&t, &queue)["Properties"]["RedrivePolicy"].is_badvalue(), "{queue} has no DLQ");
            }
        }
    }
}

/// A function's policy statements with their actions; a conditional statement
/// (`!If [condition, statement, AWS::NoValue]`) counts as its statement.
fn statements<'a>(name: &str, function: &'a Yaml) -> Vec<(Vec<&'a str>, &'a Yaml)> {
    let mut out = Vec::new();
    for policy in function["Properties"]["Policies"].as_vec().unwrap() {
        for statement in policy["Statement"].as_vec().unwrap() {
            let statement = match statement {
                Yaml::Array(branches) => &branches[1],
                plain => plain,
            };
            let actions: Vec<&str> = match &statement["Action"] {
                Yaml::Array(a) => a.iter().map(|v| v.as_str().unwrap()).collect(),
                Yaml::String(s) => vec![s.as_str()],
                other => panic!("{name}: action {other:?}"),
            };
            out.push((actions, statement));
        }
    }
    out
}

/// Every Allow statement of an IAM policy (the functions' policies) names its actions and
/// resources; no wildcard action, no `Resource: "*"`.
#[test]
fn no_iam_statement_has_a_wildcard_action() {
    let t = template();
    let mut checked = 0;
    for (name, function) in resources_of(&t, "AWS::Serverless::Function") {
        for (actions, statement) in statements(name, function) {
            for action in actions {
                assert!(!action.contains('*'), "{name}: wildcard action {action}");
                checked += 1;
            }
            assert_ne!(statement["Resource"].as_str(), Some("*"), "{name}: statement on every resource");
        }
    }
    assert!(checked >= 10, "only {checked} actions found: the test reads the wrong place");
    // Resource policies that allow: no wildcard actions either (the KMS key policy's account
    // administration statement is the one AWS requires and is excluded).
    for kind in ["AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy", "AWS::EC2::VPCEndpoint"] {
        for (name, r) in resources_of(&t, kind) {
            for statement in r["Properties"]["PolicyDocument"]["Statement"].as_vec().into_iter().flatten() {
                if statement["Effect"].as_str() == Some("Allow") {
                    let text = format!("{:?}", statement["Action"]);
                    assert!(!text.contains('*'), "{name}: wildcard action in {text}");
                }
            }
        }
    }
}

#[test]
fn the_template_gives_the_workers_what_their_code_expects() {
    let t = template();
    let table = &resource(&t, "IdempotencyTable")["Properties"];
    // The DynamoDB store's layout: `id` partition key, TTL on `expiration`.
    assert_eq!(table["TimeToLiveSpecification"]["AttributeName"].as_str(), Some("expiration"));
    assert_eq!(table["KeySchema"][0]["AttributeName"].as_str(), Some("id"));
    let subscription = &resource(&t, "WorkQueueSubscription")["Properties"];
    assert_eq!(subscription["RawMessageDelivery"].as_bool(), Some(false), "the worker expects the SNS envelope");
    assert!(
        resource(&t, "IngestBucket")["Properties"]["VersioningConfiguration"]["Status"].as_str() == Some("Enabled"),
        "uploads of one key are told apart by version"
    );
}

#[test]
fn the_static_egress_ip_is_an_output_of_the_nat_gateway_eip() {
    let t = template();
    let output = &t["Outputs"]["StaticEgressIp"];
    assert_eq!(output["Condition"].as_str(), Some("StaticEgress"));
    let nat = &resource(&t, "NatGatewayA")["Properties"];
    assert_eq!(nat["AllocationId"].as_str(), Some("NatElasticIpA.AllocationId"));
    for endpoint in ["S3GatewayEndpoint", "DynamoDbGatewayEndpoint"] {
        assert_eq!(resource(&t, endpoint)["Properties"]["VpcEndpointType"].as_str(), Some("Gateway"));
    }
}

#[test]
fn idempotency_records_outlive_every_redelivery() {
    let t = template();
    let ttl = &t["Parameters"]["IdempotencyTtlSeconds"];
    let age = &t["Parameters"]["MaximumEventAgeSeconds"];
    assert!(int(&ttl["MinValue"]) >= int(&age["MaxValue"]), "a TTL shorter than an event's age is allowed");
    assert!(int(&ttl["Default"]) >= int(&age["Default"]));
    for (name, queue) in resources_of(&t, "AWS::SQS::Queue") {
        if name.contains("DeadLetter") || name.contains("Failures") {
            let retention = int(&queue["Properties"]["MessageRetentionPeriod"]);
            assert!(int(&ttl["Default"]) >= retention, "a redrive from {name} would outlive its record");
        }
    }
}

#[test]
fn the_object_size_limit_can_be_streamed_and_hashed_within_the_timeout() {
    // A conservative floor for a 256 MB function reading from S3 and hashing (README, "Limits").
    const FLOOR_BYTES_PER_SECOND: i64 = 10_000_000;
    let t = template();
    let env = &t["Globals"]["Function"]["Environment"]["Variables"];
    let timeout_ms = int(&t["Globals"]["Function"]["Timeout"]) * 1000;
    let margin_ms = int(&env["DEADLINE_MARGIN_MS"]);
    let max = int(&env["MAX_OBJECT_BYTES"]);
    assert!(max <= (timeout_ms - margin_ms) * FLOOR_BYTES_PER_SECOND / 1000, "{max} bytes in {timeout_ms} ms");
}

#[test]
fn both_functions_log_json_as_the_workers_read_it() {
    let t = template();
    for name in ["SqsWorker", "SnsWorker"] {
        let logging = &resource(&t, name)["Properties"]["LoggingConfig"];
        assert_eq!(logging["LogFormat"].as_str(), Some("JSON"), "{name}");
    }
}

#[test]
fn the_deployed_bootstraps_are_built_with_the_profile_the_benchmarks_measure() {
    // template.yaml builds with rust-cargolambda (`cargo lambda build --release`), and
    // cargo-lambda fills each of these settings the release profile leaves out with its own
    // (cargo-lambda docs, "Release optimizations"): panic = "abort" among them, which would turn
    // one record's panic into its whole batch's loss. Named, the deployed build is the one
    // BENCHMARKS.md measures.
    let t = template();
    for name in ["SqsWorker", "SnsWorker"] {
        assert_eq!(resource(&t, name)["Metadata"]["BuildMethod"].as_str(), Some("rust-cargolambda"), "{name}");
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.toml");
    let manifest: toml::Table = std::fs::read_to_string(path).expect("the workspace Cargo.toml").parse().unwrap();
    let release = manifest["profile"]["release"].as_table().expect("a [profile.release] section");
    for setting in ["strip", "lto", "codegen-units", "panic", "opt-level"] {
        assert!(release.contains_key(setting), "[profile.release] must name {setting}: {release:?}");
    }
    assert_eq!(release["panic"].as_str(), Some("unwind"), "per-record panic isolation needs unwinding");
}

#[test]
fn the_local_network_is_switched_by_the_templates_vpc_parameters() {
    let t = template();
    let local = serde_json::to_value(sluice_local::NetworkConfig::default()).unwrap();
    let boolean = Yaml::Array(vec![Yaml::String("true".into()), Yaml::String("false".into())]);
    for (parameter, setting) in [("EnableVpc", "enable_vpc"), ("StaticEgressIp", "static_egress_ip")] {
        assert_eq!(t["Parameters"][parameter]["AllowedValues"], boolean, "{parameter}");
        assert!(local.get(setting).is_some_and(|v| v.is_boolean()), "no local setting {setting} for {parameter}");
    }
    // Both functions join the VPC together, as the local network puts every function in it.
    assert!(t["Globals"]["Function"]["VpcConfig"].as_vec().is_some_and(|v| !v.is_empty()), "VpcConfig in Globals");
}

#[test]
fn with_a_webhook_each_function_may_read_the_signing_secret_and_no_other() {
    let t = template();
    let secret = resource(&t, "WebhookSigningSecret");
    assert_eq!(secret["Condition"].as_str(), Some("HasWebhook"));
    assert!(secret["Properties"]["KmsKeyId"].as_str().is_some_and(|k| k.contains("PipelineKey")));
    assert_eq!(
        t["Globals"]["Function"]["Environment"]["Variables"]["WEBHOOK_SECRET_ARN"][1].as_str(),
        Some("WebhookSigningSecret")
    );
    for function in ["SqsWorker", "SnsWorker"] {
        let statements = resource(&t, function)["Properties"]["Policies"][0]["Statement"].as_vec().unwrap();
        let secret_reads: Vec<&Yaml> = statements
            .iter()
            .filter_map(|s| s.as_vec().map(|branches| &branches[1]))
            .filter(|s| {
                s["Action"]
                    .as_vec()
                    .is_some_and(|a| a.iter().any(|a| a.as_str() == Some("secretsmanager:GetSecretValue")))
            })
            .collect();
        assert_eq!(secret_reads.len(), 1, "{function}");
        assert_eq!(
            secret_reads[0]["Resource"].as_str(),
            Some("WebhookSigningSecret"),
            "{function}: that one secret only"
        );
        assert!(
            !statements.iter().any(|s| s["Action"]
                .as_vec()
                .is_some_and(|a| a.iter().any(|a| a.as_str().is_some_and(|a| a.starts_with("secretsmanager:"))))),
            "{function}: unconditional secret access"
        );
    }
}

/// The AWS SDK calls the workers' code makes, found in the sources of the crates both worker
/// binaries link, and the IAM actions each needs (Service Authorization Reference). A call added
/// to the code without its action in the template, or an action left in the template that no
/// code calls, fails here: the local stack does not enforce IAM, so nothing else would notice.
const CALLS: [(&str, &[&str]); 7] = [
    // GetObject with a versionId is authorised as s3:GetObjectVersion.
    (".get_object()", &["s3:GetObject", "s3:GetObjectVersion"]),
    (".put_object()", &["s3:PutObject"]),
    (".put_item()", &["dynamodb:PutItem"]),
    (".update_item()", &["dynamodb:UpdateItem"]),
    (".delete_item()", &["dynamodb:DeleteItem"]),
    (".send_message()", &["sqs:SendMessage"]),
    (".get_secret_value()", &["secretsmanager:GetSecretValue"]),
];

fn sources(dir: &std::path::Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            // Only code: a call named in a comment or doc is not made.
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                if !line.trim_start().starts_with("//") {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
    }
}

#[test]
fn each_functions_role_allows_exactly_the_calls_its_code_makes() {
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let mut code = String::new();
    for krate in
        ["app/sluice-object-summary", "crates/sluice-idempotency", "crates/sluice", "app/sqs-worker", "app/sns-worker"]
    {
        sources(&root.join(krate).join("src"), &mut code);
    }
    let mut needed: std::collections::BTreeSet<&str> =
        CALLS.iter().filter(|(call, _)| code.contains(call)).flat_map(|(_, actions)| actions.iter().copied()).collect();
    assert!(needed.len() >= 7, "only {needed:?} found: the scan reads the wrong place");
    // The queues, the table and the secret are encrypted with the pipeline's key: SendMessage
    // needs GenerateDataKey, reads need Decrypt (KMS Developer Guide, services-sqs, services-dynamodb).
    needed.extend(["kms:Decrypt", "kms:GenerateDataKey"]);
    let t = template();
    let prefix = resource(&t, "IngestBucket")["Properties"]["NotificationConfiguration"]["TopicConfigurations"][0]
        ["Filter"]["S3Key"]["Rules"][0]["Value"]
        .as_str()
        .unwrap()
        .to_owned();
    for (name, function) in resources_of(&t, "AWS::Serverless::Function") {
        let mut allowed = std::collections::BTreeSet::new();
        let mut resources: Vec<(String, String)> = Vec::new();
        for (actions, statement) in statements(name, function) {
            let resource = statement["Resource"].as_str().unwrap_or_default().to_owned();
            for action in actions {
                allowed.insert(action);
                resources.push((action.to_owned(), resource.clone()));
            }
        }
        let needed: std::collections::BTreeSet<&str> = needed.iter().copied().collect();
        assert_eq!(allowed, needed, "{name}: the role's actions against the calls the code makes");
        // Where: reads under the notified prefix, receipts under the function's own prefix.
        let results_prefix = function["Properties"]["Environment"]["Variables"]["RESULTS_PREFIX"].as_str().unwrap();
        for (action, resource) in &resources {
            match action.as_str() {
                "s3:GetObject" | "s3:GetObjectVersion" => {
                    assert!(resource.ends_with(&format!("/{prefix}*")), "{name}: {action} on {resource}")
                }
                "s3:PutObject" => {
                    assert!(resource.ends_with(&format!("/{results_prefix}*")), "{name}: {action} on {resource}")
                }
                _ => {}
            }
        }
    }
}
