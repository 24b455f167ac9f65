"""examples/: each program previews cleanly under the mock runtime, so none of them can rot.

Every example is run as Pulumi would run it (its own project name, its Pulumi.dev.yaml config),
then checked for the components it composes, its key security properties, its exports and the
policy pack (0 mandatory findings, in dev and in prod).
"""

from __future__ import annotations

import ast
import json
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_blueprint.mermaid import component_edges
from mlops_blueprint import program_preview
from mlops_blueprint.mock_runtime import MOCK_ACCOUNT_ID, MockRun
from mlops_blueprint.plan import build_plan
from mlops_blueprint.policies.engine import evaluate_plan
from mlops_blueprint.tags import MANDATORY_TAG_KEYS
from mlops_blueprint.team_program import TEAM_PROGRAM_KEYS

REPO = Path(__file__).resolve().parents[1]
EXAMPLES_DIR = REPO / "examples"


def _runtime(project_file: Path) -> str:
    runtime = yaml.safe_load(project_file.read_text(encoding="utf-8"))["runtime"]
    return runtime if isinstance(runtime, str) else runtime["name"]


# Python programs; examples/yaml-program is checked against the package schema (test_component_package.py).
EXAMPLES = sorted(p.parent.name for p in EXAMPLES_DIR.glob("*/Pulumi.yaml") if _runtime(p) == "python")

KMS, STORE, NETWORK = "mlops:security:Kms", "mlops:storage:ArtifactStore", "mlops:network:Network"
AUDIT, ROLES = "mlops:audit:AuditTrail", "mlops:iam:PlatformRoles"
TRACKING, SERVING = "mlops:tracking:TrackingServer", "mlops:serving:ServingEndpoint"
ALERTING, MONITORING, RETRAINING = "mlops:monitoring:Alerting", "mlops:monitoring:Monitoring", "mlops:monitoring:Retraining"
BUCKET = "aws:s3/bucket:Bucket"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
STATEFUL = {BUCKET, "aws:kms/key:Key", "aws:cloudwatch/logGroup:LogGroup"}
# What an example may import: the platform package and the Pulumi SDKs, nothing of the repo's layout.
ALLOWED_IMPORTS = {"pulumi", "pulumi_aws", "mlops_blueprint"}


@dataclass(frozen=True)
class Expected:
    components: frozenset[str]     # top-level component types, exactly
    outputs: frozenset[str]        # stack exports, exactly
    edges: tuple[tuple[str, str], ...]  # component graph (mlops_blueprint.mermaid)


EXPECTED = {
    "tracking-server": Expected(  # Pulumi.dev.yaml: sagemaker-serverless; every backend below
        components=frozenset({KMS, NETWORK, STORE, ROLES, TRACKING}),
        outputs=frozenset({"trackingBackend", "trackingUri", "mlflowArtifactUri", "modelPackageGroupNames",
                           "trackingRoleArn", "modelsBucketName", "dataKeyArn"}),
        edges=(("artifacts", "kms"), ("roles", "artifacts"), ("roles", "kms"), ("roles", "tracking"),
               ("tracking", "artifacts"), ("tracking", "roles")),
    ),
    "serving-endpoint-existing-vpc": Expected(
        components=frozenset({KMS, NETWORK, STORE, ROLES, SERVING}),
        outputs=frozenset({"endpointName", "variantNames", "servingRoleArn", "modelsBucketName", "dataKeyArn"}),
        edges=(("artifacts", "kms"), ("churn", "artifacts"), ("churn", "kms"), ("churn", "network"), ("churn", "roles"),
               ("roles", "artifacts"), ("roles", "kms")),
    ),
    "monitoring-existing-endpoint": Expected(
        components=frozenset({KMS, NETWORK, STORE, ALERTING, MONITORING, RETRAINING}),
        outputs=frozenset({"driftAlarmArns", "scheduleNames", "retrainingRuleNames", "alertTopicArns",
                           "modelsBucketName"}),
        edges=(("alerting", "kms"), ("artifacts", "kms"), ("monitoring", "alerting"), ("monitoring", "artifacts"),
               ("monitoring", "kms"), ("monitoring", "network"), ("retraining", "alerting"),
               ("retraining", "monitoring")),
    ),
    "artifact-store-existing-vpc": Expected(
        components=frozenset({KMS, STORE, NETWORK}),
        outputs=frozenset({"dataKeyArn", "modelsBucketName", "datasetsBucketName", "accessLogsBucketName",
                           "vpcId", "trainingSubnetIds", "workloadSecurityGroupId"}),
        edges=(("artifacts", "kms"),),
    ),
    "audited-artifact-store": Expected(
        components=frozenset({KMS, STORE, AUDIT, ROLES}),
        outputs=frozenset({"dataKeyArn", "logsKeyArn", "modelsBucketName", "datasetsBucketName", "auditTrailArn",
                           "auditBucketName", "trainingRoleArn", "servingRoleArn", "trackingRoleArn",
                           "pipelinesRoleArn"}),
        edges=(("artifacts", "kms"), ("audit", "artifacts"), ("audit", "kms"), ("roles", "artifacts"),
               ("roles", "kms")),
    ),
    # A team's own program: the components plus its own bucket (a SecureBucket) and queues.
    "team-platform": Expected(
        components=frozenset({KMS, STORE, "mlops:storage:SecureBucket"}),
        outputs=frozenset({"dataKeyArn", "modelsBucketName", "datasetsBucketName", "exportsBucketName",
                           "datasetEventsQueueArn", "datasetEventsDeadLetterQueueArn"}),
        edges=(("artifacts", "kms"), ("dataset-events", "dataset-events-dlq"),
               ("dataset-events-notification", "artifacts"), ("dataset-events-notification", "dataset-events"),
               ("dataset-events-notification", "dataset-events-policy"), ("dataset-events-policy", "artifacts"),
               ("dataset-events-policy", "dataset-events"), ("exports", "artifacts"), ("exports", "kms")),
    ),
}


