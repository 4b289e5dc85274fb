"""The SAM transform. CloudFormation runs `AWS::Serverless-2016-10-31` server-side; moto does not,
so a template that declares it is transformed here with samtranslator (the library `sam
validate` and CloudFormation use), offline, with the stack's parameter values.

Checked against moto 5.1.18 (moto-ext 5.1.18.post6, deploy/requirements/local-stack.lock).
Drop this file when moto runs the `AWS::Serverless-2016-10-31` transform itself.
"""

import json

import boto3

from moto.cloudformation import models as cloudformation
from moto.cloudformation.exceptions import ValidationError
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse


SAM_TRANSFORM = "AWS::Serverless-2016-10-31"

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
