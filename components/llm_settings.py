"""A model entry's ``llm`` section: an open LLM (Llama 2, Mixtral, Mistral, ...) served with the
region's Hugging Face TGI or LMI (DJL) container.

Stack file keys, under a ``models:`` entry::

    models:
      - name: chat
        llm:
          container: tgi                  # tgi (text-generation-inference) or lmi (DJL LMI)
          version: 3.3.6                  # the container's version (default: DEFAULT_VERSIONS)
          weightsS3Uri: s3://<models bucket>/llm/mistral-7b-instruct/   # uncompressed weights, a prefix
          sizeBillions: 7                 # parameters, in billions: sizes the default timeouts and instance type
          containerStartupHealthCheckTimeoutSeconds: 600   # 60..3600 (default by size)
          modelDataDownloadTimeoutSeconds: 600             # 60..3600 (default by size)
          targetConcurrentRequests: 4     # autoscaling target, concurrent requests per instance
        variants: [{instanceType: ml.g5.2xlarge}]          # GPU types only (default: by size, not serving's)

**Weights in S3.** Endpoints run with network isolation, so the container cannot download from the
Hugging Face Hub: the weights are staged (e.g. ``huggingface-cli download`` then ``aws s3 sync``)
under a prefix of the stack's models bucket, which SageMaker copies uncompressed to
``/opt/ml/model`` (``ModelDataSource``: ``S3Prefix``, ``CompressionType: None``). The container is
pointed there (``HF_MODEL_ID=/opt/ml/model``); no Hub token is set or accepted.

**Image.** Resolved for the stack's region by :mod:`mlops_blueprint.llm_images` from the image
data AWS maintains in sagemaker-core (the ``[llm]`` extra), never from a table kept here.

**Scaling.** Variants with ``autoscaling`` track ``SageMakerVariantConcurrentRequestsPerModelHighResolution``
(concurrent requests per model container, reported every 10 seconds) instead of invocations per
instance: a generation holds a request for seconds, so concurrency is what saturates an LLM server.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator

from mlops_blueprint.config_base import Section
from mlops_blueprint.validation import S3_URI

if TYPE_CHECKING:
    from mlops_blueprint.components.serving_endpoint_settings import DeploymentOverride, DeploymentSettings
    from mlops_blueprint.components.served_model_settings import ResolvedModel, ServedModelSettings

MODEL_DIR = "/opt/ml/model"  # where SageMaker puts the model data in the container
# SageMaker's bounds for both production-variant timeouts (CreateEndpointConfig).
MIN_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS = 60, 3600
# Parameters (billions) -> (startup health check, model data download) timeouts, seconds: loading
# and warming up a larger model takes longer; the largest tier is SageMaker's maximum.
TIMEOUTS_BY_SIZE: tuple[tuple[float, int, int], ...] = (
    (8, 600, 600), (20, 900, 900), (80, 1800, 1800), (float("inf"), 3600, 3600),
)
# Parameters (billions) -> the instance type a variant that names none gets: fp16 weights (2 bytes a
# parameter) plus room for the KV cache in the GPUs' memory (A10G: 24 GiB, 1/4/8 per instance;
# A100: 8 x 40 GiB). Mixtral 8x7B (47B) and Llama 2 70B fit ml.g5.48xlarge, beyond that ml.p4d.
INSTANCE_BY_SIZE: tuple[tuple[float, str], ...] = (
    (8, "ml.g5.2xlarge"), (20, "ml.g5.12xlarge"), (80, "ml.g5.48xlarge"), (float("inf"), "ml.p4d.24xlarge"),
)
# The rollback alarm's model-latency floor: a real-time invocation may run 60 s, and an LLM's answer
# takes seconds, so only answers near that limit mean a bad deployment.
ROLLBACK_LATENCY_MS = 60_000
# Environment variables a Hub download would use: weights come from S3, so none is accepted.
HUB_VARIABLES = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_API_TOKEN")
# NVIDIA GPU instance families SageMaker hosts (x86: the TGI and LMI images are amd64 only).
_GPU_INSTANCE = re.compile(r"ml\.(?P<family>g4dn|g5|g6|g6e|p3|p3dn|p4d|p4de|p5|p5e|p5en)\.(?P<size>\d*xlarge)")
_GPUS_BY_SIZE = {"12xlarge": 4, "24xlarge": 4, "48xlarge": 8}  # g4dn/g5/g6/g6e; smaller sizes have 1
_P3_GPUS = {"2xlarge": 1, "8xlarge": 4, "16xlarge": 8}


def gpu_count(instance_type: str) -> int | None:
    """NVIDIA GPUs of a SageMaker instance type; None when it has none (or is not one we know)."""
    match = _GPU_INSTANCE.fullmatch(instance_type or "")
    if not match:
        return None
    family, size = match.group("family"), match.group("size")
    if family == "p3":
        return _P3_GPUS.get(size)
    if family.startswith("g"):
        return _GPUS_BY_SIZE.get(size, 1)
    return 8  # p3dn, p4d, p4de, p5*: 8 GPUs in their only sizes


def _weights_problem(value: str) -> str | None:
    match = S3_URI.fullmatch(value) if isinstance(value, str) else None
    if not match or not match.group("key") or not value.endswith("/"):
        return (f"{value!r} is not an S3 prefix of model weights; expected s3://<models bucket>/<prefix>/ "
                "(ending with '/'), e.g. s3://<models bucket>/llm/mistral-7b-instruct/")
    return None


class LlmSettings(Section):
    """An open LLM from S3-staged weights on the region's TGI or LMI container."""

    container: Literal["tgi", "lmi"] = Field(description="tgi (Hugging Face text-generation-inference) or lmi (DJL)")
    version: str | None = Field(default=None, description="container version, e.g. 3.3.6 (default: pinned per container)")
    weights_s3_uri: str = Field(alias="weightsS3Uri", description="S3 prefix (ending '/') of the uncompressed weights "
                                "in the stack's models bucket")
    size_billions: float = Field(default=7, gt=0, le=2000,
                                 description="parameters in billions (sizes the timeouts and default instance type)")
    container_startup_health_check_timeout_seconds: int | None = Field(
        default=None, ge=MIN_TIMEOUT_SECONDS, le=MAX_TIMEOUT_SECONDS, description="60..3600 (default by size)")
    model_data_download_timeout_seconds: int | None = Field(
        default=None, ge=MIN_TIMEOUT_SECONDS, le=MAX_TIMEOUT_SECONDS, description="60..3600 (default by size)")
    target_concurrent_requests: float = Field(default=4, gt=0, le=1000,
                                              description="autoscaling target: concurrent requests per instance")

    @field_validator("weights_s3_uri")
    @classmethod
    def _weights(cls, value: str) -> str:
        problem = _weights_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    def _tier(self) -> tuple[float, int, int]:
        return next(t for t in TIMEOUTS_BY_SIZE if self.size_billions <= t[0])

    @property
    def default_instance_type(self) -> str:
        return next(t for limit, t in INSTANCE_BY_SIZE if self.size_billions <= limit)

    @property
    def startup_timeout(self) -> int:
        return self.container_startup_health_check_timeout_seconds or self._tier()[1]

    @property
    def download_timeout(self) -> int:
        return self.model_data_download_timeout_seconds or self._tier()[2]


