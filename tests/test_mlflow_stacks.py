"""MLflow on AWS across whole stacks: every SageMaker Pipeline logs to the stack's own tracking
resource, the VPC has the MLflow endpoint exactly when a SageMaker backend runs in a VPC this
stack creates, the endpoint admits only that resource, and the roles that must use it may.

Over the variants of ``support.stacks``: dev (serverless app), staging/prod (managed server), a
managed dev, the system variants (several models, another region), a shared network and the
kubernetes backend.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.iam.access_control import IAMPolicy, PermissionResult

from mlops_blueprint.components.sagemaker_pipeline import iter_steps
from support.stacks import of_type, plan_for

PIPELINE = "aws:sagemaker/pipeline:Pipeline"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POLICY = "aws:iam/policy:Policy"
TRACKING_TYPES = {"sagemaker-serverless": "aws:sagemaker/mlflowApp:MlflowApp",
                  "sagemaker-managed": "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer"}

SAGEMAKER_VARIANTS = ["dev", "staging", "prod", "dev-managed-tracking", "staging-system", "prod-system",
                      "prod-system-eu", "dev-gitlab", "staging-shared-network"]
CREATES_ITS_VPC = [v for v in SAGEMAKER_VARIANTS if v != "staging-shared-network"]
TRACKED_STEPS = ("Train", "Evaluate")


def steps(pipeline: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Name"]: s for s in iter_steps(json.loads(pipeline["inputs"]["pipelineDefinition"])["Steps"])}


def tracking_resource(plan: dict[str, Any]) -> dict[str, Any]:
    [resource] = of_type(plan, TRACKING_TYPES[plan["outputs"]["trackingBackend"]])
    return resource


def mlflow_endpoints(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in of_type(plan, VPC_ENDPOINT) if r["inputs"]["serviceName"].endswith(".experiments")]


def docs_of_role(plan: dict[str, Any], role_arn: str) -> list[dict[str, Any]]:
    [role] = [r for r in of_type(plan, ROLE) if r["outputs"]["arn"] == role_arn]
    return [json.loads(p["inputs"]["policy"]) for p in of_type(plan, ROLE_POLICY) if p["inputs"]["role"] == role["inputs"]["name"]]


def permitted(docs: list[dict[str, Any]], action: str, resource: str) -> bool:
    verdicts = [IAMPolicy(json.dumps(d)).is_action_permitted(action, resource) for d in docs]
    return PermissionResult.PERMITTED in verdicts and PermissionResult.DENIED not in verdicts


@pytest.mark.parametrize("variant", SAGEMAKER_VARIANTS)
def test_every_pipeline_logs_to_the_stacks_tracking_resource(variant):
    plan = plan_for(variant)
    arn = tracking_resource(plan)["outputs"]["arn"]
    assert plan["outputs"]["trackingServerArn"] == arn
    pipelines = of_type(plan, PIPELINE)
    assert pipelines
    for pipeline in pipelines:
        by_name = steps(pipeline)
        for name in TRACKED_STEPS:
            arguments = by_name[name]["Arguments"]
            assert arguments["Environment"]["MLFLOW_TRACKING_URI"] == arn, (variant, name)
            assert arguments["Environment"]["MLFLOW_EXPERIMENT_NAME"] == {"Get": "Parameters.ModelPackageGroupName"}
        # Only the tracked steps give up container network isolation.
        assert by_name["Preprocess"]["Arguments"]["NetworkConfig"]["EnableNetworkIsolation"] is True


@pytest.mark.parametrize("variant", SAGEMAKER_VARIANTS)
def test_pipelines_register_into_a_group_of_this_stack_that_serving_can_name(variant):
    plan = plan_for(variant)
    groups = set(plan["outputs"]["modelPackageGroupNames"].values())
    for pipeline in of_type(plan, PIPELINE):
        definition = json.loads(pipeline["inputs"]["pipelineDefinition"])
        [group] = [p["DefaultValue"] for p in definition["Parameters"] if p["Name"] == "ModelPackageGroupName"]
        assert group in groups


@pytest.mark.parametrize("variant", CREATES_ITS_VPC)
def test_the_vpc_has_one_mlflow_endpoint_admitting_only_this_stacks_resource(variant):
    plan = plan_for(variant)
    resource = tracking_resource(plan)
    [endpoint] = mlflow_endpoints(plan)
    region = plan["outputs"]["region"]
    assert endpoint["inputs"]["serviceName"] == f"aws.sagemaker.{region}.experiments"
    assert endpoint["inputs"]["privateDnsEnabled"] is True
    assert endpoint["inputs"]["vpcId"] == plan["outputs"]["vpcId"]
    policy = json.loads(endpoint["inputs"]["policy"])
    named = {r for s in policy["Statement"] if s["Resource"] != "*" for r in s["Resource"]}
    assert named == {resource["outputs"]["arn"]}
    # "*" only for AccessUI, which has no resource type (it opens no server by itself).
    assert all(s["Action"] == ["sagemaker-mlflow:AccessUI"] for s in policy["Statement"] if s["Resource"] == "*")
    assert plan["outputs"]["mlflowVpcEndpointId"] == endpoint["id"]
    # The workload group (training jobs, endpoints) may reach it on 443.
    [group_id] = endpoint["inputs"]["securityGroupIds"]
    rules = [r for r in of_type(plan, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
             if r["inputs"]["securityGroupId"] == group_id]
    assert [(r["inputs"]["fromPort"], r["inputs"]["referencedSecurityGroupId"]) for r in rules] == [
        (443, plan["outputs"]["workloadSecurityGroupId"])]


def test_a_shared_vpc_gets_no_endpoint_from_this_stack():
    """One endpoint per service with private DNS per VPC: the VPC's owner provides it."""
    plan = plan_for("staging-shared-network")
    assert mlflow_endpoints(plan) == []
    assert "mlflowVpcEndpointId" not in plan["outputs"]


