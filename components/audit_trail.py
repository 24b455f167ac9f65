"""The account's audit trail: created here, or one that already records the account.

``settings.trail`` chooses (``audit.trail`` in the stack config):

- ``create`` (default): a multi-region CloudTrail with its own locked-down bucket, a CloudWatch
  Logs copy, and S3 data events for the platform's buckets.
- ``existing``: the account is already recorded by another trail, typically the organisation
  trail (``existing_trail_arn``). Nothing is created: ``trail_arn`` is that trail's ARN and there
  is no bucket or log group of ours. Event selectors are properties of the trail itself, and only
  the organisation's management account (or its CloudTrail delegated administrator) may change an
  organisation trail; a member account can only read it. So the data-event selectors the platform
  needs (``data_event_selectors``) are not applied: the component warns and leaves them for the
  trail's owner to add.
- ``none``: no trail; ``trail_arn`` is ``existing_trail_arn`` when one is named (the trail that
  records the account), else None. The stack config refuses ``none`` in prod unless the trail that
  records the account is named.

The CloudTrail delivery role is this component's own (only its trail uses it), following the
platform's rule: shared roles in ``PlatformRoles``, service roles with the component they serve.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_blueprint.components.audit_trail_settings import AuditTrailSettings
from mlops_blueprint.components.s3_bucket import SecureBucket, SecureBucketArgs, deletion_problems
from mlops_blueprint.components.service_role import service_role
from mlops_blueprint.context import StackContext
from mlops_blueprint.naming import NameKind
from mlops_blueprint.policy_documents import Statement, assume_role_policy, document, render, statement, to_json
from mlops_blueprint.validation import raise_invalid_args

COMPONENT = "audit-trail"
TRAIL_BUCKET_PURPOSE = "audit-trail"


def trail_bucket_name(context: StackContext) -> str:
    """The trail bucket's name, known before it exists (e.g. to let it log to a log bucket)."""
    return context.naming.bucket(TRAIL_BUCKET_PURPOSE)


@dataclass(frozen=True)
class AuditTrailArgs:
    """The logs key, the buckets the trail records, and the user's :class:`AuditTrailSettings`
    (the ``audit`` section)."""

    context: StackContext
    kms_key_arn: pulumi.Input[str]                            # the logs key: trail files, bucket, log group
    access_log_bucket_name: pulumi.Input[str] | None = None   # server access logs of the trail bucket
    data_event_bucket_arns: Sequence[pulumi.Input[str]] = ()  # S3 object-level events (settings.data_events)
    protect: bool = False
    retain_on_delete: bool = False
    force_destroy: bool = False                               # the artifact store's (artifacts.forceDestroy)
    permissions_boundary_arn: str | None = None               # applied to the delivery role, as to every role
    settings: AuditTrailSettings = field(default_factory=AuditTrailSettings)

    def problems(self) -> list[str]:
        """The environment's protection against force_destroy (the settings checked themselves)."""
        return deletion_problems(protect=self.protect, force_destroy=self.force_destroy)

    @property
    def recorded_bucket_arns(self) -> Sequence[pulumi.Input[str]]:
        """The buckets whose object-level events the platform needs recorded."""
        return self.data_event_bucket_arns if self.settings.data_events else ()


