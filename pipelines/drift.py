"""Drift signals: what starts a retraining, in the shapes the platform's monitoring emits.

``mlops-blueprint pipeline retrain --drift-report LOCATION`` (a local path or ``s3://`` URI) takes
either of these JSON documents; the ``Monitoring`` and ``Retraining`` components produce both.

1. **A violations report** — ``constraint_violations.json`` in Model Monitor's shape, written by
   each drift run: by the ``processing`` engine's drift job (:mod:`.drift_stats`) next to the
   captures (``s3://<modelsBucketName>/data-capture/<model>/drift-reports/<run>/``), or by a Model
   Monitor execution under the schedule's output
   (``s3://<modelsBucketName>/monitoring/<model>/data-quality/<endpoint>/<schedule>/<yyyy>/<mm>/<dd>/<hh>/``)::

       {"violations": [
          {"feature_name": "f0",
           "constraint_check_type": "baseline_drift_check",
           "description": "Baseline drift distance: 0.39 exceeds threshold: 0.1"}]}

   ``constraint_check_type`` is one of Model Monitor's checks: ``data_type_check``,
   ``completeness_check``, ``baseline_drift_check``, ``missing_column_check``,
   ``extra_column_check``, ``categorical_values_check``. Any violation is drift; none is not.

2. **The drift alarm's EventBridge event** — the model's drift alarm (``<prefix>-<model>-drift``, on
   Model Monitor's ``feature_baseline_drift_<feature>`` metrics in
   ``aws/sagemaker/Endpoints/data-metrics``) entering ``ALARM``; the event the ``Retraining``
   component's rule matches (``components/retraining.py``: ``drift_event_pattern``)::

       {"version": "0", "id": "...", "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch", "account": "123456789012", "time": "2025-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:mlops-platform-dev-churn-drift"],
        "detail": {"alarmName": "mlops-platform-dev-churn-drift",
                   "state": {"value": "ALARM", "reason": "...", "timestamp": "..."},
                   "previousState": {"value": "OK", "reason": "", "timestamp": "..."},
                   "configuration": {"metrics": [{"id": "f0", "metricStat": {"metric": {
                       "namespace": "aws/sagemaker/Endpoints/data-metrics",
                       "name": "feature_baseline_drift_f0",
                       "dimensions": {"Endpoint": "...", "MonitoringSchedule": "..."}}}}]}}}

   ``state.value`` ``ALARM`` is drift (any other value is not). The drifting features come from
   the metric names in ``configuration`` when present; the retrain step then also reads the
   latest ``constraint_violations.json`` of the model's drift reports (either engine), when there is one.
   If the stack exports ``driftAlarmArns``, the event's alarm must be this model's.

:func:`drift_report` compares two datasets directly (``pipeline drift-check``: two-sample
Kolmogorov-Smirnov distance per feature, Model Monitor's default threshold 0.1), and
:func:`drift_alarm_event` is the alarm's event (the sandbox sends it when the metrics its drift
run published cross the alarm's threshold); both emit exactly the shapes above.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_blueprint.outputs import Out
from mlops_blueprint.pipelines.drift_stats import CAPTURE_PREFIX, REPORTS_FOLDER
from mlops_blueprint.pipelines.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from mlops_blueprint.pipelines.context import PipelineContext

VIOLATIONS_FILE = "constraint_violations.json"
CHECK_TYPES = ("data_type_check", "completeness_check", "baseline_drift_check", "missing_column_check",
               "extra_column_check", "categorical_values_check")
ALARM_STATE_CHANGE = "CloudWatch Alarm State Change"
DATA_METRICS_NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"
DRIFT_METRIC_PREFIX = "feature_baseline_drift_"
DEFAULT_THRESHOLD = 0.1
MONITORING_PREFIX = "monitoring"


@dataclass(frozen=True)
class Violation:
    feature_name: str
    constraint_check_type: str
    description: str


@dataclass(frozen=True)
class DriftSignal:
    kind: str                       # "violations-report" | "alarm-event"
    source: str                     # where it was read from
    drifted: bool
    violations: tuple[Violation, ...] = ()
    alarm_arn: str | None = None
    alarm_features: tuple[str, ...] = ()
    report_uri: str | None = None   # the violations report read for an alarm event, if any
    reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        return sorted({v.feature_name for v in self.violations} | set(self.alarm_features))

    def summary(self) -> str:
        if not self.drifted:
            return f"no drift ({self.kind} from {self.source})"
        features = ", ".join(self.features) or "unspecified features"
        return f"drift in {features} ({self.kind} from {self.source})"


def parse_violations(document: Any, source: str) -> tuple[Violation, ...]:
    items = document.get("violations") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise InputError(f"{source}: a violations report needs a 'violations' list")
    violations = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("feature_name"), str) \
                or not isinstance(item.get("constraint_check_type"), str):
            raise InputError(f"{source}: violations[{index}] needs string 'feature_name' and 'constraint_check_type' "
                             f"(got {item!r})")
        if item["constraint_check_type"] not in CHECK_TYPES:
            raise InputError(f"{source}: violations[{index}].constraint_check_type {item['constraint_check_type']!r} "
                             f"is not one of {', '.join(CHECK_TYPES)}")
        violations.append(Violation(item["feature_name"], item["constraint_check_type"], str(item.get("description", ""))))
    return tuple(violations)


def parse_signal(document: Any, source: str) -> DriftSignal:
    """A violations report or a drift alarm event (see the module docstring); anything else is an InputError."""
    if isinstance(document, dict) and "violations" in document:
        violations = parse_violations(document, source)
        return DriftSignal("violations-report", source, bool(violations), violations,
                           reason=f"{len(violations)} violation(s)")
    if isinstance(document, dict) and document.get("detail-type") == ALARM_STATE_CHANGE:
        if document.get("source") != "aws.cloudwatch":
            raise InputError(f"{source}: an alarm event must come from source aws.cloudwatch, not {document.get('source')!r}")
        detail = document.get("detail")
        state = detail.get("state", {}).get("value") if isinstance(detail, dict) else None
        resources = document.get("resources") or []
        if not isinstance(state, str) or not resources:
            raise InputError(f"{source}: an alarm event needs 'resources' (the alarm ARN) and 'detail.state.value'")
        features = []
        for metric in (detail.get("configuration") or {}).get("metrics") or []:
            name = ((metric.get("metricStat") or {}).get("metric") or {}).get("name", "")
            if name.startswith(DRIFT_METRIC_PREFIX):
                features.append(name[len(DRIFT_METRIC_PREFIX):])
        return DriftSignal("alarm-event", source, state == "ALARM", alarm_arn=str(resources[0]),
                           alarm_features=tuple(features),
                           reason=f"alarm {detail.get('alarmName', resources[0])} is {state}: "
                                  f"{detail.get('state', {}).get('reason', '')}".strip())
    raise InputError(f"{source}: not a drift signal. Expected a Model Monitor violations report "
                     '({"violations": [{"feature_name", "constraint_check_type", "description"}]}) or a '
                     f'"{ALARM_STATE_CHANGE}" EventBridge event from aws.cloudwatch')


def read_json(location: str, ctx: PipelineContext | None = None) -> Any:
    if location.startswith("s3://"):
        from botocore.exceptions import ClientError

        from mlops_blueprint.pipelines.context import split_s3_uri

        if ctx is None:
            raise InputError(f"{location}: reading from S3 needs the stack's outputs")
        bucket, key = split_s3_uri(location)
        try:
            body = ctx.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            raise InputError(f"cannot read {location}: {exc.response.get('Error', {}).get('Code', exc)}") from None
        text = body.decode()
    else:
        try:
            text = Path(location).read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot read drift report {location}: {exc.strerror or exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"drift report {location} is not valid JSON: {exc}") from None


def load_signal(location: str, ctx: PipelineContext | None = None) -> DriftSignal:
    return parse_signal(read_json(location, ctx), location)


def check_alarm(signal: DriftSignal, ctx: PipelineContext) -> None:
    """If the stack exports its drift alarms, an alarm event must be the model's own."""
    if signal.kind != "alarm-event" or not ctx.outputs.get(Out.DRIFT_ALARM_ARNS):
        return
    expected = ctx.outputs.per_model(Out.DRIFT_ALARM_ARNS, ctx.model, "matching the drift event to the model")
    if signal.alarm_arn != expected:
        raise InputError(f"{signal.source}: the event is for alarm {signal.alarm_arn}, not model "
                         f"'{ctx.model}''s drift alarm {expected}")