def llm_environment(llm: LlmSettings, gpus: int | None) -> dict[str, str]:
    """The container's settings: weights from /opt/ml/model, sharded over the instance's GPUs."""
    if llm.container == "tgi":
        return {"HF_MODEL_ID": MODEL_DIR, "SM_NUM_GPUS": str(gpus or 1)}
    return {"HF_MODEL_ID": MODEL_DIR, "OPTION_TENSOR_PARALLEL_DEGREE": "max"}


def llm_rollback_latency(deployment: DeploymentSettings, override: DeploymentOverride | None) -> DeploymentSettings:
    """A generation takes seconds, so serving's rollback threshold on model latency (milliseconds, for
    tabular models) would roll back every deployment: at least :data:`ROLLBACK_LATENCY_MS` unless the
    model sets ``deployment.alarms.modelLatencyMs`` itself."""
    if override is not None and override.alarms is not None and override.alarms.model_latency_ms is not None:
        return deployment
    alarms = deployment.alarms.model_copy(
        update={"model_latency_ms": max(deployment.alarms.model_latency_ms, ROLLBACK_LATENCY_MS)})
    return deployment.model_copy(update={"alarms": alarms})


def llm_model_problems(model: ServedModelSettings, resolved: ResolvedModel) -> list[str]:
    """What an LLM model cannot be: on CPUs, serverless, on instances with different GPU counts (one
    container serves every variant), or told to reach the Hub. One line per problem, naming keys."""
    if model.llm is None:
        return []
    where = f"models[{model.name}]"
    problems = []
    for variant in resolved.variants:
        key = f"{where}.variants[{variant.name}]"
        if variant.serverless is not None:
            problems.append(f"{key}: LLM containers need GPU instances; serverless endpoints have none (set "
                            "instanceType to a GPU type, e.g. ml.g5.2xlarge)")
        elif gpu_count(variant.instance_type or "") is None:
            problems.append(f"{key}.instanceType: {variant.instance_type!r} has no NVIDIA GPU; LLM containers need one, "
                            "e.g. ml.g5.2xlarge (7B), ml.g5.12xlarge (13B), ml.g5.48xlarge or ml.p4d.24xlarge (70B, Mixtral)")
    counts = {gpu_count(v.instance_type or "") for v in resolved.variants if v.serverless is None}
    if model.llm.container == "tgi" and len(counts - {None}) > 1:
        problems.append(f"{where}.variants: TGI shards over SM_NUM_GPUS, one value for the model's container, but the "
                        "variants' instance types have different GPU counts; use types with the same count or two models")
    for variant in model.variants:
        pinned = [k for k, v in (("image", variant.image), ("modelDataUrl", variant.model_data_url)) if v is not None]
        if pinned:
            problems.append(f"{where}.variants[{variant.name}]: {' and '.join(pinned)} cannot be set on an llm model's "
                            "variant; the image and weights come from the model's llm section")
    if model.environment.get("HF_MODEL_ID", MODEL_DIR) != MODEL_DIR:
        problems.append(f"{where}.environment.HF_MODEL_ID: {model.environment['HF_MODEL_ID']!r}; an isolated endpoint "
                        f"cannot reach the Hugging Face Hub: stage the weights at llm.weightsS3Uri (served from {MODEL_DIR})")
    tokens = [k for k in HUB_VARIABLES if k in model.environment]
    if tokens:
        problems.append(f"{where}.environment: {', '.join(tokens)} set; weights come from S3, so no Hub token is "
                        "needed (and container environment variables are not a place for secrets): remove it")
    return problems


def llm_image_problems(models: list[ServedModelSettings], region: str) -> list[str]:
    """Each LLM model's container image must exist for ``region`` in the installed image data."""
    from mlops_blueprint.llm_images import ImageDataUnavailable, llm_image

    problems = []
    for model in models:
        if model.llm is None:
            continue
        try:
            llm_image(model.llm.container, model.llm.version, region)
        except ImageDataUnavailable as exc:
            problems.append(f"models[{model.name}].llm: {exc}")
        except ValueError as exc:
            problems.append(f"models[{model.name}].llm.version: {exc}")
    return problems
