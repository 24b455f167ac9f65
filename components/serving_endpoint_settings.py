"""The ``serving`` config section: the defaults every served model starts from, what a user sets
about :class:`~.serving_endpoint.ServingEndpoint` (and, under ``kubernetes``, about
:class:`~.k8s_serving.K8sServing`).

Stack file keys (camelCase, under ``mlops-platform:``)::

    serving:
      backend: sagemaker                  # or kubernetes (needs the platform's kubernetes section)
      serverless: false                   # true: variants that set no instance fields run serverless (dev only)
      serverlessSettings: {memorySizeMb: 2048, maxConcurrency: 5}
      instanceType: ml.m5.large
      initialInstanceCount: 2
      autoscaling: {minCapacity: 2, maxCapacity: 4, targetInvocationsPerInstance: 100}
      dataCapturePercent: 20
      deployment:                         # blue/green with traffic shifting and auto-rollback
        strategy: canary                  # canary | linear | all-at-once
        canaryPercent: 10
        waitIntervalSeconds: 600
        alarms: {invocation5xxCount: 5, modelLatencyMs: 500}   # two rollback alarms per endpoint
        guardrails: true                  # false for the deployment that changes the variant set
      kubernetes: {namespace: model-serving, replicas: 2, maxReplicas: 4}

A model (``models:``, :mod:`mlops_blueprint.components.served_model_settings`) or one of its variants overrides these;
:func:`mlops_blueprint.components.served_model_settings.resolve_model` applies them. Per-environment defaults are
:data:`SERVING_DEFAULTS`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from mlops_blueprint.components.k8s_serving_settings import K8sServingSettings
from mlops_blueprint.config_base import AlarmPeriod, AlarmWindow, Section
from mlops_blueprint.sagemaker_values import InstanceType

# CloudWatch ModelLatency is reported in microseconds; the rollback alarm's threshold is set in ms.
MICROSECONDS_PER_MS = 1000


class AutoscalingSettings(Section):
    """Target tracking on invocations per instance, for instance-backed variants."""

    min_capacity: int = Field(default=1, ge=1, le=1000, description="fewest instances")
    max_capacity: int = Field(default=2, ge=1, le=1000, description="most instances")
    target_invocations_per_instance: float = Field(default=100.0, gt=0, description="per minute, per instance")
    scale_in_cooldown_seconds: int = Field(default=300, ge=0, le=3600)
    scale_out_cooldown_seconds: int = Field(default=60, ge=0, le=3600)

    @model_validator(mode="after")
    def _bounds(self) -> AutoscalingSettings:
        if self.max_capacity < self.min_capacity:
            raise ValueError(f"maxCapacity ({self.max_capacity}) must be at least minCapacity ({self.min_capacity})")
        return self


class ServerlessSettings(Section):
    """A serverless variant (no instances; it gives up the VPC, network isolation, the KMS key and
    data capture, see :mod:`mlops_blueprint.components.served_model_settings`)."""

    memory_size_mb: int = Field(default=2048, description="1024 to 6144 in steps of 1024")
    max_concurrency: int = Field(default=5, ge=1, le=200, description="concurrent invocations (1 to 200)")
    provisioned_concurrency: int | None = Field(default=None, ge=1, le=200, description="warm capacity, <= maxConcurrency")

    @field_validator("memory_size_mb")
    @classmethod
    def _memory(cls, value: int) -> int:
        if value not in range(1024, 6145, 1024):
            raise ValueError(f"{value!r} MB is not a serverless memory size; expected 1024, 2048, 3072, 4096, 5120 or 6144")
        return value

    @model_validator(mode="after")
    def _provisioned(self) -> ServerlessSettings:
        if self.provisioned_concurrency is not None and self.provisioned_concurrency > self.max_concurrency:
            raise ValueError(f"provisionedConcurrency ({self.provisioned_concurrency}) exceeds maxConcurrency "
                             f"({self.max_concurrency})")
        return self


# -- serving.deployment: how an endpoint moves to a new configuration -----------------------------


class RollbackAlarmsSettings(AlarmWindow):
    """CloudWatch alarms per variant; either one in alarm during a deployment rolls it back."""

    invocation_5xx_count: int = Field(default=1, ge=1, alias="invocation5xxCount",
                                      description="5xx responses per period that trip the alarm")
    model_latency_ms: int = Field(default=1000, ge=1, description="average model latency (ms) that trips the alarm")
    period_seconds: AlarmPeriod = Field(default=60, description="10, 30 or a multiple of 60")
    evaluation_periods: int = Field(default=2, ge=1, le=100)


class DeploymentSettings(Section):
    """How an endpoint moves to a new configuration: blue/green, shifting traffic, rolling back on alarms."""

    strategy: Literal["canary", "linear", "all-at-once"] = Field(default="canary",
                                                              description="canary, linear or all-at-once")
    canary_percent: int = Field(default=10, ge=1, le=50, description="canary: share of capacity first (1 to 50)")
    linear_step_percent: int = Field(default=20, ge=10, le=50, description="linear: share per step (10 to 50)")
    wait_interval_seconds: int = Field(default=300, ge=0, le=3600, description="bake time between steps")
    termination_wait_seconds: int = Field(default=300, ge=0, le=3600,
                                          description="bake time before the old fleet is terminated")
    # 600 to 14400 s: what the provider accepts for maximum_execution_timeout_in_seconds
    # (terraform-provider-aws, sagemaker/endpoint.go: validation.IntBetween(600, 14400)).
    maximum_execution_timeout_seconds: int = Field(default=3600, ge=600, le=14400,
                                                   description="the whole deployment (600 to 14400 s), > the sum of its waits")
    alarms: RollbackAlarmsSettings = Field(default_factory=RollbackAlarmsSettings)
    guardrails: bool = Field(default=True, description="false: the next update shifts all traffic at once, without "
                             "the blue/green policy (needed when the variant set changes); rollback alarms stay")

    @property
    def shifting_steps(self) -> int:
        """Waits between traffic steps: canary 1, linear one per step but the last, all-at-once 0."""
        if self.strategy == "canary":
            return 1
        if self.strategy == "linear":
            return -(-100 // self.linear_step_percent) - 1
        return 0

    @model_validator(mode="after")
    def _timeout(self) -> DeploymentSettings:
        waits = self.wait_interval_seconds * self.shifting_steps + self.termination_wait_seconds
        if self.maximum_execution_timeout_seconds <= waits:
            raise ValueError(f"maximumExecutionTimeoutSeconds ({self.maximum_execution_timeout_seconds}) must exceed "
                             f"the deployment's waits ({waits} s: waitIntervalSeconds x {self.shifting_steps} step(s) "
                             "+ terminationWaitSeconds)")
        return self


class RollbackAlarmsOverride(Section):
    """Per-model changes to :class:`RollbackAlarmsSettings` (unset keys keep the serving default)."""

    invocation_5xx_count: int | None = Field(default=None, ge=1, alias="invocation5xxCount")
    model_latency_ms: int | None = Field(default=None, ge=1)
    period_seconds: int | None = None
    evaluation_periods: int | None = Field(default=None, ge=1, le=100)


class DeploymentOverride(Section):
    """Per-model changes to :class:`DeploymentSettings` (unset keys keep the serving default)."""

    strategy: Literal["canary", "linear", "all-at-once"] | None = None
    canary_percent: int | None = None
    linear_step_percent: int | None = None
    wait_interval_seconds: int | None = None
    termination_wait_seconds: int | None = None
    maximum_execution_timeout_seconds: int | None = None
    alarms: RollbackAlarmsOverride | None = None
    guardrails: bool | None = None

    def apply(self, base: DeploymentSettings) -> DeploymentSettings:
        """``base`` with this override's keys; validated like a stack-file value (ValueError)."""
        values = base.model_dump()
        values.update(self.model_dump(exclude_none=True, exclude={"alarms"}))
        if self.alarms is not None:
            values["alarms"].update(self.alarms.model_dump(exclude_none=True))
        return DeploymentSettings.model_validate(values)


