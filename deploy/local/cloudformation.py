"""The local CloudFormation engine: moto server, plus what sluice needs of it.

`sluice local up` deploys a SAM template to this server as `sam deploy` deploys to AWS. moto
implements CloudFormation and the services the template uses (S3, SNS, SQS, DynamoDB, KMS, IAM,
EC2, Secrets Manager, Lambda's control plane) in one process. What is added is one module per
addition under moto_additions/, each with its reason and the moto version it was checked against,
so that each can be dropped when moto gains it:

1. The SAM transform. CloudFormation runs `AWS::Serverless-2016-10-31` server-side; moto does not,
   so a template that declares it is transformed here with samtranslator (the library `sam
   validate` and CloudFormation use), offline, with the stack's parameter values.
2. `AWS::Lambda::EventInvokeConfig` as a CloudFormation resource. moto has the API
   (PutFunctionEventInvokeConfig) but no resource type, so SAM's EventInvokeConfig would be
   skipped; here it is created through that API, with references resolved by the engine.
3. moto's own Lambda delivery is off. moto would invoke functions itself (in Docker) when a
   message reaches a mapped queue or a subscribed topic: it would receive the message (counting a
   receive towards the redrive policy) and fail. The local Lambda service reads the mappings and
   subscriptions from the stack and runs them instead.
4. Resources and properties moto's CloudFormation skips, which the pipeline depends on:
   `AWS::SNS::Subscription` and `AWS::SecretsManager::Secret` (types moto lacks), a bucket's
   `VersioningConfiguration` and `NotificationConfiguration`, and a function's `Architectures`
   and `LoggingConfig`; environment values are strings, as CloudFormation passes them to Lambda.
5. Deliveries as AWS makes them: S3 event records carry `versionId` and `sequencer` and are
   published with the subject "Amazon S3 Notification"; HTTP subscribers get the
   `x-amz-sns-*` headers (S3 User Guide, notification-content-structure; SNS Developer Guide,
   sns-message-and-json-formats). SQS takes messages up to 1 MiB, its quota since August 2025
   (moto's model says so, its SendMessage handler still refuses over 256 KiB).

6. Conditions as CloudFormation evaluates them: `Fn::Equals` compares text (parameter values are
   strings), where moto compares its typed values, so `!Equals [!Ref SomeNumber, "0"]` held
   for 0 is false in moto.
7. Elastic IPs from 192.0.2.0/24 (RFC 5737, documentation), where moto draws any address: the
   local Lambda service's NAT gateway leaves from the stack's `StaticEgressIp` output, and no
   real address is ever used.
8. DynamoDB in a process of its own (`SLUICE_DYNAMODB_ENDPOINT`, another moto server): the
   engine creates and deletes `AWS::DynamoDB::Table` resources through that endpoint's API, as
   CloudFormation calls DynamoDB's. Idempotency records are the pipeline's busiest API; sharing
   one Python process (one GIL) with S3, SNS and SQS, they held the whole stack to about 150
   requests a second.
9. `DeleteStack` of a VPC: moto's CloudFormation cannot delete routes, route table associations,
   route tables, NAT gateways, Elastic IPs, internet gateways and their attachments, or VPC
   endpoints, so the VPC stays behind with a DependencyViolation; each gets its delete here.

Resource policies, alarms and log groups are accepted and not created (moto has no such resource
types); moto does not enforce IAM, so what a role allows is checked statically
(app/sluice-harness/tests/template.rs).

Usage: python cloudformation.py -H 127.0.0.1 -p 4567   (the arguments of moto_server)
"""

import sys

# Each module patches moto when imported; the order is the numbering above.
from moto_additions import (  # noqa: F401
    sam_transform,
    event_invoke_config,
    no_moto_delivery,
    subscriptions_and_secrets,
    delivery_shape,
    conditions,
    documentation_addresses,
    remote_dynamodb,
    vpc_deletion,
)
from moto.server import main as moto_server

if __name__ == "__main__":
    moto_server(sys.argv[1:])
