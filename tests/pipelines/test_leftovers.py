"""`mlops-blueprint leftovers` and `pipeline cleanup` against moto."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlops_blueprint import prices
from mlops_blueprint.cli import main
from mlops_blueprint.pipelines.context import PipelineContext
from mlops_blueprint.pipelines.leftovers import (
    StackIdentity,
    cleanup,
    find_leftovers,
    identity_from_stack_file,
)
from mlops_blueprint.pipelines.outputs import StackOutputs

REGION, ACCOUNT = "us-east-1", "123456789012"
PREFIX = "mlops-platform-dev"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-serving"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{PREFIX}-inference:1"
STACK_TAGS = [{"Key": "project", "Value": "mlops-platform"}, {"Key": "environment", "Value": "dev"}]
PULUMI_TAGS = [*STACK_TAGS, {"Key": "managed-by", "Value": "pulumi"}]
IDENTITY = StackIdentity("dev", "dev", REGION)


@pytest.fixture
def aws() -> Any:
    with mock_aws():
        yield boto3.session.Session(region_name=REGION)


def serve(sm: Any, endpoint: str, config: str, model: str, *, count: int = 1, tags: list | None = None,
          create_endpoint: bool = True) -> None:
    sm.create_model(ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE}, Tags=tags or [])
    sm.create_endpoint_config(EndpointConfigName=config, Tags=tags or [], ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": model, "InitialVariantWeight": 1.0, "InstanceType": "ml.m5.large",
         "InitialInstanceCount": count}])
    if create_endpoint:
        sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config, Tags=tags or [])


def network(session: Any) -> tuple[str, str]:
    """A VPC with the stack's workload security group and a SageMaker job's ENI left in it."""
    ec2 = session.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=f"{PREFIX}-workload", Description="workloads", VpcId=vpc)["GroupId"]
    eni = ec2.create_network_interface(SubnetId=subnet, Groups=[group],
                                       Description="SageMaker processing job network interface")["NetworkInterface"]
    return group, eni["NetworkInterfaceId"]


def test_an_empty_account_has_no_leftovers(aws: Any) -> None:
    report = find_leftovers(IDENTITY, aws.client)
    assert report.left == [] and report.monthly == 0
    # moto 5.2 has no MLflow listings: that is said, not taken for "nothing left".
    assert [(i.kind, i.counts) for i in report.items] == [("sagemaker mlflow", False)]


class MlflowPages:
    """moto's SageMaker client plus canned MLflow listings (moto 5.2 does not implement them)."""

    def __init__(self, client: Any, servers: list[dict], apps: list[dict]) -> None:
        self._client, self._pages = client, {"list_mlflow_tracking_servers": [{"TrackingServerSummaries": servers}],
                                             "list_mlflow_apps": [{"Summaries": apps}]}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def get_paginator(self, name: str) -> Any:
        if name in self._pages:
            return type("P", (), {"paginate": lambda _self, **_: iter(self._pages[name])})()
        return self._client.get_paginator(name)

    def describe_mlflow_tracking_server(self, TrackingServerName: str) -> dict:  # noqa: N803 - boto3's casing
        return {"TrackingServerName": TrackingServerName, "TrackingServerSize": "Medium"}

    def list_tags(self, ResourceArn: str) -> dict:  # noqa: N803
        return {"Tags": []} if ":mlflow" in ResourceArn else self._client.list_tags(ResourceArn=ResourceArn)