# -- serving ------------------------------------------------------------------------------------------


class ServingEndpointSettings(Section):
    """Defaults for every model's endpoint; a model or variant overrides them."""

    backend: Literal["sagemaker", "kubernetes"] = Field(default="sagemaker", description="sagemaker or kubernetes")
    serverless: bool = Field(default=False, description="variants without instanceType/serverless run serverless")
    instance_type: InstanceType = Field(default="ml.m5.large", description="instance type of instance-backed variants")
    initial_instance_count: int = Field(default=1, ge=1, le=1000)
    autoscaling: AutoscalingSettings | None = Field(default=None, description="unset: no autoscaling")
    serverless_settings: ServerlessSettings = Field(default_factory=ServerlessSettings,
                                                    description="memory/concurrency of serverless variants")
    deployment: DeploymentSettings = Field(default_factory=DeploymentSettings)
    data_capture_percent: int = Field(default=0, ge=0, le=100, description="share of requests captured (0: off)")
    kubernetes: K8sServingSettings = Field(default_factory=K8sServingSettings)


# -- per-environment defaults -----------------------------------------------------------------------


def _instances(instance_type: str, count: int, *, capture: int, replicas: tuple[int, int],
               deployment: dict[str, Any], scaling: tuple[int, int, int] | None = None) -> dict[str, Any]:
    """One environment's ``serving`` defaults (camelCase, as in the stack file): instance-backed,
    ``scaling`` = (minCapacity, maxCapacity, targetInvocationsPerInstance) or no autoscaling."""
    values: dict[str, Any] = {
        "serverless": False, "instanceType": instance_type, "initialInstanceCount": count,
        "dataCapturePercent": capture, "deployment": deployment,
        "kubernetes": {"replicas": replicas[0], "maxReplicas": replicas[1]},
    }
    if scaling is not None:
        values["autoscaling"] = dict(zip(("minCapacity", "maxCapacity", "targetInvocationsPerInstance"), scaling))
    return values