def report_prefixes(model: str) -> tuple[str, ...]:
    """Where each engine's drift runs write their reports: the drift jobs next to the captures,
    Model Monitor under its data-quality output."""
    return (f"{CAPTURE_PREFIX}/{model}/{REPORTS_FOLDER}/", f"{MONITORING_PREFIX}/{model}/data-quality/")


def latest_report(ctx: PipelineContext) -> str | None:
    """The newest ``constraint_violations.json`` of the model's drift reports (either engine), if any."""
    bucket = str(ctx.outputs.require(Out.MODELS_BUCKET_NAME, "monitoring reports"))
    newest: tuple[Any, str] | None = None
    for prefix in report_prefixes(ctx.model):
        for page in ctx.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                if item["Key"].endswith("/" + VIOLATIONS_FILE) and (newest is None or item["LastModified"] > newest[0]):
                    newest = (item["LastModified"], item["Key"])
    return f"s3://{bucket}/{newest[1]}" if newest else None


def with_report(signal: DriftSignal, ctx: PipelineContext) -> DriftSignal:
    """An alarm event plus the violations of the latest report (details for the run's tags)."""
    if signal.kind != "alarm-event" or not signal.drifted:
        return signal
    uri = latest_report(ctx)
    if uri is None:
        return signal
    violations = parse_violations(read_json(uri, ctx), uri)
    return DriftSignal(signal.kind, signal.source, signal.drifted, violations, signal.alarm_arn,
                       signal.alarm_features, uri, signal.reason, signal.extra)


