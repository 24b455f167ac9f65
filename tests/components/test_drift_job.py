"""The processing drift engine: a scheduled, network-isolated, KMS-encrypted SageMaker Processing job
per monitored model runs the drift module, and log metric filters turn its log lines into the
metrics the drift alarm watches. No Model Monitor resource by default."""

from __future__ import annotations

import io
import json
import re
from datetime import datetime, timezone
from typing import Any

import pytest

from mlops_blueprint.components.drift_job import EXECUTION_ID, job_name_prefix, processing_job_request
from mlops_blueprint.components.monitoring import ModelQuality, Monitoring
from support.components import run_component
from support.monitoring import DATA_KEY, SECURITY_GROUP as SG, SUBNETS, Served, models_bucket, monitoring_args, served
from support.policies import allowed
from support.sagemaker_requests import request_problems
from mlops_blueprint.context import StackContext
from mlops_blueprint.mock_runtime import MOCK_ACCOUNT_ID, MockRun, run_program
from mlops_blueprint.pipelines import drift_stats

ACCOUNT = MOCK_ACCOUNT_ID
LOGS_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/logs-key"
BUCKET = models_bucket("dev")
IMAGE = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/mlops-platform-dev-training:drift-1"
TOPICS = {k: f"arn:aws:sns:us-east-1:{ACCOUNT}:mlops-platform-dev-alerts-warning"
          for k in ("errors", "latency", "invocations", "drift", "modelQuality")}
SCHEDULE = "aws:scheduler/schedule:Schedule"
FILTER = "aws:cloudwatch/logMetricFilter:LogMetricFilter"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
MODEL_MONITOR_TYPES = ("aws:sagemaker/monitoringSchedule:MonitoringSchedule",
                       "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition",
                       "aws:cloudformation/stack:Stack")


def churn(**settings: Any) -> Served:
    return served("dev", "churn", ["current"], **{"drift_features": ["tenure", "monthly_charges"], **settings})


def args(ctx: StackContext, models: list[Served], **kwargs: Any) -> Any:
    return monitoring_args(ctx, models, **{"alarm_topics": TOPICS, "drift_image_uri": IMAGE, "logs_key_arn": LOGS_KEY,
                                           **kwargs})


def build(ctx: StackContext, models: list[Served], **kwargs: Any) -> MockRun:
    built = args(ctx, models, **kwargs)
    return run_component(ctx, lambda: Monitoring("monitoring", built),
                         {"roleArn": "role_arn", "driftScheduleNames": "drift_schedule_names"})


def request_of(run: MockRun, model: str = "churn") -> dict[str, Any]:
    schedule = run.named(SCHEDULE, f"monitoring-drift-{model}")
    return json.loads(schedule.inputs["target"]["input"])


def policy_named(run: MockRun, fragment: str) -> dict[str, Any]:
    [policy] = [p for p in run.of_type(ROLE_POLICY) if fragment in p.name]
    return json.loads(policy.inputs["policy"])


def test_default_engine_has_no_model_monitor_resources(dev_context: StackContext) -> None:
    run = build(dev_context, [churn()])
    assert [r.type for r in run.registrations if r.type in MODEL_MONITOR_TYPES] == []
    [schedule] = run.of_type(SCHEDULE)
    assert schedule.inputs["target"]["arn"] == "arn:aws:scheduler:::aws-sdk:sagemaker:createProcessingJob"
    assert schedule.inputs["scheduleExpression"] == "cron(0 * ? * * *)"


