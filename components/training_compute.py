"""Where models are built: ECR repositories for the images and the SageMaker training pipeline.

* Two ECR repositories (``<prefix>-training``, ``<prefix>-inference``): every push scanned, tags
  immutable (a tag always names the same image, so "which model is serving" has one answer),
  encrypted with the platform's data key, and a lifecycle policy that keeps the last N images.
* A SageMaker pipeline (preprocess → train → evaluate → quality gate → register; see
  :mod:`.sagemaker_pipeline`) whose jobs run with the training role, in the training subnets
  behind the workload security group, with network isolation, inter-container encryption,
  KMS-encrypted volumes and outputs, a maximum runtime and, if configured, managed spot capacity.
  The pipeline itself runs with the pipelines role, which may pass the training role to jobs.
  With ``mlflow_tracking_arn`` the train and evaluate steps log to the stack's MLflow (through the
  VPC endpoint, so without container network isolation; the other steps keep it).

The repositories are stateful: ``protect``/``retain_on_delete`` come from the environment's config.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_blueprint.components.arg_checks import id_list_problems, type_problems
from mlops_blueprint.components.sagemaker_pipeline import PipelineSpec, build_definition
from mlops_blueprint.components.training_compute_settings import TrainingComputeSettings
from mlops_blueprint.context import StackContext
from mlops_blueprint.naming import NameKind
from mlops_blueprint.sagemaker_values import ecr_registry
from mlops_blueprint.validation import raise_invalid_args

COMPONENT = "training-compute"
REPOSITORIES = ("training", "inference")
UNTAGGED_EXPIRY_DAYS = 7
_MLFLOW_ARN = re.compile(r"arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:mlflow-(app|tracking-server)/[\w-]+")
_GROUP_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")


def repository_name(ctx: StackContext, purpose: str) -> str:
    return ctx.naming.name(purpose, kind=NameKind.ECR_REPOSITORY)


def default_model_package_group_name(ctx: StackContext) -> str:
    """``<project>-<environment>-models``, used when the stack passes no group."""
    return ctx.naming.name("models", kind=NameKind.SAGEMAKER)


def pipeline_name(ctx: StackContext) -> str:
    # PlatformRoles lets the pipelines role describe/stop executions of "<prefix>-*" pipelines.
    return ctx.naming.name("training", kind=NameKind.SAGEMAKER)


def lifecycle_policy(keep_images: int) -> dict[str, Any]:
    """Untagged layers go after a week; of the rest, the newest ``keep_images`` stay."""
    return {"rules": [
        {"rulePriority": 1, "description": f"expire untagged images after {UNTAGGED_EXPIRY_DAYS} days",
         "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
                       "countNumber": UNTAGGED_EXPIRY_DAYS},
         "action": {"type": "expire"}},
        # "any" must be the last rule (highest priority number), as ECR requires.
        {"rulePriority": 2, "description": f"keep the last {keep_images} images",
         "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep_images},
         "action": {"type": "expire"}},
    ]}


@dataclass(frozen=True)
class TrainingComputeArgs:
    """This stack's role, key, network and buckets the training jobs use, and the settings (config.training)."""

    context: StackContext
    kms_key_arn: pulumi.Input[str]                 # Kms.data_key_arn: ECR, job volumes and outputs
    training_role_arn: pulumi.Input[str]           # PlatformRoles.training_role_arn: the jobs' role
    pipelines_role_arn: pulumi.Input[str]          # PlatformRoles.pipelines_role_arn: runs the pipeline
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]  # Network.training_subnet_ids
    security_group_ids: pulumi.Input[Sequence[pulumi.Input[str]]]  # (Network.workload_security_group_id,)
    datasets_bucket_name: pulumi.Input[str]        # ArtifactStore.datasets_bucket_name: training input
    models_bucket_name: pulumi.Input[str]          # ArtifactStore.models_bucket_name: pipeline outputs
    # The model package group registered models go to (the tracking issue creates the groups);
    # None: default_model_package_group_name(context).
    model_package_group_name: pulumi.Input[str] | None = None
    # TrackingServer.tracking_server_arn (SageMaker backends): train/evaluate log runs there. None: no tracking.
    mlflow_tracking_arn: pulumi.Input[str] | None = None
    # PlatformRoles.depends_on("pipelines", "training"): CreatePipeline checks the role; jobs need their grants.
    role_policies: Sequence[pulumi.Resource] = ()
    protect: bool = False                          # the repositories (prod: True)
    retain_on_delete: bool = False
    force_delete: bool = False                     # dev only: delete repositories that still hold images
    settings: TrainingComputeSettings = field(default_factory=TrainingComputeSettings)

    def problems(self) -> list[str]:
        """Wiring problems, each naming the arg and what would be valid (the settings validated themselves)."""
        problems = type_problems(self, context=StackContext, settings=TrainingComputeSettings)
        problems += id_list_problems(self, "subnet_ids", "security_group_ids")
        for arg in ("kms_key_arn", "training_role_arn", "pipelines_role_arn", "datasets_bucket_name",
                    "models_bucket_name"):
            if getattr(self, arg) in (None, ""):
                problems.append(f"{arg}: required")
        group = self.model_package_group_name
        if isinstance(group, str) and not _GROUP_NAME.fullmatch(group):
            problems.append(f"model_package_group_name: {group!r} is not a model package group name "
                            "(1 to 63 letters, digits and '-')")
        tracking = self.mlflow_tracking_arn
        if isinstance(tracking, str) and not _MLFLOW_ARN.fullmatch(tracking):
            problems.append(f"mlflow_tracking_arn: {tracking!r} is not a SageMaker MLflow app or tracking server ARN "
                            "(arn:<partition>:sagemaker:<region>:<account>:mlflow-app/<id> or "
                            "mlflow-tracking-server/<name>)")
        if self.protect and self.force_delete:
            problems.append("force_delete and protect are contradictory: a protected repository must not be "
                            "force-deletable")
        return problems


