"""DynamoDB in a process of its own (`SLUICE_DYNAMODB_ENDPOINT`, another moto server): the
engine creates and deletes `AWS::DynamoDB::Table` resources through that endpoint's API, as
CloudFormation calls DynamoDB's. Idempotency records are the pipeline's busiest API; sharing
one Python process (one GIL) with S3, SNS and SQS, they held the whole stack to about 150
requests a second.

Checked against moto 5.1.18 (moto-ext 5.1.18.post6, deploy/requirements/local-stack.lock).
Drop this file when never while DynamoDB runs in a process of its own.
"""

import os

import boto3

from moto.core.common_models import CloudFormationModel


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
