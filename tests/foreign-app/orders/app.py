"""Drains the order queue: each accepted order is written to the results bucket; a refused one
is reported as a batch item failure, so SQS sends it again and, after maxReceiveCount receives,
to the dead-letter queue. Invoked directly (not by SQS), it says who it is."""

import json
import os

import boto3

from order_rules import check

s3 = boto3.client("s3")


def handler(event, context):
    if "Records" not in event:
        return {"function_name": context.function_name, "arn": context.invoked_function_arn, "echo": event}
    failures = []
    for record in event["Records"]:
        try:
            order = json.loads(record["body"])
            check(order)
        except (ValueError, TypeError, AttributeError) as error:
            print(f"order {record['messageId']} refused: {error}")
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        s3.put_object(
            Bucket=os.environ["RESULTS_BUCKET"],
            Key=f"orders/{order['id']}.json",
            Body=json.dumps(order).encode(),
        )
        print(f"order {order['id']} accepted")
    return {"batchItemFailures": failures}
