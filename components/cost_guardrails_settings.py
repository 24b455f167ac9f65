"""The CostGuardrails component's settings, which are also the stack file's ``budget`` section.

Stack file keys (camelCase, under ``mlops-platform:``)::

    budget:
      monthlyLimitUsd: 400
      thresholdsPercent: [50, 80, 100]        # ACTUAL spend notifications
      forecastThresholdPercent: 100           # FORECASTED notification (unset: none)
      scope: environment-tag                  # costs tagged environment=<env> (a cost allocation tag), or account
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from mlops_blueprint.config_base import Section

MAX_NOTIFICATIONS = 10  # AWS Budgets: notifications per budget


class CostGuardrailsSettings(Section):
    """An AWS Budget for the environment's monthly cost, notifying the alert topics."""

    enabled: bool = True
    monthly_limit_usd: float = Field(default=100.0, gt=0, le=10_000_000, description="monthly cost limit in USD")
    thresholds_percent: list[float] = Field(default_factory=lambda: [50.0, 80.0, 100.0], min_length=1,
                                            max_length=MAX_NOTIFICATIONS,
                                            description="actual spend notifications, % of the limit")
    forecast_threshold_percent: float | None = Field(default=100.0, gt=0, le=1000,
                                                     description="forecasted spend notification (unset: none)")
    scope: Literal["environment-tag", "account"] = Field(
        default="environment-tag",
        description="environment-tag: costs tagged environment=<env> (activate it as a cost allocation tag); account: all",
    )

    @field_validator("thresholds_percent")
    @classmethod
    def _thresholds(cls, values: list[float]) -> list[float]:
        bad = [v for v in values if not 0 < v <= 1000]
        if bad:
            raise ValueError(f"thresholds {', '.join(map(str, bad))} are outside 0 < threshold <= 1000 (%)")
        if len(set(values)) != len(values):
            raise ValueError("thresholdsPercent has duplicates")
        return sorted(values)

    @model_validator(mode="after")
    def _notifications(self) -> CostGuardrailsSettings:
        if len(self.thresholds_percent) + (1 if self.forecast_threshold_percent else 0) > MAX_NOTIFICATIONS:
            raise ValueError(f"thresholdsPercent and forecastThresholdPercent: a budget takes at most "
                             f"{MAX_NOTIFICATIONS} notifications")
        return self
