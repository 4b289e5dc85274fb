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
import platform
import sys
import time

from aws_lambda_powertools.shared.version import VERSION as POWERTOOLS_VERSION

from powertools_batch import handle_batch


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

    context = Context()
    times = []
    for _ in range(args.iterations):
        started = time.perf_counter_ns()
        event = json.loads(raw)
        response = handle_batch(event, context, log=(args.variant == "logs"))
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
