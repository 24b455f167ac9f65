"""S3: every bucket versioned, KMS-encrypted, private, TLS-only and access-logged.

pulumi-aws v7 keeps these settings in separate resources, so most rules are stack rules that
match each setting to its bucket (see :class:`BucketIndex`).
"""

from __future__ import annotations

from typing import Any

from mlops_blueprint.policies.model import PolicyContext, ResourceView, Rule, is_unknown
from mlops_blueprint.policies.rules._helpers import (
    S3_BUCKET,
    S3_BUCKET_LOGGING,
    BucketIndex,
    as_list,
    differs,
    each_bucket_has,
    is_set,
    rule,
    show,
    stack_rule,
    statements,
)

VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
OWNERSHIP_CONTROLS = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"

PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def _versioning_problems(setting: ResourceView) -> list[str]:
    status = setting.prop("versioningConfiguration", "status")
    return [f"has status {show(status)}"] if differs(status, "Enabled") else []


def _sse_rules(setting: ResourceView) -> list[dict[str, Any]] | None:
    """The encryption rules, or None when unknown (preview)."""
    rules = setting.props.get("rules")
    return None if is_unknown(rules) else [r for r in as_list(rules) if isinstance(r, dict)]


def _algorithm(rule: dict[str, Any]) -> Any:
    default = rule.get("applyServerSideEncryptionByDefault")
    return default.get("sseAlgorithm") if isinstance(default, dict) else None


def _encryption_problems(setting: ResourceView) -> list[str]:
    rules = _sse_rules(setting)
    if rules is None or any(
        not differs(_algorithm(r), "aws:kms") and not differs(r.get("bucketKeyEnabled"), True) for r in rules
    ):
        return []
    return ["has no rule with sseAlgorithm 'aws:kms' and bucketKeyEnabled true"]


def _log_target_encryption_problems(setting: ResourceView) -> list[str]:
    """S3 delivers server access logs only to SSE-S3 buckets, so a log target may use AES256."""
    rules = _sse_rules(setting)
    if rules is None or any(not differs(_algorithm(r), "aws:kms") or _algorithm(r) == "AES256" for r in rules):
        return []
    return ["has no rule with sseAlgorithm 'AES256' or 'aws:kms'"]


def _public_access_problems(setting: ResourceView) -> list[str]:
    off = [flag for flag in PUBLIC_ACCESS_FLAGS if differs(setting.props.get(flag), True)]
    return [f"does not set {', '.join(off)} to true"] if off else []


def _denies_insecure_transport(statement: dict[str, Any]) -> bool:
    """Deny s3:* (or *) to every principal when aws:SecureTransport is false."""
    if statement.get("Effect") != "Deny":
        return False
    principal = statement.get("Principal")
    if isinstance(principal, dict):
        principal = principal.get("AWS")
    if "*" not in as_list(principal):
        return False
    if not any(action in ("s3:*", "*") for action in as_list(statement.get("Action"))):
        return False
    condition = statement.get("Condition")
    bool_conditions = condition.get("Bool") if isinstance(condition, dict) else None
    if not isinstance(bool_conditions, dict):
        return False
    values = [v for k, v in bool_conditions.items() if k.lower() == "aws:securetransport"]
    return any(str(x).lower() == "false" for v in values for x in as_list(v))


def _tls_problems(setting: ResourceView) -> list[str]:
    policy = setting.props.get("policy")
    if is_unknown(policy):
        return []
    if any(_denies_insecure_transport(s) for s in statements(policy)):
        return []
    return ["has no Deny statement for principal '*' on s3:* with Bool aws:SecureTransport 'false'"]


def _logging_problems(setting: ResourceView) -> list[str]:
    return [] if is_set(setting.props.get("targetBucket")) else ["has no targetBucket"]


def _ownership_problems(setting: ResourceView) -> list[str]:
    ownership = setting.prop("rule", "objectOwnership")
    return [f"has objectOwnership {show(ownership)}"] if differs(ownership, "BucketOwnerEnforced") else []


def _is_log_bucket(bucket: ResourceView, index: BucketIndex) -> bool:
    return index.is_log_bucket(bucket)


def _no_force_destroy_in_prod(resource: ResourceView, ctx: PolicyContext) -> list[str]:
    if ctx.is_prod and resource.props.get("forceDestroy") is True:
        return [f"bucket '{resource.name}' sets forceDestroy=true in prod; leave it unset or false"]
    return []


RULES: tuple[Rule, ...] = (
    stack_rule("s3-versioning-enabled",
               "Every S3 bucket has a BucketVersioning with status Enabled, so objects can be recovered.",
               each_bucket_has(VERSIONING, "with status Enabled", _versioning_problems)),
    stack_rule("s3-sse-kms",
               "Every S3 bucket is encrypted with SSE-KMS (aws:kms) with an S3 bucket key; a server-access-log "
               "target may use SSE-S3, the only encryption S3 log delivery supports.",
               each_bucket_has(ENCRYPTION, "with sseAlgorithm aws:kms and bucketKeyEnabled true", _encryption_problems,
                               log_target=("with default encryption (aws:kms or, for access logs, AES256)",
                                           _log_target_encryption_problems))),
    stack_rule("s3-public-access-block", "Every S3 bucket has a BucketPublicAccessBlock with all four flags true.",
               each_bucket_has(PUBLIC_ACCESS_BLOCK, "with all four block/ignore/restrict flags true",
                               _public_access_problems)),
    stack_rule("s3-tls-only",
               "Every S3 bucket has a bucket policy denying requests without TLS (aws:SecureTransport false).",
               each_bucket_has(BUCKET_POLICY, "denying aws:SecureTransport false", _tls_problems)),
    stack_rule("s3-access-logging", "Every S3 bucket except the access-log bucket itself writes server access logs.",
               each_bucket_has(S3_BUCKET_LOGGING, "with a targetBucket", _logging_problems, exempt=_is_log_bucket)),
    stack_rule("s3-ownership-enforced",
               "Every S3 bucket disables ACLs (BucketOwnershipControls objectOwnership BucketOwnerEnforced).",
               each_bucket_has(OWNERSHIP_CONTROLS, "with objectOwnership BucketOwnerEnforced", _ownership_problems),
               enforcement="advisory"),
    rule("s3-no-force-destroy-in-prod",
         "Prod buckets never set forceDestroy, so deleting the stack cannot delete data.",
         _no_force_destroy_in_prod, S3_BUCKET),
)
