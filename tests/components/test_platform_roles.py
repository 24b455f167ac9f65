"""PlatformRoles: least-privilege SageMaker roles and OIDC-trusted CI roles, checked on the policy JSON.

Every policy the component registers (inline RolePolicy and our managed Policy) is parsed and
checked the way IAM would read it: action and resource wildcards are expanded with ``fnmatch``
(case-insensitive for actions, as IAM does), so a wildcard that silently grants a forbidden action
fails the test.
"""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from moto.iam.access_control import IAMPolicy, PermissionResult

from mlops_blueprint.components.platform_roles import (
    INLINE_POLICY_LIMIT,
    MANAGED_POLICY_LIMIT,
    MLFLOW_WRITER_ROLES,
    MlflowAccess,
    PlatformRoles,
    PlatformRolesArgs,
    mlflow_statements,
)
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

# Actions a read-only CI role must never get, by any wildcard: data, not metadata.
DATA_PLANE_READS = (
    "s3:GetObject", "s3:GetObjectVersion", "secretsmanager:GetSecretValue", "kms:Decrypt",
    "logs:GetLogEvents", "logs:FilterLogEvents", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
    "sagemaker:GetRecord", "ec2:GetPasswordData", "ec2:GetConsoleOutput", "cloudtrail:GetQueryResults",
)
WRITE_ACTIONS = ("s3:PutObject", "iam:CreateRole", "iam:PutRolePolicy", "kms:CreateKey", "ec2:CreateVpc")


def build(ctx: StackContext, **kwargs: Any) -> MockRun:
    """Run one PlatformRoles (literal ARNs unless overridden) and export its public attributes."""
    values: dict[str, Any] = {
        "data_key_arn": DATA_KEY, "logs_key_arn": LOGS_KEY, "datasets_bucket_arn": DATASETS, "models_bucket_arn": MODELS,
    }
    values.update(kwargs)

    def program() -> None:
        roles = PlatformRoles("roles", PlatformRolesArgs(context=ctx, **values))
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


CONFIGS = {
    "no-ci": {},
    "no-ci-boundary": {"permissions_boundary_arn": BOUNDARY},
    "github": GITHUB,
    "github-boundary-state": {**GITHUB, "permissions_boundary_arn": BOUNDARY, "state_bucket_arn": STATE},
    "gitlab-existing-provider": {**GITLAB, "ci_oidc_provider_arn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/gitlab.example.com"},
}


@pytest.fixture(params=sorted(CONFIGS))
def any_run(request, dev_context) -> MockRun:
    return build(dev_context, **CONFIGS[request.param])


# -- guardrails on every policy ------------------------------------------------------------------


def test_no_allow_grants_all_actions_of_a_service_on_every_resource(any_run):
    docs = all_policy_docs(any_run)
    assert docs
    for s in statements(docs):
        assert "NotAction" not in s and "NotResource" not in s, s
        actions = as_list(s["Action"])
        assert "*" not in actions and "*:*" not in actions, s
        if "*" in as_list(s["Resource"]):
            assert not [a for a in actions if re.fullmatch(r"[\w-]+:\*", a)], s


def test_no_aws_managed_policy_is_attached(any_run):
    own_policies = {p.outputs["arn"] for p in any_run.of_type(POLICY)}
    for r in any_run.of_type(ROLE):
        assert not r.inputs.get("managedPolicyArns"), r.name
    for attachment in any_run.of_type(ATTACHMENT):
        arn = attachment.inputs["policyArn"]
        assert arn in own_policies, arn
        assert ":aws:policy/" not in arn and not re.search(r"FullAccess|AdministratorAccess|PowerUser", arn)


def test_sids_are_valid_and_unique_per_document(any_run):
    for doc in all_policy_docs(any_run) + [json.loads(r.inputs["assumeRolePolicy"]) for r in any_run.of_type(ROLE)]:
        sids = [s["Sid"] for s in doc["Statement"]]
        assert all(re.fullmatch(r"[A-Za-z0-9]+", sid) for sid in sids), sids
        assert len(sids) == len(set(sids)), sids


def test_every_child_is_parented_named_and_tagged(any_run, dev_context):
    component = any_run.named(COMPONENT, "roles")
    children = [r for r in any_run.registrations if r.type not in (COMPONENT, "pulumi:pulumi:Stack")]
    assert children and all(r.parent == component.urn for r in children)
    for r in any_run.of_type(ROLE):
        purpose = r.name.removeprefix("roles-")
        assert r.inputs["name"] == dev_context.naming.role(purpose)
        assert r.inputs["maxSessionDuration"] == 3600
        assert r.inputs["tags"] == {"component": "platform-roles", "Name": r.inputs["name"]}


def test_boundary_is_on_every_role_when_configured(dev_context):
    with_boundary = build(dev_context, **GITHUB, permissions_boundary_arn=BOUNDARY)
    assert len(with_boundary.of_type(ROLE)) == 6
    assert all(r.inputs.get("permissionsBoundary") == BOUNDARY for r in with_boundary.of_type(ROLE))
    without = build(dev_context, **GITHUB)
    assert len(without.of_type(ROLE)) == 6
    assert all(not r.inputs.get("permissionsBoundary") for r in without.of_type(ROLE))


def test_policies_fit_iam_size_limits(context_for):
    # The longest environment name, a boundary and a state bucket make the largest documents.
    run = build(context_for("staging", region="ap-southeast-2"), **GITHUB, permissions_boundary_arn=BOUNDARY,
                state_bucket_arn=STATE, datasets_bucket_arn=DATASETS, models_bucket_arn=MODELS)
    for r in run.of_type(ROLE):
        inline = [p for p in run.of_type(ROLE_POLICY) if p.inputs["role"] == r.inputs["name"]]
        assert sum(iam_size(p.inputs["policy"]) for p in inline) < INLINE_POLICY_LIMIT, r.name
    for p in run.of_type(POLICY):
        assert iam_size(p.inputs["policy"]) < MANAGED_POLICY_LIMIT, p.name


