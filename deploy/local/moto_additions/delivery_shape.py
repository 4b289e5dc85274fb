"""Deliveries as AWS makes them: S3 event records carry `versionId` and `sequencer` and are
published with the subject "Amazon S3 Notification"; HTTP subscribers get the
`x-amz-sns-*` headers (S3 User Guide, notification-content-structure; SNS Developer Guide,
sns-message-and-json-formats). SQS takes messages up to 1 MiB, its quota since August 2025
(moto's model says so, its SendMessage handler still refuses over 256 KiB).

Checked against moto 5.1.18 (moto-ext 5.1.18.post6, deploy/requirements/local-stack.lock).
Drop this file when moto's S3 events carry `versionId` and `sequencer`, its HTTP deliveries the `x-amz-sns-*` headers, and its SendMessage takes 1 MiB.
"""

import itertools
import json
import threading
from urllib.parse import quote_plus

import requests

from moto.s3 import notifications as s3_notifications
from moto.sns import models as sns
from moto.sqs import models as sqs
from moto.sqs import responses as sqs_responses


_sequence = itertools.count(1)
_sequence_lock = threading.Lock()
_s3_event = s3_notifications._get_s3_event


def s3_event_as_aws_writes_it(event_name, bucket, key, notification_id):
    event = _s3_event(event_name, bucket, key, notification_id)
    record = event["Records"][0]
    with _sequence_lock:
        sequencer = f"{next(_sequence):018X}"
    # Form-URL encoded as S3 writes it: a space is "+", "/" stays as it is.
    record["s3"]["object"]["key"] = quote_plus(key.name, safe="/")
    record["s3"]["object"]["sequencer"] = sequencer
    if getattr(bucket, "versioning_status", None) == "Enabled":
        record["s3"]["object"]["versionId"] = key.version_id
    record.setdefault("userIdentity", {"principalId": "AWS:LOCAL"})
    record.setdefault("requestParameters", {"sourceIPAddress": "127.0.0.1"})
    record.setdefault("responseElements", {"x-amz-request-id": sequencer, "x-amz-id-2": sequencer})
    return event


def publish_s3_event(account_id, event_body, topic_arn, region_name):
    try:
        sns.sns_backends[account_id][region_name].publish(
            arn=topic_arn, message=json.dumps(event_body), subject="Amazon S3 Notification"
        )
    except Exception:  # asynchronous in AWS: a failed notification does not fail the upload
        pass


s3_notifications._get_s3_event = s3_event_as_aws_writes_it
s3_notifications._send_sns_message = publish_s3_event

_publish = sns.Subscription.publish


def publish_with_http_headers(self, message, message_id, subject=None, message_attributes=None, **kwargs):
    if self.protocol not in ("http", "https"):
        return _publish(self, message, message_id, subject, message_attributes, **kwargs)
    if self._filter_policy_matcher is not None and not self._filter_policy_matcher.matches(
        message_attributes, message
    ):
        return None
    body = self.get_post_data(message, message_id, subject, message_attributes)
    headers = {
        "Content-Type": "text/plain; charset=UTF-8",
        "x-amz-sns-message-type": "Notification",
        "x-amz-sns-message-id": message_id,
        "x-amz-sns-topic-arn": self.topic.arn,
        "x-amz-sns-subscription-arn": self.arn,
    }
    try:
        requests.post(self.endpoint, data=json.dumps(body), headers=headers, timeout=15)
    except requests.RequestException:  # SNS retries per its delivery policy; here it is lost
        pass
    return None


sns.Subscription.publish = publish_with_http_headers
sqs_responses.MAXIMUM_MESSAGE_LENGTH = sqs.MAXIMUM_MESSAGE_LENGTH
