//! A SAM app written as a team writes one without sluice (`tests/foreign-app`: a `python3.12`
//! function with `Handler: app.handler` and a layer, a custom-runtime `bootstrap` starting AWS's
//! Python runtime interface client, an SQS queue with a DLQ and `ReportBatchItemFailures`, an SNS
//! subscription, S3 writes), deployed with `sluice local up` from a shell whose `python3` has
//! `awslambdaric` and `boto3` (the project's Python runtime venv, as a user's activated venv),
//! and driven with the AWS SDK as its users' code would drive it. And a stack with runtimes this
//! machine cannot run: `local up` names each with what would make it run, and runs the rest.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use aws_sdk_lambda::primitives::Blob;
use sluice_e2e::local_up::LocalUp;
use sluice_e2e::scenario::workers;
use sluice_local::wait::wait_for;
use sluice_sam::stack::Stack;

fn app() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("foreign-app")
}

/// The project's Python runtime venv's `bin`, made by `scripts/setup test`.
fn venv_bin() -> PathBuf {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv-python-runtime/bin");
    assert!(bin.join("python3").exists(), "{} is missing: run scripts/setup test", bin.display());
    bin
}

async fn object(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Option<String> {
    let got = s3.get_object().bucket(bucket).key(key).send().await.ok()?;
    Some(String::from_utf8(got.body.collect().await.ok()?.to_vec()).expect("utf-8"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local stack: run scripts/test"]
async fn a_foreign_sam_app_runs_under_local_up_as_it_would_on_lambda() {
    assert!(std::env::var_os("AWS_ENDPOINT_URL").is_some(), "AWS_ENDPOINT_URL is not set: run scripts/test");
    let aws = aws_config::load_from_env().await;
    let name = format!("shop-{}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
    let log_dir = std::env::temp_dir().join("sluice-e2e").join(&name);
    let path = std::env::join_paths(
        std::iter::once(venv_bin()).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .unwrap();
    let mut command = Command::new(workers().join("sluice"));
    command
        .args(["local", "up", "--template"])
        .arg(app().join("template.yaml"))
        .args(["--stack-name", &name, "--port", "0", "--time-scale", "60", "--log-dir"])
        .arg(&log_dir)
        .env("PATH", &path)
        // Found on PATH, as a user's activated venv provides it.
        .env_remove(sluice_local::launch::PYTHON_VARIABLE);
    let up = LocalUp::start(command);
    let output = |key: &str| up.outputs.get(key).cloned().unwrap_or_else(|| panic!("no output {key}: {:?}", up.said));
    let (deployed, arn) = (output("OrderFnName"), output("OrderFnArn"));
    assert!(
        up.said.iter().any(|l| l.contains(&format!("{deployed} (python3.12) runs under Python"))),
        "up says what the managed runtime runs under: {:?}",
        up.said
    );

    // Orders: good ones are written to S3; a refused one is received maxReceiveCount (3) times
    // at most, then redriven to the DLQ (visibility timeouts on the service's time scale).
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let s3 = sluice::aws::s3_client(&aws);
    let results = output("ResultsBucketName");
    for body in [r#"{"id":"o-1","amount":5}"#, r#"{"id":"o-2","amount":-1}"#, r#"{"id":"o-3","amount":7}"#] {
        sqs.send_message().queue_url(output("OrderQueueUrl")).message_body(body).send().await.expect("sent");
    }
    for id in ["o-1", "o-3"] {
        let key = format!("orders/{id}.json");
        let written = wait_for(Duration::from_secs(60), || object(&s3, &results, &key)).await;
        let written: serde_json::Value = serde_json::from_str(&written.expect("written within 60 s")).unwrap();
        assert_eq!(written["id"], id);
    }
    let dlq = output("OrderDeadLettersUrl");
    let letter = wait_for(Duration::from_secs(60), || sluice_local::wait::receive_one(&sqs, &dlq)).await;
    assert_eq!(letter.expect("o-2 in the DLQ within 60 s").body(), Some(r#"{"id":"o-2","amount":-1}"#));
    let log = std::fs::read_to_string(log_dir.join(format!("{deployed}.log"))).expect("the function's log");
    let refusals = log.lines().filter(|l| l.contains("refused: amount -1 is not positive")).count();
    assert!((1..=3).contains(&refusals), "o-2 refused on each of at most 3 receives, by the layer's rule: {refusals}");
    assert_eq!(object(&s3, &results, "orders/o-2.json").await, None, "o-2 was not written");

    // Notifications: each message published to the topic is recorded by the custom runtime.
    let sns = aws_sdk_sns::Client::new(&aws);
    let mut published = Vec::new();
    for message in ["parcel left the warehouse", "parcel delivered"] {
        let sent = sns.publish().topic_arn(output("NotificationsTopicArn")).message(message).send().await.unwrap();
        published.push((sent.message_id().expect("a message id").to_owned(), message));
    }
    for (id, message) in published {
        let key = format!("notifications/{id}.txt");
        let recorded = wait_for(Duration::from_secs(60), || object(&s3, &results, &key)).await;
        assert_eq!(recorded.as_deref(), Some(message), "delivered and recorded within 60 s");
    }

    // Invoke, as the app's other code would: by the deployed name, by the output ARN and by
    // name:$LATEST. The logical ID is not a Lambda name: 404 naming the deployed one.
    let lambda_config = aws_sdk_lambda::config::Builder::from(&aws).endpoint_url(&up.endpoint).build();
    let lambda = aws_sdk_lambda::Client::from_conf(lambda_config);
    for function in [deployed.clone(), arn.clone(), format!("{deployed}:$LATEST")] {
        let answer = lambda.invoke().function_name(&function).payload(Blob::new(r#"{"ping":1}"#)).send().await;
        let answer = answer.unwrap_or_else(|e| panic!("invoke {function}: {e:?}"));
        assert_eq!(answer.function_error(), None);
        let payload: serde_json::Value = serde_json::from_slice(answer.payload().unwrap().as_ref()).unwrap();
        assert_eq!(
            (&payload["function_name"], &payload["echo"]),
            (&serde_json::json!(deployed), &serde_json::json!({"ping": 1}))
        );
    }
    let logical = lambda.invoke().function_name("OrderFn").send().await.expect_err("not a Lambda name");
    let not_found = logical.as_service_error().expect("a service error");
    assert!(not_found.is_resource_not_found_exception(), "{not_found:?}");
    assert!(format!("{not_found:?}").contains(&deployed), "the 404 names the deployed name: {not_found:?}");

    // The read side of the control plane answers to the same names.
    for function in [deployed.clone(), arn.clone()] {
        let got = lambda.get_function().function_name(&function).send().await.expect("GetFunction");
        let configuration = got.configuration().expect("a configuration");
        assert_eq!(configuration.function_name(), Some(deployed.as_str()));
        assert_eq!(configuration.runtime().map(|r| r.as_str()), Some("python3.12"));
        assert_eq!(configuration.handler(), Some("app.handler"));
    }
    let listed = lambda.list_functions().send().await.expect("ListFunctions");
    let mut names: Vec<&str> = listed.functions().iter().filter_map(|f| f.function_name()).collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&deployed.as_str()) && names.iter().any(|n| n.contains("-NotifyFn-")), "{names:?}");
    let mappings =
        lambda.list_event_source_mappings().function_name(&deployed).send().await.expect("ListEventSourceMappings");
    let [mapping] = mappings.event_source_mappings() else { panic!("one mapping: {mappings:?}") };
    let queue_name = output("OrderQueueUrl").rsplit('/').next().unwrap().to_owned();
    assert!(mapping.event_source_arn().is_some_and(|a| a.ends_with(&format!(":{queue_name}"))), "{mapping:?}");
    assert_eq!(
        mapping.function_response_types().iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        ["ReportBatchItemFailures"]
    );
    let uuid = mapping.uuid().expect("a UUID");
    let got = lambda.get_event_source_mapping().uuid(uuid).send().await.expect("GetEventSourceMapping");
    assert_eq!(got.batch_size(), Some(10));
    let logical = lambda.get_function().function_name("OrderFn").send().await.expect_err("not a Lambda name");
    assert!(format!("{logical:?}").contains(&deployed), "the 404 names the deployed name: {logical:?}");

    // `sluice invoke` takes the logical ID with the stack, and says what it resolved it to.
    let mut invoke = Command::new(workers().join("sluice"))
        .args(["invoke", "OrderFn", "--stack-name", &name, "--payload", "-"])
        .env("AWS_ENDPOINT_URL_LAMBDA", &up.endpoint)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut invoke.stdin.take().unwrap(), br#"{"from":"cli"}"#).unwrap();
    let invoked = invoke.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&invoked.stdout), String::from_utf8_lossy(&invoked.stderr));
    assert!(invoked.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("OrderFn is {deployed} in stack {name}")), "{stderr}");
    assert!(stdout.contains(r#""echo": {"from": "cli"}"#), "{stdout}");

    // Down deletes everything the stack made.
    let (queue, topic_arn) = (output("OrderQueueUrl"), output("NotificationsTopicArn"));
    let (clean, said) = up.interrupt();
    assert!(clean, "{said:?}");
    let down = Command::new(workers().join("sluice")).args(["local", "down", "--stack-name", &name]).output().unwrap();
    assert!(down.status.success(), "{}", String::from_utf8_lossy(&down.stderr));
    assert!(!Stack::exists(&aws, &name).await.unwrap(), "the stack is gone");
    assert!(s3.head_bucket().bucket(&results).send().await.is_err(), "the bucket is gone");
    let queue_name = queue.rsplit('/').next().unwrap();
    assert!(sqs.get_queue_url().queue_name(queue_name).send().await.is_err(), "the queue is gone");
    let topic = sns.get_topic_attributes().topic_arn(&topic_arn).send().await;
    assert!(topic.is_err(), "the topic is gone");
}

/// Writes `files` (path, content) under a fresh directory, and returns it.
fn app_dir(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join("sluice-e2e").join(name);
    for (path, content) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local stack: run scripts/test"]
async fn local_up_names_each_function_it_cannot_run_and_runs_the_rest() {
    assert!(std::env::var_os("AWS_ENDPOINT_URL").is_some(), "AWS_ENDPOINT_URL is not set: run scripts/test");
    let aws = aws_config::load_from_env().await;
    let name = format!("mixed-{}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
    let dir = app_dir(
        &name,
        &[
            (
                "template.yaml",
                "Transform: AWS::Serverless-2016-10-31\nResources:\n  Greeter:\n    Type: AWS::Serverless::Function\n    \
                 Properties:\n      Runtime: python3.12\n      Handler: app.handler\n      CodeUri: greeter/\n  Legacy:\n    \
                 Type: AWS::Serverless::Function\n    Properties:\n      Runtime: java21\n      Handler: shop.Legacy::handle\n      \
                 CodeUri: legacy/\n  Web:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: nodejs22.x\n      \
                 Handler: index.handler\n      CodeUri: web/\n",
            ),
            ("greeter/app.py", "def handler(event, context):\n    return {\"hello\": event.get(\"name\")}\n"),
            ("legacy/Legacy.java", "class Legacy {}\n"),
            ("web/index.mjs", "export const handler = async () => ({});\n"),
        ],
    );
    // A python3 with awslambdaric on PATH; no aws-lambda-ric anywhere.
    let path = std::env::join_paths([venv_bin(), PathBuf::from("/usr/bin"), PathBuf::from("/bin")]).unwrap();
    let mut command = Command::new(workers().join("sluice"));
    command
        .args(["local", "up", "--template"])
        .arg(dir.join("template.yaml"))
        .args(["--stack-name", &name, "--port", "0", "--log-dir"])
        .arg(dir.join("logs"))
        .env("PATH", &path)
        .env_remove(sluice_local::launch::PYTHON_VARIABLE)
        .env_remove(sluice_local::launch::NODE_RIC_VARIABLE);
    let up = LocalUp::start(command);
    let said = up.said.join("\n");
    assert!(said.contains("not running Legacy: runtime java21 is not run locally"), "{said}");
    assert!(said.contains("Runtime: provided.al2023 and a bootstrap in CodeUri"), "what would make it run: {said}");
    assert!(said.contains("not running Web: runtime nodejs22.x: no aws-lambda-ric"), "{said}");
    assert!(said.contains("npm install -g aws-lambda-ric"), "what would make it run: {said}");
    let functions = up.said.iter().find(|l| l.starts_with("functions: ")).expect("the functions line");
    assert!(
        functions.contains("(Greeter)") && !functions.contains("Legacy") && !functions.contains("Web"),
        "{functions}"
    );

    let deployed = Stack::function_name(&aws, &name, "Greeter").await.unwrap().expect("Greeter deployed");
    let lambda_config = aws_sdk_lambda::config::Builder::from(&aws).endpoint_url(&up.endpoint).build();
    let lambda = aws_sdk_lambda::Client::from_conf(lambda_config);
    let answer =
        lambda.invoke().function_name(&deployed).payload(Blob::new(r#"{"name":"shop"}"#)).send().await.unwrap();
    assert_eq!(answer.payload().map(|p| p.as_ref().to_vec()), Some(br#"{"hello": "shop"}"#.to_vec()));

    let (clean, said) = up.interrupt();
    assert!(clean, "{said:?}");
    let down = Command::new(workers().join("sluice")).args(["local", "down", "--stack-name", &name]).output().unwrap();
    assert!(down.status.success(), "{}", String::from_utf8_lossy(&down.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}
