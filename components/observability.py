"""Optional Prometheus/Grafana: an Amazon Managed Service for Prometheus (AMP) workspace and an
Amazon Managed Grafana workspace, for teams that standardise on them. Off by default (config
``observability.prometheus`` / ``observability.grafana``); CloudWatch stays the platform's own
monitoring either way.

Both are encrypted with a customer-managed key of their own (created here, rotated, usable only
through AMP and Grafana in this account) unless one is passed. The Kubernetes side (model servers,
the self-hosted tracking server) remote-writes to :attr:`Observability.remote_write_url` with an
IRSA role that attaches :attr:`Observability.remote_write_policy_arn` (``aps:RemoteWrite`` on this
workspace only). Grafana authenticates users with IAM Identity Center (``AWS_SSO``) or ``SAML``
(the IdP is configured afterwards with ``aws.grafana.WorkspaceSamlConfiguration``) and reads AMP and
CloudWatch through a role scoped to this workspace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_blueprint.components.arg_checks import type_problems
from mlops_blueprint.components.observability_settings import ObservabilitySettings
from mlops_blueprint.components.service_role import service_role
from mlops_blueprint.context import StackContext
from mlops_blueprint.naming import NameKind
from mlops_blueprint.policy_documents import document, render, statement, to_json
from mlops_blueprint.validation import raise_invalid_args

COMPONENT = "observability"
TYPE = "mlops:monitoring:Observability"
_KEY_USE = ("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey", "kms:CreateGrant")


@dataclass(frozen=True)
class ObservabilityArgs:
    """The key and protection of the workspaces, and ``settings`` (the ``observability`` section)."""

    context: StackContext
    settings: ObservabilitySettings = field(default_factory=ObservabilitySettings)
    kms_key_arn: pulumi.Input[str] | None = None     # None: a key of its own (policy for AMP and Grafana)
    key_deletion_window_days: int = 30
    protect: bool = False                            # prod: True (the workspace holds metrics, the key decrypts them)
    retain_on_delete: bool = False
    permissions_boundary_arn: str | None = None

    def problems(self) -> list[str]:
        problems = type_problems(self, context=StackContext, settings=ObservabilitySettings)
        # The kms section's limit, checked here for callers that build the args themselves.
        if not 7 <= self.key_deletion_window_days <= 30:
            problems.append(f"key_deletion_window_days: {self.key_deletion_window_days} is outside 7..30")
        return problems


def key_policy(ctx: StackContext) -> dict[str, Any]:
    """Root delegation; use of the key by this account's principals only through AMP and Grafana."""
    return document(
        statement("EnableIamPolicies", ["kms:*"], "*", principals={"AWS": ctx.account_root_arn}),
        statement("UseViaPrometheusAndGrafana", _KEY_USE, "*", principals={"AWS": "*"}, conditions={
            "StringEquals": {
                "kms:CallerAccount": ctx.account_id,
                "kms:ViaService": [ctx.service_principal(f"aps.{ctx.region}"),
                                   ctx.service_principal(f"grafana.{ctx.region}")],
            }}),
    )


def remote_write_url(region: str, workspace_id: str) -> str:
    return f"https://aps-workspaces.{region}.amazonaws.com/workspaces/{workspace_id}/api/v1/remote_write"


def grafana_policy(ctx: StackContext, workspace_arn: str | None) -> dict[str, Any]:
    """Read CloudWatch metrics/alarms and (when present) query this AMP workspace."""
    statements = [
        # CloudWatch's read actions take no resource ARNs.
        statement("ReadCloudWatch", [
            "cloudwatch:DescribeAlarmHistory", "cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmsForMetric",
            "cloudwatch:GetInsightRuleReport", "cloudwatch:GetMetricData", "cloudwatch:ListMetrics",
            "ec2:DescribeRegions", "tag:GetResources",
        ], "*", conditions={"StringEquals": {"aws:RequestedRegion": ctx.region}}),
    ]
    if workspace_arn:
        statements.append(statement("QueryPrometheus", [
            "aps:DescribeWorkspace", "aps:GetLabels", "aps:GetMetricMetadata", "aps:GetSeries", "aps:QueryMetrics",
        ], [workspace_arn]))
    return document(*statements)