def test_mlflow_servers_and_apps_by_name(aws: Any) -> None:
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
    servers = [{"TrackingServerName": f"{PREFIX}-mlflow", "TrackingServerArn": f"{arn}:mlflow-tracking-server/{PREFIX}-mlflow",
                "TrackingServerStatus": "Started"},
               {"TrackingServerName": "someone-else", "TrackingServerArn": f"{arn}:mlflow-tracking-server/someone-else"}]
    apps = [{"Name": f"{PREFIX}-app", "Arn": f"{arn}:mlflow-app/app-1"}]
    client = lambda service: MlflowPages(aws.client(service), servers, apps) if service == "sagemaker" else aws.client(service)  # noqa: E731
    report = find_leftovers(IDENTITY, client)
    by_name = {i.name: i for i in report.left}
    assert set(by_name) == {f"{PREFIX}-mlflow", f"{PREFIX}-app"}
    assert by_name[f"{PREFIX}-mlflow"].monthly == pytest.approx(
        prices.HOURS_PER_MONTH * prices.MLFLOW_TRACKING_SERVER_HOUR["Medium"])
    assert by_name[f"{PREFIX}-app"].monthly == 0


def test_leftovers_by_tags_and_by_name_with_their_cost(aws: Any) -> None:
    s3, kms, logs, sm = aws.client("s3"), aws.client("kms"), aws.client("logs"), aws.client("sagemaker")
    s3.create_bucket(Bucket=f"{PREFIX}-models-{ACCOUNT}-{REGION}")
    s3.put_bucket_tagging(Bucket=f"{PREFIX}-models-{ACCOUNT}-{REGION}", Tagging={"TagSet": PULUMI_TAGS})
    key = kms.create_key(Tags=[{"TagKey": t["Key"], "TagValue": t["Value"]} for t in PULUMI_TAGS])["KeyMetadata"]["KeyId"]
    gone = kms.create_key(Tags=[{"TagKey": t["Key"], "TagValue": t["Value"]} for t in PULUMI_TAGS])["KeyMetadata"]["KeyId"]
    kms.schedule_key_deletion(KeyId=gone, PendingWindowInDays=7)
    # What `pipeline deploy` created: an endpoint with two instances, its configuration and model.
    serve(sm, f"{PREFIX}-churn", f"{PREFIX}-churn-20260101", f"{PREFIX}-churn-v1-20260101", count=2,
          tags=[{"Key": "mlflow:registered-model", "Value": f"{PREFIX}-churn"}])
    logs.create_log_group(logGroupName=f"/aws/sagemaker/Endpoints/{PREFIX}-churn")
    _, eni = network(aws)
    # Another environment's things are not this stack's.
    s3.create_bucket(Bucket="mlops-platform-prod-models")
    s3.put_bucket_tagging(Bucket="mlops-platform-prod-models", Tagging={"TagSet": [
        {"Key": "project", "Value": "mlops-platform"}, {"Key": "environment", "Value": "prod"}]})
    serve(sm, "mlops-platform-prod-churn", "mlops-platform-prod-churn-1", "mlops-platform-prod-churn-m", create_endpoint=False)

    report = find_leftovers(IDENTITY, aws.client)
    by_name = {i.name: i for i in report.items}
    assert "mlops-platform-prod-models" not in by_name and "mlops-platform-prod-churn-1" not in by_name
    bucket = by_name[f"{PREFIX}-models-{ACCOUNT}-{REGION}"]
    assert (bucket.found_by, bucket.managed_by_pulumi) == ("tags", True)
    assert bucket.monthly == pytest.approx(prices.s3_gb("models") * prices.S3_STANDARD_GB_MONTH, abs=0.01)
    assert by_name[key].monthly == prices.KMS_KEY_MONTH and by_name[key].counts
    assert not by_name[gone].counts and "pending deletion" in by_name[gone].note
    endpoint = by_name[f"{PREFIX}-churn"]
    assert endpoint.kind == "sagemaker endpoint" and not endpoint.managed_by_pulumi
    assert endpoint.monthly == pytest.approx(2 * prices.HOURS_PER_MONTH * prices.SAGEMAKER_INSTANCE_HOUR["ml.m5.large"],
                                             abs=0.01)
    assert by_name[f"{PREFIX}-churn-20260101"].kind == "sagemaker endpoint-config"
    assert by_name[f"{PREFIX}-churn-v1-20260101"].kind == "sagemaker model"
    assert f"/aws/sagemaker/Endpoints/{PREFIX}-churn" in by_name
    assert by_name[eni].kind == "ec2 network-interface" and by_name[eni].found_by == "security group"
    assert len({i.arn for i in report.items}) == len(report.items)  # found by tags and by name: listed once
    assert gone not in {i.name for i in report.left}
    assert all(i.counts for i in report.items if i.name not in (gone, "(not checked)"))
    assert report.monthly == pytest.approx(sum(i.monthly or 0 for i in report.left), abs=0.01)
    assert report.monthly >= endpoint.monthly + prices.KMS_KEY_MONTH


