"""ArtifactStore under the mock runtime: every bucket's v7 settings, matched to it by name."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlops_blueprint.components.artifact_store import ArtifactStore, ArtifactStoreArgs
from mlops_blueprint.components.artifact_store_settings import ArtifactStoreSettings
from mlops_blueprint.components.s3_bucket import SecureBucket, SecureBucketArgs
from mlops_blueprint.context import StackContext
from mlops_blueprint.mock_runtime import MOCK_ACCOUNT_ID, MockRun, Registration, run_program
from support.components import ancestors, args_with_settings, run_component
from support.s3 import BUCKET, LIFECYCLE, LOGGING, OBJECT_LOCK, OWNERSHIP, VERSIONING
from support.s3 import BUCKET_POLICY as POLICY
from support.s3 import ENCRYPTION as SSE
from support.s3 import PUBLIC_ACCESS_BLOCK as PAB

DATA_KEY = f"arn:aws:kms:us-east-1:{MOCK_ACCOUNT_ID}:key/11111111-2222-3333-4444-555555555555"
EXTRA_SOURCE = "arn:aws:s3:::mlops-platform-dev-audit-trail-123456789012-us-east-1"

STORE = "mlops:storage:ArtifactStore"

PURPOSES = ("datasets", "models", "access-logs")
KMS_PURPOSES = ("datasets", "models")


OUTPUTS = {"datasets": "datasets_bucket_name", "datasetsArn": "datasets_bucket_arn", "models": "models_bucket_name",
           "modelsArn": "models_bucket_arn", "logs": "logs_bucket_name", "logsArn": "logs_bucket_arn"}


def store_args(ctx: StackContext, **overrides: Any) -> ArtifactStoreArgs:
    return args_with_settings(ArtifactStoreArgs, ArtifactStoreSettings, context=ctx, kms_key_arn=DATA_KEY, **overrides)


def build(ctx: StackContext, **overrides: Any) -> MockRun:
    return run_component(ctx, lambda: ArtifactStore("artifacts", store_args(ctx, **overrides)), OUTPUTS)


def bucket(run: MockRun, ctx: StackContext, purpose: str) -> Registration:
    """The one Bucket whose physical name is this purpose's name from Naming."""
    name = ctx.naming.bucket(purpose)
    matches = [r for r in run.of_type(BUCKET) if r.inputs.get("bucket") == name]
    assert len(matches) == 1, f"expected one bucket named {name}, found {len(matches)}"
    return matches[0]


def setting(run: MockRun, type_: str, bucket_name: str) -> Registration:
    """The one settings resource of ``type_`` that points at ``bucket_name``."""
    matches = [r for r in run.of_type(type_) if r.inputs.get("bucket") == bucket_name]
    assert len(matches) == 1, f"expected one {type_} for {bucket_name}, found {len(matches)}"
    return matches[0]


def policy_of(run: MockRun, bucket_name: str) -> dict[str, Any]:
    return json.loads(setting(run, POLICY, bucket_name).inputs["policy"])


def statements(policy: dict[str, Any], sid: str) -> list[dict[str, Any]]:
    return [s for s in policy["Statement"] if s.get("Sid") == sid]


@pytest.fixture
def dev_run(dev_context: StackContext) -> MockRun:
    return build(dev_context, force_destroy=True)


def test_three_buckets_named_and_tagged_from_the_stack(dev_run: MockRun, dev_context: StackContext) -> None:
    names = sorted(r.inputs["bucket"] for r in dev_run.of_type(BUCKET))
    assert names == sorted(dev_context.naming.bucket(p) for p in PURPOSES)
    for purpose in PURPOSES:
        reg = bucket(dev_run, dev_context, purpose)
        assert reg.inputs["tags"] == {"component": "artifact-store", "Name": dev_context.naming.bucket(purpose)}
        assert "objectLockEnabled" not in reg.inputs


