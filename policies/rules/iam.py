"""IAM: no admin wildcards, no broad AWS-managed policies, boundaries on roles, no access keys."""

from __future__ import annotations

import re
from typing import Any

from mlops_blueprint.policies.model import PolicyContext, ResourceView, Rule, is_unknown
from mlops_blueprint.policies.rules._helpers import IAM_ROLE, as_list, rule, short_type, statements

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
USER_POLICY = "aws:iam/userPolicy:UserPolicy"
GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
POLICY = "aws:iam/policy:Policy"
ATTACHMENT_TYPES = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
)
ACCESS_KEY = "aws:iam/accessKey:AccessKey"

WILDCARD_ACTIONS = frozenset({"*", "*:*"})
# AWS-managed (account "aws", any partition/path) *FullAccess* and AdministratorAccess* policies.
BROAD_MANAGED_POLICY = re.compile(
    r"^arn:aws[a-z-]*:iam::aws:policy/(?:[^/]+/)*(?:AdministratorAccess[^/]*|[^/]*FullAccess[^/]*)$"
)
BOUNDARY_CONFIG_KEY = "permissionsBoundaryArn"


def _is_admin_wildcard(statement: dict[str, Any]) -> bool:
    """Allow of every action on every resource."""
    return (
        statement.get("Effect", "Allow") == "Allow"
        and any(action in WILDCARD_ACTIONS for action in as_list(statement.get("Action")))
        and "*" in as_list(statement.get("Resource"))
    )


def _documents(resource: ResourceView) -> list[tuple[str, Any]]:
    """(label, policy JSON) of every policy document ``resource`` defines."""
    if resource.type == IAM_ROLE:
        inline = resource.props.get("inlinePolicies")
        return [
            (f"inline policy '{p.get('name', i)}'", p.get("policy"))
            for i, p in enumerate(as_list(None if is_unknown(inline) else inline))
            if isinstance(p, dict)
        ]
    return [("policy", resource.props.get("policy"))]


def _no_admin_wildcard(resource: ResourceView, ctx: PolicyContext) -> list[str]:
    return [
        f"{label} of {short_type(resource.type)} '{resource.name}' allows Action '*' on Resource '*'; "
        "grant the specific actions on this stack's ARNs"
        for label, document in _documents(resource)
        if any(_is_admin_wildcard(s) for s in statements(document))
    ]


def _no_broad_managed_policies(resource: ResourceView, ctx: PolicyContext) -> list[str]:
    arns = resource.props.get("managedPolicyArns" if resource.type == IAM_ROLE else "policyArn")
    return [
        f"{short_type(resource.type)} '{resource.name}' attaches AWS-managed policy {arn}; "
        "use a customer policy scoped to this stack's resources"
        for arn in as_list(None if is_unknown(arns) else arns)
        if isinstance(arn, str) and BROAD_MANAGED_POLICY.match(arn)
    ]


def _permissions_boundary(resource: ResourceView, ctx: PolicyContext) -> list[str]:
    expected = ctx.permissions_boundary_arn
    actual = resource.props.get("permissionsBoundary")
    if not expected or is_unknown(actual) or actual == expected:
        return []
    found = f"has {actual}" if actual else "has none"
    return [f"role '{resource.name}' must use permissions boundary {expected} ({found})"]


def _no_access_keys(resource: ResourceView, ctx: PolicyContext) -> list[str]:
    return [
        f"access key '{resource.name}' creates a long-lived IAM user credential; "
        "use roles (IRSA, instance profiles, OIDC federation) instead"
    ]


RULES: tuple[Rule, ...] = (
    rule("iam-no-admin-wildcard", "No IAM policy allows Action '*' (or '*:*') on Resource '*'.",
         _no_admin_wildcard, IAM_ROLE, ROLE_POLICY, USER_POLICY, GROUP_POLICY, POLICY),
    rule("iam-no-aws-full-access-policies",
         "No AWS-managed *FullAccess or AdministratorAccess policy is attached to a principal.",
         _no_broad_managed_policies, IAM_ROLE, *ATTACHMENT_TYPES),
    rule("iam-role-permissions-boundary",
         "When the organisation sets a permissions boundary, every role uses exactly it.",
         _permissions_boundary, IAM_ROLE,
         config_schema={BOUNDARY_CONFIG_KEY: {"type": "string", "description": "ARN every role must use"}}),
    rule("iam-no-access-keys",
         "No IAM access keys: workloads and people authenticate with roles, not static secrets.",
         _no_access_keys, ACCESS_KEY),
)
