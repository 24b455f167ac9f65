"""TrackingServer: the SageMaker backends, what all backends share, isolation and validation.

Runs use the real Kms, Network, ArtifactStore and PlatformRoles (``support.tracking.run_tracking``),
so role ARNs, bucket names and dependencies are matched against the resources that produce them.
The kubernetes backend's own properties are in ``test_tracking_server_kubernetes.py``.
"""

from __future__ import annotations

import functools
import json
from dataclasses import replace
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from pydantic import ValidationError

from mlops_blueprint.components.tracking_server import (
    BACKENDS,
    KubernetesTrackingArgs,
    TrackingServer,
    TrackingServerArgs,
    TrackingServerSettings,
)
from support.tracking import (
    TrackingRun,
    context,
    recorded_custom_timeouts,
    run_tracking,
    tracking_settings,
)
from mlops_blueprint.mock_runtime import MOCK_ACCOUNT_ID, run_program
from mlops_blueprint.plan import build_plan
from mlops_blueprint.policies.engine import evaluate_plan

COMPONENT = "mlops:tracking:TrackingServer"
APP = "aws:sagemaker/mlflowApp:MlflowApp"
SERVER = "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer"
GROUP = "aws:sagemaker/modelPackageGroup:ModelPackageGroup"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
BUCKET = "aws:s3/bucket:Bucket"
FAMILIES = ["churn", "fraud"]

VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
# The SageMaker backends' private path: the MLflow interface endpoint in its own security group.
PRIVATE_PATH = {VPC_ENDPOINT, SECURITY_GROUP, INGRESS}

