"""TrainingCompute: hardened ECR repositories and a SageMaker pipeline definition that is valid,
references this stack's role, buckets, key, network, images and model package group, and runs
jobs isolated, encrypted, bounded in time and (if configured) on spot capacity."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from pydantic import ValidationError

from mlops_blueprint.components.artifact_store import ArtifactStore, ArtifactStoreArgs
from mlops_blueprint.components.kms import Kms, KmsArgs
from mlops_blueprint.components.network import Network, NetworkArgs
from mlops_blueprint.components.network_settings import NetworkSettings
from mlops_blueprint.components.platform_roles import PlatformRoles, PlatformRolesArgs
from mlops_blueprint.components.sagemaker_pipeline import (
    EVALUATE,
    FAIL,
    PREPROCESS,
    QUALITY_GATE,
    REGISTER,
    SCHEMA_VERSION,
    STEP_GENERATED_MEMBERS,
    STEP_OPERATIONS,
    TRAIN,
    definition_problems,
    iter_steps,
)
from support.sagemaker_requests import request_problems
from mlops_blueprint.components.training_compute import (
    TrainingCompute,
    TrainingComputeArgs,
    default_model_package_group_name,
)
from mlops_blueprint.context import StackContext
from mlops_blueprint.mock_runtime import MOCK_ACCOUNT_ID, MockRun, run_program
from mlops_blueprint.plan import build_plan
from mlops_blueprint.policies.engine import evaluate_plan
from mlops_blueprint.components.training_compute_settings import TRAINING_DEFAULTS, TrainingComputeSettings

COMPONENT = "mlops:ml:TrainingCompute"
REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
PIPELINE = "aws:sagemaker/pipeline:Pipeline"

TRAINING_ROLE = f"arn:aws:iam::{MOCK_ACCOUNT_ID}:role/mlops-platform-dev-training"
PIPELINES_ROLE = f"arn:aws:iam::{MOCK_ACCOUNT_ID}:role/mlops-platform-dev-pipelines"
KEY = f"arn:aws:kms:us-east-1:{MOCK_ACCOUNT_ID}:key/data-key"
DATASETS = f"mlops-platform-dev-datasets-{MOCK_ACCOUNT_ID}-us-east-1"
MODELS = f"mlops-platform-dev-models-{MOCK_ACCOUNT_ID}-us-east-1"
SUBNETS = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
GROUPS = ["sg-0ccccccccccccccccc"]
REGISTRY = f"{MOCK_ACCOUNT_ID}.dkr.ecr.us-east-1.amazonaws.com"


def training_for(environment: str, **overrides: Any) -> TrainingComputeSettings:
    return TrainingComputeSettings.model_validate({**TRAINING_DEFAULTS[environment], **overrides})


def build(ctx: StackContext, **kwargs: Any) -> MockRun:
    """One TrainingCompute with literal ARNs, under a provider with the stack's default tags."""
    values: dict[str, Any] = {
        "kms_key_arn": KEY, "training_role_arn": TRAINING_ROLE, "pipelines_role_arn": PIPELINES_ROLE,
        "subnet_ids": SUBNETS, "security_group_ids": GROUPS, "datasets_bucket_name": DATASETS,
        "models_bucket_name": MODELS, "settings": training_for(ctx.environment),
    }
    values.update(kwargs)

    def program() -> None:
        provider = aws.Provider("aws", region=ctx.region, default_tags={"tags": ctx.tagging.default_tags()})
        compute = TrainingCompute("training", TrainingComputeArgs(context=ctx, **values),
                                  pulumi.ResourceOptions(providers={"aws": provider}))
        pulumi.export("repositoryUrls", compute.repository_urls)
        pulumi.export("pipelineArn", compute.pipeline_arn)
        pulumi.export("pipelineName", compute.pipeline_name)
        pulumi.export("modelPackageGroupName", compute.model_package_group_name)

    return run_program(program, stack=ctx.environment, project="mlops-platform", region=ctx.region)


def definition(run: MockRun) -> dict[str, Any]:
    [pipeline] = run.of_type(PIPELINE)
    return json.loads(pipeline.inputs["pipelineDefinition"])


