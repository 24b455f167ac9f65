"""The drift signal: the shapes retrain reads are the ones the monitoring emits."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlops_blueprint.pipelines.data import DRIFT, FEATURES, make_dataset
from mlops_blueprint.pipelines.drift import (
    CHECK_TYPES,
    drift_alarm_arn,
    drift_alarm_event,
    drift_report,
    load_signal,
    parse_signal,
    report_key,
)
from mlops_blueprint.pipelines.errors import InputError
from mlops_blueprint.pipelines.sandbox import sandbox_endpoint_name, sandbox_outputs

ALARM = drift_alarm_arn("us-east-1", "123456789012", "mlops-platform-dev-churn-drift")


def matches(pattern: Any, event: Any) -> bool:
    """EventBridge matching for the pattern features the Retraining component uses (lists of values, nesting)."""
    if isinstance(pattern, dict):
        return isinstance(event, dict) and all(k in event and matches(v, event[k]) for k, v in pattern.items())
    if isinstance(pattern, list):
        values = event if isinstance(event, list) else [event]
        return any(v in pattern for v in values)
    return pattern == event


def test_violations_report_shape(tmp_path):
    report = {"violations": [
        {"feature_name": "f0", "constraint_check_type": "baseline_drift_check",
         "description": "Baseline drift distance: 0.39 exceeds threshold: 0.1"},
        {"feature_name": "f3", "constraint_check_type": "completeness_check", "description": "..."}]}
    path = tmp_path / "constraint_violations.json"
    path.write_text(json.dumps(report))
    signal = load_signal(str(path))
    assert signal.kind == "violations-report" and signal.drifted
    assert signal.features == ["f0", "f3"]
    assert not parse_signal({"violations": []}, "empty").drifted


def test_generated_report_flags_exactly_the_shifted_features():
    report = drift_report(make_dataset("baseline"), make_dataset("drifted"), FEATURES)
    assert {v["feature_name"] for v in report["violations"]} == {FEATURES[i] for i in DRIFT}
    assert {v["constraint_check_type"] for v in report["violations"]} <= set(CHECK_TYPES)
    assert all(v["description"].startswith("Baseline drift distance: ") for v in report["violations"])
    assert drift_report(make_dataset("baseline"), make_dataset("baseline", seed=11), FEATURES) == {"violations": []}


def test_alarm_event_matches_the_retraining_rule():
    """The sandbox's event is one the Retraining component's EventBridge rule starts the pipeline on."""
    from mlops_blueprint.components.retraining import drift_event, drift_event_pattern

    event = drift_alarm_event(ALARM, features=["f0", "f2"], endpoint="mlops-platform-dev-churn", schedule="dq")
    assert matches(drift_event_pattern(ALARM), event)
    signal = parse_signal(event, "event")
    assert signal.kind == "alarm-event" and signal.drifted and signal.alarm_arn == ALARM
    assert signal.features == ["f0", "f2"]
    # ... and what the component itself emits for the sandbox is read the same way.
    theirs = parse_signal(drift_event(ALARM), "component event")
    assert theirs.drifted and theirs.alarm_arn == ALARM


def test_alarm_back_to_ok_is_no_drift():
    event = drift_alarm_event(ALARM)
    event["detail"]["state"]["value"] = "OK"
    assert not parse_signal(event, "event").drifted
    event["source"] = "my.app"
    with pytest.raises(InputError, match="aws.cloudwatch"):
        parse_signal(event, "event")


def test_report_key_is_under_the_models_monitoring_prefix():
    key = report_key("churn", "mlops-platform-dev-churn", "data-quality")
    assert key.startswith("monitoring/churn/data-quality/mlops-platform-dev-churn/data-quality/")
    assert key.endswith("/constraint_violations.json")


def test_sandbox_outputs_keep_the_plan_and_take_the_models_names_from_the_stack_declaring_it():
    shipped = {"region": "us-east-1", "accountId": "123456789012", "environment": "dev",
               "modelsBucketName": "mlops-platform-dev-models-123456789012-us-east-1",
               "modelPackageGroupNames": {"models": "mlops-platform-dev-models"},
               "endpointNames": {"fraud": "custom-fraud"}, "trackingServerUrl": "https://mock"}
    declaring = {"modelPackageGroupNames": {"models": "mlops-platform-dev-models", "churn": "group-from-the-stack"},
                 "driftAlarmArns": {"churn": ALARM}, "driftScheduleNames": {"churn": "schedule-from-the-stack"},
                 "endpointNames": {"churn": "mlops-platform-dev-churn"}}
    outputs = sandbox_outputs(shipped, declaring, "churn", "http://127.0.0.1:5000")
    assert outputs["modelsBucketName"] == shipped["modelsBucketName"]
    # The sandbox's endpoint is its own, not one the stack declares (which Pulumi would own).
    assert outputs["endpointNames"] == {"fraud": "custom-fraud"}
    assert sandbox_endpoint_name(outputs, "mlops-platform", "churn") == "mlops-platform-dev-churn-sandbox"
    # The model's entries are the stack's, not computed by the sandbox.
    assert outputs["modelPackageGroupNames"] == {"models": "mlops-platform-dev-models", "churn": "group-from-the-stack"}
    assert outputs["driftAlarmArns"] == {"churn": ALARM}
    assert outputs["driftScheduleNames"] == {"churn": "schedule-from-the-stack"}
    assert outputs["trackingServerUrl"] == outputs["trackingUri"] == "http://127.0.0.1:5000"


def test_sandbox_outputs_refuse_a_stack_that_does_not_name_the_model():
    from mlops_blueprint.pipelines.errors import PipelineError

    shipped = {"region": "us-east-1", "accountId": "123456789012"}
    with pytest.raises(PipelineError, match="'driftAlarmArns'"):
        sandbox_outputs(shipped, {"modelPackageGroupNames": {"churn": "g"}, "driftScheduleNames": {"churn": "s"}},
                        "churn", "http://127.0.0.1:5000")


def test_sandbox_names_are_the_dev_stacks(tmp_path):
    """The names the sandbox runs with come from the previews of dev (shipped, and declaring the model)."""
    from mlops_blueprint.pipelines.sandbox_stack import preview_stack

    shipped, declaring, project = preview_stack(tmp_path, "churn")
    outputs = sandbox_outputs(shipped, declaring, "churn", "http://127.0.0.1:5000")
    assert outputs["mlflowArtifactUri"] == f"s3://{shipped['modelsBucketName']}/mlflow"
    assert outputs["modelPackageGroupNames"]["churn"] == "mlops-platform-dev-churn"
    assert outputs["driftAlarmArns"]["churn"] == ALARM
    # The drift run's MonitoringSchedule dimension is the one a stack's drift job (and alarm) uses.
    assert outputs["driftScheduleNames"] == {"churn": "mlops-platform-dev-churn-drift-job"}
    assert outputs["endpointNames"] == {} and project == "mlops-platform"


@mock_aws
def test_latest_report_finds_either_engines_newest_report():
    """Drift jobs write next to the captures, Model Monitor under its data-quality output: the
    retrain step reads whichever ran last."""
    import time

    from mlops_blueprint.pipelines.context import PipelineContext
    from mlops_blueprint.pipelines.drift import latest_report
    from mlops_blueprint.pipelines.outputs import StackOutputs

    bucket = "mlops-platform-dev-models-123456789012-us-east-1"
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    ctx = PipelineContext(StackOutputs({"modelsBucketName": bucket, "region": "us-east-1"}, "dev", "test"), model="churn")
    assert latest_report(ctx) is None
    monitor = report_key("churn", "mlops-platform-dev-churn", "dq")
    s3.put_object(Bucket=bucket, Key=monitor, Body=b'{"violations": []}')
    assert latest_report(ctx) == f"s3://{bucket}/{monitor}"
    time.sleep(1.1)  # LastModified has one-second resolution
    job = "data-capture/churn/drift-reports/mlops-platform-dev-churn-drift-d32c5kddcf5bb8c3/constraint_violations.json"
    s3.put_object(Bucket=bucket, Key=job, Body=b'{"violations": []}')
    s3.put_object(Bucket=bucket, Key="data-capture/fraud/drift-reports/x/constraint_violations.json", Body=b"{}")
    assert latest_report(ctx) == f"s3://{bucket}/{job}"
