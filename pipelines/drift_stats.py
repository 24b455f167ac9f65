"""Per-feature drift of an endpoint's captured requests against the training baseline, without Model Monitor.

One module, three callers: the scheduled SageMaker Processing job (``python -m
mlops_blueprint.pipelines.drift_stats`` or the ``mlops-drift-job`` console script, reading
``/opt/ml/processing/input/...`` and environment variables), the ``pipeline baseline`` step
(:func:`baseline_statistics`, :func:`write_baseline`), and the sandbox (:func:`run_for_endpoint`
on the requests it captured to S3). numpy and scipy only (plus boto3 for S3/CloudWatch).

**Baseline** (``s3://<artifactBucketName>/monitoring/<model>/baseline/drift_baseline.json``, next to
Model Monitor's ``statistics.json``/``constraints.json`` and named apart from them): per feature,
count/mean/std/min/max, the decile edges of the training data, and a seeded sample of at most
:data:`BASELINE_SAMPLE` values (the KS test needs values, not a summary).

**Captures** (SageMaker data capture, one JSON object per line, in
``s3://<models bucket>/data-capture/<model>/<endpoint>/<variant>/<yyyy>/<mm>/<dd>/<hh>/<id>.jsonl``)::

    {"captureData": {"endpointInput": {"observedContentType": "application/json", "mode": "INPUT",
                                       "data": "...", "encoding": "JSON"},
                     "endpointOutput": {...}},
     "eventMetadata": {"eventId": "...", "inferenceTime": "2026-01-01T10:15:00Z"}, "eventVersion": "0"}

``encoding`` is ``CSV``, ``JSON`` or ``BASE64`` (the payload as base64 of its bytes). A JSON payload is
MLflow's scoring input (``dataframe_split``, ``dataframe_records``, ``instances``, ``inputs``); a CSV
one has the baseline's features in order, no header.

**Statistics and thresholds.** Per feature:

* ``ks`` — the two-sample Kolmogorov-Smirnov statistic (``scipy.stats.ks_2samp``): the largest gap
  between the two empirical CDFs, in [0, 1]. It is *the* drift distance: published as
  ``feature_baseline_drift_<feature>`` and compared with ``threshold`` (default
  :data:`DEFAULT_THRESHOLD` = 0.1, Model Monitor's default baseline-drift threshold, so the drift
  alarm's threshold means the same for both engines). Sampling noise: with ``n`` captured and
  ``m`` baseline values, the 99.9th percentile of the statistic without drift is about
  ``1.95 * sqrt(1/n + 1/m)``, i.e. < 0.1 from roughly 500 captured requests on a 1,500-row baseline;
  below :data:`DEFAULT_MIN_RECORDS` requests no verdict is given and no metric is published.
* ``js`` — Jensen-Shannon distance (base 2, in [0, 1]) between the two histograms over the
  baseline's decile bins (``scipy.spatial.distance.jensenshannon``); reported, not alarmed on.
* ``psi`` — the population stability index over the same bins; reported (rule of thumb: < 0.1
  stable, 0.1-0.25 moderate shift, > 0.25 major shift).
* ``p_value`` of the KS test, reported.

**Outputs.** In the output directory (the job's ``/opt/ml/processing/output``, uploaded next to the
captures) or under ``s3://<models bucket>/data-capture/<model>/drift-reports/<yyyy>/<mm>/<dd>/<hh>/``:
``constraint_violations.json`` (Model Monitor's shape: ``pipeline retrain --drift-report`` reads it
unchanged), ``drift_report.json`` (every statistic per feature) and ``cloudwatch_metrics.json`` (the
``PutMetricData`` request). Metrics (:func:`metric_data`): namespace
``aws/sagemaker/Endpoints/data-metrics``, dimensions ``Endpoint`` and ``MonitoringSchedule``, one
``feature_baseline_drift_<feature>`` per feature (what the Monitoring component's drift alarm
watches) and ``baseline_drift_max`` (the largest, one per model). Every datum is also printed as one
JSON line ``{"mlops_drift_metric": ...}`` on stdout (a log metric filter can take it from the job's
log group where the container cannot reach CloudWatch).
"""

