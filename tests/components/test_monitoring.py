"""Monitoring: Model Monitor schedules read the right endpoint's capture and write to the artifact
store with KMS, in the VPC and network-isolated; the monitoring role reaches only what it must."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from mlops_blueprint.components.monitoring import (
    MODEL_MONITOR_ACCOUNTS,
    ModelQuality,
    Monitoring,
    model_monitor_image,
)
from support.components import run_component
from support.monitoring import DATA_KEY, SECURITY_GROUP as SG, SUBNETS, Served, models_bucket, monitoring_args, served
from support.policies import allowed
from support.sagemaker_requests import request_problems, to_api_request
from mlops_blueprint.context import StackContext
from mlops_blueprint.mock_runtime import MOCK_ACCOUNT_ID, MockRun, Registration, run_program

ACCOUNT = MOCK_ACCOUNT_ID
MODELS_BUCKET = models_bucket("dev")
GROUND_TRUTH = f"s3://mlops-platform-dev-datasets-{ACCOUNT}-us-east-1/ground-truth/churn"
TOPICS = {kind: f"arn:aws:sns:us-east-1:{ACCOUNT}:mlops-platform-dev-alerts-{sev}"
          for kind, sev in (("errors", "critical"), ("invocations", "critical"), ("latency", "warning"),
                            ("drift", "warning"), ("modelQuality", "warning"))}
JOB_DEFINITION = "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition"
SCHEDULE = "aws:sagemaker/monitoringSchedule:MonitoringSchedule"
CFN_STACK = "aws:cloudformation/stack:Stack"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def churn(**settings: Any) -> Served:
    return served("dev", "churn", ["current", "challenger"], **{"drift_features": ["tenure", "monthly_charges"],
                                                                **settings})


def fraud(**settings: Any) -> Served:
    return served("dev", "fraud", ["AllTraffic"], **settings)


def build(ctx: StackContext, models: list[Served], **kwargs: Any) -> MockRun:
    args = monitoring_args(ctx, models, **{"alarm_topics": TOPICS, "engine": "model-monitor", **kwargs})
    return run_component(ctx, lambda: Monitoring("monitoring", args), {
        "scheduleNames": "schedule_names", "qualityScheduleNames": "quality_schedule_names", "roleArn": "role_arn"})


def definition_of(run: MockRun, model: str) -> Registration:
    return run.named(JOB_DEFINITION, f"monitoring-{model}-data-quality")


def role_policy(run: MockRun) -> dict[str, Any]:
    [policy] = run.of_type(ROLE_POLICY)
    return json.loads(policy.inputs["policy"])


# -- data quality --------------------------------------------------------------------------------


def test_each_schedule_reads_its_own_endpoint_through_its_own_job_definition(dev_context: StackContext) -> None:
    run = build(dev_context, [churn(), fraud()])
    schedules = {s.name: s for s in run.of_type(SCHEDULE)}
    assert set(schedules) == {"monitoring-churn-data-quality", "monitoring-fraud-data-quality"}
    for model in ("churn", "fraud"):
        definition = definition_of(run, model)
        assert definition.inputs["dataQualityJobInput"]["endpointInput"]["endpointName"] == f"mlops-platform-dev-{model}"
        config = schedules[f"monitoring-{model}-data-quality"].inputs["monitoringScheduleConfig"]
        assert config["monitoringJobDefinitionName"] == definition.inputs["name"]
        assert config["monitoringType"] == "DataQuality"
        assert config["scheduleConfig"]["scheduleExpression"] == "cron(0 * ? * * *)"
        assert schedules[f"monitoring-{model}-data-quality"].inputs["name"] == f"mlops-platform-dev-{model}-data-quality"
    assert run.outputs["scheduleNames"] == {"churn": "mlops-platform-dev-churn-data-quality",
                                            "fraud": "mlops-platform-dev-fraud-data-quality"}


def test_reports_go_to_the_artifact_store_encrypted_and_the_volume_too(dev_context: StackContext) -> None:
    run = build(dev_context, [churn()])
    inputs = definition_of(run, "churn").inputs
    output = inputs["dataQualityJobOutputConfig"]
    assert output["kmsKeyId"] == DATA_KEY
    assert output["monitoringOutputs"]["s3Output"]["s3Uri"] == f"s3://{MODELS_BUCKET}/monitoring/churn/data-quality"
    cluster = inputs["jobResources"]["clusterConfig"]
    assert cluster["volumeKmsKeyId"] == DATA_KEY
    assert (cluster["instanceType"], cluster["instanceCount"], cluster["volumeSizeInGb"]) == ("ml.m5.large", 1, 20)
    assert inputs["stoppingCondition"]["maxRuntimeInSeconds"] == 1800


def test_jobs_run_network_isolated_in_the_private_subnets_with_the_workload_group(dev_context: StackContext) -> None:
    network = definition_of(build(dev_context, [churn()]), "churn").inputs["networkConfig"]
    assert network["enableNetworkIsolation"] is True
    assert network["enableInterContainerTrafficEncryption"] is True
    assert network["vpcConfig"] == {"subnets": SUBNETS, "securityGroupIds": [SG]}


def test_baseline_defaults_under_the_models_prefix_and_can_be_given(dev_context: StackContext) -> None:
    run = build(dev_context, [churn(), fraud(baseline_s3_uri="s3://elsewhere-bucket/baselines/fraud/v3/")],
                prefix="model-monitoring")
    churn_baseline = definition_of(run, "churn").inputs["dataQualityBaselineConfig"]
    assert churn_baseline == {
        "constraintsResource": {"s3Uri": f"s3://{MODELS_BUCKET}/model-monitoring/churn/baseline/constraints.json"},
        "statisticsResource": {"s3Uri": f"s3://{MODELS_BUCKET}/model-monitoring/churn/baseline/statistics.json"},
    }
    fraud_baseline = definition_of(run, "fraud").inputs["dataQualityBaselineConfig"]
    assert fraud_baseline["constraintsResource"]["s3Uri"] == "s3://elsewhere-bucket/baselines/fraud/v3/constraints.json"
    assert definition_of(run, "churn").inputs["dataQualityJobOutputConfig"]["monitoringOutputs"]["s3Output"]["s3Uri"] \
        == f"s3://{MODELS_BUCKET}/model-monitoring/churn/data-quality"


def test_the_builtin_analyzer_publishes_the_metrics_the_drift_alarm_reads(dev_context: StackContext) -> None:
    app = definition_of(build(dev_context, [churn()]), "churn").inputs["dataQualityAppSpecification"]
    assert app["imageUri"] == "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"
    assert app["environment"] == {"publish_cloudwatch_metrics": "Enabled"}
    assert model_monitor_image("eu-west-1").startswith(f"{MODEL_MONITOR_ACCOUNTS['eu-west-1']}.dkr.ecr.eu-west-1.")


def test_job_definition_is_a_valid_create_request(dev_context: StackContext) -> None:
    """The recorded inputs, as the provider sends them, are a CreateDataQualityJobDefinition request
    botocore's API model accepts (the provider flattens MonitoringOutputs, a one-item list)."""
    inputs = dict(definition_of(build(dev_context, [churn()]), "churn").inputs)
    inputs["JobDefinitionName"] = inputs.pop("name")
    output = dict(inputs["dataQualityJobOutputConfig"])
    output["monitoringOutputs"] = [output["monitoringOutputs"]]
    inputs["dataQualityJobOutputConfig"] = output
    request = to_api_request("sagemaker", "CreateDataQualityJobDefinition", inputs)
    assert request_problems("sagemaker", "CreateDataQualityJobDefinition", request) == []
    assert request["NetworkConfig"]["EnableNetworkIsolation"] is True


