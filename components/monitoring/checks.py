"""Argument checks: every problem at once, before anything is registered."""

from __future__ import annotations

import re

from mlops_blueprint.validation import invalid_args_error, raise_invalid_args, s3_location_problem
from mlops_blueprint.components.drift_job import MAX_METRIC_FILTERS
from mlops_blueprint.components.monitoring.args import ALARM_KINDS, ENGINES, MonitoredModel, MonitoringArgs
from mlops_blueprint.components.monitoring.model_monitor import MODEL_MONITOR_ACCOUNTS
from mlops_blueprint.context import StackContext
from mlops_blueprint.monitoring_config import (
    MAX_DRIFT_FEATURES,
    MAX_MONITORING_RUNTIME_SECONDS,
    PROBLEM_TYPES,
    alarm_name_problems,
    alarm_period_problem,
    prefix_problem,
    schedule_problem,
)
from mlops_blueprint.serving_config import has_local_storage

_FEATURE = re.compile(r"[A-Za-z0-9_.\-]{1,200}")
_VARIANT = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
_MODEL = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_LATENCY_STATISTICS = ("Average", "p50", "p90", "p95", "p99")
_ECR_IMAGE = re.compile(r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9._/-]+([:@]\S+)?")


def validate(args: MonitoringArgs) -> None:
    """Every problem at once, before anything is registered."""
    if not isinstance(args.context, StackContext):
        raise invalid_args_error("MonitoringArgs", [f"context: expected a StackContext, got {type(args.context).__name__}"])
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
    needed = {"errors", "latency"} | ({"invocations"} if any(min_invocations(args, m) for m in args.models) else set())
    needed |= {"drift"} if any(m.drift_features and m.scheduled for m in args.models) else set()
    needed |= {"modelQuality"} if any(m.model_quality and m.model_quality.metric for m in args.models) else set()
    for kind in sorted(needed - set(args.alarm_topics)) if args.models else ():
        problems.append(f"alarm_topics: no topic for {kind!r} alarms (kinds: {', '.join(ALARM_KINDS)})")
    names = [m.name for m in args.models]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"models: {name!r} is listed twice")
    for model in args.models:
        problems += model_problems(model)
    problems += alarm_name_problems([(m.name, m.variant_names) for m in args.models])
    raise_invalid_args("MonitoringArgs", problems)


def model_problems(model: MonitoredModel) -> list[str]:
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
        problem = s3_location_problem(value) if isinstance(value, str) else None
        if problem:
            problems.append(f"{where}.{arg}: {problem}")
    quality = model.model_quality
    if quality is not None:
        if model.data_capture_s3_uri is None:
            problems.append(f"{where}.model_quality: needs captured predictions (data_capture_s3_uri)")
        problem = s3_location_problem(quality.ground_truth_s3_uri)
        if problem:
            problems.append(f"{where}.model_quality.ground_truth_s3_uri: {problem}")
        if quality.problem_type not in PROBLEM_TYPES:
            problems.append(f"{where}.model_quality.problem_type: {quality.problem_type!r} is not one of "
                            f"{', '.join(PROBLEM_TYPES)}")
        if (quality.metric is None) != (quality.threshold is None):
            problems.append(f"{where}.model_quality: metric and threshold go together")
    return problems


def min_invocations(args: MonitoringArgs, model: MonitoredModel) -> int | None:
    return model.min_invocations if model.min_invocations is not None else args.alarms.min_invocations
