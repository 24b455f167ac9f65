"""The ``models`` config section, and how a model is read against the ``serving`` defaults.

The ``serving`` section (and its per-environment defaults) is the serving components' settings,
:class:`~mlops_blueprint.components.serving_endpoint_settings.ServingEndpointSettings`.

Stack file keys (camelCase, under ``mlops-platform:``)::

    models:
      - name: churn
        image: inference:1.4.2            # repository:tag in this stack's ECR, or a full ECR image URI
        modelDataUrl: s3://<models bucket>/churn/1.4.2/model.tar.gz
        variants:                         # default: one variant "AllTraffic" with weight 1
          - {name: current, weight: 0.9}
          - {name: challenger, weight: 0.1, image: inference:1.5.0, modelDataUrl: s3://.../model.tar.gz}
      - name: fraud                       # registry form, instead of image + modelDataUrl:
        modelPackageGroup: fraud          # a family of tracking.modelFamilies (group <project>-<env>-fraud)
        modelPackageVersion: latest-approved   # default; or a pinned version number, e.g. 3
      - name: chat                        # LLM form: an open LLM on TGI/LMI (mlops_blueprint.components.llm_settings)
        llm: {container: tgi, weightsS3Uri: s3://<models bucket>/llm/mistral-7b/}
        variants: [{instanceType: ml.g5.2xlarge}]

Checks that need more than one section (the cluster, the environment, model against serving defaults) are
:func:`serving_problems`. :func:`resolve_model` turns a model plus the serving defaults into the
fully specified variants the components deploy, so config checks and components share one reading.
A registry-form model gets its image, model data and container environment from the package
:mod:`mlops_blueprint.model_registry` resolves when the program runs, before anything registers.

Serverless inference is an explicit choice, off by default in every environment: SageMaker
serverless endpoints do not support VPC configuration, network isolation, a customer-managed
KMS key (``KmsKeyId``), data capture or more than one production variant. A serverless model is
therefore deployed without those controls, which the policy pack reports (``sagemaker-model-vpc``,
``sagemaker-model-network-isolation``, ``sagemaker-endpoint-kms``); staging and prod reject it
outright, because they must capture traffic.

The ``training`` section is
:class:`~mlops_blueprint.components.training_compute_settings.TrainingComputeSettings`; what a
valid instance type, model name or image is, :mod:`mlops_blueprint.sagemaker_values`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from mlops_blueprint.components.llm_settings import (
    LlmSettings, gpu_count, llm_environment, llm_model_problems, llm_rollback_latency,
)
from mlops_blueprint.components.serving_endpoint_settings import (
    AutoscalingSettings, DeploymentOverride, DeploymentSettings, ServerlessSettings, ServingEndpointSettings,
)
from mlops_blueprint.config_base import Section
from mlops_blueprint.naming import Naming
from mlops_blueprint.sagemaker_values import ImageRef, InstanceType, ModelName, S3Uri, VariantName, has_local_storage
from mlops_blueprint.validation import s3_bucket_of

SERVING_BACKENDS: tuple[str, ...] = ("sagemaker", "kubernetes")
DEPLOYMENT_STRATEGIES: tuple[str, ...] = ("canary", "linear", "all-at-once")
DEFAULT_VARIANT = "AllTraffic"
LATEST_APPROVED = "latest-approved"  # modelPackageVersion: the newest Approved package of the group
MAX_VARIANTS = 10  # SageMaker: at most 10 production variants per endpoint configuration
# The ArtifactStore bucket (Naming.bucket purpose) that holds model artifacts: the serving role reads only it.
MODELS_BUCKET_PURPOSE = "models"


def _positive_weight(weights: list[float]) -> bool:
    return any(w > 0 for w in weights)





class VariantSettings(Section):
    """One production variant: a weight, and what differs from the model (A/B, canary)."""

    name: VariantName = Field(default=DEFAULT_VARIANT, description="variant name, kept across deployments")
    weight: float = Field(default=1.0, ge=0, description="relative share of traffic (non-negative)")
    image: ImageRef | None = Field(default=None, description="this variant's image (default: the model's)")
    model_data_url: S3Uri | None = Field(default=None, description="this variant's artifacts (default: the model's)")
    instance_type: InstanceType | None = Field(default=None, description="instance-backed: the instance type")
    initial_instance_count: int | None = Field(default=None, ge=1, le=1000)
    autoscaling: AutoscalingSettings | None = None
    serverless: ServerlessSettings | None = Field(default=None, description="serverless instead of instances")

    @model_validator(mode="after")
    def _one_kind(self) -> VariantSettings:
        instance_fields = [k for k, v in (("instanceType", self.instance_type),
                                          ("initialInstanceCount", self.initial_instance_count),
                                          ("autoscaling", self.autoscaling)) if v is not None]
        if self.serverless is not None and instance_fields:
            raise ValueError(f"variant {self.name!r} sets serverless and {', '.join(instance_fields)}; "
                             "a variant is either serverless or instance-backed")
        return self


class ServedModelSettings(Section):
    """One served model: an endpoint (SageMaker) or a deployment (Kubernetes)."""

    name: ModelName = Field(description="lowercase name, e.g. churn (endpoint <project>-<environment>-<name>)")
    image: ImageRef | None = Field(default=None, description="pinned form: inference image, repository:tag in this "
                                   "stack's ECR or an ECR image URI (or use modelPackageGroup)")
    model_data_url: S3Uri | None = Field(default=None, description="pinned form: s3:// URI of the model artifacts "
                                         "(model.tar.gz)")
    model_package_group: str | None = Field(default=None, description="registry form: a model family of "
                                            "tracking.modelFamilies; serves a package of its group")
    model_package_version: int | Literal["latest-approved"] | None = Field(
        default=None, description="registry form: latest-approved (default) or a pinned package version, e.g. 3")
    llm: LlmSettings | None = Field(default=None, description="LLM form: an open LLM on the region's TGI or LMI "
                                  "container, weights staged in S3 (see mlops_blueprint.components.llm_settings)")
    variants: list[VariantSettings] = Field(default_factory=lambda: [VariantSettings()], min_length=1,
                                          max_length=MAX_VARIANTS)
    environment: dict[str, str] = Field(default_factory=dict, description="container environment variables")
    deployment: DeploymentOverride | None = Field(default=None, description="changes to serving.deployment")
    data_capture_percent: int | None = Field(default=None, ge=0, le=100,
                                             description="this model's capture share (default: serving's)")

    @field_validator("environment")
    @classmethod
    def _environment(cls, values: dict[str, str]) -> dict[str, str]:
        bad = [k for k in values if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,1023}", k)]
        if bad:
            raise ValueError(f"environment variable names {', '.join(map(repr, bad))} are not valid; "
                             "expected letters, digits and '_', not starting with a digit")
        return values

    @model_validator(mode="after")
    def _variants(self) -> ServedModelSettings:
        names = [v.name for v in self.variants]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate variant names: {', '.join(duplicates)}")
        if not _positive_weight([v.weight for v in self.variants]):
            raise ValueError("every variant has weight 0; at least one must be positive to receive traffic")
        return self

    @model_validator(mode="after")
    def _one_source(self) -> ServedModelSettings:
        """Exactly one of the two forms: pinned (image + modelDataUrl) or registry (modelPackageGroup)."""
        where = f"model {self.name!r}"
        if self.llm is not None:
            other = [k for k, v in (("image", self.image), ("modelDataUrl", self.model_data_url),
                                    ("modelPackageGroup", self.model_package_group),
                                    ("modelPackageVersion", self.model_package_version)) if v is not None]
            if other:
                raise ValueError(f"{where} sets llm and {' and '.join(other)}; an llm model takes its image from "
                                 "llm.container/llm.version and its weights from llm.weightsS3Uri: remove "
                                 f"{' and '.join(other)}")
        elif self.model_package_group is not None:
            pinned = [k for k, v in (("image", self.image), ("modelDataUrl", self.model_data_url)) if v is not None]
            if pinned:
                raise ValueError(f"{where} sets modelPackageGroup and {' and '.join(pinned)}; use one form: "
                                 "modelPackageGroup (+ modelPackageVersion) to serve from the model registry, or "
                                 "image + modelDataUrl to pin an image and artifacts")
        else:
            if self.model_package_version is not None:
                raise ValueError(f"{where} sets modelPackageVersion without modelPackageGroup; name the group "
                                 "(a model family of tracking.modelFamilies) or remove modelPackageVersion")
            missing = [k for k, v in (("image", self.image), ("modelDataUrl", self.model_data_url)) if v is None]
            if missing:
                raise ValueError(f"{where} has no {' and no '.join(missing)}; set image + modelDataUrl (pinned), or "
                                 "modelPackageGroup to serve the latest approved package of a model family")
        return self

    @field_validator("model_package_version", mode="before")
    @classmethod
    def _package_version(cls, value: Any) -> Any:
        if value is None or value == LATEST_APPROVED or (isinstance(value, int) and not isinstance(value, bool)
                                                          and value >= 1):
            return value
        raise ValueError(f"{value!r} is not a model package version; expected {LATEST_APPROVED} (the newest Approved "
                         "package, the default) or a version number >= 1, e.g. 3")

    @property
    def from_registry(self) -> bool:
        return self.model_package_group is not None

    @property
    def package_version(self) -> int | str:
        """The version the registry form serves: a number, or ``latest-approved``."""
        return self.model_package_version or LATEST_APPROVED


# -- the fully specified reading the components deploy -------------------------------------------


@dataclass(frozen=True)
class ResolvedVariant:
    """A variant with every default applied: exactly one of ``serverless`` / ``instance_type``."""

    name: str
    weight: float
    image: str
    model_data_url: str
    serverless: ServerlessSettings | None
    instance_type: str | None
    initial_instance_count: int | None
    autoscaling: AutoscalingSettings | None

    @property
    def container(self) -> tuple[str, str]:
        """What makes a SageMaker model: variants with the same container share one."""
        return (self.image, self.model_data_url)


@dataclass(frozen=True)
class ResolvedModel:
    name: str
    variants: tuple[ResolvedVariant, ...]
    deployment: DeploymentSettings
    data_capture_percent: int
    environment: dict[str, str]
    llm: LlmSettings | None = None  # the LLM form: image by region, weights from an S3 prefix

    @property
    def serverless(self) -> bool:
        return any(v.serverless is not None for v in self.variants)

    @property
    def encrypts_with_kms(self) -> bool:
        """Whether the endpoint configuration can take a KmsKeyId: not serverless, no instance store."""
        return not self.serverless and not any(has_local_storage(v.instance_type or "") for v in self.variants)

    @property
    def captures_data(self) -> bool:
        return self.data_capture_percent > 0 and not self.serverless


def resolve_model(serving: ServingEndpointSettings, model: ServedModelSettings) -> ResolvedModel:
    """``model`` with the serving defaults applied (ValueError if a per-model override is invalid)."""
    variants = []
    for variant in model.variants:
        serverless = variant.serverless
        instance_backed = variant.instance_type is not None or variant.initial_instance_count is not None \
            or variant.autoscaling is not None
        if serverless is None and not instance_backed and serving.serverless and model.llm is None:
            serverless = serving.serverless_settings  # (an LLM needs a GPU: never serverless by default)
        # serving.instanceType is for the CPU models; an LLM's variants default to a GPU type by its size.
        default_type = model.llm.default_instance_type if model.llm is not None else serving.instance_type
        variants.append(ResolvedVariant(
            name=variant.name,
            weight=variant.weight,
            image=variant.image or model.image,
            model_data_url=variant.model_data_url or model.model_data_url,
            serverless=serverless,
            instance_type=None if serverless else (variant.instance_type or default_type),
            initial_instance_count=None if serverless else (variant.initial_instance_count or serving.initial_instance_count),
            autoscaling=None if serverless else (variant.autoscaling or serving.autoscaling),
        ))
    deployment = model.deployment.apply(serving.deployment) if model.deployment else serving.deployment
    if model.llm is not None:
        deployment = llm_rollback_latency(deployment, model.deployment)
    capture = serving.data_capture_percent if model.data_capture_percent is None else model.data_capture_percent
    environment = dict(model.environment)
    if model.llm is not None:  # the container's settings, the model's own on top
        environment = {**llm_environment(model.llm, gpu_count(variants[0].instance_type or "")), **environment}
    return ResolvedModel(name=model.name, variants=tuple(variants), deployment=deployment,
                         data_capture_percent=capture, environment=environment, llm=model.llm)


def model_problems(serving: ServingEndpointSettings, model: ServedModelSettings, *, environment: str | None = None) -> list[str]:
    """What is wrong with one model served on SageMaker under the serving defaults; one line per
    problem, naming keys."""
    where = f"models[{model.name}]"
    try:
        resolved = resolve_model(serving, model)
    except ValidationError as exc:
        return [f"{where}.deployment: {error['msg'].removeprefix('Value error, ')}" for error in exc.errors()]
    problems: list[str] = llm_model_problems(model, resolved)
    serverless = [v.name for v in resolved.variants if v.serverless is not None]
    if serverless and len(resolved.variants) > 1:
        problems.append(f"{where}.variants: serverless endpoints serve a single variant, but {', '.join(serverless)} "
                        f"is serverless among {len(resolved.variants)} variants; use instances for A/B and canary variants")
    if serverless and resolved.data_capture_percent > 0:
        problems.append(f"{where}: serverless endpoints cannot capture data, but dataCapturePercent is "
                        f"{resolved.data_capture_percent}; set it to 0 or use instances")
    if serverless and environment in ("staging", "prod"):
        problems.append(f"{where}: serverless variants ({', '.join(serverless)}) are not allowed in {environment}: "
                        "they run outside the VPC, without network isolation, the KMS key or data capture")
    if environment in ("staging", "prod") and resolved.data_capture_percent == 0:
        problems.append(f"{where}: dataCapturePercent is 0; {environment} endpoints must capture traffic "
                        "(serving.dataCapturePercent or the model's dataCapturePercent > 0)")
    strategy = resolved.deployment.strategy
    if serverless and strategy != "all-at-once":
        problems.append(f"{where}.deployment.strategy: serverless endpoints deploy all-at-once, not {strategy}")
    for variant in resolved.variants:
        if strategy != "all-at-once" and variant.initial_instance_count is not None and variant.initial_instance_count < 2:
            problems.append(f"{where}.variants[{variant.name}]: {strategy} deployments shift traffic by instance and "
                            "need at least 2 (the first step may use at most half of the fleet); raise "
                            "initialInstanceCount or use deployment.strategy: all-at-once")
        scaling = variant.autoscaling
        if scaling is not None and variant.initial_instance_count is not None and not (
                scaling.min_capacity <= variant.initial_instance_count <= scaling.max_capacity):
            problems.append(f"{where}.variants[{variant.name}]: initialInstanceCount {variant.initial_instance_count} is "
                            f"outside autoscaling's {scaling.min_capacity}..{scaling.max_capacity}")
    return problems


def registry_problems(models: list[ServedModelSettings], model_families: list[str]) -> list[str]:
    """Registry-form models must name a model package group of this stack (tracking.modelFamilies)."""
    return [f"models[{m.name}].modelPackageGroup: {m.model_package_group!r} is not a model family of this stack; "
            f"expected one of tracking.modelFamilies ({', '.join(model_families) or 'none'}), or add it there"
            for m in models if m.from_registry and m.model_package_group not in model_families]


def models_bucket_pattern(project: str, environment: str, region: str,
                          account_id: str | None = None) -> tuple[re.Pattern[str], str]:
    """This stack's models bucket name, and how to show it; for any account when ``account_id`` is
    None (config alone does not know the account: ``...-models-<account>-<region>``)."""
    placeholder = account_id or "0" * 12
    name = Naming(project, environment, placeholder, region).bucket(MODELS_BUCKET_PURPOSE)
    if account_id:
        return re.compile(re.escape(name)), name
    return re.compile(re.escape(name).replace(placeholder, r"\d{12}")), name.replace(placeholder, "<account>")


def model_data_problems(models: list[ServedModelSettings], *, project: str, environment: str, region: str,
                        account_id: str | None = None) -> list[str]:
    """Model artifacts must be in this stack's models bucket: the serving role may read no other, and
    CreateModel (or the first invocation) would fail on a bucket it cannot read. Checked by name
    pattern from config alone, exactly once the account is known."""
    pattern, shown = models_bucket_pattern(project, environment, region, account_id)
    problems: list[str] = []
    for model in models:
        urls = [("modelDataUrl", model.model_data_url)]
        urls += [(f"variants[{v.name}].modelDataUrl", v.model_data_url) for v in model.variants]
        if model.llm is not None:
            urls.append(("llm.weightsS3Uri", model.llm.weights_s3_uri))
        for key, url in urls:
            bucket = s3_bucket_of(url)
            if bucket is not None and not pattern.fullmatch(bucket):
                problems.append(f"models[{model.name}].{key}: {url!r} is outside this stack's models bucket; the "
                                f"serving role may read only s3://{shown}/<key>: upload the artifacts there")
    return problems


def kubernetes_model_problems(model: ServedModelSettings) -> list[str]:
    """What the kubernetes backend cannot serve: weighted variants (the SageMaker settings are ignored), LLMs."""
    if model.llm is not None:
        return [f"models[{model.name}].llm: the kubernetes backend does not serve LLM containers; use "
                "serving.backend: sagemaker"]
    if len(model.variants) > 1:
        return [f"models[{model.name}].variants: the kubernetes backend serves one variant per model (weighted "
                "traffic needs SageMaker endpoints or a service mesh)"]
    return []


def serving_problems(serving: ServingEndpointSettings, models: list[ServedModelSettings], has_kubernetes_cluster: bool, *,
                     environment: str | None = None) -> list[str]:
    """Checks that need more than one section; one line per problem, naming the keys.

    ``has_kubernetes_cluster``: the platform's ``kubernetes`` section is set. ``environment``: when
    given, staging/prod must capture data and may not run serverless.
    """
    problems: list[str] = []
    if serving.backend == "kubernetes" and not has_kubernetes_cluster:
        problems.append("serving.backend is 'kubernetes' but the kubernetes section (kubeconfig/context, "
                        "oidcProviderArn, nodeSecurityGroupId) is not set; add it or use backend: sagemaker")
    names = [m.name for m in models]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        problems.append(f"models: duplicate model names {', '.join(duplicates)}")
    for model in models:
        if serving.backend == "kubernetes":
            problems += kubernetes_model_problems(model)
        else:
            problems += model_problems(serving, model, environment=environment)
    return problems