def test_job_definition_name_follows_its_content(dev_context: StackContext) -> None:
    """Definitions cannot be updated: a change must come with a new name (create-before-delete)."""
    first = definition_of(build(dev_context, [churn()]), "churn").inputs["name"]
    again = definition_of(build(dev_context, [churn()]), "churn").inputs["name"]
    bigger = definition_of(build(dev_context, [churn()], instance_type="ml.m5.xlarge"), "churn").inputs["name"]
    assert first == again
    assert first != bigger
    assert first.startswith("mlops-platform-dev-churn-dq-") and len(first) <= 63


def test_no_capture_means_no_schedule_but_endpoint_alarms_stay(dev_context: StackContext) -> None:
    run = build(dev_context, [fraud(captured=False)])
    assert run.of_type(SCHEDULE) == [] and run.of_type(JOB_DEFINITION) == []
    assert run.of_type(ROLE) == []  # nothing to run, nobody to run it
    assert {a.name for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")} == {
        "monitoring-fraud-AllTraffic-5xx", "monitoring-fraud-AllTraffic-latency"}


def test_monitoring_can_be_turned_off_per_model(dev_context: StackContext) -> None:
    run = build(dev_context, [churn(drift_features=()), fraud(enabled=False)])
    assert [s.name for s in run.of_type(SCHEDULE)] == ["monitoring-churn-data-quality"]


