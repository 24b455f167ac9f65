"""Customer-managed KMS keys: one for data at rest, one for logs.

Two keys rather than one so that the people and services who may read logs (auditors,
CloudTrail, CloudWatch Logs) never get to decrypt training data or models, and vice versa.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_blueprint.components.key_policies import sns_publisher_key_statements
from mlops_blueprint.components.kms_settings import KmsSettings
from mlops_blueprint.context import StackContext
from mlops_blueprint.policy_documents import Statement, document, render, statement

COMPONENT = "kms"

# What a key *user* needs (symmetric keys).
_KEY_USE = ("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey")

# AWS's "key administrators" set: manage the key, never use it for crypto.
_KEY_ADMIN = (
    "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
    "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource",
    "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand",
)

@dataclass(frozen=True)
class KmsArgs:
    """The platform's two keys: wiring, and the user's :class:`KmsSettings` (the ``kms`` section);
    protect/retain come from the environment's config."""

    context: StackContext
    protect: bool = False                   # prod: True
    retain_on_delete: bool = False          # prod: True
    # Extra key administrators (manage, not use). The account root is always allowed so that
    # IAM policies in the account can grant use of the keys.
    admin_principal_arns: Sequence[pulumi.Input[str]] = ()
    settings: KmsSettings = field(default_factory=KmsSettings)


def _base_statements(ctx: StackContext, admin_arns: Sequence[str]) -> list[Statement]:
    """Root delegation (so IAM policies work, and the key can never become unmanageable) + admins."""
    statements = [
        statement("EnableIamPolicies", ["kms:*"], "*", principals={"AWS": ctx.account_root_arn}),
    ]
    if admin_arns:
        admins: str | list[str] = admin_arns[0] if len(admin_arns) == 1 else sorted(set(admin_arns))
        statements.append(statement("KeyAdministrators", _KEY_ADMIN, "*", principals={"AWS": admins}))
    return statements


def data_key_policy(ctx: StackContext, admin_arns: Sequence[str] = ()) -> dict[str, Any]:
    """The data key: principals of this account may use it only through S3 and SageMaker.

    Other services (ECR, Secrets Manager) need an IAM policy granting the key, via the root statement.
    """
    via = {
        "kms:CallerAccount": ctx.account_id,
        "kms:ViaService": [ctx.service_principal(f"s3.{ctx.region}"), ctx.service_principal(f"sagemaker.{ctx.region}")],
    }
    anyone = {"AWS": "*"}
    return document(
        *_base_statements(ctx, admin_arns),
        statement("UseViaS3AndSageMaker", _KEY_USE, "*", principals=anyone, conditions={"StringEquals": via}),
        # SageMaker (training volumes, endpoints) and S3 create grants for the resource they encrypt.
        statement(
            "GrantsForAwsResources",
            ["kms:CreateGrant"],
            "*",
            principals=anyone,
            conditions={"StringEquals": via, "Bool": {"kms:GrantIsForAWSResource": "true"}},
        ),
    )


def logs_key_policy(ctx: StackContext, admin_arns: Sequence[str] = ()) -> dict[str, Any]:
    """The logs key: CloudWatch Logs of this region/account and CloudTrail trails of this account."""
    account = ctx.account_id
    trail_context = {"kms:EncryptionContext:aws:cloudtrail:arn": f"arn:{ctx.partition}:cloudtrail:*:{account}:trail/*"}
    # Confused-deputy guard: only trails owned by this account, in this region.
    trail_source = {
        "StringEquals": {"aws:SourceAccount": account},
        "ArnLike": {"aws:SourceArn": ctx.arn("cloudtrail", "trail/*")},
    }
    cloudtrail = {"Service": ctx.service_principal("cloudtrail")}
    return document(
        *_base_statements(ctx, admin_arns),
        statement(
            "CloudWatchLogs",
            ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            "*",
            principals={"Service": ctx.service_principal(f"logs.{ctx.region}")},
            conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": ctx.arn("logs", "log-group:*")}},
        ),
        statement(
            "CloudTrailEncrypt",
            ["kms:GenerateDataKey*"],
            "*",
            principals=cloudtrail,
            conditions={**trail_source, "StringLike": trail_context},
        ),
        statement("CloudTrailDescribeKey", ["kms:DescribeKey"], "*", principals=cloudtrail, conditions=trail_source),
        # As in AWS's CloudTrail KMS docs: principals of this account may decrypt trail log files.
        statement(
            "CloudTrailDecryptInAccount",
            ["kms:Decrypt", "kms:ReEncryptFrom"],
            "*",
            principals={"AWS": "*"},
            conditions={"StringEquals": {"kms:CallerAccount": account}, "StringLike": trail_context},
        ),
        # The alert topics are encrypted with this key: the services that publish to them need it.
        *sns_publisher_key_statements(ctx),
    )


class Kms(pulumi.ComponentResource):
    """Two symmetric, rotated customer-managed keys (``data`` and ``logs``) with aliases."""

    data_key: aws.kms.Key
    logs_key: aws.kms.Key
    data_key_arn: pulumi.Output[str]
    data_key_id: pulumi.Output[str]
    logs_key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: KmsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:security:Kms", name, None, opts)
        self.data_key = self._key(
            name, "data", args, data_key_policy,
            "Data at rest: S3 artifacts, SageMaker volumes/endpoints/training output, ECR, Secrets Manager",
        )
        self.logs_key = self._key(name, "logs", args, logs_key_policy, "Logs: CloudWatch Logs, CloudTrail")
        self.data_key_arn = self.data_key.arn
        self.data_key_id = self.data_key.key_id
        self.logs_key_arn = self.logs_key.arn
        self.register_outputs(
            {"dataKeyArn": self.data_key_arn, "dataKeyId": self.data_key_id, "logsKeyArn": self.logs_key_arn}
        )

    def _key(
        self,
        name: str,
        purpose: str,
        args: KmsArgs,
        policy: Callable[[StackContext, Sequence[str]], dict[str, Any]],
        description: str,
    ) -> aws.kms.Key:
        """One key and its alias; the key is stateful (protect/retain), the alias is not."""
        ctx = args.context
        key = aws.kms.Key(
            f"{name}-{purpose}",
            description=f"{ctx.naming.prefix} {description}",
            key_usage="ENCRYPT_DECRYPT",
            customer_master_key_spec="SYMMETRIC_DEFAULT",
            enable_key_rotation=True,  # yearly: the default rotation period is 365 days
            deletion_window_in_days=args.settings.deletion_window_days,
            policy=render(lambda *admins: policy(ctx, admins), *args.admin_principal_arns),
            tags=ctx.tagging.resource(COMPONENT, ctx.naming.name(purpose)),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.retain_on_delete),
        )
        aws.kms.Alias(
            f"{name}-{purpose}",
            name=ctx.naming.kms_alias(purpose),
            target_key_id=key.key_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return key
