"""The ``alerts``, ``retraining``, ``budget`` and ``observability`` config sections: operating the platform.

Stack file keys (camelCase, under ``mlops-platform:``)::

    alerts:
      subscriptions:                          # severity -> subscriptions (critical, warning, info)
        critical:
          - {protocol: https, endpoint: https://events.pagerduty.com/integration/<key>/enqueue}
          - {protocol: email, endpoint: oncall@example.com}
        warning: [{protocol: email, endpoint: ml-team@example.com}]
      routes: {errors: critical, invocations: critical, latency: warning, drift: warning}
    retraining:
      enabled: false                          # default for every model
      minPeriodHours: 24                      # at most one drift-triggered retraining per model per period
      modelParameterName: null                # the pipeline parameter naming the model, if it has one
      models:                                 # the parameters the pipeline needs (those without a default)
        churn: {enabled: true, parameters: {TrainingImageTag: "1.4.2", InferenceImageTag: "1.4.2"}}
    budget:
      monthlyLimitUsd: 400
      thresholdsPercent: [50, 80, 100]        # ACTUAL spend notifications
      forecastThresholdPercent: 100           # FORECASTED notification (unset: none)
      scope: environment-tag                  # costs tagged environment=<env> (a cost allocation tag), or account
    observability:
      prometheus: false                       # Amazon Managed Prometheus workspace
      grafana: false                          # Amazon Managed Grafana workspace
      grafanaAuthentication: AWS_SSO          # or SAML

Per-environment defaults are :data:`ALERTS_DEFAULTS`, :data:`RETRAINING_DEFAULTS`, :data:`BUDGET_DEFAULTS`
and :data:`OBSERVABILITY_DEFAULTS` (merged under the stack file's values).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from mlops_blueprint.config_base import Section

SEVERITIES: tuple[str, ...] = ("critical", "warning", "info")
Severity = Literal["critical", "warning", "info"]
# What raises an alert, and the severity each goes to unless ``alerts.routes`` says otherwise.
DEFAULT_ROUTES: dict[str, str] = {
    "errors": "critical",        # endpoint 5xx
    "invocations": "critical",   # invocation drop (traffic stopped)
    "latency": "warning",        # ModelLatency
    "drift": "warning",          # data drift (Model Monitor)
    "modelQuality": "warning",   # model quality below threshold (ground truth)
    "budget": "warning",         # AWS Budgets thresholds
    "retraining": "info",        # a drift-triggered retraining started
    "operations": "critical",    # the platform's own machinery failed (e.g. the retraining cooldown)
}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
_HTTPS = re.compile(r"https://[A-Za-z0-9.-]+(:\d{1,5})?(/\S*)?")
_PIPELINE_PARAMETER = re.compile(r"[A-Za-z0-9\-_]{1,256}")
# What the offline preview puts where a stack file holds an encrypted value (mock_runtime.SECRET_PLACEHOLDER).
_SECRET_PLACEHOLDER = "[secret]"


def endpoint_problem(protocol: str, endpoint: str) -> str | None:
    """What SNS would refuse (or what would leak alerts in clear text) for one subscription."""
    if endpoint == _SECRET_PLACEHOLDER:
        return None  # an encrypted stack-file value, decrypted by the engine
    if protocol == "email" and not _EMAIL.fullmatch(endpoint):
        return f"{endpoint!r} is not an email address"
    if protocol == "https":
        if endpoint.startswith("http://"):
            return f"{endpoint!r} is plain http; alerts only go to https:// endpoints"
        if not _HTTPS.fullmatch(endpoint) or len(endpoint) > 2048:
            return (f"{endpoint!r} is not an https:// URL, e.g. https://events.pagerduty.com/integration/<key>/enqueue "
                    "or https://api.opsgenie.com/v1/json/amazonsns?apiKey=<key>")
    return None


# -- alerts ------------------------------------------------------------------------------------------


class SubscriptionConfig(Section):
    """One SNS subscription: an email address or an HTTPS integration (PagerDuty, Opsgenie, VictorOps, ...)."""

    protocol: Literal["email", "https"]
    endpoint: str = Field(description="email address or https:// URL (may be a secret: pulumi config set --secret --path)")

    @field_validator("endpoint", mode="before")
    @classmethod
    def _secret(cls, value: Any) -> Any:
        # A value encrypted with --path stays {"secure": "..."} in the stack file; offline it is a placeholder.
        if isinstance(value, dict) and set(value) == {"secure"}:
            return _SECRET_PLACEHOLDER
        return value

    @model_validator(mode="after")
    def _endpoint(self) -> SubscriptionConfig:
        problem = endpoint_problem(self.protocol, self.endpoint)
        if problem:
            raise ValueError(problem)
        return self


class RoutesConfig(Section):
    """Which severity's topic each kind of alert goes to."""

    errors: Severity = "critical"
    invocations: Severity = "critical"
    latency: Severity = "warning"
    drift: Severity = "warning"
    model_quality: Severity = "warning"
    budget: Severity = "warning"
    retraining: Severity = "info"
    operations: Severity = "critical"

    def as_dict(self) -> dict[str, str]:
        """``{"errors": "critical", "modelQuality": "warning", ...}`` (the route keys of the components)."""
        return self.model_dump(by_alias=True)


