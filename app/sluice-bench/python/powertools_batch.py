"""The Powertools side's record handling, shared by the in-process benchmark and the Lambda
handler: Powertools' BatchProcessor over an SQS event whose bodies are SNS notifications of S3
events, each parsed with Powertools' parser models; with logs, one JSON line per record through
Powertools' Logger (to /dev/null, as sluice's logs go to a sink)."""

import logging
import os

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import S3Model, SnsNotificationModel

logger = Logger(service="bench", logger_handler=logging.StreamHandler(open(os.devnull, "w")))


def record_handler(record, log=True):
    notification = SnsNotificationModel.model_validate_json(record.body)
    s3 = S3Model.model_validate_json(notification.Message)
    if log:
        obj = s3.Records[0].s3.object
        logger.info("item done", extra={"message_id": record.message_id, "key": obj.key, "outcome": "processed"})
    return s3


def handle_batch(event, context, log=True):
    processor = BatchProcessor(event_type=EventType.SQS)
    return process_partial_response(
        event=event,
        record_handler=(lambda record: record_handler(record, log)),
        processor=processor,
        context=context,
    )
