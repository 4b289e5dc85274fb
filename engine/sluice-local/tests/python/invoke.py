"""Invokes a function of the local Lambda service with boto3 and prints what boto3 sees, as JSON.

usage: invoke.py ENDPOINT FUNCTION PAYLOAD_JSON [CLIENT_CONTEXT_JSON]
"""

import base64
import json
import sys

import boto3
from botocore.config import Config

endpoint, function, payload = sys.argv[1:4]
client_context = sys.argv[4] if len(sys.argv) > 4 else None
client = boto3.client(
    "lambda",
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id="test",
    aws_secret_access_key="test",
    config=Config(retries={"max_attempts": 1}, read_timeout=30),
)
args = {"FunctionName": function, "Payload": payload.encode(), "LogType": "Tail"}
if client_context:
    args["ClientContext"] = base64.b64encode(client_context.encode()).decode()
response = client.invoke(**args)
print(
    json.dumps(
        {
            "status": response["StatusCode"],
            "function_error": response.get("FunctionError"),
            "executed_version": response.get("ExecutedVersion"),
            "request_id": response["ResponseMetadata"].get("RequestId"),
            "log": base64.b64decode(response["LogResult"]).decode() if "LogResult" in response else None,
            "payload": json.loads(response["Payload"].read() or b"null"),
        }
    )
)
