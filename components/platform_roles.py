"""The platform's IAM roles: SageMaker training, serving, MLflow tracking and Pipelines, plus CI.

Ownership rule: this component owns the roles that people, CI and jobs assume across components;
a component owns the service roles only its own resources use (see :mod:`.service_role`).

Every role gets only this stack's resources (its buckets, its data key, its log groups, ECR
repositories and SageMaker resources named ``<project>-<environment>-...``), a one-hour session,
and the configured permissions boundary. Each role's own permissions are one inline policy
(``aws.iam.RolePolicy``): it lives and dies with the role and cannot be attached elsewhere. Only
the CI roles also get managed policies, our own, because inline policies of a role may total just
10,240 characters: ``ci-read-only`` (shared by both CI roles) and ``ci-deploy-tagged``. No AWS
managed policy is attached: the SageMaker ones are account-wide (``AmazonSageMakerFullAccess``).
CI roles (GitHub Actions / GitLab CI via OIDC) are built from :mod:`.ci_trust`.

Once the MLflow app or server exists, :meth:`PlatformRoles.grant_mlflow` lets the training,
pipelines and CI deploy roles use it (one more inline policy each) and creates the managed policy
``mlflow-user`` for people and notebooks. :meth:`PlatformRoles.depends_on` lists the policy
resources of a role, for whatever AWS validates against the role when it is created.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_blueprint.components.ci_trust import (
    GITHUB_ISSUER,
    CiIdentity,
    CiProvider,
    ci_identity,
    deploy_statements,
    owned_prefix,
    read_only_statements,
    state_bucket_statements,
    tagged_deploy_statements,
    web_identity_trust,
)
from mlops_blueprint.components.irsa import ServiceAccountTrust
from mlops_blueprint.components.service_role import service_role
from mlops_blueprint.context import StackContext
from mlops_blueprint.naming import NameKind
from mlops_blueprint.policy_documents import (
    Statement, assume_role_policy, document, in_region, render, statement, to_json, vpc_interface_statements,
)
from mlops_blueprint.tracking_config import SAGEMAKER_BACKENDS
from mlops_blueprint.tracking_config import TRACKING_BACKENDS as TRACKING_BACKEND_NAMES

COMPONENT = "platform-roles"
CI_PROVIDERS: tuple[str, ...] = ("none", "github", "gitlab")

# IAM size limits (characters, whitespace excluded): all inline policies of a role together, and
# one managed policy.
INLINE_POLICY_LIMIT = 10_240
MANAGED_POLICY_LIMIT = 6_144

_REPOSITORY = {
    "github": re.compile(r"[\w.-]+/[\w.-]+"),          # org/repo
    "gitlab": re.compile(r"[\w.-]+(/[\w.-]+)+"),       # group[/subgroup...]/project
}
_BRANCH = re.compile(r"[\w./-]+")  # no * or ?: the branch lands in an IAM condition
_GITLAB_URL = re.compile(r"https://[\w.-]+")
_S3_BUCKET_NAME = r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"

# Key use for data the role reads and writes (SSE-KMS objects, encrypted volumes).
_DATA_KEY_READ_WRITE = ("kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey")

# What SageMaker Pipelines starts, watches and stops on the pipeline's behalf, by ARN resource type.
# Pipeline executions are ``pipeline/<pipeline>/execution/<id>`` in ARNs.
_PIPELINE_SAGEMAKER: dict[str, tuple[str, ...]] = {
    "training-job/{p}-*": ("CreateTrainingJob", "DescribeTrainingJob", "StopTrainingJob"),
    "processing-job/{p}-*": ("CreateProcessingJob", "DescribeProcessingJob", "StopProcessingJob"),
    "transform-job/{p}-*": ("CreateTransformJob", "DescribeTransformJob", "StopTransformJob"),
    "model/{p}-*": ("CreateModel", "DescribeModel"),
    "model-package/{p}-*": ("CreateModelPackage", "DescribeModelPackage"),
    "pipeline/{p}-*/execution/*": ("DescribePipelineExecution", "StopPipelineExecution"),
    "endpoint-config/{p}-*": ("CreateEndpointConfig", "DescribeEndpointConfig"),
    "endpoint/{p}-*": ("CreateEndpoint", "DescribeEndpoint"),
}


@dataclass(frozen=True)
class PlatformRolesArgs:
    """This stack's resources the roles may use, the boundary, and CI (``IamConfig``/``CiConfig``)."""

    context: StackContext
    data_key_arn: pulumi.Input[str]          # Kms.data_key_arn
    logs_key_arn: pulumi.Input[str]          # Kms.logs_key_arn: validated only (CloudWatch Logs encrypts
                                             # through the key policy; no role needs key permissions)
    datasets_bucket_arn: pulumi.Input[str]   # ArtifactStore.datasets_bucket_arn
    models_bucket_arn: pulumi.Input[str]     # ArtifactStore.models_bucket_arn
    permissions_boundary_arn: str | None = None
    ci_provider: CiProvider = "none"
    ci_repository: str | None = None         # org/repo (GitHub), group/project (GitLab)
    ci_deploy_branch: str = "main"
    ci_oidc_provider_arn: str | None = None  # existing provider; None: create one (once per account!)
    gitlab_url: str = "https://gitlab.com"
    state_bucket_arn: str | None = None      # Pulumi S3 backend the CI roles may use
    # Kubernetes backends: the service accounts that may also assume the tracking / serving role.
    tracking_service_account: ServiceAccountTrust | None = None
    tracking_artifact_prefix: str = "mlflow"  # TrackingConfig.artifact_prefix: where MLflow keeps artifacts
    serving_service_account: ServiceAccountTrust | None = None


