"""Model monitoring: drift jobs per served model, CloudWatch alarms, one dashboard.

Two engines measure drift (``MonitoringArgs.engine``):

- ``processing`` (the default): a scheduled SageMaker Processing job per model running the
  project's drift module, its metrics published through log metric filters
  (:mod:`mlops_blueprint.components.drift_job`). No Model Monitor resource: Model Monitor is
  closed to new customers, so in a new account its schedules would never run.
- ``model-monitor`` (opt-in, for accounts that have it): the Model Monitor resources below.

Both publish ``feature_baseline_drift_<feature>`` to ``aws/sagemaker/Endpoints/data-metrics`` with
the dimensions ``Endpoint`` + ``MonitoringSchedule``, so the drift alarm is the same for both.

Per model with ``model-monitor`` (``MonitoredModel``):

- **Data quality** (when the endpoint captures data): a ``DataQualityJobDefinition`` reading the
  endpoint's capture (``endpoint_input``; SageMaker reads the capture location the endpoint
  configuration names) and comparing it with the baseline at ``baseline_s3_uri``
  (``statistics.json``/``constraints.json``, written by the training pipeline), plus a
  ``MonitoringSchedule``. Jobs run in the private subnets with the workload security group,
  network isolation and inter-container encryption, the data key on the volume and on the
  reports, which land in ``s3://<models bucket>/<prefix>/<model>/data-quality/``.
- **Model quality** (only with ground truth): the same for a ``ModelQualityJobDefinition``, which
  pulumi-aws 7.x does not have: it is created through a one-resource CloudFormation stack
  (``AWS::SageMaker::ModelQualityJobDefinition``, template built as a dict) and scheduled by a
  Pulumi ``MonitoringSchedule``. Reports go to ``.../<model>/model-quality/``.
- **Alarms**, each to the SNS topic its kind is routed to (``alarm_topics``), with OK actions so
  paging integrations resolve: ``Invocation5XXErrors`` and ``ModelLatency`` per variant
  (``AWS/SageMaker``, dimensions ``EndpointName`` + ``VariantName``); invocation drop per endpoint
  (sum of the variants' ``Invocations`` below a threshold, missing data breaching: an endpoint
  that gets no traffic publishes nothing); **drift**: the maximum of the watched features'
  ``feature_baseline_drift_<feature>`` metrics that Model Monitor publishes to
  ``aws/sagemaker/Endpoints/data-metrics`` (dimensions ``Endpoint`` + ``MonitoringSchedule``)
  after each run, above ``drift_threshold``; model quality: a ``model-metrics`` metric past its
  threshold. Drift is read from those published metrics, not from a log metric filter: the
  built-in container publishes them (``publish_cloudwatch_metrics``), a filter would depend on
  log wording. Feature names must be listed because an alarm cannot use ``SEARCH``.

Once per environment: the execution role of the monitoring jobs (read this stack's captures,
baselines and ground truth, write reports, nothing else) and a CloudWatch dashboard (endpoints,
training pipelines, monitoring), its body built as a dict.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_blueprint.components.drift_job import MAX_METRIC_FILTERS, DriftJobModel, DriftJobs, DriftJobsArgs
from mlops_blueprint.components.service_role import service_role
from mlops_blueprint.context import StackContext
from mlops_blueprint.monitoring_config import (
    MAX_DRIFT_FEATURES,
    MAX_MONITORING_RUNTIME_SECONDS,
    PROBLEM_TYPES,
    alarm_name_problems,
    alarm_period_problem,
    prefix_problem,
    s3_uri_problem,
    schedule_period_seconds,
    schedule_problem,
)
from mlops_blueprint.naming import NameKind
from mlops_blueprint.policy_documents import (
    Statement, assume_role_policy, document, in_region, render, statement, to_json, vpc_interface_statements,
)
from mlops_blueprint.serving_config import has_local_storage

COMPONENT = "monitoring"
TYPE = "mlops:monitoring:Monitoring"

ENDPOINT_NAMESPACE = "AWS/SageMaker"
DATA_METRICS_NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"
MODEL_METRICS_NAMESPACE = "aws/sagemaker/Endpoints/model-metrics"
PIPELINE_NAMESPACE = "AWS/Sagemaker/ModelBuildingPipeline"
DRIFT_METRIC_PREFIX = "feature_baseline_drift_"
MICROSECONDS_PER_MS = 1000  # ModelLatency is reported in microseconds
ALARM_KINDS: tuple[str, ...] = ("errors", "latency", "invocations", "drift", "modelQuality")
ENGINES: tuple[str, ...] = ("processing", "model-monitor")

# The Model Monitor analyzer image lives in an AWS-owned ECR repository per region
# (sagemaker-python-sdk, image_uri_config/model-monitor.json).
MODEL_MONITOR_REPOSITORY = "sagemaker-model-monitor-analyzer"
MODEL_MONITOR_ACCOUNTS: dict[str, str] = {
    "af-south-1": "875698925577", "ap-east-1": "001633400207", "ap-northeast-1": "574779866223",
    "ap-northeast-2": "709848358524", "ap-northeast-3": "990339680094", "ap-south-1": "126357580389",
    "ap-southeast-1": "245545462676", "ap-southeast-2": "563025443158", "ap-southeast-3": "669540362728",
    "ca-central-1": "536280801234", "cn-north-1": "453000072557", "cn-northwest-1": "453252182341",
    "eu-central-1": "048819808253", "eu-north-1": "895015795356", "eu-south-1": "933208885752",
    "eu-west-1": "468650794304", "eu-west-2": "749857270468", "eu-west-3": "680080141114",
    "il-central-1": "843974653677", "me-south-1": "607024016150", "sa-east-1": "539772159869",
    "us-east-1": "156813124566", "us-east-2": "777275614652", "us-west-1": "890145073186",
    "us-west-2": "159807026194",
}

# Where the container sees its input and writes its output (the SDK's defaults).
_INPUT_PATH = "/opt/ml/processing/input/endpoint"
_OUTPUT_PATH = "/opt/ml/processing/output"
_S3_URI = re.compile(r"s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(/(?P<key>.*))?")
_FEATURE = re.compile(r"[A-Za-z0-9_.\-]{1,200}")
_VARIANT = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
_MODEL = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_LATENCY_STATISTICS = ("Average", "p50", "p90", "p95", "p99")
_ECR_IMAGE = re.compile(r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9._/-]+([:@]\S+)?")


def model_monitor_image(region: str) -> str:
    """The built-in Model Monitor analyzer image of ``region``."""
    if region not in MODEL_MONITOR_ACCOUNTS:
        raise ValueError(f"no Model Monitor image is known for {region!r}; pass image_uri")
    suffix = ".amazonaws.com.cn" if region.startswith("cn-") else ".amazonaws.com"
    return f"{MODEL_MONITOR_ACCOUNTS[region]}.dkr.ecr.{region}{suffix}/{MODEL_MONITOR_REPOSITORY}"


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


def _validate(args: MonitoringArgs) -> None:
    """Every problem at once, before anything is registered."""
    if not isinstance(args.context, StackContext):
        raise ValueError(f"invalid MonitoringArgs:\n  - context: expected a StackContext, got {type(args.context).__name__}")
    problems: list[str] = []
    scheduled = [m for m in args.models if m.scheduled]
    model_monitor = args.engine == "model-monitor"
    if args.engine not in ENGINES:
        problems.append(f"engine: {args.engine!r} is not one of {', '.join(ENGINES)}")
    if args.processing_log_group not in ("create", "existing"):
        problems.append(f"processing_log_group: {args.processing_log_group!r} is not one of create, existing")
    if scheduled or any(m.model_quality for m in args.models):
        for problem in (schedule_problem(args.schedule_expression), prefix_problem(args.prefix)):
            if problem:
                problems.append(problem)
        if has_local_storage(args.instance_type):
            problems.append(f"instance_type: {args.instance_type!r} has an instance store, which takes no KMS key")
        if not 60 <= args.max_runtime_seconds <= MAX_MONITORING_RUNTIME_SECONDS:
            problems.append(f"max_runtime_seconds: {args.max_runtime_seconds} is outside 60..{MAX_MONITORING_RUNTIME_SECONDS}")
    if args.engine == "processing":
        if scheduled and args.drift_image_uri is None:
            problems.append("drift_image_uri: the processing engine runs the drift module from an image "
                            "(the training repository's URL and tag); pass one")
        if args.processing_log_group == "create" and scheduled and args.logs_key_arn is None:
            problems.append("logs_key_arn: the processing jobs' log group is created KMS-encrypted; pass the logs key "
                            "(or processing_log_group='existing')")
        for model in args.models:
            if model.model_quality is not None:
                problems.append(f"models[{model.name}].model_quality: model-quality monitoring is Model Monitor's; "
                                "it needs engine 'model-monitor'")
        filters = sum(len(m.drift_features) for m in scheduled)
        if filters > MAX_METRIC_FILTERS:
            problems.append(f"models: {filters} drift features in all; the processing engine makes one log metric "
                            f"filter each and a log group takes at most {MAX_METRIC_FILTERS}")
    if model_monitor and (scheduled or any(m.model_quality for m in args.models)):
        if args.image_uri is None and args.context.region not in MODEL_MONITOR_ACCOUNTS:
            problems.append(f"image_uri: no Model Monitor image is known for {args.context.region}; pass one")
        if args.image_uri is not None and not _ECR_IMAGE.fullmatch(args.image_uri):
            problems.append(f"image_uri: {args.image_uri!r} is not an ECR image URI "
                            "(<account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag])")
    alarms = args.alarms
    if alarms.latency_statistic not in _LATENCY_STATISTICS:
        problems.append(f"alarms.latency_statistic: {alarms.latency_statistic!r} is not one of {', '.join(_LATENCY_STATISTICS)}")
    period = alarm_period_problem(alarms.period_seconds)
    if period:
        problems.append(f"alarms.period_seconds: {period}")
    needed = {"errors", "latency"} | ({"invocations"} if any(_min_invocations(args, m) for m in args.models) else set())
    needed |= {"drift"} if any(m.drift_features and m.scheduled for m in args.models) else set()
    needed |= {"modelQuality"} if any(m.model_quality and m.model_quality.metric for m in args.models) else set()
    for kind in sorted(needed - set(args.alarm_topics)) if args.models else ():
        problems.append(f"alarm_topics: no topic for {kind!r} alarms (kinds: {', '.join(ALARM_KINDS)})")
    names = [m.name for m in args.models]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"models: {name!r} is listed twice")
    for model in args.models:
        problems += _model_problems(model)
    problems += alarm_name_problems([(m.name, m.variant_names) for m in args.models])
    if problems:
        raise ValueError("invalid MonitoringArgs:\n" + "\n".join(f"  - {p}" for p in problems))


def _model_problems(model: MonitoredModel) -> list[str]:
    where = f"models[{model.name}]"
    problems: list[str] = []
    if not isinstance(model.name, str) or not _MODEL.fullmatch(model.name):
        problems.append(f"{where}.name: expected lowercase letters, digits and single '-', e.g. churn")
    if not model.variant_names or isinstance(model.variant_names, str):
        problems.append(f"{where}.variant_names: at least one variant name")
    for variant in model.variant_names if not isinstance(model.variant_names, str) else ():
        if not _VARIANT.fullmatch(variant):
            problems.append(f"{where}.variant_names: {variant!r} is not a SageMaker variant name")
    if len(model.drift_features) > MAX_DRIFT_FEATURES:
        problems.append(f"{where}.drift_features: {len(model.drift_features)} features; an alarm takes at most "
                        f"{MAX_DRIFT_FEATURES} metrics")
    for feature in model.drift_features:
        if not _FEATURE.fullmatch(feature):
            problems.append(f"{where}.drift_features: {feature!r} is not usable in a metric name")
    if model.drift_features and not model.scheduled:
        problems.append(f"{where}.drift_features: drift is measured over captured requests, which needs "
                        "data capture (data_capture_s3_uri) and monitor=True")
    for arg, value in (("data_capture_s3_uri", model.data_capture_s3_uri), ("baseline_s3_uri", model.baseline_s3_uri)):
        problem = s3_uri_problem(value) if isinstance(value, str) else None
        if problem:
            problems.append(f"{where}.{arg}: {problem}")
    quality = model.model_quality
    if quality is not None:
        if model.data_capture_s3_uri is None:
            problems.append(f"{where}.model_quality: needs captured predictions (data_capture_s3_uri)")
        problem = s3_uri_problem(quality.ground_truth_s3_uri)
        if problem:
            problems.append(f"{where}.model_quality.ground_truth_s3_uri: {problem}")
        if quality.problem_type not in PROBLEM_TYPES:
            problems.append(f"{where}.model_quality.problem_type: {quality.problem_type!r} is not one of "
                            f"{', '.join(PROBLEM_TYPES)}")
        if (quality.metric is None) != (quality.threshold is None):
            problems.append(f"{where}.model_quality: metric and threshold go together")
    return problems


def _min_invocations(args: MonitoringArgs, model: MonitoredModel) -> int | None:
    return model.min_invocations if model.min_invocations is not None else args.alarms.min_invocations


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/a/b/`` -> ``("bucket", "a/b")``."""
    match = _S3_URI.fullmatch(uri)
    if not match:
        raise ValueError(f"{uri!r} is not an S3 URI")
    return match.group("bucket"), (match.group("key") or "").strip("/")


