"""CI pipelines (GitHub Actions, GitLab CI) through OIDC: who may assume the CI roles, and what they may do.

Pure policy builders (no resources): :class:`~mlops_blueprint.components.platform_roles.PlatformRoles`
creates the OIDC provider and the roles. Two roles, so that the code of any branch or merge request
can be previewed without being able to change anything:

- ``ci-preview``: any ref of the repository; read-only, and never data-plane reads (object bodies,
  secret values, log events, image layers, feature-store records, instance console output).
- ``ci-deploy``: only the deploy branch; writes limited to this stack's resources, by name prefix
  where the service has name-based ARNs and by ``project``/``environment`` tags where it does not
  (KMS keys, EC2 network resources). With a permissions boundary configured, every role it creates
  or changes must carry that boundary, so CI cannot mint a role stronger than the boundary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from mlops_blueprint.context import StackContext
from mlops_blueprint.policy_documents import Statement, document, statement

CiProvider = Literal["none", "github", "gitlab"]
GITHUB_ISSUER = "token.actions.githubusercontent.com"
# aws-actions/configure-aws-credentials asks for this audience by default (all partitions).
GITHUB_AUDIENCE = "sts.amazonaws.com"


def owned_prefix(ctx: StackContext) -> str:
    """``<project>-<environment>`` for ARN patterns; lowercase because S3, SageMaker, ECR and RDS
    lowercase names (SageMaker lowercases them in ARNs), and ARN matching is case-sensitive."""
    return ctx.naming.prefix.lower()


@dataclass(frozen=True)
class CiIdentity:
    """One repository's OIDC identity: issuer (as in the provider URL and condition keys), audience."""

    provider: Literal["github", "gitlab"]
    repository: str
    deploy_branch: str
    issuer: str  # host[/path] without scheme, e.g. token.actions.githubusercontent.com
    audience: str
    environment: str  # the stack's environment: GitHub deploy jobs run in the environment of that name

    @property
    def url(self) -> str:
        return f"https://{self.issuer}"

    @property
    def preview_subject(self) -> str:
        """``sub`` pattern (StringLike) for previews: any ref/event of the repository."""
        if self.provider == "github":
            return f"repo:{self.repository}:*"
        # GitLab: branches only (merge-request pipelines run on their source branch), no tags.
        return f"project_path:{self.repository}:ref_type:branch:ref:*"

    @property
    def deploy_subject(self) -> str:
        """Exact ``sub`` (StringEquals) for deploys.

        GitHub: a job that declares ``environment: <env>`` gets the subject
        ``repo:<repo>:environment:<env>``, so each stack's deploy role trusts only its own GitHub
        environment, and that environment's rules (required reviewers for prod, deployment branch
        = the deploy branch) are what AWS ends up enforcing. GitLab: the deploy branch.
        """
        if self.provider == "github":
            return f"repo:{self.repository}:environment:{self.environment}"
        return f"project_path:{self.repository}:ref_type:branch:ref:{self.deploy_branch}"


def ci_identity(
    provider: Literal["github", "gitlab"],
    repository: str,
    deploy_branch: str,
    gitlab_url: str,
    oidc_provider_arn: str | None,
    environment: str,
) -> CiIdentity:
    """The identity for validated args; an existing provider's ARN names the issuer exactly
    (e.g. a GitHub Enterprise issuer ``token.actions.githubusercontent.com/<enterprise>``)."""
    default_issuer = GITHUB_ISSUER if provider == "github" else gitlab_url.removeprefix("https://")
    issuer = oidc_provider_arn.split(":oidc-provider/", 1)[1] if oidc_provider_arn else default_issuer
    audience = GITHUB_AUDIENCE if provider == "github" else gitlab_url
    return CiIdentity(provider, repository, deploy_branch, issuer, audience, environment)


def web_identity_trust(identity: CiIdentity, oidc_provider_arn: str, *, deploy: bool) -> dict[str, Any]:
    """Trust for tokens of ``identity``'s repository: the audience always, the subject per role."""
    conditions: dict[str, dict[str, Any]] = {"StringEquals": {f"{identity.issuer}:aud": identity.audience}}
    if deploy:
        conditions["StringEquals"][f"{identity.issuer}:sub"] = identity.deploy_subject
    else:
        conditions["StringLike"] = {f"{identity.issuer}:sub": identity.preview_subject}
    return document(
        statement(
            "TrustCiOidc",
            ["sts:AssumeRoleWithWebIdentity"],
            None,
            principals={"Federated": oidc_provider_arn},
            conditions=conditions,
        )
    )