def project_of(example: str) -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES_DIR / example / "Pulumi.yaml").read_text(encoding="utf-8"))


def stack_config(example: str, stack: str = "dev") -> dict[str, Any]:
    document = yaml.safe_load((EXAMPLES_DIR / example / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))
    return dict(document["config"])


def stacks_of(example: str) -> list[str]:
    """The example's stack files (Pulumi.<stack>.yaml): dev, and e.g. one per backend."""
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (EXAMPLES_DIR / example).glob("Pulumi.*.yaml"))


def run_example(example: str, environment: str = "dev", *, stack: str = "dev", capture_errors: bool = False,
                **overrides: Any) -> MockRun:
    """Run the example as `pulumi preview -s <environment>` would, with its Pulumi.<stack>.yaml and
    ``environment`` (+ ``overrides``) set: the one code path `preview --program` uses."""
    project = program_preview.load_project(EXAMPLES_DIR / example)
    config = program_preview.stack_config(project, stack, overrides={"environment": environment, **overrides})
    return program_preview.run_project(project, environment, config, capture_errors=capture_errors)


@cache
def preview(example: str, environment: str = "dev", stack: str = "dev") -> tuple[MockRun, dict[str, Any]]:
    run = run_example(example, environment, stack=stack)
    return run, build_plan(run)


