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
    assert NAMING.role("training") == "mlops-platform-staging-training"
    assert NAMING.kms_alias("data") == "alias/mlops-platform-staging-data"
    assert NAMING.log_group("vpc-flow-logs") == "/mlops-platform/staging/vpc-flow-logs"


def test_tags_cover_every_mandatory_key():
    tagging = Tagging("mlops-platform", "prod", "team", "cc", "confidential")
    defaults = tagging.default_tags()
    per_resource = tagging.resource("ArtifactStore", "models")
    assert set(MANDATORY_TAG_KEYS) <= set(defaults) | set(per_resource)
    assert per_resource == {"component": "ArtifactStore", "Name": "models"}
    assert tagging.full("Training")["cost-center"] == "cc" and tagging.full("Training")["component"] == "Training"
