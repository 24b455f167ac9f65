"""PlatformRoles under the mock runtime, for its tests: the component with literal ARNs, and its
policies read the way IAM would (action and resource wildcards expanded with ``fnmatch``,
case-insensitive for actions, as IAM does), so a wildcard that silently grants a forbidden action
fails the test."""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase
from typing import Any

import pulumi

from mlops_blueprint.components.platform_roles import PlatformRoles, PlatformRolesArgs
from mlops_blueprint.components.platform_roles_settings import CiSettings, PlatformRolesSettings
from mlops_blueprint.context import StackContext
from mlops_blueprint.mock_runtime import MOCK_ACCOUNT_ID, MockRun, Registration, run_program

COMPONENT = "mlops:iam:PlatformRoles"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POLICY = "aws:iam/policy:Policy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
OIDC = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"

ACCOUNT = MOCK_ACCOUNT_ID
DATA_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/data-key"
LOGS_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/logs-key"
DATASETS = f"arn:aws:s3:::mlops-platform-dev-datasets-{ACCOUNT}-us-east-1"
MODELS = f"arn:aws:s3:::mlops-platform-dev-models-{ACCOUNT}-us-east-1"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/platform-boundary"
STATE = "arn:aws:s3:::acme-pulumi-state"
GITHUB_OIDC = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
SAGEMAKER_ROLES = ("training", "serving", "tracking", "pipelines")
CI_ROLES = ("ci-preview", "ci-deploy")
GITHUB = {"ci_provider": "github", "ci_repository": "acme/ml-platform", "ci_deploy_branch": "release"}
GITLAB = {"ci_provider": "gitlab", "ci_repository": "acme/ml/platform", "gitlab_url": "https://gitlab.example.com"}
JENKINS = {"ci_provider": "jenkins", "ci_repository": "platform/mlops-blueprint", "jenkins_url": "https://ci.example.com"}
PULUMI = {"ci_provider": "pulumi", "ci_repository": "acme/mlops-platform"}

# Actions a read-only CI role must never get, by any wildcard: data, not metadata.
DATA_PLANE_READS = (
    "s3:GetObject", "s3:GetObjectVersion", "secretsmanager:GetSecretValue", "kms:Decrypt",
    "logs:GetLogEvents", "logs:FilterLogEvents", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
    "sagemaker:GetRecord", "ec2:GetPasswordData", "ec2:GetConsoleOutput", "cloudtrail:GetQueryResults",
)
WRITE_ACTIONS = ("s3:PutObject", "iam:CreateRole", "iam:PutRolePolicy", "kms:CreateKey", "ec2:CreateVpc")
# The tests' keyword names of the ``iam.ci`` settings; with ``permissions_boundary_arn`` they are the
# settings, every other keyword is wiring.
CI_KEYS = {"ci_provider": "provider", "ci_repository": "repository", "ci_deploy_branch": "deploy_branch",
           "ci_oidc_provider_arn": "oidc_provider_arn", "gitlab_url": "gitlab_url", "jenkins_url": "jenkins_url",
           "jenkins_issuer_url": "jenkins_issuer_url"}


def roles_args(ctx: StackContext, **values: Any) -> PlatformRolesArgs:
    ci = {CI_KEYS[key]: values.pop(key) for key in list(values) if key in CI_KEYS}
    settings = PlatformRolesSettings(permissions_boundary_arn=values.pop("permissions_boundary_arn", None),
                                     ci=CiSettings(**ci))
    return PlatformRolesArgs(context=ctx, settings=settings, **values)


def build(ctx: StackContext, **kwargs: Any) -> MockRun:
    """Run one PlatformRoles (literal ARNs unless overridden) and export its public attributes."""
    values: dict[str, Any] = {
        "data_key_arn": DATA_KEY, "logs_key_arn": LOGS_KEY, "datasets_bucket_arn": DATASETS, "models_bucket_arn": MODELS,
    }
    values.update(kwargs)

    def program() -> None:
        roles = PlatformRoles("roles", roles_args(ctx, **values))
        export(roles)

    return run_program(program, stack=ctx.environment, project="mlops-platform", region=ctx.region)


def export(roles: PlatformRoles) -> None:
    for attribute in ("training", "serving", "tracking", "pipelines", "ci_preview", "ci_deploy"):
        value = getattr(roles, f"{attribute}_role_arn")
        if value is not None:
            pulumi.export(attribute, value)
    # The engine drops None exports: record which were None, and the role_arns keys.
    pulumi.export("none", [a for a in ("ci_preview_role_arn", "ci_deploy_role_arn", "oidc_provider_arn")
                           if getattr(roles, a) is None])
    pulumi.export("role_arns", roles.role_arns)


# -- reading policies as IAM would ---------------------------------------------------------------


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role(run: MockRun, purpose: str) -> Registration:
    return run.named(ROLE, f"roles-{purpose}")


def trust(run: MockRun, purpose: str) -> dict[str, Any]:
    return json.loads(role(run, purpose).inputs["assumeRolePolicy"])


def policies_of(run: MockRun, purpose: str) -> list[dict[str, Any]]:
    """Every permission policy in effect for the role: inline and attached managed."""
    name = role(run, purpose).inputs["name"]
    docs = [json.loads(p.inputs["policy"]) for p in run.of_type(ROLE_POLICY) if p.inputs["role"] == name]
    managed = {p.outputs["arn"]: p for p in run.of_type(POLICY)}
    for attachment in run.of_type(ATTACHMENT):
        if attachment.inputs["role"] == name:
            docs.append(json.loads(managed[attachment.inputs["policyArn"]].inputs["policy"]))
    return docs


def statements(docs: list[dict[str, Any]], effect: str = "Allow") -> list[dict[str, Any]]:
    return [s for doc in docs for s in doc["Statement"] if s["Effect"] == effect]


def action_matches(pattern: str, action: str) -> bool:
    return fnmatchcase(action.lower(), pattern.lower())


def granting(docs: list[dict[str, Any]], action: str, effect: str = "Allow") -> list[dict[str, Any]]:
    """Statements whose Action (wildcards expanded) covers ``action``."""
    return [s for s in statements(docs, effect) if any(action_matches(p, action) for p in as_list(s["Action"]))]


def resources_for(docs: list[dict[str, Any]], action: str) -> set[str]:
    """Resources ``action`` may act on: an action only ever applies to its own service's ARNs."""
    service = action.split(":")[0]
    return {r for s in granting(docs, action) for r in as_list(s["Resource"])
            if r == "*" or r.split(":")[2] == service}


def all_policy_docs(run: MockRun) -> list[dict[str, Any]]:
    return [json.loads(r.inputs["policy"]) for r in run.of_type(ROLE_POLICY) + run.of_type(POLICY)]


def iam_size(text: str) -> int:
    """How IAM counts policy size: characters, whitespace excluded."""
    return len(re.sub(r"\s", "", text))


def role_arn(run: MockRun, purpose: str) -> str:
    return role(run, purpose).outputs["arn"]