def test_kubernetes_backend_has_no_endpoint_no_grants_and_isolated_jobs():
    plan = plan_for("dev-kubernetes")
    assert plan["outputs"]["trackingBackend"] == "kubernetes"
    assert mlflow_endpoints(plan) == []
    assert not [p for p in of_type(plan, ROLE_POLICY) if p["name"].endswith("-mlflow")]
    assert "mlflowUserPolicyArn" not in plan["outputs"]
    for pipeline in of_type(plan, PIPELINE):
        by_name = steps(pipeline)
        # The in-cluster server is unreachable from SageMaker jobs: they neither point at it nor open up.
        assert all("Environment" not in by_name[n]["Arguments"] for n in ("Preprocess", *TRACKED_STEPS))
        assert by_name["Train"]["Arguments"]["EnableNetworkIsolation"] is True


@pytest.mark.parametrize("variant", ["dev", "staging", "prod"])
def test_job_and_pipelines_roles_may_use_this_stacks_mlflow(variant):
    plan = plan_for(variant)
    backend, arn = plan["outputs"]["trackingBackend"], plan["outputs"]["trackingServerArn"]
    action = "sagemaker:CallMlflowAppApi" if backend == "sagemaker-serverless" else "sagemaker-mlflow:LogMetric"
    other = arn.rsplit("/", 1)[0] + "/another-stacks-mlflow"
    [pipeline] = of_type(plan, PIPELINE)
    job_roles = {step["Arguments"]["RoleArn"] for step in steps(pipeline).values() if "RoleArn" in step["Arguments"]}
    for role_arn in (*job_roles, pipeline["inputs"]["roleArn"]):
        docs = docs_of_role(plan, role_arn)
        assert permitted(docs, action, arn), role_arn
        assert not permitted(docs, action, other), role_arn


@pytest.mark.parametrize("variant", ["dev", "staging", "prod"])
def test_mlflow_user_policy_is_an_output_scoped_to_this_stacks_resource(variant):
    plan = plan_for(variant)
    [policy] = [p for p in of_type(plan, POLICY) if p["name"] == "roles-mlflow-user"]
    assert plan["outputs"]["mlflowUserPolicyArn"] == policy["outputs"]["arn"]
    document = json.loads(policy["inputs"]["policy"])
    resources = {r for s in document["Statement"] for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])}
    # AccessUI (managed servers) takes no resource: "*" is the only other value allowed.
    assert resources - {"*"} == {plan["outputs"]["trackingServerArn"]}
    vpc_only = variant != "dev"
    conditions = [s.get("Condition") for s in document["Statement"]]
    assert all(c == {"StringEquals": {"aws:SourceVpc": plan["outputs"]["vpcId"]}} for c in conditions) if vpc_only \
        else not any(conditions)


@pytest.mark.parametrize("variant", ["dev", "staging"])
def test_created_after_the_permissions_aws_checks(variant):
    """MLflow apps/servers wait for the tracking role's policy; the pipeline for its roles' grants."""
    plan = plan_for(variant)
    policies = {p["name"]: p["urn"] for p in of_type(plan, ROLE_POLICY)}
    assert policies["roles-tracking-policy"] in tracking_resource(plan)["dependencies"]
    [pipeline] = of_type(plan, PIPELINE)
    for name in ("roles-pipelines-policy", "roles-pipelines-mlflow", "roles-training-policy", "roles-training-mlflow"):
        assert policies[name] in pipeline["dependencies"], name
