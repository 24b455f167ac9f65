"""The platform roles' policy documents, built as dicts: statements shared by several roles, one
policy per role, MLflow access and the CI policies (pure builders, no resources)."""

from __future__ import annotations

from typing import Any

from mlops_blueprint.components.ci_trust import (
    deploy_statements,
    owned_prefix,
    read_only_statements,
    state_bucket_statements,
    tagged_deploy_statements,
)
from mlops_blueprint.context import StackContext
from mlops_blueprint.policy_documents import Statement, document, in_region, statement, vpc_interface_statements
from mlops_blueprint.components.tracking_server_settings import SAGEMAKER_BACKENDS

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
