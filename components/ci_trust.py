"""CI pipelines (GitHub Actions, GitLab CI, Jenkins, Pulumi ESC) through OIDC: who may assume the CI roles,
and what they may do.

Pure policy builders (no resources): :class:`~mlops_blueprint.components.platform_roles.PlatformRoles`
creates the OIDC provider and the roles. Two roles, so that the code of any branch or merge request
can be previewed without being able to change anything:

- ``ci-preview``: any ref of the repository; read-only, and never data-plane reads (object bodies,
  secret values, log events, image layers, feature-store records, instance console output).
- ``ci-deploy``: only the deploy branch; writes limited to this stack's resources, by name prefix
  where the service has name-based ARNs and by ``project``/``environment`` tags where it does not
  (KMS keys, EC2 network resources, MLflow apps, Prometheus/Grafana workspaces). With a permissions
  boundary configured, every role it creates or changes must carry that boundary, so CI cannot mint
  a role stronger than the boundary.

The deploy actions are not kept here: they are every write action of every type in the
resource-type registry (:mod:`mlops_blueprint.resource_types`), fenced as the registry says, less
:data:`WITHHELD_ACTIONS` and :data:`WITHHELD_OPERATIONS`. A type the stack starts to create is
added there, and CI may deploy it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Literal
from urllib.parse import quote

from mlops_blueprint import resource_types as rt
from mlops_blueprint.components.drift_job import PROCESSING_LOG_GROUP
from mlops_blueprint.components.platform_roles_settings import CiSettings
from mlops_blueprint.context import StackContext
from mlops_blueprint.policy_documents import Statement, document, statement

# aws-actions/configure-aws-credentials asks for this audience by default (all partitions); the
# Jenkinsfile's id-token credential uses it too.
STS_AUDIENCE = "sts.amazonaws.com"


def owned_prefix(ctx: StackContext) -> str:
    """``<project>-<environment>`` for ARN patterns; lowercase because S3, SageMaker, ECR and RDS
    lowercase names (SageMaker lowercases them in ARNs), and ARN matching is case-sensitive."""
    return ctx.naming.prefix.lower()


@dataclass(frozen=True)
class CiIdentity:
    """One repository's OIDC identity: issuer (as in the provider URL and condition keys), audience."""

    provider: Literal["github", "gitlab", "jenkins", "pulumi"]
    repository: str
    deploy_branch: str
    issuer: str  # host[/path] without scheme, e.g. token.actions.githubusercontent.com
    audience: str
    environment: str  # the stack's environment: GitHub deploy jobs run in the environment of that name
    jenkins_url: str | None = None  # Jenkins: the root URL its job URLs (the default ``sub``) start with

    @property
    def url(self) -> str:
        return f"https://{self.issuer}"

    @property
    def preview_subject(self) -> str:
        """``sub`` pattern (StringLike) for previews: any ref/event of the repository."""
        if self.provider == "github":
            return f"repo:{self.repository}:*"
        if self.provider == "jenkins":  # any branch or pull-request job of the multibranch pipeline
            return f"{self._jenkins_job}/job/*"
        if self.provider == "pulumi":  # any ESC environment of the project
            return f"{self._pulumi_environments}/*"
        # GitLab: branches only (merge-request pipelines run on their source branch), no tags.
        return f"project_path:{self.repository}:ref_type:branch:ref:*"

    @property
    def deploy_subject(self) -> str:
        """Exact ``sub`` (StringEquals) for deploys.

        GitHub: a job that declares ``environment: <env>`` gets the subject
        ``repo:<repo>:environment:<env>``, so each stack's deploy role trusts only its own GitHub
        environment, and that environment's rules (required reviewers for prod, deployment branch
        = the deploy branch) are what AWS ends up enforcing. GitLab: the deploy branch. Jenkins:
        the deploy branch's job (the plugin's default ``sub`` is the job URL; Jenkins encodes a
        ``/`` in a branch name as ``%2F``). Pulumi: the ESC environment ``<project>/<environment>``.
        """
        if self.provider == "github":
            return f"repo:{self.repository}:environment:{self.environment}"
        if self.provider == "jenkins":
            return f"{self._jenkins_job}/job/{quote(self.deploy_branch, safe='')}/"
        if self.provider == "pulumi":
            return f"{self._pulumi_environments}/{self.environment}"
        return f"project_path:{self.repository}:ref_type:branch:ref:{self.deploy_branch}"

    @property
    def preview_scope(self) -> str:
        """What may preview, for the role's description."""
        if self.provider == "pulumi":
            return f"ESC environments {self.repository}/*"
        return f"{self.repository}, any branch"

    @property
    def deploy_scope(self) -> str:
        """What may deploy, for the role's description: the deploy branch, or the ESC environment."""
        if self.provider == "pulumi":
            return f"ESC environment {self.repository}/{self.environment}"
        return f"{self.repository}@{self.deploy_branch}"

    @property
    def _jenkins_job(self) -> str:
        """The multibranch pipeline's URL: ``<root>/job/<folder>/job/<name>``."""
        return f"{self.jenkins_url}/job/" + "/job/".join(self.repository.split("/"))

    @property
    def _pulumi_environments(self) -> str:
        """``pulumi:environments:org:<org>:env:<project>``, the ESC subject of the project's environments."""
        org, project = self.repository.split("/")
        return f"pulumi:environments:org:{org}:env:{project}"