# -- the sandbox's monitor -----------------------------------------------------------------------------

def ks_distance(baseline: Any, current: Any) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: the largest gap between the two empirical CDFs."""
    import numpy as np

    a, b = np.sort(np.asarray(baseline, dtype=float)), np.sort(np.asarray(current, dtype=float))
    grid = np.concatenate([a, b])
    gap = np.abs(np.searchsorted(a, grid, side="right") / len(a) - np.searchsorted(b, grid, side="right") / len(b))
    return float(gap.max()) if len(grid) else 0.0


def drift_report(baseline: pd.DataFrame, current: pd.DataFrame, features: list[str] | tuple[str, ...],
                 threshold: float = DEFAULT_THRESHOLD) -> dict[str, Any]:
    """A ``constraint_violations.json`` for ``current`` against ``baseline`` (what Model Monitor writes)."""
    violations = []
    for feature in features:
        if feature not in current.columns:
            violations.append({"feature_name": feature, "constraint_check_type": "missing_column_check",
                               "description": f"There is missing column {feature} in the current dataset"})
            continue
        distance = ks_distance(baseline[feature], current[feature])
        if distance > threshold:
            violations.append({"feature_name": feature, "constraint_check_type": "baseline_drift_check",
                               "description": f"Baseline drift distance: {distance:.4f} exceeds threshold: {threshold:g}"})
    return {"violations": violations}


def report_key(model: str, endpoint: str, schedule: str, when: datetime | None = None) -> str:
    when = when or datetime.now(timezone.utc)
    return (f"{MONITORING_PREFIX}/{model}/data-quality/{endpoint}/{schedule}/"
            f"{when:%Y/%m/%d/%H}/{VIOLATIONS_FILE}")


def drift_alarm_arn(region: str, account_id: str, alarm_name: str) -> str:
    return f"arn:aws:cloudwatch:{region}:{account_id}:alarm:{alarm_name}"


def drift_alarm_event(alarm_arn: str, *, features: list[str] | tuple[str, ...] = (), endpoint: str = "",
                      schedule: str = "", time: str | None = None, reason: str = "") -> dict[str, Any]:
    """The drift alarm entering ALARM, as CloudWatch sends it to EventBridge."""
    import uuid

    _, _, _, region, account, resource = alarm_arn.split(":", 5)
    alarm_name = resource.removeprefix("alarm:")
    time = time or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    reason = reason or f"Threshold Crossed: feature baseline drift above the threshold ({', '.join(features)})"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": ALARM_STATE_CHANGE,
        "source": "aws.cloudwatch",
        "account": account,
        "time": time,
        "region": region,
        "resources": [alarm_arn],
        "detail": {
            "alarmName": alarm_name,
            "state": {"value": "ALARM", "reason": reason, "timestamp": time},
            "previousState": {"value": "OK", "reason": "", "timestamp": time},
            "configuration": {"metrics": [
                {"id": f"m{i}", "metricStat": {"metric": {
                    "namespace": DATA_METRICS_NAMESPACE, "name": f"{DRIFT_METRIC_PREFIX}{feature}",
                    "dimensions": {"Endpoint": endpoint, "MonitoringSchedule": schedule}},
                    "period": 3600, "stat": "Maximum"}, "returnData": True}
                for i, feature in enumerate(features)]},
        },
    }
