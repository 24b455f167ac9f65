"""One secure S3 bucket and its pulumi-aws v7 settings resources, shared by every component.

In pulumi-aws v7 a bucket's settings are separate resources (the inline ``Bucket`` arguments and
the ``...V2`` resources are deprecated), so a "bucket" is really nine resources that must agree.
:class:`SecureBucket` keeps them together so that ArtifactStore and AuditTrail cannot drift:

- ``Bucket`` with an explicit, globally unique name from :meth:`Naming.bucket`;
- versioning Enabled; default encryption SSE-KMS with an S3 Bucket Key (or SSE-S3 for a
  server-access-log target, which S3 requires); SSE-C uploads blocked;
- all four public-access-block flags; ``BucketOwnerEnforced`` (ACLs disabled);
- a bucket policy denying non-TLS requests and uploads that ask for another encryption or key,
  plus whatever grants the caller adds (CloudTrail, the S3 logging service);
- lifecycle for noncurrent versions and incomplete uploads (and current objects, for logs);
- server access logs to a log bucket, and optionally an Object Lock default retention.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from mlops_blueprint.components.bucket_lifecycle import Lifecycle, lifecycle_problems, lifecycle_rules
from mlops_blueprint.context import StackContext
from mlops_blueprint.policy_documents import Statement, deny_insecure_transport, document, render, statement
from mlops_blueprint.validation import raise_invalid_args

SSE_KMS = "aws:kms"
SSE_S3 = "AES256"

# Called with the bucket's ARN once known; returns statements to append to the bucket policy.
PolicyStatements = Callable[[str], pulumi.Input[Sequence[Statement]]]


def deletion_problems(*, protect: bool, force_destroy: bool) -> list[str]:
    """``force_destroy`` empties a bucket on delete; ``protect`` forbids the delete: pick one."""
    if protect and force_destroy:
        return ["force_destroy and protect are contradictory: a protected bucket must not be force-destroyable"]
    return []


def bucket_arn(context: StackContext, bucket_name: str) -> str:
    """A bucket's ARN from its name, for policies written before the bucket exists."""
    return f"arn:{context.partition}:s3:::{bucket_name}"


@dataclass(frozen=True)
class SecureBucketArgs:
    """One bucket. Exactly one of ``kms_key_arn`` / ``access_log_target`` picks the encryption."""

    context: StackContext
    purpose: str                                     # -> Naming.bucket(purpose)
    component: str                                   # the owning component, for the component tag
    kms_key_arn: pulumi.Input[str] | None = None     # SSE-KMS with this key (the default kind of bucket)
    # A server-access-log target: S3 only delivers access logs to SSE-S3 buckets, so this is the one
    # bucket kind without KMS. It is also never logged to itself.
    access_log_target: bool = False
    access_log_bucket_name: pulumi.Input[str] | None = None  # where this bucket's access logs go
    lifecycle: Lifecycle = Lifecycle()
    object_lock_days: int | None = None              # default retention; enables Object Lock at creation
    object_lock_mode: Literal["GOVERNANCE", "COMPLIANCE"] = "GOVERNANCE"
    policy_statements: PolicyStatements | None = None
    protect: bool = False
    retain_on_delete: bool = False
    force_destroy: bool = False

    def problems(self) -> list[str]:
        problems = lifecycle_problems(self.lifecycle) + deletion_problems(protect=self.protect, force_destroy=self.force_destroy)
        if self.access_log_target == (self.kms_key_arn is not None):
            problems.append("set exactly one of kms_key_arn (SSE-KMS) or access_log_target=True (SSE-S3)")
        if self.access_log_target and self.access_log_bucket_name is not None:
            problems.append("an access-log target bucket must not send access logs (access_log_bucket_name)")
        if self.object_lock_days is not None and self.object_lock_days < 1:
            problems.append(f"object_lock_days must be >= 1 (got {self.object_lock_days})")
        return problems


