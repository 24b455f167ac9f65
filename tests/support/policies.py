"""Builders of hand-made ResourceViews for rule tests: the camelCase inputs pulumi-aws v7 sends.

Shared by the rule tests through ``tests/support`` (on pytest's path); whoever adds a rule uses the
same builders. :func:`bucket_set` doubles as
the reference of what a compliant v7 bucket looks like to the S3 rules.
"""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from typing import Any

from mlops_blueprint.policies.engine import Finding, evaluate
from mlops_blueprint.policies.model import ResourceView, context_factory
from mlops_blueprint.policies.rules import RULES_BY_NAME
from support.s3 import BUCKET, BUCKET_POLICY, ENCRYPTION, LOGGING, OWNERSHIP, PUBLIC_ACCESS_BLOCK, VERSIONING

STACK = "dev"
PROJECT = "mlops-platform"

TAGS = {
    "project": PROJECT,
    "owner": "ml-platform",
    "cost-center": "cc-1234",
    "data-classification": "confidential",
}


def urn(type_: str, name: str, stack: str = STACK) -> str:
    return f"urn:pulumi:{stack}::{PROJECT}::pulumi:pulumi:Stack${type_}::{name}"


def view(type_: str, name: str, props: dict[str, Any] | None = None, **options: Any) -> ResourceView:
    """A resource of ``type_`` whose provider carries the default tags as the engine sends them
    (JSON-encoded ``defaultTags``) minus ``environment``, which comes from :func:`run`'s default."""
    options.setdefault("provider_props", {"region": "us-east-1", "defaultTags": json.dumps({"tags": TAGS})})
    return ResourceView(
        urn=urn(type_, name),
        type=type_,
        name=name,
        props=props if props is not None else {},
        id=f"{name}-0000abcd",
        **options,
    )


def run(rule_name: str, resources: list[ResourceView], environment: str = STACK,
        boundary: str | None = None) -> list[Finding]:
    """Findings of one rule (looked up by name, so a renamed rule fails loudly)."""
    rule = RULES_BY_NAME[rule_name]
    return evaluate(resources, context_factory(environment, boundary), rules=[rule])


# --- S3: one compliant bucket set, the unit most S3 cases start from -------------------------


def tls_policy(bucket_name: str) -> str:
    arn = f"arn:aws:s3:::{bucket_name}"
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": ["s3:*"],
            "Resource": [arn, f"{arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }],
    })


def bucket_set(name: str, *, log_to: str | None = "platform-logs", log_target: bool = False,
               overrides: dict[str, dict[str, Any] | None] | None = None,
               bucket_props: dict[str, Any] | None = None) -> list[ResourceView]:
    """A bucket and its settings, all compliant; ``overrides`` replaces (or with None drops) a
    setting's inputs by type. Settings reference the bucket by its physical name."""
    physical = f"mlops-platform-dev-{name}-123456789012-us-east-1"
    settings: dict[str, dict[str, Any] | None] = {
        VERSIONING: {"bucket": physical, "versioningConfiguration": {"status": "Enabled"}},
        ENCRYPTION: {"bucket": physical, "rules": [
            {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}, "bucketKeyEnabled": False}
            if log_target else
            {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms",
                                                    "kmsMasterKeyId": "arn:aws:kms:us-east-1:123456789012:key/k"},
             "bucketKeyEnabled": True},
        ]},
        PUBLIC_ACCESS_BLOCK: {"bucket": physical, "blockPublicAcls": True, "blockPublicPolicy": True,
                              "ignorePublicAcls": True, "restrictPublicBuckets": True},
        BUCKET_POLICY: {"bucket": physical, "policy": tls_policy(physical)},
        OWNERSHIP: {"bucket": physical, "rule": {"objectOwnership": "BucketOwnerEnforced"}},
    }
    if log_to is not None:
        settings[LOGGING] = {"bucket": physical, "targetBucket": f"mlops-platform-dev-{log_to}-123456789012-us-east-1",
                             "targetPrefix": f"{physical}/"}
    settings.update(overrides or {})
    resources = [view(BUCKET, name, {"bucket": physical, "forceDestroy": False,
                                     "tags": {"component": "storage"}, **(bucket_props or {})})]
    suffixes = {VERSIONING: "versioning", ENCRYPTION: "encryption", PUBLIC_ACCESS_BLOCK: "public-access-block",
                BUCKET_POLICY: "policy", OWNERSHIP: "ownership", LOGGING: "access-logs"}
    for type_, props in settings.items():
        if props is not None:
            resources.append(view(type_, f"{name}-{suffixes[type_]}", props))
    return resources


def platform_buckets(**model_overrides: Any) -> list[ResourceView]:
    """A log bucket (SSE-S3, an access-log target) and a models bucket logging to it."""
    return bucket_set("platform-logs", log_to=None, log_target=True) + bucket_set("models", **model_overrides)


def allowed(policy: dict[str, Any], action: str, resource: str) -> bool:
    """Whether an Allow statement covers ``action`` on ``resource`` (IAM wildcard matching)."""
    for s in policy["Statement"]:
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
        if s["Effect"] == "Allow" and any(fnmatchcase(action, a) for a in actions) \
                and any(fnmatchcase(resource, r) for r in resources):
            return True
    return False
