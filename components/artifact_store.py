"""Buckets for datasets, models and their server access logs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi

from mlops_blueprint.components.artifact_store_settings import ArtifactStoreSettings
from mlops_blueprint.components.s3_bucket import (
    Lifecycle,
    PolicyStatements,
    SecureBucket,
    SecureBucketArgs,
    bucket_arn,
    deletion_problems,
)
from mlops_blueprint.context import StackContext
from mlops_blueprint.policy_documents import Statement, statement
from mlops_blueprint.validation import raise_invalid_args

COMPONENT = "artifact-store"
# Bucket purposes (-> Naming.bucket): one ArtifactStore per stack.
DATASETS, MODELS, ACCESS_LOGS = "datasets", "models", "access-logs"


@dataclass(frozen=True)
class ArtifactStoreArgs:
    """The data key, the buckets that log here, and the user's :class:`ArtifactStoreSettings`
    (the ``artifacts`` section)."""

    context: StackContext
    kms_key_arn: pulumi.Input[str]          # the data key: datasets and models are SSE-KMS with it
    protect: bool = False                   # prod: True (from the environment's config)
    retain_on_delete: bool = False          # prod: True
    # Other buckets of this stack that send server access logs to the logs bucket (e.g. the audit
    # trail bucket): the logging service is only allowed to write for the source buckets listed.
    access_log_source_bucket_arns: Sequence[pulumi.Input[str]] = ()
    settings: ArtifactStoreSettings = field(default_factory=ArtifactStoreSettings)

    def problems(self) -> list[str]:
        """The environment's protection against the settings' force_destroy (the settings checked themselves)."""
        return deletion_problems(protect=self.protect, force_destroy=self.settings.force_destroy)


class ArtifactStore(pulumi.ComponentResource):
    """Versioned, KMS-encrypted, private S3 buckets; TLS-only; access-logged to an SSE-S3 bucket."""

    datasets_bucket_name: pulumi.Output[str]
    datasets_bucket_arn: pulumi.Output[str]
    models_bucket_name: pulumi.Output[str]
    models_bucket_arn: pulumi.Output[str]
    logs_bucket_name: pulumi.Output[str]
    logs_bucket_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ArtifactStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        problems = args.problems()
        raise_invalid_args("ArtifactStoreArgs", problems, subject=repr(name))  # before anything is registered
        super().__init__("mlops:storage:ArtifactStore", name, None, opts)
        ctx = args.context

        # The log bucket's policy names the buckets that log to it; their names are deterministic,
        # so the ARNs are known before those buckets exist.
        sources: list[pulumi.Input[str]] = [bucket_arn(ctx, ctx.naming.bucket(p)) for p in (DATASETS, MODELS)]
        sources += list(args.access_log_source_bucket_arns)
        self.logs = self._bucket(
            f"{name}-logs", ACCESS_LOGS, args,
            access_log_target=True,  # S3 delivers access logs only to SSE-S3 buckets
            lifecycle=args.settings.lifecycle(current_expiration_days=args.settings.access_log_expiration_days),
            policy_statements=lambda logs_arn: pulumi.Output.all(*sources).apply(
                lambda arns: [_allow_access_log_delivery(ctx, logs_arn, arns)]
            ),
        )
        self.datasets = self._bucket(f"{name}-datasets", DATASETS, args, log_to=self.logs)
        self.models = self._bucket(f"{name}-models", MODELS, args, log_to=self.logs)

        self.datasets_bucket_name = self.datasets.bucket_name
        self.datasets_bucket_arn = self.datasets.arn
        self.models_bucket_name = self.models.bucket_name
        self.models_bucket_arn = self.models.arn
        self.logs_bucket_name = self.logs.bucket_name
        self.logs_bucket_arn = self.logs.arn
        self.register_outputs({
            "datasetsBucketName": self.datasets_bucket_name,
            "datasetsBucketArn": self.datasets_bucket_arn,
            "modelsBucketName": self.models_bucket_name,
            "modelsBucketArn": self.models_bucket_arn,
            "logsBucketName": self.logs_bucket_name,
            "logsBucketArn": self.logs_bucket_arn,
        })

    def _bucket(
        self,
        name: str,
        purpose: str,
        args: ArtifactStoreArgs,
        *,
        access_log_target: bool = False,
        lifecycle: Lifecycle | None = None,
        log_to: SecureBucket | None = None,
        policy_statements: PolicyStatements | None = None,
    ) -> SecureBucket:
        """One bucket of the store: KMS with the data key unless it is the access-log target."""
        return SecureBucket(
            name,
            SecureBucketArgs(
                context=args.context,
                purpose=purpose,
                component=COMPONENT,
                kms_key_arn=None if access_log_target else args.kms_key_arn,
                access_log_target=access_log_target,
                access_log_bucket_name=log_to.bucket_name if log_to is not None else None,
                lifecycle=lifecycle or args.settings.lifecycle(),
                policy_statements=policy_statements,
                protect=args.protect,
                retain_on_delete=args.retain_on_delete,
                force_destroy=args.settings.force_destroy,
            ),
            pulumi.ResourceOptions(parent=self),
        )


def _allow_access_log_delivery(ctx: StackContext, logs_arn: str, source_arns: Sequence[str]) -> Statement:
    """The S3 logging service may write here, only for our account's listed source buckets."""
    return statement(
        "AllowS3ServerAccessLogs",
        ["s3:PutObject"],
        [f"{logs_arn}/*"],
        principals={"Service": ctx.service_principal("logging.s3")},
        conditions={
            "ArnLike": {"aws:SourceArn": sorted(set(source_arns))},
            "StringEquals": {"aws:SourceAccount": ctx.account_id},
        },
    )
