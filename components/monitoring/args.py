"""The component's arguments: what to monitor, the alarm thresholds, the jobs' settings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi

from mlops_blueprint.context import StackContext

COMPONENT = "monitoring"
TYPE = "mlops:monitoring:Monitoring"
ALARM_KINDS: tuple[str, ...] = ("errors", "latency", "invocations", "drift", "modelQuality")
ENGINES: tuple[str, ...] = ("processing", "model-monitor")


@dataclass(frozen=True)
class AlarmThresholds:
    """``AlarmsConfig``: the same thresholds for every model (per-model ``min_invocations`` aside)."""

    errors_5xx: int = 5                     # Invocation5XXErrors per period, per variant
    latency_ms: int = 1000                  # ModelLatency (ms) of latency_statistic
    latency_statistic: str = "p90"          # Average, p50, p90, p95 or p99
    min_invocations: int | None = None      # invocation drop: per period, per endpoint (None: no alarm)
    period_seconds: int = 300
    evaluation_periods: int = 3
    drift_threshold: float = 0.1            # Model Monitor's default comparison threshold


@dataclass(frozen=True)
class ModelQuality:
    """Model-quality monitoring for one model: ground truth merged with captured predictions."""

    ground_truth_s3_uri: str
    problem_type: str                       # BinaryClassification, MulticlassClassification, Regression
    inference_attribute: str
    probability_attribute: str | None = None
    probability_threshold: float | None = None
    metric: str | None = None               # e.g. accuracy; with threshold: the quality alarm
    threshold: float | None = None
    higher_is_better: bool = True
    # Captured predictions of [now + start, now + end] are merged with ground truth: labels lag.
    start_time_offset: str = "-P1D"
    end_time_offset: str = "-PT1H"


@dataclass(frozen=True)
class MonitoredModel:
    """One served model, as the serving component produced it (plain Inputs: no import of it)."""

    name: str                               # the model's name (churn)
    endpoint_name: pulumi.Input[str]        # the SageMaker endpoint
    variant_names: Sequence[str]            # its production variants (alarm dimensions)
    data_capture_s3_uri: pulumi.Input[str] | None = None  # s3://<models bucket>/data-capture/<model>; None: not captured
    drift_features: Sequence[str] = ()      # features the drift alarm watches (<= 10)
    baseline_s3_uri: pulumi.Input[str] | None = None  # default s3://<models bucket>/<prefix>/<model>/baseline
    min_invocations: int | None = None      # overrides AlarmThresholds.min_invocations
    model_quality: ModelQuality | None = None
    monitor: bool = True                    # data-quality schedule (needs data capture)

    @property
    def scheduled(self) -> bool:
        """Whether Model Monitor runs for this model: only over captured traffic."""
        return self.monitor and self.data_capture_s3_uri is not None


@dataclass(frozen=True)
class MonitoringArgs:
    """Monitoring of this stack's served models (values from ``MonitoringConfig``)."""

    context: StackContext
    models_bucket_name: pulumi.Input[str]   # ArtifactStore.models_bucket_name (baselines, reports)
    data_key_arn: pulumi.Input[str]         # Kms.data_key_arn (job volumes, reports)
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]  # Network.training_subnet_ids (private)
    security_group_id: pulumi.Input[str]    # Network.workload_security_group_id
    alarm_topics: Mapping[str, pulumi.Input[str]]  # alert kind -> SNS topic ARN (Alerting.routes)
    models: Sequence[MonitoredModel] = ()
    schedule_expression: str = "cron(0 * ? * * *)"
    instance_type: str = "ml.m5.large"
    instance_count: int = 1
    volume_size_gb: int = 20
    max_runtime_seconds: int = 1800
    prefix: str = "monitoring"              # s3://<models bucket>/<prefix>/<model>/...
    alarms: AlarmThresholds = field(default_factory=AlarmThresholds)
    pipeline_names: Sequence[pulumi.Input[str]] = ()  # training pipelines on the dashboard
    dashboard: bool = True
    image_uri: str | None = None            # model-monitor: default the region's Model Monitor analyzer
    permissions_boundary_arn: str | None = None
    engine: str = "processing"              # or "model-monitor" (accounts that have Model Monitor)
    # processing engine: the drift job's image (the training repository's URL and a tag), the log
    # group its metric filters read (created with the logs key, or existing), and its protection.
    drift_image_uri: pulumi.Input[str] | None = None
    logs_key_arn: pulumi.Input[str] | None = None
    processing_log_group: str = "create"    # or "existing"
    log_retention_days: int = 30
    protect: bool = False
    retain_on_delete: bool = False
