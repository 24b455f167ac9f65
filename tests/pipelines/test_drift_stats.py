"""The drift module on generated data whose answer is known: no drift stays below the threshold, a
shifted feature goes above; the same code as a Processing job (local folders, env) and on S3 (moto)."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import numpy as np
import pytest
from moto import mock_aws

from mlops_blueprint.pipelines import drift_stats as ds
from mlops_blueprint.pipelines.drift import parse_signal

FEATURES = ("f0", "f1", "f2", "f3")
START = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)
END = START + timedelta(hours=1)


def columns(n: int, seed: int, shift: dict[str, float] | None = None, scale: dict[str, float] | None = None) -> dict:
    rng = np.random.default_rng(seed)
    shift, scale = shift or {}, scale or {}
    return {f: (rng.normal(0, 1, n) * scale.get(f, 1.0) + shift.get(f, 0.0)).round(6).tolist() for f in FEATURES}


def capture_lines(cols: dict, *, per_request: int = 5, start: datetime = START) -> list[str]:
    """SageMaker capture lines, ``per_request`` rows per request, spread over the hour after ``start``."""
    rows = list(zip(*(cols[f] for f in FEATURES)))
    lines = []
    for i in range(0, len(rows), per_request):
        when = start + timedelta(seconds=(i * 3) % 3600)
        lines.append(ds.capture_record(FEATURES, rows[i:i + per_request], [0] * per_request, when, f"e{i}"))
    return lines


@pytest.fixture(scope="module")
def baseline() -> dict:
    return ds.baseline_statistics(columns(3000, seed=1), source="generated")


def result_for(baseline: dict, lines: list[str], **kwargs) -> ds.DriftResult:
    captured = ds.read_capture_lines(lines, FEATURES, START, END)
    return ds.compute_drift(baseline, captured, **kwargs)


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_the_same_distribution_stays_below_the_threshold(baseline: dict, seed: int) -> None:
    result = result_for(baseline, capture_lines(columns(1000, seed=seed)))
    assert result.sufficient and result.records == 1000
    assert result.drifted_features == []
    assert all(f.ks < ds.DEFAULT_THRESHOLD for f in result.features)
    assert all(f.psi < 0.1 and f.js < 0.1 for f in result.features)
    assert result.violations() == {"violations": []}


def test_a_shifted_and_a_scaled_feature_go_above_and_only_they(baseline: dict) -> None:
    result = result_for(baseline, capture_lines(columns(1000, seed=5, shift={"f1": 0.8}, scale={"f3": 1.8})))
    by_name = {f.feature: f for f in result.features}
    assert result.drifted_features == ["f1", "f3"]
    assert by_name["f1"].ks > ds.DEFAULT_THRESHOLD and by_name["f3"].ks > ds.DEFAULT_THRESHOLD
    assert by_name["f1"].psi > 0.25 and by_name["f1"].p_value < 1e-6
    assert by_name["f0"].ks < ds.DEFAULT_THRESHOLD and by_name["f2"].ks < ds.DEFAULT_THRESHOLD
    # The violations report is the one `pipeline retrain --drift-report` reads.
    signal = parse_signal(result.violations(), "generated")
    assert signal.drifted and signal.features == ["f1", "f3"]


def test_the_distance_grows_with_the_shift(baseline: dict) -> None:
    distances = [result_for(baseline, capture_lines(columns(1000, seed=6, shift={"f0": s}))).features[0].ks
                 for s in (0.0, 0.3, 0.6, 1.2)]
    assert distances == sorted(distances) and distances[0] < ds.DEFAULT_THRESHOLD < distances[2]


def test_requests_outside_the_period_are_not_read(baseline: dict) -> None:
    inside = capture_lines(columns(500, seed=7))
    before = capture_lines(columns(500, seed=8, shift={"f0": 3}), start=START - timedelta(hours=1))
    result = result_for(baseline, before + inside, min_records=100)
    assert result.records == 500 and result.drifted_features == []


def test_too_few_requests_give_no_verdict_and_no_metric(baseline: dict) -> None:
    result = result_for(baseline, capture_lines(columns(40, seed=9, shift={"f0": 3})))
    assert not result.sufficient and result.drifted_features == []
    assert ds.metric_data(result, "ep", "sched") == []


def test_csv_base64_and_broken_lines(baseline: dict) -> None:
    import base64

    rows = list(zip(*(columns(200, seed=10)[f] for f in FEATURES)))
    lines = []
    for i, row in enumerate(rows):
        text = ",".join(map(str, row))
        data, encoding = (base64.b64encode(text.encode()).decode(), "BASE64") if i % 2 else (text, "CSV")
        lines.append(json.dumps({"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                                                                   "data": data, "encoding": encoding}},
                                 "eventMetadata": {"inferenceTime": "2026-03-02T10:30:00Z"}}))
    lines += ["not json", json.dumps({"captureData": {}})]
    captured = ds.read_capture_lines(lines, FEATURES, START, END)
    assert captured.rows == 200 and captured.skipped == 2
    assert captured.columns["f2"][:3] == [r[2] for r in rows[:3]]


def test_metric_data_is_what_the_drift_alarm_watches(baseline: dict) -> None:
    from mlops_blueprint.components.monitoring import DATA_METRICS_NAMESPACE, drift_metric_name

    result = result_for(baseline, capture_lines(columns(1000, seed=5, shift={"f1": 0.8})))
    data = ds.metric_data(result, "mlops-platform-dev-churn", "mlops-platform-dev-churn-data-quality", END)
    assert ds.NAMESPACE == DATA_METRICS_NAMESPACE
    names = {d["MetricName"]: d["Value"] for d in data}
    assert set(names) == {drift_metric_name(f) for f in FEATURES} | {ds.MAX_METRIC}
    assert names[ds.MAX_METRIC] == max(names[drift_metric_name(f)] for f in FEATURES) == names[drift_metric_name("f1")]
    assert all({d["Name"]: d["Value"] for d in item["Dimensions"]} == {
        "Endpoint": "mlops-platform-dev-churn", "MonitoringSchedule": "mlops-platform-dev-churn-data-quality"}
        for item in data)


def test_bad_input_names_what_is_wrong(baseline: dict) -> None:
    with pytest.raises(ds.DriftInputError, match="f9"):
        ds.compute_drift(baseline, ds.Captured({"f9": []}), features=["f9"])
    with pytest.raises(ds.DriftInputError, match="threshold"):
        ds.compute_drift(baseline, ds.Captured({}), threshold=1.5)
    with pytest.raises(ds.DriftInputError, match="features"):
        ds.parse_baseline({"features": {}}, "x.json")


# -- as a Processing job -------------------------------------------------------------------------------------

def test_the_processing_entry_point_reads_job_folders_and_env(tmp_path: Path, baseline: dict,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    captures = tmp_path / "input" / "endpoint" / "ep" / "AllTraffic" / "2026" / "03" / "02" / "10"
    captures.mkdir(parents=True)
    (captures / "a.jsonl").write_text("\n".join(capture_lines(columns(1000, seed=11, shift={"f2": 1.0}))))
    (tmp_path / "input" / "baseline").mkdir()
    (tmp_path / "input" / "baseline" / ds.BASELINE_FILE).write_text(json.dumps(baseline))
    env = {"DRIFT_CAPTURES": str(tmp_path / "input" / "endpoint"), "DRIFT_BASELINE": str(tmp_path / "input" / "baseline"),
           "DRIFT_OUTPUT": str(tmp_path / "output"), "DRIFT_ENDPOINT": "ep", "DRIFT_MONITORING_SCHEDULE": "ep-dq",
           "DRIFT_START": "2026-03-02T10:00:00Z", "DRIFT_END": "2026-03-02T11:00:00Z", "DRIFT_PUBLISH": "false"}
    assert ds.main([], env=env) == 0
    violations = json.loads((tmp_path / "output" / ds.VIOLATIONS_FILE).read_text())
    assert [v["feature_name"] for v in violations["violations"]] == ["f2"]
    report = json.loads((tmp_path / "output" / ds.REPORT_FILE).read_text())
    assert report["records"] == 1000 and report["drifted"] == ["f2"]
    request = json.loads((tmp_path / "output" / ds.METRICS_FILE).read_text())
    assert request["Namespace"] == ds.NAMESPACE and len(request["MetricData"]) == len(FEATURES) + 1
    logged = [json.loads(line)["mlops_drift_metric"] for line in capsys.readouterr().out.splitlines()]
    assert {m["metric"] for m in logged} == {d["MetricName"] for d in request["MetricData"]}


def test_the_processing_entry_point_rejects_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert ds.main(["--publish", "false"], env={}) == 2
    assert "DRIFT_ENDPOINT" in capsys.readouterr().err
    assert ds.main(["--endpoint", "e", "--schedule", "s", "--baseline", str(tmp_path / "none.json"),
                    "--captures", str(tmp_path), "--publish", "false"], env={}) == 2
    assert "drift baseline" in capsys.readouterr().err


# -- on S3 and CloudWatch, as the sandbox calls it -------------------------------------------------------------

@mock_aws
def test_run_for_endpoint_on_s3_writes_reports_next_to_the_captures_and_publishes(baseline: dict) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    bucket, model, endpoint = "models", "churn", "mlops-platform-dev-churn"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=ds.baseline_key(model), Body=json.dumps(baseline).encode())
    body = "\n".join(capture_lines(columns(1000, seed=12, shift={"f0": 1.0})))
    s3.put_object(Bucket=bucket, Key=ds.capture_key(model, endpoint, "AllTraffic", START, "x"), Body=body.encode())
    # A capture of another hour is outside the period.
    other = "\n".join(capture_lines(columns(1000, seed=13, shift={"f3": 3.0}), start=START + timedelta(hours=2)))
    s3.put_object(Bucket=bucket, Key=ds.capture_key(model, endpoint, "AllTraffic", START + timedelta(hours=2), "y"),
                  Body=other.encode())
    result, prefix = ds.run_for_endpoint(s3, cloudwatch, bucket=bucket, model=model, endpoint=endpoint,
                                         schedule="sched", start=START, end=END)
    assert result.drifted_features == ["f0"] and result.records == 1000
    assert prefix == f"s3://{bucket}/data-capture/{model}/drift-reports/2026/03/02/10/"
    key = prefix.removeprefix(f"s3://{bucket}/") + ds.VIOLATIONS_FILE
    report = json.load(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
    assert [v["feature_name"] for v in report["violations"]] == ["f0"]
    metrics = cloudwatch.list_metrics(Namespace=ds.NAMESPACE)["Metrics"]
    assert {m["MetricName"] for m in metrics} == {f"feature_baseline_drift_{f}" for f in FEATURES} | {ds.MAX_METRIC}
    stats = cloudwatch.get_metric_statistics(
        Namespace=ds.NAMESPACE, MetricName="feature_baseline_drift_f0", StartTime=START, EndTime=END + timedelta(hours=1),
        Period=3600, Statistics=["Maximum"],
        Dimensions=[{"Name": "Endpoint", "Value": endpoint}, {"Name": "MonitoringSchedule", "Value": "sched"}])
    assert stats["Datapoints"][0]["Maximum"] > ds.DEFAULT_THRESHOLD


@mock_aws
def test_the_sandbox_alarm_reads_back_what_the_run_published(baseline: dict) -> None:
    """The sandbox decides its drift alarm from the metrics the module published, as CloudWatch would."""
    from mlops_blueprint.pipelines.sandbox import published_drift

    s3 = boto3.client("s3", region_name="us-east-1")
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    s3.create_bucket(Bucket="models")
    s3.put_object(Bucket="models", Key=ds.baseline_key("churn"), Body=json.dumps(baseline).encode())
    body = "\n".join(capture_lines(columns(1000, seed=21, shift={"f2": 0.8})))
    s3.put_object(Bucket="models", Key=ds.capture_key("churn", "e", "v1", START, "x"), Body=body.encode())
    ds.run_for_endpoint(s3, cloudwatch, bucket="models", model="churn", endpoint="e", schedule="sched",
                        start=START, end=END)
    values = published_drift(cloudwatch, "e", "sched", FEATURES, START, END)
    assert set(values) == set(FEATURES)
    assert sorted(f for f, v in values.items() if v > ds.DEFAULT_THRESHOLD) == ["f2"]
    assert published_drift(cloudwatch, "e", "another-schedule", FEATURES, START, END) == {}


@mock_aws
def test_run_for_endpoint_without_a_baseline_says_how_to_write_one() -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="models")
    with pytest.raises(ds.DriftInputError, match="pipeline baseline"):
        ds.run_for_endpoint(s3, None, bucket="models", model="churn", endpoint="e", schedule="s", start=START, end=END)


# -- `pipeline baseline` ---------------------------------------------------------------------------------------

@mock_aws
def test_the_baseline_step_writes_the_training_data_statistics(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mlops_blueprint.pipelines.cli import main
    from mlops_blueprint.pipelines.data import FEATURES as DATA_FEATURES
    from mlops_blueprint.pipelines.data import make_dataset

    s3, kms = boto3.client("s3", region_name="us-east-1"), boto3.client("kms", region_name="us-east-1")
    key_arn = kms.create_key()["KeyMetadata"]["Arn"]
    for bucket in ("datasets", "models"):
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"region": "us-east-1", "datasetsBucketName": "datasets", "artifactBucketName": "models",
                                   "dataKeyArn": key_arn}))
    assert main(["pipeline", "dataset", "--outputs", str(outputs)]) == 0
    assert main(["pipeline", "baseline", "--outputs", str(outputs), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["uri"] == "s3://models/monitoring/churn/baseline/drift_baseline.json"
    stored = s3.get_object(Bucket="models", Key="monitoring/churn/baseline/drift_baseline.json")
    assert stored["ServerSideEncryption"] == "aws:kms"
    document = json.loads(stored["Body"].read())
    frame = make_dataset("baseline")
    assert list(document["features"]) == list(DATA_FEATURES) and result["rows"] == len(frame)
    assert document["features"]["f0"]["mean"] == pytest.approx(float(frame["f0"].mean()))
    # The drifted dataset, as captured requests, drifts against it in the features the generator shifts.
    drifted = make_dataset("drifted").sample(800, random_state=1)
    lines = [ds.capture_record(list(DATA_FEATURES), [list(row)], [0], START + timedelta(seconds=i), f"e{i}")
             for i, row in enumerate(drifted[list(DATA_FEATURES)].itertuples(index=False))]
    result = ds.compute_drift(document, ds.read_capture_lines(lines, DATA_FEATURES, START, END))
    assert set(result.drifted_features) == {"f0", "f2", "f3", "f5"}
    assert main(["pipeline", "baseline", "--outputs", str(outputs), "--data-version", "nope"]) == 2
