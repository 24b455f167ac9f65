"""The ``monitoring`` config section: drift and model-quality runs and the endpoint alarms.

Stack file keys (camelCase, under ``mlops-platform:``)::

    monitoring:
      engine: processing                      # drift jobs on SageMaker Processing (default) or model-monitor (opt-in)
      imageTag: drift-1                       # processing: the training repository's image tag the drift job runs
      processingLogGroup: create              # processing: create /aws/sagemaker/ProcessingJobs (KMS) or use the existing one
      scheduleExpression: cron(0 * ? * * *)   # drift runs: hourly, daily (cron(0 H ? * * *)) or every N hours
      instanceType: ml.m5.large               # the monitoring (processing) job's instance
      instanceCount: 1
      volumeSizeGb: 20
      maxRuntimeSeconds: 1800                 # at most 3600 (one run must end before the next)
      prefix: monitoring                      # s3://<models bucket>/<prefix>/<model>/{baseline,data-quality,model-quality}/
      alarms:
        errors5xx: 5                          # Invocation5XXErrors per period, per variant
        latencyMs: 1000                       # ModelLatency statistic per variant that trips the alarm
        latencyStatistic: p90
        minInvocations: 10                    # invocation drop: endpoint invocations per period below this (unset: off)
        periodSeconds: 300
        evaluationPeriods: 3
        driftThreshold: 0.1                   # feature_baseline_drift_<feature> (KS distance) above this (Model Monitor's default)
      models:                                 # per served model (keys are names from `models`)
        churn:
          driftFeatures: [tenure, monthly_charges]   # <= 10; the drift alarm (and retraining) needs at least one
          baselineS3Uri: s3://.../baseline    # default s3://<models bucket>/<prefix>/churn/baseline
          minInvocations: 100                 # this model's invocation-drop threshold
          modelQuality:                       # only with ground truth, and engine model-monitor
            groundTruthS3Uri: s3://<datasets bucket>/ground-truth/churn
            problemType: BinaryClassification
            inferenceAttribute: prediction
            probabilityAttribute: probability
            probabilityThreshold: 0.5
            metric: accuracy                  # alarm when it falls below threshold (higherIsBetter)
            threshold: 0.8

Per-environment defaults are :data:`MONITORING_DEFAULTS` and friends (merged under the stack file's
values, like the baseline's ``ENVIRONMENT_DEFAULTS``). Checks that need more than one section (model
names, which models capture data) are :func:`monitoring_problems`. The schedule helpers
(:func:`schedule_period_seconds`, :func:`schedule_runs_per_month`) are shared by the Monitoring
component (alarm periods) and the cost estimate (processing hours), so both read a schedule alike.

The ``alerts``, ``retraining``, ``budget`` and ``observability`` sections are in
:mod:`mlops_blueprint.operations_config`, re-exported here for existing importers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from mlops_blueprint.config_base import (  # noqa: F401  (alarm_period_problem re-exported)
    AlarmPeriod, AlarmWindow, RetentionDays, Section, alarm_period_problem,
)
from mlops_blueprint.naming import NameKind, fit
from mlops_blueprint.operations_config import (  # noqa: F401  (re-exported)
    ALERTS_DEFAULTS, BUDGET_DEFAULTS, DEFAULT_ROUTES, OBSERVABILITY_DEFAULTS, RETRAINING_DEFAULTS, SEVERITIES,
    AlertsConfig, BudgetConfig, ModelRetrainingConfig, ObservabilityConfig, RetrainingConfig, RoutesConfig, Severity,
    SubscriptionConfig, endpoint_problem,
)
from mlops_blueprint.sagemaker_values import has_local_storage
from mlops_blueprint.validation import s3_location_problem
from mlops_blueprint.validation import s3_location_problem as s3_uri_problem  # noqa: F401  (old name)

PROBLEM_TYPES: tuple[str, ...] = ("BinaryClassification", "MulticlassClassification", "Regression")
# CloudWatch metric math alarms take at most 10 metrics: one per watched feature.
MAX_DRIFT_FEATURES = 10
MAX_METRIC_FILTERS_PER_LOG_GROUP = 100  # CloudWatch Logs quota: the processing engine's drift metrics
MAX_MONITORING_RUNTIME_SECONDS = 3600  # Model Monitor: a run must fit in the hour
HOURS_PER_MONTH = 730  # AWS pricing's month
_SCHEDULE = re.compile(r"cron\(0 (?P<hour>\*|\d{1,2}|\d{1,2}/\d{1,2}) \? \* \* \*\)")
_DAY_DIVISORS = (1, 2, 3, 4, 6, 8, 12, 24)
_INSTANCE_TYPE = re.compile(r"ml\.[a-z0-9-]+\.(medium|large|\d*xlarge)")
_PREFIX_SEGMENT = r"[a-z0-9]([a-z0-9._-]*[a-z0-9])?"
_PREFIX = re.compile(rf"{_PREFIX_SEGMENT}(/{_PREFIX_SEGMENT})*")
# A CloudWatch metric name segment: the feature's column name as Model Monitor reports it.
_FEATURE = re.compile(r"[A-Za-z0-9_.\-]{1,200}")
# An ECR image tag.
_IMAGE_TAG = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"


# -- helpers shared with the components and the cost estimate -------------------------------------


def schedule_problem(expression: str) -> str | None:
    """What is wrong with a Model Monitor schedule expression, if anything."""
    match = _SCHEDULE.fullmatch(expression) if isinstance(expression, str) else None
    if match:
        hour = match.group("hour")
        start, _, every = hour.partition("/")
        if hour == "*" or (int(start) <= 23 and (not every or int(every) in _DAY_DIVISORS)):
            return None
    return (f"{expression!r} is not a Model Monitor schedule; expected cron(0 * ? * * *) (hourly), "
            "cron(0 H ? * * *) (daily at hour H, 0-23) or cron(0 H/N ? * * *) (every N hours, N one of "
            f"{', '.join(map(str, _DAY_DIVISORS))})")


def _schedule_hours(expression: str) -> tuple[int, int]:
    """``(first hour, interval in hours)`` of a valid schedule."""
    problem = schedule_problem(expression)
    if problem:
        raise ValueError(problem)
    hour = _SCHEDULE.fullmatch(expression).group("hour")  # type: ignore[union-attr]
    if hour == "*":
        return 0, 1
    start, _, every = hour.partition("/")
    return int(start), int(every) if every else 24


def schedule_period_seconds(expression: str) -> int:
    """Seconds between two runs: the period of alarms on metrics the runs publish."""
    return _schedule_hours(expression)[1] * 3600


def schedule_runs_per_month(expression: str) -> float:
    """Runs in an average month of :data:`HOURS_PER_MONTH` hours."""
    start, every = _schedule_hours(expression)
    runs_per_day = len(range(start, 24, every))
    return runs_per_day * HOURS_PER_MONTH / 24


def prefix_problem(value: str) -> str | None:
    if not isinstance(value, str) or not _PREFIX.fullmatch(value) or len(value) > 200:
        return (f"{value!r} is not an S3 key prefix; expected lowercase path segments of letters, digits, "
                "'.', '_', '-' separated by '/', without leading or trailing '/', e.g. monitoring")
    return None


# -- monitoring --------------------------------------------------------------------------------------


class AlarmsConfig(AlarmWindow):
    """Thresholds of the per-endpoint alarms (every model; per-model overrides in ``models``)."""

    errors_5xx: int = Field(default=5, ge=1, alias="errors5xx", description="5xx responses per period, per variant")
    latency_ms: int = Field(default=1000, ge=1, description="ModelLatency (ms) of latencyStatistic that trips the alarm")
    latency_statistic: Literal["Average", "p50", "p90", "p95", "p99"] = "p90"
    min_invocations: int | None = Field(default=None, ge=1,
                                        description="invocation drop: fewer invocations per period (unset: no alarm)")
    period_seconds: AlarmPeriod = Field(default=300, description="10, 30 or a multiple of 60")
    evaluation_periods: int = Field(default=3, ge=1, le=100)
    drift_threshold: float = Field(default=0.1, gt=0, le=1,
                                   description="feature_baseline_drift above this is drift (Model Monitor's default 0.1)")


class ModelQualityConfig(Section):
    """Model-quality monitoring: predictions merged with ground truth someone labels later."""

    ground_truth_s3_uri: str = Field(description="s3:// prefix where labelled ground truth lands")
    problem_type: Literal["BinaryClassification", "MulticlassClassification", "Regression"]
    inference_attribute: str = Field(min_length=1, description="the prediction's field in captured responses")
    probability_attribute: str | None = Field(default=None, min_length=1)
    probability_threshold: float | None = Field(default=None, ge=0, le=1)
    metric: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.]{1,64}$",
                               description="model-metrics metric to alarm on, e.g. accuracy, f1, rmse")
    threshold: float | None = None
    higher_is_better: bool = Field(default=True, description="accuracy: true (alarm below); rmse: false (alarm above)")

    @field_validator("ground_truth_s3_uri")
    @classmethod
    def _uri(cls, value: str) -> str:
        problem = s3_location_problem(value)
        if problem:
            raise ValueError(problem)
        return value.rstrip("/")

    @model_validator(mode="after")
    def _alarm_pair(self) -> ModelQualityConfig:
        if (self.metric is None) != (self.threshold is None):
            raise ValueError("modelQuality.metric and modelQuality.threshold go together (or neither: no quality alarm)")
        if self.problem_type == "BinaryClassification" and self.probability_attribute and self.probability_threshold is None:
            raise ValueError("binary classification with probabilityAttribute needs probabilityThreshold")
        return self


class ModelMonitoringConfig(Section):
    """One served model's monitoring (keyed by the model's name)."""

    enabled: bool = Field(default=True, description="data-quality schedule (needs data capture)")
    drift_features: list[str] = Field(default_factory=list, max_length=MAX_DRIFT_FEATURES,
                                      description="features whose baseline drift the drift alarm watches")
    baseline_s3_uri: str | None = Field(default=None, description="statistics.json/constraints.json prefix")
    min_invocations: int | None = Field(default=None, ge=1, description="this model's invocation-drop threshold")
    model_quality: ModelQualityConfig | None = None

    @field_validator("drift_features")
    @classmethod
    def _features(cls, values: list[str]) -> list[str]:
        bad = [v for v in values if not _FEATURE.fullmatch(v)]
        if bad:
            raise ValueError(f"feature names {', '.join(map(repr, bad))} are not valid in a CloudWatch metric name "
                             "(letters, digits, '_', '.', '-')")
        duplicates = sorted({v for v in values if values.count(v) > 1})
        if duplicates:
            raise ValueError(f"duplicate drift features: {', '.join(duplicates)}")
        return values

    @field_validator("baseline_s3_uri")
    @classmethod
    def _baseline(cls, value: str | None) -> str | None:
        problem = s3_location_problem(value) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value.rstrip("/") if value else value


class MonitoringConfig(Section):
    """Drift detection per served model, CloudWatch alarms and the environment's dashboard."""

    engine: Literal["processing", "model-monitor"] = Field(
        default="processing",
        description="processing: scheduled SageMaker Processing drift jobs (default; Model Monitor is closed to new "
                    "customers); model-monitor: Model Monitor schedules, for accounts that have it")
    image_tag: str = Field(default="drift-1", pattern=_IMAGE_TAG,
                           description="processing: tag of the training repository's image the drift job runs "
                                       "(tags are immutable: push a new one to change the job)")
    processing_log_group: Literal["create", "existing"] = Field(
        default="create",
        description="processing: create /aws/sagemaker/ProcessingJobs (KMS, retention) for the drift metric filters, "
                    "or use the one the account already has")
    log_retention_days: RetentionDays = Field(default=30, description="processing: retention of that log group")
    schedule_expression: str = Field(default="cron(0 * ? * * *)", description="hourly, daily or every N hours")
    instance_type: str = Field(default="ml.m5.large", description="monitoring job instance type")
    instance_count: int = Field(default=1, ge=1, le=100)
    volume_size_gb: int = Field(default=20, ge=1, le=16384)
    max_runtime_seconds: int = Field(default=1800, ge=60, le=MAX_MONITORING_RUNTIME_SECONDS)
    prefix: str = Field(default="monitoring", description="key prefix in the models bucket")
    dashboard: bool = Field(default=True, description="one CloudWatch dashboard for the environment")
    alarms: AlarmsConfig = Field(default_factory=AlarmsConfig)
    models: dict[str, ModelMonitoringConfig] = Field(default_factory=dict)

    @field_validator("schedule_expression")
    @classmethod
    def _schedule(cls, value: str) -> str:
        problem = schedule_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("instance_type")
    @classmethod
    def _instance_type(cls, value: str) -> str:
        if not _INSTANCE_TYPE.fullmatch(value):
            raise ValueError(f"{value!r} is not a SageMaker instance type; expected e.g. ml.m5.large")
        if has_local_storage(value):
            raise ValueError(f"{value!r} keeps its volume on an instance store, which takes no KMS key; "
                             "monitoring volumes are KMS-encrypted, so use an EBS-backed type such as ml.m5.large")
        return value

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        problem = prefix_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    def for_model(self, name: str) -> ModelMonitoringConfig:
        return self.models.get(name) or ModelMonitoringConfig()


