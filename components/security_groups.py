"""Security groups and their rules, written one way by every component: named by naming, tagged as
the owning component's, and each rule a resource of its own (the pulumi-aws v7 recommendation: a
stack can add a rule, e.g. egress to a database's group, without rewriting the group).

Callers pass their ``context``, ``component`` and children's ``opts`` to both functions (e.g. as
one ``owner`` mapping)."""

from __future__ import annotations

from typing import Literal

import pulumi
import pulumi_aws as aws

from mlops_blueprint.context import StackContext

HTTPS = 443


def _tags(context: StackContext, component: str, purpose: str) -> dict[str, str]:
    return context.tagging.resource(component, context.naming.name(purpose))


def security_group(logical_name: str, *, context: StackContext, component: str, purpose: str, description: str,
                   vpc_id: pulumi.Input[str], opts: pulumi.ResourceOptions) -> aws.ec2.SecurityGroup:
    """``aws.ec2.SecurityGroup`` ``<project>-<env>-<purpose>``, with no rules of its own."""
    return aws.ec2.SecurityGroup(logical_name, name=context.naming.name(purpose), description=description,
                                 vpc_id=vpc_id, tags=_tags(context, component, purpose), opts=opts)


def security_group_rule(
    logical_name: str,
    direction: Literal["ingress", "egress"],
    *,
    context: StackContext,
    component: str,
    purpose: str,
    security_group_id: pulumi.Input[str],
    description: str,
    opts: pulumi.ResourceOptions,
    port: int | None = None,
    cidr_ipv4: pulumi.Input[str] | None = None,
    referenced_security_group_id: pulumi.Input[str] | None = None,
    prefix_list_id: pulumi.Input[str] | None = None,
) -> aws.vpc.SecurityGroupIngressRule | aws.vpc.SecurityGroupEgressRule:
    """One rule: TCP on ``port`` (None: all traffic) to or from exactly one peer (a CIDR, a
    security group or a prefix list); tagged ``<project>-<env>-<purpose>``."""
    peers = {key: value for key, value in (("cidr_ipv4", cidr_ipv4),
                                           ("referenced_security_group_id", referenced_security_group_id),
                                           ("prefix_list_id", prefix_list_id)) if value is not None}
    if len(peers) != 1:
        raise ValueError(f"security group rule {logical_name!r}: set exactly one of cidr_ipv4, "
                         f"referenced_security_group_id or prefix_list_id (got {', '.join(peers) or 'none'})")
    protocol: dict[str, str | int] = {"ip_protocol": "-1"} if port is None else {
        "ip_protocol": "tcp", "from_port": port, "to_port": port}
    rule = aws.vpc.SecurityGroupIngressRule if direction == "ingress" else aws.vpc.SecurityGroupEgressRule
    return rule(logical_name, security_group_id=security_group_id, description=description, **protocol, **peers,
                tags=_tags(context, component, purpose), opts=opts)
