"""IAM policy documents as Python dicts, serialized once.

Components build statements with these helpers and render them with :func:`render`, which waits
for the ARNs they reference (``Output.all(...).apply``) and emits stable JSON (sorted keys), so
plans and diffs do not churn.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pulumi

Statement = dict[str, Any]


def statement(
    sid: str,
    actions: Sequence[str],
    resources: Sequence[str] | str | None,
    *,
    effect: str = "Allow",
    principals: Mapping[str, Any] | None = None,
    conditions: Mapping[str, Mapping[str, Any]] | None = None,
) -> Statement:
    """One statement; ``resources`` is a list of ARNs, ``"*"`` for actions that take no resource,
    or None for trust policies (which name a principal instead)."""
    result: Statement = {"Sid": sid, "Effect": effect, "Action": sorted(set(actions))}
    if principals is not None:
        result["Principal"] = dict(principals)
    if resources is not None:
        result["Resource"] = resources if isinstance(resources, str) else sorted(set(resources))
    if conditions:
        result["Condition"] = {op: dict(values) for op, values in conditions.items()}
    return result


def document(*statements: Statement) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def to_json(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, sort_keys=True)


def render(build: Callable[..., Mapping[str, Any]], *inputs: pulumi.Input[Any]) -> pulumi.Output[str]:
    """``build(*resolved_inputs)`` -> JSON text, once every input ARN is known."""
    return pulumi.Output.all(*inputs).apply(lambda values: to_json(build(*values)))


def assume_role_policy(service: str, *, source_account: str | None = None) -> dict[str, Any]:
    """Trust for one AWS service; ``source_account`` guards against the confused deputy."""
    conditions = {"StringEquals": {"aws:SourceAccount": source_account}} if source_account else None
    return document(
        statement("TrustService", ["sts:AssumeRole"], None, principals={"Service": service}, conditions=conditions)
    )


def deny_insecure_transport(resource_arns: Sequence[str]) -> Statement:
    """Deny any request not made over TLS (for bucket and topic policies)."""
    return statement(
        "DenyInsecureTransport",
        ["s3:*"],
        resource_arns,
        effect="Deny",
        principals={"AWS": "*"},
        conditions={"Bool": {"aws:SecureTransport": "false"}},
    )


def in_region(region: str) -> dict[str, dict[str, str]]:
    """For actions that take no resource ARN: at least keep them to one region."""
    return {"StringEquals": {"aws:RequestedRegion": region}}


def vpc_interface_statements(region: str) -> list[Statement]:
    """The ENIs SageMaker attaches to run jobs and endpoints in a VPC. These actions take no
    resource-level ARNs SageMaker could know in advance: "*" within the region."""
    return [
        statement("VpcNetworkInterfaces", [
            "ec2:CreateNetworkInterface", "ec2:CreateNetworkInterfacePermission",
            "ec2:DeleteNetworkInterface", "ec2:DeleteNetworkInterfacePermission",
        ], "*", conditions=in_region(region)),
        statement("VpcDescribe", [
            "ec2:DescribeDhcpOptions", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups",
            "ec2:DescribeSubnets", "ec2:DescribeVpcs",
        ], "*", conditions=in_region(region)),
    ]
