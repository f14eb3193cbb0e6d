"""Linter suppressions, each with its reason, written into the template metadata.

cfn-lint and checkov read `Metadata` on a resource; a finding is only ever silenced here, with a
sentence saying why it does not apply, so a reviewer can judge every one of them.
"""

from __future__ import annotations

from aws_cdk import CfnResource, Stack
from constructs import IConstruct

# cfn-lint findings ignored for a whole template, and why.
TEMPLATE_IGNORES = {
    "I1022": "CDK writes string concatenation as Fn::Join with an empty delimiter, which is "
    "equivalent to the Fn::Sub this informational check prefers.",
}


def template_findings(stack: Stack) -> None:
    """Record the template-wide cfn-lint ignores, with their reasons beside them."""
    stack.template_options.metadata = {
        "cfn-lint": {"config": {"ignore_checks": sorted(TEMPLATE_IGNORES)}},
        "SuppressionReasons": TEMPLATE_IGNORES,
    }


def skip_checkov(construct: IConstruct, check: str, reason: str) -> None:
    """Add `{id, comment}` to the resource's checkov skip list."""
    resource = _resource(construct)
    metadata = resource.get_metadata("checkov") or {"skip": []}
    metadata["skip"].append({"id": check, "comment": reason})
    resource.add_metadata("checkov", metadata)


def _resource(construct: IConstruct) -> CfnResource:
    if isinstance(construct, CfnResource):
        return construct
    child = construct.node.default_child
    if not isinstance(child, CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource")
    return child
