"""Powertools for AWS Lambda (Python) on the batch `sluice bench` gives it, in process.

Each iteration does what a Powertools SQS worker does with one invocation's event: decode the
bytes, run BatchProcessor with process_partial_response, and in the record handler parse the
SNS envelope and the S3 event with Powertools' parser models; the record handler does nothing
else. With --variant logs it also logs one JSON line per record through Powertools' Logger (to
/dev/null), as sluice logs one per item. Prints one JSON document: the time of each iteration
in nanoseconds, and the versions.
"""

import argparse
import json
import logging
import os
import platform
import sys
import time

from aws_lambda_powertools import Logger
from aws_lambda_powertools.shared.version import VERSION as POWERTOOLS_VERSION
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import S3Model, SnsNotificationModel


class Context:
    """The few LambdaContext attributes Powertools reads."""

    function_name = "bench"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:bench"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self):
        return 3_600_000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", required=True)
    parser.add_argument("--iterations", type=int, required=True)
    parser.add_argument("--variant", choices=["bare", "logs"], default="bare")
    args = parser.parse_args()
    with open(args.batch, "rb") as f:
        raw = f.read()

    logger = Logger(service="bench", logger_handler=logging.StreamHandler(open(os.devnull, "w")))

    def record_handler(record):
        notification = SnsNotificationModel.model_validate_json(record.body)
        s3 = S3Model.model_validate_json(notification.Message)
        if args.variant == "logs":
            obj = s3.Records[0].s3.object
            logger.info("item done", extra={"message_id": record.message_id, "key": obj.key, "outcome": "processed"})
        return s3

    context = Context()
    times = []
    for _ in range(args.iterations):
        started = time.perf_counter_ns()
        event = json.loads(raw)
        processor = BatchProcessor(event_type=EventType.SQS)
        response = process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
        json.dumps(response)
        times.append(time.perf_counter_ns() - started)
        if response["batchItemFailures"]:
            print(f"a record failed: {response}", file=sys.stderr)
            sys.exit(1)
    print(json.dumps({
        "times_ns": times,
        "python": platform.python_version(),
        "powertools": POWERTOOLS_VERSION,
    }))


if __name__ == "__main__":
    main()