class Observability(pulumi.ComponentResource):
    """AMP and/or Managed Grafana workspaces, encrypted, with scoped roles and remote-write outputs."""

    prometheus_workspace_id: pulumi.Output[str] | None
    prometheus_workspace_arn: pulumi.Output[str] | None
    remote_write_url: pulumi.Output[str] | None
    remote_write_policy_arn: pulumi.Output[str] | None
    grafana_workspace_id: pulumi.Output[str] | None
    grafana_endpoint: pulumi.Output[str] | None
    kms_key_arn: pulumi.Output[str] | None

    def __init__(self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        raise_invalid_args("ObservabilityArgs", args.problems(), subject=repr(name))
        super().__init__(TYPE, name, None, opts)
        ctx, settings = args.context, args.settings
        child = pulumi.ResourceOptions(parent=self)
        stateful = pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.retain_on_delete)
        self.prometheus_workspace_id = self.prometheus_workspace_arn = self.remote_write_url = None
        self.remote_write_policy_arn = self.grafana_workspace_id = self.grafana_endpoint = None
        self.kms_key_arn = None

        if settings.prometheus or settings.grafana:
            if args.kms_key_arn is None:
                key = aws.kms.Key(
                    f"{name}-key",
                    description=f"{ctx.naming.prefix} Managed Prometheus and Grafana workspaces",
                    key_usage="ENCRYPT_DECRYPT",
                    customer_master_key_spec="SYMMETRIC_DEFAULT",
                    enable_key_rotation=True,
                    deletion_window_in_days=args.key_deletion_window_days,
                    policy=to_json(key_policy(ctx)),
                    tags=ctx.tagging.resource(COMPONENT, ctx.naming.name("observability")),
                    opts=stateful,
                )
                aws.kms.Alias(f"{name}-key", name=ctx.naming.kms_alias("observability"), target_key_id=key.key_id,
                              opts=child)
                self.kms_key_arn = key.arn
            else:
                self.kms_key_arn = pulumi.Output.from_input(args.kms_key_arn)

        workspace = None
        if settings.prometheus:
            alias = ctx.naming.name("metrics")
            workspace = aws.amp.Workspace(
                f"{name}-prometheus",
                alias=alias,
                kms_key_arn=self.kms_key_arn,
                tags=ctx.tagging.resource(COMPONENT, alias),
                opts=stateful,
            )
            self.prometheus_workspace_id = workspace.id
            self.prometheus_workspace_arn = workspace.arn
            self.remote_write_url = workspace.id.apply(lambda i: remote_write_url(ctx.region, i))
            policy_name = ctx.naming.name("amp-remote-write", kind=NameKind.IAM_POLICY)
            remote_write = aws.iam.Policy(
                f"{name}-remote-write",
                name=policy_name,
                description=f"{ctx.naming.prefix}: remote-write metrics to the platform's Prometheus workspace",
                policy=render(lambda arn: document(statement("RemoteWrite", ["aps:RemoteWrite"], [arn])), workspace.arn),
                tags=ctx.tagging.resource(COMPONENT, policy_name),
                opts=child,
            )
            self.remote_write_policy_arn = remote_write.arn

        if settings.grafana:
            trust = document(statement(
                "TrustGrafana", ["sts:AssumeRole"], None, principals={"Service": ctx.service_principal("grafana")},
                conditions={"StringEquals": {"aws:SourceAccount": ctx.account_id},
                            "ArnLike": {"aws:SourceArn": ctx.arn("grafana", "/workspaces/*")}},
            ))
            role = service_role(f"{name}-grafana", context=ctx, component=COMPONENT, purpose="grafana",
                                description="Managed Grafana reads CloudWatch and Prometheus", trust=to_json(trust),
                                permissions_boundary_arn=args.permissions_boundary_arn, opts=child)
            grafana_policy_resource = aws.iam.RolePolicy(
                f"{name}-grafana",
                name=ctx.naming.name("grafana", kind=NameKind.IAM_POLICY),
                role=role.name,
                policy=render(lambda arn: grafana_policy(ctx, arn), workspace.arn if workspace else None),
                opts=child,
            )
            grafana_name = ctx.naming.name("grafana")
            grafana = aws.grafana.Workspace(
                f"{name}-grafana",
                name=grafana_name,
                description=f"{ctx.naming.prefix} dashboards",
                account_access_type="CURRENT_ACCOUNT",
                authentication_providers=[settings.grafana_authentication],
                permission_type="CUSTOMER_MANAGED",
                role_arn=role.arn,
                data_sources=["CLOUDWATCH", *(["PROMETHEUS"] if workspace else [])],
                kms_key_id=self.kms_key_arn,
                tags=ctx.tagging.resource(COMPONENT, grafana_name),
                # Grafana checks that it can assume and use the role when the workspace is created.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[grafana_policy_resource]),
            )
            self.grafana_workspace_id = grafana.id
            self.grafana_endpoint = grafana.endpoint

        self.register_outputs({
            "prometheusWorkspaceId": self.prometheus_workspace_id,
            "prometheusRemoteWriteUrl": self.remote_write_url,
            "prometheusRemoteWritePolicyArn": self.remote_write_policy_arn,
            "grafanaWorkspaceId": self.grafana_workspace_id,
            "grafanaEndpoint": self.grafana_endpoint,
        })