class SecureBucket(pulumi.ComponentResource):
    """A versioned, encrypted, private, TLS-only, lifecycle-managed, access-logged S3 bucket."""

    bucket_name: pulumi.Output[str]
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: SecureBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        problems = args.problems()
        raise_invalid_args("SecureBucketArgs", problems, subject=repr(name))
        super().__init__("mlops:storage:SecureBucket", name, None, opts)
        ctx = args.context
        physical_name = ctx.naming.bucket(args.purpose)
        # A retained bucket keeps its guardrails: deleting the public access block, policy or
        # encryption resources would otherwise loosen a bucket that stays in the account.
        child = pulumi.ResourceOptions(parent=self, retain_on_delete=args.retain_on_delete)
        object_lock = args.object_lock_days is not None

        self.bucket = aws.s3.Bucket(
            name,
            bucket=physical_name,
            force_destroy=args.force_destroy,
            # Object Lock can only be turned on when the bucket is created.
            object_lock_enabled=object_lock or None,
            tags=ctx.tagging.resource(args.component, physical_name),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=args.protect)),
        )
        # Settings reference the bucket by name (v7: bucket id == name); this records the dependency.
        bucket_ref = self.bucket.bucket
        self.bucket_name = self.bucket.bucket
        self.arn = self.bucket.arn

        self.versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket_ref,
            versioning_configuration={"status": "Enabled"},
            opts=child,
        )

        algorithm = SSE_S3 if args.access_log_target else SSE_KMS
        by_default: dict[str, Any] = {"sse_algorithm": algorithm}
        if args.kms_key_arn is not None:
            by_default["kms_master_key_id"] = args.kms_key_arn
        self.encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket_ref,
            rules=[{
                "apply_server_side_encryption_by_default": by_default,
                # Bucket Keys cut KMS requests (and cost) by ~99%; meaningless for SSE-S3.
                "bucket_key_enabled": not args.access_log_target,
                # Customer-provided keys bypass our KMS key entirely.
                "blocked_encryption_types": ["SSE-C"],
            }],
            opts=child,
        )

        self.public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=bucket_ref,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )

        self.ownership_controls = aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket_ref,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=child,
        )

        extra = args.policy_statements
        extra_statements: pulumi.Input[Sequence[Statement]] = (
            self.bucket.arn.apply(lambda arn: pulumi.Output.from_input(extra(arn))) if extra else []
        )
        key_arn: pulumi.Input[str] = args.kms_key_arn if args.kms_key_arn is not None else ""
        self.policy = aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket_ref,
            policy=render(
                lambda arn, key, statements: bucket_policy(arn, algorithm, key or None, statements),
                self.bucket.arn, key_arn, extra_statements,
            ),
            # S3 rejects a policy put while the public access block is still being applied.
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.public_access_block])),
        )

        self.lifecycle = aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket_ref,
            rules=lifecycle_rules(args.lifecycle),
            # Noncurrent-version rules only make sense once versioning is on.
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.versioning])),
        )

        self.logging: aws.s3.BucketLogging | None = None
        if args.access_log_bucket_name is not None:
            self.logging = aws.s3.BucketLogging(
                f"{name}-access-logs",
                bucket=bucket_ref,
                target_bucket=args.access_log_bucket_name,
                target_prefix=f"{physical_name}/",
                opts=child,
            )

        self.object_lock: aws.s3.BucketObjectLockConfiguration | None = None
        if args.object_lock_days is not None:
            self.object_lock = aws.s3.BucketObjectLockConfiguration(
                f"{name}-object-lock",
                bucket=bucket_ref,
                rule={"default_retention": {"mode": args.object_lock_mode, "days": args.object_lock_days}},
                # Object Lock requires versioning.
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.versioning])),
            )

        self.register_outputs({"bucketName": self.bucket_name, "arn": self.arn})


def bucket_policy(arn: str, algorithm: str, kms_key_arn: str | None, extra: Sequence[Statement]) -> dict[str, Any]:
    """TLS only; uploads may not ask for another encryption (or KMS key) than the bucket's default.

    Without an encryption header the bucket default applies, so only a *present* header that
    differs is denied (``Null: false`` = header present). ``StringNotEquals`` and
    ``StringNotEqualsIfExists`` are both true when the key is absent, so without the ``Null``
    guard they would deny every upload that relies on the bucket default.
    """
    statements = [
        deny_insecure_transport([arn, f"{arn}/*"]),
        statement(
            "DenyOtherEncryption", ["s3:PutObject"], [f"{arn}/*"], effect="Deny", principals={"AWS": "*"},
            conditions={"StringNotEquals": {"s3:x-amz-server-side-encryption": algorithm},
                        "Null": {"s3:x-amz-server-side-encryption": "false"}},
        ),
    ]
    if kms_key_arn:
        statements.append(statement(
            "DenyOtherKmsKey", ["s3:PutObject"], [f"{arn}/*"], effect="Deny", principals={"AWS": "*"},
            conditions={"StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": kms_key_arn},
                        "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"}},
        ))
    return document(*statements, *extra)
