"""moto's own Lambda delivery is off. moto would invoke functions itself (in Docker) when a
message reaches a mapped queue or a subscribed topic: it would receive the message (counting a
receive towards the redrive policy) and fail. The local Lambda service reads the mappings and
subscriptions from the stack and runs them instead.

Stream mappings (Kinesis, DynamoDB Streams) are stored without being attached to their stream:
moto would deliver a mapped stream's records itself, and it looks a DynamoDB stream up in its own
DynamoDB, where a table of the stack is not (it lives in the DynamoDB process, item 8 of
cloudformation.py), so it would refuse the mapping.

Checked against moto 5.1.18 (moto-ext 5.1.18.post6, deploy/requirements/local-stack.lock).
Drop this file when never: the local Lambda service delivers, not moto.
"""

from moto.awslambda import models as awslambda
from moto.core.exceptions import RESTError
from moto.sqs import models as sqs


def _no_mappings(self):
    return {}


def _ignore(self, value):
    pass


# The queue forgets its mappings (moto's sender consults them); the mapping itself stays in the
# Lambda backend, where ListEventSourceMappings reads it.
sqs.Queue.lambda_event_source_mappings = property(_no_mappings, _ignore)
# SNS -> Lambda: the local Lambda service subscribes its own endpoint for each such subscription.
awslambda.LambdaBackend.send_sns_message = lambda self, *args, **kwargs: None


_create_event_source_mapping = awslambda.LambdaBackend.create_event_source_mapping


def _create_event_source_mapping_without_delivery(self, spec):
    source = spec.get("EventSourceArn") or ""
    if not (source.startswith("arn:aws:kinesis:") or source.startswith("arn:aws:dynamodb:")):
        return _create_event_source_mapping(self, spec)
    for param in ("EventSourceArn", "FunctionName"):
        if not spec.get(param):
            raise RESTError("InvalidParameterValueException", f"Missing {param}")
    function = self._lambdas.get_function_by_name_or_arn_with_qualifier(spec["FunctionName"])
    spec.update({"RegionName": self.region_name, "AccountId": self.account_id, "FunctionArn": function.function_arn})
    mapping = awslambda.EventSourceMapping(spec)
    self._event_source_mappings[mapping.uuid] = mapping
    return mapping


awslambda.LambdaBackend.create_event_source_mapping = _create_event_source_mapping_without_delivery
