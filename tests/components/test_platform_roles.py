"""PlatformRoles: least-privilege SageMaker roles, guardrails on every policy, and argument checks,
checked on the policy JSON (the CI roles: test_ci_trust.py; MLflow grants: test_platform_roles_mlflow.py).

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

import pulumi_aws as aws
import pytest

from mlops_blueprint.components.platform_roles import (
    INLINE_POLICY_LIMIT, MANAGED_POLICY_LIMIT, PlatformRoles, PlatformRolesArgs,
)
from mlops_blueprint.context import StackContext
from mlops_blueprint.mock_runtime import MockRun, run_program
from support.platform_roles import (
    ACCOUNT, ATTACHMENT, BOUNDARY, COMPONENT, DATASETS, DATA_KEY, GITHUB, GITLAB, JENKINS, LOGS_KEY, MODELS,
    POLICY, PULUMI, ROLE, ROLE_POLICY, SAGEMAKER_ROLES, STATE, all_policy_docs, as_list, build, export,
    granting, iam_size, policies_of, resources_for, role_arn, roles_args, statements, trust,
)


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


# -- argument validation ------------------------------------------------------------------------


# Settings refuse these when built (the error names the key), before any Args exist.
BAD_SETTINGS = [
    ({"ci_provider": "github"}, "iam.ci.repository is required"),
    ({"ci_provider": "gitlab", "ci_repository": ""}, "repository"),
    ({"ci_provider": "github", "ci_repository": "acme"}, "repository"),
    ({"ci_provider": "github", "ci_repository": "acme/*"}, "repository"),
    ({"ci_provider": "github", "ci_repository": "acme/ml/sub"}, "is not a github repository path (org/repo)"),
    ({"ci_provider": "bitbucket", "ci_repository": "acme/ml"}, "provider"),
    ({**GITHUB, "ci_deploy_branch": "release/*"}, "deploy_branch"),
    ({**GITLAB, "gitlab_url": "http://gitlab.example.com"}, "gitlab_url"),
    ({**GITHUB, "ci_oidc_provider_arn": "arn:aws:iam::123456789012:role/not-a-provider"}, "oidc_provider_arn"),
    ({**GITHUB, "ci_oidc_provider_arn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/gitlab.com"},
     "the provider is for 'gitlab.com'; github tokens come from 'token.actions.githubusercontent.com'"),
    ({"permissions_boundary_arn": f"arn:aws:iam::{ACCOUNT}:role/boundary"}, "permissions_boundary_arn"),
    ({"ci_provider": "jenkins", "ci_repository": "mlops-blueprint"}, "iam.ci.jenkinsUrl is required"),
    ({**JENKINS, "jenkins_url": "http://ci.example.com"}, "jenkins_url"),
    ({**PULUMI, "ci_repository": "acme"}, "is not a pulumi repository path (org/project"),
    ({**PULUMI, "jenkins_url": "https://ci.example.com"}, "iam.ci.jenkinsUrl/jenkinsIssuerUrl are set"),
    ({**PULUMI, "ci_oidc_provider_arn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"},
     "pulumi tokens come from 'api.pulumi.com/oidc'"),
]


@pytest.mark.parametrize("kwargs, expected", BAD_SETTINGS, ids=[f"settings-{i}" for i in range(len(BAD_SETTINGS))])
def test_bad_settings_raise_value_error_naming_the_key(dev_context, kwargs, expected):
    with pytest.raises(ValueError) as excinfo:
        roles_args(dev_context, **kwargs)
    assert expected in str(excinfo.value)


# The args check the wiring, and the settings' ARNs against the stack's account.
BAD_ARGS = [
    ({**GITHUB, "ci_oidc_provider_arn": "arn:aws:iam::999999999999:oidc-provider/token.actions.githubusercontent.com"},
     "settings.ci.oidc_provider_arn"),
    ({"permissions_boundary_arn": "arn:aws:iam::999999999999:policy/boundary"}, "settings.permissions_boundary_arn"),
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
            PlatformRoles("roles", roles_args(ctx, **values))
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
        dev_context, {"permissions_boundary_arn": "arn:aws:iam::999999999999:policy/boundary", "data_key_arn": "nope",
                      "state_bucket_arn": "s3://acme-state"})
    for arg in ("settings.permissions_boundary_arn", "data_key_arn", "state_bucket_arn"):
        assert f"- {arg}:" in message


def test_run_program_surfaces_the_error(dev_context):
    with pytest.raises(ValueError, match="iam.ci.repository"):
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
