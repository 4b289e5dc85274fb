"""Resources and properties moto's CloudFormation skips, which the pipeline depends on:
`AWS::SNS::Subscription` and `AWS::SecretsManager::Secret` (types moto lacks), a bucket's
`VersioningConfiguration` and `NotificationConfiguration`, and a function's `Architectures`
and `LoggingConfig`; environment values are strings, as CloudFormation passes them to Lambda.

Checked against moto 5.1.18 (moto-ext 5.1.18.post6, deploy/requirements/local-stack.lock).
Drop this file when moto creates these resource types and properties from CloudFormation.
"""

import json

from moto.awslambda import models as awslambda
from moto.core.common_models import CloudFormationModel
from moto.s3 import models as s3
from moto.secretsmanager import models as secretsmanager
from moto.sns import models as sns


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