def test_outputs_are_the_physical_names_and_arns(dev_run: MockRun, dev_context: StackContext) -> None:
    naming = dev_context.naming
    assert dev_run.outputs == {
        "datasets": naming.bucket("datasets"), "datasetsArn": f"arn:aws:s3:::{naming.bucket('datasets')}",
        "models": naming.bucket("models"), "modelsArn": f"arn:aws:s3:::{naming.bucket('models')}",
        "logs": naming.bucket("access-logs"), "logsArn": f"arn:aws:s3:::{naming.bucket('access-logs')}",
    }


@pytest.mark.parametrize("purpose", PURPOSES)
def test_every_bucket_is_versioned_private_and_owner_enforced(dev_run: MockRun, dev_context: StackContext, purpose: str) -> None:
    name = bucket(dev_run, dev_context, purpose).inputs["bucket"]
    assert setting(dev_run, VERSIONING, name).inputs["versioningConfiguration"] == {"status": "Enabled"}
    pab = setting(dev_run, PAB, name).inputs
    assert {k: pab.get(k) for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")} == {
        "blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True, "restrictPublicBuckets": True,
    }
    assert setting(dev_run, OWNERSHIP, name).inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}


@pytest.mark.parametrize("purpose", KMS_PURPOSES)
def test_data_buckets_use_sse_kms_with_the_data_key_and_bucket_keys(dev_run: MockRun, dev_context: StackContext, purpose: str) -> None:
    name = dev_context.naming.bucket(purpose)
    [rule] = setting(dev_run, SSE, name).inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": DATA_KEY}
    assert rule["bucketKeyEnabled"] is True
    assert rule["blockedEncryptionTypes"] == ["SSE-C"]


def test_access_log_bucket_uses_sse_s3_because_s3_logging_requires_it(dev_run: MockRun, dev_context: StackContext) -> None:
    [rule] = setting(dev_run, SSE, dev_context.naming.bucket("access-logs")).inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}


@pytest.mark.parametrize("purpose", PURPOSES)
def test_every_policy_denies_non_tls_on_bucket_and_objects(dev_run: MockRun, dev_context: StackContext, purpose: str) -> None:
    name = dev_context.naming.bucket(purpose)
    arn = f"arn:aws:s3:::{name}"
    [deny] = [s for s in policy_of(dev_run, name)["Statement"]
              if s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"]
    assert deny["Effect"] == "Deny"
    assert deny["Principal"] == {"AWS": "*"}
    assert deny["Action"] == ["s3:*"]
    assert sorted(deny["Resource"]) == sorted([arn, f"{arn}/*"])


@pytest.mark.parametrize("purpose", KMS_PURPOSES)
def test_data_bucket_policy_denies_other_encryption_only_when_a_header_is_sent(
    dev_run: MockRun, dev_context: StackContext, purpose: str
) -> None:
    name = dev_context.naming.bucket(purpose)
    policy = policy_of(dev_run, name)
    [algorithm] = statements(policy, "DenyOtherEncryption")
    assert (algorithm["Effect"], algorithm["Action"], algorithm["Resource"]) == ("Deny", ["s3:PutObject"], [f"arn:aws:s3:::{name}/*"])
    # Header present (Null false) and not aws:kms -> deny; absent -> bucket default (KMS) applies.
    assert algorithm["Condition"] == {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
                                      "Null": {"s3:x-amz-server-side-encryption": "false"}}
    [key] = statements(policy, "DenyOtherKmsKey")
    assert key["Condition"] == {"StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": DATA_KEY},
                                "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"}}
    assert not any("IfExists" in op for s in policy["Statement"] for op in s.get("Condition", {}))