def steps(run: MockRun) -> dict[str, dict[str, Any]]:
    return {s["Name"]: s for s in iter_steps(definition(run)["Steps"])}


def mandatory(run: MockRun) -> list[dict[str, str]]:
    return [f for f in evaluate_plan(build_plan(run)) if f["enforcement"] == "mandatory"]


# -- ECR -------------------------------------------------------------------------------------------


def test_repositories_scan_on_push_have_immutable_tags_and_use_the_data_key(dev_context):
    run = build(dev_context)
    repositories = {r.inputs["name"]: r.inputs for r in run.of_type(REPOSITORY)}
    assert set(repositories) == {"mlops-platform-dev-training", "mlops-platform-dev-inference"}
    for repository in repositories.values():
        assert repository["imageScanningConfiguration"] == {"scanOnPush": True}
        assert repository["imageTagMutability"] == "IMMUTABLE"
        assert repository["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": KEY}]


@pytest.mark.parametrize("keep", [1, 10, 250])
def test_lifecycle_keeps_the_last_n_images_of_each_repository(dev_context, keep):
    run = build(dev_context, settings=training_for("dev", ecrKeepImages=keep))
    policies = {p.inputs["repository"]: json.loads(p.inputs["policy"]) for p in run.of_type(LIFECYCLE)}
    assert set(policies) == {"mlops-platform-dev-training", "mlops-platform-dev-inference"}
    for policy in policies.values():
        rules = sorted(policy["rules"], key=lambda r: r["rulePriority"])
        keep_rule = rules[-1]  # ECR evaluates "any" last; it must have the highest priority number
        assert keep_rule["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep}
        assert keep_rule["action"] == {"type": "expire"}
        assert all(r["selection"]["tagStatus"] != "any" for r in rules[:-1])
    repository_urns = {r.urn for r in run.of_type(REPOSITORY)}
    assert all(set(p.dependencies) & repository_urns for p in run.of_type(LIFECYCLE))


def test_repositories_take_protection_from_the_args(prod_context, dev_context):
    prod = build(prod_context, protect=True, retain_on_delete=True)
    assert all(r.protect and r.retain_on_delete for r in prod.of_type(REPOSITORY))
    dev = build(dev_context, force_delete=True)
    assert all(not r.protect and not r.retain_on_delete and r.inputs["forceDelete"] is True for r in dev.of_type(REPOSITORY))


def test_outputs_are_repository_urls_pipeline_and_group(dev_context):
    run = build(dev_context)
    assert run.outputs["repositoryUrls"] == {
        "training": f"{REGISTRY}/mlops-platform-dev-training", "inference": f"{REGISTRY}/mlops-platform-dev-inference"}
    assert run.outputs["pipelineName"] == "mlops-platform-dev-training"
    assert run.outputs["pipelineArn"].startswith(f"arn:aws:sagemaker:us-east-1:{MOCK_ACCOUNT_ID}:pipeline/")
    assert run.outputs["modelPackageGroupName"] == default_model_package_group_name(dev_context) == "mlops-platform-dev-models"


# -- the pipeline --------------------------------------------------------------------------------------


def test_pipeline_runs_with_the_pipelines_role_and_its_definition_is_valid(dev_context):
    run = build(dev_context)
    [pipeline] = run.of_type(PIPELINE)
    assert pipeline.inputs["roleArn"] == PIPELINES_ROLE
    assert pipeline.inputs["pipelineName"] == pipeline.inputs["pipelineDisplayName"] == "mlops-platform-dev-training"
    document = json.loads(pipeline.inputs["pipelineDefinition"])  # valid JSON, serialized once
    assert document["Version"] == SCHEMA_VERSION
    assert definition_problems(document) == []
    assert [s["Name"] for s in document["Steps"]] == [PREPROCESS, TRAIN, EVALUATE, QUALITY_GATE]
    gate = document["Steps"][-1]["Arguments"]
    assert [s["Name"] for s in gate["IfSteps"]] == [REGISTER] and [s["Name"] for s in gate["ElseSteps"]] == [FAIL]


def test_every_job_step_is_a_request_the_sagemaker_api_accepts(dev_context):
    """Step arguments checked against botocore's model of CreateProcessingJob/CreateTrainingJob/
    CreateModelPackage: member names, required members (job names aside), types and enums."""
    checked = []
    for name, step in steps(build(dev_context)).items():
        operation = STEP_OPERATIONS.get(step["Type"])
        if operation:
            assert request_problems("sagemaker", operation, step["Arguments"], optional=STEP_GENERATED_MEMBERS) == [], name
            checked.append(name)
    assert sorted(checked) == sorted([PREPROCESS, TRAIN, EVALUATE, REGISTER])


def test_definition_references_this_stacks_role_buckets_key_images_and_group(dev_context):
    run = build(dev_context, model_package_group_name="mlops-platform-dev-churn")
    document = definition(run)
    by_name = steps(run)
    jobs = [by_name[n]["Arguments"] for n in (PREPROCESS, TRAIN, EVALUATE)]
    assert all(job["RoleArn"] == TRAINING_ROLE for job in jobs)
    parameters = {p["Name"]: p for p in document["Parameters"]}
    assert parameters["InputDataUrl"]["DefaultValue"] == f"s3://{DATASETS}/training/"
    train = by_name[TRAIN]["Arguments"]
    assert train["OutputDataConfig"]["KmsKeyId"] == KEY
    assert train["OutputDataConfig"]["S3OutputPath"]["Std:Join"]["Values"][0] == f"s3://{MODELS}/pipelines/mlops-platform-dev-training"
    assert train["AlgorithmSpecification"]["TrainingImage"] == {"Std:Join": {"On": ":", "Values": [
        f"{REGISTRY}/mlops-platform-dev-training", {"Get": "Parameters.TrainingImageTag"}]}}
    register = by_name[REGISTER]["Arguments"]
    assert register["ModelPackageGroupName"] == {"Get": "Parameters.ModelPackageGroupName"}
    assert parameters["ModelPackageGroupName"]["DefaultValue"] == "mlops-platform-dev-churn"
    container = register["InferenceSpecification"]["Containers"][0]
    assert container["Image"]["Std:Join"]["Values"][0] == f"{REGISTRY}/mlops-platform-dev-inference"
    assert container["ModelDataUrl"] == {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}
    for name in (PREPROCESS, EVALUATE):
        outputs = by_name[name]["Arguments"]["ProcessingOutputConfig"]
        assert outputs["KmsKeyId"] == KEY
        assert all(o["S3Output"]["S3Uri"]["Std:Join"]["Values"][0].startswith(f"s3://{MODELS}/") for o in outputs["Outputs"])
    assert run.outputs["modelPackageGroupName"] == "mlops-platform-dev-churn"


def test_jobs_run_isolated_in_the_training_subnets_with_encrypted_volumes(dev_context):
    by_name = steps(build(dev_context))
    train = by_name[TRAIN]["Arguments"]
    assert train["VpcConfig"] == {"SecurityGroupIds": GROUPS, "Subnets": SUBNETS}
    assert train["EnableNetworkIsolation"] is True and train["EnableInterContainerTrafficEncryption"] is True
    assert train["ResourceConfig"]["VolumeKmsKeyId"] == KEY
    for name in (PREPROCESS, EVALUATE):
        job = by_name[name]["Arguments"]
        assert job["NetworkConfig"] == {"EnableNetworkIsolation": True, "EnableInterContainerTrafficEncryption": True,
                                        "VpcConfig": {"SecurityGroupIds": GROUPS, "Subnets": SUBNETS}}
        assert job["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == KEY


def test_isolation_flags_follow_config(dev_context):
    by_name = steps(build(dev_context, settings=training_for("dev", networkIsolation=False,
                                                             interContainerEncryption=False)))
    assert by_name[TRAIN]["Arguments"]["EnableNetworkIsolation"] is False
    assert by_name[EVALUATE]["Arguments"]["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is False


def test_spot_training_waits_bounded_and_checkpoints(dev_context):
    train = steps(build(dev_context, settings=training_for("dev", spot=True, maxRuntimeSeconds=3600,
                                                            maxWaitSeconds=7200)))[TRAIN]["Arguments"]
    assert train["EnableManagedSpotTraining"] is True
    assert train["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200}
    assert train["CheckpointConfig"]["S3Uri"]["Std:Join"]["Values"][-1] == "checkpoints"


def test_on_demand_training_has_only_a_max_runtime(prod_context):
    train = steps(build(prod_context, settings=training_for("prod")))[TRAIN]["Arguments"]
    assert train["EnableManagedSpotTraining"] is False
    assert train["StoppingCondition"] == {"MaxRuntimeInSeconds": TRAINING_DEFAULTS["prod"]["maxRuntimeSeconds"]}
    assert "CheckpointConfig" not in train


def test_instance_store_training_types_get_no_volume_key(dev_context):
    train = steps(build(dev_context, settings=training_for("dev", instanceType="ml.g5.2xlarge")))[TRAIN]["Arguments"]
    assert "VolumeKmsKeyId" not in train["ResourceConfig"]
    assert train["OutputDataConfig"]["KmsKeyId"] == KEY  # outputs are still encrypted with the data key


def test_jobs_carry_every_mandatory_tag(dev_context):
    """Provider default tags do not reach jobs a pipeline starts: the definition spells them out."""
    for name in (PREPROCESS, TRAIN, EVALUATE):
        tags = {t["Key"]: t["Value"] for t in steps(build(dev_context))[name]["Arguments"]["Tags"]}
        assert {"project", "environment", "component", "owner", "cost-center", "data-classification"} <= set(tags)
        assert tags["environment"] == "dev"


def test_quality_gate_compares_the_evaluation_metric_with_the_threshold(dev_context):
    gate_config = {"metric": "rmse", "threshold": 0.25, "higherIsBetter": False}
    run = build(dev_context, settings=training_for("dev", qualityGate=gate_config))
    [condition] = steps(run)[QUALITY_GATE]["Arguments"]["Conditions"]
    assert condition["Type"] == "LessThanOrEqualTo"
    assert condition["LeftValue"]["Std:JsonGet"]["Path"] == "metrics.rmse.value"
    assert condition["RightValue"] == {"Get": "Parameters.QualityThreshold"}
    threshold = next(p for p in definition(run)["Parameters"] if p["Name"] == "QualityThreshold")
    assert threshold["DefaultValue"] == 0.25


def test_wired_to_the_platform_components_it_references_their_outputs(context_for):
    ctx = context_for("prod")

    def program() -> None:
        provider = aws.Provider("aws", region=ctx.region, default_tags={"tags": ctx.tagging.default_tags()})
        opts = pulumi.ResourceOptions(providers={"aws": provider})
        stateful = {"protect": True, "retain_on_delete": True}
        kms = Kms("kms", KmsArgs(context=ctx, **stateful), opts)
        network = Network("network", NetworkArgs(context=ctx, logs_kms_key_arn=kms.logs_key_arn,
                                                 settings=NetworkSettings(az_count=3), **stateful), opts)
        artifacts = ArtifactStore("artifacts", ArtifactStoreArgs(context=ctx, kms_key_arn=kms.data_key_arn, **stateful), opts)
        roles = PlatformRoles("roles", PlatformRolesArgs(
            context=ctx, data_key_arn=kms.data_key_arn, logs_key_arn=kms.logs_key_arn,
            datasets_bucket_arn=artifacts.datasets_bucket_arn, models_bucket_arn=artifacts.models_bucket_arn), opts)
        TrainingCompute("training", TrainingComputeArgs(
            context=ctx, kms_key_arn=kms.data_key_arn, training_role_arn=roles.training_role_arn,
            pipelines_role_arn=roles.pipelines_role_arn, subnet_ids=network.training_subnet_ids,
            security_group_ids=[network.workload_security_group_id],
            datasets_bucket_name=artifacts.datasets_bucket_name, models_bucket_name=artifacts.models_bucket_name,
            settings=training_for("prod"), **stateful), opts)

    run = run_program(program, stack="prod", project="mlops-platform")
    [pipeline] = run.of_type(PIPELINE)
    document = pipeline.inputs["pipelineDefinition"]
    training_role = run.named("aws:iam/role:Role", "roles-training").outputs["arn"]
    training_subnets = sorted(s.id for s in run.of_type("aws:ec2/subnet:Subnet") if s.name.startswith("network-training-"))
    train = next(s for s in json.loads(document)["Steps"] if s["Name"] == TRAIN)["Arguments"]
    assert train["RoleArn"] == training_role
    assert sorted(train["VpcConfig"]["Subnets"]) == training_subnets and len(training_subnets) == 3
    assert train["VpcConfig"]["SecurityGroupIds"] == [run.named("aws:ec2/securityGroup:SecurityGroup", "network-workload").id]
    for bucket in ("artifacts-datasets", "artifacts-models"):
        assert run.named("aws:s3/bucket:Bucket", bucket).inputs["bucket"] in document
    assert run.named("aws:kms/key:Key", "kms-data").outputs["arn"] in document
    assert pipeline.inputs["roleArn"] == run.named("aws:iam/role:Role", "roles-pipelines").outputs["arn"]
    assert mandatory(run) == []


# -- policy pack ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("environment, kwargs", [
    ("dev", {"force_delete": True}),
    ("staging", {"retain_on_delete": True}),
    ("prod", {"protect": True, "retain_on_delete": True}),
])
def test_policy_pack_finds_nothing_mandatory(context_for, environment, kwargs):
    assert mandatory(build(context_for(environment), **kwargs)) == []


def test_unprotected_repositories_in_prod_are_reported(prod_context):
    policies = {f["policy"] for f in mandatory(build(prod_context))}
    assert policies == {"prod-stateful-protection"}


# -- bad args and config ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, message", [
    ({"subnet_ids": []}, "subnet_ids: expected a non-empty list"),
    ({"security_group_ids": "sg-1"}, "security_group_ids: expected a non-empty list"),
    ({"training_role_arn": ""}, "training_role_arn: required"),
    ({"model_package_group_name": "bad_group!"}, "is not a model package group name"),
    ({"protect": True, "force_delete": True}, "force_delete and protect are contradictory"),
    ({"mlflow_tracking_arn": "https://mlflow.example.com"}, "mlflow_tracking_arn: 'https://mlflow.example.com' is not a SageMaker MLflow"),
    ({"settings": {"spot": True}}, "settings: expected a TrainingComputeSettings"),
])
def test_bad_args_raise_before_registration(dev_context, kwargs, message):
    values: dict[str, Any] = {
        "kms_key_arn": KEY, "training_role_arn": TRAINING_ROLE, "pipelines_role_arn": PIPELINES_ROLE,
        "subnet_ids": SUBNETS, "security_group_ids": GROUPS, "datasets_bucket_name": DATASETS,
        "models_bucket_name": MODELS, **kwargs,
    }

    def program() -> None:
        TrainingCompute("bad", TrainingComputeArgs(context=dev_context, **values))

    run = run_program(program, stack="dev", project="mlops-platform", capture_errors=True)
    assert isinstance(run.error, ValueError) and message in str(run.error), run.error
    assert [r for r in run.registrations if r.type != "pulumi:pulumi:Stack"] == []


