"""The ``serving.deployment`` section: how an endpoint moves to a new configuration (blue/green,
traffic shifting, rollback alarms), and the per-model overrides of it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from mlops_blueprint.config_base import AlarmPeriod, AlarmWindow, Section



class RollbackAlarmsConfig(AlarmWindow):
    """CloudWatch alarms per variant; either one in alarm during a deployment rolls it back."""

    invocation_5xx_count: int = Field(default=1, ge=1, alias="invocation5xxCount",
                                      description="5xx responses per period that trip the alarm")
    model_latency_ms: int = Field(default=1000, ge=1, description="average model latency (ms) that trips the alarm")
    period_seconds: AlarmPeriod = Field(default=60, description="10, 30 or a multiple of 60")
    evaluation_periods: int = Field(default=2, ge=1, le=100)


class DeploymentConfig(Section):
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
    alarms: RollbackAlarmsConfig = Field(default_factory=RollbackAlarmsConfig)
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
    def _timeout(self) -> DeploymentConfig:
        waits = self.wait_interval_seconds * self.shifting_steps + self.termination_wait_seconds
        if self.maximum_execution_timeout_seconds <= waits:
            raise ValueError(f"maximumExecutionTimeoutSeconds ({self.maximum_execution_timeout_seconds}) must exceed "
                             f"the deployment's waits ({waits} s: waitIntervalSeconds x {self.shifting_steps} step(s) "
                             "+ terminationWaitSeconds)")
        return self


class RollbackAlarmsOverride(Section):
    """Per-model changes to :class:`RollbackAlarmsConfig` (unset keys keep the serving default)."""

    invocation_5xx_count: int | None = Field(default=None, ge=1, alias="invocation5xxCount")
    model_latency_ms: int | None = Field(default=None, ge=1)
    period_seconds: int | None = None
    evaluation_periods: int | None = Field(default=None, ge=1, le=100)


class DeploymentOverride(Section):
    """Per-model changes to :class:`DeploymentConfig` (unset keys keep the serving default)."""

    strategy: Literal["canary", "linear", "all-at-once"] | None = None
    canary_percent: int | None = None
    linear_step_percent: int | None = None
    wait_interval_seconds: int | None = None
    termination_wait_seconds: int | None = None
    maximum_execution_timeout_seconds: int | None = None
    alarms: RollbackAlarmsOverride | None = None
    guardrails: bool | None = None

    def apply(self, base: DeploymentConfig) -> DeploymentConfig:
        """``base`` with this override's keys; validated like a stack-file value (ValueError)."""
        values = base.model_dump()
        values.update(self.model_dump(exclude_none=True, exclude={"alarms"}))
        if self.alarms is not None:
            values["alarms"].update(self.alarms.model_dump(exclude_none=True))
        return DeploymentConfig.model_validate(values)