# What each backend may create under the component, and nothing else.
BACKEND_TYPES = {
    "sagemaker-serverless": {APP, GROUP, *PRIVATE_PATH},
    "sagemaker-managed": {SERVER, GROUP, *PRIVATE_PATH},
    "kubernetes": {
        GROUP, ROLE_POLICY, "aws:rds/instance:Instance", "aws:ec2/securityGroup:SecurityGroup",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "kubernetes:core/v1:Namespace", "kubernetes:core/v1:ServiceAccount", "kubernetes:core/v1:Secret",
        "kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Service", "kubernetes:policy/v1:PodDisruptionBudget",
        "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    },
}


@functools.lru_cache(maxsize=None)
def tracking(environment: str, backend: str, version: str = "3.0.1", window: str = "Sun:03:00") -> TrackingRun:
    config = {"backend": backend, "mlflowVersion": version, "maintenanceWindow": window, "modelFamilies": FAMILIES}
    if backend == "kubernetes":
        config["kubernetes"] = {"image": "ghcr.io/mlflow/mlflow:v3.0.1-full"}
    return run_tracking(environment, config=config)


def only(run: TrackingRun, type_: str) -> Any:
    [registration] = [r for r in run.descendants() if r.type == type_]
    return registration


def registration_named(run: TrackingRun, type_: str, name: str) -> Any:
    return run.run.named(type_, name)


# -- serverless ------------------------------------------------------------------------------------


def test_serverless_app_uses_the_tracking_role_and_the_models_bucket_prefix():
    run = tracking("dev", "sagemaker-serverless")
    app = only(run, APP)
    role = registration_named(run, ROLE, "roles-tracking")
    models = registration_named(run, BUCKET, "artifacts-models")

    assert app.parent == run.component.urn
    assert app.inputs["roleArn"] == role.outputs["arn"] == run.outputs["trackingRoleArn"]
    assert app.property_dependencies["roleArn"] == [role.urn]
    assert app.inputs["artifactStoreUri"] == f"s3://{models.inputs['bucket']}/mlflow" == run.outputs["mlflowArtifactUri"]
    assert app.property_dependencies["artifactStoreUri"] == [models.urn]
    assert app.inputs["name"] == "mlops-platform-dev-mlflow"
    assert app.inputs["modelRegistrationMode"] == "AutoModelRegistrationEnabled"
    assert app.inputs["weeklyMaintenanceWindowStart"] == "Sun:03:00"
    assert app.inputs["accountDefaultStatus"] == "DISABLED"
    assert app.inputs["timeouts"] == {"create": "60m", "update": "60m", "delete": "60m"}
    assert app.inputs["tags"] == {"component": "tracking", "Name": "mlops-platform-dev-mlflow"}


def test_serverless_outputs_the_app_arn_as_tracking_uri_and_no_url():
    run = tracking("dev", "sagemaker-serverless")
    app = only(run, APP)
    assert run.outputs["trackingServerArn"] == app.outputs["arn"] == run.outputs["trackingUri"]
    assert ":mlflow-app/" in run.outputs["trackingUri"]
    assert run.outputs["none"] == ["databaseArn", "trackingServerUrl"]


# -- managed ---------------------------------------------------------------------------------------


def test_managed_server_is_sized_versioned_and_registers_models():
    run = tracking("staging", "sagemaker-managed")
    server = only(run, SERVER)
    role = registration_named(run, ROLE, "roles-tracking")
    assert server.parent == run.component.urn
    assert server.inputs["trackingServerName"] == "mlops-platform-staging-mlflow"
    assert server.inputs["trackingServerSize"] == "Small"  # staging's default
    assert server.inputs["mlflowVersion"] == "3.0"
    assert server.inputs["automaticModelRegistration"] is True
    assert server.inputs["weeklyMaintenanceWindowStart"] == "Sun:03:00"
    assert server.inputs["roleArn"] == role.outputs["arn"]
    assert server.property_dependencies["roleArn"] == [role.urn]
    assert server.inputs["artifactStoreUri"] == run.outputs["mlflowArtifactUri"]
    assert run.outputs["trackingServerArn"] == server.outputs["arn"] == run.outputs["trackingUri"]
    assert run.outputs["trackingServerUrl"] == server.outputs["trackingServerUrl"]
    assert tracking("prod", "sagemaker-managed").outputs["trackingServerArn"]
    assert only(tracking("prod", "sagemaker-managed"), SERVER).inputs["trackingServerSize"] == "Medium"


def test_patch_releases_give_the_managed_server_identical_inputs():
    first = only(tracking("dev", "sagemaker-managed", version="3.0.1"), SERVER)
    second = only(tracking("dev", "sagemaker-managed", version="3.0.2"), SERVER)
    minor = only(tracking("dev", "sagemaker-managed", version="3.1.0"), SERVER)
    assert first.inputs == second.inputs
    assert first.inputs["mlflowVersion"] == "3.0" and minor.inputs["mlflowVersion"] == "3.1"


def test_maintenance_window_is_normalised_to_sagemakers_spelling():
    server = only(tracking("dev", "sagemaker-managed", window="tue:04:30"), SERVER)
    assert server.inputs["weeklyMaintenanceWindowStart"] == "Tue:04:30"


def test_managed_server_gets_long_create_update_delete_timeouts():
    with recorded_custom_timeouts() as timeouts:
        run = run_tracking("dev", config={"backend": "sagemaker-managed"})
    server = only(run, SERVER)
    assert timeouts[server.urn] == {"create": "60m", "update": "60m", "delete": "60m"}


@pytest.mark.parametrize("backend", ["sagemaker-serverless", "sagemaker-managed"])
def test_stateful_resources_are_protected_and_retained_in_prod_only(backend):
    kind = APP if backend == "sagemaker-serverless" else SERVER
    for environment, expected in (("dev", False), ("prod", True)):
        run = tracking(environment, backend)
        for registration in [only(run, kind), *[r for r in run.descendants() if r.type == GROUP]]:
            assert (registration.protect, registration.retain_on_delete) == (expected, expected), registration.urn


# -- common ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_model_package_group_per_family_named_and_tagged(backend):
    run = tracking("dev", backend)
    groups = sorted((r for r in run.descendants() if r.type == GROUP), key=lambda r: r.name)
    assert [g.name for g in groups] == ["tracking-churn", "tracking-fraud"]
    assert [g.inputs["modelPackageGroupName"] for g in groups] == ["mlops-platform-dev-churn", "mlops-platform-dev-fraud"]
    assert all(g.parent == run.component.urn for g in groups)
    assert all(g.inputs["tags"] == {"component": "tracking", "Name": g.inputs["modelPackageGroupName"]} for g in groups)
    assert run.outputs["modelPackageGroupNames"] == {"churn": "mlops-platform-dev-churn", "fraud": "mlops-platform-dev-fraud"}
    # The groups are where the tracking role may register models (PlatformRoles' RegisterModels).
    policy = json.loads(registration_named(run, ROLE_POLICY, "roles-tracking-policy").inputs["policy"])
    [register] = [s for s in policy["Statement"] if s["Sid"] == "RegisterModels"]
    assert f"arn:aws:sagemaker:us-east-1:{MOCK_ACCOUNT_ID}:model-package-group/mlops-platform-dev-*" in register["Resource"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_backend_creates_only_its_own_resources_all_parented_to_the_component(backend):
    run = tracking("dev", backend)
    children = run.descendants()
    assert {r.type for r in children} == BACKEND_TYPES[backend]
    assert all(r.parent == run.component.urn for r in children)
    # Nothing else in the stack is parented to the tracking component, and it is a root component.
    assert run.component.parent.endswith("pulumi:pulumi:Stack::mlops-platform-dev")


@pytest.mark.parametrize("backend", BACKENDS)
def test_artifact_uri_is_in_the_models_bucket_under_the_prefix(backend):
    run = tracking("dev", backend)
    assert run.outputs["mlflowArtifactUri"] == f"s3://{run.outputs['modelsBucketName']}/mlflow"
    custom = run_tracking("dev", config={"backend": backend, "artifactPrefix": "teams/ml/mlflow",
                                         **({"mlflowVersion": "3.0.1"} if backend == "kubernetes" else {})})
    assert custom.outputs["mlflowArtifactUri"] == f"s3://{custom.outputs['modelsBucketName']}/teams/ml/mlflow"


@pytest.mark.parametrize("backend", BACKENDS)
def test_tracking_role_policy_is_scoped_to_the_exported_bucket_and_prefix(backend):
    """The tracking role (PlatformRoles) may touch exactly the objects under the prefix this component
    exports: SageMaker and the self-hosted pod both act with it."""
    run = tracking("dev", backend)
    bucket_arn = run.outputs["modelsBucketArn"]
    prefix = run.outputs["mlflowArtifactUri"].removeprefix(f"s3://{run.outputs['modelsBucketName']}/")
    policy = json.loads(registration_named(run, ROLE_POLICY, "roles-tracking-policy").inputs["policy"])
    s3 = [s for s in policy["Statement"] if any(a.startswith("s3:") for a in s["Action"])]
    assert s3, "the tracking role has no S3 statement"
    for statement_ in s3:
        assert statement_["Effect"] == "Allow"
        for resource in statement_["Resource"]:
            if resource == bucket_arn:  # bucket-level: listing only, limited to the prefix
                assert statement_["Action"] == ["s3:ListBucket"]
                assert statement_["Condition"] == {"StringLike": {"s3:prefix": [f"{prefix}/*"]}}
            else:
                assert resource == f"{bucket_arn}/{prefix}/*"


def test_backends_never_reference_each_others_resources():
    """Two tracking components side by side (serverless and kubernetes): no child of one depends on,
    or takes an input from, a child of the other."""
    ctx = context("dev")
    role = f"arn:aws:iam::{MOCK_ACCOUNT_ID}:role/mlops-platform-dev-tracking"
    key = f"arn:aws:kms:us-east-1:{MOCK_ACCOUNT_ID}:key/data"
    kubernetes = KubernetesTrackingArgs(vpc_id="vpc-0123456789abcdef0", vpc_cidr="10.10.0.0/16",
                                        node_security_group_id="sg-0123456789abcdef0", data_key_arn=key,
                                        db_subnet_group_name="mlops-platform-dev-db")

    def program() -> None:
        provider = aws.Provider("aws", region="us-east-1", default_tags={"tags": ctx.tagging.default_tags()})
        opts = pulumi.ResourceOptions(providers={"aws": provider})
        bucket = aws.s3.Bucket("models", bucket="models-bucket-example", opts=opts)
        common = {"context": ctx, "tracking_role_arn": role, "models_bucket_name": bucket.bucket}
        managed = TrackingServerSettings(backend="sagemaker-managed", model_families=["churn"])
        self_hosted = TrackingServerSettings(backend="kubernetes", model_families=["fraud"], mlflow_version="3.0.1")
        TrackingServer("a", TrackingServerArgs(settings=managed, **common), opts)
        TrackingServer("b", TrackingServerArgs(settings=self_hosted, kubernetes=kubernetes, **common), opts)

    run = run_program(program, stack="dev", project="mlops-platform")
    components = {r.name: r.urn for r in run.of_type(COMPONENT)}
    owned = {name: {r.urn for r in run.children(urn)} for name, urn in components.items()}
    assert owned["a"] and owned["b"] and not owned["a"] & owned["b"]
    for mine, theirs in (("a", "b"), ("b", "a")):
        foreign = owned[theirs] | {components[theirs]}
        for urn in owned[mine]:
            registration = run.by_urn(urn)
            referenced = set(registration.dependencies).union(*registration.property_dependencies.values())
            assert not referenced & foreign, f"{registration.name} references {referenced & foreign}"
            text = json.dumps(registration.inputs)
            for other in owned[theirs]:
                other_registration = run.by_urn(other)
                for value in (other_registration.id, other_registration.outputs.get("arn")):
                    if value:
                        assert value not in text, f"{registration.name} holds {value} of {other_registration.name}"


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_policy_pack_has_no_mandatory_findings(environment, backend):
    run = tracking(environment, backend)
    mandatory = [f for f in evaluate_plan(build_plan(run.run)) if f["enforcement"] == "mandatory"]
    assert mandatory == []


def test_environment_defaults_pick_the_documented_backends():
    assert tracking_backend("dev") == "sagemaker-serverless"
    assert tracking_backend("staging") == "sagemaker-managed"
    assert tracking_backend("prod") == "sagemaker-managed"


def tracking_backend(environment: str) -> str:
    run = run_tracking(environment)
    return {APP: "sagemaker-serverless", SERVER: "sagemaker-managed"}[
        next(r.type for r in run.descendants() if r.type in (APP, SERVER))]


# -- validation ------------------------------------------------------------------------------------


def _error(**override: Any) -> ValueError:
    run = run_tracking("dev", args_override=override, capture_errors=True)
    assert isinstance(run.run.error, ValueError), run.run.error
    assert run.run.of_type(COMPONENT) == [], "the component registered before validating"
    return run.run.error


def test_bad_settings_are_refused_when_built_all_at_once():
    """The limits live in the settings: a component user gets them when building the settings,
    before any args exist."""
    with pytest.raises(ValidationError) as caught:
        TrackingServerSettings(backend="ecs", size="Huge", mlflow_version="three", maintenance_window="Sunday 3am",
                               artifact_prefix="/mlflow/", model_families=["Churn", "ok", "ok"])
    message = str(caught.value)
    assert "'sagemaker-serverless', 'sagemaker-managed' or 'kubernetes'" in message
    assert "'Small', 'Medium' or 'Large'" in message
    assert "'three' is not an MLflow version" in message
    assert "'Sunday 3am' is not a weekly window" in message
    assert "'/mlflow/' is not an S3 key prefix" in message
    assert "'Churn' is not a model family name" in message and "duplicate model families: ok" in message


def test_settings_must_be_settings_not_a_mapping():
    message = str(_error(settings={"backend": "kubernetes"}))
    assert "settings: expected a TrackingServerSettings, got dict" in message


def test_literal_arns_and_names_are_checked():
    message = str(_error(tracking_role_arn="arn:aws:iam::999999999999:user/someone", models_bucket_name="Not_A_Bucket"))
    assert "tracking_role_arn: 'arn:aws:iam::999999999999:user/someone' is not an IAM role ARN of this account" in message
    assert "models_bucket_name: 'Not_A_Bucket' is not an S3 bucket name" in message


def test_kubernetes_args_belong_to_the_kubernetes_backend_only():
    k = KubernetesTrackingArgs(vpc_id="vpc-0123456789abcdef0", vpc_cidr="10.0.0.0/16",
                               node_security_group_id="sg-0123456789abcdef0",
                               data_key_arn=f"arn:aws:kms:us-east-1:{MOCK_ACCOUNT_ID}:key/k", db_subnet_group_name="g")
    managed = tracking_settings("dev", backend="sagemaker-managed")
    self_hosted = tracking_settings("dev", backend="kubernetes", mlflowVersion="3.0.1")
    assert "kubernetes: set only for backend 'kubernetes'" in str(_error(settings=managed, kubernetes=k))
    assert "kubernetes: required when settings.backend is 'kubernetes'" in str(_error(settings=self_hosted, kubernetes=None))


def test_a_family_too_long_for_a_group_name_is_rejected():
    """Group names are never shortened with a hash (pipelines must predict them): a family that
    would not fit this stack's prefix within 63 characters is an error."""
    from mlops_blueprint.components.tracking_server import _validate

    ctx = context("dev")
    long_env = replace(ctx, naming=replace(ctx.naming, environment="performance-test"))  # 32-character prefix
    def families(*names: str) -> TrackingServerSettings:
        return TrackingServerSettings(model_families=list(names))

    args = TrackingServerArgs(context=long_env, tracking_role_arn=f"arn:aws:iam::{MOCK_ACCOUNT_ID}:role/r",
                              models_bucket_name="bucket", settings=families("f" * 32))
    with pytest.raises(ValueError, match="settings.model_families: 'f{32}' makes the group name .* longer than 63"):
        TrackingServer("t", args)  # raises before registering: no runtime needed
    _validate(replace(args, settings=families("f" * 31)))  # 32 + 31 = 63 fits
    _validate(replace(args, context=ctx, settings=families("f" * 40)))  # the settings' limit fits every environment


# -- the private path to SageMaker MLflow ----------------------------------------------------------


@pytest.mark.parametrize("backend", ["sagemaker-serverless", "sagemaker-managed"])
def test_mlflow_endpoint_admits_only_this_stacks_tracking_resource(backend):
    run = tracking("dev", backend)
    endpoint = only(run, VPC_ENDPOINT)
    resource = only(run, APP if backend == "sagemaker-serverless" else SERVER)
    assert endpoint.inputs["serviceName"] == "aws.sagemaker.us-east-1.experiments"
    assert endpoint.inputs["vpcEndpointType"] == "Interface"
    assert endpoint.inputs["privateDnsEnabled"] is True
    assert endpoint.inputs["vpcId"] == run.outputs["vpcId"]
    assert run.outputs["mlflowVpcEndpointId"] == endpoint.id
    statement, *ui = json.loads(endpoint.inputs["policy"])["Statement"]
    # AccessUI takes no resource ("*"); nothing else may name anything but this stack's resource.
    assert ui == ([] if backend == "sagemaker-serverless" else [
        {"Sid": "MlflowUi", "Effect": "Allow", "Action": ["sagemaker-mlflow:AccessUI"], "Principal": {"AWS": "*"},
         "Resource": "*"}])
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == [resource.outputs["arn"]] == [run.outputs["trackingServerArn"]]
    expected = ["sagemaker:CallMlflowAppApi"] if backend == "sagemaker-serverless" else ["sagemaker-mlflow:*"]
    assert statement["Action"] == expected
    assert resource.urn in endpoint.property_dependencies["policy"]


@pytest.mark.parametrize("backend", ["sagemaker-serverless", "sagemaker-managed"])
def test_mlflow_endpoint_takes_https_from_the_workload_security_group_only(backend):
    run = tracking("dev", backend)
    endpoint, group = only(run, VPC_ENDPOINT), only(run, SECURITY_GROUP)
    assert endpoint.inputs["securityGroupIds"] == [group.id]
    [rule] = [r for r in run.descendants() if r.type == INGRESS]
    assert rule.inputs["securityGroupId"] == group.id
    assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == ("tcp", 443, 443)
    assert rule.inputs["referencedSecurityGroupId"] == run.outputs["workloadSecurityGroupId"]
    assert "cidrIpv4" not in rule.inputs
    # No egress rules: the endpoint starts no connections (security groups are stateful: replies pass).
    assert not [r for r in run.descendants() if r.type == "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"]


@pytest.mark.parametrize("backend", ["sagemaker-serverless", "sagemaker-managed"])
def test_app_and_server_wait_for_the_tracking_roles_policy(backend):
    run = tracking("dev", backend)
    resource = only(run, APP if backend == "sagemaker-serverless" else SERVER)
    policy = registration_named(run, ROLE_POLICY, "roles-tracking-policy")
    assert policy.urn in resource.dependencies


def test_kubernetes_backend_has_no_sagemaker_endpoint_and_rejects_one():
    run = tracking("dev", "kubernetes")
    assert not [r for r in run.descendants() if r.type == VPC_ENDPOINT]
    assert "mlflowVpcEndpointId" not in run.outputs
    from mlops_blueprint.components.tracking_server import TrackingEndpointArgs
    bad = run_tracking("dev", config={"backend": "kubernetes", "kubernetes": {"image": "ghcr.io/mlflow/mlflow:v3.0.1-full"}},
                       args_override={"private_endpoint": TrackingEndpointArgs("vpc-0abc12345def67890", [], ("sg-0abc12345def67890",))},
                       capture_errors=True)
    assert "private_endpoint: the kubernetes backend has no SageMaker endpoint" in str(bad.run.error)
    assert not [r for r in bad.run.of_type(VPC_ENDPOINT) if r.inputs["serviceName"].endswith(".experiments")]
