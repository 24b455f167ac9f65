"""IAM rules: wildcard detection across document shapes and resource types, managed-policy ARNs."""

from __future__ import annotations

import json

import pytest

from mlops_blueprint.policies.model import UNKNOWN
from support.policies import run, view

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POLICY = "aws:iam/policy:Policy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
BOUNDARY = "arn:aws:iam::123456789012:policy/platform-boundary"


def doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.mark.parametrize("type_", [ROLE_POLICY, POLICY])
def test_admin_wildcard_in_standalone_policies(type_: str) -> None:
    resource = view(type_, "escalate", {"policy": doc({"Effect": "Allow", "Action": ["s3:GetObject", "*:*"],
                                                       "Resource": ["*"]})})
    findings = run("iam-no-admin-wildcard", [resource])
    assert [f.urn for f in findings] == [resource.urn]
    assert f"policy of {type_.rsplit(':', 1)[1]} 'escalate' allows Action '*'" in findings[0].message


def test_single_statement_object_is_read() -> None:
    policy = json.dumps({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}})
    assert len(run("iam-no-admin-wildcard", [view(POLICY, "p", {"policy": policy})])) == 1


@pytest.mark.parametrize("statement", [
    {"Effect": "Deny", "Action": "*", "Resource": "*"},
    {"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::models/*"},
    {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
])
def test_non_admin_statements_pass(statement: dict) -> None:
    assert run("iam-no-admin-wildcard", [view(POLICY, "p", {"policy": doc(statement)})]) == []


@pytest.mark.parametrize("policy", [UNKNOWN, "not json"])
def test_unreadable_policy_is_not_judged(policy: object) -> None:
    assert run("iam-no-admin-wildcard", [view(ROLE_POLICY, "p", {"policy": policy})]) == []


@pytest.mark.parametrize("arn", [
    "arn:aws:iam::aws:policy/AdministratorAccess",
    "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess",
    "arn:aws-us-gov:iam::aws:policy/AmazonS3FullAccess",
    "arn:aws:iam::aws:policy/AdministratorAccess-Amplify",
])
def test_broad_managed_policies_on_a_role_are_reported(arn: str) -> None:
    role = view(ROLE, "training-role", {"managedPolicyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess", arn]})
    findings = run("iam-no-aws-full-access-policies", [role])
    assert [f.message.split(";")[0] for f in findings] == [
        f"Role 'training-role' attaches AWS-managed policy {arn}"]


@pytest.mark.parametrize("arn", [
    "arn:aws:iam::aws:policy/ReadOnlyAccess",
    "arn:aws:iam::123456789012:policy/TeamFullAccess",  # customer-managed: reviewed in this repo
    "arn:aws:iam::aws:policy/service-role/AmazonSageMakerServiceCatalogProductsUseRole",
])
def test_other_policies_are_allowed(arn: str) -> None:
    assert run("iam-no-aws-full-access-policies", [view(ATTACHMENT, "a", {"role": "r", "policyArn": arn})]) == []


def test_boundary_is_only_required_when_configured() -> None:
    role = view(ROLE, "training-role", {"assumeRolePolicy": "{}"})
    assert run("iam-role-permissions-boundary", [role], boundary=None) == []


def test_wrong_boundary_names_both_arns() -> None:
    role = view(ROLE, "training-role", {"permissionsBoundary": "arn:aws:iam::123456789012:policy/other"})
    findings = run("iam-role-permissions-boundary", [role], boundary=BOUNDARY)
    assert [f.message for f in findings] == [
        f"role 'training-role' must use permissions boundary {BOUNDARY} "
        "(has arn:aws:iam::123456789012:policy/other)"]


def test_access_key_rule_ignores_other_iam_resources() -> None:
    resources = [view(ROLE, "r", {}), view("aws:iam/user:User", "u", {}), view(POLICY, "p", {"policy": doc()})]
    assert run("iam-no-access-keys", resources) == []