def _content_name(ctx: StackContext, *parts: str) -> Any:
    """A name that changes exactly when the definition's content does: SageMaker job definitions
    cannot be updated, so a change replaces them, and create-before-delete needs a new name."""

    def name(content: Any) -> str:
        digest = hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()[:8]
        return ctx.naming.name(*parts, digest, kind=NameKind.SAGEMAKER)

    return name


# -- the monitoring jobs' role --------------------------------------------------------------------------


def _s3_prefix_arn(ctx: StackContext, uri: str) -> tuple[str, str, str]:
    """``(bucket arn, object arn pattern, list prefix)`` for everything under ``uri``."""
    bucket, key = split_s3_uri(uri)
    bucket_arn = ctx.arn("s3", bucket, regional=False, account=False)
    prefix = f"{key}/" if key else ""
    return bucket_arn, f"{bucket_arn}/{prefix}*", f"{prefix}*"


def monitoring_role_policy(
    ctx: StackContext,
    data_key_arn: str,
    read_uris: Sequence[str],
    write_uris: Sequence[str],
    image_uri: str,
    *,
    publish_metrics: bool = True,
) -> dict[str, Any]:
    """Read captures, baselines and ground truth; write reports; pull the image; run in the VPC.
    ``publish_metrics=False``: no ``PutMetricData`` (an isolated drift job publishes through its logs)."""
    region_only = in_region(ctx.region)
    reads = [_s3_prefix_arn(ctx, uri) for uri in read_uris]
    writes = [_s3_prefix_arn(ctx, uri) for uri in write_uris]
    listing: dict[str, list[str]] = {}
    for bucket_arn, _, prefix in reads + writes:
        listing.setdefault(bucket_arn, []).append(prefix)
    statements: list[Statement] = []
    if reads:
        statements.append(statement("ReadMonitoringInputs", ["s3:GetObject"], [objects for _, objects, _ in reads]))
    if writes:
        statements.append(statement("WriteMonitoringReports", ["s3:GetObject", "s3:PutObject"],
                                    [objects for _, objects, _ in writes]))
    for i, (bucket_arn, prefixes) in enumerate(sorted(listing.items())):
        statements.append(statement(f"ListMonitoringPrefixes{i}", ["s3:ListBucket"], [bucket_arn],
                                    conditions={"StringLike": {"s3:prefix": sorted(set(prefixes))}}))
    registry, _, repository = image_uri.partition("/")
    account, region = registry.split(".")[0], registry.split(".")[3]
    repository_arn = f"arn:{ctx.partition}:ecr:{region}:{account}:repository/{repository.split(':')[0].split('@')[0]}"
    statements += [
        statement("UseDataKey", ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"], [data_key_arn]),
        # GetAuthorizationToken has no resource type: "*" within this region.
        statement("EcrLogin", ["ecr:GetAuthorizationToken"], "*", conditions=region_only),
        statement("PullAnalyzerImage", ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage",
                                        "ecr:GetDownloadUrlForLayer"], [repository_arn]),
        *vpc_interface_statements(ctx.region),
        statement("WriteProcessingLogs",
                  ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                  [ctx.arn("logs", "log-group:/aws/sagemaker/ProcessingJobs*")]),
    ]
    if publish_metrics:
        # PutMetricData has no resource type; the namespace condition keeps it to Model Monitor's.
        statements.append(statement("PublishMonitoringMetrics", ["cloudwatch:PutMetricData"], "*",
                                    conditions={"StringLike": {"cloudwatch:namespace": [
                                        "aws/sagemaker/Endpoints/*", "aws/sagemaker/ModelMonitoring/*"]}}))
    return document(*statements)


