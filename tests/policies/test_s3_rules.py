"""S3 stack rules: matching v7 setting resources to buckets, log-bucket exemptions, edge cases."""

from __future__ import annotations

import json
from dataclasses import replace

from mlops_blueprint.policies.model import UNKNOWN
from support.policies import (
    BUCKET,
    BUCKET_POLICY,
    ENCRYPTION,
    LOGGING,
    PUBLIC_ACCESS_BLOCK,
    VERSIONING,
    bucket_set,
    platform_buckets,
    run,
    view,
)

MODELS = "mlops-platform-dev-models-123456789012-us-east-1"


def by_name(resources, name):
    return next(r for r in resources if r.name == name)


def test_setting_matches_its_bucket_by_mock_id() -> None:
    resources = platform_buckets()
    models = by_name(resources, "models")
    versioning = by_name(resources, "models-versioning")
    resources[resources.index(versioning)] = replace(versioning, props={**versioning.props, "bucket": models.id})
    assert run("s3-versioning-enabled", resources) == []


def test_setting_of_another_bucket_does_not_count() -> None:
    datasets = bucket_set("datasets", overrides={VERSIONING: {"bucket": MODELS, "versioningConfiguration": {"status": "Enabled"}}})
    findings = run("s3-versioning-enabled", platform_buckets() + datasets)
    assert [(f.urn, f.message) for f in findings] == [
        (by_name(datasets, "datasets").urn,
         "bucket 'datasets' has no BucketVersioning with status Enabled (none found)"),
    ]


def test_unknown_bucket_reference_is_matched_through_property_dependencies() -> None:
    resources = platform_buckets()
    models = by_name(resources, "models")
    versioning = by_name(resources, "models-versioning")
    resolved = replace(versioning, props={**versioning.props, "bucket": UNKNOWN},
                       property_dependencies={"bucket": (models.urn,)})
    unresolved = replace(versioning, props={**versioning.props, "bucket": UNKNOWN})
    others = [r for r in resources if r is not versioning]
    assert run("s3-versioning-enabled", [*others, resolved]) == []
    assert [f.urn for f in run("s3-versioning-enabled", [*others, unresolved])] == [models.urn]


def test_suspended_versioning_names_the_setting_and_its_status() -> None:
    findings = run("s3-versioning-enabled", platform_buckets(
        overrides={VERSIONING: {"bucket": MODELS, "versioningConfiguration": {"status": "Suspended"}}}))
    assert [f.message for f in findings] == [
        "bucket 'models' has no BucketVersioning with status Enabled "
        "(BucketVersioning 'models-versioning' has status \"Suspended\")"
    ]


def test_kms_without_bucket_key_is_reported() -> None:
    findings = run("s3-sse-kms", platform_buckets(overrides={ENCRYPTION: {"bucket": MODELS, "rules": [
        {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}, "bucketKeyEnabled": False}]}}))
    assert len(findings) == 1 and "bucket 'models'" in findings[0].message


def test_access_log_bucket_may_use_sse_s3_but_must_be_encrypted() -> None:
    assert run("s3-sse-kms", platform_buckets()) == []  # platform-logs uses AES256
    logs_unencrypted = bucket_set("platform-logs", log_to=None, log_target=True, overrides={ENCRYPTION: None})
    findings = run("s3-sse-kms", logs_unencrypted + bucket_set("models"))
    assert [f.message for f in findings] == [
        "bucket 'platform-logs' has no BucketServerSideEncryptionConfiguration with default encryption "
        "(aws:kms or, for access logs, AES256) (none found)"
    ]


def test_log_bucket_is_recognised_as_a_logging_target_whatever_its_name() -> None:
    archive = bucket_set("audit-archive", log_to=None, log_target=True)
    models = bucket_set("models", log_to="audit-archive")
    assert run("s3-access-logging", archive + models) == []
    assert run("s3-sse-kms", archive + models) == []
    # Without the BucketLogging that targets it, "audit-archive" is an ordinary bucket again.
    unlogged = [r for r in models if r.type != LOGGING]
    assert sorted(f.message.split(" has")[0] for f in run("s3-access-logging", archive + unlogged)) == [
        "bucket 'audit-archive'", "bucket 'models'"]


def test_bucket_named_logs_is_exempt_from_access_logging() -> None:
    assert run("s3-access-logging", bucket_set("platform-logs", log_to=None, log_target=True)) == []


def test_public_access_block_lists_every_missing_flag() -> None:
    findings = run("s3-public-access-block", platform_buckets(
        overrides={PUBLIC_ACCESS_BLOCK: {"bucket": MODELS, "blockPublicAcls": True}}))
    assert len(findings) == 1
    assert "does not set blockPublicPolicy, ignorePublicAcls, restrictPublicBuckets to true" in findings[0].message


def test_tls_policy_accepts_string_principal_and_boolean_condition() -> None:
    policy = json.dumps({"Statement": {"Effect": "Deny", "Principal": "*", "Action": "*",
                                       "Resource": f"arn:aws:s3:::{MODELS}/*",
                                       "Condition": {"Bool": {"aws:SecureTransport": False}}}})
    assert run("s3-tls-only", platform_buckets(overrides={BUCKET_POLICY: {"bucket": MODELS, "policy": policy}})) == []


def test_tls_policy_with_allow_instead_of_deny_is_reported() -> None:
    policy = json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*",
                                        "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})
    findings = run("s3-tls-only", platform_buckets(overrides={BUCKET_POLICY: {"bucket": MODELS, "policy": policy}}))
    assert [f.message.split(" (")[0] for f in findings] == [
        "bucket 'models' has no BucketPolicy denying aws:SecureTransport false"]


def test_tls_policy_unknown_during_preview_is_not_judged() -> None:
    assert run("s3-tls-only", platform_buckets(overrides={BUCKET_POLICY: {"bucket": MODELS, "policy": UNKNOWN}})) == []


def test_force_destroy_is_fine_outside_prod() -> None:
    bucket = view(BUCKET, "scratch", {"bucket": "scratch", "forceDestroy": True})
    assert run("s3-no-force-destroy-in-prod", [bucket], environment="dev") == []
    assert len(run("s3-no-force-destroy-in-prod", [bucket], environment="prod")) == 1


def test_sse_s3_is_only_accepted_on_actual_access_log_targets() -> None:
    """A bucket merely *named* -logs (say, CloudTrail's) still needs KMS; S3's SSE-S3 constraint
    only binds server-access-log targets."""
    trail_logs = bucket_set("audit-logs", log_to=None, log_target=True)
    findings = run("s3-sse-kms", trail_logs)
    assert [f.message.split(" (")[0] for f in findings] == [
        "bucket 'audit-logs' has no BucketServerSideEncryptionConfiguration with sseAlgorithm aws:kms "
        "and bucketKeyEnabled true"]


def test_malformed_policy_documents_do_not_crash_the_rule() -> None:
    policy = json.dumps({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": [{"odd": 1}]}, "junk"]})
    findings = run("s3-tls-only", platform_buckets(overrides={BUCKET_POLICY: {"bucket": MODELS, "policy": policy}}))
    assert [f.urn.rsplit("::", 1)[1] for f in findings] == ["models"]