class TrainingCompute(pulumi.ComponentResource):
    """ECR repositories (training, inference) and the SageMaker training pipeline."""

    repositories: dict[str, aws.ecr.Repository]     # by purpose: training, inference
    repository_urls: dict[str, pulumi.Output[str]]
    training_repository_url: pulumi.Output[str]
    inference_repository_url: pulumi.Output[str]
    pipeline: aws.sagemaker.Pipeline
    pipeline_arn: pulumi.Output[str]
    pipeline_name: pulumi.Output[str]
    pipeline_definition: pulumi.Output[str]        # the JSON the pipeline runs
    model_package_group_name: pulumi.Output[str]   # where the Register step puts models
    training_role_arn: pulumi.Output[str]          # the role the jobs run with

    def __init__(self, name: str, args: TrainingComputeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        raise_invalid_args("TrainingComputeArgs", args.problems())  # before anything is registered
        super().__init__("mlops:ml:TrainingCompute", name, None, opts)
        self._prefix = name
        self._args = args
        ctx = args.context

        self.repositories = {purpose: self._repository(purpose) for purpose in REPOSITORIES}
        registry = ecr_registry(ctx.account_id, ctx.region, ctx.partition)
        # The URL from the repository's name output: known before the repository exists (as the
        # account and region are) and still ordered after it.
        self.repository_urls = {
            purpose: repo.name.apply(lambda n: f"{registry}/{n}") for purpose, repo in self.repositories.items()
        }
        self.training_repository_url = self.repository_urls["training"]
        self.inference_repository_url = self.repository_urls["inference"]
        self.model_package_group_name = pulumi.Output.from_input(
            args.model_package_group_name or default_model_package_group_name(ctx))
        self.training_role_arn = pulumi.Output.from_input(args.training_role_arn)

        self.pipeline_definition = self._definition()
        self.pipeline = self._pipeline()
        self.pipeline_arn, self.pipeline_name = self.pipeline.arn, self.pipeline.pipeline_name
        self.register_outputs({
            "trainingRepositoryUrl": self.training_repository_url,
            "inferenceRepositoryUrl": self.inference_repository_url,
            "pipelineArn": self.pipeline_arn,
            "pipelineName": self.pipeline_name,
            "modelPackageGroupName": self.model_package_group_name,
        })

    def _repository(self, purpose: str) -> aws.ecr.Repository:
        args, ctx = self._args, self._args.context
        name = repository_name(ctx, purpose)
        repo = aws.ecr.Repository(
            f"{self._prefix}-{purpose}",
            name=name,
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
            encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(
                encryption_type="KMS", kms_key=args.kms_key_arn)],
            force_delete=args.force_delete,
            tags=ctx.tagging.resource(COMPONENT, name),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.retain_on_delete),
        )
        aws.ecr.LifecyclePolicy(
            f"{self._prefix}-{purpose}",
            repository=repo.name,
            policy=json.dumps(lifecycle_policy(args.settings.ecr_keep_images), sort_keys=True),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return repo

    def _definition(self) -> pulumi.Output[str]:
        """The definition JSON, serialized once all of this stack's values are known."""
        args, ctx = self._args, self._args.context
        name = pipeline_name(ctx)
        tags = ctx.tagging.full(COMPONENT)

        def build(values: dict[str, Any]) -> str:
            lists = {key: tuple(values[key]) for key in ("subnet_ids", "security_group_ids")}
            spec = PipelineSpec(**{**values, **lists}, pipeline_name=name, training=args.settings, tags=tags)
            return json.dumps(build_definition(spec), sort_keys=True)

        return pulumi.Output.all(
            training_role_arn=args.training_role_arn, datasets_bucket=args.datasets_bucket_name,
            models_bucket=args.models_bucket_name, kms_key_arn=args.kms_key_arn,
            training_repository_url=self.training_repository_url,
            inference_repository_url=self.inference_repository_url,
            model_package_group_name=self.model_package_group_name,
            # Whole lists: a shared network's subnet ids are one Output of a list.
            subnet_ids=pulumi.Output.from_input(args.subnet_ids),
            security_group_ids=pulumi.Output.from_input(args.security_group_ids),
            mlflow_tracking_arn=args.mlflow_tracking_arn,
        ).apply(build)

    def _pipeline(self) -> aws.sagemaker.Pipeline:
        args, ctx = self._args, self._args.context
        name = pipeline_name(ctx)
        return aws.sagemaker.Pipeline(
            f"{self._prefix}-pipeline",
            pipeline_name=name,
            pipeline_display_name=name,
            pipeline_description=f"{ctx.naming.prefix}: preprocess, train, evaluate, quality gate, register",
            pipeline_definition=self.pipeline_definition,
            role_arn=args.pipelines_role_arn,
            tags=ctx.tagging.resource(COMPONENT, name),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.role_policies)),
        )