@pytest.mark.parametrize("values, message", [
    ({"spot": True}, "spot training needs maxWaitSeconds"),
    ({"spot": True, "maxRuntimeSeconds": 7200, "maxWaitSeconds": 3600}, "must be at least maxRuntimeSeconds"),
    ({"maxWaitSeconds": 7200}, "applies to spot training only"),
    ({"maxRuntimeSeconds": 30 * 24 * 3600}, "less than or equal to 2419200"),
    ({"instanceType": "m5.large"}, "is not a SageMaker instance type"),
    ({"ecrKeepImages": 0}, "greater than or equal to 1"),
])
def test_training_settings_reject(values, message):
    with pytest.raises(ValidationError) as caught:
        TrainingComputeSettings.model_validate(values)
    assert message in str(caught.value)


def test_training_defaults_validate_and_dev_trains_on_spot():
    configs = {env: TrainingComputeSettings.model_validate(values) for env, values in TRAINING_DEFAULTS.items()}
    assert configs["dev"].spot and configs["staging"].spot and not configs["prod"].spot
    assert configs["dev"].ecr_keep_images < configs["prod"].ecr_keep_images


# -- MLflow tracking -----------------------------------------------------------------------------------

MLFLOW_APP = f"arn:aws:sagemaker:us-east-1:{MOCK_ACCOUNT_ID}:mlflow-app/app-ABCDEF123456"
MLFLOW_SERVER = f"arn:aws:sagemaker:us-east-1:{MOCK_ACCOUNT_ID}:mlflow-tracking-server/mlops-platform-dev-mlflow"