class AuditTrail(pulumi.ComponentResource):
    """Multi-region, KMS-encrypted, validated CloudTrail; delivery scoped to this trail only.
    With ``trail`` existing or none, creates nothing (the bucket and log group attributes are None)."""

    trail_arn: pulumi.Output[str] | None
    trail_bucket_name: pulumi.Output[str] | None
    trail_bucket_arn: pulumi.Output[str] | None
    log_group_name: pulumi.Output[str] | None
    log_group_arn: pulumi.Output[str] | None
    data_event_selectors: pulumi.Input[list[dict[str, Any]]]   # what the trail must record for the platform

    def __init__(self, name: str, args: AuditTrailArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        problems = args.problems()
        raise_invalid_args("AuditTrailArgs", problems, subject=repr(name))  # before anything is registered
        super().__init__("mlops:audit:AuditTrail", name, None, opts)
        self.data_event_selectors = _event_selectors(args.recorded_bucket_arns)
        if args.settings.trail == "create":
            self._create(name, args)
        else:
            self._rely_on(args)
        self.register_outputs({
            "trailArn": self.trail_arn,
            "trailBucketName": self.trail_bucket_name,
            "trailBucketArn": self.trail_bucket_arn,
            "logGroupName": self.log_group_name,
            "logGroupArn": self.log_group_arn,
        })

    def _rely_on(self, args: AuditTrailArgs) -> None:
        """Another trail records the account (or none does): nothing of ours to create."""
        arn = args.settings.existing_trail_arn
        self.trail_arn = pulumi.Output.from_input(arn) if arn else None
        self.trail_bucket_name = self.trail_bucket_arn = self.log_group_name = self.log_group_arn = None
        if args.recorded_bucket_arns:
            pulumi.log.warn(
                f"audit.trail is {args.settings.trail!r}: S3 data events of the platform's buckets are not recorded by "
                "this stack. Event selectors belong to the trail, and only the organisation's management account (or "
                "its CloudTrail delegated administrator) can change an organisation trail; ask its owner to add an "
                "advanced event selector for AWS::S3::Object data events on the datasets and models buckets "
                f"(trail: {arn or 'none'}), or set audit.dataEvents: false to silence this.",
                resource=self,
            )

    def _create(self, name: str, args: AuditTrailArgs) -> None:
        ctx = args.context
        child = pulumi.ResourceOptions(parent=self)
        stateful = pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.retain_on_delete)

        # The trail's name and ARN are fixed up front: the bucket policy must name the trail
        # (aws:SourceArn) before the trail exists, because CloudTrail checks the policy on create.
        trail_name = ctx.naming.name("trail", kind=NameKind.CLOUDTRAIL)
        trail_arn = ctx.arn("cloudtrail", f"trail/{trail_name}")

        settings = args.settings
        self.bucket = SecureBucket(f"{name}-bucket", SecureBucketArgs(
            context=ctx, purpose=TRAIL_BUCKET_PURPOSE, component=COMPONENT,
            kms_key_arn=args.kms_key_arn, access_log_bucket_name=args.access_log_bucket_name,
            # Governance mode: WORM for everyone but those granted s3:BypassGovernanceRetention.
            object_lock_days=settings.object_lock_days if settings.object_lock else None, object_lock_mode="GOVERNANCE",
            policy_statements=lambda arn: _allow_cloudtrail(ctx, arn, trail_arn),
            protect=args.protect, retain_on_delete=args.retain_on_delete, force_destroy=args.force_destroy,
        ), child)

        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=ctx.naming.log_group("cloudtrail"),
            retention_in_days=settings.log_retention_days,
            kms_key_id=args.kms_key_arn,
            # Explicit either way: once set, v7 only turns it off when told `false`.
            deletion_protection_enabled=args.protect,
            tags=ctx.tagging.resource(COMPONENT, ctx.naming.log_group("cloudtrail")),
            opts=stateful,
        )

        self.role = service_role(
            f"{name}-logs-role",
            context=ctx,
            component=COMPONENT,
            purpose="cloudtrail-logs",
            description="CloudTrail delivers events to its CloudWatch log group",
            trust=to_json(assume_role_policy(ctx.service_principal("cloudtrail"), source_account=ctx.account_id)),
            permissions_boundary_arn=args.permissions_boundary_arn,
            opts=child,
        )
        self.role_policy = aws.iam.RolePolicy(
            f"{name}-logs-role-policy",
            role=self.role.id,
            policy=render(_log_delivery_policy, self.log_group.arn),
            opts=child,
        )

        self.trail = aws.cloudtrail.Trail(
            f"{name}-trail",
            name=trail_name,
            s3_bucket_name=self.bucket.bucket_name,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            kms_key_id=args.kms_key_arn,
            # CloudTrail wants the log group ARN with the ":*" (all streams) suffix.
            cloud_watch_logs_group_arn=self.log_group.arn.apply(lambda arn: f"{arn}:*"),
            cloud_watch_logs_role_arn=self.role.arn,
            advanced_event_selectors=self.data_event_selectors,
            tags=ctx.tagging.resource(COMPONENT, trail_name),
            # CloudTrail validates bucket policy and role permissions when the trail is created.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.bucket.policy, self.role_policy]),
        )

        self.trail_arn = self.trail.arn
        self.trail_bucket_name = self.bucket.bucket_name
        self.trail_bucket_arn = self.bucket.arn
        self.log_group_name = self.log_group.name
        self.log_group_arn = self.log_group.arn


def _allow_cloudtrail(ctx: StackContext, bucket_arn: str, trail_arn: str) -> list[Statement]:
    """CloudTrail may check the ACL and write under AWSLogs/<account>/, for this trail only."""
    principal = {"Service": ctx.service_principal("cloudtrail")}
    only_this_trail = {"aws:SourceArn": trail_arn}
    return [
        statement("AllowCloudTrailAclCheck", ["s3:GetBucketAcl"], [bucket_arn], principals=principal,
                  conditions={"StringEquals": only_this_trail}),
        statement("AllowCloudTrailWrite", ["s3:PutObject"], [f"{bucket_arn}/AWSLogs/{ctx.account_id}/*"],
                  principals=principal,
                  conditions={"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", **only_this_trail}}),
    ]


def _log_delivery_policy(log_group_arn: str) -> dict[str, Any]:
    """Only stream creation and event delivery, only in the trail's log group."""
    return document(statement("DeliverTrailEvents", ["logs:CreateLogStream", "logs:PutLogEvents"],
                              [f"{log_group_arn}:log-stream:*"]))


def _event_selectors(bucket_arns: Sequence[pulumi.Input[str]]) -> pulumi.Input[list[dict[str, Any]]]:
    """All management events, plus S3 object-level (data) events for the given buckets only."""
    management: dict[str, Any] = {
        "name": "management-events",
        "field_selectors": [{"field": "eventCategory", "equals": ["Management"]}],
    }
    if not bucket_arns:
        return [management]

    def with_data(arns: list[str]) -> list[dict[str, Any]]:
        data = {
            "name": "s3-data-events",
            "field_selectors": [
                {"field": "eventCategory", "equals": ["Data"]},
                {"field": "resources.type", "equals": ["AWS::S3::Object"]},
                # The trailing slash keeps "bucket-a" from also matching "bucket-a-other".
                {"field": "resources.ARN", "starts_withs": [f"{arn}/" for arn in arns]},
            ],
        }
        return [management, data]

    return pulumi.Output.all(*bucket_arns).apply(with_data)