def test_log_bucket_policy_lets_only_s3_logging_for_this_stacks_buckets(dev_context: StackContext) -> None:
    run = build(dev_context, access_log_source_bucket_arns=[EXTRA_SOURCE])
    logs = dev_context.naming.bucket("access-logs")
    policy = policy_of(run, logs)
    allows = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert len(allows) == 1
    [grant] = allows
    assert grant["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert grant["Action"] == ["s3:PutObject"]
    assert grant["Resource"] == [f"arn:aws:s3:::{logs}/*"]
    assert grant["Condition"]["StringEquals"] == {"aws:SourceAccount": MOCK_ACCOUNT_ID}
    assert sorted(grant["Condition"]["ArnLike"]["aws:SourceArn"]) == sorted([
        f"arn:aws:s3:::{dev_context.naming.bucket('datasets')}",
        f"arn:aws:s3:::{dev_context.naming.bucket('models')}",
        EXTRA_SOURCE,
    ])
    # SSE-S3 bucket: no KMS key statement, and the header may only ask for AES256.
    assert statements(policy, "DenyOtherKmsKey") == []
    [algorithm] = statements(policy, "DenyOtherEncryption")
    assert algorithm["Condition"]["StringNotEquals"] == {"s3:x-amz-server-side-encryption": "AES256"}


@pytest.mark.parametrize("purpose", PURPOSES)
def test_policy_waits_for_the_public_access_block(dev_run: MockRun, dev_context: StackContext, purpose: str) -> None:
    name = dev_context.naming.bucket(purpose)
    policy = setting(dev_run, POLICY, name)
    assert setting(dev_run, PAB, name).urn in policy.dependencies
    assert bucket(dev_run, dev_context, purpose).urn in policy.property_dependencies["bucket"]


def test_lifecycle_uses_the_configured_days(dev_context: StackContext) -> None:
    run = build(dev_context, noncurrent_days_to_ia=45, noncurrent_days_to_glacier=120,
                noncurrent_expiration_days=400, abort_incomplete_upload_days=3, access_log_expiration_days=60)
    for purpose in PURPOSES:
        rules = {r["id"]: r for r in setting(run, LIFECYCLE, dev_context.naming.bucket(purpose)).inputs["rules"]}
        assert all(r["status"] == "Enabled" and r["filter"] == {"prefix": ""} for r in rules.values())
        noncurrent = rules["noncurrent-versions"]
        assert noncurrent["noncurrentVersionTransitions"] == [
            {"noncurrentDays": 45, "storageClass": "STANDARD_IA"},
            {"noncurrentDays": 120, "storageClass": "GLACIER"},
        ]
        assert noncurrent["noncurrentVersionExpiration"] == {"noncurrentDays": 400}
        assert rules["abort-incomplete-multipart-uploads"]["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 3}
        expire_current = rules.get("expire-current-objects")
        if purpose == "access-logs":
            assert expire_current is not None and expire_current["expiration"] == {"days": 60}
        else:  # datasets and models are never expired while current
            assert expire_current is None


def test_lifecycle_defaults_match_the_config_defaults(dev_run: MockRun, dev_context: StackContext) -> None:
    rules = {r["id"]: r for r in setting(dev_run, LIFECYCLE, dev_context.naming.bucket("models")).inputs["rules"]}
    days = [t["noncurrentDays"] for t in rules["noncurrent-versions"]["noncurrentVersionTransitions"]]
    assert days == [30, 90]
    assert rules["noncurrent-versions"]["noncurrentVersionExpiration"] == {"noncurrentDays": 365}
    assert rules["abort-incomplete-multipart-uploads"]["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}


def test_data_buckets_log_to_the_log_bucket_and_it_does_not_log_to_itself(dev_run: MockRun, dev_context: StackContext) -> None:
    logs = dev_context.naming.bucket("access-logs")
    log_bucket = bucket(dev_run, dev_context, "access-logs")
    for purpose in KMS_PURPOSES:
        name = dev_context.naming.bucket(purpose)
        logging = setting(dev_run, LOGGING, name)
        assert logging.inputs["targetBucket"] == logs
        assert logging.inputs["targetPrefix"] == f"{name}/"
        assert log_bucket.urn in logging.property_dependencies["targetBucket"]
    assert [r for r in dev_run.of_type(LOGGING) if r.inputs["bucket"] == logs] == []
    assert len(dev_run.of_type(LOGGING)) == 2
    assert dev_run.of_type(OBJECT_LOCK) == []


def test_dev_force_destroy_is_passed_and_nothing_is_protected(dev_run: MockRun) -> None:
    for reg in dev_run.of_type(BUCKET):
        assert reg.inputs["forceDestroy"] is True
        assert (reg.protect, reg.retain_on_delete) == (False, False)


def test_force_destroy_defaults_to_false(dev_context: StackContext) -> None:
    run = build(dev_context)
    assert [r.inputs["forceDestroy"] for r in run.of_type(BUCKET)] == [False, False, False]


def test_prod_buckets_are_protected_retained_and_not_force_destroyable(prod_context: StackContext) -> None:
    run = build(prod_context, protect=True, retain_on_delete=True)
    buckets = run.of_type(BUCKET)
    assert len(buckets) == 3
    for reg in buckets:
        assert reg.inputs["bucket"].startswith("mlops-platform-prod-")
        assert (reg.protect, reg.retain_on_delete, reg.inputs["forceDestroy"]) == (True, True, False)
    # A retained bucket keeps its guardrails: deleting them would loosen a bucket left in AWS.
    for type_ in (VERSIONING, SSE, PAB, OWNERSHIP, POLICY):
        assert all(r.retain_on_delete for r in run.of_type(type_)), type_


def test_every_child_belongs_to_the_store(dev_run: MockRun) -> None:
    store = dev_run.named(STORE, "artifacts")
    secure_buckets = dev_run.children(store.urn)
    assert sorted(r.name for r in secure_buckets) == ["artifacts-datasets", "artifacts-logs", "artifacts-models"]
    assert {r.type for r in secure_buckets} == {"mlops:storage:SecureBucket"}
    for reg in dev_run.registrations:
        if reg.type.startswith("aws:"):
            assert store.urn in ancestors(dev_run, reg.urn), reg.urn
    # Bucket + 7 settings per data bucket (no object lock here); the log bucket has no logging.
    assert {r.name: len(dev_run.children(r.urn)) for r in secure_buckets} == {
        "artifacts-datasets": 8, "artifacts-models": 8, "artifacts-logs": 7,
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"protect": True, "force_destroy": True}, "force_destroy and protect"),
        ({"noncurrent_days_to_ia": 20}, r"noncurrent_days_to_ia\n.*greater than or equal to 30"),
        ({"noncurrent_days_to_glacier": 30}, r"noncurrent_days_to_glacier\n.*greater than or equal to 31"),
        ({"noncurrent_days_to_glacier": 400}, r"lifecycle days must increase: noncurrentDaysToIa < noncurrentDaysToGlacier"),
        ({"noncurrent_days_to_glacier": 45}, r"noncurrentDaysToGlacier \(45\) must be at least 30 days after"),
        ({"abort_incomplete_upload_days": 0}, r"abort_incomplete_upload_days\n.*greater than or equal to 1"),
        ({"access_log_expiration_days": 0}, r"access_log_expiration_days\n.*greater than or equal to 1"),
    ],
)
def test_bad_args_raise_before_anything_is_registered(dev_context: StackContext, overrides: dict[str, Any], message: str) -> None:
    """Settings refuse what S3 would (the same check as SecureBucket's); the args, a protected
    store that may be force-destroyed."""
    def program() -> None:
        with pytest.raises(ValueError, match=message):
            ArtifactStore("artifacts", store_args(dev_context, **overrides))

    run = run_program(program, stack="dev", project="mlops-platform")
    assert [r.type for r in run.registrations] == ["pulumi:pulumi:Stack"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({}, "exactly one of kms_key_arn"),
        ({"kms_key_arn": DATA_KEY, "access_log_target": True}, "exactly one of kms_key_arn"),
        ({"access_log_target": True, "access_log_bucket_name": "other"}, "must not send access logs"),
    ],
)
def test_secure_bucket_needs_exactly_one_encryption_choice(dev_context: StackContext, overrides: dict[str, Any], message: str) -> None:
    def program() -> None:
        with pytest.raises(ValueError, match=message):
            SecureBucket("b", SecureBucketArgs(context=dev_context, purpose="b", component="test", **overrides))

    run = run_program(program, stack="dev", project="mlops-platform")
    assert [r.type for r in run.registrations] == ["pulumi:pulumi:Stack"]
