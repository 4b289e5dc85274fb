"""Conditions as CloudFormation evaluates them: `Fn::Equals` compares text (parameter values are
strings), where moto compares its typed values, so `!Equals [!Ref SomeNumber, "0"]` held
for 0 is false in moto.

Checked against moto 5.1.18 (moto-ext 5.1.18.post6, deploy/requirements/local-stack.lock).
Drop this file when moto compares `Fn::Equals` operands as text.
"""

from moto.cloudformation import parsing as cloudformation_parsing


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