from __future__ import annotations

import argparse
import base64
import csv
import io
import json
import math
import os
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

DEFAULT_THRESHOLD = 0.1          # KS distance: Model Monitor's default baseline-drift threshold
DEFAULT_MIN_RECORDS = 100        # fewer captured requests: no verdict, no metric
BASELINE_SAMPLE = 5000           # values kept per feature in the baseline
BASELINE_FILE = "drift_baseline.json"
REPORT_FILE = "drift_report.json"
VIOLATIONS_FILE = "constraint_violations.json"
METRICS_FILE = "cloudwatch_metrics.json"
NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"
FEATURE_METRIC_PREFIX = "feature_baseline_drift_"
MAX_METRIC = "baseline_drift_max"
CAPTURE_PREFIX = "data-capture"
REPORTS_FOLDER = "drift-reports"
MONITORING_PREFIX = "monitoring"
_BINS = 10                       # decile bins for JS and PSI
_EPSILON = 1e-4                  # floor of a bin's share in PSI (an empty bin would make it infinite)
_SEED = 17

# Where a SageMaker Processing job sees its inputs and writes its outputs.
JOB_CAPTURES = Path("/opt/ml/processing/input/endpoint")
JOB_BASELINE = Path("/opt/ml/processing/input/baseline")
JOB_OUTPUT = Path("/opt/ml/processing/output")


class DriftInputError(ValueError):
    """Unusable input (baseline, captures, arguments); the message names what and why."""


# -- baseline ----------------------------------------------------------------------------------------------

def baseline_statistics(columns: Mapping[str, Sequence[float]], *, source: str = "",
                        sample: int = BASELINE_SAMPLE) -> dict[str, Any]:
    """The baseline document of ``columns`` (feature -> training values)."""
    import numpy as np

    if not columns:
        raise DriftInputError("baseline: no features given")
    rng = np.random.default_rng(_SEED)
    features: dict[str, Any] = {}
    for name, values in columns.items():
        array = np.asarray(values, dtype=float)
        array = array[np.isfinite(array)]
        if array.size < 2:
            raise DriftInputError(f"baseline: feature {name!r} has {array.size} numeric value(s); need at least 2")
        kept = array if array.size <= sample else rng.choice(array, size=sample, replace=False)
        features[name] = {
            "count": int(array.size), "mean": float(array.mean()), "std": float(array.std()),
            "min": float(array.min()), "max": float(array.max()),
            "bin_edges": [float(e) for e in np.unique(np.quantile(array, np.linspace(0, 1, _BINS + 1)))],
            "sample": [float(v) for v in np.sort(kept)],
        }
    return {"version": 1, "source": source, "created": _now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "features": features}


def parse_baseline(document: Any, source: str) -> dict[str, Any]:
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, dict) or not features:
        raise DriftInputError(f"{source}: a drift baseline needs a non-empty 'features' object "
                              f"(write one with `mlops-blueprint pipeline baseline`)")
    for name, stats in features.items():
        if not isinstance(stats, dict) or not isinstance(stats.get("sample"), list) or len(stats["sample"]) < 2 \
                or not isinstance(stats.get("bin_edges"), list) or len(stats["bin_edges"]) < 2:
            raise DriftInputError(f"{source}: features.{name} needs 'sample' (>= 2 values) and 'bin_edges' (>= 2)")
    return document


def baseline_key(model: str) -> str:
    return f"{MONITORING_PREFIX}/{model}/baseline/{BASELINE_FILE}"


def write_baseline(ctx: Any, dataset_key: str, version_id: str | None = None) -> dict[str, Any]:
    """``pipeline baseline``: the baseline of a training dataset version (``ctx``: a
    :class:`~mlops_blueprint.pipelines.context.PipelineContext`), written with the data key to
    ``s3://<artifactBucketName>/monitoring/<model>/baseline/drift_baseline.json``."""
    from mlops_blueprint.pipelines.data import FEATURES, read_dataset

    frame, version = read_dataset(ctx, dataset_key, version_id)
    document = baseline_statistics(dict(iter_features(frame, FEATURES)), source=f"{version.uri}?versionId={version.version_id}")
    bucket = str(ctx.outputs.require("artifactBucketName", "the drift baseline"))
    key = baseline_key(ctx.model)
    ctx.s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(document).encode(), ContentType="application/json",
                      **ctx.kms_args())
    return {"uri": f"s3://{bucket}/{key}", "dataset": version.uri, "datasetVersion": version.version_id,
            "rows": version.rows, "features": list(document["features"])}