# -- SageMaker roles -------------------------------------------------------------------------------


@pytest.mark.parametrize("purpose", SAGEMAKER_ROLES)
def test_sagemaker_roles_trust_only_sagemaker_of_this_account(dev_context, purpose):
    doc = trust(build(dev_context), purpose)
    assert doc["Statement"] == [{
        "Sid": "TrustService",
        "Effect": "Allow",
        "Principal": {"Service": "sagemaker.amazonaws.com"},
        "Action": ["sts:AssumeRole"],
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
    }]


def _is_pipeline_job(resource: str) -> bool:
    return re.search(r":(training|processing)-job/pipelines-\*$", resource) is not None


def _fenced_by_stack_tags(s: dict[str, Any]) -> bool:
    equals = s.get("Condition", {}).get("StringEquals", {})
    kind = "RequestTag" if any(a.startswith("sagemaker:Create") for a in as_list(s["Action"])) else "ResourceTag"
    return equals.get(f"aws:{kind}/project") == "mlops-platform" and equals.get(f"aws:{kind}/environment") == "dev"


@pytest.mark.parametrize("purpose", SAGEMAKER_ROLES)
def test_sagemaker_roles_use_wildcard_resources_only_where_aws_requires(dev_context, purpose):
    run = build(dev_context)
    needs_star = {
        "cloudwatch:PutMetricData", "ecr:GetAuthorizationToken", "ec2:CreateNetworkInterface",
        "ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface", "ec2:DeleteNetworkInterfacePermission",
        "ec2:DescribeDhcpOptions", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets",
        "ec2:DescribeVpcs",
    }
    for s in statements(policies_of(run, purpose)):
        if s["Resource"] == "*":
            assert set(as_list(s["Action"])) <= needs_star, s
            assert s.get("Condition"), s  # namespace or region condition
        for resource in as_list(s["Resource"]):
            if _is_pipeline_job(resource):  # named by SageMaker Pipelines: fenced by this stack's tags
                assert _fenced_by_stack_tags(s), s
                continue
            assert "*" == resource or resource.startswith(("arn:aws:s3:::mlops-platform-dev-", DATA_KEY)) or \
                f":{ACCOUNT}:" in resource and "mlops-platform-dev-" in resource or \
                resource.startswith(f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/sagemaker/"), resource
    metrics = granting(policies_of(run, purpose), "cloudwatch:PutMetricData")
    assert all(s["Condition"] == {"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}} for s in metrics)
    eni = granting(policies_of(run, purpose), "ec2:CreateNetworkInterface")
    assert all(s["Condition"] == {"StringEquals": {"aws:RequestedRegion": "us-east-1"}} for s in eni)


def test_training_reads_datasets_and_writes_only_model_artifacts(dev_context):
    docs = policies_of(build(dev_context), "training")
    assert resources_for(docs, "s3:GetObject") == {f"{DATASETS}/*", f"{MODELS}/*"}
    assert resources_for(docs, "s3:ListBucket") == {DATASETS}
    assert resources_for(docs, "s3:PutObject") == {f"{MODELS}/*"}
    assert not granting(docs, "s3:DeleteObject")
    assert resources_for(docs, "kms:Decrypt") == resources_for(docs, "kms:GenerateDataKey") == {DATA_KEY}
    assert resources_for(docs, "ecr:BatchGetImage") == {f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/mlops-platform-dev-*"}
    assert resources_for(docs, "logs:PutLogEvents") == {f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/sagemaker/*"}
    assert not granting(docs, "iam:PassRole")


def test_serving_reads_models_and_writes_only_data_capture(dev_context):
    docs = policies_of(build(dev_context), "serving")
    assert resources_for(docs, "s3:PutObject") == {f"{MODELS}/data-capture/*"}
    assert resources_for(docs, "s3:GetObject") == {f"{MODELS}/*"}
    assert resources_for(docs, "s3:ListBucket") == {MODELS}
    assert not any(DATASETS in r for s in statements(docs) for r in as_list(s["Resource"]))
    assert resources_for(docs, "kms:GenerateDataKey") == {DATA_KEY}
    assert resources_for(docs, "logs:PutLogEvents") == {
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/sagemaker/Endpoints/*"}
    assert not granting(docs, "iam:PassRole")


def test_tracking_s3_access_is_limited_to_the_mlflow_prefix(dev_context):
    docs = policies_of(build(dev_context), "tracking")
    s3 = [s for s in statements(docs) if any(a.startswith("s3:") for a in as_list(s["Action"]))]
    assert s3
    for s in s3:
        for resource in as_list(s["Resource"]):
            if resource == MODELS:  # bucket-level: listing only, only under mlflow/
                assert as_list(s["Action"]) == ["s3:ListBucket"]
                assert s["Condition"] == {"StringLike": {"s3:prefix": ["mlflow/*"]}}
            else:
                assert resource == f"{MODELS}/mlflow/*", resource
    assert resources_for(docs, "s3:PutObject") == {f"{MODELS}/mlflow/*"}
    registry = resources_for(docs, "sagemaker:CreateModelPackage")
    assert registry == {f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package-group/mlops-platform-dev-*",
                        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/mlops-platform-dev-*/*"}
    assert resources_for(docs, "sagemaker:AddTags") == registry


def test_pipelines_pass_only_the_training_and_serving_roles_to_sagemaker(dev_context):
    run = build(dev_context, **GITHUB)
    docs = policies_of(run, "pipelines")
    passes = granting(docs, "iam:PassRole")
    assert len(passes) == 1
    assert set(as_list(passes[0]["Resource"])) == {role_arn(run, "training"), role_arn(run, "serving")}
    assert passes[0]["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    # No other role passes roles, except CI deploy (to this stack's roles only; tested below).
    for purpose in ("training", "serving", "tracking", "ci-preview"):
        assert not granting(policies_of(run, purpose), "iam:PassRole"), purpose


def test_pipelines_reach_only_this_stacks_sagemaker_resources(dev_context):
    docs = policies_of(build(dev_context), "pipelines")
    arn = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:"
    assert resources_for(docs, "sagemaker:CreateTrainingJob") >= {f"{arn}training-job/mlops-platform-dev-*"}
    for s in statements(docs):
        if any(a.startswith("sagemaker:") for a in as_list(s["Action"])):
            for resource in as_list(s["Resource"]):
                assert resource.startswith(arn), resource
                assert "/mlops-platform-dev-" in resource or (_is_pipeline_job(resource) and _fenced_by_stack_tags(s)), s
    # Jobs SageMaker Pipelines starts are named pipelines-<execution>-...: allowed only with our tags.
    pipeline_job = f"{arn}training-job/pipelines-abc123-Train-xyz"
    [create] = [s for s in statements(docs) if any(fnmatchcase(pipeline_job, r) for r in as_list(s["Resource"]))
                and "sagemaker:CreateTrainingJob" in as_list(s["Action"])]
    assert create["Condition"] == {"StringEquals": {"aws:RequestTag/project": "mlops-platform",
                                                    "aws:RequestTag/environment": "dev"}}
    job = f"{arn}training-job/mlops-platform-dev-train-1"
    assert any(fnmatchcase(job, r) for r in resources_for(docs, "sagemaker:StopTrainingJob"))
    assert not any(fnmatchcase(f"{arn}training-job/other-team-job", r) for r in resources_for(docs, "sagemaker:CreateTrainingJob"))
    execution = f"{arn}pipeline/mlops-platform-dev-train/execution/abc123"
    assert any(fnmatchcase(execution, r) for r in resources_for(docs, "sagemaker:StopPipelineExecution"))
    assert resources_for(docs, "s3:PutObject") == {f"{MODELS}/*"}
    assert resources_for(docs, "s3:ListBucket") == {DATASETS}


def test_policies_reference_arns_of_resources_created_in_the_program(dev_context):
    def program() -> None:
        key = aws.kms.Key("data")
        datasets = aws.s3.Bucket("datasets", bucket="mlops-platform-dev-datasets")
        models = aws.s3.Bucket("models", bucket="mlops-platform-dev-models")
        export(PlatformRoles("roles", PlatformRolesArgs(
            context=dev_context, data_key_arn=key.arn, logs_key_arn=key.arn,
            datasets_bucket_arn=datasets.arn, models_bucket_arn=models.arn)))

    run = run_program(program, stack="dev", project="mlops-platform")
    key = run.named("aws:kms/key:Key", "data")
    models = run.named("aws:s3/bucket:Bucket", "models")
    docs = policies_of(run, "training")
    assert resources_for(docs, "kms:Decrypt") == {key.outputs["arn"]}
    assert resources_for(docs, "s3:PutObject") == {f"{models.outputs['arn']}/*"}
    policy = run.named(ROLE_POLICY, "roles-training-policy")
    assert {key.urn, models.urn} <= set(policy.property_dependencies["policy"])


# -- CI roles ------------------------------------------------------------------------------------


def test_no_ci_roles_or_provider_without_ci(dev_context):
    run = build(dev_context, ci_repository="acme/ignored")
    assert {r.name for r in run.of_type(ROLE)} == {f"roles-{p}" for p in SAGEMAKER_ROLES}
    assert not run.of_type(OIDC) and not run.of_type(POLICY) and not run.of_type(ATTACHMENT)
    assert set(run.outputs["none"]) == {"ci_preview_role_arn", "ci_deploy_role_arn", "oidc_provider_arn"}
    assert set(run.outputs["role_arns"]) == set(SAGEMAKER_ROLES)
    assert run.outputs["training"] == role_arn(run, "training")


def test_github_trust_preview_any_ref_deploy_only_the_stacks_environment(dev_context):
    run = build(dev_context, **GITHUB)
    (provider,) = run.of_type(OIDC)
    assert provider.inputs["url"] == "https://token.actions.githubusercontent.com"
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    host = "token.actions.githubusercontent.com"
    subjects = {}
    for purpose in CI_ROLES:
        (s,) = trust(run, purpose)["Statement"]
        assert s["Effect"] == "Allow" and s["Action"] == ["sts:AssumeRoleWithWebIdentity"]
        assert s["Principal"] == {"Federated": provider.outputs["arn"]}
        assert s["Condition"]["StringEquals"][f"{host}:aud"] == "sts.amazonaws.com"
        subjects[purpose] = s["Condition"]
    assert subjects["ci-preview"]["StringLike"] == {f"{host}:sub": "repo:acme/ml-platform:*"}
    # Deploy jobs run in the GitHub environment named after the stack; its protection rules apply.
    assert subjects["ci-deploy"]["StringEquals"][f"{host}:sub"] == "repo:acme/ml-platform:environment:dev"
    assert "StringLike" not in subjects["ci-deploy"]

    preview = subjects["ci-preview"]["StringLike"][f"{host}:sub"]
    for token_sub in ("repo:acme/ml-platform:pull_request", "repo:acme/ml-platform:ref:refs/heads/feature-x"):
        assert fnmatchcase(token_sub, preview)
    for foreign in ("repo:acme/ml-platform-fork:pull_request", "repo:evil/ml-platform:pull_request"):
        assert not fnmatchcase(foreign, preview)
    assert set(run.outputs["role_arns"]) == {*SAGEMAKER_ROLES, *CI_ROLES}
    assert run.outputs["ci_deploy"] == role_arn(run, "ci-deploy") and run.outputs["none"] == []


def test_gitlab_trust_uses_the_gitlab_url_as_issuer_and_audience(dev_context):
    run = build(dev_context, **GITLAB)
    (provider,) = run.of_type(OIDC)
    assert provider.inputs["url"] == "https://gitlab.example.com"
    assert provider.inputs["clientIdLists"] == ["https://gitlab.example.com"]
    preview = trust(run, "ci-preview")["Statement"][0]["Condition"]
    deploy = trust(run, "ci-deploy")["Statement"][0]["Condition"]
    assert preview["StringEquals"] == {"gitlab.example.com:aud": "https://gitlab.example.com"}
    assert preview["StringLike"] == {"gitlab.example.com:sub": "project_path:acme/ml/platform:ref_type:branch:ref:*"}
    assert deploy["StringEquals"] == {
        "gitlab.example.com:aud": "https://gitlab.example.com",
        "gitlab.example.com:sub": "project_path:acme/ml/platform:ref_type:branch:ref:main",
    }
    assert not fnmatchcase("project_path:acme/ml/platform:ref_type:tag:ref:v1", preview["StringLike"]["gitlab.example.com:sub"])


def test_existing_oidc_provider_is_trusted_and_none_is_created(dev_context):
    run = build(dev_context, **GITHUB, ci_oidc_provider_arn=GITHUB_OIDC)
    assert not run.of_type(OIDC)
    for purpose in CI_ROLES:
        assert trust(run, purpose)["Statement"][0]["Principal"] == {"Federated": GITHUB_OIDC}


def test_github_enterprise_issuer_from_the_provider_arn_names_the_condition_keys(dev_context):
    arn = f"{GITHUB_OIDC}/acme-enterprise"
    run = build(dev_context, **GITHUB, ci_oidc_provider_arn=arn)
    condition = trust(run, "ci-deploy")["Statement"][0]["Condition"]["StringEquals"]
    assert set(condition) == {"token.actions.githubusercontent.com/acme-enterprise:aud",
                              "token.actions.githubusercontent.com/acme-enterprise:sub"}


@pytest.mark.parametrize("state", [None, STATE])
def test_ci_preview_is_read_only_and_never_reads_data(dev_context, state):
    docs = policies_of(build(dev_context, **GITHUB, state_bucket_arn=state), "ci-preview")
    for action in DATA_PLANE_READS:
        allowed = resources_for(docs, action)
        if action == "s3:GetObject" and state:
            assert allowed == {f"{STATE}/*.pulumi/*"}  # Pulumi state only
        else:
            assert not allowed, action
    for s in statements(docs):
        state_lock = s["Resource"] == [f"{STATE}/*.pulumi/locks/*"]
        for action in as_list(s["Action"]):
            verb = action.split(":", 1)[1]
            assert state_lock or re.match(r"(Describe|Get|List|View)", verb), action
    if state:
        assert resources_for(docs, "s3:PutObject") == resources_for(docs, "s3:DeleteObject") == {f"{STATE}/*.pulumi/locks/*"}
    for action in WRITE_ACTIONS[1:]:
        assert not granting(docs, action), action
    assert resources_for(docs, "s3:ListBucket") == {"arn:aws:s3:::mlops-platform-dev-*", *([STATE] if state else [])}


def test_ci_deploy_writes_are_scoped_to_this_stack(dev_context):
    run = build(dev_context, **GITHUB, state_bucket_arn=STATE)
    docs = policies_of(run, "ci-deploy")
    exceptions = (  # resources outside the stack's names, each for a stated reason in ci_trust
        "arn:aws:iam::aws:policy/service-role/*", f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/*",
        f"arn:aws:rds:us-east-1:{ACCOUNT}:pg:default*", f"arn:aws:rds:us-east-1:{ACCOUNT}:og:default*",
        f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:rds!*", STATE, f"{STATE}/*.pulumi/*",
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/sagemaker/ProcessingJobs",  # the drift engine's
    )
    for s in statements(docs):
        actions = as_list(s["Action"])
        if s["Resource"] == "*":
            reads_only = all(re.match(r"(Describe|Get|List|View)", a.split(":")[1]) for a in actions)
            assert reads_only or s.get("Condition"), s  # writes on "*" only behind tag/region conditions
            continue
        for resource in as_list(s["Resource"]):
            assert resource in exceptions or re.search(r"mlops-platform-dev-(us-east-1-)?\*|/mlops-platform/dev/\*", resource), resource
    role_pattern = f"arn:aws:iam::{ACCOUNT}:role/mlops-platform-dev-us-east-1-*"
    assert resources_for(docs, "iam:PassRole") == {role_pattern}
    assert resources_for(docs, "iam:CreateRole") == {role_pattern}
    assert resources_for(docs, "s3:CreateBucket") == {f"arn:aws:s3:::mlops-platform-dev-*-{ACCOUNT}-us-east-1"}
    assert resources_for(docs, "sagemaker:CreateEndpoint") == {f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:*/mlops-platform-dev-*"}
    (create_key,) = granting(docs, "kms:CreateKey")
    assert create_key["Condition"]["StringEquals"] == {"aws:RequestTag/project": "mlops-platform",
                                                       "aws:RequestTag/environment": "dev"}
    (put_key_policy,) = granting(docs, "kms:PutKeyPolicy")
    assert put_key_policy["Condition"]["StringEquals"] == {"aws:ResourceTag/project": "mlops-platform",
                                                           "aws:ResourceTag/environment": "dev"}
    for action in ("ec2:CreateVpc", "ec2:DeleteVpc"):
        (ec2,) = granting(docs, action)
        assert set(ec2["Condition"]["StringEquals"]) & {"aws:RequestTag/project", "aws:ResourceTag/project"}, action
    for action in ("s3:GetObject", "secretsmanager:GetSecretValue", "kms:Decrypt", "cloudtrail:StopLogging",
                   "cloudtrail:DeleteTrail", "kms:DisableKeyRotation", "iam:CreateOpenIDConnectProvider"):
        assert resources_for(docs, action) <= ({f"{STATE}/*.pulumi/*"} if action == "s3:GetObject" else set()), action


def test_ci_deploy_cannot_escalate_past_the_boundary(dev_context):
    run = build(dev_context, **GITHUB, permissions_boundary_arn=BOUNDARY)
    docs = policies_of(run, "ci-deploy")
    for action in ("iam:CreateRole", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy", "iam:AttachRolePolicy"):
        grants = granting(docs, action)
        assert grants, action
        for s in grants:
            assert s["Condition"]["StringEquals"]["iam:PermissionsBoundary"] == BOUNDARY, action
    (attach,) = granting(docs, "iam:AttachRolePolicy")
    assert not any(fnmatchcase("arn:aws:iam::aws:policy/AdministratorAccess", p)
                   for p in attach["Condition"]["ArnLike"]["iam:PolicyARN"])
    assert granting(docs, "iam:DeleteRolePermissionsBoundary", effect="Deny")
    assert not granting(docs, "iam:DeleteRolePermissionsBoundary")
    boundary_denies = {r for s in granting(docs, "iam:CreatePolicyVersion", effect="Deny") for r in as_list(s["Resource"])}
    assert BOUNDARY in boundary_denies


def test_ci_deploy_without_boundary_has_no_boundary_condition(dev_context):
    docs = policies_of(build(dev_context, **GITHUB), "ci-deploy")
    (create,) = granting(docs, "iam:CreateRole")
    assert "iam:PermissionsBoundary" not in json.dumps(create)


def test_ci_deploy_can_neither_change_the_ci_roles_nor_assume_other_roles(dev_context):
    run = build(dev_context, **GITHUB)
    docs = policies_of(run, "ci-deploy")
    protected = {role_arn(run, p) for p in CI_ROLES} | {p.outputs["arn"] for p in run.of_type(POLICY)}
    assert len(protected) == 4
    for action in ("iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:CreatePolicyVersion",
                   "iam:DeleteRolePolicy", "iam:TagRole"):
        denied = {r for s in granting(docs, action, effect="Deny") for r in as_list(s["Resource"])}
        assert protected <= denied, action
    # Deny wildcards must not also deny reads (preview/refresh of the CI roles themselves).
    assert not granting(docs, "iam:GetRole", effect="Deny")
    assert [s["Resource"] for s in granting(docs, "sts:AssumeRole", effect="Deny")] == ["*"]


# -- argument validation ------------------------------------------------------------------------


BAD_ARGS = [
    ({"ci_provider": "github"}, "ci_repository"),
    ({"ci_provider": "gitlab", "ci_repository": ""}, "ci_repository"),
    ({"ci_provider": "github", "ci_repository": "acme"}, "ci_repository"),
    ({"ci_provider": "github", "ci_repository": "acme/*"}, "ci_repository"),
    ({"ci_provider": "github", "ci_repository": "acme/ml/sub"}, "ci_repository"),
    ({"ci_provider": "bitbucket", "ci_repository": "acme/ml"}, "ci_provider"),
    ({**GITHUB, "ci_deploy_branch": "release/*"}, "ci_deploy_branch"),
    ({**GITLAB, "gitlab_url": "http://gitlab.example.com"}, "gitlab_url"),
    ({**GITHUB, "ci_oidc_provider_arn": "arn:aws:iam::123456789012:role/not-a-provider"}, "ci_oidc_provider_arn"),
    ({**GITHUB, "ci_oidc_provider_arn": "arn:aws:iam::999999999999:oidc-provider/token.actions.githubusercontent.com"},
     "ci_oidc_provider_arn"),
    ({**GITHUB, "ci_oidc_provider_arn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/gitlab.com"}, "ci_oidc_provider_arn"),
    ({"permissions_boundary_arn": f"arn:aws:iam::{ACCOUNT}:role/boundary"}, "permissions_boundary_arn"),
    ({"permissions_boundary_arn": "arn:aws:iam::999999999999:policy/boundary"}, "permissions_boundary_arn"),
    ({"data_key_arn": "alias/data"}, "data_key_arn"),
    ({"logs_key_arn": f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/logs"}, "logs_key_arn"),
    ({"models_bucket_arn": "mlops-platform-dev-models"}, "models_bucket_arn"),
    ({"datasets_bucket_arn": f"{DATASETS}/prefix"}, "datasets_bucket_arn"),
    ({"state_bucket_arn": "s3://acme-state"}, "state_bucket_arn"),
]


def _registered_after_failure(ctx: StackContext, kwargs: dict[str, Any]) -> tuple[str, MockRun]:
    """Build inside the program, catching the error there, so we also see what got registered."""
    errors: list[str] = []
    values = {"data_key_arn": DATA_KEY, "logs_key_arn": LOGS_KEY, "datasets_bucket_arn": DATASETS,
              "models_bucket_arn": MODELS, **kwargs}

    def program() -> None:
        with pytest.raises(ValueError) as excinfo:
            PlatformRoles("roles", PlatformRolesArgs(context=ctx, **values))
        errors.append(str(excinfo.value))

    run = run_program(program, stack=ctx.environment, project="mlops-platform")
    return errors[0], run


@pytest.mark.parametrize("kwargs, arg", BAD_ARGS, ids=[f"{a}-{i}" for i, (_, a) in enumerate(BAD_ARGS)])
def test_bad_args_raise_value_error_naming_the_arg_before_anything_is_registered(dev_context, kwargs, arg):
    message, run = _registered_after_failure(dev_context, kwargs)
    problems = [line for line in message.splitlines() if line.strip().startswith("- ")]
    assert [p.split("- ", 1)[1].split(":", 1)[0] for p in problems] == [arg], message
    assert [r.type for r in run.registrations] == ["pulumi:pulumi:Stack"]


def test_every_problem_is_reported_at_once(dev_context):
    message, _ = _registered_after_failure(
        dev_context, {"ci_provider": "github", "permissions_boundary_arn": "nope", "data_key_arn": "nope"})
    for arg in ("ci_repository", "permissions_boundary_arn", "data_key_arn"):
        assert f"- {arg}:" in message


def test_run_program_surfaces_the_error(dev_context):
    with pytest.raises(ValueError, match="ci_repository"):
        build(dev_context, ci_provider="github")


def test_valid_variants_are_accepted(dev_context):
    for kwargs in ({**GITLAB, "ci_repository": "group/sub/project"},
                   {"permissions_boundary_arn": "arn:aws:iam::aws:policy/PowerUserAccess"},
                   {**GITHUB, "ci_deploy_branch": "release/v2.x"}):
        assert len(build(dev_context, **kwargs).of_type(ROLE)) >= 4


# -- Kubernetes service accounts (IRSA) ----------------------------------------------------------

EKS_PROVIDER = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABCDEF0123456789"


def test_tracking_and_serving_trust_their_service_accounts_only(dev_context: StackContext) -> None:
    from mlops_blueprint.components.irsa import ServiceAccountTrust

    run = build(
        dev_context,
        tracking_service_account=ServiceAccountTrust(EKS_PROVIDER, "mlflow", "mlflow-server"),
        serving_service_account=ServiceAccountTrust(EKS_PROVIDER, "serving", "model-server"),
    )
    issuer = "oidc.eks.us-east-1.amazonaws.com/id/ABCDEF0123456789"
    for purpose, subject in (("tracking", "system:serviceaccount:mlflow:mlflow-server"),
                             ("serving", "system:serviceaccount:serving:model-server")):
        statements = trust(run, purpose)["Statement"]
        web = [s for s in statements if s["Action"] == "sts:AssumeRoleWithWebIdentity"]
        assert len(web) == 1 and web[0]["Principal"] == {"Federated": EKS_PROVIDER}
        assert web[0]["Condition"]["StringEquals"] == {f"{issuer}:sub": subject, f"{issuer}:aud": "sts.amazonaws.com"}
        assert any(s["Principal"] == {"Service": "sagemaker.amazonaws.com"} for s in statements)  # SageMaker keeps it
    for purpose in ("training", "pipelines"):
        assert all(s["Action"] != "sts:AssumeRoleWithWebIdentity" for s in trust(run, purpose)["Statement"])


def test_service_account_trust_rejects_bad_names() -> None:
    from mlops_blueprint.components.irsa import ServiceAccountTrust

    with pytest.raises(ValueError, match="oidc_provider_arn"):
        ServiceAccountTrust("arn:aws:iam::123456789012:role/x", "ns", "sa")
    with pytest.raises(ValueError, match="namespace: 'Bad_NS'"):
        ServiceAccountTrust(EKS_PROVIDER, "Bad_NS", "sa")


def test_tracking_s3_scope_follows_the_artifact_prefix(dev_context) -> None:
    docs = policies_of(build(dev_context, tracking_artifact_prefix="experiments"), "tracking")
    assert resources_for(docs, "s3:PutObject") == {f"{MODELS}/experiments/*"}
    assert all("mlflow" not in r for r in resources_for(docs, "s3:GetObject"))


def test_ci_deploy_can_manage_what_monitoring_and_retraining_create(dev_context) -> None:
    docs = policies_of(build(dev_context, **GITHUB), "ci-deploy")
    arn = f"arn:aws:%s:us-east-1:{ACCOUNT}:%s"
    wanted = {
        "sagemaker:CreateDataQualityJobDefinition": arn % ("sagemaker", "data-quality-job-definition/mlops-platform-dev-churn-dq-1"),
        "states:CreateStateMachine": arn % ("states", "stateMachine:mlops-platform-dev-retraining-cooldown"),
        "cloudformation:CreateStack": arn % ("cloudformation", "stack/mlops-platform-dev-churn-model-quality/abc"),
    }
    for action, resource in wanted.items():
        assert any(fnmatchcase(resource, r) for r in resources_for(docs, action)), action
        assert not any(fnmatchcase(resource.replace("mlops-platform-dev", "other-team"), r)
                       for r in resources_for(docs, action)), action


# -- policy resources as dependencies ------------------------------------------------------------


def test_depends_on_gives_the_policy_resources_that_grant_each_role(dev_context) -> None:
    """What AWS validates against a role at create time waits for the role's policies, not only the role."""

    def program() -> None:
        roles = PlatformRoles("roles", PlatformRolesArgs(
            context=dev_context, data_key_arn=DATA_KEY, logs_key_arn=LOGS_KEY, datasets_bucket_arn=DATASETS,
            models_bucket_arn=MODELS, **GITHUB))
        for purpose in (*SAGEMAKER_ROLES, *CI_ROLES):
            aws.sns.Topic(f"uses-{purpose}", opts=pulumi.ResourceOptions(depends_on=roles.depends_on(purpose)))

    run = run_program(program, stack="dev", project="mlops-platform", region=dev_context.region)
    for purpose in (*SAGEMAKER_ROLES, *CI_ROLES):
        name = role(run, purpose).inputs["name"]
        granting_urns = {r.urn for r in run.of_type(ROLE_POLICY) + run.of_type(ATTACHMENT) if r.inputs["role"] == name}
        assert granting_urns, purpose
        assert set(run.named("aws:sns/topic:Topic", f"uses-{purpose}").dependencies) == granting_urns, purpose


def test_depends_on_an_unknown_role_names_the_valid_ones(dev_context) -> None:
    def program() -> None:
        roles = PlatformRoles("roles", PlatformRolesArgs(
            context=dev_context, data_key_arn=DATA_KEY, logs_key_arn=LOGS_KEY, datasets_bucket_arn=DATASETS,
            models_bucket_arn=MODELS))
        with pytest.raises(ValueError, match=r"'ci-deploy'.*pipelines, serving, tracking, training"):
            roles.depends_on("ci-deploy")

    run_program(program, stack="dev", project="mlops-platform", region=dev_context.region)


# -- MLflow access (grant_mlflow) -----------------------------------------------------------------

VPC = "vpc-0abc12345def67890"
OTHER_VPC = "vpc-0fff12345def67890"
MLFLOW_ARNS = {
    "sagemaker-serverless": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:mlflow-app/app-ABCDEF123456",
    "sagemaker-managed": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:mlflow-tracking-server/mlops-platform-dev-mlflow",
}
OTHER_STACKS = {
    "sagemaker-serverless": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:mlflow-app/app-OTHER0000000",
    "sagemaker-managed": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:mlflow-tracking-server/mlops-platform-prod-mlflow",
}
# What logging a run and registering a model take, per backend.
LOG_AND_REGISTER = {
    "sagemaker-serverless": ("sagemaker:CallMlflowAppApi",),
    "sagemaker-managed": ("sagemaker-mlflow:CreateRun", "sagemaker-mlflow:LogMetric", "sagemaker-mlflow:LogBatch",
                          "sagemaker-mlflow:CreateRegisteredModel", "sagemaker-mlflow:CreateModelVersion"),
}


def build_with_mlflow(ctx: StackContext, backend: str, users_vpc_only: bool = False, **kwargs: Any) -> MockRun:
    values: dict[str, Any] = {
        "data_key_arn": DATA_KEY, "logs_key_arn": LOGS_KEY, "datasets_bucket_arn": DATASETS, "models_bucket_arn": MODELS,
    }
    values.update(kwargs)

    def program() -> None:
        roles = PlatformRoles("roles", PlatformRolesArgs(context=ctx, **values))
        roles.grant_mlflow(MlflowAccess(backend, MLFLOW_ARNS.get(backend), VPC, users_vpc_only=users_vpc_only))
        export(roles)
        if roles.mlflow_user_policy_arn is not None:
            pulumi.export("mlflow_user_policy_arn", roles.mlflow_user_policy_arn)
        for purpose in (*SAGEMAKER_ROLES, *CI_ROLES):
            if purpose in roles.policies:
                aws.sns.Topic(f"uses-{purpose}", opts=pulumi.ResourceOptions(depends_on=roles.depends_on(purpose)))

    return run_program(program, stack=ctx.environment, project="mlops-platform", region=ctx.region)


def allowed(docs: list[dict[str, Any]], action: str, resource: str, vpc: str | None = None) -> bool:
    """IAM's verdict over the role's documents (moto's evaluator; a given aws:SourceVpc is checked)."""
    values = {"aws:SourceVpc": vpc} if vpc else None
    verdicts = [IAMPolicy(json.dumps(d)).is_action_permitted(action, resource, incoming_condition_values=values)
                for d in docs]
    return PermissionResult.PERMITTED in verdicts and PermissionResult.DENIED not in verdicts


def user_policy(run: MockRun) -> dict[str, Any]:
    [policy] = [p for p in run.of_type(POLICY) if p.name == "roles-mlflow-user"]
    return json.loads(policy.inputs["policy"])


@pytest.mark.parametrize("backend", sorted(MLFLOW_ARNS))
@pytest.mark.parametrize("purpose", ["training", "pipelines", "ci-deploy"])
def test_roles_may_log_and_register_on_this_stacks_mlflow_only(dev_context, backend, purpose):
    run = build_with_mlflow(dev_context, backend, **GITHUB)
    docs = policies_of(run, purpose)
    for action in LOG_AND_REGISTER[backend]:
        assert allowed(docs, action, MLFLOW_ARNS[backend], VPC), (purpose, action)
        assert not allowed(docs, action, OTHER_STACKS[backend], VPC), (purpose, action)


@pytest.mark.parametrize("backend", sorted(MLFLOW_ARNS))
def test_only_the_named_roles_get_mlflow(dev_context, backend):
    run = build_with_mlflow(dev_context, backend, **GITHUB)
    for purpose in ("serving", "tracking", "ci-preview"):
        docs = policies_of(run, purpose)
        for action in (*LOG_AND_REGISTER[backend], "sagemaker-mlflow:GetRun"):
            assert not allowed(docs, action, MLFLOW_ARNS[backend]), (purpose, action)


@pytest.mark.parametrize("backend", sorted(MLFLOW_ARNS))
def test_training_jobs_reach_mlflow_only_from_the_stacks_vpc(dev_context, backend):
    run = build_with_mlflow(dev_context, backend)
    training = policies_of(run, "training")
    action = LOG_AND_REGISTER[backend][0]
    assert allowed(training, action, MLFLOW_ARNS[backend], VPC)
    assert not allowed(training, action, MLFLOW_ARNS[backend], OTHER_VPC)
    mlflow_statements_ = [s for s in statements(training) if action in s["Action"] or "sagemaker-mlflow:*" in s["Action"]]
    assert mlflow_statements_ and all(s["Condition"] == {"StringEquals": {"aws:SourceVpc": VPC}} for s in mlflow_statements_)
    # The pipelines role acts from SageMaker's side, outside the VPC: no VPC condition there.
    assert all("Condition" not in s for s in statements(policies_of(run, "pipelines"))
               if any(a.startswith(("sagemaker-mlflow:", "sagemaker:CallMlflow")) for a in s["Action"]))


@pytest.mark.parametrize("backend", sorted(MLFLOW_ARNS))
@pytest.mark.parametrize("vpc_only", [False, True])
def test_user_policy_opens_the_ui_of_this_stacks_mlflow_and_is_vpc_only_when_asked(dev_context, backend, vpc_only):
    run = build_with_mlflow(dev_context, backend, users_vpc_only=vpc_only)
    doc, arn = user_policy(run), MLFLOW_ARNS[backend]
    presign = ("sagemaker:CreatePresignedMlflowAppUrl" if backend == "sagemaker-serverless"
               else "sagemaker:CreatePresignedMlflowTrackingServerUrl")
    for action in (presign, *LOG_AND_REGISTER[backend]):
        assert allowed([doc], action, arn, VPC), action
        assert not allowed([doc], action, OTHER_STACKS[backend], VPC), action
        assert allowed([doc], action, arn, OTHER_VPC) is not vpc_only, action
    conditions = [s.get("Condition") for s in doc["Statement"]]
    assert conditions == [{"StringEquals": {"aws:SourceVpc": VPC}}] * len(conditions) if vpc_only else not any(conditions)
    [registered] = [p for p in run.of_type(POLICY) if p.name == "roles-mlflow-user"]
    assert run.outputs["mlflow_user_policy_arn"] == registered.outputs["arn"]


def test_managed_server_reads_and_writes_are_split(dev_context):
    server = MLFLOW_ARNS["sagemaker-managed"]
    reader = document_of(mlflow_statements("sagemaker-managed", server, write=False))
    writer = document_of(mlflow_statements("sagemaker-managed", server, write=True))
    for action in ("sagemaker-mlflow:GetRun", "sagemaker-mlflow:SearchRuns", "sagemaker-mlflow:ListArtifacts"):
        assert allowed([reader], action, server) and allowed([writer], action, server)
    for action in ("sagemaker-mlflow:LogMetric", "sagemaker-mlflow:CreateModelVersion", "sagemaker-mlflow:DeleteRun"):
        assert not allowed([reader], action, server) and allowed([writer], action, server)


def document_of(statements_: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements_}


def test_kubernetes_backend_gets_no_iam_grants(dev_context):
    run = build_with_mlflow(dev_context, "kubernetes", **GITHUB)
    assert not [p for p in run.of_type(ROLE_POLICY) if p.name.endswith("-mlflow")]
    assert not [p for p in run.of_type(POLICY) if p.name == "roles-mlflow-user"]
    assert "mlflow_user_policy_arn" not in run.outputs


def test_mlflow_grants_are_part_of_depends_on(dev_context):
    run = build_with_mlflow(dev_context, "sagemaker-managed", **GITHUB)
    for purpose in ("training", "pipelines", "ci-deploy"):
        grant = run.named(ROLE_POLICY, f"roles-{purpose}-mlflow")
        assert grant.urn in run.named("aws:sns/topic:Topic", f"uses-{purpose}").dependencies, purpose


def test_grant_mlflow_rejects_an_unknown_backend_or_a_missing_arn(dev_context):
    def program() -> None:
        roles = PlatformRoles("roles", PlatformRolesArgs(
            context=dev_context, data_key_arn=DATA_KEY, logs_key_arn=LOGS_KEY, datasets_bucket_arn=DATASETS,
            models_bucket_arn=MODELS))
        with pytest.raises(ValueError, match=r"backend 'mlflow-oss' is not one of sagemaker-serverless"):
            roles.grant_mlflow(MlflowAccess("mlflow-oss", None, VPC))
        with pytest.raises(ValueError, match=r"resource_arn is required for backend 'sagemaker-managed'"):
            roles.grant_mlflow(MlflowAccess("sagemaker-managed", None, VPC))

    run = run_program(program, stack="dev", project="mlops-platform", region=dev_context.region)
    assert not [p for p in run.of_type(ROLE_POLICY) if p.name.endswith("-mlflow")]


@pytest.mark.parametrize("backend", sorted(MLFLOW_ARNS))
def test_inline_policies_with_the_mlflow_grants_fit_the_role_limit(dev_context, backend):
    run = build_with_mlflow(dev_context, backend, **GITHUB, permissions_boundary_arn=BOUNDARY, state_bucket_arn=STATE)
    for purpose in MLFLOW_WRITER_ROLES:
        name = role(run, purpose).inputs["name"]
        inline = [p.inputs["policy"] for p in run.of_type(ROLE_POLICY) if p.inputs["role"] == name]
        assert len(inline) == 2, purpose  # its own policy and the MLflow grant
        assert sum(iam_size(text) for text in inline) <= INLINE_POLICY_LIMIT, purpose
