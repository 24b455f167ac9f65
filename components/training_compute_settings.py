"""The ``training`` config section: what a user sets about :class:`~.training_compute.TrainingCompute`
(training jobs, their images and the SageMaker pipeline that runs them).

Stack file keys (camelCase, under ``mlops-platform:``)::

    training:
      instanceType: ml.m5.xlarge          # training job instances
      maxRuntimeSeconds: 14400            # hard stop of a training job
      spot: true                          # managed spot training ...
      maxWaitSeconds: 28800               # ... waits at most this long, >= maxRuntimeSeconds
      volumeSizeGb: 50
      ecrKeepImages: 30                   # ECR lifecycle: keep the last N images per repository
      networkIsolation: true              # training/processing containers make no network calls
      interContainerEncryption: true      # distributed training traffic is encrypted
      qualityGate: {metric: accuracy, threshold: 0.8, higherIsBetter: true}

Per-environment defaults are :data:`TRAINING_DEFAULTS`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from mlops_blueprint.config_base import Section
from mlops_blueprint.sagemaker_values import InstanceType

MAX_TRAINING_RUNTIME_SECONDS = 28 * 24 * 3600  # SageMaker's ceiling for MaxRuntimeInSeconds


class QualityGateSettings(Section):
    """The pipeline registers a model only if the evaluation metric passes this gate."""

    metric: str = Field(default="accuracy", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$",
                        description="key under metrics in the evaluation report, e.g. accuracy or rmse")
    threshold: float = Field(default=0.8, description="the value the metric must reach")
    higher_is_better: bool = Field(default=True, description="true: metric >= threshold passes; false: <=")


class TrainingComputeSettings(Section):
    """Training jobs, their images and the SageMaker pipeline that runs them."""

    instance_type: InstanceType = Field(default="ml.m5.xlarge", description="training instance type")
    instance_count: int = Field(default=1, ge=1, le=100, description="training instances (distributed training)")
    processing_instance_type: InstanceType = Field(default="ml.m5.large", description="preprocessing/evaluation instance type")
    max_runtime_seconds: int = Field(default=14400, ge=60, le=MAX_TRAINING_RUNTIME_SECONDS,
                                     description="hard stop of a training job (60 s to 28 days)")
    spot: bool = Field(default=False, description="managed spot training (up to 90% cheaper, may be interrupted)")
    max_wait_seconds: int | None = Field(default=None, ge=60, le=MAX_TRAINING_RUNTIME_SECONDS,
                                         description="spot only: total wait for capacity plus runtime, >= maxRuntimeSeconds")
    volume_size_gb: int = Field(default=50, ge=1, le=16384, description="EBS volume per training instance")
    ecr_keep_images: int = Field(default=30, ge=1, le=1000, description="ECR lifecycle: keep the last N images")
    network_isolation: bool = Field(default=True, description="job containers make no network calls")
    inter_container_encryption: bool = Field(default=True, description="encrypt traffic between training nodes")
    quality_gate: QualityGateSettings = Field(default_factory=QualityGateSettings)
    model_approval_status: Literal["PendingManualApproval", "Approved"] = Field(
        default="PendingManualApproval", description="status of models the pipeline registers")

    @model_validator(mode="after")
    def _spot(self) -> TrainingComputeSettings:
        if self.spot:
            if self.max_wait_seconds is None:
                raise ValueError("spot training needs maxWaitSeconds (>= maxRuntimeSeconds)")
            if self.max_wait_seconds < self.max_runtime_seconds:
                raise ValueError(f"maxWaitSeconds ({self.max_wait_seconds}) must be at least maxRuntimeSeconds "
                                 f"({self.max_runtime_seconds})")
        elif self.max_wait_seconds is not None:
            raise ValueError("maxWaitSeconds applies to spot training only; set spot: true or remove it")
        return self


# Merged under the stack file's values (the platform config's ENVIRONMENT_DEFAULTS[env]["training"]):
# spot training outside prod, sizes growing from dev to prod.
TRAINING_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {"instanceType": "ml.m5.large", "maxRuntimeSeconds": 7200, "spot": True, "maxWaitSeconds": 14400,
            "volumeSizeGb": 30, "ecrKeepImages": 10},
    "staging": {"instanceType": "ml.m5.xlarge", "maxRuntimeSeconds": 14400, "spot": True, "maxWaitSeconds": 28800,
                "volumeSizeGb": 50, "ecrKeepImages": 30},
    "prod": {"instanceType": "ml.m5.2xlarge", "maxRuntimeSeconds": 86400, "spot": False,
             "volumeSizeGb": 100, "ecrKeepImages": 100},
}
