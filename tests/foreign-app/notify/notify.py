"""Records every notification published to the topic in the results bucket."""

import os

import boto3

s3 = boto3.client("s3")


def handler(event, context):
    for record in event["Records"]:
        sns = record["Sns"]
        s3.put_object(
            Bucket=os.environ["RESULTS_BUCKET"],
            Key=f"notifications/{sns['MessageId']}.txt",
            Body=sns["Message"].encode(),
        )
    return {"recorded": len(event["Records"])}
