"""Per-feature drift of an endpoint's captured requests against the training baseline, without Model Monitor.

One module, three callers: the scheduled SageMaker Processing job (``python -m
mlops_blueprint.pipelines.drift_stats`` or the ``mlops-drift-job`` console script, reading
``/opt/ml/processing/input/...`` and environment variables), the ``pipeline baseline`` step
(:func:`baseline_statistics`, :func:`write_baseline`), and the sandbox (:func:`run_for_endpoint`
on the requests it captured to S3). numpy and scipy only (plus boto3 for S3/CloudWatch).

This module is the job's entry point and its file/S3 I/O; the statistics are in
:mod:`.drift_statistics`, the reading of captured requests in :mod:`.drift_captures` (their names
are importable from here too).

**Baseline** (``s3://<modelsBucketName>/monitoring/<model>/baseline/drift_baseline.json``, next to
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
import json
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

# The statistics and the capture reading live in their own modules; their public names are
# re-exported here, where the pipelines, the sandbox and users' scripts have always found them.
from mlops_blueprint.pipelines.drift_captures import (  # noqa: F401
    CAPTURE_PREFIX,
    Captured,
    DriftInputError,
    capture_key,
    capture_record,
    decode_input,
    read_capture_lines,
    read_captures_dir,
    read_captures_s3,
)
from mlops_blueprint.pipelines.drift_statistics import (  # noqa: F401
    BASELINE_SAMPLE,
    DEFAULT_MIN_RECORDS,
    DEFAULT_THRESHOLD,
    FEATURE_METRIC_PREFIX,
    MAX_METRIC,
    NAMESPACE,
    DriftResult,
    FeatureDrift,
    baseline_statistics,
    compute_drift,
    feature_drift,
    iter_features,
    metric_data,
    parse_baseline,
    utc_now,
)

BASELINE_FILE = "drift_baseline.json"
REPORT_FILE = "drift_report.json"
VIOLATIONS_FILE = "constraint_violations.json"
METRICS_FILE = "cloudwatch_metrics.json"
REPORTS_FOLDER = "drift-reports"
MONITORING_PREFIX = "monitoring"

# Where a SageMaker Processing job sees its inputs and writes its outputs.
JOB_CAPTURES = Path("/opt/ml/processing/input/endpoint")
JOB_BASELINE = Path("/opt/ml/processing/input/baseline")
JOB_OUTPUT = Path("/opt/ml/processing/output")


def baseline_key(model: str) -> str:
    return f"{MONITORING_PREFIX}/{model}/baseline/{BASELINE_FILE}"


def write_baseline(ctx: Any, dataset_key: str, version_id: str | None = None) -> dict[str, Any]:
    """``pipeline baseline``: the baseline of a training dataset version (``ctx``: a
    :class:`~mlops_blueprint.pipelines.context.PipelineContext`), written with the data key to
    ``s3://<modelsBucketName>/monitoring/<model>/baseline/drift_baseline.json``."""
    from mlops_blueprint.outputs import Out
    from mlops_blueprint.pipelines.data import FEATURES, read_dataset

    frame, version = read_dataset(ctx, dataset_key, version_id)
    document = baseline_statistics(dict(iter_features(frame, FEATURES)), source=f"{version.uri}?versionId={version.version_id}")
    bucket = str(ctx.outputs.require(Out.MODELS_BUCKET_NAME, "the drift baseline"))
    key = baseline_key(ctx.model)
    ctx.s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(document).encode(), ContentType="application/json",
                      **ctx.kms_args())
    return {"uri": f"s3://{bucket}/{key}", "dataset": version.uri, "datasetVersion": version.version_id,
            "rows": version.rows, "features": list(document["features"])}


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


def _iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def last_full_hours(hours: int = 1, now: datetime | None = None) -> tuple[datetime, datetime]:
    """[start, end) of the ``hours`` full hours before ``now`` (the period Model Monitor would analyse)."""
    end = (now or utc_now()).astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
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


if __name__ == "__main__":
    sys.exit(main())
