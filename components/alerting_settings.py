"""The Alerting component's settings, which are also the stack file's ``alerts`` section.

Stack file keys (camelCase, under ``mlops-platform:``)::

    alerts:
      subscriptions:                          # severity -> subscriptions (critical, warning, info)
        critical:
          - {protocol: https, endpoint: https://events.pagerduty.com/integration/<key>/enqueue}
          - {protocol: email, endpoint: oncall@example.com}
        warning: [{protocol: email, endpoint: ml-team@example.com}]
      routes: {errors: critical, invocations: critical, latency: warning, drift: warning}
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, create_model, field_validator, model_validator
from pydantic.alias_generators import to_snake

from mlops_blueprint.config_base import Section

SEVERITIES: tuple[str, ...] = ("critical", "warning", "info")
Severity = Literal["critical", "warning", "info"]
PROTOCOLS: tuple[str, ...] = ("email", "https")
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


class Subscription(Section):
    """One SNS subscription: an email address or an HTTPS integration (PagerDuty, Opsgenie, VictorOps, ...).

    HTTPS URLs usually embed an integration key: the component stores them as Pulumi secrets.
    """

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
    def _endpoint(self) -> Subscription:
        problem = endpoint_problem(self.protocol, self.endpoint)
        if problem:
            raise ValueError(problem)
        return self


class _Routes(Section):
    def as_dict(self) -> dict[str, str]:
        """``{"errors": "critical", "modelQuality": "warning", ...}`` (the route keys of the components)."""
        return self.model_dump(by_alias=True)


# One field per kind of alert in DEFAULT_ROUTES, so the kinds and their defaults are listed once.
Routes: type[_Routes] = create_model(  # type: ignore[call-overload]
    "Routes", __base__=_Routes, __doc__="Which severity's topic each kind of alert goes to.",
    **{to_snake(kind): (Severity, severity) for kind, severity in DEFAULT_ROUTES.items()},
)


class AlertingSettings(Section):
    """SNS topics per severity (always all three) and who is subscribed to each."""

    subscriptions: dict[Severity, list[Subscription]] = Field(default_factory=dict)
    routes: Routes = Field(default_factory=Routes)  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _unique(self) -> AlertingSettings:
        for severity, subscriptions in self.subscriptions.items():
            seen = [(s.protocol, s.endpoint) for s in subscriptions if s.endpoint != _SECRET_PLACEHOLDER]
            duplicates = sorted({e for p, e in seen if seen.count((p, e)) > 1})
            if duplicates:
                raise ValueError(f"subscriptions.{severity} lists {', '.join(duplicates)} more than once")
        return self
