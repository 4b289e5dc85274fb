"""The Powertools function `sluice bench` runs under the local Lambda service with AWS's
runtime interface client: the batch, parsed and logged per record, answered with a partial
batch response."""

from powertools_batch import handle_batch


def handler(event, context):
    return handle_batch(event, context, log=True)