@pytest.mark.parametrize("tracking_arn", [MLFLOW_APP, MLFLOW_SERVER])
def test_train_and_evaluate_log_to_the_stacks_mlflow_one_experiment_per_model_family(dev_context, tracking_arn):
    by_name = steps(build(dev_context, mlflow_tracking_arn=tracking_arn))
    expected = {"MLFLOW_TRACKING_URI": tracking_arn,
                "MLFLOW_EXPERIMENT_NAME": {"Get": "Parameters.ModelPackageGroupName"}}
    assert by_name[TRAIN]["Arguments"]["Environment"] == expected
    assert by_name[EVALUATE]["Arguments"]["Environment"] == expected
    assert "Environment" not in by_name[PREPROCESS]["Arguments"]
    # The experiment is the group the run registers into: the two cannot drift apart.
    assert by_name[REGISTER]["Arguments"]["ModelPackageGroupName"] == expected["MLFLOW_EXPERIMENT_NAME"]


def test_only_the_steps_that_reach_mlflow_give_up_network_isolation(dev_context):
    by_name = steps(build(dev_context, mlflow_tracking_arn=MLFLOW_SERVER))
    assert by_name[TRAIN]["Arguments"]["EnableNetworkIsolation"] is False
    assert by_name[EVALUATE]["Arguments"]["NetworkConfig"]["EnableNetworkIsolation"] is False
    assert by_name[PREPROCESS]["Arguments"]["NetworkConfig"]["EnableNetworkIsolation"] is True
    # They stay in the training subnets behind the workload group: MLflow through the VPC endpoint.
    assert by_name[TRAIN]["Arguments"]["VpcConfig"] == {"SecurityGroupIds": GROUPS, "Subnets": SUBNETS}
    assert by_name[EVALUATE]["Arguments"]["NetworkConfig"]["VpcConfig"] == {"SecurityGroupIds": GROUPS, "Subnets": SUBNETS}