class AlertsConfig(Section):
    """SNS topics per severity (always all three) and who is subscribed to each."""

    subscriptions: dict[Severity, list[SubscriptionConfig]] = Field(default_factory=dict)
    routes: RoutesConfig = Field(default_factory=RoutesConfig)

    @model_validator(mode="after")
    def _unique(self) -> AlertsConfig:
        for severity, subscriptions in self.subscriptions.items():
            seen = [(s.protocol, s.endpoint) for s in subscriptions if s.endpoint != _SECRET_PLACEHOLDER]
            duplicates = sorted({e for p, e in seen if seen.count((p, e)) > 1})
            if duplicates:
                raise ValueError(f"subscriptions.{severity} lists {', '.join(duplicates)} more than once")
        return self


# -- retraining ----------------------------------------------------------------------------------------


class ModelRetrainingConfig(Section):
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


class RetrainingConfig(Section):
    """Drift-triggered retraining: the model's drift alarm starts the training pipeline, at most once per period."""

    enabled: bool = Field(default=False, description="default for every model")
    # < 1 year: the cooldown is a Step Functions wait, and a standard execution ends after one year
    # (the rule would then never be enabled again).
    min_period_hours: int = Field(default=24, ge=1, le=8759, description="cooldown after a triggered retraining")
    model_parameter_name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9\-_]{1,256}$",
                                             description="the pipeline parameter naming the model (unset: none)")
    models: dict[str, ModelRetrainingConfig] = Field(default_factory=dict)

    def enabled_for(self, name: str) -> bool:
        model = self.models.get(name)
        return self.enabled if model is None or model.enabled is None else model.enabled

    def parameters_for(self, name: str) -> dict[str, str]:
        model = self.models.get(name)
        extra = {self.model_parameter_name: name} if self.model_parameter_name else {}
        return {**(model.parameters if model else {}), **extra}


# -- budget -----------------------------------------------------------------------------------------


class BudgetConfig(Section):
    """An AWS Budget for the environment's monthly cost, notifying the alert topics."""

    enabled: bool = True
    monthly_limit_usd: float = Field(default=100.0, gt=0, le=10_000_000, description="monthly cost limit in USD")
    thresholds_percent: list[float] = Field(default_factory=lambda: [50.0, 80.0, 100.0], min_length=1, max_length=10,
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


# -- observability ------------------------------------------------------------------------------------


class ObservabilityConfig(Section):
    """Optional Prometheus/Grafana for teams that standardise on them (off by default)."""

    prometheus: bool = Field(default=False, description="Amazon Managed Service for Prometheus workspace")
    grafana: bool = Field(default=False, description="Amazon Managed Grafana workspace")
    grafana_authentication: Literal["AWS_SSO", "SAML"] = Field(
        default="AWS_SSO", description="AWS_SSO (IAM Identity Center) or SAML (configure the IdP afterwards)")


# -- per-environment defaults (merged under the stack file's values) --------------------------------
ALERTS_DEFAULTS: dict[str, dict[str, Any]] = {"dev": {}, "staging": {}, "prod": {}}
RETRAINING_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {"enabled": False, "minPeriodHours": 24},
    "staging": {"enabled": False, "minPeriodHours": 24},
    "prod": {"enabled": False, "minPeriodHours": 168},
}
BUDGET_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {"monthlyLimitUsd": 250, "thresholdsPercent": [50, 80, 100], "forecastThresholdPercent": 100},
    "staging": {"monthlyLimitUsd": 1000, "thresholdsPercent": [50, 80, 100], "forecastThresholdPercent": 100},
    "prod": {"monthlyLimitUsd": 2500, "thresholdsPercent": [50, 80, 90, 100], "forecastThresholdPercent": 100},
}
OBSERVABILITY_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {"prometheus": False, "grafana": False},
    "staging": {"prometheus": False, "grafana": False},
    "prod": {"prometheus": False, "grafana": False},
}
