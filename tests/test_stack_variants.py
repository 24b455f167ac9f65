"""Whole stacks with config variants (as `preview --config-file` would run them): each tracking
backend, a served model and its update, a shared network with a model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_blueprint.diff import diff_plans
from mlops_blueprint.diff_render import render_markdown
from mlops_blueprint.preview import run_preview, stack_file

EKS_PROVIDER = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABCDEF0123456789"
CLUSTER = {"oidcProviderArn": EKS_PROVIDER, "nodeSecurityGroupId": "sg-0123456789abcdef0", "context": "platform"}
CLUSTER_NETWORK = {"mode": "existing", "existing": {
    "vpcId": "vpc-0c1a57e700000000a", "vpcCidr": "10.40.0.0/16",
    "privateSubnetIds": ["subnet-0c1a57e700000000a", "subnet-0c1a57e700000000b"]}}


def churn(environment: str, image: str = "inference:1.4.2") -> dict[str, Any]:
    return {"name": "churn", "image": image,
            "modelDataUrl": f"s3://mlops-platform-{environment}-models-123456789012-us-east-1/churn/model.tar.gz",
            "variants": [{"name": "current", "weight": 0.9}, {"name": "candidate", "weight": 0.1, "image": "inference:1.5.0"}]}


def preview(tmp_path: Path, stack: str, **config: Any) -> dict[str, Any]:
    document = yaml.safe_load(stack_file(stack).read_text())
    document["config"].update({f"mlops-platform:{key}": value for key, value in config.items()})
    path = tmp_path / f"Pulumi.{stack}-{len(list(tmp_path.iterdir()))}.yaml"
    path.write_text(yaml.safe_dump(document))
    result = run_preview(stack, path)
    assert result.mandatory_findings == [], result.mandatory_findings
    return result.plan


def of_type(plan: dict, type_: str) -> list[dict]:
    return [r for r in plan["resources"] if r["type"] == type_]


def under(plan: dict, component_type: str) -> list[dict]:
    """Every resource whose parent chain reaches a component of ``component_type``."""
    by_urn = {r["urn"]: r for r in plan["resources"]}
    roots = {r["urn"] for r in plan["resources"] if r["type"] == component_type}

    def inside(resource: dict) -> bool:
        parent = resource["parent"]
        while parent:
            if parent in roots:
                return True
            parent = by_urn[parent]["parent"]
        return False

    return [r for r in plan["resources"] if inside(r)]


TRACKING_TYPES = {
    "sagemaker-serverless": "aws:sagemaker/mlflowApp:MlflowApp",
    "sagemaker-managed": "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer",
    "kubernetes": "kubernetes:apps/v1:Deployment",
}


@pytest.mark.parametrize("backend", sorted(TRACKING_TYPES))
def test_each_tracking_backend_makes_only_its_own_resources(tmp_path, backend):
    # An existing cluster lives in an existing VPC (config refuses network.mode create with it).
    extra = {"kubernetes": CLUSTER, "network": CLUSTER_NETWORK} if backend == "kubernetes" else {}
    plan = preview(tmp_path, "dev", tracking={"backend": backend, "mlflowVersion": "3.5.1"}, **extra)
    tracking = under(plan, "mlops:tracking:TrackingServer")
    types = {r["type"] for r in tracking}
    assert TRACKING_TYPES[backend] in types
    assert not (set(TRACKING_TYPES.values()) - {TRACKING_TYPES[backend]}) & types  # nothing of another backend
    [role] = [r for r in of_type(plan, "aws:iam/role:Role") if r["name"] == "roles-tracking"]
    role_arn = role["outputs"]["arn"]
    if backend == "kubernetes":
        [account] = [r for r in tracking if r["type"] == "kubernetes:core/v1:ServiceAccount"]
        assert account["inputs"]["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == role_arn
        [database] = [r for r in tracking if r["type"] == "aws:rds/instance:Instance"]
        assert database["inputs"]["storageEncrypted"] is True and database["inputs"]["publiclyAccessible"] is False
        k8s_provider = next(r for r in plan["resources"] if r["type"] == "pulumi:providers:kubernetes")
        assert all(r["provider"].startswith(k8s_provider["urn"]) for r in tracking if r["type"].startswith("kubernetes:"))
        trust = json.loads(role["inputs"]["assumeRolePolicy"])
        assert any(s["Action"] == "sts:AssumeRoleWithWebIdentity" for s in trust["Statement"])
    else:
        [server] = [r for r in tracking if r["type"] == TRACKING_TYPES[backend]]
        assert role_arn in json.dumps(server["inputs"])
        assert not of_type(plan, "pulumi:providers:kubernetes")
    assert plan["outputs"]["mlflowArtifactUri"] == f"s3://{plan['outputs']['modelsBucketName']}/mlflow"


def test_a_served_model_in_staging_is_captured_monitored_and_autoscaled(tmp_path):
    plan = preview(tmp_path, "staging", models=[churn("staging")])
    [config] = of_type(plan, "aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    variants = {v["variantName"]: v for v in config["inputs"]["productionVariants"]}
    assert {name: v["initialVariantWeight"] for name, v in variants.items()} == {"current": 0.9, "candidate": 0.1}
    capture = config["inputs"]["dataCaptureConfig"]
    assert capture["enableCapture"] is True
    assert capture["destinationS3Uri"] == f"s3://{plan['outputs']['modelsBucketName']}/data-capture/churn"
    assert capture["kmsKeyId"] == plan["outputs"]["dataKeyArn"]
    [endpoint] = of_type(plan, "aws:sagemaker/endpoint:Endpoint")
    assert plan["outputs"]["endpointNames"] == {"churn": endpoint["inputs"]["name"]}
    targets = {t["inputs"]["resourceId"] for t in of_type(plan, "aws:appautoscaling/target:Target")}
    assert targets == {f"endpoint/{endpoint['inputs']['name']}/variant/{v}" for v in variants}
    # Monitored by the default drift engine: a scheduled processing job, no Model Monitor.
    assert of_type(plan, "aws:sagemaker/monitoringSchedule:MonitoringSchedule") == []
    [schedule] = of_type(plan, "aws:scheduler/schedule:Schedule")
    assert schedule["inputs"]["target"]["arn"].endswith(":sagemaker:createProcessingJob")
    for model in of_type(plan, "aws:sagemaker/model:Model"):
        assert model["inputs"]["enableNetworkIsolation"] is True
        assert model["inputs"]["vpcConfig"]["subnets"] == plan["outputs"]["servingSubnetIds"]


def test_a_new_image_replaces_the_configuration_and_updates_the_same_endpoint(tmp_path):
    before = preview(tmp_path, "staging", models=[churn("staging")])
    after = preview(tmp_path, "staging", models=[churn("staging", image="inference:1.4.3")])
    diff = diff_plans(before, after)
    assert [(c.type, c.name) for c in diff.updates] == [("aws:sagemaker/endpoint:Endpoint", "serving-churn-endpoint")]
    assert diff.updates[0].changed_paths == ["endpointConfigName"]
    assert {(c.type, c.name) for c in diff.replaces} == {
        ("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "serving-churn-config"),
        ("aws:sagemaker/model:Model", "serving-churn-current"),
    }
    assert diff.creates == diff.deletes == []
    [endpoint] = of_type(after, "aws:sagemaker/endpoint:Endpoint")
    assert endpoint["inputs"]["name"] == of_type(before, "aws:sagemaker/endpoint:Endpoint")[0]["inputs"]["name"]
    markdown = render_markdown(diff, "main", "pr")
    assert "**+0 to create · ~1 to update · ±2 to replace · -0 to delete**" in markdown
    assert "### ServingEndpoint serving-churn" in markdown
    assert "| ~ update | `aws:sagemaker/endpoint:Endpoint` | `serving-churn-endpoint` | `endpointConfigName`:" in markdown
    assert "`primaryContainer.image`:" in markdown and "1.4.2` → `" in markdown and "1.4.3` **(forces replacement)**" in markdown


def test_a_model_on_a_shared_network_uses_the_referenced_subnets(tmp_path):
    from mlops_blueprint.mock_runtime import MOCK_SHARED_STACK_OUTPUTS as shared

    plan = preview(tmp_path, "staging", models=[churn("staging")],
                   network={"mode": "shared", "sharedStack": "acme/mlops-platform/shared"})
    for model in of_type(plan, "aws:sagemaker/model:Model"):
        assert model["inputs"]["vpcConfig"]["subnets"] == shared["trainingSubnetIds"]
    [pipeline] = of_type(plan, "aws:sagemaker/pipeline:Pipeline")
    assert all(s in pipeline["inputs"]["pipelineDefinition"] for s in shared["trainingSubnetIds"])