# -- the role --------------------------------------------------------------------------------------


def test_role_is_trusted_by_sagemaker_of_this_account_only(dev_context: StackContext) -> None:
    [role] = build(dev_context, [churn()]).of_type(ROLE)
    [trust] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    assert role.inputs["name"] == "mlops-platform-dev-us-east-1-model-monitor"  # IAM: account-wide


def test_role_reads_each_models_capture_and_baseline_and_writes_only_its_reports(dev_context: StackContext) -> None:
    run = build(dev_context, [churn(), fraud()])
    policy = role_policy(run)
    bucket = f"arn:aws:s3:::{MODELS_BUCKET}"
    for model in ("churn", "fraud"):
        assert allowed(policy, "s3:GetObject", f"{bucket}/data-capture/{model}/current/2025/01/01/00/capture.jsonl")
        assert allowed(policy, "s3:GetObject", f"{bucket}/monitoring/{model}/baseline/constraints.json")
        assert allowed(policy, "s3:PutObject", f"{bucket}/monitoring/{model}/data-quality/report.json")
        assert not allowed(policy, "s3:PutObject", f"{bucket}/data-capture/{model}/x.jsonl")  # captures stay as captured
        assert not allowed(policy, "s3:PutObject", f"{bucket}/monitoring/{model}/baseline/constraints.json")
    assert not allowed(policy, "s3:GetObject", f"{bucket}/data-capture/other-model/x.jsonl")
    assert not allowed(policy, "s3:GetObject", f"{bucket}/churn/1.0/model.tar.gz")  # model artifacts are not its business
    assert not allowed(policy, "s3:DeleteObject", f"{bucket}/monitoring/churn/data-quality/report.json")
    assert allowed(policy, "kms:Decrypt", DATA_KEY) and allowed(policy, "kms:GenerateDataKey", DATA_KEY)
    assert allowed(policy, "ecr:BatchGetImage",
                   "arn:aws:ecr:us-east-1:156813124566:repository/sagemaker-model-monitor-analyzer")
    assert not allowed(policy, "ecr:BatchGetImage", f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/anything")
    [listing] = [s for s in policy["Statement"] if s["Action"] == ["s3:ListBucket"]]
    assert listing["Resource"] == [bucket]
    assert sorted(listing["Condition"]["StringLike"]["s3:prefix"]) == sorted(
        [f"data-capture/{m}/*" for m in ("churn", "fraud")] + [f"monitoring/{m}/{k}/*" for m in ("churn", "fraud")
                                                               for k in ("baseline", "data-quality")])


def test_role_never_gets_admin_or_unscoped_data_access(dev_context: StackContext) -> None:
    policy = role_policy(build(dev_context, [churn()]))
    for s in policy["Statement"]:
        if s["Resource"] == "*":
            assert all(a.startswith(("ec2:", "ecr:GetAuthorizationToken", "cloudwatch:PutMetricData")) for a in s["Action"]), s
            assert "Condition" in s, s


def test_a_custom_analyzer_image_is_pulled_from_its_own_repository_only(dev_context: StackContext) -> None:
    image = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/ml/custom-monitor:1.0"
    run = build(dev_context, [churn()], image_uri=image)
    assert definition_of(run, "churn").inputs["dataQualityAppSpecification"]["imageUri"] == image
    policy = role_policy(run)
    assert allowed(policy, "ecr:BatchGetImage", f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/ml/custom-monitor")
    assert not allowed(policy, "ecr:BatchGetImage",
                       "arn:aws:ecr:us-east-1:156813124566:repository/sagemaker-model-monitor-analyzer")


def test_permissions_boundary_is_applied(dev_context: StackContext) -> None:
    boundary = f"arn:aws:iam::{ACCOUNT}:policy/platform-boundary"
    [role] = build(dev_context, [churn()], permissions_boundary_arn=boundary).of_type(ROLE)
    assert role.inputs["permissionsBoundary"] == boundary


# -- model quality -----------------------------------------------------------------------------------


QUALITY = ModelQuality(ground_truth_s3_uri=GROUND_TRUTH, problem_type="BinaryClassification",
                       inference_attribute="prediction", probability_attribute="probability",
                       probability_threshold=0.5, metric="accuracy", threshold=0.8)


def quality_template(run: MockRun, model: str = "churn") -> dict[str, Any]:
    return json.loads(run.named(CFN_STACK, f"monitoring-{model}-model-quality").inputs["templateBody"])


def test_model_quality_only_where_ground_truth_is_configured(dev_context: StackContext) -> None:
    run = build(dev_context, [churn(model_quality=QUALITY), fraud()])
    assert [s.name for s in run.of_type(CFN_STACK)] == ["monitoring-churn-model-quality"]
    quality_schedules = [s for s in run.of_type(SCHEDULE)
                         if s.inputs["monitoringScheduleConfig"]["monitoringType"] == "ModelQuality"]
    assert [s.name for s in quality_schedules] == ["monitoring-churn-model-quality"]
    assert run.outputs["qualityScheduleNames"] == {"churn": "mlops-platform-dev-churn-model-quality"}


def test_model_quality_job_reads_the_endpoint_and_ground_truth_isolated_and_encrypted(dev_context: StackContext) -> None:
    run = build(dev_context, [churn(model_quality=QUALITY)])
    [(logical, resource)] = quality_template(run)["Resources"].items()
    assert resource["Type"] == "AWS::SageMaker::ModelQualityJobDefinition"
    props = resource["Properties"]
    job_input = props["ModelQualityJobInput"]
    assert job_input["EndpointInput"]["EndpointName"] == "mlops-platform-dev-churn"
    assert job_input["EndpointInput"]["InferenceAttribute"] == "prediction"
    assert job_input["EndpointInput"]["ProbabilityThresholdAttribute"] == 0.5
    assert job_input["GroundTruthS3Input"] == {"S3Uri": GROUND_TRUTH}
    assert props["ModelQualityJobOutputConfig"]["KmsKeyId"] == DATA_KEY
    assert props["ModelQualityJobOutputConfig"]["MonitoringOutputs"][0]["S3Output"]["S3Uri"] \
        == f"s3://{MODELS_BUCKET}/monitoring/churn/model-quality"
    assert props["JobResources"]["ClusterConfig"]["VolumeKmsKeyId"] == DATA_KEY
    assert props["NetworkConfig"] == {"EnableNetworkIsolation": True, "EnableInterContainerTrafficEncryption": True,
                                      "VpcConfig": {"SecurityGroupIds": [SG], "Subnets": SUBNETS}}
    assert props["RoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/mlops-platform-dev-us-east-1-model-monitor"
    # The schedule names the definition the template creates.
    schedule = run.named(SCHEDULE, "monitoring-churn-model-quality").inputs["monitoringScheduleConfig"]
    assert schedule["monitoringJobDefinitionName"] == props["JobDefinitionName"]
    # CloudFormation properties are the API's members: the request botocore's model accepts.
    assert request_problems("sagemaker", "CreateModelQualityJobDefinition", props) == []
    # And the role may read the ground truth and write the quality reports.
    policy = role_policy(run)
    assert allowed(policy, "s3:GetObject",
                   f"arn:aws:s3:::mlops-platform-dev-datasets-{ACCOUNT}-us-east-1/ground-truth/churn/2025/labels.jsonl")
    assert allowed(policy, "s3:PutObject", f"arn:aws:s3:::{MODELS_BUCKET}/monitoring/churn/model-quality/x.json")


def test_model_quality_tags_are_spelled_out_in_the_template(dev_context: StackContext) -> None:
    template = quality_template(build(dev_context, [churn(model_quality=QUALITY)]))
    props = template["Resources"]["ModelQualityJobDefinition"]["Properties"]
    tags = {t["Key"]: t["Value"] for t in props["Tags"]}
    for key in ("project", "environment", "component", "owner", "cost-center", "data-classification"):
        assert tags[key], key


# -- validation --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("models", "kwargs", "message"), [
    ([churn(captured=False)], {}, "settings.models.churn.drift_features: drift is measured over captured requests"),
    ([churn(model_quality=QUALITY, captured=False, drift_features=())], {}, "needs captured predictions"),
    ([served("dev", "churn", [])], {}, "at least one variant"),
    ([churn(), churn()], {}, "listed twice"),
    ([churn()], {"alarm_topics": {"errors": TOPICS["errors"]}}, "no topic for 'drift'"),
    ([churn(data_capture_s3_uri="https://example.com/capture")], {}, "not an S3 URI"),
    ([churn()], {"image_uri": "docker.io/library/analyzer:1"}, "not an ECR image URI"),
])
def test_bad_args_fail_before_anything_is_registered(dev_context: StackContext, models: list[Served],
                                                     kwargs: dict[str, Any], message: str) -> None:
    args = monitoring_args(dev_context, models, **{"alarm_topics": TOPICS, "engine": "model-monitor", **kwargs})
    run = run_program(lambda: Monitoring("monitoring", args), stack="dev", project="mlops-platform", capture_errors=True)
    assert isinstance(run.error, ValueError)
    assert message in str(run.error)
    assert [r.type for r in run.registrations if r.type != "pulumi:pulumi:Stack"] == []



def test_what_runs_as_the_monitoring_role_waits_for_its_policy(dev_context: StackContext) -> None:
    """SageMaker checks the role when a job definition is created (directly or through CloudFormation)."""
    run = build(dev_context, [churn(model_quality=QUALITY)])
    [policy] = run.of_type(ROLE_POLICY)
    users = [*run.of_type(JOB_DEFINITION), *run.of_type(CFN_STACK)]
    assert len(users) == 2 and all(policy.urn in user.dependencies for user in users)
    # Schedules name a definition, not the role: they wait for their definition.
    for schedule in run.of_type(SCHEDULE):
        assert any(u.urn in schedule.dependencies for u in users), schedule.name


def test_settings_must_be_the_settings_model(dev_context: StackContext) -> None:
    """A stack-file-like dict is not validated settings: it is refused, not half-read."""
    args = monitoring_args(dev_context, [churn()], alarm_topics=TOPICS, engine="model-monitor")
    unvalidated = dataclasses.replace(args, settings={"engine": "model-monitor"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="settings: expected a MonitoringSettings, got dict"):
        Monitoring("monitoring", unvalidated)