# -- captured requests -----------------------------------------------------------------------------------

def _rows_of(payload: Any, features: Sequence[str]) -> list[dict[str, Any]]:
    """Rows (feature -> value) of one decoded JSON request body."""
    if isinstance(payload, dict):
        if "dataframe_split" in payload:
            split = payload["dataframe_split"]
            columns = split.get("columns") or list(features)
            return [dict(zip(columns, row)) for row in split.get("data") or []]
        for key in ("dataframe_records", "instances", "inputs"):
            if key in payload:
                return _rows_of(payload[key], features)
        return [payload]
    if isinstance(payload, list):
        rows: list[dict[str, Any]] = []
        for item in payload:
            if isinstance(item, dict):
                rows.append(item)
            elif isinstance(item, list):
                rows.append(dict(zip(features, item)))
            else:  # one flat instance
                return [dict(zip(features, payload))]
        return rows
    return []


def decode_input(endpoint_input: Mapping[str, Any], features: Sequence[str]) -> list[dict[str, Any]]:
    """The feature rows of one capture's ``endpointInput``."""
    data, encoding = endpoint_input.get("data", ""), str(endpoint_input.get("encoding", "")).upper()
    content_type = str(endpoint_input.get("observedContentType", "")).lower()
    text = base64.b64decode(data).decode() if encoding == "BASE64" else str(data)
    if encoding == "JSON" or "json" in content_type:
        return _rows_of(json.loads(text), features)
    if encoding == "CSV" or "csv" in content_type:
        return [dict(zip(features, row)) for row in csv.reader(io.StringIO(text)) if row]
    raise DriftInputError(f"captured input with encoding {encoding!r} and content type {content_type!r} "
                          "is neither JSON nor CSV")


def _inference_time(record: Mapping[str, Any]) -> datetime | None:
    value = (record.get("eventMetadata") or {}).get("inferenceTime")
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)
    except ValueError:
        return None


@dataclass
class Captured:
    """Feature columns read from captures, and what was skipped."""

    columns: dict[str, list[float]]
    records: int = 0                   # capture records in the period
    skipped: int = 0                   # lines that were not a usable capture record
    files: int = 0

    @property
    def rows(self) -> int:
        return max((len(v) for v in self.columns.values()), default=0)


def read_capture_lines(lines: Iterable[str], features: Sequence[str], start: datetime | None = None,
                       end: datetime | None = None, into: Captured | None = None) -> Captured:
    """Requests in [start, end) (by ``eventMetadata.inferenceTime``) from capture JSONL lines."""
    captured = into or Captured({f: [] for f in features})
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            when = _inference_time(record)
            if when is not None and ((start and when < start) or (end and when >= end)):
                continue
            rows = decode_input(record["captureData"]["endpointInput"], features)
        except (ValueError, KeyError, TypeError, DriftInputError):
            captured.skipped += 1
            continue
        captured.records += 1
        for row in rows:
            for feature in features:
                try:
                    value = float(row[feature])
                except (KeyError, TypeError, ValueError):
                    continue
                if math.isfinite(value):
                    captured.columns[feature].append(value)
    return captured


def _hour_folders(start: datetime, end: datetime) -> set[str]:
    hours, moment = set(), start.replace(minute=0, second=0, microsecond=0)
    while moment < end:
        hours.add(f"{moment:%Y/%m/%d/%H}")
        moment += timedelta(hours=1)
    return hours