def _validate(args: PlatformRolesArgs) -> None:
    """Every problem at once, each naming the arg and what would be valid."""
    if not isinstance(args.context, StackContext):
        raise ValueError(f"context: expected a StackContext, got {type(args.context).__name__}")
    ctx = args.context
    partition, account = re.escape(ctx.partition), ctx.account_id
    problems: list[str] = []

    def check(arg: str, value: Any, pattern: str, expected: str) -> None:
        # Outputs resolve later; only literal strings can be checked up front.
        if isinstance(value, str) and not re.fullmatch(pattern, value):
            problems.append(f"{arg}: {value!r} is not {expected}")
        elif value is not None and not isinstance(value, (str, pulumi.Output)):
            problems.append(f"{arg}: expected an ARN string or Output, got {type(value).__name__}")

    key = rf"arn:{partition}:kms:[a-z0-9-]+:\d{{12}}:key/[\w-]+"
    bucket = rf"arn:{partition}:s3:::{_S3_BUCKET_NAME}"
    check("data_key_arn", args.data_key_arn, key, f"a KMS key ARN (arn:{ctx.partition}:kms:<region>:<account>:key/<id>)")
    check("logs_key_arn", args.logs_key_arn, key, f"a KMS key ARN (arn:{ctx.partition}:kms:<region>:<account>:key/<id>)")
    for arg in ("datasets_bucket_arn", "models_bucket_arn", "state_bucket_arn"):
        check(arg, getattr(args, arg), bucket, f"an S3 bucket ARN (arn:{ctx.partition}:s3:::<bucket>)")
    check("permissions_boundary_arn", args.permissions_boundary_arn,
          rf"arn:{partition}:iam::({account}|aws):policy/[\w+=,.@/-]+",
          f"a managed policy ARN of this account or AWS (arn:{ctx.partition}:iam::{account}:policy/<name>)")

    if args.ci_provider not in CI_PROVIDERS:
        problems.append(f"ci_provider: {args.ci_provider!r} is not one of {', '.join(CI_PROVIDERS)}")
    elif args.ci_provider != "none":
        problems += _ci_problems(args)
    if problems:
        raise ValueError("invalid PlatformRolesArgs:\n" + "\n".join(f"  - {p}" for p in problems))