# -- read-only (both CI roles) ---------------------------------------------------------------

# What a preview/refresh reads, per service. Wildcards only where every matching action is
# metadata; data-plane reads are left out on purpose (s3:GetObject*, secretsmanager:GetSecretValue,
# kms:Decrypt, logs:GetLogEvents/GetQueryResults, ecr:BatchGetImage/GetDownloadUrlForLayer,
# sagemaker:GetRecord, ec2:GetPasswordData/GetConsoleOutput, cloudtrail:GetQueryResults).
_READ_ONLY_ACTIONS: tuple[str, ...] = (
    "application-autoscaling:Describe*", "application-autoscaling:ListTagsForResource",
    "budgets:Describe*", "budgets:ListTagsForResource", "budgets:ViewBudget",
    "cloudtrail:DescribeTrails", "cloudtrail:GetEventSelectors", "cloudtrail:GetInsightSelectors",
    "cloudtrail:GetTrail", "cloudtrail:GetTrailStatus", "cloudtrail:ListTags", "cloudtrail:ListTrails",
    "cloudformation:Describe*", "cloudformation:GetTemplate", "cloudformation:List*",
    "cloudwatch:Describe*", "cloudwatch:Get*", "cloudwatch:List*",
    "ec2:Describe*",
    "ecr:Describe*", "ecr:GetLifecyclePolicy", "ecr:GetRepositoryPolicy", "ecr:ListImages", "ecr:ListTagsForResource",
    "events:Describe*", "events:List*",
    "iam:Get*", "iam:List*",
    "kms:Describe*", "kms:Get*", "kms:List*",
    "logs:Describe*", "logs:GetDataProtectionPolicy", "logs:ListTagsForResource", "logs:ListTagsLogGroup",
    "rds:Describe*", "rds:ListTagsForResource",
    "sagemaker:Describe*", "sagemaker:GetModelPackageGroupPolicy", "sagemaker:List*",
    "secretsmanager:Describe*", "secretsmanager:GetResourcePolicy", "secretsmanager:List*",
    "sns:Get*", "sns:List*",
    "states:Describe*", "states:List*",
    "s3:ListAllMyBuckets",
)

# Bucket configuration, never objects; ListBucket (object keys) only on this stack's buckets.
_S3_BUCKET_READ: tuple[str, ...] = (
    "s3:GetAccelerateConfiguration", "s3:GetBucket*", "s3:GetEncryptionConfiguration",
    "s3:GetLifecycleConfiguration", "s3:GetReplicationConfiguration", "s3:ListBucket",
)


def read_only_statements(ctx: StackContext) -> list[Statement]:
    """What ``pulumi preview --refresh`` needs to read this stack's resources."""
    return [
        statement("ReadPlatformMetadata", _READ_ONLY_ACTIONS, "*"),
        statement("ReadOwnedBucketConfig", _S3_BUCKET_READ, [_s3(ctx, f"{owned_prefix(ctx)}-*")]),
    ]


def state_bucket_statements(bucket_arn: str, *, write: bool) -> list[Statement]:
    """A Pulumi DIY (S3) backend: ``<bucket>[/<prefix>]/.pulumi/...``. Previews take the stack lock
    (write and delete a lock object) but never write state; deploys write state, history, backups."""
    state = f"{bucket_arn}/*.pulumi/*"
    writable = state if write else f"{bucket_arn}/*.pulumi/locks/*"
    return [
        statement("StateBucketList", ["s3:GetBucketLocation", "s3:ListBucket"], [bucket_arn]),
        statement("StateRead", ["s3:GetObject"], [state]),
        statement("StateWrite", ["s3:DeleteObject", "s3:PutObject"], [writable]),
    ]


# -- deploy (ci-deploy only) -----------------------------------------------------------------

# Roles the platform passes to AWS services; PassRole to anything else is refused.
_PASS_ROLE_SERVICES: tuple[str, ...] = (
    "cloudformation", "cloudtrail", "events", "grafana", "monitoring.rds", "sagemaker", "states", "vpc-flow-logs",
)
# Service-linked roles the platform's resources may need on first use.
_SERVICE_LINKED_ROLES: tuple[str, ...] = ("rds", "sagemaker.application-autoscaling")

