"""A Python handler for the local Lambda service's tests, run by AWS's runtime interface client
(awslambdaric). It reports what the handler sees: the event as parsed, and the context."""

import os
import time


def handler(event, context):
    action = event.get("action") if isinstance(event, dict) else None
    if action == "fail":
        raise ValueError("the python handler was asked to fail")
    if action == "sleep":
        time.sleep(event["ms"] / 1000)
        return {"slept": event["ms"]}
    print(f"hello from python, request {context.aws_request_id}")
    return {
        "event": event,
        "event_type": type(event).__name__,
        "function_name": context.function_name,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "invoked_function_arn": context.invoked_function_arn,
        "aws_request_id": context.aws_request_id,
        "remaining_time_in_millis": context.get_remaining_time_in_millis(),
        "client_context": context.client_context.custom if context.client_context else None,
        "environment": {
            name: os.environ.get(name)
            for name in ("_HANDLER", "AWS_EXECUTION_ENV", "LAMBDA_TASK_ROOT", "AWS_LAMBDA_FUNCTION_NAME")
        },
        "working_directory": os.getcwd(),
    }
