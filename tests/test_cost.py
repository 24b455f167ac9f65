"""The cost estimate: figures that follow from the price table, per component, and the `cost` command."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from typing import Any

import pytest
from support.stacks import plan_for
from rich.console import Console

from mlops_blueprint import prices
from mlops_blueprint.cost import CostLine, add_cost_command, estimate, render_table
from mlops_blueprint.plan import write_plan

STACK = "urn:pulumi:dev::mlops-platform::pulumi:pulumi:Stack::mlops-platform-dev"


def resource(type_: str, name: str, inputs: dict[str, Any], parent: str | None = None) -> dict[str, Any]:
    return {"urn": f"urn:pulumi:dev::mlops-platform::{type_}::{name}", "type": type_, "name": name, "custom": True,
            "parent": parent or STACK, "inputs": inputs}


def component(type_: str, name: str) -> dict[str, Any]:
    return {"urn": f"urn:pulumi:dev::mlops-platform::{type_}::{name}", "type": type_, "name": name, "custom": False,
            "parent": STACK, "inputs": {}}


def plan_of(*resources: dict[str, Any]) -> dict[str, Any]:
    stack = {"urn": STACK, "type": "pulumi:pulumi:Stack", "name": "mlops-platform-dev", "custom": False,
             "parent": None, "inputs": {}}
    return {"stack": "dev", "resources": [stack, *resources]}


@pytest.fixture(scope="module")
def dev_plan() -> dict[str, Any]:
    return plan_for("dev")


def lines_of(report: Any, **match: Any) -> list[CostLine]:
    return [line for line in report.lines if all(getattr(line, k) == v for k, v in match.items())]


# -- figures follow from the price table ---------------------------------------------------------------


def test_an_interface_endpoint_line_recomputed_by_hand(dev_plan: dict[str, Any]) -> None:
    """dev keeps each interface endpoint in 1 AZ: 1 AZ x 730 h x $0.01 per AZ-hour = $7.30 a month."""
    report = estimate(dev_plan)
    [sts] = lines_of(report, resource="network-sts")
    assert (sts.quantity, sts.unit, sts.unit_price) == (730, "AZ-hours", 0.01)
    assert sts.monthly == pytest.approx(7.30)
    assert sts.monthly == pytest.approx(1 * prices.HOURS_PER_MONTH * prices.INTERFACE_ENDPOINT_AZ_HOUR)
    endpoints = [line for line in report.lines if line.unit == "AZ-hours"]
    interface = [r for r in dev_plan["resources"] if r["type"] == "aws:ec2/vpcEndpoint:VpcEndpoint"
                 and r["inputs"].get("vpcEndpointType") == "Interface"]
    assert len(endpoints) == len(interface) > 0
    assert sum(line.monthly for line in endpoints) == pytest.approx(7.30 * len(interface))


def test_lines_are_grouped_by_the_component_that_owns_them(dev_plan: dict[str, Any]) -> None:
    report = estimate(dev_plan)
    subtotals = report.by_component()
    assert {"network", "kms", "artifacts", "audit"} <= set(subtotals)
    assert subtotals["kms"] == pytest.approx(2 * prices.KMS_KEY_MONTH)  # the data and logs keys
    assert report.total == pytest.approx(sum(subtotals.values()), abs=0.005 * len(subtotals))  # per-subtotal rounding
    assert report.total == pytest.approx(sum(line.monthly for line in report.lines), abs=0.01)
    buckets = [line for line in report.lines if line.unit == "GB-months" and line.item.startswith("S3")]
    assert {line.component for line in buckets} == {"artifacts", "audit"}


def test_the_network_dominates_idle_dev(dev_plan: dict[str, Any]) -> None:
    subtotals = estimate(dev_plan).by_component()
    assert max(subtotals, key=subtotals.get) == "network"


def test_endpoint_instances_tracking_server_and_database() -> None:
    plan = plan_of(
        component("mlops:serving:ServingEndpoint", "serving-churn"),
        resource("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "serving-churn-config", {"productionVariants": [
            {"variantName": "current", "instanceType": "ml.m5.xlarge", "initialInstanceCount": 2},
            {"variantName": "shadowless", "serverlessConfig": {"memorySizeInMb": 2048, "maxConcurrency": 5}},
        ]}, parent="urn:pulumi:dev::mlops-platform::mlops:serving:ServingEndpoint::serving-churn"),
        resource("aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer", "tracking-server", {"trackingServerSize": "Medium"}),
        resource("aws:rds/instance:Instance", "tracking-db", {"instanceClass": "db.t4g.small", "allocatedStorage": 20,
                                                              "multiAz": True}),
    )
    report = estimate(plan)
    [instances] = lines_of(report, item="ml.m5.xlarge x 2 (variant current)")
    assert instances.component == "serving-churn"
    assert instances.monthly == pytest.approx(2 * 730 * 0.23)  # $335.80
    [serverless] = [line for line in report.lines if "serverless" in line.item]
    assert serverless.monthly == 0
    [server] = lines_of(report, resource="tracking-server")
    assert server.monthly == pytest.approx(730 * prices.MLFLOW_TRACKING_SERVER_HOUR["Medium"])
    database = lines_of(report, resource="tracking-db")
    assert [line.monthly for line in database] == pytest.approx([2 * 730 * 0.032, 2 * 20 * 0.115])


def test_model_monitor_hours_follow_the_schedule_and_the_job_definition() -> None:
    plan = plan_of(
        resource("aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition", "dq", {
            "name": "mlops-platform-dev-churn-dq-1234abcd",
            "jobResources": {"clusterConfig": {"instanceType": "ml.m5.large", "instanceCount": 1}}}),
        resource("aws:sagemaker/monitoringSchedule:MonitoringSchedule", "dq-hourly", {"monitoringScheduleConfig": {
            "monitoringJobDefinitionName": "mlops-platform-dev-churn-dq-1234abcd", "monitoringType": "DataQuality",
            "scheduleConfig": {"scheduleExpression": "cron(0 * ? * * *)"}}}),
        resource("aws:cloudformation/stack:Stack", "mq", {"templateBody": json.dumps({"Resources": {"D": {
            "Type": "AWS::SageMaker::ModelQualityJobDefinition", "Properties": {
                "JobDefinitionName": "mlops-platform-dev-churn-mq-5678abcd",
                "JobResources": {"ClusterConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2}}}}}})}),
        resource("aws:sagemaker/monitoringSchedule:MonitoringSchedule", "mq-daily", {"monitoringScheduleConfig": {
            "monitoringJobDefinitionName": "mlops-platform-dev-churn-mq-5678abcd", "monitoringType": "ModelQuality",
            "scheduleConfig": {"scheduleExpression": "cron(0 3 ? * * *)"}}}),
    )
    report = estimate(plan)
    [hourly] = lines_of(report, resource="dq-hourly")
    assert hourly.quantity == pytest.approx(730 * 10 / 60)          # 730 runs x 10 min
    assert hourly.monthly == pytest.approx(730 * 10 / 60 * 0.115, abs=1e-4)  # ~ $13.99
    [daily] = lines_of(report, resource="mq-daily")
    assert daily.quantity == pytest.approx(730 / 24 * 10 / 60 * 2)  # ~30.4 runs x 10 min x 2 instances
    assert daily.unit_price == prices.SAGEMAKER_INSTANCE_HOUR["ml.m5.xlarge"]


def test_alarms_count_their_metrics_and_dashboards_are_flat() -> None:
    plan = plan_of(
        resource("aws:cloudwatch/metricAlarm:MetricAlarm", "simple", {"metricName": "Invocation5XXErrors", "period": 300}),
        resource("aws:cloudwatch/metricAlarm:MetricAlarm", "math", {"metricQueries": [
            {"id": "f0", "metric": {"period": 3600}}, {"id": "f1", "metric": {"period": 3600}},
            {"id": "drift", "expression": "MAX([f0, f1])"}]}),
        resource("aws:cloudwatch/dashboard:Dashboard", "board", {}),
    )
    report = estimate(plan)
    assert [line.monthly for line in lines_of(report, resource="simple")] == [0.10]
    assert [line.monthly for line in lines_of(report, resource="math")] == [0.20]
    assert [line.monthly for line in lines_of(report, resource="board")] == [3.00]


def test_an_unknown_price_is_flagged_not_guessed() -> None:
    plan = plan_of(resource("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "exotic", {"productionVariants": [
        {"variantName": "AllTraffic", "instanceType": "ml.p5.48xlarge", "initialInstanceCount": 1}]}))
    report = estimate(plan)
    [line] = report.unpriced
    assert line.monthly is None and report.total == 0
    assert any("ml.p5.48xlarge" in note for note in report.notes)


# -- the command -------------------------------------------------------------------------------------------


def cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mlops-blueprint")
    add_cost_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.handler(args)


def test_cost_table_prints_components_subtotals_and_assumptions(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["cost", "--stack", "dev"]) == 0
    out = capsys.readouterr().out
    for text in ("stack dev", "network subtotal", "kms subtotal", "total", "Assumptions:", "us-east-1 list prices",
                 "$7.30"):
        assert text in out, text


def test_cost_json_matches_the_estimate(capsys: pytest.CaptureFixture[str], dev_plan: dict[str, Any]) -> None:
    assert cli(["cost", "--stack", "dev", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    report = estimate(dev_plan)
    assert document["monthlyTotal"] == report.total
    assert document["components"] == report.by_component()
    assert document["pricesAsOf"] == prices.PRICES_AS_OF and document["priceRegion"] == "us-east-1"


def test_cost_reads_a_plan_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], dev_plan: dict[str, Any]) -> None:
    path = write_plan(dev_plan, tmp_path / "plan.json")
    assert cli(["cost", "--plan", str(path), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["monthlyTotal"] == estimate(dev_plan).total


def test_cost_of_an_unknown_stack_is_an_input_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["cost", "--stack", "qa"]) == 2
    assert "no such stack file" in capsys.readouterr().err


def test_render_table_is_plain_text_friendly(dev_plan: dict[str, Any]) -> None:
    buffer = io.StringIO()
    render_table(estimate(dev_plan), Console(file=buffer, width=200, color_system=None))
    text = buffer.getvalue()
    assert "network" in text and "$0.01" in text  # unit prices keep their digits


# -- what served models cost ---------------------------------------------------------------------------


def test_a_stack_with_models_reports_what_each_model_costs() -> None:
    """staging-system serves churn (CPU A/B) and fraud (CPU + GPU), captured and monitored: each model's
    figure is its variants' instances, its captured data and its monitoring jobs, from the plan's inputs."""
    from support.stacks import of_type

    plan = plan_for("staging-system")
    report = estimate(plan)
    models = report.by_model()
    configs = of_type(plan, "aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    assert set(models) == {c["inputs"]["dataCaptureConfig"]["destinationS3Uri"].rsplit("/", 1)[-1] for c in configs}
    assert set(models) == {"churn", "fraud"}
    for config in configs:
        model = config["inputs"]["dataCaptureConfig"]["destinationS3Uri"].rsplit("/", 1)[-1]
        instances = sum(v["initialInstanceCount"] * prices.HOURS_PER_MONTH * prices.SAGEMAKER_INSTANCE_HOUR[v["instanceType"]]
                        for v in config["inputs"]["productionVariants"])
        percent = config["inputs"]["dataCaptureConfig"]["initialSamplingPercentage"]
        captured = (prices.ASSUMPTIONS["data capture GB per model per month at 100% sampling"] * percent / 100
                    * prices.S3_STANDARD_GB_MONTH)
        jobs = sum(line.monthly for line in report.lines if line.model == model and line.unit == "instance-hours"
                   and "runs x" in line.item)
        assert jobs > 0  # the model's data-quality schedule is attributed to it
        assert models[model] == pytest.approx(instances + captured + jobs, abs=0.02)
    # A GPU variant makes fraud the expensive one; the per-model figures are part of the total, not added to it.
    assert models["fraud"] > models["churn"]
    assert sum(models.values()) < report.total
    assert report.to_dict()["models"] == models


def test_a_scheduled_processing_drift_job_is_priced_per_run() -> None:
    request = {"ProcessingResources": {"ClusterConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1,
                                                         "VolumeSizeInGB": 20}},
               "Environment": {"DRIFT_MODEL": "churn"}}
    plan = plan_of(resource("aws:scheduler/schedule:Schedule", "monitoring-churn-drift", {
        "scheduleExpression": "cron(0 * ? * * *)",
        "target": {"arn": "arn:aws:scheduler:::aws-sdk:sagemaker:createProcessingJob", "input": json.dumps(request)}}))
    [line] = estimate(plan).lines
    minutes = prices.ASSUMPTIONS["billable minutes per drift (processing) job run"]
    assert line.model == "churn" and line.unit == "instance-hours"
    assert line.quantity == pytest.approx(730 * minutes / 60)  # hourly: 730 runs a month
    assert line.monthly == pytest.approx(730 * minutes / 60 * prices.SAGEMAKER_INSTANCE_HOUR["ml.m5.xlarge"], abs=1e-3)
    # Other scheduler targets are not drift jobs.
    other = plan_of(resource("aws:scheduler/schedule:Schedule", "s", {
        "scheduleExpression": "rate(1 hour)", "target": {"arn": "arn:aws:lambda:us-east-1:1:function:f"}}))
    assert estimate(other).lines == []


def test_the_table_lists_served_models() -> None:
    plan = plan_of(resource("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "serving-churn-config", {
        "productionVariants": [{"variantName": "a", "instanceType": "ml.m5.large", "initialInstanceCount": 1}],
        "dataCaptureConfig": {"enableCapture": True, "initialSamplingPercentage": 50,
                              "destinationS3Uri": "s3://models/data-capture/churn"}}))
    report = estimate(plan)
    assert [line.model for line in report.lines] == ["churn", "churn"]
    buffer = io.StringIO()
    render_table(report, Console(file=buffer, width=200))
    assert f"churn: ${report.by_model()['churn']:,.2f}" in buffer.getvalue()