# Changes to what a role may do: under the permissions boundary, when one is configured.
_IAM_ROLE_PERMISSIONS: tuple[str, ...] = (
    "iam:CreateRole", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy",
)
_IAM_ROLE_ATTACH: tuple[str, ...] = ("iam:AttachRolePolicy", "iam:DetachRolePolicy")
_IAM_ROLE_MANAGE: tuple[str, ...] = (
    "iam:DeleteRole", "iam:TagRole", "iam:UntagRole", "iam:UpdateAssumeRolePolicy", "iam:UpdateRole",
    "iam:UpdateRoleDescription",
)
_IAM_POLICY_MANAGE: tuple[str, ...] = (
    "iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion",
    "iam:TagPolicy", "iam:UntagPolicy",
)

# EC2 resources the Network component creates: allowed only when tagged as this stack's on create.
_EC2_CREATE: tuple[str, ...] = (
    "ec2:AuthorizeSecurityGroupEgress", "ec2:AuthorizeSecurityGroupIngress", "ec2:CreateFlowLogs",
    "ec2:CreateRouteTable", "ec2:CreateSecurityGroup", "ec2:CreateSubnet", "ec2:CreateVpc",
    "ec2:CreateVpcEndpoint",
)
# ...and changed only while they carry this stack's tags.
_EC2_MANAGE: tuple[str, ...] = (
    "ec2:AssociateRouteTable", "ec2:AuthorizeSecurityGroupEgress", "ec2:AuthorizeSecurityGroupIngress",
    "ec2:CreateTags", "ec2:DeleteFlowLogs", "ec2:DeleteRouteTable", "ec2:DeleteSecurityGroup",
    "ec2:DeleteSubnet", "ec2:DeleteTags", "ec2:DeleteVpc", "ec2:DeleteVpcEndpoints",
    "ec2:DisassociateRouteTable", "ec2:ModifySecurityGroupRules", "ec2:ModifySubnetAttribute",
    "ec2:ModifyVpcAttribute", "ec2:ModifyVpcEndpoint", "ec2:RevokeSecurityGroupEgress",
    "ec2:RevokeSecurityGroupIngress", "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
    "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
)
# Key management by tag (key ARNs are random ids). No DisableKeyRotation: CI may not weaken keys.
_KMS_ALIASES: tuple[str, ...] = ("kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias")
_KMS_MANAGE: tuple[str, ...] = _KMS_ALIASES + (  # alias actions are authorized on the key too
    "kms:CancelKeyDeletion", "kms:EnableKeyRotation", "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion",
    "kms:TagResource", "kms:UntagResource", "kms:UpdateKeyDescription",
)
_S3_BUCKET_WRITE: tuple[str, ...] = (
    "s3:CreateBucket", "s3:DeleteBucket", "s3:DeleteBucketOwnershipControls", "s3:DeleteBucketPolicy",
    "s3:PutBucket*", "s3:PutEncryptionConfiguration", "s3:PutLifecycleConfiguration",
    "s3:PutReplicationConfiguration",
)
_LOGS_WRITE: tuple[str, ...] = (
    "logs:AssociateKmsKey", "logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:DeleteRetentionPolicy",
    "logs:PutRetentionPolicy", "logs:TagLogGroup", "logs:TagResource", "logs:UntagLogGroup",
    "logs:UntagResource",
)
_SAGEMAKER_WRITE: tuple[str, ...] = (
    "sagemaker:AddTags", "sagemaker:CreateEndpoint", "sagemaker:CreateEndpointConfig",
    "sagemaker:CreateMlflowTrackingServer", "sagemaker:CreateModel", "sagemaker:CreateModelPackageGroup",
    "sagemaker:CreateMonitoringSchedule", "sagemaker:CreatePipeline", "sagemaker:DeleteEndpoint",
    "sagemaker:DeleteEndpointConfig", "sagemaker:DeleteMlflowTrackingServer", "sagemaker:DeleteModel",
    "sagemaker:DeleteModelPackageGroup", "sagemaker:DeleteModelPackageGroupPolicy",
    "sagemaker:DeleteMonitoringSchedule", "sagemaker:DeletePipeline", "sagemaker:DeleteTags",
    "sagemaker:PutModelPackageGroupPolicy", "sagemaker:StartMlflowTrackingServer",
    "sagemaker:StopMlflowTrackingServer", "sagemaker:UpdateEndpoint",
    "sagemaker:UpdateEndpointWeightsAndCapacities", "sagemaker:UpdateMlflowTrackingServer",
    "sagemaker:UpdateMonitoringSchedule", "sagemaker:UpdatePipeline",
    # Monitoring: job definitions are replaced, never updated, so create and delete suffice.
    "sagemaker:CreateDataQualityJobDefinition", "sagemaker:DeleteDataQualityJobDefinition",
    "sagemaker:CreateModelQualityJobDefinition", "sagemaker:DeleteModelQualityJobDefinition",
    "sagemaker:CreateMlflowApp", "sagemaker:DeleteMlflowApp", "sagemaker:UpdateMlflowApp",
)
# The retraining cooldown (Step Functions) and the model-quality job (a one-resource CloudFormation stack).
_STATES_WRITE: tuple[str, ...] = (
    "states:CreateStateMachine", "states:DeleteStateMachine", "states:TagResource", "states:UntagResource",
    "states:UpdateStateMachine",
)
_CLOUDFORMATION_WRITE: tuple[str, ...] = (
    "cloudformation:CreateStack", "cloudformation:DeleteStack", "cloudformation:TagResource",
    "cloudformation:UpdateStack",
)
_ECR_WRITE: tuple[str, ...] = (
    "ecr:CreateRepository", "ecr:DeleteLifecyclePolicy", "ecr:DeleteRepository", "ecr:DeleteRepositoryPolicy",
    "ecr:PutImageScanningConfiguration", "ecr:PutImageTagMutability", "ecr:PutLifecyclePolicy",
    "ecr:SetRepositoryPolicy", "ecr:TagResource", "ecr:UntagResource",
)
_RDS_WRITE: tuple[str, ...] = (
    "rds:AddTagsToResource", "rds:CreateDBInstance", "rds:CreateDBParameterGroup", "rds:CreateDBSubnetGroup",
    "rds:DeleteDBInstance", "rds:DeleteDBParameterGroup", "rds:DeleteDBSubnetGroup", "rds:ModifyDBInstance",
    "rds:ModifyDBParameterGroup", "rds:ModifyDBSubnetGroup", "rds:RebootDBInstance",
    "rds:RemoveTagsFromResource",
)
# Writing secrets is deploy work; reading them back (GetSecretValue) is not.
_SECRETS_WRITE: tuple[str, ...] = (
    "secretsmanager:CreateSecret", "secretsmanager:DeleteResourcePolicy", "secretsmanager:DeleteSecret",
    "secretsmanager:PutResourcePolicy", "secretsmanager:PutSecretValue", "secretsmanager:TagResource",
    "secretsmanager:UntagResource", "secretsmanager:UpdateSecret",
)
_SNS_WRITE: tuple[str, ...] = (
    "sns:CreateTopic", "sns:DeleteTopic", "sns:SetTopicAttributes", "sns:Subscribe", "sns:TagResource",
    "sns:Unsubscribe", "sns:UntagResource",
)
_EVENTS_WRITE: tuple[str, ...] = (
    "events:DeleteRule", "events:DisableRule", "events:EnableRule", "events:PutRule", "events:PutTargets",
    "events:RemoveTargets", "events:TagResource", "events:UntagResource",
)
_CLOUDWATCH_WRITE: tuple[str, ...] = (
    "cloudwatch:DeleteAlarms", "cloudwatch:DeleteDashboards", "cloudwatch:PutDashboard",
    "cloudwatch:PutMetricAlarm", "cloudwatch:TagResource", "cloudwatch:UntagResource",
)
# No StopLogging/DeleteTrail: turning the audit trail off stays an administrator's decision.
_CLOUDTRAIL_WRITE: tuple[str, ...] = (
    "cloudtrail:AddTags", "cloudtrail:CreateTrail", "cloudtrail:PutEventSelectors",
    "cloudtrail:PutInsightSelectors", "cloudtrail:RemoveTags", "cloudtrail:StartLogging",
    "cloudtrail:UpdateTrail",
)
# Scalable targets have random-id ARNs and no tag conditions: region-scoped instead.
_AUTOSCALING_WRITE: tuple[str, ...] = (
    "application-autoscaling:DeleteScalingPolicy", "application-autoscaling:DeregisterScalableTarget",
    "application-autoscaling:PutScalingPolicy", "application-autoscaling:RegisterScalableTarget",
    "application-autoscaling:TagResource", "application-autoscaling:UntagResource",
)
# Every IAM write, for Deny statements (a broad Deny only ever takes away); reads stay allowed.
_IAM_WRITE_PATTERNS: tuple[str, ...] = (
    "iam:Attach*", "iam:Create*", "iam:Delete*", "iam:Detach*", "iam:Put*", "iam:Set*", "iam:Tag*",
    "iam:Untag*", "iam:Update*",
)


