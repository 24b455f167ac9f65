"""The SageMaker, Application Auto Scaling and Pipelines requests the components computed, sent as
they are (converted from the plan's recorded inputs, not re-typed) to moto's in-process AWS.

botocore validates every request against the API model before moto sees it (member names, types,
required members), and moto checks what it models (instance types, serverless memory sizes,
models referenced by configurations, configurations referenced by endpoints, variant names).
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pulumi
import pulumi_aws as aws
import pytest
from moto import mock_aws

from support.sagemaker_requests import to_api_request
from support.serving import churn_model, churn_version
from mlops_blueprint.components.serving_endpoint import ServingEndpoint, ServingEndpointArgs
from mlops_blueprint.components.serving_endpoint_settings import SERVING_DEFAULTS, ServingEndpointSettings
from mlops_blueprint.components.training_compute_settings import TRAINING_DEFAULTS, TrainingComputeSettings
from mlops_blueprint.components.training_compute import TrainingCompute, TrainingComputeArgs
from mlops_blueprint.context import StackContext
from mlops_blueprint.mock_runtime import MOCK_ACCOUNT_ID, MockRun, run_program
from mlops_blueprint.components.served_model_settings import ServedModelSettings

REGION = "us-east-1"
ROLE = f"arn:aws:iam::{MOCK_ACCOUNT_ID}:role/mlops-platform-prod-serving"
KEY = f"arn:aws:kms:{REGION}:{MOCK_ACCOUNT_ID}:key/data-key"
BUCKET = f"mlops-platform-prod-models-{MOCK_ACCOUNT_ID}-{REGION}"
NETWORK = {"subnet_ids": ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
           "security_group_ids": ["sg-0ccccccccccccccccc"]}
AB_TEST = churn_model({"name": "champion", "weight": 0.9},
                      {"name": "challenger", "weight": 0.1, **churn_version("1.5.0")})


@pytest.fixture(autouse=True)
def _aws_credentials(monkeypatch):
    """moto needs credentials to sign with; make sure no real ones are ever used."""
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_SESSION_TOKEN", "testing"), ("AWS_DEFAULT_REGION", REGION)):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def serve(ctx: StackContext, model: dict[str, Any], serving: ServingEndpointSettings) -> MockRun:
    def program() -> None:
        provider = aws.Provider("aws", region=REGION, default_tags={"tags": ctx.tagging.default_tags()})
        endpoint = ServingEndpoint(model["name"], ServingEndpointArgs(
            context=ctx, model=ServedModelSettings.model_validate(model), settings=serving, execution_role_arn=ROLE,
            models_bucket_name=BUCKET, kms_key_arn=KEY, **NETWORK), pulumi.ResourceOptions(providers={"aws": provider}))
        pulumi.export("variantNames", endpoint.variant_names)
        pulumi.export("endpointName", endpoint.endpoint_name)

    return run_program(program, stack=ctx.environment, project="mlops-platform", region=REGION)


def only(run: MockRun, type_: str) -> dict[str, Any]:
    [registration] = run.of_type(type_)
    return registration.inputs


def deploy(client: Any, run: MockRun) -> str:
    """CreateModel, CreateEndpointConfig, CreateEndpoint with exactly the recorded inputs."""
    for model in run.of_type("aws:sagemaker/model:Model"):
        client.create_model(**to_api_request("sagemaker", "CreateModel", model.inputs))
    config = only(run, "aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    client.create_endpoint_config(**to_api_request("sagemaker", "CreateEndpointConfig", config))
    request = to_api_request("sagemaker", "CreateEndpoint", only(run, "aws:sagemaker/endpoint:Endpoint"))
    client.create_endpoint(**request)
    return request["EndpointName"]


@mock_aws
def test_model_configuration_and_endpoint_are_accepted_and_weights_can_be_shifted(context_for):
    run = serve(context_for("prod"), AB_TEST, ServingEndpointSettings.model_validate(SERVING_DEFAULTS["prod"]))
    client = boto3.client("sagemaker", region_name=REGION)
    endpoint = deploy(client, run)

    request = to_api_request("sagemaker", "CreateEndpoint", only(run, "aws:sagemaker/endpoint:Endpoint"))
    assert request["DeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["Type"] == "CANARY"
    config = client.describe_endpoint_config(EndpointConfigName=request["EndpointConfigName"])
    assert config["KmsKeyId"] == KEY
    assert config["DataCaptureConfig"]["DestinationS3Uri"] == f"s3://{BUCKET}/data-capture/churn"
    assert [v["InitialVariantWeight"] for v in config["ProductionVariants"]] == [0.9, 0.1]
    for variant in config["ProductionVariants"]:
        model = client.describe_model(ModelName=variant["ModelName"])
        assert model["VpcConfig"]["Subnets"] == NETWORK["subnet_ids"]

    described = client.describe_endpoint(EndpointName=endpoint)
    assert endpoint == run.outputs["endpointName"]
    assert [v["VariantName"] for v in described["ProductionVariants"]] == run.outputs["variantNames"]

    # Shift traffic to the challenger with the variant names the component produced.
    shifted = {"champion": 0.5, "challenger": 0.5}
    client.update_endpoint_weights_and_capacities(
        EndpointName=endpoint,
        DesiredWeightsAndCapacities=[{"VariantName": name, "DesiredWeight": weight, "DesiredInstanceCount": 3}
                                     for name, weight in shifted.items()])
    after = client.describe_endpoint(EndpointName=endpoint)
    assert {v["VariantName"]: v["CurrentWeight"] for v in after["ProductionVariants"]} == shifted
    assert {v["CurrentInstanceCount"] for v in after["ProductionVariants"]} == {3}
    assert after["EndpointStatus"] == "InService"

    with pytest.raises(client.exceptions.ClientError, match="not present"):
        client.update_endpoint_weights_and_capacities(
            EndpointName=endpoint, DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredWeight": 1.0}])


@mock_aws
def test_autoscaling_targets_and_policies_are_accepted(context_for):
    run = serve(context_for("prod"), AB_TEST, ServingEndpointSettings.model_validate(SERVING_DEFAULTS["prod"]))
    deploy(boto3.client("sagemaker", region_name=REGION), run)
    scaling = boto3.client("application-autoscaling", region_name=REGION)
    for target in run.of_type("aws:appautoscaling/target:Target"):
        scaling.register_scalable_target(**to_api_request("application-autoscaling", "RegisterScalableTarget", target.inputs))
    for policy in run.of_type("aws:appautoscaling/policy:Policy"):
        scaling.put_scaling_policy(**to_api_request("application-autoscaling", "PutScalingPolicy", policy.inputs))
    targets = scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert sorted(t["ResourceId"] for t in targets) == [
        "endpoint/mlops-platform-prod-churn/variant/challenger", "endpoint/mlops-platform-prod-churn/variant/champion"]
    policies = scaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
    assert {p["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]["PredefinedMetricType"]
            for p in policies} == {"SageMakerVariantInvocationsPerInstance"}


@mock_aws
def test_an_image_change_is_a_second_configuration_next_to_the_first(context_for):
    """Both generations exist at once (create-before-delete), under different names."""
    ctx, serving = context_for("prod"), ServingEndpointSettings.model_validate(SERVING_DEFAULTS["prod"])
    first = serve(ctx, AB_TEST, serving)
    changed = json.loads(json.dumps(AB_TEST))
    changed["variants"][1]["image"] = "inference:1.5.1"
    second = serve(ctx, changed, serving)
    client = boto3.client("sagemaker", region_name=REGION)
    deploy(client, first)
    for model in second.of_type("aws:sagemaker/model:Model"):
        if model.inputs["name"] not in {m.inputs["name"] for m in first.of_type("aws:sagemaker/model:Model")}:
            client.create_model(**to_api_request("sagemaker", "CreateModel", model.inputs))
    config = only(second, "aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    client.create_endpoint_config(**to_api_request("sagemaker", "CreateEndpointConfig", config))
    names = {c["EndpointConfigName"] for c in client.list_endpoint_configs()["EndpointConfigs"]}
    assert len(names) == 2 and config["name"] in names
    assert len(client.list_models()["Models"]) == 3  # champion shared, challenger in two versions


@mock_aws
def test_a_serverless_configuration_is_accepted(context_for):
    serving = ServingEndpointSettings.model_validate({**SERVING_DEFAULTS["dev"], "serverless": True,
                                            "serverlessSettings": {"memorySizeMb": 3072, "maxConcurrency": 10}})
    run = serve(context_for("dev"), {k: v for k, v in AB_TEST.items() if k != "variants"}, serving)
    client = boto3.client("sagemaker", region_name=REGION)
    endpoint = deploy(client, run)
    config = client.describe_endpoint_config(
        EndpointConfigName=client.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"])
    assert config["ProductionVariants"][0]["ServerlessConfig"] == {"MemorySizeInMB": 3072, "MaxConcurrency": 10}
    assert "KmsKeyId" not in config


@mock_aws
def test_the_training_pipeline_is_accepted(context_for):
    ctx = context_for("dev")

    def program() -> None:
        TrainingCompute("training", TrainingComputeArgs(
            context=ctx, kms_key_arn=KEY, training_role_arn=f"arn:aws:iam::{MOCK_ACCOUNT_ID}:role/training",
            pipelines_role_arn=f"arn:aws:iam::{MOCK_ACCOUNT_ID}:role/pipelines", datasets_bucket_name="datasets",
            models_bucket_name=BUCKET, settings=TrainingComputeSettings.model_validate(TRAINING_DEFAULTS["dev"]), **NETWORK))

    run = run_program(program, stack="dev", project="mlops-platform", region=REGION)
    client = boto3.client("sagemaker", region_name=REGION)
    request = to_api_request("sagemaker", "CreatePipeline", only(run, "aws:sagemaker/pipeline:Pipeline"))
    arn = client.create_pipeline(**request)["PipelineArn"]
    described = client.describe_pipeline(PipelineName=request["PipelineName"])
    assert described["PipelineArn"] == arn and described["RoleArn"] == request["RoleArn"]
    assert json.loads(described["PipelineDefinition"]) == json.loads(request["PipelineDefinition"])
    ecr = boto3.client("ecr", region_name=REGION)
    for repository in run.of_type("aws:ecr/repository:Repository"):
        created = ecr.create_repository(**to_api_request("ecr", "CreateRepository", repository.inputs))
        assert created["repository"]["imageTagMutability"] == "IMMUTABLE"
        assert created["repository"]["imageScanningConfiguration"] == {"scanOnPush": True}


def test_the_converter_refuses_inputs_the_api_does_not_have():
    with pytest.raises(KeyError, match="no member for input 'notAField'"):
        to_api_request("sagemaker", "CreateEndpoint", {"name": "e", "endpointConfigName": "c", "notAField": 1})
    with pytest.raises(TypeError, match="is not an integer"):
        to_api_request("sagemaker", "CreateEndpointConfig", {"name": "c", "productionVariants": [
            {"variantName": "a", "modelName": "m", "initialInstanceCount": 1.5}]})
    request = to_api_request("sagemaker", "CreateEndpointConfig", {
        "name": "c", "kmsKeyArn": KEY, "tags": {"b": "2", "a": "1"}, "region": REGION,
        "productionVariants": [{"variantName": "a", "modelName": "m", "initialInstanceCount": 2.0,
                                "serverlessConfig": {"memorySizeInMb": 1024.0, "maxConcurrency": 1}}]})
    assert request == {"EndpointConfigName": "c", "KmsKeyId": KEY, "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}],
                       "ProductionVariants": [{"VariantName": "a", "ModelName": "m", "InitialInstanceCount": 2,
                                               "ServerlessConfig": {"MemorySizeInMB": 1024, "MaxConcurrency": 1}}]}