def ci_identity(ci: CiSettings, environment: str) -> CiIdentity:
    """The identity of validated settings with a provider (the settings require its repository)."""
    assert ci.provider != "none" and ci.repository
    return CiIdentity(ci.provider, ci.repository, ci.deploy_branch, ci.issuer, _audience(ci), environment,
                      jenkins_url=ci.jenkins_url)


def _audience(ci: CiSettings) -> str:
    """The ``aud`` of the provider's tokens for AWS."""
    if ci.provider in ("github", "jenkins"):  # the actions' default; Jenkins' credential is set up with it
        return STS_AUDIENCE
    if ci.provider == "pulumi":  # ESC's aws-login: aws:<org>, the bare org for the legacy `default` project
        org, project = (ci.repository or "/").split("/")
        return org if project == "default" else f"aws:{org}"
    return ci.gitlab_url


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


def _read_actions() -> list[str]:
    """The curated wildcards plus every refresh read of the registry they do not already cover
    (S3 reads stay scoped to this stack's buckets, below)."""
    reads = {a for t in rt.RESOURCE_TYPES.values() for a in t.read if not a.startswith("s3:")}
    return [*_READ_ONLY_ACTIONS, *sorted(a for a in reads if not any(fnmatchcase(a, p) for p in _READ_ONLY_ACTIONS))]


def read_only_statements(ctx: StackContext) -> list[Statement]:
    """What ``pulumi preview --refresh`` needs to read this stack's resources."""
    return [
        statement("ReadPlatformMetadata", _read_actions(), "*"),
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
    "cloudformation", "cloudtrail", "events", "grafana", "monitoring.rds", "sagemaker", "scheduler", "states",
    "vpc-flow-logs",
)
# Service-linked roles the platform's resources may need on first use.
_SERVICE_LINKED_ROLES: tuple[str, ...] = ("rds", "sagemaker.application-autoscaling")

# What CI deploy may do is derived from the resource-type registry: every write action of every
# type the stack registers, fenced per type (see mlops_blueprint.resource_types). Withheld, with why:
WITHHELD_ACTIONS: dict[str, str] = {
    "cloudtrail:DeleteTrail": "turning the audit trail off stays an administrator's decision",
    "cloudtrail:StopLogging": "turning the audit trail off stays an administrator's decision",
    "kms:DisableKeyRotation": "CI may not weaken keys",
    "iam:DeleteRolePermissionsBoundary": "no role of the stack may lose the permissions boundary",
}
# Operations of a type CI deploy may not perform at all (fence "admin" types lose every operation).
WITHHELD_OPERATIONS: dict[str, tuple[tuple[rt.Operation, ...], str]] = {
    **{t.token: (rt.OPERATIONS, "the CI roles' own trust anchor stays an administrator's") for t in rt.of_fence("admin")},
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": (
        ("create",), "adopting a new VPC's default group tags an untagged group, which the ownership fence "
        "refuses: the first deploy of a network is an administrator's (later changes are CI's)"),
}