def _s3(ctx: StackContext, resource: str) -> str:
    return ctx.arn("s3", resource, regional=False, account=False)


def _iam(ctx: StackContext, resource: str) -> str:
    return ctx.arn("iam", resource, regional=False)


def _tagged(ctx: StackContext, kind: Literal["RequestTag", "ResourceTag"]) -> dict[str, str]:
    """This stack's ownership tags; ``environment`` too, since stacks may share an account."""
    return {f"aws:{kind}/project": ctx.naming.project, f"aws:{kind}/environment": ctx.environment}


def _owned_by_name(ctx: StackContext) -> dict[tuple[str, ...], list[str]]:
    """Write actions per service -> this stack's resources of that service, by name prefix."""
    prefix = owned_prefix(ctx)
    named = f"{ctx.naming.prefix}-*"  # IAM, logs, SNS, ... keep case
    return {
        _IAM_ROLE_MANAGE: [_iam(ctx, f"role/{named}")],
        _IAM_POLICY_MANAGE: [_iam(ctx, f"policy/{named}")],
        # Bucket configuration only: object data is not CI's business.
        _S3_BUCKET_WRITE: [_s3(ctx, f"{prefix}-*")],
        _KMS_ALIASES: [ctx.arn("kms", f"alias/{named}")],
        _LOGS_WRITE: [ctx.arn("logs", f"log-group:{ctx.naming.log_group()}/*"), ctx.arn("logs", f"log-group:{named}")],
        _SAGEMAKER_WRITE: [ctx.arn("sagemaker", f"*/{prefix}-*")],
        _ECR_WRITE: [ctx.arn("ecr", f"repository/{prefix}-*")],
        # New instances reference (never change: AWS refuses) the default parameter/option groups.
        _RDS_WRITE: [ctx.arn("rds", f"{kind}:{prefix}-*") for kind in ("db", "pg", "subgrp")]
        + [ctx.arn("rds", "pg:default*"), ctx.arn("rds", "og:default*")],
        _SECRETS_WRITE: [ctx.arn("secretsmanager", f"secret:{named}")],
        _SNS_WRITE: [ctx.arn("sns", named)],
        _EVENTS_WRITE: [ctx.arn("events", f"rule/{named}")],
        _CLOUDWATCH_WRITE: [ctx.arn("cloudwatch", f"alarm:{named}"),
                            ctx.arn("cloudwatch", f"dashboard/{named}", regional=False)],
        _CLOUDTRAIL_WRITE: [ctx.arn("cloudtrail", f"trail/{named}")],
        ("budgets:ModifyBudget",): [ctx.arn("budgets", f"budget/{named}", regional=False)],
        _STATES_WRITE: [ctx.arn("states", f"stateMachine:{named}")],
        _CLOUDFORMATION_WRITE: [ctx.arn("cloudformation", f"stack/{named}/*")],
    }