def read_captures_dir(root: Path, features: Sequence[str], start: datetime | None = None,
                      end: datetime | None = None) -> Captured:
    """Every ``*.jsonl`` under ``root`` (a job's input: the S3 prefix, downloaded)."""
    if not root.is_dir():
        raise DriftInputError(f"captures: {root} is not a directory")
    captured = Captured({f: [] for f in features})
    for path in sorted(root.rglob("*.jsonl")):
        captured.files += 1
        with path.open(encoding="utf-8") as handle:
            read_capture_lines(handle, features, start, end, captured)
    return captured


def read_captures_s3(s3: Any, bucket: str, prefix: str, features: Sequence[str], start: datetime,
                     end: datetime) -> Captured:
    """The ``.jsonl`` objects under ``prefix`` in the hour folders of [start, end)."""
    captured = Captured({f: [] for f in features})
    hours = _hour_folders(start, end)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix.rstrip("/") + "/"):
        for item in page.get("Contents", []):
            key = item["Key"]
            parts = key.split("/")
            if not key.endswith(".jsonl") or len(parts) < 5 or "/".join(parts[-5:-1]) not in hours:
                continue
            captured.files += 1
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
            read_capture_lines(body.splitlines(), features, start, end, captured)
    return captured


def capture_record(columns: Sequence[str], rows: Sequence[Sequence[Any]], predictions: Sequence[Any],
                   when: datetime, event_id: str) -> str:
    """One capture line, as SageMaker writes it, for a JSON (``dataframe_split``) request."""
    body = json.dumps({"dataframe_split": {"columns": list(columns), "data": [list(r) for r in rows]}})
    return json.dumps({
        "captureData": {
            "endpointInput": {"observedContentType": "application/json", "mode": "INPUT", "data": body,
                              "encoding": "JSON"},
            "endpointOutput": {"observedContentType": "application/json", "mode": "OUTPUT",
                               "data": json.dumps({"predictions": list(predictions)}), "encoding": "JSON"},
        },
        "eventMetadata": {"eventId": event_id, "inferenceTime": when.strftime("%Y-%m-%dT%H:%M:%S.000Z")},
        "eventVersion": "0",
    })


def capture_key(model: str, endpoint: str, variant: str, when: datetime, name: str) -> str:
    """Where SageMaker puts a capture file of ``variant`` written at ``when``."""
    return f"{CAPTURE_PREFIX}/{model}/{endpoint}/{variant}/{when:%Y/%m/%d/%H}/{name}.jsonl"


# -- statistics ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    ks: float | None                   # None: no captured values
    p_value: float | None
    js: float | None
    psi: float | None
    baseline_count: int
    current_count: int
    drifted: bool


@dataclass
class DriftResult:
    threshold: float
    features: list[FeatureDrift]
    records: int
    min_records: int
    start: str | None = None
    end: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def sufficient(self) -> bool:
        return self.records >= self.min_records

    @property
    def drifted_features(self) -> list[str]:
        return [f.feature for f in self.features if f.drifted] if self.sufficient else []

    @property
    def max_distance(self) -> float | None:
        values = [f.ks for f in self.features if f.ks is not None]
        return max(values) if values else None

    def violations(self) -> dict[str, Any]:
        """Model Monitor's ``constraint_violations.json`` shape."""
        items = []
        if self.sufficient:
            for f in self.features:
                if f.current_count == 0:
                    items.append({"feature_name": f.feature, "constraint_check_type": "missing_column_check",
                                  "description": f"There is missing column {f.feature} in the captured requests"})
                elif f.drifted:
                    items.append({"feature_name": f.feature, "constraint_check_type": "baseline_drift_check",
                                  "description": f"Baseline drift distance: {f.ks:.4f} exceeds threshold: "
                                                 f"{self.threshold:g}"})
        return {"violations": items}

    def report(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "statistic": "ks", "records": self.records,
                "minRecords": self.min_records, "sufficient": self.sufficient, "start": self.start, "end": self.end,
                "drifted": self.drifted_features, "maxDistance": self.max_distance,
                "features": [asdict(f) for f in self.features], **self.extra}


def _histogram(values: Any, edges: Sequence[float]) -> Any:
    import numpy as np

    inner = np.asarray(edges[1:-1], dtype=float)
    counts = np.bincount(np.searchsorted(inner, values, side="right"), minlength=len(inner) + 1)
    return counts / max(counts.sum(), 1)


