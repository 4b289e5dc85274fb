"""Powertools' idempotency on the batch `sluice bench` gives it: BatchProcessor over the SQS
event, each record through a function made idempotent with Powertools' idempotent_function and
its DynamoDB persistence layer (keyed by the SQS message id), against the endpoint given (the
benchmark's delaying proxy in front of moto). One phase per process: `first` (every record new)
or `duplicate` (the same batch again). Prints the wall time of the batch in nanoseconds.
"""

import argparse
import json
import time

import boto3
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.parser.models import S3Model, SnsNotificationModel

from powertools_inprocess import Context


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", required=True)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--phase", choices=["first", "duplicate"], required=True)
    args = parser.parse_args()
    with open(args.batch, "rb") as f:
        raw = f.read()

    client = boto3.client("dynamodb", endpoint_url=args.endpoint)
    persistence = DynamoDBPersistenceLayer(table_name=args.table, boto3_client=client)
    config = IdempotencyConfig(event_key_jmespath="messageId")
    context = Context()
    config.register_lambda_context(context)

    @idempotent_function(data_keyword_argument="record", persistence_store=persistence, config=config)
    def process(record):
        notification = SnsNotificationModel.model_validate_json(record["body"])
        S3Model.model_validate_json(notification.Message)
        return {"done": record["messageId"]}

    def record_handler(record):
        return process(record=record.raw_event)

    started = time.perf_counter_ns()
    event = json.loads(raw)
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=BatchProcessor(event_type=EventType.SQS), context=context
    )
    elapsed = time.perf_counter_ns() - started
    if response["batchItemFailures"]:
        raise SystemExit(f"records failed: {response}")
    print(json.dumps({"wall_ns": elapsed}))


if __name__ == "__main__":
    main()