def deploy_statements(
    ctx: StackContext,
    *,
    permissions_boundary_arn: str | None,
    protected_arns: Sequence[str],
) -> list[Statement]:
    """Writes on resources named for this stack, and the IAM guardrails. ``protected_arns`` (the CI
    roles and their managed policies) stay read-only to CI, so a pipeline can never widen its own
    trust or permissions."""
    roles = [_iam(ctx, f"role/{ctx.naming.prefix}-*")]
    boundary = {"StringEquals": {"iam:PermissionsBoundary": permissions_boundary_arn}} if permissions_boundary_arn else {}
    attachable = [_iam(ctx, f"policy/{ctx.naming.prefix}-*"), f"arn:{ctx.partition}:iam::aws:policy/service-role/*"]
    owned = _owned_by_name(ctx)
    statements = [
        # One statement for every name-scoped service: an action only ever matches its own
        # service's ARNs, so merging them grants nothing extra (and keeps under IAM's size limit).
        statement("ManageOwnedByName", [a for actions in owned for a in actions],
                  [arn for arns in owned.values() for arn in arns]),
        # Role permissions only under the boundary (when configured): CI cannot escalate past it.
        statement("IamRolePermissions", _IAM_ROLE_PERMISSIONS, roles, conditions=boundary),
        # Managed policies: this stack's own or AWS service-role policies, never AdministratorAccess.
        statement("IamRoleAttach", _IAM_ROLE_ATTACH, roles,
                  conditions={**boundary, "ArnLike": {"iam:PolicyARN": attachable}}),
        statement("IamPassRole", ["iam:PassRole"], roles, conditions={
            "StringEquals": {"iam:PassedToService": [ctx.service_principal(s) for s in _PASS_ROLE_SERVICES]}}),
        statement("IamServiceLinkedRoles", ["iam:CreateServiceLinkedRole"], [_iam(ctx, "role/aws-service-role/*")],
                  conditions={"StringEquals": {
                      "iam:AWSServiceName": [ctx.service_principal(s) for s in _SERVICE_LINKED_ROLES]}}),
        # RDS-managed master passwords live in secrets RDS names rds!<id>.
        statement("SecretsForRds", ["secretsmanager:CreateSecret", "secretsmanager:TagResource"],
                  [ctx.arn("secretsmanager", "secret:rds!*")]),
        # Guardrails that no Allow can override.
        statement("DenyBoundaryRemoval", ["iam:DeleteRolePermissionsBoundary"], "*", effect="Deny"),
        # CI may rewrite the trust of this stack's roles, so it must not be able to then become them
        # (same-account trust naming the CI role would otherwise suffice to assume, e.g., training).
        statement("DenyRoleChaining", ["sts:AssumeRole"], "*", effect="Deny"),
    ]
    if protected_arns:
        statements.append(statement("DenyCiIamChanges", _IAM_WRITE_PATTERNS, list(protected_arns), effect="Deny"))
    if permissions_boundary_arn:
        statements.append(statement("DenyBoundaryChanges", _IAM_WRITE_PATTERNS, [permissions_boundary_arn], effect="Deny"))
    return statements


