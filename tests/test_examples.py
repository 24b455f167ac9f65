"""examples/: each program previews cleanly under the mock runtime, so none of them can rot.

Every example is run as Pulumi would run it (its own project name, its Pulumi.dev.yaml config),
then checked for the components it composes, its key security properties, its exports and the
policy pack (0 mandatory findings, in dev and in prod).
"""

from __future__ import annotations

import ast
import runpy
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_blueprint.mermaid import component_edges
from mlops_blueprint.mock_runtime import MockRun, run_program
from mlops_blueprint.plan import build_plan
from mlops_blueprint.policies.engine import evaluate_plan
from mlops_blueprint.tags import MANDATORY_TAG_KEYS

REPO = Path(__file__).resolve().parents[1]
EXAMPLES_DIR = REPO / "examples"
EXAMPLES = sorted(p.parent.name for p in EXAMPLES_DIR.glob("*/Pulumi.yaml"))

KMS, STORE, NETWORK = "mlops:security:Kms", "mlops:storage:ArtifactStore", "mlops:network:Network"
AUDIT, ROLES = "mlops:audit:AuditTrail", "mlops:iam:PlatformRoles"
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
    "artifact-store-existing-vpc": Expected(
        components=frozenset({KMS, STORE, NETWORK}),
        outputs=frozenset({"dataKeyArn", "artifactBucketName", "datasetsBucketName", "accessLogsBucketName",
                           "vpcId", "trainingSubnetIds", "workloadSecurityGroupId"}),
        edges=(("artifacts", "kms"),),
    ),
    "audited-artifact-store": Expected(
        components=frozenset({KMS, STORE, AUDIT, ROLES}),
        outputs=frozenset({"dataKeyArn", "logsKeyArn", "artifactBucketName", "datasetsBucketName", "auditTrailArn",
                           "auditBucketName", "trainingRoleArn", "servingRoleArn", "trackingRoleArn",
                           "pipelinesRoleArn"}),
        edges=(("artifacts", "kms"), ("audit", "artifacts"), ("audit", "kms"), ("roles", "artifacts"),
               ("roles", "kms")),
    ),
}


def project_of(example: str) -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES_DIR / example / "Pulumi.yaml").read_text(encoding="utf-8"))


def stack_config(example: str) -> dict[str, Any]:
    document = yaml.safe_load((EXAMPLES_DIR / example / "Pulumi.dev.yaml").read_text(encoding="utf-8"))
    return dict(document["config"])


@cache
def preview(example: str, environment: str = "dev") -> tuple[MockRun, dict[str, Any]]:
    """Run the example's __main__.py under the mock runtime, as `pulumi preview -s <environment>` would."""
    project = project_of(example)["name"]
    config = stack_config(example)
    config[f"{project}:environment"] = environment
    main = EXAMPLES_DIR / example / "__main__.py"
    run = run_program(lambda: runpy.run_path(str(main), run_name="__main__"),
                      stack=environment, project=project, config=config)
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
    for key in stack_config(example):
        namespace, _, name = key.partition(":")
        assert name in literals, f"{key} is in Pulumi.dev.yaml but the program never reads it"


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
    config = stack_config(example)
    config[f"{example}:existingVpc"] = {**config[f"{example}:existingVpc"], "vpcId": "my-vpc"}
    main = EXAMPLES_DIR / example / "__main__.py"
    run = run_program(lambda: runpy.run_path(str(main), run_name="__main__"),
                      stack="dev", project=example, config=config, capture_errors=True)
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
    assert prefixes == sorted(f"arn:aws:s3:::{outputs[k]}/" for k in ("datasetsBucketName", "artifactBucketName"))
    (trail_sse,) = named(plan, SSE, "audit-bucket-encryption")["inputs"]["rules"]
    assert trail_sse["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"] == logs_key


def test_audited_example_roles_are_short_lived_and_scoped_to_the_example():
    _, plan = preview("audited-artifact-store")
    roles = [r for r in of_type(plan, "aws:iam/role:Role") if r["parent"] and r["parent"].endswith("::roles")]
    assert sorted(r["name"] for r in roles) == ["roles-pipelines", "roles-serving", "roles-tracking", "roles-training"]
    assert all(r["inputs"]["maxSessionDuration"] == 3600 for r in roles)
    assert all(r["inputs"]["name"].startswith("audited-artifact-store-dev-") for r in roles)
    models = plan["outputs"]["artifactBucketName"]
    policies = [r["inputs"]["policy"] for r in of_type(plan, "aws:iam/rolePolicy:RolePolicy")
                if r["name"].startswith("roles-")]
    assert policies and all('"*"' not in p.replace('"Resource": "*"', "") or models in p for p in policies)
    assert any(models in p for p in policies)