def test_the_command_exits_1_when_something_is_left_and_0_when_not(aws: Any, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["leftovers", "--stack", "dev"]) == 0
    assert "nothing of this stack is left" in capsys.readouterr().out
    aws.client("logs").create_log_group(logGroupName=f"/aws/sagemaker/Endpoints/{PREFIX}-churn")
    assert main(["leftovers", "--stack", "dev", "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["left"] == 1 and [i["kind"] for i in document["items"] if i["counts"]] == ["log group"]
    assert main(["leftovers", "--stack", "nosuch"]) == 2
    assert "nosuch" in capsys.readouterr().err


def test_identity_from_the_stack_file() -> None:
    identity = identity_from_stack_file("prod")
    assert (identity.environment, identity.prefix) == ("prod", "mlops-platform-prod")


def test_cleanup_removes_what_the_pipeline_created_and_nothing_pulumi_owns(aws: Any) -> None:
    sm, logs, ec2 = aws.client("sagemaker"), aws.client("logs"), aws.client("ec2")
    endpoint = f"{PREFIX}-churn"
    # Pulumi's: the declared endpoint's own first configuration and model (managed-by: pulumi).
    serve(sm, endpoint, f"{PREFIX}-churn-config-aaaa", f"{PREFIX}-churn-aaaa", tags=PULUMI_TAGS, create_endpoint=False)
    # The pipeline's: the configuration the declared endpoint now serves, and an older one.
    serve(sm, endpoint, f"{PREFIX}-churn-20260102", f"{PREFIX}-churn-v2-20260102")
    serve(sm, endpoint, f"{PREFIX}-churn-20260101", f"{PREFIX}-churn-v1-20260101", create_endpoint=False)
    # An endpoint the stack does not declare, created by `pipeline deploy --model-name fraud` long ago.
    serve(sm, f"{PREFIX}-fraud", f"{PREFIX}-fraud-1", f"{PREFIX}-fraud-m1")
    logs.create_log_group(logGroupName=f"/aws/sagemaker/Endpoints/{PREFIX}-fraud")
    logs.create_log_group(logGroupName=f"/aws/sagemaker/Endpoints/{endpoint}")
    group, eni = network(aws)
    outputs = StackOutputs({"region": REGION, "environment": "dev", "endpointNames": {"churn": endpoint},
                            "workloadSecurityGroupId": group}, "dev", "test")
    ctx = PipelineContext(outputs)

    planned = cleanup(ctx, dry_run=True)
    assert sm.list_endpoint_configs()["EndpointConfigs"] and planned.failed == []
    assert len(sm.list_endpoint_configs()["EndpointConfigs"]) == 4  # a dry run removes nothing

    done = cleanup(ctx)
    assert done.failed == [] and sorted(done.removed) == sorted(planned.removed)
    configs = {c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]}
    models = {m["ModelName"] for m in sm.list_models()["Models"]}
    assert configs == {f"{PREFIX}-churn-config-aaaa", f"{PREFIX}-churn-20260102"}
    assert models == {f"{PREFIX}-churn-aaaa", f"{PREFIX}-churn-v2-20260102"}
    assert {e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]} == {endpoint}
    assert {g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]} == {f"/aws/sagemaker/Endpoints/{endpoint}"}
    assert eni not in {n["NetworkInterfaceId"] for n in ec2.describe_network_interfaces()["NetworkInterfaces"]}
    assert any("managed by pulumi" in k for k in done.kept) and any("declared by the stack" in k for k in done.kept)