def _ci_problems(args: PlatformRolesArgs) -> list[str]:
    """CI values end up in IAM conditions: no wildcards, and a provider ARN that matches the issuer."""
    ctx, provider = args.context, args.ci_provider
    problems: list[str] = []
    if not args.ci_repository:
        problems.append(f"ci_repository: required when ci_provider is {provider!r} (org/repo)")
    elif not _REPOSITORY[provider].fullmatch(args.ci_repository):
        shape = "org/repo" if provider == "github" else "group[/subgroup]/project"
        problems.append(f"ci_repository: {args.ci_repository!r} is not a {provider} repository path ({shape})")
    if not _BRANCH.fullmatch(args.ci_deploy_branch or ""):
        problems.append(f"ci_deploy_branch: {args.ci_deploy_branch!r} is not a branch name (letters, digits, ./_-)")
    if provider == "gitlab" and not _GITLAB_URL.fullmatch(args.gitlab_url or ""):
        problems.append(f"gitlab_url: {args.gitlab_url!r} is not an https:// host URL, e.g. https://gitlab.com")
    if args.ci_oidc_provider_arn is not None:
        expected = GITHUB_ISSUER if provider == "github" else (args.gitlab_url or "").removeprefix("https://")
        match = re.fullmatch(rf"arn:{re.escape(ctx.partition)}:iam::{ctx.account_id}:oidc-provider/([\w.:/-]+)",
                             args.ci_oidc_provider_arn)
        if not match:
            problems.append(
                f"ci_oidc_provider_arn: {args.ci_oidc_provider_arn!r} is not an OIDC provider ARN of this "
                f"account (arn:{ctx.partition}:iam::{ctx.account_id}:oidc-provider/{expected})"
            )
        elif match.group(1) != expected and not (provider == "github" and match.group(1).startswith(GITHUB_ISSUER + "/")):
            problems.append(
                f"ci_oidc_provider_arn: the provider is for {match.group(1)!r}; {provider} tokens come from {expected!r}"
            )
    return problems


# -- statements shared by several roles -----------------------------------------------------------


def _s3_read(sid: str, bucket_arn: str, prefix: str = "") -> list[Statement]:
    """Read objects under ``prefix`` and list the bucket (listing limited to ``prefix`` if given)."""
    listing = {"StringLike": {"s3:prefix": [f"{prefix}*"]}} if prefix else None
    return [
        statement(f"{sid}Objects", ["s3:GetObject"], [f"{bucket_arn}/{prefix}*"]),
        statement(f"{sid}List", ["s3:ListBucket"], [bucket_arn], conditions=listing),
    ]


def _s3_write(sid: str, bucket_arn: str, prefix: str = "") -> Statement:
    """Write (and read back) objects under ``prefix`` only."""
    return statement(sid, ["s3:GetObject", "s3:PutObject"], [f"{bucket_arn}/{prefix}*"])


def _data_key(key_arn: str) -> Statement:
    return statement("UseDataKey", _DATA_KEY_READ_WRITE, [key_arn])


def _sagemaker_logs(ctx: StackContext, group_prefix: str) -> Statement:
    """The log groups SageMaker writes for the role's jobs/endpoints (and their streams)."""
    actions = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]
    return statement("WriteLogs", actions, [ctx.arn("logs", f"log-group:{group_prefix}*")])


def _sagemaker_metrics() -> Statement:
    # PutMetricData has no resource type: "*" is required; the namespace condition scopes it.
    return statement("PutSageMakerMetrics", ["cloudwatch:PutMetricData"], "*",
                     conditions={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}})


def _in_region(ctx: StackContext) -> dict[str, dict[str, str]]:
    return in_region(ctx.region)


def _ecr_pull(ctx: StackContext) -> list[Statement]:
    return [
        # GetAuthorizationToken has no resource type: "*" is required.
        statement("EcrLogin", ["ecr:GetAuthorizationToken"], "*", conditions=_in_region(ctx)),
        statement("EcrPull", ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                  [ctx.arn("ecr", f"repository/{owned_prefix(ctx)}-*")]),
    ]


def _vpc_access(ctx: StackContext) -> list[Statement]:
    return vpc_interface_statements(ctx.region)


def _container_runtime(ctx: StackContext, log_group_prefix: str) -> list[Statement]:
    """What any SageMaker container (job or endpoint) needs: image, network, logs, metrics."""
    return [*_ecr_pull(ctx), *_vpc_access(ctx), _sagemaker_logs(ctx, log_group_prefix), _sagemaker_metrics()]


# -- one policy per role ----------------------------------------------------------------------------


