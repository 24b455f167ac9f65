"""Argument checks: every problem of the wiring at once, before anything is registered (the
settings checked their own values when they were built)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from mlops_blueprint.components.arg_checks import type_problems
from mlops_blueprint.components.drift_job import MAX_METRIC_FILTERS
from mlops_blueprint.components.monitoring.args import ALARM_KINDS, MonitoredModel, MonitoringArgs
from mlops_blueprint.components.monitoring.model_monitor import MODEL_MONITOR_ACCOUNTS
from mlops_blueprint.components.monitoring.settings import MonitoringSettings
from mlops_blueprint.context import StackContext
from mlops_blueprint.naming import NameKind, fit
from mlops_blueprint.validation import raise_invalid_args, s3_location_problem

_VARIANT = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
_MODEL = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_ECR_IMAGE = re.compile(r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9._/-]+([:@]\S+)?")
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


def validate(args: MonitoringArgs) -> None:
    """Every problem at once, before anything is registered."""
    # Everything below reads the context and the settings.
    raise_invalid_args("MonitoringArgs", type_problems(args, context=StackContext, settings=MonitoringSettings))
    problems: list[str] = []
    settings = args.settings
    scheduled = [m for m in args.models if args.scheduled(m)]
    quality = [m for m in args.models if args.model_settings(m).model_quality is not None]
    if settings.engine == "processing":
        if scheduled and args.drift_image_uri is None:
            problems.append("drift_image_uri: the processing engine runs the drift module from an image "
                            "(the training repository's URL and tag); pass one")
        if settings.processing_log_group == "create" and scheduled and args.logs_key_arn is None:
            problems.append("logs_key_arn: the processing jobs' log group is created KMS-encrypted; pass the logs key "
                            "(or settings.processing_log_group='existing')")
        for model in quality:
            problems.append(f"settings.models.{model.name}.model_quality: model-quality monitoring is Model Monitor's; "
                            "it needs engine 'model-monitor'")
        filters = sum(len(args.model_settings(m).drift_features) for m in scheduled)
        if filters > MAX_METRIC_FILTERS:
            problems.append(f"models: {filters} drift features in all; the processing engine makes one log metric "
                            f"filter each and a log group takes at most {MAX_METRIC_FILTERS}")
    elif scheduled or quality:
        if args.image_uri is None and args.context.region not in MODEL_MONITOR_ACCOUNTS:
            problems.append(f"image_uri: no Model Monitor image is known for {args.context.region}; pass one")
        if args.image_uri is not None and not _ECR_IMAGE.fullmatch(args.image_uri):
            problems.append(f"image_uri: {args.image_uri!r} is not an ECR image URI "
                            "(<account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag])")
    needed = {"errors", "latency"}
    needed |= {"invocations"} if any(settings.min_invocations(m.name) for m in args.models) else set()
    needed |= {"drift"} if any(args.model_settings(m).drift_features for m in scheduled) else set()
    needed |= {"modelQuality"} if any(args.model_settings(m).model_quality.metric for m in quality) else set()
    for kind in sorted(needed - set(args.alarm_topics)) if args.models else ():
        problems.append(f"alarm_topics: no topic for {kind!r} alarms (kinds: {', '.join(ALARM_KINDS)})")
    names = [m.name for m in args.models]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"models: {name!r} is listed twice")
    for model in args.models:
        problems += model_problems(args, model)
    problems += alarm_name_problems([(m.name, m.variant_names) for m in args.models])
    raise_invalid_args("MonitoringArgs", problems)


def model_problems(args: MonitoringArgs, model: MonitoredModel) -> list[str]:
    """One model's wiring, and the settings that need it (captured traffic)."""
    where = f"models[{model.name}]"
    problems: list[str] = []
    if not isinstance(model.name, str) or not _MODEL.fullmatch(model.name):
        problems.append(f"{where}.name: expected lowercase letters, digits and single '-', e.g. churn")
    if not model.variant_names or isinstance(model.variant_names, str):
        problems.append(f"{where}.variant_names: at least one variant name")
    for variant in model.variant_names if not isinstance(model.variant_names, str) else ():
        if not _VARIANT.fullmatch(variant):
            problems.append(f"{where}.variant_names: {variant!r} is not a SageMaker variant name")
    problem = s3_location_problem(model.data_capture_s3_uri) if isinstance(model.data_capture_s3_uri, str) else None
    if problem:
        problems.append(f"{where}.data_capture_s3_uri: {problem}")
    settings = args.model_settings(model)
    if settings.drift_features and not args.scheduled(model):
        problems.append(f"settings.models.{model.name}.drift_features: drift is measured over captured requests, "
                        "which needs data capture (data_capture_s3_uri) and the model's monitoring enabled")
    if settings.model_quality is not None and model.data_capture_s3_uri is None:
        problems.append(f"settings.models.{model.name}.model_quality: needs captured predictions (data_capture_s3_uri)")
    return problems
