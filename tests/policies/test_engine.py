"""The offline evaluator: plan JSON -> views (providers resolved) -> sorted findings."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_blueprint.mock_runtime import run_program
from mlops_blueprint.plan import build_plan
from mlops_blueprint.policies.engine import Finding, evaluate, evaluate_plan, has_mandatory, views_from_plan
from mlops_blueprint.policies.model import UNKNOWN, ResourceView, context_factory, environment_of
from mlops_blueprint.policies.rules import ALL_RULES

P = "urn:pulumi:prod::mlops-platform::"
PROVIDER_URN = P + "pulumi:pulumi:Stack$pulumi:providers:aws::aws"
COMPONENT_URN = P + "mlops:storage:ArtifactStore::artifacts"
KEY_URN = P + "mlops:storage:ArtifactStore$aws:kms/key:Key::data-key"
TAGS = {"project": "mlops-platform", "owner": "ml", "cost-center": "cc-1", "data-classification": "internal"}


def entry(urn: str, type_: str, inputs: dict[str, Any], *, custom: bool = True, provider: str | None = None,
          **extra: Any) -> dict[str, Any]:
    return {"urn": urn, "type": type_, "name": urn.rsplit("::", 1)[1], "id": urn.rsplit("::", 1)[1] + "-1a2b3c4d",
            "custom": custom, "parent": None, "dependencies": [], "propertyDependencies": {}, "provider": provider,
            "protect": False, "retainOnDelete": False, "deleteBeforeReplace": False, "inputs": inputs,
            "outputs": {}, **extra}


def plan(environment_tag: str | None = "prod", key_inputs: dict[str, Any] | None = None) -> dict[str, Any]:
    tags = {**TAGS, **({"environment": environment_tag} if environment_tag else {})}
    return {
        "stack": "staging", "project": "mlops-platform", "outputs": {}, "findings": [],
        "resources": [
            entry(PROVIDER_URN, "pulumi:providers:aws",
                  {"region": "us-east-1", "defaultTags": json.dumps({"tags": tags})}),
            entry(COMPONENT_URN, "mlops:storage:ArtifactStore", {}, custom=False),
            entry(KEY_URN, "aws:kms/key:Key",
                  key_inputs if key_inputs is not None else
                  {"enableKeyRotation": True, "tags": {"component": "storage"}},
                  provider=f"{PROVIDER_URN}::aws-0f0f0f0f", parent=COMPONENT_URN, protect=True,
                  retainOnDelete=True, dependencies=[COMPONENT_URN]),
        ],
    }


def test_views_are_custom_non_provider_resources_with_provider_inputs_resolved() -> None:
    views = views_from_plan(plan())
    assert [v.urn for v in views] == [KEY_URN]
    key = views[0]
    assert key.provider_props["region"] == "us-east-1"
    assert json.loads(key.provider_props["defaultTags"])["tags"]["environment"] == "prod"
    assert (key.protect, key.retain_on_delete, key.parent, key.dependencies, key.id) == (
        True, True, COMPONENT_URN, (COMPONENT_URN,), "data-key-1a2b3c4d")


def test_missing_provider_resource_gives_empty_provider_props() -> None:
    p = plan()
    p["resources"][2]["provider"] = P + "pulumi:providers:aws::elsewhere::id"
    assert views_from_plan(p)[0].provider_props == {}


def test_environment_comes_from_provider_default_tags_then_the_stack() -> None:
    assert environment_of(views_from_plan(plan("prod"))[0], "dev") == "prod"
    key_inputs = {"enableKeyRotation": True, "deletionWindowInDays": 7, "tags": {"component": "storage"}}
    # Tagged prod: the prod-only advisory rule fires although the stack is "staging".
    assert [f["policy"] for f in evaluate_plan(plan("prod", key_inputs))] == ["kms-prod-deletion-window"]
    # No environment tag: falls back to plan["stack"] ("staging"), where it does not apply;
    # the missing tag itself is what gets reported.
    assert [f["policy"] for f in evaluate_plan(plan(None, key_inputs))] == ["mandatory-tags"]


def test_resource_tag_beats_provider_tag() -> None:
    key = views_from_plan(plan("prod"))[0]
    own = ResourceView(key.urn, key.type, key.name, {"tags": {"environment": "dev"}}, provider_props=key.provider_props)
    assert environment_of(own, "staging") == "dev"


def test_unknown_markers_in_plan_inputs_become_unknown() -> None:
    p = plan(key_inputs={"enableKeyRotation": "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", "policy": "[unknown]",
                         "tags": {"component": "storage"}})
    key = views_from_plan(p)[0]
    assert key.props["enableKeyRotation"] is UNKNOWN and key.props["policy"] is UNKNOWN
    assert evaluate_plan(p) == []


def test_evaluate_plan_reports_dicts_in_the_plan_shape_sorted() -> None:
    p = plan(key_inputs={"enableKeyRotation": False, "deletionWindowInDays": 7})
    p["resources"][2]["protect"] = False
    findings = evaluate_plan(p)
    assert [list(f) for f in findings] == [["policy", "enforcement", "urn", "message"]] * len(findings)
    assert [(f["policy"], f["enforcement"]) for f in findings] == [
        ("kms-key-rotation", "mandatory"),
        ("kms-prod-deletion-window", "advisory"),
        ("mandatory-tags", "mandatory"),
        ("prod-stateful-protection", "mandatory"),
    ]
    assert all(f["urn"] == KEY_URN and "'data-key'" in f["message"] for f in findings)
    assert has_mandatory(findings)


def test_findings_are_sorted_by_policy_urn_message_and_deduplicated() -> None:
    views = views_from_plan(plan(key_inputs={"enableKeyRotation": False}))
    twice = views + views
    findings = evaluate(twice, context_factory("prod"), rules=ALL_RULES)
    assert findings == sorted(findings, key=lambda f: (f.policy, f.urn, f.message))
    assert len(findings) == len(set(findings))
    assert not has_mandatory([Finding("x", "advisory", "u", "m")])


# --- the rules against what pulumi-aws v7 really sends (through the package's mock harness) ----

def _platform_program(*, insecure: bool) -> None:
    tags = {**TAGS, "environment": "dev"}
    provider = aws.Provider("aws", region="us-east-1", default_tags={"tags": tags})
    opts = pulumi.ResourceOptions(provider=provider)
    own = {"component": "storage"}
    key = aws.kms.Key("key", enable_key_rotation=not insecure, tags=own, opts=opts)
    logs = aws.s3.Bucket("platform-logs", bucket="platform-logs", tags=own, opts=opts)
    models = aws.s3.Bucket("models", bucket="models-bucket", tags=own, opts=opts)
    for bucket, name in ((logs, "platform-logs"), (models, "models")):
        aws.s3.BucketVersioning(f"{name}-versioning", bucket=bucket.id,
                                versioning_configuration={"status": "Suspended" if insecure else "Enabled"}, opts=opts)
        aws.s3.BucketServerSideEncryptionConfiguration(f"{name}-encryption", bucket=bucket.bucket, rules=[{
            "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": key.arn},
            "bucket_key_enabled": True}], opts=opts)
        aws.s3.BucketPublicAccessBlock(f"{name}-pab", bucket=bucket.id, block_public_acls=True,
                                       block_public_policy=True, ignore_public_acls=True,
                                       restrict_public_buckets=True, opts=opts)
        aws.s3.BucketOwnershipControls(f"{name}-ownership", bucket=bucket.id,
                                       rule={"object_ownership": "BucketOwnerEnforced"}, opts=opts)
        aws.s3.BucketPolicy(f"{name}-policy", bucket=bucket.id, policy=bucket.arn.apply(lambda arn: json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*", "Resource": [arn, f"{arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})), opts=opts)
    aws.s3.BucketLogging("models-logging", bucket=models.id, target_bucket=logs.bucket, target_prefix="models/",
                         opts=opts)
    aws.cloudtrail.Trail("trail", s3_bucket_name=logs.bucket, is_multi_region_trail=True,
                         enable_log_file_validation=True, include_global_service_events=True, kms_key_id=key.arn,
                         tags={"component": "audit"}, opts=opts)
    aws.ecr.Repository("trainer", image_scanning_configuration={"scan_on_push": True},
                       image_tag_mutability="MUTABLE" if insecure else "IMMUTABLE",
                       tags={"component": "training"}, opts=opts)
    aws.sagemaker.Model("model", execution_role_arn="arn:aws:iam::123456789012:role/x",
                        enable_network_isolation=True, primary_container={"image": "x"},
                        vpc_config={"security_group_ids": ["sg-1"], "subnets": ["subnet-1"]},
                        tags={"component": "serving"}, opts=opts)
    aws.iam.Role("role", assume_role_policy="{}", tags={"component": "training"},
                 managed_policy_arns=["arn:aws:iam::aws:policy/AmazonS3FullAccess"] if insecure else [],
                 opts=opts)


def _plan_of(*, insecure: bool) -> dict[str, Any]:
    return build_plan(run_program(lambda: _platform_program(insecure=insecure), stack="dev",
                                  project="mlops-platform"))


def test_compliant_program_under_mocks_has_no_findings() -> None:
    """Proves the rules read the input names (and provider/id references) pulumi-aws v7 sends."""
    assert evaluate_plan(_plan_of(insecure=False)) == []


def test_insecure_program_under_mocks_is_reported() -> None:
    findings = evaluate_plan(_plan_of(insecure=True))
    assert sorted({f["policy"] for f in findings}) == [
        "ecr-immutable-tags", "iam-no-aws-full-access-policies", "kms-key-rotation", "s3-versioning-enabled"]
    assert {f["message"].split(" has")[0] for f in findings if f["policy"] == "s3-versioning-enabled"} == {
        "bucket 'platform-logs'", "bucket 'models'"}