def training_policy(ctx: StackContext, data_key: str, datasets: str, models: str) -> dict[str, Any]:
    """Read datasets, write model artifacts; nothing else in S3."""
    return document(
        *_s3_read("ReadDatasets", datasets),
        _s3_write("WriteModelArtifacts", models),
        _data_key(data_key),
        *_container_runtime(ctx, "/aws/sagemaker/"),
    )


def serving_policy(ctx: StackContext, data_key: str, models: str) -> dict[str, Any]:
    """Read models; write only captured request/response data."""
    return document(
        *_s3_read("ReadModels", models),
        statement("WriteDataCapture", ["s3:PutObject"], [f"{models}/data-capture/*"]),
        _data_key(data_key),
        *_container_runtime(ctx, "/aws/sagemaker/Endpoints/"),
    )


def tracking_policy(ctx: StackContext, data_key: str, models: str, artifact_prefix: str = "mlflow") -> dict[str, Any]:
    """MLflow artifacts under ``<artifact_prefix>/`` and registration of models into this stack's groups."""
    prefix = owned_prefix(ctx)
    registry = [ctx.arn("sagemaker", f"model-package-group/{prefix}-*"),
                ctx.arn("sagemaker", f"model-package/{prefix}-*/*")]
    return document(
        *_s3_read("ReadMlflowArtifacts", models, prefix=f"{artifact_prefix}/"),
        _s3_write("WriteMlflowArtifacts", models, prefix=f"{artifact_prefix}/"),
        _data_key(data_key),
        statement("RegisterModels", [
            "sagemaker:AddTags", "sagemaker:CreateModelPackage", "sagemaker:CreateModelPackageGroup",
            "sagemaker:DescribeModelPackage", "sagemaker:DescribeModelPackageGroup", "sagemaker:UpdateModelPackage",
        ], registry),
    )


def pipelines_policy(
    ctx: StackContext, data_key: str, datasets: str, models: str, training_role: str, serving_role: str
) -> dict[str, Any]:
    """Run this stack's jobs/models/endpoints with the training and serving roles, nothing else."""
    prefix = owned_prefix(ctx)
    actions = [f"sagemaker:{a}" for group in _PIPELINE_SAGEMAKER.values() for a in group]
    resources = [ctx.arn("sagemaker", pattern.format(p=prefix)) for pattern in _PIPELINE_SAGEMAKER]
    return document(
        statement("PassJobRoles", ["iam:PassRole"], [training_role, serving_role],
                  conditions={"StringEquals": {"iam:PassedToService": ctx.service_principal("sagemaker")}}),
        # AddTags: jobs are created with their tags (Tagging.full), which SageMaker authorizes separately.
        statement("RunSageMakerResources", [*actions, "sagemaker:AddTags"], resources),
        # SageMaker Pipelines names the jobs it starts pipelines-<execution>-<step>-<suffix>, not
        # after the stack: allow those only when created with this stack's project/environment tags.
        statement(
            "RunPipelineJobs",
            ["sagemaker:CreateTrainingJob", "sagemaker:CreateProcessingJob", "sagemaker:AddTags"],
            [ctx.arn("sagemaker", "training-job/pipelines-*"), ctx.arn("sagemaker", "processing-job/pipelines-*")],
            conditions={"StringEquals": {"aws:RequestTag/project": ctx.naming.project,
                                         "aws:RequestTag/environment": ctx.environment}},
        ),
        statement(
            "WatchPipelineJobs",
            ["sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob",
             "sagemaker:DescribeProcessingJob", "sagemaker:StopProcessingJob"],
            [ctx.arn("sagemaker", "training-job/pipelines-*"), ctx.arn("sagemaker", "processing-job/pipelines-*")],
            conditions={"StringEquals": {"aws:ResourceTag/project": ctx.naming.project,
                                         "aws:ResourceTag/environment": ctx.environment}},
        ),
        *_s3_read("ReadDatasets", datasets),
        _s3_write("WriteModelArtifacts", models),
        _data_key(data_key),
        _sagemaker_logs(ctx, "/aws/sagemaker/"),
    )


# -- MLflow access ---------------------------------------------------------------------------------

