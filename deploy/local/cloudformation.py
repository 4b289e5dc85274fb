"""The local CloudFormation engine: moto server, plus what sluice needs of it.

`sluice local up` deploys a SAM template to this server as `sam deploy` deploys to AWS. moto
implements CloudFormation and the services the template uses (S3, SNS, SQS, DynamoDB, KMS, IAM,
EC2, Secrets Manager, Lambda's control plane) in one process. What is added, each below:

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

import itertools
import json
import os
import sys
import threading
import time
from urllib.parse import quote_plus

import boto3
import requests

from moto.awslambda import models as awslambda
from moto.cloudformation import models as cloudformation
from moto.cloudformation import parsing as cloudformation_parsing
from moto.cloudformation.exceptions import ValidationError
from moto.core.common_models import CloudFormationModel
from moto.ec2 import models as ec2
from moto.ec2.models import elastic_ip_addresses as ec2_addresses
from moto.ec2.models import internet_gateways as ec2_internet_gateways
from moto.ec2.models import nat_gateways as ec2_nat_gateways
from moto.ec2.models import route_tables as ec2_route_tables
from moto.ec2.models import subnets as ec2_subnets
from moto.ec2.models import vpcs as ec2_vpcs
from moto.ec2.models import vpn_gateway as ec2_vpn_gateway
from moto.s3 import models as s3
from moto.s3 import notifications as s3_notifications
from moto.secretsmanager import models as secretsmanager
from moto.server import main as moto_server
from moto.sns import models as sns
from moto.sqs import models as sqs
from moto.sqs import responses as sqs_responses
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"


# ---------------------------------------------------------------- 1. the SAM transform
def declares_sam(template):
    declared = template.get("Transform")
    names = declared if isinstance(declared, list) else [declared]
    return SAM_TRANSFORM in names


def sam_transformed(body, parameters, account_id, region):
    """The template body, transformed when it declares SAM; parameters as the stack has them."""
    template = yaml_parse(body)
    if not isinstance(template, dict) or not declares_sam(template):
        return body
    values = {"AWS::Region": region, "AWS::AccountId": account_id, "AWS::Partition": "aws"}
    for name, spec in (template.get("Parameters") or {}).items():
        if "Default" in spec:
            values[name] = spec["Default"]
    values.update(parameters or {})
    try:
        translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=region))
        # Managed policies by name: none offline. ARNs (what SAM itself adds) need no lookup.
        output = translator.translate(template, parameter_values=values, get_managed_policy_map=dict)
    except InvalidDocumentException as e:
        # The same words CloudFormation answers with when its transform refuses a template.
        causes = " ".join(cause.message for cause in e.causes)
        raise ValidationError(message=f"Transform {SAM_TRANSFORM} failed with: {causes}") from e
    return json.dumps(output)


def parameter_values(parameters):
    """moto passes parameters as a dict, or as a list of ParameterKey/ParameterValue."""
    if isinstance(parameters, dict):
        return dict(parameters)
    return {p["ParameterKey"]: p.get("ParameterValue") for p in parameters or [] if "ParameterKey" in p}


def transforming(method, template_position):
    def wrapper(self, *args, **kwargs):
        args = list(args)
        if "template" in kwargs:
            parameters = parameter_values(kwargs.get("parameters"))
            kwargs["template"] = sam_transformed(kwargs["template"], parameters, self.account_id, self.region_name)
        elif len(args) > template_position:
            after = template_position + 1
            parameters = kwargs.get("parameters", args[after] if len(args) > after else None)
            args[template_position] = sam_transformed(
                args[template_position], parameter_values(parameters), self.account_id, self.region_name
            )
        return method(self, *args, **kwargs)

    return wrapper


Backend = cloudformation.CloudFormationBackend
Backend.create_stack = transforming(Backend.create_stack, 1)
Backend.create_change_set = transforming(Backend.create_change_set, 2)
Backend.update_stack = transforming(Backend.update_stack, 1)


# ---------------------------------------------------------------- 2. EventInvokeConfig
class FunctionEventInvokeConfig(CloudFormationModel):
    """AWS::Lambda::EventInvokeConfig, stored with moto's PutFunctionEventInvokeConfig."""

    # moto's model registry files a model under the service named in its module path.
    __module__ = "moto.awslambda.event_invoke_config"

    def __init__(self, function_name, qualifier, account_id, region_name):
        self.function_name = function_name
        self.qualifier = qualifier
        self.account_id = account_id
        self.region_name = region_name

    @staticmethod
    def cloudformation_type():
        return "AWS::Lambda::EventInvokeConfig"

    @staticmethod
    def cloudformation_name_type():
        return ""

    @property
    def physical_resource_id(self):
        return f"{self.function_name}:{self.qualifier}"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        config = {
            key: properties[key]
            for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
            if key in properties
        }
        for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds"):
            if key in config:
                config[key] = int(config[key])
        backend = awslambda.lambda_backends[account_id][region_name]
        backend.put_function_event_invoke_config(properties["FunctionName"], config)
        return cls(properties["FunctionName"], properties.get("Qualifier", "$LATEST"), account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        backend = awslambda.lambda_backends[account_id][region_name]
        try:
            backend.delete_function_event_invoke_config(cloudformation_json["Properties"]["FunctionName"])
        except Exception:  # the function went first: its configuration went with it
            pass

    def delete(self, account_id, region_name):
        self.delete_from_cloudformation_json(
            None, {"Properties": {"FunctionName": self.function_name}}, account_id, region_name
        )


def invoke_config_response(self):
    """The API's shape: LastModified is a timestamp in epoch seconds, not moto's ISO text."""
    response = {"FunctionArn": self.arn, "LastModified": time.time()}
    response.update(self.config)
    return response


awslambda.EventInvokeConfig.response = invoke_config_response


# ---------------------------------------------------------------- 3. no delivery by moto
def _no_mappings(self):
    return {}


def _ignore(self, value):
    pass


# The queue forgets its mappings (moto's sender consults them); the mapping itself stays in the
# Lambda backend, where ListEventSourceMappings reads it.
sqs.Queue.lambda_event_source_mappings = property(_no_mappings, _ignore)
# SNS -> Lambda: the local Lambda service subscribes its own endpoint for each such subscription.
awslambda.LambdaBackend.send_sns_message = lambda self, *args, **kwargs: None


# ---------------------------------------------------------------- 4. properties moto skips
class NamedByArn:
    """A resource whose physical ID (what `Ref` gives) is its ARN. A mixin: moto finds resource
    types among CloudFormationModel's direct subclasses only."""

    def __init__(self, arn, account_id, region_name):
        self.arn = arn
        self.account_id = account_id
        self.region_name = region_name

    @property
    def physical_resource_id(self):
        return self.arn

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        pass


class TopicSubscription(NamedByArn, CloudFormationModel):
    """AWS::SNS::Subscription: moto's Subscribe, then the attributes the resource sets."""

    __module__ = "moto.sns.subscription_resource"
    ATTRIBUTES = ("RawMessageDelivery", "FilterPolicy", "FilterPolicyScope", "RedrivePolicy", "DeliveryPolicy")

    @staticmethod
    def cloudformation_type():
        return "AWS::SNS::Subscription"

    @staticmethod
    def cloudformation_name_type():
        return ""

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        backend = sns.sns_backends[account_id][region_name]
        subscription = backend.subscribe(properties["TopicArn"], properties["Endpoint"], properties["Protocol"])
        # FilterPolicyScope first: moto validates the policy against the scope.
        for name in sorted(cls.ATTRIBUTES, key=lambda n: n != "FilterPolicyScope"):
            if name in properties:
                value = properties[name]
                if isinstance(value, (dict, list)):
                    value = json.dumps(value)
                elif isinstance(value, bool):
                    value = str(value).lower()
                backend.set_subscription_attributes(subscription.arn, name, str(value))
        return cls(subscription.arn, account_id, region_name)

    def delete(self, account_id, region_name):
        sns.sns_backends[account_id][region_name].unsubscribe(self.arn)


class GeneratedSecret(NamedByArn, CloudFormationModel):
    """AWS::SecretsManager::Secret: a SecretString, or one made by GenerateSecretString."""

    __module__ = "moto.secretsmanager.secret_resource"

    @staticmethod
    def cloudformation_type():
        return "AWS::SecretsManager::Secret"

    @staticmethod
    def cloudformation_name_type():
        return "Name"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        backend = secretsmanager.secretsmanager_backends[account_id][region_name]
        value = properties.get("SecretString")
        generate = properties.get("GenerateSecretString")
        if value is None and generate is not None:
            value = backend.get_random_password(
                password_length=int(generate.get("PasswordLength", 32)),
                exclude_characters=generate.get("ExcludeCharacters", ""),
                exclude_numbers=bool(generate.get("ExcludeNumbers", False)),
                exclude_punctuation=bool(generate.get("ExcludePunctuation", False)),
                exclude_uppercase=bool(generate.get("ExcludeUppercase", False)),
                exclude_lowercase=bool(generate.get("ExcludeLowercase", False)),
                include_space=bool(generate.get("IncludeSpace", False)),
                require_each_included_type=bool(generate.get("RequireEachIncludedType", True)),
            )
            value = json.loads(value)["RandomPassword"]
        created = backend.create_secret(
            name=properties.get("Name", resource_name),
            secret_string=value,
            secret_binary=None,
            description=properties.get("Description"),
            tags=properties.get("Tags"),
            kms_key_id=properties.get("KmsKeyId"),
            client_request_token=None,
            replica_regions=[],
            force_overwrite=False,
        )
        return cls(json.loads(created)["ARN"], account_id, region_name)

    def delete(self, account_id, region_name):
        secretsmanager.secretsmanager_backends[account_id][region_name].delete_secret(
            self.arn, recovery_window_in_days=None, force_delete_without_recovery=True
        )


_create_function = awslambda.LambdaFunction.create_from_cloudformation_json.__func__


def function_as_cloudformation_creates_it(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    properties = cloudformation_json["Properties"]
    variables = (properties.get("Environment") or {}).get("Variables")
    if variables:
        properties["Environment"]["Variables"] = {
            k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in variables.items()
        }
    function = _create_function(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    if properties.get("Architectures"):
        function.architectures = properties["Architectures"]
    function.logging_config = properties.get("LoggingConfig")
    return function


awslambda.LambdaFunction.create_from_cloudformation_json = classmethod(function_as_cloudformation_creates_it)
_get_configuration = awslambda.LambdaFunction.get_configuration


def configuration_with_logging(self, *args, **kwargs):
    configuration = _get_configuration(self, *args, **kwargs)
    if getattr(self, "logging_config", None):
        configuration["LoggingConfig"] = self.logging_config
    return configuration


awslambda.LambdaFunction.get_configuration = configuration_with_logging


def bucket_with_settings(create):
    def wrapper(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        bucket = create(resource_name, cloudformation_json, account_id, region_name, **kwargs)
        properties = cloudformation_json.get("Properties", {})
        backend = s3.s3_backends[account_id]["aws"]
        versioning = properties.get("VersioningConfiguration")
        if versioning:
            backend.put_bucket_versioning(bucket.name, versioning["Status"])
        notifications = properties.get("NotificationConfiguration")
        if notifications:
            # CloudFormation's shape to the API's (TopicConfigurations -> TopicConfiguration, ...).
            def api(configurations, target_key):
                out = []
                for c in configurations:
                    item = {target_key: c[target_key], "Event": [c["Event"]]}
                    rules = (c.get("Filter") or {}).get("S3Key", {}).get("Rules")
                    if rules:
                        item["Filter"] = {"S3Key": {"FilterRule": rules}}
                    out.append(item)
                return out

            bucket.set_notification_configuration(
                {
                    "TopicConfiguration": api(notifications.get("TopicConfigurations", []), "Topic"),
                    "QueueConfiguration": api(notifications.get("QueueConfigurations", []), "Queue"),
                }
            )
        return bucket

    return classmethod(wrapper)


s3.FakeBucket.create_from_cloudformation_json = bucket_with_settings(s3.FakeBucket.create_from_cloudformation_json)


# ---------------------------------------------------------------- 5. deliveries as AWS makes them
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


# ---------------------------------------------------------------- 6. conditions
_parse_condition = cloudformation_parsing.parse_condition


def parse_condition_as_cloudformation(condition, resources_map, condition_map):
    if isinstance(condition, dict) and list(condition) == ["Fn::Equals"]:
        left, right = (cloudformation_parsing.clean_json(v, resources_map) for v in condition["Fn::Equals"])

        def text(value):
            return str(value).lower() if isinstance(value, bool) else str(value)

        return text(left) == text(right)
    return _parse_condition(condition, resources_map, condition_map)


# Recursive calls look the name up in the module, so they get this one too.
cloudformation_parsing.parse_condition = parse_condition_as_cloudformation


# ---------------------------------------------------------------- 7. Elastic IPs
_addresses = itertools.cycle(range(10, 255))
_addresses_lock = threading.Lock()


def documentation_address():
    """The next of 192.0.2.10 to 192.0.2.254, round (.1 is the NAT link's internet side)."""
    with _addresses_lock:
        return f"192.0.2.{next(_addresses)}"


ec2_addresses.random_ip = documentation_address


# ---------------------------------------------------------------- 8. deleting a VPC
def ec2_backend(account_id, region_name):
    return ec2.ec2_backends[account_id][region_name]


def delete_route(self, account_id, region_name):
    ec2_backend(account_id, region_name).delete_route(self.route_table.id, self.destination_cidr_block)


def delete_association(self, account_id, region_name):
    backend = ec2_backend(account_id, region_name)
    table = backend.get_route_table(self.route_table_id)
    for association_id, target in list(table.associations.items()):
        if target == self.subnet_id:
            backend.disassociate_route_table(association_id)


def delete_route_table(self, account_id, region_name):
    ec2_backend(account_id, region_name).delete_route_table(self.id)


def delete_nat_gateway(self, account_id, region_name):
    backend = ec2_backend(account_id, region_name)
    for address in backend.addresses:
        if address.eni is self._eni:
            backend.disassociate_address(address=address.public_ip)
    backend.delete_network_interface(self._eni.id)
    backend.nat_gateways.pop(self.id, None)


def release_address(self, account_id, region_name):
    ec2_backend(account_id, region_name).release_address(address=self.public_ip)


def detach_gateway(self, account_id, region_name):
    backend = ec2_backend(account_id, region_name)
    if self.gateway_id in backend.internet_gateways:
        backend.detach_internet_gateway(self.gateway_id, self.vpc_id)


def delete_internet_gateway(self, account_id, region_name):
    ec2_backend(account_id, region_name).delete_internet_gateway(self.id)


def delete_vpc_endpoint(self, account_id, region_name):
    ec2_backend(account_id, region_name).delete_vpc_endpoints([self.id])


def tolerant(delete):
    """A delete that finds its resource gone already (a dependent delete took it) succeeds."""

    def wrapper(self, account_id, region_name):
        try:
            delete(self, account_id, region_name)
        except Exception as e:
            if "NotFound" in str(getattr(e, "error_type", "")) or isinstance(e, (KeyError, IndexError)):
                return
            raise

    return wrapper


for model, delete in [
    (ec2_route_tables.Route, delete_route),
    (ec2_subnets.SubnetRouteTableAssociation, delete_association),
    (ec2_route_tables.RouteTable, delete_route_table),
    (ec2_nat_gateways.NatGateway, delete_nat_gateway),
    (ec2_addresses.ElasticAddress, release_address),
    (ec2_vpn_gateway.VPCGatewayAttachment, detach_gateway),
    (ec2_internet_gateways.InternetGateway, delete_internet_gateway),
    (ec2_vpcs.VPCEndPoint, delete_vpc_endpoint),
]:
    model.delete = tolerant(delete)


# ---------------------------------------------------------------- 8. DynamoDB elsewhere
DYNAMODB_ENDPOINT = os.environ.get("SLUICE_DYNAMODB_ENDPOINT")


def dynamodb_client(region_name):
    return boto3.client(
        "dynamodb",
        endpoint_url=DYNAMODB_ENDPOINT,
        region_name=region_name,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def use_remote_tables():
    """Registers the table resource that lives at DYNAMODB_ENDPOINT (defined only when asked:
    moto files every CloudFormationModel subclass as a resource type)."""

    class RemoteTable(CloudFormationModel):
        """AWS::DynamoDB::Table, created through the DynamoDB endpoint's API."""

        __module__ = "moto.dynamodb.remote_table"

        def __init__(self, name, arn, stream_arn, region_name):
            self.name = name
            self.arn = arn
            self.stream_arn = stream_arn
            self.region_name = region_name

        @staticmethod
        def cloudformation_type():
            return "AWS::DynamoDB::Table"

        @staticmethod
        def cloudformation_name_type():
            return "TableName"

        @property
        def physical_resource_id(self):
            return self.name

        @classmethod
        def has_cfn_attr(cls, attr):
            return attr in ("Arn", "StreamArn")

        def get_cfn_attribute(self, attribute_name):
            if attribute_name == "Arn":
                return self.arn
            if attribute_name == "StreamArn" and self.stream_arn:
                return self.stream_arn
            from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

            raise UnformattedGetAttTemplateException()

        @classmethod
        def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
            properties = cloudformation_json["Properties"]
            request = {"TableName": properties.get("TableName", resource_name)}
            for key in (
                "AttributeDefinitions",
                "KeySchema",
                "BillingMode",
                "ProvisionedThroughput",
                "GlobalSecondaryIndexes",
                "LocalSecondaryIndexes",
                "StreamSpecification",
            ):
                if key in properties:
                    request[key] = properties[key]
            if request.get("StreamSpecification"):
                request["StreamSpecification"] = {"StreamEnabled": True, **request["StreamSpecification"]}
            client = dynamodb_client(region_name)
            table = client.create_table(**request)["TableDescription"]
            ttl = properties.get("TimeToLiveSpecification")
            if ttl and str(ttl.get("Enabled")).lower() == "true":
                client.update_time_to_live(
                    TableName=table["TableName"],
                    TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
                )
            return cls(table["TableName"], table["TableArn"], table.get("LatestStreamArn"), region_name)

        @classmethod
        def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
            pass

        def delete(self, account_id, region_name):
            dynamodb_client(region_name).delete_table(TableName=self.name)


if DYNAMODB_ENDPOINT:
    use_remote_tables()


if __name__ == "__main__":
    moto_server(sys.argv[1:])