def feature_drift(name: str, stats: Mapping[str, Any], current: Sequence[float], threshold: float) -> FeatureDrift:
    import numpy as np
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import ks_2samp

    base = np.asarray(stats["sample"], dtype=float)
    now = np.asarray(current, dtype=float)
    if now.size == 0:
        return FeatureDrift(name, None, None, None, None, int(stats.get("count", base.size)), 0, True)
    test = ks_2samp(base, now)
    expected, actual = _histogram(base, stats["bin_edges"]), _histogram(now, stats["bin_edges"])
    js = float(jensenshannon(expected, actual, base=2))
    e, a = np.clip(expected, _EPSILON, None), np.clip(actual, _EPSILON, None)
    psi = float(np.sum((a - e) * np.log(a / e)))
    ks = float(test.statistic)
    return FeatureDrift(name, round(ks, 6), float(test.pvalue), round(js, 6), round(psi, 6),
                        int(stats.get("count", base.size)), int(now.size), ks > threshold)


def compute_drift(baseline: Mapping[str, Any], captured: Captured, *, threshold: float = DEFAULT_THRESHOLD,
                  features: Sequence[str] | None = None, min_records: int = DEFAULT_MIN_RECORDS) -> DriftResult:
    if not 0 < threshold < 1:
        raise DriftInputError(f"threshold {threshold}: expected a KS distance in (0, 1)")
    known = baseline["features"]
    names = list(features or known)
    unknown = [f for f in names if f not in known]
    if unknown:
        raise DriftInputError(f"features {', '.join(unknown)} are not in the baseline "
                              f"(baseline features: {', '.join(known)})")
    return DriftResult(threshold, [feature_drift(f, known[f], captured.columns.get(f, []), threshold) for f in names],
                       captured.rows, min_records, extra={"skippedLines": captured.skipped, "files": captured.files})


def metric_data(result: DriftResult, endpoint: str, schedule: str, when: datetime | None = None) -> list[dict[str, Any]]:
    """The ``PutMetricData`` data of a run: nothing when there were too few requests for a verdict."""
    if not result.sufficient:
        return []
    stamp = (when or _now()).replace(microsecond=0)
    dimensions = [{"Name": "Endpoint", "Value": endpoint}, {"Name": "MonitoringSchedule", "Value": schedule}]
    data = [{"MetricName": f"{FEATURE_METRIC_PREFIX}{f.feature}", "Dimensions": dimensions, "Timestamp": stamp,
             "Value": f.ks if f.ks is not None else 1.0, "Unit": "None"} for f in result.features]
    data.append({"MetricName": MAX_METRIC, "Dimensions": dimensions, "Timestamp": stamp,
                 "Value": max(d["Value"] for d in data), "Unit": "None"})
    return data


def publish(cloudwatch: Any, data: Sequence[Mapping[str, Any]]) -> None:
    for start in range(0, len(data), 500):  # PutMetricData takes 1,000 data; keep well below
        cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=list(data[start:start + 500]))