def tagged_deploy_statements(ctx: StackContext) -> list[Statement]:
    """Writes on resources whose ARNs are random ids (KMS keys, EC2 network resources): fenced by
    this stack's ``project``/``environment`` tags instead of names (scalable targets: by region)."""
    resource_tagged = {"StringEquals": _tagged(ctx, "ResourceTag")}
    return [
        # KMS: create only tagged as ours, then manage only keys tagged as ours.
        statement("KmsCreateTagged", ["kms:CreateKey", "kms:TagResource"], "*", conditions={
            "StringEquals": _tagged(ctx, "RequestTag"), "StringEqualsIfExists": _tagged(ctx, "ResourceTag")}),
        statement("KmsManageTagged", _KMS_MANAGE, "*", conditions=resource_tagged),
        # ECR/RDS/SageMaker encrypt their resources with our keys through grants.
        statement("KmsGrantsForServices", ["kms:CreateGrant"], "*", conditions={
            **resource_tagged, "Bool": {"kms:GrantIsForAWSResource": "true"}}),
        # EC2: create only tagged as ours (tags in the create request), then manage only what is ours.
        statement("Ec2CreateTagged", _EC2_CREATE, "*", conditions={"StringEquals": _tagged(ctx, "RequestTag")}),
        statement("Ec2TagOnCreate", ["ec2:CreateTags"], "*",
                  conditions={"StringEquals": {"ec2:CreateAction": [a.split(":")[1] for a in _EC2_CREATE]}}),
        statement("Ec2ManageTagged", _EC2_MANAGE, "*", conditions=resource_tagged),
        statement("AutoscalingInRegion", _AUTOSCALING_WRITE, "*",
                  conditions={"StringEquals": {"aws:RequestedRegion": ctx.region}}),
        # Retagging an existing resource into or out of this stack would move it across the fence
        # (tagging at creation, which carries ec2:CreateAction, is not retagging).
        statement("DenyOwnershipRetag", ["ec2:CreateTags", "ec2:DeleteTags", "kms:UntagResource"], "*",
                  effect="Deny", conditions={
                      "ForAnyValue:StringEquals": {"aws:TagKeys": ["environment", "project"]},
                      "Null": {"ec2:CreateAction": "true"}}),
    ]
