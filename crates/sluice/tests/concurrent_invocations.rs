//! Lambda Managed Instances run several invocations in one process at once
//! (`lambda_runtime::run_concurrent` with `AWS_LAMBDA_MAX_CONCURRENCY`): one handler, cloned
//! per invocation, over one store and its cache. Nothing of one invocation may leak into
//! another: each answers for its own batch, and a key held by one is not run by another.

mod common;

use std::time::Duration;

use common::*;
use sluice::{Idempotency, SqsBatchHandler};
use sluice_events::Json;
use sluice_idempotency::{CachedStore, MemoryStore};
use tokio::time::Instant;

const PLENTY: Duration = Duration::from_secs(60);

fn handler(p: Scripted) -> SqsBatchHandler<Json<Job>> {
    let store = CachedStore::new(MemoryStore::new(), 64);
    SqsBatchHandler::builder(p, Idempotency::new(store))
        .idempotency_key(|Json(job): &Json<Job>, _| Some(job.id.clone()))
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_invocations_of_one_handler_each_answer_for_their_own_batch() {
    let p = Scripted::default();
    let handler = handler(p.clone());
    let mut invocations = tokio::task::JoinSet::new();
    for i in 0..8 {
        let handler = handler.clone();
        invocations.spawn(async move {
            // Batch i: three messages, the second of which fails in odd batches.
            let jobs = [
                (format!("b{i}-m0"), job(&format!("b{i}-a"), "sleep:20")),
                (format!("b{i}-m1"), job(&format!("b{i}-b"), if i % 2 == 1 { "retry" } else { "ok" })),
                (format!("b{i}-m2"), job(&format!("b{i}-c"), "ok")),
            ];
            let records: Vec<(&str, &str)> = jobs.iter().map(|(id, body)| (id.as_str(), body.as_str())).collect();
            let response = handler.handle(sqs_event(&records), &context(PLENTY)).await.unwrap();
            (i, failed_ids(&response))
        });
    }
    let mut answered = 0;
    while let Some(joined) = invocations.join_next().await {
        let (i, failed) = joined.unwrap();
        let expected: Vec<String> = if i % 2 == 1 { vec![format!("b{i}-m1")] } else { vec![] };
        assert_eq!(failed, expected, "batch {i} reports its own failures only");
        answered += 1;
    }
    assert_eq!(answered, 8);
    let mut calls = p.calls();
    calls.sort();
    calls.dedup();
    assert_eq!(calls.len(), 24, "every item of every batch ran, none twice");
    assert!(p.max_in_flight.load(std::sync::atomic::Ordering::SeqCst) > 1, "the invocations overlapped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_key_held_by_one_invocation_is_not_run_by_a_concurrent_one() {
    let p = Scripted::default();
    let handler = handler(p.clone());
    let first = {
        let handler = handler.clone();
        tokio::spawn(async move {
            handler.handle(sqs_event(&[("m1", &job("shared", "sleep:500"))]), &context(PLENTY)).await.unwrap()
        })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !p.calls().contains(&"shared".to_owned()) {
        assert!(Instant::now() < deadline, "the first invocation never started its item");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The first holds the claim: the concurrent delivery is refused, to be redelivered.
    let second = handler.handle(sqs_event(&[("m2", &job("shared", "ok"))]), &context(PLENTY)).await.unwrap();
    assert_eq!(failed_ids(&second), ["m2"]);
    assert!(first.await.unwrap().batch_item_failures.is_empty());
    // Completed now: a third delivery is a duplicate, answered from the record without a run.
    let third = handler.handle(sqs_event(&[("m3", &job("shared", "ok"))]), &context(PLENTY)).await.unwrap();
    assert!(third.batch_item_failures.is_empty());
    assert_eq!(p.calls(), ["shared"], "run once");
}
