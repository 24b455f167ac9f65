"""The operations sections across the stack: per-environment defaults and the checks that need
more than one section.

Each section is its component's settings model, next to the component:
``monitoring`` (:class:`~mlops_blueprint.components.monitoring.settings.MonitoringSettings`),
``alerts`` (:class:`~mlops_blueprint.components.alerting_settings.AlertingSettings`),
``retraining`` (:class:`~mlops_blueprint.components.retraining_settings.RetrainingSettings`),
``budget`` (:class:`~mlops_blueprint.components.cost_guardrails_settings.CostGuardrailsSettings`) and
``observability`` (:class:`~mlops_blueprint.components.observability_settings.ObservabilitySettings`).
Here: their per-environment defaults (merged under the stack file's values, like the baseline's
``ENVIRONMENT_DEFAULTS``) and :func:`monitoring_problems` (model names, which models capture data).
"""

from __future__ import annotations

from typing import Any

from mlops_blueprint.components.drift_job import MAX_METRIC_FILTERS
from mlops_blueprint.components.monitoring.settings import MonitoringSettings
from mlops_blueprint.components.retraining_settings import RetrainingSettings
from mlops_blueprint.validation import s3_location_problem as s3_uri_problem  # noqa: F401  (old name)


def monitoring_problems(
    monitoring: MonitoringSettings,
    retraining: RetrainingSettings,
    model_names: list[str],
    captured_models: list[str],
) -> list[str]:
    """Checks that need the served models; one line per problem, naming the keys.

    ``model_names``: every model in ``models``; ``captured_models``: those whose endpoints capture
    data (``served_model_settings.ResolvedModel.captures_data``) — only they can have Model Monitor schedules.
    """
    problems: list[str] = []
    known = set(model_names)
    if monitoring.engine == "processing":
        watched = sum(len(monitoring.for_model(n).drift_features) for n in model_names
                      if n in captured_models and monitoring.for_model(n).enabled)
        if watched > MAX_METRIC_FILTERS:
            problems.append(f"monitoring.models: {watched} driftFeatures in all; the processing engine publishes each "
                            f"through a log metric filter and a log group takes at most {MAX_METRIC_FILTERS}")
    for section, names in (("monitoring.models", monitoring.models), ("retraining.models", retraining.models)):
        for name in sorted(set(names) - known):
            problems.append(f"{section}.{name}: no served model is named {name!r} "
                            f"(models: {', '.join(sorted(known)) or 'none'})")
    for name in model_names:
        settings = monitoring.for_model(name)
        if settings.drift_features and (name not in captured_models or not settings.enabled):
            problems.append(f"monitoring.models.{name}.driftFeatures: drift is measured over captured requests, "
                            "which needs data capture (dataCapturePercent > 0) and monitoring enabled for the model")
        if settings.model_quality is not None and monitoring.engine != "model-monitor":
            problems.append(f"monitoring.models.{name}.modelQuality: model-quality monitoring runs on Model Monitor; "
                            f"set monitoring.engine: model-monitor (now {monitoring.engine!r}) or remove modelQuality")
        if settings.model_quality is not None and name not in captured_models:
            problems.append(f"monitoring.models.{name}.modelQuality: the model's endpoint captures no data "
                            "(dataCapturePercent 0), so there is nothing to compare ground truth with")
        if not retraining.enabled_for(name):
            continue
        where = f"retraining.models.{name}" if name in retraining.models else "retraining.enabled"
        if not settings.drift_features:
            problems.append(f"{where}: retraining {name!r} is triggered by its drift alarm, which needs "
                            f"monitoring.models.{name}.driftFeatures (the features to watch)")
        if name not in captured_models or not settings.enabled:
            problems.append(f"{where}: retraining {name!r} needs its drift monitoring, which needs data "
                            f"capture (dataCapturePercent > 0) and monitoring.models.{name}.enabled")
    return problems


# -- per-environment defaults ------------------------------------------------------------------------------
# Merged under the stack file's values (ENVIRONMENT_DEFAULTS[env]["monitoring"] etc.).
#
# dev: no invocation-drop alarm (dev endpoints sit idle), daily monitoring runs (dev endpoints
# capture nothing by default, so none run), a small budget; staging: daily runs, prod-like alarms;
# prod: hourly runs, invocation-drop alarm on. ml.m5.large everywhere: the analyzer runs Spark, which
# the 4 GiB of an ml.t3.medium starves. Retraining is off until a model names its drift features.
# Budget limits leave room above the idle estimate of `mlops-blueprint cost` with one model at the
# serving defaults (README: dev ~$181, staging ~$747, prod ~$1,578 a month).
MONITORING_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {"scheduleExpression": "cron(0 0 ? * * *)", "instanceType": "ml.m5.large", "maxRuntimeSeconds": 1800,
            "logRetentionDays": 14,
            "alarms": {"errors5xx": 5, "latencyMs": 2000, "periodSeconds": 300, "evaluationPeriods": 3}},
    "staging": {"scheduleExpression": "cron(0 0 ? * * *)", "instanceType": "ml.m5.large", "logRetentionDays": 90,
                "alarms": {"errors5xx": 5, "latencyMs": 1000, "periodSeconds": 300, "evaluationPeriods": 3}},
    "prod": {"scheduleExpression": "cron(0 * ? * * *)", "instanceType": "ml.m5.large", "maxRuntimeSeconds": 3000,
             "logRetentionDays": 365,
             "alarms": {"errors5xx": 5, "latencyMs": 500, "minInvocations": 1, "periodSeconds": 300,
                        "evaluationPeriods": 3}},
}
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
