"""Names fit each AWS service's limits, deterministically."""

from __future__ import annotations

import re

import pytest

from mlops_blueprint.naming import NameKind, Naming, fit
from mlops_blueprint.tags import MANDATORY_TAG_KEYS, Tagging

NAMING = Naming(project="mlops-platform", environment="staging", account_id="123456789012", region="ap-southeast-2")


def test_bucket_names_are_global_unique_and_valid():
    name = NAMING.bucket("models")
    assert name == "mlops-platform-staging-models-123456789012-ap-southeast-2"
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", name)


def test_long_bucket_purpose_is_cut_with_a_hash_and_keeps_the_account_suffix():
    long_a = NAMING.bucket("a-very-long-purpose-name-that-goes-on-and-on")
    long_b = NAMING.bucket("a-very-long-purpose-name-that-goes-on-and-on-too")
    assert len(long_a) <= 63 and len(long_b) <= 63
    assert long_a.endswith("-123456789012-ap-southeast-2")
    assert long_a != long_b


@pytest.mark.parametrize("kind, limit", [
    (NameKind.IAM_ROLE, 64), (NameKind.SAGEMAKER, 63), (NameKind.CLOUDTRAIL, 128), (NameKind.S3_BUCKET, 63), (NameKind.RDS, 63),
])
def test_names_respect_length_limits(kind, limit):
    name = NAMING.name("x" * 200, "training", kind=kind)
    assert len(name) == limit
    assert name == NAMING.name("x" * 200, "training", kind=kind)  # deterministic


def test_charset_is_sanitised_per_kind():
    assert fit("Team_A.models", NameKind.S3_BUCKET) == "team-a-models"
    assert fit("Team_A.models", NameKind.SAGEMAKER) == "Team-A-models"
    assert fit("Team_A.models", NameKind.IAM_ROLE) == "Team_A.models"


def test_role_alias_and_log_group_shapes():
    assert NAMING.role("training") == "mlops-platform-staging-ap-southeast-2-training"
    assert NAMING.kms_alias("data") == "alias/mlops-platform-staging-data"
    assert NAMING.log_group("vpc-flow-logs") == "/mlops-platform/staging/vpc-flow-logs"


def test_tags_cover_every_mandatory_key():
    tagging = Tagging("mlops-platform", "prod", "team", "cc", "confidential")
    defaults = tagging.default_tags()
    per_resource = tagging.resource("ArtifactStore", "models")
    assert set(MANDATORY_TAG_KEYS) <= set(defaults) | set(per_resource)
    assert per_resource == {"component": "ArtifactStore", "Name": "models"}
    assert tagging.full("Training")["cost-center"] == "cc" and tagging.full("Training")["component"] == "Training"


# -- account-wide names ---------------------------------------------------------------------------

EU = Naming(project="mlops-platform", environment="staging", account_id="123456789012", region="eu-west-1")
ACCOUNT_WIDE = (NAMING.role, NAMING.managed_policy, NAMING.dashboard, NAMING.budget)


@pytest.mark.parametrize("make", ACCOUNT_WIDE, ids=lambda f: f.__name__)
def test_account_wide_names_carry_the_region_after_the_prefix(make):
    name = make("training")
    assert name == "mlops-platform-staging-ap-southeast-2-training"
    assert name.startswith(NAMING.global_prefix + "-")
    assert getattr(EU, make.__name__)("training") == "mlops-platform-staging-eu-west-1-training"


def test_regional_names_do_not_carry_the_region():
    """Only what the account holds once for all regions pays the characters."""
    assert NAMING.name("mlflow", kind=NameKind.SAGEMAKER) == "mlops-platform-staging-mlflow"
    assert NAMING.name("alerts", "critical") == "mlops-platform-staging-alerts-critical"
    assert NAMING.name("trail", kind=NameKind.CLOUDTRAIL) == "mlops-platform-staging-ap-southeast-2-trail"  # multi-region


def test_long_role_names_fit_64_chars_stay_distinct_per_region_and_keep_the_stack_prefix():
    purposes = ("retraining-start-cooldown", "retrain-a-model-with-a-rather-long-name", "ci-deploy")
    for purpose in purposes:
        ours, theirs = NAMING.role(purpose), EU.role(purpose)
        assert len(ours) <= 64 and len(theirs) <= 64
        assert ours != theirs
        assert ours.startswith(NAMING.global_prefix + "-") and theirs.startswith(EU.global_prefix + "-")
        assert ours == NAMING.role(purpose)  # deterministic
    cut = NAMING.role("retrain-a-model-with-a-rather-long-name")
    assert len(cut) == 64 and re.fullmatch(r".*-[0-9a-f]{8}", cut)
    assert cut != NAMING.role("retrain-a-model-with-a-rather-long-name-2")


