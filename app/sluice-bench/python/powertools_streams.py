"""Powertools for AWS Lambda (Python) on the stream batches `sluice bench` gives it, in process.

Each iteration does what a Powertools stream worker does with one invocation's event: decode the
bytes, run BatchProcessor (EventType.KinesisDataStreams or EventType.DynamoDBStreams, with the
parser's record model) through process_partial_response, and in the record handler validate the
record's data (Kinesis: the JSON in the base64 data) or its NewImage (DynamoDB: already turned
from DynamoDB JSON into Python values by the model) into a pydantic model, and log one JSON line
through Powertools' Logger (to /dev/null), as sluice logs one per item. Prints one JSON document:
the time of each iteration in nanoseconds, and the versions.
"""

import argparse
import logging
import os

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamRecordModel, KinesisDataStreamRecord
from pydantic import BaseModel

from powertools_inprocess import time_and_print

logger = Logger(service="bench", logger_handler=logging.StreamHandler(open(os.devnull, "w")))


class Click(BaseModel):
    id: str
    page: str
    user: str


class Order(BaseModel):
    id: str
    status: str
    total: int


def kinesis_record(record):
    click = Click.model_validate_json(record.kinesis.data)
    logger.info("item done", extra={"sequence_number": record.kinesis.sequenceNumber, "key": click.id,
                                    "outcome": "processed"})
    return click


def dynamodb_record(record):
    order = Order.model_validate(record.dynamodb.NewImage)
    logger.info("item done", extra={"sequence_number": record.dynamodb.SequenceNumber, "key": order.id,
                                    "outcome": "processed"})
    return order


SOURCES = {
    "kinesis": (EventType.KinesisDataStreams, KinesisDataStreamRecord, kinesis_record),
    "dynamodb": (EventType.DynamoDBStreams, DynamoDBStreamRecordModel, dynamodb_record),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", required=True)
    parser.add_argument("--iterations", type=int, required=True)
    parser.add_argument("--source", choices=sorted(SOURCES), required=True)
    args = parser.parse_args()
    with open(args.batch, "rb") as f:
        raw = f.read()
    event_type, model, record_handler = SOURCES[args.source]
    # The last run's processor, whose exceptions say why a record failed.
    last = [None]

    def handle_event(event, context):
        last[0] = BatchProcessor(event_type=event_type, model=model)
        return process_partial_response(event=event, record_handler=record_handler, processor=last[0],
                                        context=context)

    time_and_print(raw, args.iterations, handle_event, lambda: last[0].exceptions)


if __name__ == "__main__":
    main()
