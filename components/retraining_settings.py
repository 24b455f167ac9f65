"""The Retraining component's settings, which are also the stack file's ``retraining`` section.

Stack file keys (camelCase, under ``mlops-platform:``)::

    retraining:
      enabled: false                          # default for every model
      minPeriodHours: 24                      # at most one drift-triggered retraining per model per period
      modelParameterName: null                # the pipeline parameter naming the model, if it has one
      models:                                 # the parameters the pipeline needs (those without a default)
        churn: {enabled: true, parameters: {TrainingImageTag: "1.4.2", InferenceImageTag: "1.4.2"}}
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from mlops_blueprint.config_base import Section

_PIPELINE_PARAMETER = re.compile(r"[A-Za-z0-9\-_]{1,256}")


class ModelRetrainingSettings(Section):
    enabled: bool | None = Field(default=None, description="unset: retraining.enabled")
    parameters: dict[str, str] = Field(default_factory=dict, description="extra pipeline parameters for this model")

    @field_validator("parameters")
    @classmethod
    def _parameters(cls, values: dict[str, str]) -> dict[str, str]:
        bad = [k for k in values if not _PIPELINE_PARAMETER.fullmatch(k)]
        if bad:
            raise ValueError(f"pipeline parameter names {', '.join(map(repr, bad))} are not valid "
                             "(letters, digits, '-', '_')")
        return values


class RetrainingSettings(Section):
    """Drift-triggered retraining: the model's drift alarm starts the training pipeline, at most once per period."""

    enabled: bool = Field(default=False, description="default for every model")
    # < 1 year: the cooldown is a Step Functions wait, and a standard execution ends after one year
    # (the rule would then never be enabled again).
    min_period_hours: int = Field(default=24, ge=1, le=8759, description="cooldown after a triggered retraining")
    model_parameter_name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9\-_]{1,256}$",
                                             description="the pipeline parameter naming the model (unset: none)")
    models: dict[str, ModelRetrainingSettings] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _model_parameter(self) -> RetrainingSettings:
        name = self.model_parameter_name
        for model, settings in self.models.items():
            if name and settings.parameters.get(name) not in (None, model):
                raise ValueError(f"models.{model}.parameters.{name}: the model's name, which retraining sends "
                                 f"as modelParameterName {name!r}; remove it")
        return self

    def enabled_for(self, name: str) -> bool:
        model = self.models.get(name)
        return self.enabled if model is None or model.enabled is None else model.enabled

    def parameters_for(self, name: str) -> dict[str, str]:
        """What a drift-triggered execution for ``name`` sends: its parameters and, when the
        pipeline has a parameter for it, the model's name."""
        model = self.models.get(name)
        extra = {self.model_parameter_name: name} if self.model_parameter_name else {}
        return {**(model.parameters if model else {}), **extra}