# Merged under the stack file's values (the platform config's ENVIRONMENT_DEFAULTS[env]["serving"]).
#
# dev: the smallest always-on instance (ml.t2.medium), one per model, no autoscaling, no capture,
# all-at-once deployments with a short bake: cheapest while keeping the VPC, network isolation and
# the KMS key that serverless would give up. staging: prod's shape at minimum size (two instances:
# a canary may take at most half of a fleet), every request captured. prod: two or more instances
# per variant, autoscaling, canary deployments.
SERVING_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": _instances("ml.t2.medium", 1, capture=0, replicas=(1, 2), deployment={
        "strategy": "all-at-once", "waitIntervalSeconds": 0, "terminationWaitSeconds": 120,
        "maximumExecutionTimeoutSeconds": 1800, "alarms": {"invocation5xxCount": 5, "modelLatencyMs": 2000}}),
    "staging": _instances("ml.m5.large", 2, capture=100, replicas=(2, 3), scaling=(2, 3, 100), deployment={
        "strategy": "canary", "canaryPercent": 50, "waitIntervalSeconds": 300, "terminationWaitSeconds": 300,
        "maximumExecutionTimeoutSeconds": 3600}),
    "prod": _instances("ml.m5.xlarge", 2, capture=20, replicas=(2, 10), scaling=(2, 10, 200), deployment={
        "strategy": "canary", "canaryPercent": 10, "waitIntervalSeconds": 600, "terminationWaitSeconds": 900,
        "maximumExecutionTimeoutSeconds": 7200, "alarms": {"invocation5xxCount": 5, "modelLatencyMs": 500}}),
}