def test_without_mlflow_every_job_stays_isolated_and_has_no_tracking_environment(dev_context):
    by_name = steps(build(dev_context))
    assert all("Environment" not in by_name[n]["Arguments"] for n in (PREPROCESS, TRAIN, EVALUATE))
    assert by_name[TRAIN]["Arguments"]["EnableNetworkIsolation"] is True


def test_tracked_steps_are_still_requests_the_sagemaker_api_accepts(dev_context):
    for name, step in steps(build(dev_context, mlflow_tracking_arn=MLFLOW_APP)).items():
        operation = STEP_OPERATIONS.get(step["Type"])
        if operation:
            assert request_problems("sagemaker", operation, step["Arguments"], optional=STEP_GENERATED_MEMBERS) == [], name
    assert definition_problems(definition(build(dev_context, mlflow_tracking_arn=MLFLOW_APP))) == []


def test_pipeline_waits_for_the_role_policies_it_is_given(dev_context):
    def program() -> None:
        grants = [aws.sns.Topic("stands-for-a-role-policy")]
        TrainingCompute("training", TrainingComputeArgs(
            context=dev_context, kms_key_arn=KEY, training_role_arn=TRAINING_ROLE, pipelines_role_arn=PIPELINES_ROLE,
            subnet_ids=SUBNETS, security_group_ids=GROUPS, datasets_bucket_name=DATASETS, models_bucket_name=MODELS,
            role_policies=grants))

    run = run_program(program, stack="dev", project="mlops-platform")
    [pipeline] = run.of_type(PIPELINE)
    assert run.named("aws:sns/topic:Topic", "stands-for-a-role-policy").urn in pipeline.dependencies