# The SageMaker backends authenticate MLflow calls with IAM (the kubernetes backend does not).
MLFLOW_IAM_BACKENDS: tuple[str, ...] = SAGEMAKER_BACKENDS
# A tracking server's data plane (service prefix sagemaker-mlflow): reads are the Get/List/Search
# calls (access levels Read and List in the service authorization reference); writers get every call.
MLFLOW_READ_ACTIONS: tuple[str, ...] = ("sagemaker-mlflow:Get*", "sagemaker-mlflow:List*", "sagemaker-mlflow:Search*")
MLFLOW_WRITE_ACTIONS: tuple[str, ...] = ("sagemaker-mlflow:*",)
# The roles that log runs and register models, and whether only from this stack's VPC. Jobs call
# MLflow from the private subnets through the VPC endpoint; the pipelines role acts from
# SageMaker's side and CI from hosted runners, both outside the VPC. People and notebooks get the
# managed policy, VPC-only as configured.
MLFLOW_WRITER_ROLES: dict[str, bool] = {"training": True, "pipelines": False, "ci-deploy": False}
MLFLOW_USER_POLICY = "mlflow-user"


@dataclass(frozen=True)
class MlflowAccess:
    """This stack's MLflow, for :meth:`PlatformRoles.grant_mlflow` (``TrackingServer``'s values)."""

    backend: str                                   # TrackingServer.backend
    resource_arn: pulumi.Input[str] | None         # TrackingServer.tracking_server_arn (app or server)
    vpc_id: pulumi.Input[str]                      # Network.vpc_id: the aws:SourceVpc of VPC-only access
    users_vpc_only: bool = True                    # the people/notebook policy only from inside the VPC


def mlflow_statements(
    backend: str, resource_arn: str, *, write: bool, ui: bool = False, vpc_id: str | None = None
) -> list[Statement]:
    """Use this one MLflow app (``CallMlflowAppApi``) or tracking server (``sagemaker-mlflow``
    actions), read-only unless ``write``; ``ui`` adds the presigned UI URL; ``vpc_id`` keeps every
    call to requests from that VPC (``aws:SourceVpc``, set on requests through its endpoints)."""
    if backend not in MLFLOW_IAM_BACKENDS:
        raise ValueError(f"backend: {backend!r} does not authenticate MLflow with IAM; expected one of "
                         f"{', '.join(MLFLOW_IAM_BACKENDS)}")
    only_vpc = {"StringEquals": {"aws:SourceVpc": vpc_id}} if vpc_id else None
    if backend == "sagemaker-serverless":
        # An app's whole MLflow API is one action: no read/write split is possible.
        data = statement("UseMlflowApp", ["sagemaker:CallMlflowAppApi"], [resource_arn], conditions=only_vpc)
        ui_actions = ["sagemaker:CreatePresignedMlflowAppUrl", "sagemaker:DescribeMlflowApp"]
    else:
        actions = MLFLOW_WRITE_ACTIONS if write else MLFLOW_READ_ACTIONS
        data = statement("WriteMlflow" if write else "ReadMlflow", actions, [resource_arn], conditions=only_vpc)
        ui_actions = ["sagemaker:CreatePresignedMlflowTrackingServerUrl", "sagemaker:DescribeMlflowTrackingServer"]
    result = [data]
    if ui:
        result.append(statement("OpenMlflowUi", ui_actions, [resource_arn], conditions=only_vpc))
        if backend == "sagemaker-managed":
            # AccessUI has no resource type: "*" is required (the presigned URL names the server).
            result.append(statement("AccessMlflowUi", ["sagemaker-mlflow:AccessUI"], "*", conditions=only_vpc))
    return result


def mlflow_policy(backend: str, resource_arn: str, *, write: bool, ui: bool, vpc_id: str | None) -> dict[str, Any]:
    return document(*mlflow_statements(backend, resource_arn, write=write, ui=ui, vpc_id=vpc_id))


def ci_read_only_policy(ctx: StackContext) -> dict[str, Any]:
    """Both CI roles: read what a preview/refresh reads (the managed policy ``ci-read-only``)."""
    return document(*read_only_statements(ctx))


def ci_deploy_tagged_policy(ctx: StackContext) -> dict[str, Any]:
    """CI deploys: tag-fenced writes (the managed policy ``ci-deploy-tagged``)."""
    return document(*tagged_deploy_statements(ctx))