# Role writes that change what a role may do: only under the permissions boundary, when configured.
_ROLE_PERMISSIONS: frozenset[str] = frozenset(
    {"iam:CreateRole", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy"})
_ROLE_ATTACH: frozenset[str] = frozenset({"iam:AttachRolePolicy", "iam:DetachRolePolicy"})
_IAM_ROLE = "aws:iam/role:Role"
_IAM_POLICY = "aws:iam/policy:Policy"
_KMS_ALIAS = "aws:kms/alias:Alias"
# Every IAM write, for Deny statements (a broad Deny only ever takes away); reads stay allowed.
_IAM_WRITE_PATTERNS: tuple[str, ...] = (
    "iam:Attach*", "iam:Create*", "iam:Delete*", "iam:Detach*", "iam:Put*", "iam:Set*", "iam:Tag*",
    "iam:Untag*", "iam:Update*",
)


def _granted(types: Iterable[rt.ResourceType], *operations: rt.Operation) -> tuple[str, ...]:
    """Write actions of ``types`` (the given operations, else all) that CI deploy may call."""
    wanted = operations or rt.OPERATIONS
    return tuple(sorted({
        action
        for t in types
        for op in wanted
        if op not in WITHHELD_OPERATIONS.get(t.token, ((), ""))[0]
        for action in t.actions(op)
        if action not in WITHHELD_ACTIONS
    }))


def _iam_target(t: rt.ResourceType) -> str:
    """The IAM resource (role or policy) a type of the ``iam`` fence writes to."""
    target = t.arn.token if isinstance(t.arn, rt.Parent) else t.token
    if target not in (_IAM_ROLE, _IAM_POLICY):
        raise ValueError(f"{t.token}: CI deploy has no fence for IAM resources other than roles and policies")
    return target


def _s3(ctx: StackContext, resource: str) -> str:
    return ctx.arn("s3", resource, regional=False, account=False)


def _iam(ctx: StackContext, resource: str) -> str:
    return ctx.arn("iam", resource, regional=False)


def _tagged(ctx: StackContext, kind: Literal["RequestTag", "ResourceTag"]) -> dict[str, str]:
    """This stack's ownership tags; ``environment`` too, since stacks may share an account."""
    return {f"aws:{kind}/project": ctx.naming.project, f"aws:{kind}/environment": ctx.environment}


def _owned_buckets(ctx: StackContext) -> str:
    """This stack's buckets: bucket names are global, so they end with the account and region."""
    return _s3(ctx, f"{owned_prefix(ctx)}-*-{ctx.account_id}-{ctx.region}")


def _global_named(ctx: StackContext) -> str:
    """Names an account holds once for all regions carry the region (``Naming.global_prefix``):
    another region's stack of this environment is not this one."""
    return f"{ctx.naming.global_prefix}-*"


def _owned_arns(ctx: StackContext) -> dict[str, list[str]]:
    """IAM service prefix -> this stack's resources of that service, by name prefix."""
    prefix = owned_prefix(ctx)
    named = f"{ctx.naming.prefix}-*"  # IAM, logs, SNS, ... keep case
    return {
        # Bucket configuration only: object data is not CI's business.
        "s3": [_owned_buckets(ctx)],
        "kms": [ctx.arn("kms", f"alias/{named}")],
        # ...and SageMaker's processing-job log group, which the drift engine may create (its name is
        # AWS's: the jobs write there whatever the stack).
        "logs": [ctx.arn("logs", f"log-group:{ctx.naming.log_group()}/*"), ctx.arn("logs", f"log-group:{named}"),
                 ctx.arn("logs", f"log-group:{PROCESSING_LOG_GROUP}")],
        "sagemaker": [ctx.arn("sagemaker", f"*/{prefix}-*")],
        "ecr": [ctx.arn("ecr", f"repository/{prefix}-*")],
        # New instances reference (never change: AWS refuses) the default parameter/option groups.
        "rds": [ctx.arn("rds", f"{kind}:{prefix}-*") for kind in ("db", "subgrp")]
        + [ctx.arn("rds", "pg:default*"), ctx.arn("rds", "og:default*")],
        "sns": [ctx.arn("sns", named)],
        "events": [ctx.arn("events", f"rule/{named}")],
        "cloudwatch": [ctx.arn("cloudwatch", f"alarm:{named}"),
                       ctx.arn("cloudwatch", f"dashboard/{_global_named(ctx)}", regional=False)],
        "cloudtrail": [ctx.arn("cloudtrail", f"trail/{named}")],
        "budgets": [ctx.arn("budgets", f"budget/{_global_named(ctx)}", regional=False)],
        "states": [ctx.arn("states", f"stateMachine:{named}")],
        "cloudformation": [ctx.arn("cloudformation", f"stack/{named}/*")],
        "scheduler": [ctx.arn("scheduler", f"schedule/*/{named}")],
    }


def _by_name(ctx: StackContext) -> tuple[list[str], list[str]]:
    """(actions, resources) of the ``name`` fence. A service without an ARN pattern above gets no
    grant (never a wider one): tests/test_resource_types.py then names the type CI cannot deploy."""
    owned = _owned_arns(ctx)
    actions = [a for a in _granted(rt.of_fence("name")) if a.split(":", 1)[0] in owned]
    services = sorted({a.split(":", 1)[0] for a in actions})
    return actions, [arn for s in services for arn in owned[s]]


# Every write whose resource is a managed policy (the boundary must stay as the administrator set it).
_IAM_POLICY_WRITES: tuple[str, ...] = (
    "iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion",
    "iam:TagPolicy", "iam:UntagPolicy",
)


def deploy_statements(
    ctx: StackContext,
    *,
    permissions_boundary_arn: str | None,
    protected_arns: Sequence[str],
) -> list[Statement]:
    """Writes on resources named for this stack, and the IAM guardrails. ``protected_arns`` (the CI
    roles and their managed policies) stay read-only to CI, so a pipeline can never widen its own
    trust or permissions."""
    roles = [_iam(ctx, f"role/{_global_named(ctx)}")]
    policies = [_iam(ctx, f"policy/{_global_named(ctx)}")]
    boundary = {"StringEquals": {"iam:PermissionsBoundary": permissions_boundary_arn}} if permissions_boundary_arn else {}
    attachable = [*policies, f"arn:{ctx.partition}:iam::aws:policy/service-role/*"]
    iam_types = rt.of_fence("iam")
    role_writes = set(_granted(t for t in iam_types if _iam_target(t) == _IAM_ROLE))
    policy_writes = _granted(t for t in iam_types if _iam_target(t) == _IAM_POLICY)
    named_actions, named_resources = _by_name(ctx)
    statements = [
        # One statement for every name-scoped service: an action only ever matches its own
        # service's ARNs, so merging them grants nothing extra (and keeps under IAM's size limit).
        statement("ManageOwnedByName", [*named_actions, *sorted(role_writes - _ROLE_PERMISSIONS - _ROLE_ATTACH),
                                        *policy_writes], [*named_resources, *roles, *policies]),
        # Role permissions only under the boundary (when configured): CI cannot escalate past it.
        statement("IamRolePermissions", sorted(role_writes & _ROLE_PERMISSIONS), roles, conditions=boundary),
        # Managed policies: this stack's own or AWS service-role policies, never AdministratorAccess.
        statement("IamRoleAttach", sorted(role_writes & _ROLE_ATTACH), roles,
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
        # Only the managed-policy writes take a policy ARN; an Attach*/Put* pattern would match nothing here.
        statements.append(statement("DenyBoundaryChanges", _IAM_POLICY_WRITES, [permissions_boundary_arn], effect="Deny"))
    return statements


def _is_untag(action: str) -> bool:
    verb = action.split(":", 1)[1]
    return verb.startswith(("Untag", "Remove")) or verb == "DeleteTags"


def tagged_deploy_statements(ctx: StackContext) -> list[Statement]:
    """Writes on resources whose ARNs are random ids (KMS keys, EC2 network resources, MLflow apps,
    Prometheus/Grafana workspaces): fenced by this stack's ``project``/``environment`` tags instead
    of names; scalable targets by region."""
    tagged = rt.of_fence("tag")
    own = [t for t in tagged if isinstance(t.arn, rt.Arn)]
    # EC2 tags resources in the create call itself (ec2:CreateTags with ec2:CreateAction).
    creates = [a for a in _granted(own, "create") if a != "ec2:CreateTags"]
    ec2_creates = [a.split(":", 1)[1] for a in creates if a.startswith("ec2:")]
    # Changes: everything else of the fence, sub-resources included (authorized on their tagged
    # parent), and the alias calls KMS also authorizes on the key.
    manage = sorted({*_granted(tagged, "update", "delete", "tag"), *_granted(
        (t for t in tagged if isinstance(t.arn, rt.Parent)), "create"), *_granted([rt.lookup(_KMS_ALIAS)])})
    untags = sorted({a for a in _granted(tagged, "tag") if _is_untag(a)} | {"ec2:CreateTags"})
    resource_tagged = {"StringEquals": _tagged(ctx, "ResourceTag")}
    return [
        # Create only tagged as ours (tags in the create request); tagging on create never retags
        # someone else's resource (StringEqualsIfExists: a tagged resource must already be ours).
        statement("CreateTagged", creates, "*", conditions={
            "StringEquals": _tagged(ctx, "RequestTag"), "StringEqualsIfExists": _tagged(ctx, "ResourceTag")}),
        statement("Ec2TagOnCreate", ["ec2:CreateTags"], "*",
                  conditions={"StringEquals": {"ec2:CreateAction": ec2_creates}}),
        # Security group rules are tagged right after they are created (no ec2:CreateAction); their
        # tags fence nothing (rule changes are authorized on the security group). Anything else
        # tagged this way is refused by DenyOwnershipRetag, which exempts only rules.
        statement("Ec2TagNewRules", ["ec2:CreateTags"], "*", conditions={"StringEquals": _tagged(ctx, "RequestTag")}),
        # ...then change only what carries this stack's tags.
        statement("ManageTagged", manage, "*", conditions=resource_tagged),
        # ECR/RDS/SageMaker encrypt their resources with our keys through grants.
        statement("KmsGrantsForServices", ["kms:CreateGrant"], "*", conditions={
            **resource_tagged, "Bool": {"kms:GrantIsForAWSResource": "true"}}),
        statement("InRegion", _granted(rt.of_fence("region")), "*",
                  conditions={"StringEquals": {"aws:RequestedRegion": ctx.region}}),
        # Retagging an existing resource into or out of this stack would move it across the fence
        # (tagging at creation, which carries ec2:CreateAction, is not retagging).
        _not_resource(statement("DenyOwnershipRetag", untags, "*", effect="Deny", conditions={
            "ForAnyValue:StringEquals": {"aws:TagKeys": ["environment", "project"]},
            "Null": {"ec2:CreateAction": "true"}}), [ctx.arn("ec2", "security-group-rule/*")]),
    ]


def _not_resource(s: Statement, resources: list[str]) -> Statement:
    """``s`` applying to every resource except ``resources`` (IAM NotResource)."""
    result = {k: v for k, v in s.items() if k != "Resource"}
    result["NotResource"] = sorted(resources)
    return result
