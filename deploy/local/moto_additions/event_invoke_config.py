"""`AWS::Lambda::EventInvokeConfig` as a CloudFormation resource. moto has the API
(PutFunctionEventInvokeConfig) but no resource type, so SAM's EventInvokeConfig would be
skipped; here it is created through that API, with references resolved by the engine.

Checked against moto 5.1.18 (moto-ext 5.1.18.post6, deploy/requirements/local-stack.lock).
Drop this file when moto has an `AWS::Lambda::EventInvokeConfig` resource type.
"""

import time

from moto.awslambda import models as awslambda
from moto.core.common_models import CloudFormationModel


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