def outputs_of(result: DriftResult, data: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """File name -> content of a run's outputs."""
    request = {"Namespace": NAMESPACE, "MetricData": [{**d, "Timestamp": _iso(d["Timestamp"])} for d in data]}
    return {VIOLATIONS_FILE: json.dumps(result.violations(), indent=2) + "\n",
            REPORT_FILE: json.dumps(result.report(), indent=2) + "\n",
            METRICS_FILE: json.dumps(request, indent=2) + "\n"}


def _log_metrics(data: Sequence[Mapping[str, Any]], stream: Any = None) -> None:
    stream = stream or sys.stdout
    for d in data:
        flat = {"namespace": NAMESPACE, "metric": d["MetricName"], "value": d["Value"],
                **{dim["Name"]: dim["Value"] for dim in d["Dimensions"]}, "timestamp": _iso(d["Timestamp"])}
        stream.write(json.dumps({"mlops_drift_metric": flat}, sort_keys=True) + "\n")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def last_full_hours(hours: int = 1, now: datetime | None = None) -> tuple[datetime, datetime]:
    """[start, end) of the ``hours`` full hours before ``now`` (the period Model Monitor would analyse)."""
    end = (now or _now()).astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    return end - timedelta(hours=hours), end


# -- callers -------------------------------------------------------------------------------------------------

def run_for_endpoint(s3: Any, cloudwatch: Any | None, *, bucket: str, model: str, endpoint: str, schedule: str,
                     start: datetime, end: datetime, threshold: float = DEFAULT_THRESHOLD,
                     features: Sequence[str] | None = None, min_records: int = DEFAULT_MIN_RECORDS,
                     sse: Mapping[str, str] | None = None) -> tuple[DriftResult, str]:
    """Read the baseline and the period's captures from S3, write the outputs next to the captures,
    publish the metrics (when ``cloudwatch`` is given). Returns the result and the reports' prefix."""
    key = baseline_key(model)
    try:
        document = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except Exception as exc:  # noqa: BLE001 - botocore's errors or bad JSON: both mean "no usable baseline"
        raise DriftInputError(f"cannot read the drift baseline s3://{bucket}/{key}: {exc}. Write it with "
                              f"`mlops-blueprint pipeline baseline`.") from None
    baseline = parse_baseline(document, f"s3://{bucket}/{key}")
    names = list(features or baseline["features"])
    captured = read_captures_s3(s3, bucket, f"{CAPTURE_PREFIX}/{model}/{endpoint}", names, start, end)
    result = compute_drift(baseline, captured, threshold=threshold, features=names, min_records=min_records)
    result.start, result.end = _iso(start), _iso(end)
    result.extra.update(model=model, endpoint=endpoint, schedule=schedule)
    data = metric_data(result, endpoint, schedule, end)
    prefix = f"{CAPTURE_PREFIX}/{model}/{REPORTS_FOLDER}/{start:%Y/%m/%d/%H}"
    for name, body in outputs_of(result, data).items():
        s3.put_object(Bucket=bucket, Key=f"{prefix}/{name}", Body=body.encode(), ContentType="application/json",
                      **dict(sse or {}))
    if cloudwatch is not None and data:
        publish(cloudwatch, data)
    return result, f"s3://{bucket}/{prefix}/"


def run_local(captures: Path, baseline_path: Path, output: Path, *, endpoint: str, schedule: str,
              start: datetime | None, end: datetime | None, threshold: float = DEFAULT_THRESHOLD,
              features: Sequence[str] | None = None, min_records: int = DEFAULT_MIN_RECORDS,
              cloudwatch: Any | None = None, stream: Any = None, model: str = "") -> DriftResult:
    """The Processing job's run: local input folders, the outputs written to ``output``."""
    if baseline_path.is_dir():
        baseline_path = baseline_path / BASELINE_FILE
    try:
        document = json.loads(baseline_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DriftInputError(f"cannot read the drift baseline {baseline_path}: {exc}") from None
    baseline = parse_baseline(document, str(baseline_path))
    names = list(features or baseline["features"])
    captured = read_captures_dir(captures, names, start, end)
    result = compute_drift(baseline, captured, threshold=threshold, features=names, min_records=min_records)
    result.start, result.end = (_iso(start) if start else None), (_iso(end) if end else None)
    result.extra.update(model=model, endpoint=endpoint, schedule=schedule)
    data = metric_data(result, endpoint, schedule, end)
    output.mkdir(parents=True, exist_ok=True)
    for name, body in outputs_of(result, data).items():
        (output / name).write_text(body, encoding="utf-8")
    _log_metrics(data, stream)
    if cloudwatch is not None and data:
        publish(cloudwatch, data)
    return result


def _time(text: str, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise DriftInputError(f"{name} {text!r}: expected an ISO 8601 time, e.g. 2026-01-01T10:00:00Z") from None
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def build_parser(env: Mapping[str, str] | None = None) -> argparse.ArgumentParser:
    """Every option defaults to an environment variable (a Processing job's ``Environment``)."""
    env = os.environ if env is None else env
    parser = argparse.ArgumentParser(prog="mlops-drift-job", description=__doc__.splitlines()[0])
    parser.add_argument("--captures", default=env.get("DRIFT_CAPTURES", str(JOB_CAPTURES)))
    parser.add_argument("--baseline", default=env.get("DRIFT_BASELINE", str(JOB_BASELINE)),
                        help=f"{BASELINE_FILE} or the folder holding it")
    parser.add_argument("--output", default=env.get("DRIFT_OUTPUT", str(JOB_OUTPUT)))
    parser.add_argument("--model", default=env.get("DRIFT_MODEL", ""), help="the model's name, for the report "
                                                                          "(env DRIFT_MODEL)")
    parser.add_argument("--endpoint", default=env.get("DRIFT_ENDPOINT"), help="Endpoint dimension (env DRIFT_ENDPOINT)")
    parser.add_argument("--schedule", default=env.get("DRIFT_MONITORING_SCHEDULE"),
                        help="MonitoringSchedule dimension (env DRIFT_MONITORING_SCHEDULE)")
    parser.add_argument("--features", default=env.get("DRIFT_FEATURES", ""),
                        help="comma-separated features (default: all of the baseline's)")
    parser.add_argument("--threshold", type=float, default=float(env.get("DRIFT_THRESHOLD", DEFAULT_THRESHOLD)))
    parser.add_argument("--min-records", type=int, default=int(env.get("DRIFT_MIN_RECORDS", DEFAULT_MIN_RECORDS)))
    parser.add_argument("--start", default=env.get("DRIFT_START"), help="period start (ISO); default: last full hours")
    parser.add_argument("--end", default=env.get("DRIFT_END"), help="period end (ISO, exclusive)")
    parser.add_argument("--hours", type=int, default=int(env.get("DRIFT_PERIOD_HOURS", "1")),
                        help="without --start/--end: this many full hours before now")
    parser.add_argument("--publish", choices=("true", "false"), default=env.get("DRIFT_PUBLISH", "true").lower(),
                        help="PutMetricData from the job (needs a route to CloudWatch; env DRIFT_PUBLISH)")
    return parser


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Exit 0 whether or not there is drift (the job succeeded; drift is in the metric and the
    report), 2 on bad input (the job fails and says why)."""
    try:
        args = build_parser(env).parse_args(argv)
        missing = [name for name, value in (("--endpoint/DRIFT_ENDPOINT", args.endpoint),
                                            ("--schedule/DRIFT_MONITORING_SCHEDULE", args.schedule)) if not value]
        if missing:
            raise DriftInputError(f"missing {', '.join(missing)}: the metric's dimensions")
        if args.start or args.end:
            if not (args.start and args.end):
                raise DriftInputError("give both --start and --end (DRIFT_START, DRIFT_END), or neither")
            start, end = _time(args.start, "--start"), _time(args.end, "--end")
            if start >= end:
                raise DriftInputError(f"--start {args.start} is not before --end {args.end}")
        else:
            start, end = last_full_hours(args.hours)
        cloudwatch = None
        if args.publish == "true":
            import boto3

            cloudwatch = boto3.client("cloudwatch")
        features = [f.strip() for f in args.features.split(",") if f.strip()] or None
        result = run_local(Path(args.captures), Path(args.baseline), Path(args.output), endpoint=args.endpoint,
                           schedule=args.schedule, start=start, end=end, threshold=args.threshold, features=features,
                           min_records=args.min_records, cloudwatch=cloudwatch, model=args.model)
    except DriftInputError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    if not result.sufficient:
        sys.stderr.write(f"{result.records} captured request(s) in the period, fewer than {result.min_records}: "
                         "no verdict, no metric\n")
        return 0
    sys.stderr.write(f"drift in {', '.join(result.drifted_features)}\n" if result.drifted_features
                     else f"no drift (max KS distance {result.max_distance})\n")
    return 0


def iter_features(frame: Any, features: Iterable[str]) -> Iterator[tuple[str, list[float]]]:
    """(feature, values) of a DataFrame's columns, for :func:`baseline_statistics`."""
    for feature in features:
        yield feature, [float(v) for v in frame[feature]]


if __name__ == "__main__":
    sys.exit(main())
