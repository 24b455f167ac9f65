"""`mlops-blueprint verify` against moto: live endpoints, alarms and packages vs the stack's outputs.

moto does not model SageMaker's blue/green updates or their alarm rollbacks (UpdateEndpoint is
not even implemented in moto 5.2). A rolled-back deployment is simulated by writing into moto's
endpoint record what SageMaker leaves after one: the endpoint InService on its *previous*
configuration with a FailureReason, while the stack declares the new configuration.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlops_blueprint.cli import main
from mlops_blueprint.pipelines.errors import InputError
from mlops_blueprint.pipelines.outputs import StackOutputs
from mlops_blueprint.pipelines.verify import MISMATCH, OK, SKIPPED, verify

REGION, ACCOUNT = "us-east-1", "123456789012"
ENDPOINT = "mlops-platform-dev-churn"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/mlops-platform-dev-serving"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/mlops-platform-dev-inference:1"


def alarm_arn(name: str) -> str:
    return f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}"


class World:
    """A deployed dev stack with one model in moto: two variants, two alarms, an approved package."""

    def __init__(self) -> None:
        self.session = boto3.session.Session(region_name=REGION)
        self.sm, self.cw = self.session.client("sagemaker"), self.session.client("cloudwatch")
        self.sm.create_model_package_group(ModelPackageGroupName="mlops-platform-dev-churn")
        self.package = self.sm.create_model_package(
            ModelPackageGroupName="mlops-platform-dev-churn", ModelApprovalStatus="Approved",
            InferenceSpecification={"Containers": [{"Image": IMAGE}], "SupportedContentTypes": ["application/json"],
                                    "SupportedResponseMIMETypes": ["application/json"]})["ModelPackageArn"]
        for name in ("m-current", "m-candidate"):
            self.sm.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"ModelPackageName": self.package})
        self.config("mlops-platform-dev-churn-config-aaaa", {"current": 0.9, "candidate": 0.1})
        self.sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="mlops-platform-dev-churn-config-aaaa")
        self.alarms = ["mlops-platform-dev-churn-current-5xx", "mlops-platform-dev-churn-drift"]
        for name in self.alarms:
            self.cw.put_metric_alarm(AlarmName=name, MetricName="Invocation5XXErrors", Namespace="AWS/SageMaker",
                                     Statistic="Sum", Period=300, EvaluationPeriods=1, Threshold=5,
                                     ComparisonOperator="GreaterThanOrEqualToThreshold")
        self.outputs = {
            "region": REGION, "environment": "dev",
            "endpointNames": {"churn": ENDPOINT},
            "endpointConfigNames": {"churn": "mlops-platform-dev-churn-config-aaaa"},
            "endpointVariantWeights": {"churn": {"current": 0.9, "candidate": 0.1}},
            "alarmArns": {"churn": [alarm_arn(n) for n in self.alarms]},
        }

    def config(self, name: str, weights: dict[str, float]) -> None:
        self.sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
            {"VariantName": v, "ModelName": f"m-{v}", "InitialVariantWeight": w, "InstanceType": "ml.m5.large",
             "InitialInstanceCount": 1} for v, w in weights.items()])

    def endpoint_record(self) -> Any:
        from moto.sagemaker.models import sagemaker_backends

        return sagemaker_backends[ACCOUNT][REGION].endpoints[ENDPOINT]

    def run(self, **overrides: Any) -> Any:
        return verify(StackOutputs({**self.outputs, **overrides}, "dev", "test"), self.session)


def statuses(report: Any) -> dict[str, str]:
    return {c.check: c.status for c in report.checks}


@pytest.fixture
def world() -> Any:
    with mock_aws():
        yield World()


def test_a_stack_that_matches_passes(world: World) -> None:
    report = world.run()
    assert report.ok, [c for c in report.checks if c.status != OK]
    assert statuses(report) == {"endpoint": OK, "configuration": OK, "weights": OK, "package (candidate)": OK,
                                "package (current)": OK, **{f"alarm {n}": OK for n in world.alarms}}


def test_a_rolled_back_deployment_is_a_mismatch(world: World) -> None:
    # `pulumi up` created the new configuration and "updated" the endpoint; SageMaker rolled the
    # update back on an alarm: the endpoint stays on the old configuration, with a failure reason.
    world.config("mlops-platform-dev-churn-config-bbbb", {"current": 0.5, "candidate": 0.5})
    record = world.endpoint_record()
    record.failure_reason = "Deployment was rolled back: alarm mlops-platform-dev-churn-candidate-5xx went into ALARM"
    report = world.run(endpointConfigNames={"churn": "mlops-platform-dev-churn-config-bbbb"},
                       endpointVariantWeights={"churn": {"current": 0.5, "candidate": 0.5}})
    got = statuses(report)
    assert not report.ok
    assert got["endpoint"] == got["configuration"] == got["weights"] == MISMATCH
    [config] = [c for c in report.checks if c.check == "configuration"]
    assert (config.declared, config.live) == ("mlops-platform-dev-churn-config-bbbb", "mlops-platform-dev-churn-config-aaaa")
    [endpoint] = [c for c in report.checks if c.check == "endpoint"]
    assert "rolled back" in endpoint.detail


def test_an_endpoint_that_is_not_in_service_is_a_mismatch(world: World) -> None:
    world.endpoint_record().endpoint_status = "UpdateRollbackFailed"
    assert statuses(world.run())["endpoint"] == MISMATCH


def test_an_alarm_in_alarm_or_absent_is_a_mismatch(world: World) -> None:
    world.cw.set_alarm_state(AlarmName=world.alarms[1], StateValue="ALARM", StateReason="drift above 0.1")
    world.cw.delete_alarms(AlarmNames=[world.alarms[0]])
    report = world.run()
    [absent] = [c for c in report.checks if c.check == f"alarm {world.alarms[0]}"]
    [firing] = [c for c in report.checks if c.check == f"alarm {world.alarms[1]}"]
    assert (absent.status, absent.live) == (MISMATCH, "absent")
    assert (firing.status, firing.live, firing.detail) == (MISMATCH, "ALARM", "drift above 0.1")


def test_a_served_package_not_approved_is_a_mismatch(world: World) -> None:
    world.sm.update_model_package(ModelPackageArn=world.package, ModelApprovalStatus="Rejected")
    report = world.run()
    assert statuses(report)["package (current)"] == MISMATCH
    assert [c.live for c in report.checks if c.check.startswith("package")] == ["Rejected", "Rejected"]


def test_weights_are_compared_as_shares_and_variants_must_match(world: World) -> None:
    assert statuses(world.run(endpointVariantWeights={"churn": {"current": 9, "candidate": 1}}))["weights"] == OK
    assert statuses(world.run(endpointVariantWeights={"churn": {"current": 1.0}}))["weights"] == MISMATCH


def test_a_missing_endpoint_and_older_outputs(world: World) -> None:
    world.sm.delete_endpoint(EndpointName=ENDPOINT)
    assert statuses(world.run())["endpoint"] == MISMATCH
    older = {k: v for k, v in world.outputs.items() if k in ("region", "endpointNames")}
    world.sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="mlops-platform-dev-churn-config-aaaa")
    report = verify(StackOutputs(older, "dev", "test"), world.session)
    assert statuses(report)["configuration"] == statuses(report)["alarms"] == SKIPPED and report.ok


def test_bad_input(world: World) -> None:
    with pytest.raises(InputError, match="endpointNames"):
        verify(StackOutputs({"region": REGION}, "dev", "test"), world.session)
    with pytest.raises(InputError, match="fraud"):
        verify(StackOutputs(world.outputs, "dev", "test"), world.session, models=["fraud"])


def test_the_command_exits_0_1_2(world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(world.outputs))
    assert main(["verify", "--stack", "dev", "--outputs", str(path)]) == 0
    assert "everything live matches" in capsys.readouterr().out
    world.cw.set_alarm_state(AlarmName=world.alarms[0], StateValue="ALARM", StateReason="5xx")
    assert main(["verify", "--stack", "dev", "--outputs", str(path), "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["ok"] is False and any(c["status"] == MISMATCH for c in document["checks"])
    assert main(["verify", "--stack", "dev", "--outputs", str(tmp_path / "missing.json")]) == 2
    path.write_text(json.dumps({"region": REGION}))
    assert main(["verify", "--stack", "dev", "--outputs", str(path)]) == 2
    assert "endpointNames" in capsys.readouterr().err


def test_the_stack_exports_what_verify_compares_with() -> None:
    """staging-system (two models, A/B and CPU/GPU variants, monitoring): the outputs name each
    endpoint's configuration, its variants' weights and its alarms as the plan declares them."""
    from support.stacks import of_type, plan_for

    from mlops_blueprint.pipelines.verify import alarm_name

    plan = plan_for("staging-system")
    outputs = plan["outputs"]
    configs = {r["inputs"]["name"]: r for r in of_type(plan, "aws:sagemaker/endpointConfiguration:EndpointConfiguration")}
    alarms = {r["inputs"]["name"] for t in ("aws:cloudwatch/metricAlarm:MetricAlarm",
                                             "aws:cloudwatch/compositeAlarm:CompositeAlarm")
              for r in of_type(plan, t) if "name" in r["inputs"]} | {
        r["inputs"]["alarmName"] for r in of_type(plan, "aws:cloudwatch/compositeAlarm:CompositeAlarm")
        if "alarmName" in r["inputs"]}
    endpoints = {r["inputs"]["name"]: r for r in of_type(plan, "aws:sagemaker/endpoint:Endpoint")}
    assert set(outputs["endpointNames"]) == set(outputs["endpointConfigNames"]) == {"churn", "fraud"}
    for model, endpoint in outputs["endpointNames"].items():
        config_name = endpoints[endpoint]["inputs"]["endpointConfigName"]
        assert outputs["endpointConfigNames"][model] == config_name
        assert outputs["endpointVariantWeights"][model] == {
            v["variantName"]: v["initialVariantWeight"] for v in configs[config_name]["inputs"]["productionVariants"]}
        names = {alarm_name(a) for a in outputs["alarmArns"][model]}
        assert names <= alarms  # every exported alarm is one the stack creates
        rollback = {a["alarmName"] for a in endpoints[endpoint]["inputs"]["deploymentConfig"]["autoRollbackConfiguration"]["alarms"]}
        assert rollback <= names and f"{endpoint}-drift" in names