def ci_preview_policy(state_bucket: str | None) -> dict[str, Any] | None:
    """Preview's own inline policy: the state lock, if CI keeps state in S3; else nothing."""
    return document(*state_bucket_statements(state_bucket, write=False)) if state_bucket else None


def ci_deploy_policy(
    ctx: StackContext, boundary: str | None, state_bucket: str | None, protected_arns: list[str]
) -> dict[str, Any]:
    state = state_bucket_statements(state_bucket, write=True) if state_bucket else []
    return document(
        *deploy_statements(ctx, permissions_boundary_arn=boundary, protected_arns=protected_arns),
        *state,
    )


class PlatformRoles(pulumi.ComponentResource):
    """SageMaker execution roles (training, serving, tracking, pipelines) and, with CI, two OIDC roles."""

    training_role_arn: pulumi.Output[str]
    serving_role_arn: pulumi.Output[str]
    tracking_role_arn: pulumi.Output[str]
    pipelines_role_arn: pulumi.Output[str]
    ci_preview_role_arn: pulumi.Output[str] | None
    ci_deploy_role_arn: pulumi.Output[str] | None
    oidc_provider_arn: pulumi.Output[str] | None  # the provider the CI roles trust (created or given)
    role_arns: dict[str, pulumi.Output[str]]
    mlflow_user_policy_arn: pulumi.Output[str] | None  # set by grant_mlflow (SageMaker backends)
    # Every policy resource that grants a role its permissions, by role purpose (inline policies and
    # managed-policy attachments). AWS checks a role's permissions when it creates what uses the role
    # (MLflow servers, models, pipelines): such resources depend on these, see ``depends_on``.
    policies: dict[str, list[pulumi.Resource]]

    def __init__(self, name: str, args: PlatformRolesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        super().__init__("mlops:iam:PlatformRoles", name, None, opts)
        self._prefix = name  # logical-name prefix of children (Resource owns ._name)
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        self.policies = {}
        self._roles: dict[str, aws.iam.Role] = {}
        self.mlflow_user_policy_arn = None
        ctx = args.context

        sagemaker_doc = assume_role_policy(ctx.service_principal("sagemaker"), source_account=ctx.account_id)
        sagemaker_trust = to_json(sagemaker_doc)

        def trust_with(service_account: ServiceAccountTrust | None) -> str:
            """SageMaker, plus a Kubernetes service account (IRSA) when that backend is in use."""
            if service_account is None:
                return sagemaker_trust
            return to_json({**sagemaker_doc, "Statement": [*sagemaker_doc["Statement"], service_account.statement()]})

        key, datasets, models = args.data_key_arn, args.datasets_bucket_arn, args.models_bucket_arn
        training = self._role("training", "SageMaker training jobs", sagemaker_trust,
                              render(lambda k, d, m: training_policy(ctx, k, d, m), key, datasets, models))
        serving = self._role("serving", "SageMaker endpoints", trust_with(args.serving_service_account),
                             render(lambda k, m: serving_policy(ctx, k, m), key, models))
        tracking = self._role("tracking", "SageMaker MLflow tracking server", trust_with(args.tracking_service_account),
                              render(lambda k, m: tracking_policy(ctx, k, m, args.tracking_artifact_prefix), key, models))
        pipelines = self._role(
            "pipelines", "SageMaker Pipelines executions", sagemaker_trust,
            render(lambda k, d, m, t, s: pipelines_policy(ctx, k, d, m, t, s),
                   key, datasets, models, training.arn, serving.arn),
        )
        self.training_role_arn = training.arn
        self.serving_role_arn = serving.arn
        self.tracking_role_arn = tracking.arn
        self.pipelines_role_arn = pipelines.arn
        self.role_arns = {"training": training.arn, "serving": serving.arn,
                          "tracking": tracking.arn, "pipelines": pipelines.arn}

        self.ci_preview_role_arn = self.ci_deploy_role_arn = self.oidc_provider_arn = None
        if args.ci_provider != "none":
            self._ci_roles(args)

        self.register_outputs(
            {
                "trainingRoleArn": self.training_role_arn,
                "servingRoleArn": self.serving_role_arn,
                "trackingRoleArn": self.tracking_role_arn,
                "pipelinesRoleArn": self.pipelines_role_arn,
                "ciPreviewRoleArn": self.ci_preview_role_arn,
                "ciDeployRoleArn": self.ci_deploy_role_arn,
                "ciOidcProviderArn": self.oidc_provider_arn,
            }
        )

    def _role(
        self,
        purpose: str,
        description: str,
        trust: pulumi.Input[str],
        policy: pulumi.Input[str] | None,
        attach: Mapping[str, aws.iam.Policy] | None = None,
    ) -> aws.iam.Role:
        """One role, its inline policy (if any) and our managed policies (``{purpose: policy}``);
        the boundary on every role."""
        ctx = self._args.context
        role = service_role(
            f"{self._prefix}-{purpose}",
            context=ctx,
            component=COMPONENT,
            purpose=purpose,
            description=description,
            trust=trust,
            permissions_boundary_arn=self._args.permissions_boundary_arn,
            opts=self._child,
        )
        self._roles[purpose] = role
        granted = self.policies.setdefault(purpose, [])
        if policy is not None:
            granted.append(aws.iam.RolePolicy(
                f"{self._prefix}-{purpose}-policy",
                name=ctx.naming.name(purpose, kind=NameKind.IAM_POLICY),
                role=role.name,
                policy=policy,
                opts=self._child,
            ))
        for policy_purpose, managed in (attach or {}).items():
            granted.append(aws.iam.RolePolicyAttachment(
                f"{self._prefix}-{purpose}-{policy_purpose}",
                role=role.name,
                policy_arn=managed.arn,
                opts=self._child,
            ))
        return role

    def grant_mlflow(self, access: MlflowAccess) -> None:
        """Let the job, pipelines and CI deploy roles, and people through the managed policy
        ``mlflow-user`` (``mlflow_user_policy_arn``), use this stack's MLflow app or tracking server
        and no other. Called once the tracking resource exists: an app's ARN holds an id AWS
        assigns, and the server needs the tracking role first. Each grant is its own inline policy
        (``<purpose>-mlflow``), listed by :meth:`depends_on`. Backends without IAM (kubernetes)
        get nothing here: the network decides who reaches that server."""
        if access.backend not in TRACKING_BACKEND_NAMES:
            raise ValueError(f"grant_mlflow: backend {access.backend!r} is not one of {', '.join(TRACKING_BACKEND_NAMES)}")
        if access.backend not in MLFLOW_IAM_BACKENDS:
            return
        if access.resource_arn is None:
            raise ValueError(f"grant_mlflow: resource_arn is required for backend {access.backend!r}")
        ctx = self._args.context
        for purpose, vpc_only in MLFLOW_WRITER_ROLES.items():
            if purpose not in self._roles:
                continue  # the CI roles exist only with CI
            name = f"{purpose}-mlflow"
            self.policies[purpose].append(aws.iam.RolePolicy(
                f"{self._prefix}-{name}",
                name=ctx.naming.name(name, kind=NameKind.IAM_POLICY),
                role=self._roles[purpose].name,
                policy=render(lambda arn, vpc, only=vpc_only: mlflow_policy(
                    access.backend, arn, write=True, ui=False, vpc_id=vpc if only else None),
                    access.resource_arn, access.vpc_id),
                opts=self._child,
            ))
        policy_name = ctx.naming.name(MLFLOW_USER_POLICY, kind=NameKind.IAM_POLICY)
        users = aws.iam.Policy(
            f"{self._prefix}-{MLFLOW_USER_POLICY}",
            name=policy_name,
            description=f"{ctx.naming.prefix}: use this stack's MLflow (runs, registry, UI); attach to people and notebooks",
            policy=render(lambda arn, vpc: mlflow_policy(access.backend, arn, write=True, ui=True,
                                                         vpc_id=vpc if access.users_vpc_only else None),
                          access.resource_arn, access.vpc_id),
            tags=ctx.tagging.resource(COMPONENT, policy_name),
            opts=self._child,
        )
        self.mlflow_user_policy_arn = users.arn

    def depends_on(self, *purposes: str) -> list[pulumi.Resource]:
        """The policy resources of the roles ``purposes`` (e.g. ``"serving"``): pass them as
        ``ResourceOptions(depends_on=...)`` to whatever AWS validates against those roles when it
        is created, so it is created after the role's permissions, not racing them."""
        unknown = [p for p in purposes if p not in self.policies]
        if unknown:
            raise ValueError(f"depends_on: no role {', '.join(map(repr, unknown))}; "
                             f"roles of this stack: {', '.join(sorted(self.policies))}")
        return [policy for purpose in purposes for policy in self.policies[purpose]]

    def _managed_policy(self, purpose: str, description: str, doc: Mapping[str, Any]) -> aws.iam.Policy:
        ctx = self._args.context
        policy_name = ctx.naming.name(purpose, kind=NameKind.IAM_POLICY)
        return aws.iam.Policy(
            f"{self._prefix}-{purpose}",
            name=policy_name,
            description=f"{ctx.naming.prefix}: {description}",
            policy=to_json(doc),
            tags=ctx.tagging.resource(COMPONENT, policy_name),
            opts=self._child,
        )

    def _ci_roles(self, args: PlatformRolesArgs) -> None:
        ctx = args.context
        assert args.ci_provider != "none" and args.ci_repository  # _validate guarantees both
        identity = ci_identity(args.ci_provider, args.ci_repository, args.ci_deploy_branch,
                               args.gitlab_url, args.ci_oidc_provider_arn, ctx.environment)
        provider_arn: pulumi.Input[str] = args.ci_oidc_provider_arn or self._oidc_provider(identity).arn
        self.oidc_provider_arn = pulumi.Output.from_input(provider_arn)
        if not args.permissions_boundary_arn:
            pulumi.log.warn(
                "CI deploy role without a permissions boundary: it may create and pass roles named "
                f"{ctx.naming.prefix}-* with any permissions; set iam.permissionsBoundaryArn", resource=self)

        def trust(deploy: bool) -> pulumi.Output[str]:
            return render(lambda arn: web_identity_trust(identity, arn, deploy=deploy), provider_arn)

        managed = {
            "ci-read-only": self._managed_policy(
                "ci-read-only", "CI reads platform metadata (no object, secret or log data)", ci_read_only_policy(ctx)),
            "ci-deploy-tagged": self._managed_policy(
                "ci-deploy-tagged", "CI deploys KMS keys and EC2 network resources tagged as this stack's",
                ci_deploy_tagged_policy(ctx)),
        }
        # The deploy policy denies CI any change to the CI roles and their managed policies. Their
        # ARNs follow from their names; the deploy role's own ARN is not an Output yet at this point.
        protected = [ctx.arn("iam", f"role/{ctx.naming.role(p)}", regional=False) for p in ("ci-preview", "ci-deploy")]
        protected += [ctx.arn("iam", f"policy/{ctx.naming.name(p, kind=NameKind.IAM_POLICY)}", regional=False)
                      for p in managed]
        preview_policy = ci_preview_policy(args.state_bucket_arn)
        preview = self._role(
            "ci-preview", f"CI previews ({identity.repository}, any branch): read-only", trust(deploy=False),
            to_json(preview_policy) if preview_policy else None, attach={"ci-read-only": managed["ci-read-only"]},
        )
        deploy = self._role(
            "ci-deploy", f"CI deploys ({identity.repository}@{identity.deploy_branch})", trust(deploy=True),
            to_json(ci_deploy_policy(ctx, args.permissions_boundary_arn, args.state_bucket_arn, protected)),
            attach=managed,
        )
        self.ci_preview_role_arn = preview.arn
        self.ci_deploy_role_arn = deploy.arn
        self.role_arns.update({"ci-preview": preview.arn, "ci-deploy": deploy.arn})

    def _oidc_provider(self, identity: CiIdentity) -> aws.iam.OpenIdConnectProvider:
        """The account's provider for the CI issuer. IAM holds one per URL and account: stacks
        sharing an account create it in one stack and pass its ARN to the others."""
        ctx = self._args.context
        # No thumbprints: IAM checks GitHub's and GitLab.com's certificates against trusted CAs, and
        # fetches the thumbprint of other (self-managed GitLab) hosts itself.
        return aws.iam.OpenIdConnectProvider(
            f"{self._prefix}-ci-oidc",
            url=identity.url,
            client_id_lists=[identity.audience],
            tags=ctx.tagging.resource(COMPONENT, ctx.naming.name("ci-oidc")),
            opts=self._child,
        )