def test_global_prefix_patterns_do_not_reach_the_other_regions_stack():
    """``role/<global_prefix>-*`` covers this stack's roles and not the same environment's
    stack in another region (``<prefix>-*`` would cover both)."""
    ours = re.compile(re.escape(NAMING.global_prefix) + "-.*")
    assert ours.fullmatch(NAMING.role("training"))
    assert not ours.fullmatch(EU.role("training"))


# -- whole plans ----------------------------------------------------------------------------------

# What an account (or, for S3, every account) holds once for all regions -> the input naming it.
ACCOUNT_GLOBAL_TYPES = {
    "aws:iam/role:Role": "name",
    "aws:iam/policy:Policy": "name",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": "url",
    "aws:iam/instanceProfile:InstanceProfile": "name",
    "aws:iam/user:User": "name",
    "aws:cloudwatch/dashboard:Dashboard": "dashboardName",
    "aws:budgets/budget:Budget": "name",
    "aws:cloudtrail/trail:Trail": "name",  # multi-region trails: a shadow of that name in every region
    "aws:s3/bucket:Bucket": "bucket",
}

# Where a type's physical name is not ``name``, and what scopes it (unique per role, VPC, ...).
_NAME_INPUT = {
    **ACCOUNT_GLOBAL_TYPES,
    "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer": "trackingServerName",
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": "modelPackageGroupName",
    "aws:sagemaker/pipeline:Pipeline": "pipelineName",
    "aws:rds/instance:Instance": "identifier",
}
_SCOPE_INPUT = {
    "aws:iam/rolePolicy:RolePolicy": "role",
    "aws:ec2/securityGroup:SecurityGroup": "vpcId",
    "aws:appautoscaling/policy:Policy": "resourceId",
}


def physical_name(resource: dict) -> tuple[str, ...] | None:
    """The (scope, name) AWS or Kubernetes knows the resource by; None where the service assigns ids."""
    inputs = resource["inputs"]
    if resource["type"].startswith("kubernetes:"):
        metadata = inputs.get("metadata") or {}
        return (metadata.get("namespace", ""), metadata["name"]) if metadata.get("name") else None
    # S3 bucket sub-resources (policy, versioning, ...) are one per bucket: the bucket names them.
    key = _NAME_INPUT.get(resource["type"], "bucket" if resource["type"].startswith("aws:s3/bucket") else "name")
    name = inputs.get(key)
    if not isinstance(name, str) or not name:
        return None
    scope = _SCOPE_INPUT.get(resource["type"])
    return (str(inputs.get(scope)), name) if scope else (name,)


def account_global_names(plan: dict) -> dict[tuple[str, str], str]:
    names = {}
    for resource in plan["resources"]:
        key = ACCOUNT_GLOBAL_TYPES.get(resource["type"])
        if key and resource["custom"]:
            if resource["type"] == "aws:cloudtrail/trail:Trail" and not resource["inputs"].get("isMultiRegionTrail"):
                continue
            names[(resource["type"], resource["inputs"][key])] = resource["urn"]
    return names


def test_two_regions_of_one_environment_share_no_account_global_name():
    from support.stacks import VARIANTS, plan_for

    assert VARIANTS["prod"][0] == VARIANTS["prod-system-eu"][0] and VARIANTS["prod-system-eu"][2] == "eu-west-1"
    us, eu = account_global_names(plan_for("prod")), account_global_names(plan_for("prod-system-eu"))
    assert {t for t, _ in us} >= {"aws:iam/role:Role", "aws:iam/policy:Policy", "aws:budgets/budget:Budget",
                                  "aws:cloudwatch/dashboard:Dashboard", "aws:s3/bucket:Bucket"}
    shared = sorted(set(us) & set(eu))
    assert not shared, f"account-wide names both stacks would create: {shared}"


def test_role_names_of_every_plan_fit_iam_and_carry_the_stack_region():
    from support.stacks import all_plans

    for variant, plan in all_plans():
        region = plan["outputs"]["region"]
        for resource in plan["resources"]:
            if resource["type"] in ("aws:iam/role:Role", "aws:iam/policy:Policy") and resource["custom"]:
                name = resource["inputs"]["name"]
                assert len(name) <= (64 if resource["type"] == "aws:iam/role:Role" else 128), (variant, name)
                assert f"-{plan['outputs']['environment']}-{region}-" in name, (variant, name)


def test_no_two_resources_of_one_type_share_a_physical_name_in_any_plan():
    from collections import defaultdict

    from support.stacks import all_plans

    for variant, plan in all_plans():
        seen: dict[tuple[str, tuple[str, ...]], list[str]] = defaultdict(list)
        for resource in plan["resources"]:
            if resource["custom"] and not resource["type"].startswith("pulumi:"):
                name = physical_name(resource)
                if name is not None:
                    seen[(resource["type"], name)].append(resource["name"])
        duplicates = {key: names for key, names in seen.items() if len(names) > 1}
        assert not duplicates, f"{variant}: {duplicates}"