# -- checks across sections ----------------------------------------------------------------------------


# Monitoring's alarm names after <prefix>-<model>-: per variant <variant>-<purpose>, per model <purpose>.
VARIANT_ALARMS: tuple[str, ...] = ("5xx", "latency")
MODEL_ALARMS: tuple[str, ...] = ("invocations", "drift", "quality")


def alarm_suffixes(variant_names: Sequence[str]) -> list[str]:
    """Every alarm name monitoring may give a model with ``variant_names``, after ``<prefix>-<model>-``."""
    return [*(f"{variant}-{purpose}" for variant in variant_names for purpose in VARIANT_ALARMS), *MODEL_ALARMS]


def alarm_name_problems(models: Sequence[tuple[str, Sequence[str]]]) -> list[str]:
    """``(model, variant names)`` pairs whose monitoring alarms would share a name: names are joined
    with '-' (and runs of '-' collapse), so model a-b's variant c and model a's variant b-c meet, and
    PutMetricAlarm would overwrite one alarm with the other."""
    owners: dict[str, str] = {}
    problems: list[str] = []
    for model, variants in models:
        for suffix in alarm_suffixes([v for v in variants if isinstance(v, str)]):
            name = fit(f"{model}-{suffix}", NameKind.GENERIC)
            owner = owners.setdefault(name, model)
            if owner != model:
                problems.append(f"models[{model}].variants: monitoring alarm <prefix>-{name} would also be model "
                                f"{owner}'s; rename a model or variant so that <model>-<variant> differ")
    return problems


def monitoring_problems(
    monitoring: MonitoringConfig,
    retraining: RetrainingConfig,
    model_names: list[str],
    captured_models: list[str],
) -> list[str]:
    """Checks that need the served models; one line per problem, naming the keys.

    ``model_names``: every model in ``models``; ``captured_models``: those whose endpoints capture
    data (``serving_config.ResolvedModel.captures_data``) — only they can have Model Monitor schedules.
    """
    problems: list[str] = []
    known = set(model_names)
    if monitoring.engine == "processing":
        watched = sum(len(monitoring.for_model(n).drift_features) for n in model_names
                      if n in captured_models and monitoring.for_model(n).enabled)
        if watched > MAX_METRIC_FILTERS_PER_LOG_GROUP:
            problems.append(f"monitoring.models: {watched} driftFeatures in all; the processing engine publishes each "
                            f"through a log metric filter and a log group takes at most {MAX_METRIC_FILTERS_PER_LOG_GROUP}")
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
