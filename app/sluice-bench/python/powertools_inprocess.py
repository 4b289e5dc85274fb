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


def time_and_print(raw, iterations, handle_event, failed):
    """Times `iterations` runs of `handle_event` on the event in `raw`, from the bytes to the
    serialised answer, and prints the times and the versions as one JSON document; exits 1,
    saying why, on a run whose answer lists a failure."""
    context = Context()
    times = []
    for _ in range(iterations):
        started = time.perf_counter_ns()
        event = json.loads(raw)
        response = handle_event(event, context)
        json.dumps(response)
        times.append(time.perf_counter_ns() - started)
        if response["batchItemFailures"]:
            print(f"a record failed: {response} {failed()}", file=sys.stderr)
            sys.exit(1)
    print(json.dumps({
        "times_ns": times,
        "python": platform.python_version(),
        "powertools": POWERTOOLS_VERSION,
    }))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", required=True)
    parser.add_argument("--iterations", type=int, required=True)
    parser.add_argument("--variant", choices=["bare", "logs"], default="bare")
    args = parser.parse_args()
    with open(args.batch, "rb") as f:
        raw = f.read()
    log = args.variant == "logs"
    time_and_print(raw, args.iterations, lambda event, context: handle_batch(event, context, log=log), lambda: "")


if __name__ == "__main__":
    main()
