"""moto's own Lambda delivery is off. moto would invoke functions itself (in Docker) when a
message reaches a mapped queue or a subscribed topic: it would receive the message (counting a
receive towards the redrive policy) and fail. The local Lambda service reads the mappings and
subscriptions from the stack and runs them instead.

Checked against moto 5.1.18 (moto-ext 5.1.18.post6, deploy/requirements/local-stack.lock).
Drop this file when never: the local Lambda service delivers, not moto.
"""

from moto.awslambda import models as awslambda
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
