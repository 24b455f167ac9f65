"""PlatformRoles after the tracking server exists: the policy resources other resources wait for
(``depends_on``) and the MLflow grants (``grant_mlflow``)."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from moto.iam.access_control import IAMPolicy, PermissionResult

from mlops_blueprint.components.platform_roles import (
    INLINE_POLICY_LIMIT, MLFLOW_WRITER_ROLES, MlflowAccess, PlatformRoles, PlatformRolesArgs, mlflow_statements,
)
from mlops_blueprint.context import StackContext
from mlops_blueprint.mock_runtime import MockRun, run_program
from support.platform_roles import (
    ACCOUNT, ATTACHMENT, BOUNDARY, CI_ROLES, DATASETS, DATA_KEY, GITHUB, LOGS_KEY, MODELS, POLICY,
    ROLE_POLICY, SAGEMAKER_ROLES, STATE, export, iam_size, policies_of, role, roles_args, statements,
)


# -- policy resources as dependencies ------------------------------------------------------------


def test_depends_on_gives_the_policy_resources_that_grant_each_role(dev_context) -> None:
    """What AWS validates against a role at create time waits for the role's policies, not only the role."""

    def program() -> None:
        roles = PlatformRoles("roles", roles_args(
            dev_context, data_key_arn=DATA_KEY, logs_key_arn=LOGS_KEY, datasets_bucket_arn=DATASETS,
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
        roles = PlatformRoles("roles", roles_args(ctx, **values))
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