# -- alarms and the dashboard ----------------------------------------------------------------------------


def drift_metric_name(feature: str) -> str:
    return f"{DRIFT_METRIC_PREFIX}{feature}"


def _grid(widgets: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Place widgets left to right in rows 24 units wide."""
    placed, x, y, row_height = [], 0, 0, 0
    for widget in widgets:
        width, height = widget.pop("width"), widget.pop("height")
        if x + width > 24:
            x, y, row_height = 0, y + row_height, 0
        placed.append({**widget, "x": x, "y": y, "width": width, "height": height})
        x, row_height = x + width, max(row_height, height)
    return placed


def _metric_widget(title: str, region: str, metrics: list[list[Any]], *, width: int = 8,
                   stat: str = "Sum", period: int = 300) -> dict[str, Any]:
    return {"type": "metric", "width": width, "height": 6, "properties": {
        "title": title, "region": region, "view": "timeSeries", "stacked": False,
        "stat": stat, "period": period, "metrics": metrics}}


def dashboard_body(
    title: str,
    region: str,
    models: Sequence[Mapping[str, Any]],
    pipeline_names: Sequence[str],
    alarm_arns: Sequence[str],
) -> dict[str, Any]:
    """The dashboard: alarms, then per model (traffic, errors, latency, drift), then training.

    ``models``: ``{"name", "endpoint", "variants", "schedule" (or None), "features", "period",
    "quality" (``{"metric", "schedule"}`` or None)}``.
    """
    widgets: list[dict[str, Any]] = [
        {"type": "text", "width": 24, "height": 2, "properties": {"markdown": (
            f"# {title}\nEndpoints (AWS/SageMaker), feature drift ({DATA_METRICS_NAMESPACE}) and "
            f"training pipelines ({PIPELINE_NAMESPACE}).")}},
    ]
    if alarm_arns:
        widgets.append({"type": "alarm", "width": 24, "height": 3,
                        "properties": {"title": "Alarms", "alarms": sorted(alarm_arns)[:100]}})
    for model in models:
        endpoint, variants = model["endpoint"], model["variants"]

        def per_variant(metric: str, options: dict[str, Any] | None = None) -> list[list[Any]]:
            return [[ENDPOINT_NAMESPACE, metric, "EndpointName", endpoint, "VariantName", v, *([options] if options else [])]
                    for v in variants]

        name = model["name"]
        widgets += [
            {"type": "text", "width": 24, "height": 1, "properties": {"markdown": f"## {name} — endpoint `{endpoint}`"}},
            _metric_widget(f"{name}: invocations", region, per_variant("Invocations")),
            _metric_widget(f"{name}: 4xx / 5xx", region, per_variant("Invocation4XXErrors") + per_variant("Invocation5XXErrors")),
            _metric_widget(f"{name}: model latency p90 (µs)", region, per_variant("ModelLatency", {"stat": "p90"}),
                           stat="p90"),
        ]
        if model.get("schedule") and model.get("features"):
            period = model["period"]
            widgets.append(_metric_widget(
                f"{name}: feature baseline drift", region,
                [[DATA_METRICS_NAMESPACE, drift_metric_name(f), "Endpoint", endpoint, "MonitoringSchedule", model["schedule"]]
                 for f in model["features"]],
                width=24, stat="Maximum", period=period,
            ))
        quality = model.get("quality")
        if quality:
            widgets.append(_metric_widget(
                f"{name}: {quality['metric']} (model quality)", region,
                [[MODEL_METRICS_NAMESPACE, quality["metric"], "Endpoint", endpoint, "MonitoringSchedule", quality["schedule"]]],
                width=24, stat="Average", period=model["period"],
            ))
    if pipeline_names:
        widgets.append({"type": "text", "width": 24, "height": 1, "properties": {"markdown": "## Training pipelines"}})
        widgets.append(_metric_widget(
            "pipeline executions", region,
            [[PIPELINE_NAMESPACE, metric, "PipelineName", p] for p in pipeline_names
             for metric in ("ExecutionStarted", "ExecutionSucceeded", "ExecutionFailed")],
            width=12, period=3600,
        ))
        widgets.append(_metric_widget(
            "training jobs: CPU utilization (all jobs in the region)", region,
            [[{"expression": "SEARCH('{/aws/sagemaker/TrainingJobs,Host} MetricName=\"CPUUtilization\"', 'Average', 300)",
               "id": "training", "label": ""}]],
            width=12, stat="Average",
        ))
    return {"widgets": _grid(widgets)}


class Monitoring(pulumi.ComponentResource):
    """Drift jobs (or Model Monitor schedules), endpoint/drift/quality alarms and the dashboard."""

    role_arn: pulumi.Output[str] | None                 # the drift jobs' (or Model Monitor's) role
    drift_schedule_names: dict[str, str]                # model -> MonitoringSchedule dimension of its drift metrics
    drift_jobs: DriftJobs | None
    schedule_names: dict[str, str]                      # model -> data-quality schedule (model-monitor)
    quality_schedule_names: dict[str, str]              # model -> model-quality schedule
    drift_alarm_names: dict[str, str]                   # model -> drift alarm (the retraining signal)
    drift_alarm_arns: dict[str, pulumi.Output[str]]
    alarm_arns: dict[str, list[pulumi.Output[str]]]     # model -> every alarm of the model
    dashboard_name: str | None

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        super().__init__(TYPE, name, None, opts)
        self._prefix = name
        self._args = args
        self._ctx = ctx = args.context
        self._child = pulumi.ResourceOptions(parent=self)
        self._image = args.image_uri or (model_monitor_image(ctx.region) if ctx.region in MODEL_MONITOR_ACCOUNTS else "")
        # Alarms on what monitoring runs publish look at one run's period (no runs: an hour, unused).
        valid_schedule = schedule_problem(args.schedule_expression) is None
        self._period = schedule_period_seconds(args.schedule_expression) if valid_schedule else 3600
        self.schedule_names, self.quality_schedule_names = {}, {}
        self.drift_alarm_names, self.drift_alarm_arns, self.alarm_arns = {}, {}, {}
        self.drift_schedule_names = {}
        self.drift_jobs = None
        self.role_arn = None
        self.dashboard_name = None

        if args.engine == "model-monitor":
            monitored = [m for m in args.models if m.scheduled or m.model_quality]
            role = self._role(monitored) if monitored else None
            if role is not None:
                self.role_arn = role.arn
            for model in args.models:
                self.alarm_arns[model.name] = self._endpoint_alarms(model)
                if role is not None and model.scheduled:
                    self._data_quality(model, role)
                if role is not None and model.model_quality is not None:
                    self._model_quality(model, model.model_quality, role)
        else:
            for model in args.models:
                self.alarm_arns[model.name] = self._endpoint_alarms(model)
            self._drift_jobs([m for m in args.models if m.scheduled])
        if args.dashboard:
            self._dashboard()

        self.register_outputs({
            "monitoringRoleArn": self.role_arn,
            "driftScheduleNames": self.drift_schedule_names,
            "scheduleNames": self.schedule_names,
            "qualityScheduleNames": self.quality_schedule_names,
            "driftAlarmNames": self.drift_alarm_names,
            "driftAlarmArns": self.drift_alarm_arns,
            "dashboardName": self.dashboard_name,
        })

    # -- helpers ---------------------------------------------------------------------------------------
    def _tags(self, *parts: str) -> dict[str, str]:
        return self._ctx.tagging.resource(COMPONENT, self._ctx.naming.name(*parts))

    def _output_uri(self, model: str, kind: str) -> pulumi.Output[str]:
        return pulumi.Output.concat("s3://", self._args.models_bucket_name, f"/{self._args.prefix}/{model}/{kind}")

    def _baseline_uri(self, model: MonitoredModel) -> pulumi.Output[str]:
        if model.baseline_s3_uri is not None:
            return pulumi.Output.from_input(model.baseline_s3_uri).apply(lambda u: u.rstrip("/"))
        return self._output_uri(model.name, "baseline")

    def _network(self) -> dict[str, Any]:
        subnets = self._args.subnet_ids
        return {
            "enable_network_isolation": True,
            "enable_inter_container_traffic_encryption": True,
            "vpc_config": {"security_group_ids": [self._args.security_group_id],
                           "subnets": list(subnets) if isinstance(subnets, (list, tuple)) else subnets},
        }

    def _role(self, models: Sequence[MonitoredModel]) -> aws.iam.Role:
        ctx, args = self._ctx, self._args
        role = service_role(
            f"{self._prefix}-role",
            context=ctx,
            component=COMPONENT,
            purpose="model-monitor",
            description="SageMaker Model Monitor jobs",
            trust=to_json(assume_role_policy(ctx.service_principal("sagemaker"), source_account=ctx.account_id)),
            permissions_boundary_arn=args.permissions_boundary_arn,
            opts=self._child,
        )
        reads: list[pulumi.Input[str]] = []
        writes: list[pulumi.Input[str]] = []
        for model in models:
            if model.data_capture_s3_uri is not None:
                reads.append(model.data_capture_s3_uri)
            if model.scheduled:
                reads.append(self._baseline_uri(model))
                writes.append(self._output_uri(model.name, "data-quality"))
            if model.model_quality is not None:
                reads.append(model.model_quality.ground_truth_s3_uri)
                writes.append(self._output_uri(model.name, "model-quality"))
        n_reads = len(reads)
        image = self._image
        policy = render(
            lambda key, *uris: monitoring_role_policy(ctx, key, uris[:n_reads], uris[n_reads:], image),
            args.data_key_arn, *reads, *writes,
        )
        self._role_policy = aws.iam.RolePolicy(
            f"{self._prefix}-role-policy",
            name=ctx.naming.name("model-monitor", kind=NameKind.IAM_POLICY),
            role=role.name,
            policy=policy,
            opts=self._child,
        )
        return role

    # -- the processing engine -----------------------------------------------------------------------------
    def _drift_jobs(self, models: Sequence[MonitoredModel]) -> None:
        """Scheduled drift jobs (their own component) and, per model with watched features, the drift alarm."""
        args = self._args
        if not models:
            return
        self.drift_jobs = DriftJobs(
            f"{self._prefix}-drift",
            DriftJobsArgs(
                context=self._ctx,
                models=[DriftJobModel(name=m.name, endpoint_name=m.endpoint_name,
                                      data_capture_s3_uri=m.data_capture_s3_uri,  # type: ignore[arg-type]
                                      baseline_s3_uri=self._baseline_uri(m), features=tuple(m.drift_features))
                        for m in models],
                data_key_arn=args.data_key_arn,
                logs_key_arn=args.logs_key_arn,
                subnet_ids=args.subnet_ids,
                security_group_id=args.security_group_id,
                image_uri=args.drift_image_uri,  # type: ignore[arg-type]
                schedule_expression=args.schedule_expression,
                period_hours=self._period // 3600,
                threshold=args.alarms.drift_threshold,
                instance_type=args.instance_type,
                instance_count=args.instance_count,
                volume_size_gb=args.volume_size_gb,
                max_runtime_seconds=args.max_runtime_seconds,
                log_group=args.processing_log_group,  # type: ignore[arg-type]
                log_retention_days=args.log_retention_days,
                protect=args.protect,
                retain_on_delete=args.retain_on_delete,
                permissions_boundary_arn=args.permissions_boundary_arn,
            ),
            self._child,
        )
        self.role_arn = self.drift_jobs.role_arn
        for model in models:
            schedule = self.drift_jobs.schedule_names[model.name]
            self.drift_schedule_names[model.name] = schedule
            if model.drift_features:
                self._drift_alarm(model, schedule)

    # -- Model Monitor ------------------------------------------------------------------------------------
    def _data_quality(self, model: MonitoredModel, role: aws.iam.Role) -> None:
        ctx, args = self._ctx, self._args
        baseline = self._baseline_uri(model)
        spec = {
            "app": {"image_uri": self._image, "environment": {"publish_cloudwatch_metrics": "Enabled"}},
            "baseline": {"constraints_resource": {"s3_uri": baseline.apply(lambda b: f"{b}/constraints.json")},
                         "statistics_resource": {"s3_uri": baseline.apply(lambda b: f"{b}/statistics.json")}},
            "input": {"endpoint_input": {"endpoint_name": model.endpoint_name, "local_path": _INPUT_PATH,
                                         "s3_data_distribution_type": "FullyReplicated", "s3_input_mode": "File"}},
            "output": {"kms_key_id": args.data_key_arn, "monitoring_outputs": {"s3_output": {
                "s3_uri": self._output_uri(model.name, "data-quality"), "local_path": _OUTPUT_PATH,
                "s3_upload_mode": "EndOfJob"}}},
            "resources": {"cluster_config": {"instance_count": args.instance_count, "instance_type": args.instance_type,
                                             "volume_size_in_gb": args.volume_size_gb,
                                             "volume_kms_key_id": args.data_key_arn}},
            "network": self._network(),
            "stopping": {"max_runtime_in_seconds": args.max_runtime_seconds},
            "role": role.arn,
        }
        definition = aws.sagemaker.DataQualityJobDefinition(
            f"{self._prefix}-{model.name}-data-quality",
            name=pulumi.Output.from_input(spec).apply(_content_name(ctx, model.name, "dq")),
            role_arn=role.arn,
            data_quality_app_specification=spec["app"],
            data_quality_baseline_config=spec["baseline"],
            data_quality_job_input=spec["input"],
            data_quality_job_output_config=spec["output"],
            job_resources=spec["resources"],
            network_config=spec["network"],
            stopping_condition=spec["stopping"],
            tags=self._tags(model.name, "data-quality"),
            # The role must be able to read and write before the first run.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self._role_policy]),
        )
        schedule_name = ctx.naming.name(model.name, "data-quality", kind=NameKind.SAGEMAKER)
        aws.sagemaker.MonitoringSchedule(
            f"{self._prefix}-{model.name}-data-quality",
            name=schedule_name,
            monitoring_schedule_config={
                "monitoring_job_definition_name": definition.name,
                "monitoring_type": "DataQuality",
                "schedule_config": {"schedule_expression": args.schedule_expression},
            },
            tags=self._tags(model.name, "data-quality"),
            opts=self._child,
        )
        self.schedule_names[model.name] = schedule_name
        self.drift_schedule_names[model.name] = schedule_name
        if model.drift_features:
            self._drift_alarm(model, schedule_name)

    def _model_quality(self, model: MonitoredModel, quality: ModelQuality, role: aws.iam.Role) -> None:
        """``AWS::SageMaker::ModelQualityJobDefinition`` through CloudFormation (pulumi-aws has no
        such resource), scheduled by a Pulumi ``MonitoringSchedule``."""
        ctx, args = self._ctx, self._args
        subnets = args.subnet_ids
        inputs = [role.arn, model.endpoint_name, args.data_key_arn, self._output_uri(model.name, "model-quality"),
                  args.security_group_id, pulumi.Output.from_input(subnets)]

        def template(values: list[Any]) -> dict[str, Any]:
            role_arn, endpoint, key, output, security_group, subnet_ids = values
            endpoint_input: dict[str, Any] = {
                "EndpointName": endpoint, "LocalPath": _INPUT_PATH, "S3DataDistributionType": "FullyReplicated",
                "S3InputMode": "File", "InferenceAttribute": quality.inference_attribute,
                "StartTimeOffset": quality.start_time_offset, "EndTimeOffset": quality.end_time_offset,
            }
            if quality.probability_attribute:
                endpoint_input["ProbabilityAttribute"] = quality.probability_attribute
            if quality.probability_threshold is not None:
                endpoint_input["ProbabilityThresholdAttribute"] = quality.probability_threshold
            properties: dict[str, Any] = {
                "ModelQualityAppSpecification": {"ImageUri": self._image, "ProblemType": quality.problem_type},
                "ModelQualityJobInput": {"EndpointInput": endpoint_input,
                                         "GroundTruthS3Input": {"S3Uri": quality.ground_truth_s3_uri}},
                "ModelQualityJobOutputConfig": {"KmsKeyId": key, "MonitoringOutputs": [{"S3Output": {
                    "S3Uri": output, "LocalPath": _OUTPUT_PATH, "S3UploadMode": "EndOfJob"}}]},
                "JobResources": {"ClusterConfig": {"InstanceCount": args.instance_count, "InstanceType": args.instance_type,
                                                   "VolumeSizeInGB": args.volume_size_gb, "VolumeKmsKeyId": key}},
                "NetworkConfig": {"EnableNetworkIsolation": True, "EnableInterContainerTrafficEncryption": True,
                                  "VpcConfig": {"SecurityGroupIds": [security_group], "Subnets": list(subnet_ids)}},
                "RoleArn": role_arn,
                "StoppingCondition": {"MaxRuntimeInSeconds": args.max_runtime_seconds},
            }
            # Job definitions cannot be updated: a content-derived name lets CloudFormation replace one.
            properties["JobDefinitionName"] = _content_name(ctx, model.name, "mq")(properties)
            properties["Tags"] = [{"Key": k, "Value": v}
                                  for k, v in sorted(ctx.tagging.full(COMPONENT, properties["JobDefinitionName"]).items())]
            return {
                "AWSTemplateFormatVersion": "2010-09-09",
                "Description": f"{ctx.naming.prefix}: model-quality job definition for {model.name} (managed by Pulumi)",
                "Resources": {"ModelQualityJobDefinition": {"Type": "AWS::SageMaker::ModelQualityJobDefinition",
                                                            "Properties": properties}},
            }

        rendered = pulumi.Output.all(*inputs).apply(template)
        stack = aws.cloudformation.Stack(
            f"{self._prefix}-{model.name}-model-quality",
            name=ctx.naming.name(model.name, "model-quality"),
            template_body=rendered.apply(lambda t: json.dumps(t, sort_keys=True)),
            on_failure="ROLLBACK",
            tags=self._tags(model.name, "model-quality"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self._role_policy]),
        )
        definition_name = rendered.apply(
            lambda t: t["Resources"]["ModelQualityJobDefinition"]["Properties"]["JobDefinitionName"])
        schedule_name = ctx.naming.name(model.name, "model-quality", kind=NameKind.SAGEMAKER)
        aws.sagemaker.MonitoringSchedule(
            f"{self._prefix}-{model.name}-model-quality",
            name=schedule_name,
            monitoring_schedule_config={
                "monitoring_job_definition_name": definition_name,
                "monitoring_type": "ModelQuality",
                "schedule_config": {"schedule_expression": args.schedule_expression},
            },
            tags=self._tags(model.name, "model-quality"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[stack]),
        )
        self.quality_schedule_names[model.name] = schedule_name
        if quality.metric is not None and quality.threshold is not None:
            alarm = self._alarm(
                model, "quality", "modelQuality",
                f"{model.name}: {quality.metric} {'below' if quality.higher_is_better else 'above'} {quality.threshold:g}",
                namespace=MODEL_METRICS_NAMESPACE, metric_name=quality.metric,
                dimensions={"Endpoint": model.endpoint_name, "MonitoringSchedule": schedule_name},
                statistic="Minimum" if quality.higher_is_better else "Maximum",
                comparison_operator="LessThanThreshold" if quality.higher_is_better else "GreaterThanThreshold",
                threshold=quality.threshold, period=self._period, evaluation_periods=1,
                treat_missing_data="notBreaching",
            )
            self.alarm_arns[model.name].append(alarm.arn)

    # -- alarms -----------------------------------------------------------------------------------------------
    def _alarm(self, model: MonitoredModel, suffix: str, kind: str, description: str,
               **settings: Any) -> aws.cloudwatch.MetricAlarm:
        ctx = self._ctx
        alarm_name = ctx.naming.name(model.name, suffix)
        topic = self._args.alarm_topics[kind]
        return aws.cloudwatch.MetricAlarm(
            f"{self._prefix}-{model.name}-{suffix}",
            name=alarm_name,
            alarm_description=f"{ctx.naming.prefix} {description}",
            alarm_actions=[topic],
            ok_actions=[topic],  # paging integrations resolve the incident on OK
            actions_enabled=True,
            tags=ctx.tagging.resource(COMPONENT, alarm_name),
            opts=self._child,
            **settings,
        )

    def _endpoint_alarms(self, model: MonitoredModel) -> list[pulumi.Output[str]]:
        thresholds = self._args.alarms
        common = {"period": thresholds.period_seconds, "evaluation_periods": thresholds.evaluation_periods,
                  "namespace": ENDPOINT_NAMESPACE}
        arns: list[pulumi.Output[str]] = []
        for variant in model.variant_names:
            dimensions = {"EndpointName": model.endpoint_name, "VariantName": variant}
            errors = self._alarm(
                model, f"{variant}-5xx", "errors",
                f"{model.name}/{variant}: >= {thresholds.errors_5xx} 5xx responses per {thresholds.period_seconds}s",
                metric_name="Invocation5XXErrors", dimensions=dimensions, statistic="Sum",
                comparison_operator="GreaterThanOrEqualToThreshold", threshold=thresholds.errors_5xx,
                treat_missing_data="notBreaching", **common,
            )
            statistic = ({"statistic": "Average"} if thresholds.latency_statistic == "Average"
                         else {"extended_statistic": thresholds.latency_statistic})
            latency = self._alarm(
                model, f"{variant}-latency", "latency",
                f"{model.name}/{variant}: model latency {thresholds.latency_statistic} > {thresholds.latency_ms} ms",
                metric_name="ModelLatency", dimensions=dimensions, **statistic,
                comparison_operator="GreaterThanThreshold", threshold=thresholds.latency_ms * MICROSECONDS_PER_MS,
                treat_missing_data="notBreaching", **common,
            )
            arns += [errors.arn, latency.arn]
        minimum = _min_invocations(self._args, model)
        if minimum is not None:
            arns.append(self._invocation_drop(model, minimum).arn)
        return arns

    def _invocation_drop(self, model: MonitoredModel, minimum: int) -> aws.cloudwatch.MetricAlarm:
        """The endpoint's invocations (all variants) below ``minimum`` per period. No traffic means
        no data points at all, so missing data is breaching."""
        thresholds = self._args.alarms
        queries = [
            {"id": f"v{i}", "return_data": len(model.variant_names) == 1, "metric": {
                "namespace": ENDPOINT_NAMESPACE, "metric_name": "Invocations", "stat": "Sum",
                "period": thresholds.period_seconds,
                "dimensions": {"EndpointName": model.endpoint_name, "VariantName": variant}}}
            for i, variant in enumerate(model.variant_names)
        ]
        if len(queries) > 1:
            queries.append({"id": "invocations", "label": "invocations (all variants)", "return_data": True,
                            "expression": f"SUM([{', '.join(q['id'] for q in queries)}])"})
        return self._alarm(
            model, "invocations", "invocations",
            f"{model.name}: fewer than {minimum} invocations per {thresholds.period_seconds}s (traffic dropped)",
            metric_queries=queries, comparison_operator="LessThanThreshold", threshold=minimum,
            evaluation_periods=thresholds.evaluation_periods, treat_missing_data="breaching",
        )

    def _drift_alarm(self, model: MonitoredModel, schedule_name: str) -> None:
        """The largest baseline drift of the watched features, per monitoring run."""
        threshold = self._args.alarms.drift_threshold
        features = list(model.drift_features)
        queries = [
            {"id": f"f{i}", "label": feature, "return_data": len(features) == 1, "metric": {
                "namespace": DATA_METRICS_NAMESPACE, "metric_name": drift_metric_name(feature), "stat": "Maximum",
                "period": self._period,
                "dimensions": {"Endpoint": model.endpoint_name, "MonitoringSchedule": schedule_name}}}
            for i, feature in enumerate(features)
        ]
        if len(queries) > 1:
            queries.append({"id": "drift", "label": "max feature baseline drift", "return_data": True,
                            "expression": f"MAX([{', '.join(q['id'] for q in queries)}])"})
        alarm = self._alarm(
            model, "drift", "drift",
            f"{model.name}: feature baseline drift > {threshold:g} ({', '.join(features)})",
            metric_queries=queries, comparison_operator="GreaterThanThreshold", threshold=threshold,
            evaluation_periods=1,
            # No run in the period (schedule not due yet, job failed) is not drift.
            treat_missing_data="notBreaching",
        )
        self.drift_alarm_names[model.name] = self._ctx.naming.name(model.name, "drift")
        self.drift_alarm_arns[model.name] = alarm.arn
        self.alarm_arns[model.name].append(alarm.arn)

    # -- dashboard ----------------------------------------------------------------------------------------------
    def _dashboard(self) -> None:
        ctx, args = self._ctx, self._args
        models = args.models
        endpoints = [m.endpoint_name for m in models]
        pipelines = list(args.pipeline_names)
        alarm_arns = [arn for m in models for arn in self.alarm_arns.get(m.name, [])]
        n_models, n_pipelines = len(endpoints), len(pipelines)

        def body(values: list[Any]) -> str:
            endpoint_names = values[:n_models]
            pipeline_names = values[n_models:n_models + n_pipelines]
            arns = values[n_models + n_pipelines:]
            entries = [{"name": m.name, "endpoint": e, "variants": list(m.variant_names),
                        "schedule": self.drift_schedule_names.get(m.name), "features": list(m.drift_features),
                        "period": self._period,
                        "quality": ({"metric": m.model_quality.metric, "schedule": self.quality_schedule_names[m.name]}
                                    if m.model_quality and m.model_quality.metric else None)}
                       for m, e in zip(models, endpoint_names)]
            return json.dumps(dashboard_body(f"{ctx.naming.prefix}: ML platform", ctx.region, entries,
                                             pipeline_names, arns), sort_keys=True)

        self.dashboard_name = ctx.naming.dashboard("ml-platform")
        aws.cloudwatch.Dashboard(
            f"{self._prefix}-dashboard",
            dashboard_name=self.dashboard_name,
            dashboard_body=pulumi.Output.all(*endpoints, *pipelines, *alarm_arns).apply(body),
            opts=self._child,
        )
