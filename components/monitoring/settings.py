"""The Monitoring component's settings, which are also the stack file's ``monitoring`` section.

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

Pydantic checks every value when the settings are built, so the component checks only its wiring.
The schedule helpers (:func:`schedule_problem`, :func:`schedule_hours`, :func:`schedule_period_seconds`)
serve the component (alarm periods) and the cost estimate (runs per month) alike.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, Field, model_validator

from mlops_blueprint.config_base import AlarmPeriod, AlarmWindow, RetentionDays, Section, checked
from mlops_blueprint.sagemaker_values import has_local_storage
from mlops_blueprint.validation import s3_location_problem

Engine = Literal["processing", "model-monitor"]
ENGINES: tuple[str, ...] = get_args(Engine)
ProblemType = Literal["BinaryClassification", "MulticlassClassification", "Regression"]
PROBLEM_TYPES: tuple[str, ...] = get_args(ProblemType)
# CloudWatch metric math alarms take at most 10 metrics: one per watched feature.
MAX_DRIFT_FEATURES = 10
MAX_MONITORING_RUNTIME_SECONDS = 3600  # Model Monitor: a run must fit in the hour
_SCHEDULE = re.compile(r"cron\(0 (?P<hour>\*|\d{1,2}|\d{1,2}/\d{1,2}) \? \* \* \*\)")
_DAY_DIVISORS = (1, 2, 3, 4, 6, 8, 12, 24)
_INSTANCE_TYPE = re.compile(r"ml\.[a-z0-9-]+\.(medium|large|\d*xlarge)")
_PREFIX_SEGMENT = r"[a-z0-9]([a-z0-9._-]*[a-z0-9])?"
_PREFIX = re.compile(rf"{_PREFIX_SEGMENT}(/{_PREFIX_SEGMENT})*")
# A CloudWatch metric name segment: the feature's column name as Model Monitor reports it.
_FEATURE = re.compile(r"[A-Za-z0-9_.\-]{1,200}")
# An ECR image tag.
_IMAGE_TAG = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"


# -- what a valid value is -------------------------------------------------------------------------------


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


def schedule_hours(expression: str) -> tuple[int, int]:
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
    return schedule_hours(expression)[1] * 3600


def prefix_problem(value: str) -> str | None:
    if not isinstance(value, str) or not _PREFIX.fullmatch(value) or len(value) > 200:
        return (f"{value!r} is not an S3 key prefix; expected lowercase path segments of letters, digits, "
                "'.', '_', '-' separated by '/', without leading or trailing '/', e.g. monitoring")
    return None


def instance_type_problem(value: str) -> str | None:
    if not _INSTANCE_TYPE.fullmatch(value):
        return f"{value!r} is not a SageMaker instance type; expected e.g. ml.m5.large"
    if has_local_storage(value):
        return (f"{value!r} keeps its volume on an instance store, which takes no KMS key; "
                "monitoring volumes are KMS-encrypted, so use an EBS-backed type such as ml.m5.large")
    return None


def features_problem(values: list[str]) -> str | None:
    bad = [v for v in values if not _FEATURE.fullmatch(v)]
    if bad:
        return (f"feature names {', '.join(map(repr, bad))} are not valid in a CloudWatch metric name "
                "(letters, digits, '_', '.', '-')")
    duplicates = sorted({v for v in values if values.count(v) > 1})
    return f"duplicate drift features: {', '.join(duplicates)}" if duplicates else None


# An s3:// bucket or prefix, kept without a trailing '/'.
S3Location = Annotated[str, checked(s3_location_problem), AfterValidator(lambda value: value.rstrip("/"))]


# -- the settings ------------------------------------------------------------------------------------------


class AlarmThresholds(AlarmWindow):
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


class ModelQuality(Section):
    """Model-quality monitoring: predictions merged with ground truth someone labels later."""

    ground_truth_s3_uri: S3Location = Field(description="s3:// prefix where labelled ground truth lands")
    problem_type: ProblemType
    inference_attribute: str = Field(min_length=1, description="the prediction's field in captured responses")
    probability_attribute: str | None = Field(default=None, min_length=1)
    probability_threshold: float | None = Field(default=None, ge=0, le=1)
    metric: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.]{1,64}$",
                               description="model-metrics metric to alarm on, e.g. accuracy, f1, rmse")
    threshold: float | None = None
    higher_is_better: bool = Field(default=True, description="accuracy: true (alarm below); rmse: false (alarm above)")

    @model_validator(mode="after")
    def _alarm_pair(self) -> ModelQuality:
        if (self.metric is None) != (self.threshold is None):
            raise ValueError("modelQuality.metric and modelQuality.threshold go together (or neither: no quality alarm)")
        if self.problem_type == "BinaryClassification" and self.probability_attribute and self.probability_threshold is None:
            raise ValueError("binary classification with probabilityAttribute needs probabilityThreshold")
        return self


class ModelMonitoringSettings(Section):
    """One served model's monitoring (keyed by the model's name)."""

    enabled: bool = Field(default=True, description="data-quality schedule (needs data capture)")
    drift_features: Annotated[list[str], checked(features_problem)] = Field(
        default_factory=list, max_length=MAX_DRIFT_FEATURES,
        description="features whose baseline drift the drift alarm watches")
    baseline_s3_uri: S3Location | None = Field(default=None, description="statistics.json/constraints.json prefix")
    min_invocations: int | None = Field(default=None, ge=1, description="this model's invocation-drop threshold")
    model_quality: ModelQuality | None = None


class MonitoringSettings(Section):
    """Drift detection per served model, CloudWatch alarms and the environment's dashboard."""

    engine: Engine = Field(
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
    schedule_expression: Annotated[str, checked(schedule_problem)] = Field(
        default="cron(0 * ? * * *)", description="hourly, daily or every N hours")
    instance_type: Annotated[str, checked(instance_type_problem)] = Field(
        default="ml.m5.large", description="monitoring job instance type")
    instance_count: int = Field(default=1, ge=1, le=100)
    volume_size_gb: int = Field(default=20, ge=1, le=16384)
    max_runtime_seconds: int = Field(default=1800, ge=60, le=MAX_MONITORING_RUNTIME_SECONDS)
    prefix: Annotated[str, checked(prefix_problem)] = Field(default="monitoring",
                                                           description="key prefix in the models bucket")
    dashboard: bool = Field(default=True, description="one CloudWatch dashboard for the environment")
    alarms: AlarmThresholds = Field(default_factory=AlarmThresholds)
    models: dict[str, ModelMonitoringSettings] = Field(default_factory=dict)

    def for_model(self, name: str) -> ModelMonitoringSettings:
        return self.models.get(name) or ModelMonitoringSettings()

    def min_invocations(self, name: str) -> int | None:
        """The model's invocation-drop threshold: its own, else the alarms' (None: no alarm)."""
        own = self.for_model(name).min_invocations
        return own if own is not None else self.alarms.min_invocations
