"""The Python side of the memory benchmark: the object-summary work in Python, under the local
Lambda service with AWS's runtime interface client. Powertools' BatchProcessor parses each SQS
record's SNS envelope and S3 event; the record handler streams the object with boto3 (the
content the event's ETag names), computes size, SHA-256 and line count as sqs-worker does, and
writes a JSON receipt to RESULTS_BUCKET. Its peak RSS is what `sluice bench` compares."""

import hashlib
import json
import os
import urllib.parse

import boto3
from botocore.config import Config
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import S3Model, SnsNotificationModel

# Built at init, like sqs-worker's clients; path-style addressing for a local endpoint.
s3 = boto3.client("s3", config=Config(s3={"addressing_style": "path"}))
RESULTS_BUCKET = os.environ["RESULTS_BUCKET"]
CHUNK = 64 * 1024


def summarise(record):
    notification = SnsNotificationModel.model_validate_json(record.body)
    for event in S3Model.model_validate_json(notification.Message).Records:
        bucket = event.s3.bucket.name
        key = urllib.parse.unquote_plus(event.s3.object.key)
        body = s3.get_object(Bucket=bucket, Key=key, IfMatch=f'"{event.s3.object.eTag}"')["Body"]
        sha256, size, newlines, last = hashlib.sha256(), 0, 0, None
        for chunk in body.iter_chunks(CHUNK):
            sha256.update(chunk)
            size += len(chunk)
            newlines += chunk.count(b"\n")
            last = chunk[-1:]
        lines = newlines + (1 if last not in (None, b"", b"\n") else 0)
        receipt = {"bucket": bucket, "key": key, "size": size, "sha256": sha256.hexdigest(), "lines": lines}
        s3.put_object(Bucket=RESULTS_BUCKET, Key=f"receipts/{key}.json", Body=json.dumps(receipt).encode())


def handler(event, context):
    processor = BatchProcessor(event_type=EventType.SQS)
    return process_partial_response(event=event, record_handler=summarise, processor=processor, context=context)