def test_the_job_is_isolated_encrypted_in_the_private_subnets_and_runs_the_drift_module(dev_context: StackContext) -> None:
    request = request_of(build(dev_context, [churn()]))
    assert request["NetworkConfig"] == {"EnableNetworkIsolation": True, "EnableInterContainerTrafficEncryption": True,
                                        "VpcConfig": {"SecurityGroupIds": [SG], "Subnets": SUBNETS}}
    assert request["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == DATA_KEY
    assert request["ProcessingOutputConfig"]["KmsKeyId"] == DATA_KEY
    assert request["AppSpecification"] == {"ImageUri": IMAGE,
                                           "ContainerEntrypoint": ["python", "-m", "mlops_blueprint.pipelines.drift_stats"]}
    # The module reads the endpoint's captures and the baseline at the paths it defaults to.
    inputs = {i["InputName"]: i["S3Input"] for i in request["ProcessingInputs"]}
    assert inputs["captures"]["S3Uri"] == f"s3://{BUCKET}/data-capture/churn/mlops-platform-dev-churn/"
    assert inputs["captures"]["LocalPath"] == str(drift_stats.JOB_CAPTURES)
    assert inputs["baseline"]["S3Uri"] == f"s3://{BUCKET}/{drift_stats.baseline_key('churn')}"
    assert inputs["baseline"]["LocalPath"] == str(drift_stats.JOB_BASELINE)
    [output] = request["ProcessingOutputConfig"]["Outputs"]
    assert output["S3Output"]["LocalPath"] == str(drift_stats.JOB_OUTPUT)
    assert output["S3Output"]["S3Uri"].startswith(f"s3://{BUCKET}/data-capture/churn/{drift_stats.REPORTS_FOLDER}/")
    # The module's own parser accepts the environment the job gets, and it does not call CloudWatch.
    env = request["Environment"]
    parsed = drift_stats.build_parser(env).parse_args([])
    assert (parsed.model, parsed.endpoint, parsed.features, parsed.publish) == (
        "churn", "mlops-platform-dev-churn", "tenure,monthly_charges", "false")
    assert parsed.schedule == "mlops-platform-dev-churn-drift-job" and parsed.hours == 1
    assert request["Tags"] and {"Key": "environment", "Value": "dev"} in request["Tags"]


def test_every_run_gets_a_unique_valid_job_name(dev_context: StackContext) -> None:
    request = request_of(build(dev_context, [churn()]))
    assert EXECUTION_ID in request["ProcessingJobName"]
    ran = request["ProcessingJobName"].replace(EXECUTION_ID, "d32c5kddcf5bb8c3")
    assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", ran)
    long_model = "a-very-long-model-name-that-fills-the-job-name-budget"
    assert len(job_name_prefix(dev_context, long_model)) + 1 + 16 <= 63
    assert job_name_prefix(dev_context, long_model) != job_name_prefix(dev_context, long_model + "x")


def test_the_request_is_a_valid_create_processing_job(dev_context: StackContext) -> None:
    request = request_of(build(dev_context, [churn()]))
    request["ProcessingJobName"] = request["ProcessingJobName"].replace(EXECUTION_ID, "d32c5kddcf5bb8c3")
    request["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] = \
        request["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"].replace(EXECUTION_ID, "d32c5kddcf5bb8c3")
    assert request_problems("sagemaker", "CreateProcessingJob", request) == []


def _conditions(pattern: str) -> dict[str, str]:
    return dict(re.findall(r'\(\$\.mlops_drift_metric\.(\w+) = "([^"]*)"\)', pattern))


def test_the_metric_filters_turn_the_modules_log_lines_into_the_alarms_metrics(dev_context: StackContext) -> None:
    """Each filter matches exactly the line the module prints for its feature, and yields the metric
    (name, namespace, dimensions) the drift alarm queries."""
    run = build(dev_context, [churn()])
    filters = {f.inputs["metricTransformation"]["name"]: f.inputs for f in run.of_type(FILTER)}
    assert set(filters) == {"feature_baseline_drift_tenure", "feature_baseline_drift_monthly_charges"}
    schedule = run.outputs["driftScheduleNames"]["churn"]
    result = drift_stats.DriftResult(0.1, [
        drift_stats.FeatureDrift("tenure", 0.4, 0.0, 0.3, 0.5, 100, 200, True),
        drift_stats.FeatureDrift("monthly_charges", 0.02, 0.9, 0.01, 0.0, 100, 200, False)], 200, 100)
    stream = io.StringIO()
    drift_stats._log_metrics(drift_stats.metric_data(result, "mlops-platform-dev-churn", schedule,
                                                     datetime(2026, 1, 1, tzinfo=timezone.utc)), stream)
    lines = [json.loads(line)["mlops_drift_metric"] for line in stream.getvalue().splitlines()]
    alarm = run.named(ALARM, "monitoring-churn-drift").inputs
    queried = {q["metric"]["metricName"]: q["metric"] for q in alarm["metricQueries"] if "metric" in q}
    for name, inputs in filters.items():
        wanted = _conditions(inputs["pattern"])
        matched = [line for line in lines if all(str(line.get(k)) == v for k, v in wanted.items())]
        assert len(matched) == 1 and matched[0]["metric"] == name
        transform = inputs["metricTransformation"]
        dimensions = {k: matched[0][v.removeprefix("$.mlops_drift_metric.")] for k, v in transform["dimensions"].items()}
        assert transform["value"] == "$.mlops_drift_metric.value"
        assert queried[name]["namespace"] == transform["namespace"] == drift_stats.NAMESPACE
        assert queried[name]["dimensions"] == dimensions
    assert inputs["logGroupName"] == "/aws/sagemaker/ProcessingJobs"


def test_the_log_group_is_created_encrypted_or_used_as_it_is(dev_context: StackContext) -> None:
    created = build(dev_context, [churn()])
    [group] = [g for g in created.of_type("aws:cloudwatch/logGroup:LogGroup")]
    assert group.inputs["name"] == "/aws/sagemaker/ProcessingJobs" and group.inputs["kmsKeyId"] == LOGS_KEY
    assert all(group.urn in f.dependencies for f in created.of_type(FILTER))
    existing = build(dev_context, [churn()], processing_log_group="existing", logs_key_arn=None)
    assert existing.of_type("aws:cloudwatch/logGroup:LogGroup") == []
    assert {f.inputs["logGroupName"] for f in existing.of_type(FILTER)} == {"/aws/sagemaker/ProcessingJobs"}


def test_roles_are_least_privilege(dev_context: StackContext) -> None:
    run = build(dev_context, [churn()])
    job = policy_named(run, "drift-role-policy")
    captures = f"arn:aws:s3:::{BUCKET}/data-capture/churn/mlops-platform-dev-churn/2026/01/01/10/x.jsonl"
    assert allowed(job, "s3:GetObject", captures)
    assert allowed(job, "s3:GetObject", f"arn:aws:s3:::{BUCKET}/monitoring/churn/baseline/drift_baseline.json")
    assert allowed(job, "s3:PutObject", f"arn:aws:s3:::{BUCKET}/data-capture/churn/drift-reports/job/drift_report.json")
    assert not allowed(job, "s3:PutObject", captures)
    assert not allowed(job, "s3:GetObject", f"arn:aws:s3:::{BUCKET}/data-capture/fraud/x/y.jsonl")
    assert not allowed(job, "cloudwatch:PutMetricData", "*")  # isolated: the metric comes from its logs
    assert allowed(job, "ecr:BatchGetImage",
                   f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/mlops-platform-dev-training")
    scheduler = policy_named(run, "drift-scheduler-policy")
    job_role = run.outputs["roleArn"]
    actions = sorted(a for s in scheduler["Statement"] for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]]))
    assert actions == ["iam:PassRole", "sagemaker:AddTags", "sagemaker:CreateProcessingJob"]
    assert allowed(scheduler, "sagemaker:CreateProcessingJob",
                   f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:processing-job/mlops-platform-dev-churn-drift-abc")
    assert not allowed(scheduler, "sagemaker:CreateProcessingJob",
                       f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:processing-job/someone-else")
    [pass_role] = [s for s in scheduler["Statement"] if s["Action"] in ("iam:PassRole", ["iam:PassRole"])]
    assert pass_role["Resource"] in (job_role, [job_role])
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


def test_the_schedule_waits_for_both_roles_policies(dev_context: StackContext) -> None:
    run = build(dev_context, [churn()])
    [schedule] = run.of_type(SCHEDULE)
    policies = {p.urn for p in run.of_type(ROLE_POLICY)}
    assert len(policies) == 2 and policies <= set(schedule.dependencies)


def test_model_monitor_engine_keeps_model_monitor(dev_context: StackContext) -> None:
    run = build(dev_context, [churn()], engine="model-monitor")
    assert run.of_type(SCHEDULE) == [] and run.of_type(FILTER) == []
    assert len(run.of_type("aws:sagemaker/monitoringSchedule:MonitoringSchedule")) == 1
    alarm = run.named(ALARM, "monitoring-churn-drift").inputs
    dims = {q["metric"]["dimensions"]["MonitoringSchedule"] for q in alarm["metricQueries"] if "metric" in q}
    assert dims == {run.outputs["driftScheduleNames"]["churn"]}


QUALITY = ModelQuality(ground_truth_s3_uri=f"s3://{BUCKET}/gt/churn", problem_type="BinaryClassification",
                       inference_attribute="prediction")


@pytest.mark.parametrize(("kwargs", "model", "message"), [
    ({"drift_image_uri": None}, churn(), "drift_image_uri"),
    ({}, churn(model_quality=QUALITY), "settings.models.churn.model_quality: model-quality monitoring is Model "
                                       "Monitor's; it needs engine 'model-monitor'"),
    ({"logs_key_arn": None}, churn(), "logs_key_arn"),
])
def test_bad_args_fail_before_anything_is_registered(dev_context: StackContext, kwargs: dict[str, Any],
                                                     model: Served, message: str) -> None:
    built = args(dev_context, [model], **kwargs)
    run = run_program(lambda: Monitoring("monitoring", built), stack="dev", project="mlops-platform",
                      capture_errors=True)
    assert isinstance(run.error, ValueError) and message in str(run.error)
    assert [r.type for r in run.registrations if r.type != "pulumi:pulumi:Stack"] == []


def test_an_unknown_engine_is_refused_when_the_settings_are_built(dev_context: StackContext) -> None:
    with pytest.raises(ValueError, match="engine\n  Input should be 'processing' or 'model-monitor'"):
        args(dev_context, [churn()], engine="spark")


def test_request_builder_leaves_features_out_when_all_are_watched() -> None:
    request = processing_job_request(
        job_name_prefix="p-m-drift", role_arn="arn:aws:iam::1:role/r", image_uri=IMAGE, endpoint="e", schedule="s",
        model="m", captures_uri="s3://b/c", baseline_uri="s3://b/base/", reports_uri="s3://b/r", data_key_arn=DATA_KEY,
        subnet_ids=SUBNETS, security_group_id=SG, features=(), threshold=0.2, period_hours=24,
        instance_type="ml.m5.large", instance_count=1, volume_size_gb=20, max_runtime_seconds=600, tags={})
    assert "DRIFT_FEATURES" not in request["Environment"]
    assert request["Environment"]["DRIFT_THRESHOLD"] == "0.2" and request["Environment"]["DRIFT_PERIOD_HOURS"] == "24"
    assert request["ProcessingInputs"][1]["S3Input"]["S3Uri"] == "s3://b/base/drift_baseline.json"