def of_type(plan: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [r for r in plan["resources"] if r["type"] == type_]


def named(plan: dict[str, Any], type_: str, name: str) -> dict[str, Any]:
    (match,) = [r for r in of_type(plan, type_) if r["name"] == name]
    return match


def test_there_are_examples_and_each_has_expectations():
    assert len(EXAMPLES) >= 2
    assert set(EXAMPLES) == set(EXPECTED)


# -- project layout ---------------------------------------------------------------------------


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_is_a_pulumi_python_project_of_its_own(example):
    directory = EXAMPLES_DIR / example
    project = project_of(example)
    assert project["name"] == example
    assert project["runtime"]["name"] == "python"
    assert project.get("description")
    config = stack_config(example)
    assert "aws:region" in config
    # Pulumi namespaces a project's config keys with the project's own name.
    assert all(key.startswith((f"{example}:", "aws:")) for key in config), sorted(config)
    requirements = [line.strip() for line in (directory / "requirements.txt").read_text().splitlines()]
    assert "mlops-blueprint" in requirements
    assert "pip install -e ../.." in (directory / "README.md").read_text()


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_uses_only_the_installed_package_and_reads_its_config(example):
    source = (EXAMPLES_DIR / example / "__main__.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative imports would read files outside the installed package"
            imported.add((node.module or "").split(".")[0])
    assert imported <= ALLOWED_IMPORTS | set(sys.stdlib_module_names), imported - ALLOWED_IMPORTS
    assert "mlops_blueprint" in imported
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    assert not names & {"open", "read_text", "read_bytes", "__file__", "getcwd"}, "examples read only their config"
    # Every key of the example's stack file is read by the program (no dead config).
    literals = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    if "team_program" in names:  # team_program() reads the environment and tag keys
        literals |= set(TEAM_PROGRAM_KEYS)
    for stack in stacks_of(example):
        for key in stack_config(example, stack):
            namespace, _, name = key.partition(":")
            assert namespace in (example, "aws"), f"{key} in Pulumi.{stack}.yaml: not the project's namespace"
            assert name in literals, f"{key} is in Pulumi.{stack}.yaml but the program never reads it"


# -- the preview ------------------------------------------------------------------------------


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_registers_its_components_and_exports_its_outputs(example):
    run, plan = preview(example)
    expected = EXPECTED[example]
    assert run.error is None
    stack = [r for r in plan["resources"] if r["type"] == "pulumi:pulumi:Stack"]
    top = {r["type"] for r in plan["resources"] if not r["custom"] and stack and r["parent"] == stack[0]["urn"]}
    assert top == expected.components
    assert set(plan["outputs"]) == expected.outputs
    for name, value in plan["outputs"].items():
        assert value not in (None, "", [], "[unknown]"), name
    assert tuple(component_edges(plan)) == expected.edges


@pytest.mark.parametrize("environment", ["dev", "prod"])
@pytest.mark.parametrize("example", EXAMPLES)
def test_example_passes_the_policy_pack(example, environment):
    _, plan = preview(example, environment)
    findings = evaluate_plan(plan)
    assert [f for f in findings if f["enforcement"] == "mandatory"] == []


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_tags_everything_through_its_provider(example):
    _, plan = preview(example)
    (provider,) = of_type(plan, "pulumi:providers:aws")
    tags = yaml.safe_load(provider["inputs"]["defaultTags"])["tags"]
    assert set(MANDATORY_TAG_KEYS) - {"component"} <= set(tags)
    assert tags["project"] == example and tags["environment"] == "dev"
    custom = [r for r in plan["resources"] if r["custom"] and not r["type"].startswith("pulumi:providers:")]
    assert custom and all(r["provider"] and r["provider"].startswith(provider["urn"]) for r in custom)


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_protects_stateful_resources_in_prod_only(example):
    _, dev = preview(example, "dev")
    _, prod = preview(example, "prod")
    for plan, on in ((dev, False), (prod, True)):
        stateful = [r for r in plan["resources"] if r["type"] in STATEFUL]
        assert stateful
        assert all(r["protect"] is on and r["retainOnDelete"] is on for r in stateful), plan["stack"]


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_buckets_are_private_and_kms_encrypted_with_rotated_keys(example):
    _, plan = preview(example)
    keys = {r["outputs"]["arn"]: r for r in of_type(plan, "aws:kms/key:Key")}
    assert keys and all(k["inputs"]["enableKeyRotation"] is True for k in keys.values())
    for block in of_type(plan, PUBLIC_ACCESS_BLOCK):
        assert all(block["inputs"][flag] is True for flag in
                   ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    assert len(of_type(plan, PUBLIC_ACCESS_BLOCK)) == len(of_type(plan, BUCKET))
    data_key = named(plan, "aws:kms/key:Key", "kms-data")["outputs"]["arn"]
    for purpose in ("datasets", "models"):
        (rule,) = named(plan, SSE, f"artifacts-{purpose}-encryption")["inputs"]["rules"]
        assert rule["applyServerSideEncryptionByDefault"] == {"kmsMasterKeyId": data_key, "sseAlgorithm": "aws:kms"}


# -- per example --------------------------------------------------------------------------------


def test_existing_vpc_example_creates_no_network_only_the_workload_group_in_the_given_vpc():
    example = "artifact-store-existing-vpc"
    _, plan = preview(example)
    existing = stack_config(example)[f"{example}:existingVpc"]
    for type_ in ("aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/vpcEndpoint:VpcEndpoint",
                  "aws:ec2/internetGateway:InternetGateway", "aws:ec2/natGateway:NatGateway"):
        assert of_type(plan, type_) == [], type_
    (group,) = of_type(plan, "aws:ec2/securityGroup:SecurityGroup")
    assert group["inputs"]["vpcId"] == existing["vpcId"]
    assert plan["outputs"]["vpcId"] == existing["vpcId"]
    assert plan["outputs"]["trainingSubnetIds"] == existing["privateSubnetIds"]
    egress = of_type(plan, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    assert all(r["inputs"].get("cidrIpv4") in (None, existing["vpcCidr"]) for r in egress)
    assert not of_type(plan, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") or all(
        "cidrIpv4" not in r["inputs"] for r in of_type(plan, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"))


def test_existing_vpc_example_rejects_a_bad_vpc_before_creating_anything():
    example = "artifact-store-existing-vpc"
    existing = stack_config(example)[f"{example}:existingVpc"]
    run = run_example(example, capture_errors=True, existingVpc={**existing, "vpcId": "my-vpc"})
    assert run.error is not None
    assert f"{example}:existingVpc" in str(run.error) and "vpcId" in str(run.error)
    assert [r for r in run.registrations if r.custom and not r.type.startswith("pulumi:")] == []


def test_audited_example_trails_every_region_and_the_artifact_buckets():
    _, plan = preview("audited-artifact-store")
    (trail,) = of_type(plan, "aws:cloudtrail/trail:Trail")
    logs_key = named(plan, "aws:kms/key:Key", "kms-logs")["outputs"]["arn"]
    inputs = trail["inputs"]
    assert inputs["isMultiRegionTrail"] is True and inputs["enableLogFileValidation"] is True
    assert inputs["includeGlobalServiceEvents"] is True and inputs["kmsKeyId"] == logs_key
    data_events = [s for s in inputs["advancedEventSelectors"] if s["name"] == "s3-data-events"]
    prefixes = next(f["startsWiths"] for f in data_events[0]["fieldSelectors"] if f["field"] == "resources.ARN")
    outputs = plan["outputs"]
    assert prefixes == sorted(f"arn:aws:s3:::{outputs[k]}/" for k in ("datasetsBucketName", "modelsBucketName"))
    (trail_sse,) = named(plan, SSE, "audit-bucket-encryption")["inputs"]["rules"]
    assert trail_sse["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"] == logs_key


def test_audited_example_roles_are_short_lived_and_scoped_to_the_example():
    _, plan = preview("audited-artifact-store")
    roles = [r for r in of_type(plan, "aws:iam/role:Role") if r["parent"] and r["parent"].endswith("::roles")]
    assert sorted(r["name"] for r in roles) == ["roles-pipelines", "roles-serving", "roles-tracking", "roles-training"]
    assert all(r["inputs"]["maxSessionDuration"] == 3600 for r in roles)
    assert all(r["inputs"]["name"].startswith("audited-artifact-store-dev-") for r in roles)
    models = plan["outputs"]["modelsBucketName"]
    policies = [r["inputs"]["policy"] for r in of_type(plan, "aws:iam/rolePolicy:RolePolicy")
                if r["name"].startswith("roles-")]
    assert policies and all('"*"' not in p.replace('"Resource": "*"', "") or models in p for p in policies)
    assert any(models in p for p in policies)


# -- tracking server alone, each backend -----------------------------------------------------------

TRACKING_BACKENDS = {"dev": "sagemaker-serverless", "managed": "sagemaker-managed", "kubernetes": "kubernetes"}
MLFLOW_APP = "aws:sagemaker/mlflowApp:MlflowApp"
MLFLOW_SERVER = "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer"


def test_tracking_example_has_a_stack_per_backend():
    from mlops_blueprint.components.tracking_server_settings import TRACKING_BACKENDS as BACKENDS

    example = "tracking-server"
    assert {s: stack_config(example, s)[f"{example}:tracking"]["backend"] for s in stacks_of(example)} == TRACKING_BACKENDS
    assert set(TRACKING_BACKENDS.values()) == set(BACKENDS)


@pytest.mark.parametrize("environment", ["dev", "prod"])
@pytest.mark.parametrize("stack", sorted(TRACKING_BACKENDS))
def test_tracking_example_previews_every_backend_cleanly(stack, environment):
    run, plan = preview("tracking-server", environment, stack)
    assert run.error is None
    backend = TRACKING_BACKENDS[stack]
    assert [f for f in evaluate_plan(plan) if f["enforcement"] == "mandatory"] == []
    assert plan["outputs"]["trackingBackend"] == backend
    assert set(plan["outputs"]) == EXPECTED["tracking-server"].outputs
    apps, servers, databases = of_type(plan, MLFLOW_APP), of_type(plan, MLFLOW_SERVER), of_type(plan, "aws:rds/instance:Instance")
    deployments = of_type(plan, "kubernetes:apps/v1:Deployment")
    models = plan["outputs"]["modelsBucketName"]
    if backend == "sagemaker-serverless":
        assert len(apps) == 1 and not servers and not databases and not deployments
        assert apps[0]["inputs"]["artifactStoreUri"] == f"s3://{models}/mlflow"
    elif backend == "sagemaker-managed":
        assert len(servers) == 1 and not apps and not databases and not deployments
        assert servers[0]["inputs"]["trackingServerSize"] == "Small"
        assert servers[0]["inputs"]["artifactStoreUri"] == f"s3://{models}/mlflow"
    else:
        assert len(databases) == 1 and len(deployments) == 1 and not apps and not servers
        database = databases[0]["inputs"]
        assert database["storageEncrypted"] is True and database["publiclyAccessible"] is False
        # The environment's defaults apply under the stack file: prod's database is protected and multi-AZ.
        assert database["deletionProtection"] is (environment == "prod") and database["multiAz"] is (environment == "prod")
        (provider,) = of_type(plan, "pulumi:providers:kubernetes")
        assert provider["inputs"]["context"] == stack_config("tracking-server", stack)["tracking-server:kubernetes"]["context"]
    # No VPC of its own: the stack's existing one.
    assert of_type(plan, "aws:ec2/vpc:Vpc") == []
    groups = {r["outputs"].get("arn"): r for r in of_type(plan, "aws:sagemaker/modelPackageGroup:ModelPackageGroup")}
    families = stack_config("tracking-server", stack)["tracking-server:tracking"]["modelFamilies"]
    assert sorted(plan["outputs"]["modelPackageGroupNames"]) == sorted(families) and len(groups) == len(families)


def test_tracking_example_rejects_a_bad_backend_before_creating_anything():
    example = "tracking-server"
    run = run_example(example, capture_errors=True, tracking={"backend": "databricks"})
    assert run.error is not None and f"{example}:tracking" in str(run.error) and "backend" in str(run.error)
    assert [r for r in run.registrations if r.custom and not r.type.startswith("pulumi:")] == []


def test_tracking_example_on_kubernetes_needs_the_cluster():
    example = "tracking-server"
    run = run_example(example, capture_errors=True, tracking={"backend": "kubernetes", "mlflowVersion": "3.5.0"})
    assert run.error is not None and f"{example}:kubernetes" in str(run.error)
    assert [r for r in run.registrations if r.custom and not r.type.startswith("pulumi:")] == []


# -- one endpoint, two variants, an existing VPC -----------------------------------------------------


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_serving_example_splits_traffic_between_two_variants_in_the_given_vpc(environment):
    example = "serving-endpoint-existing-vpc"
    _, plan = preview(example, environment)
    config = stack_config(example)
    existing, model = config[f"{example}:existingVpc"], config[f"{example}:model"]
    for type_ in ("aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/natGateway:NatGateway"):
        assert of_type(plan, type_) == [], type_
    (endpoint_config,) = of_type(plan, "aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    variants = {v["variantName"]: v for v in endpoint_config["inputs"]["productionVariants"]}
    assert {n: v["initialVariantWeight"] for n, v in variants.items()} == {
        v["name"]: v["weight"] for v in model["variants"]}
    assert plan["outputs"]["variantNames"] == [v["name"] for v in model["variants"]]
    (group,) = of_type(plan, "aws:ec2/securityGroup:SecurityGroup")
    assert group["inputs"]["vpcId"] == existing["vpcId"]
    models = {r["name"]: r["inputs"] for r in of_type(plan, "aws:sagemaker/model:Model")}
    assert len(models) == 2
    bucket = plan["outputs"]["modelsBucketName"]
    urls = sorted(m["primaryContainer"]["modelDataUrl"] for m in models.values())
    assert urls == sorted(f"s3://{bucket}/{v.get('modelDataUrl', model['modelDataUrl'])}" for v in model["variants"])
    for inputs in models.values():
        assert inputs["enableNetworkIsolation"] is True
        assert sorted(inputs["vpcConfig"]["subnets"]) == sorted(existing["privateSubnetIds"])
        assert inputs["vpcConfig"]["securityGroupIds"] == [group["id"]]
        assert inputs["executionRoleArn"] == plan["outputs"]["servingRoleArn"]


def test_serving_example_rejects_artifacts_outside_its_models_bucket_before_creating_anything():
    example = "serving-endpoint-existing-vpc"
    model = stack_config(example)[f"{example}:model"]
    run = run_example(example, capture_errors=True, model={**model, "variants": [
        {"name": "champion", "weight": 1}, {"name": "champion", "weight": 1}]})
    assert run.error is not None and f"{example}:model" in str(run.error)
    assert [r for r in run.registrations if r.custom and not r.type.startswith("pulumi:")] == []


# -- monitoring and retraining for an endpoint made elsewhere ----------------------------------------


def test_monitoring_example_watches_the_named_endpoint_and_retrains_with_the_named_pipeline():
    example = "monitoring-existing-endpoint"
    _, plan = preview(example)
    config = stack_config(example)
    endpoint, pipeline = config[f"{example}:endpoint"], config[f"{example}:trainingPipelineName"]
    # The endpoint is not this program's: nothing serving is created.
    for type_ in ("aws:sagemaker/endpoint:Endpoint", "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
                  "aws:sagemaker/model:Model"):
        assert of_type(plan, type_) == [], type_
    (schedule,) = of_type(plan, "aws:sagemaker/monitoringSchedule:MonitoringSchedule")
    assert schedule["inputs"]["monitoringScheduleConfig"]["scheduleConfig"]["scheduleExpression"] == (
        config[f"{example}:monitoring"]["scheduleExpression"])
    (job,) = of_type(plan, "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition")
    assert job["inputs"]["dataQualityJobInput"]["endpointInput"]["endpointName"] == endpoint["endpointName"]
    alarms = of_type(plan, "aws:cloudwatch/metricAlarm:MetricAlarm")
    dimensions = [a["inputs"].get("dimensions", {}) for a in alarms]
    assert {d.get("VariantName") for d in dimensions if "VariantName" in d} == set(endpoint["variantNames"])
    assert all(d.get("EndpointName") in (None, endpoint["endpointName"]) for d in dimensions)
    drift_alarm = plan["outputs"]["driftAlarmArns"][endpoint["model"]]
    (rule,) = of_type(plan, "aws:cloudwatch/eventRule:EventRule")
    assert drift_alarm in rule["inputs"]["eventPattern"]
    targets = [t["inputs"] for t in of_type(plan, "aws:cloudwatch/eventTarget:EventTarget")]
    pipeline_arn = f"arn:aws:sagemaker:us-east-1:{MOCK_ACCOUNT_ID}:pipeline/{pipeline}"
    assert any(pipeline_arn in json.dumps(t) for t in targets) or any(
        pipeline_arn in json.dumps(r["inputs"]) for r in of_type(plan, "aws:sfn/stateMachine:StateMachine"))
    # Captured data is read where the endpoint writes it, and nowhere else outside this program.
    policies = [r["inputs"]["policy"] for r in of_type(plan, "aws:iam/rolePolicy:RolePolicy")]
    capture_bucket = endpoint["dataCaptureS3Uri"].removeprefix("s3://").split("/")[0]
    assert any(f"arn:aws:s3:::{capture_bucket}/data-capture/{endpoint['model']}/*" in p for p in policies)


def test_monitoring_example_names_a_missing_endpoint_key():
    example = "monitoring-existing-endpoint"
    endpoint = stack_config(example)[f"{example}:endpoint"]
    run = run_example(example, capture_errors=True, endpoint={k: v for k, v in endpoint.items() if k != "endpointName"})
    assert run.error is not None and f"{example}:endpoint" in str(run.error) and "endpointName" in str(run.error)
    assert [r for r in run.registrations if r.custom and not r.type.startswith("pulumi:")] == []
