"""The platform's IAM roles: SageMaker training, serving, MLflow tracking and Pipelines, plus CI.

Ownership rule: this component owns the roles that people, CI and jobs assume across components;
a component owns the service roles only its own resources use (see :mod:`.service_role`).

Every role gets only this stack's resources (its buckets, its data key, its log groups, ECR
repositories and SageMaker resources named ``<project>-<environment>-...``), a one-hour session,
and the configured permissions boundary. Each role's own permissions are one inline policy
(``aws.iam.RolePolicy``): it lives and dies with the role and cannot be attached elsewhere. Only
the CI roles also get managed policies, our own, because inline policies of a role may total just
10,240 characters: ``ci-read-only`` (shared by both CI roles) and ``ci-deploy-tagged``. No AWS
managed policy is attached: the SageMaker ones are account-wide (``AmazonSageMakerFullAccess``).
CI roles (GitHub Actions, GitLab CI, Jenkins or Pulumi ESC via OIDC) are built from :mod:`.ci_trust`; the policy documents
from :mod:`.role_policies`.

Once the MLflow app or server exists, :meth:`PlatformRoles.grant_mlflow` lets the training,
pipelines and CI deploy roles use it (one more inline policy each) and creates the managed policy
``mlflow-user`` for people and notebooks. :meth:`PlatformRoles.depends_on` lists the policy
resources of a role, for whatever AWS validates against the role when it is created.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_blueprint.validation import raise_invalid_args
from mlops_blueprint.components.ci_trust import CiIdentity, ci_identity, web_identity_trust
from mlops_blueprint.components.irsa import ServiceAccountTrust
from mlops_blueprint.components.platform_roles_settings import PlatformRolesSettings
# The policy documents live in role_policies; re-exported here, where callers have always found them.
from mlops_blueprint.components.role_policies import (  # noqa: F401
    MLFLOW_IAM_BACKENDS,
    MLFLOW_READ_ACTIONS,
    MLFLOW_USER_POLICY,
    MLFLOW_WRITE_ACTIONS,
    MLFLOW_WRITER_ROLES,
    ci_deploy_policy,
    ci_deploy_tagged_policy,
    ci_preview_policy,
    ci_read_only_policy,
    mlflow_policy,
    mlflow_statements,
    pipelines_policy,
    serving_policy,
    tracking_policy,
    training_policy,
)
from mlops_blueprint.components.service_role import service_role
from mlops_blueprint.components.tracking_server_settings import TRACKING_BACKENDS as TRACKING_BACKEND_NAMES
from mlops_blueprint.context import StackContext
from mlops_blueprint.naming import NameKind
from mlops_blueprint.policy_documents import assume_role_policy, render, to_json

COMPONENT = "platform-roles"

# IAM size limits (characters, whitespace excluded): all inline policies of a role together, and
# one managed policy.
INLINE_POLICY_LIMIT = 10_240
MANAGED_POLICY_LIMIT = 6_144

_S3_BUCKET_NAME = r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"


@dataclass(frozen=True)
class PlatformRolesArgs:
    """This stack's resources the roles may use, the service accounts of Kubernetes backends, and
    the user's :class:`PlatformRolesSettings` (the ``iam`` section: boundary and CI)."""

    context: StackContext
    data_key_arn: pulumi.Input[str]          # Kms.data_key_arn
    logs_key_arn: pulumi.Input[str]          # Kms.logs_key_arn: validated only (CloudWatch Logs encrypts
                                             # through the key policy; no role needs key permissions)
    datasets_bucket_arn: pulumi.Input[str]   # ArtifactStore.datasets_bucket_arn
    models_bucket_arn: pulumi.Input[str]     # ArtifactStore.models_bucket_arn
    state_bucket_arn: str | None = None      # Pulumi S3 backend the CI roles may use
    # Kubernetes backends: the service accounts that may also assume the tracking / serving role.
    tracking_service_account: ServiceAccountTrust | None = None
    tracking_artifact_prefix: str = "mlflow"  # the tracking settings' artifact_prefix: where MLflow keeps artifacts
    serving_service_account: ServiceAccountTrust | None = None
    settings: PlatformRolesSettings = field(default_factory=PlatformRolesSettings)

    def problems(self) -> list[str]:
        """Wiring, and the settings' ARNs against this account (the settings checked their own shape)."""
        if not isinstance(self.context, StackContext):
            return [f"context: expected a StackContext, got {type(self.context).__name__}"]
        ctx, settings = self.context, self.settings
        partition, account = re.escape(ctx.partition), ctx.account_id
        problems: list[str] = []

        def check(arg: str, value: Any, pattern: str, expected: str) -> None:
            # Outputs resolve later; only literal strings can be checked up front.
            if isinstance(value, str) and not re.fullmatch(pattern, value):
                problems.append(f"{arg}: {value!r} is not {expected}")
            elif value is not None and not isinstance(value, (str, pulumi.Output)):
                problems.append(f"{arg}: expected an ARN string or Output, got {type(value).__name__}")

        key = rf"arn:{partition}:kms:[a-z0-9-]+:\d{{12}}:key/[\w-]+"
        key_shape = f"a KMS key ARN (arn:{ctx.partition}:kms:<region>:<account>:key/<id>)"
        check("data_key_arn", self.data_key_arn, key, key_shape)
        check("logs_key_arn", self.logs_key_arn, key, key_shape)
        for arg in ("datasets_bucket_arn", "models_bucket_arn", "state_bucket_arn"):
            check(arg, getattr(self, arg), rf"arn:{partition}:s3:::{_S3_BUCKET_NAME}",
                  f"an S3 bucket ARN (arn:{ctx.partition}:s3:::<bucket>)")
        check("settings.permissions_boundary_arn", settings.permissions_boundary_arn,
              rf"arn:{partition}:iam::({account}|aws):policy/[\w+=,.@/-]+",
              f"a managed policy ARN of this account or AWS (arn:{ctx.partition}:iam::{account}:policy/<name>)")
        if settings.ci.provider != "none":
            check("settings.ci.oidc_provider_arn", settings.ci.oidc_provider_arn,
                  rf"arn:{partition}:iam::{account}:oidc-provider/[\w.:/-]+",
                  f"an OIDC provider ARN of this account (arn:{ctx.partition}:iam::{account}:oidc-provider/"
                  f"{settings.ci.default_issuer})")
        return problems


@dataclass(frozen=True)
class MlflowAccess:
    """This stack's MLflow, for :meth:`PlatformRoles.grant_mlflow` (``TrackingServer``'s values)."""

    backend: str                                   # TrackingServer.backend
    resource_arn: pulumi.Input[str] | None         # TrackingServer.tracking_server_arn (app or server)
    vpc_id: pulumi.Input[str]                      # Network.vpc_id: the aws:SourceVpc of VPC-only access
    users_vpc_only: bool = True                    # the people/notebook policy only from inside the VPC




class PlatformRoles(pulumi.ComponentResource):
    """SageMaker execution roles (training, serving, tracking, pipelines) and, with CI, two OIDC roles."""

    training_role_arn: pulumi.Output[str]
    serving_role_arn: pulumi.Output[str]
    tracking_role_arn: pulumi.Output[str]
    pipelines_role_arn: pulumi.Output[str]
    ci_preview_role_arn: pulumi.Output[str] | None
    ci_deploy_role_arn: pulumi.Output[str] | None
    oidc_provider_arn: pulumi.Output[str] | None  # the provider the CI roles trust (created or given)
    role_arns: dict[str, pulumi.Output[str]]
    mlflow_user_policy_arn: pulumi.Output[str] | None  # set by grant_mlflow (SageMaker backends)
    # Every policy resource that grants a role its permissions, by role purpose (inline policies and
    # managed-policy attachments). AWS checks a role's permissions when it creates what uses the role
    # (MLflow servers, models, pipelines): such resources depend on these, see ``depends_on``.
    policies: dict[str, list[pulumi.Resource]]

    def __init__(self, name: str, args: PlatformRolesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        raise_invalid_args("PlatformRolesArgs", args.problems())  # before anything is registered
        super().__init__("mlops:iam:PlatformRoles", name, None, opts)
        self._prefix = name  # logical-name prefix of children (Resource owns ._name)
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        # Every role here: this component's, under the boundary, a child of the component.
        self._service_role = functools.partial(
            service_role, context=args.context, component=COMPONENT,
            permissions_boundary_arn=args.settings.permissions_boundary_arn, opts=self._child)
        self.policies = {}
        self._roles: dict[str, aws.iam.Role] = {}
        self.mlflow_user_policy_arn = None
        ctx = args.context

        sagemaker_doc = assume_role_policy(ctx.service_principal("sagemaker"), source_account=ctx.account_id)
        sagemaker_trust = to_json(sagemaker_doc)

        def trust_with(service_account: ServiceAccountTrust | None) -> str:
            """SageMaker, plus a Kubernetes service account (IRSA) when that backend is in use."""
            if service_account is None:
                return sagemaker_trust
            return to_json({**sagemaker_doc, "Statement": [*sagemaker_doc["Statement"], service_account.statement()]})

        key, datasets, models = args.data_key_arn, args.datasets_bucket_arn, args.models_bucket_arn
        training = self._role("training", "SageMaker training jobs", sagemaker_trust,
                              render(lambda k, d, m: training_policy(ctx, k, d, m), key, datasets, models))
        serving = self._role("serving", "SageMaker endpoints", trust_with(args.serving_service_account),
                             render(lambda k, m: serving_policy(ctx, k, m), key, models))
        tracking = self._role("tracking", "SageMaker MLflow tracking server", trust_with(args.tracking_service_account),
                              render(lambda k, m: tracking_policy(ctx, k, m, args.tracking_artifact_prefix), key, models))
        pipelines = self._role(
            "pipelines", "SageMaker Pipelines executions", sagemaker_trust,
            render(lambda k, d, m, t, s: pipelines_policy(ctx, k, d, m, t, s),
                   key, datasets, models, training.arn, serving.arn),
        )
        self.training_role_arn = training.arn
        self.serving_role_arn = serving.arn
        self.tracking_role_arn = tracking.arn
        self.pipelines_role_arn = pipelines.arn
        self.role_arns = {"training": training.arn, "serving": serving.arn,
                          "tracking": tracking.arn, "pipelines": pipelines.arn}

        self.ci_preview_role_arn = self.ci_deploy_role_arn = self.oidc_provider_arn = None
        if args.settings.ci.provider != "none":
            self._ci_roles(args)

        self.register_outputs(
            {
                "trainingRoleArn": self.training_role_arn,
                "servingRoleArn": self.serving_role_arn,
                "trackingRoleArn": self.tracking_role_arn,
                "pipelinesRoleArn": self.pipelines_role_arn,
                "ciPreviewRoleArn": self.ci_preview_role_arn,
                "ciDeployRoleArn": self.ci_deploy_role_arn,
                "ciOidcProviderArn": self.oidc_provider_arn,
            }
        )

    def _role(
        self,
        purpose: str,
        description: str,
        trust: pulumi.Input[str],
        policy: pulumi.Input[str] | None,
        attach: Mapping[str, aws.iam.Policy] | None = None,
    ) -> aws.iam.Role:
        """One role, its inline policy (if any) and our managed policies (``{purpose: policy}``);
        the boundary on every role."""
        ctx = self._args.context
        role = self._service_role(f"{self._prefix}-{purpose}", purpose=purpose, description=description, trust=trust)
        self._roles[purpose] = role
        granted = self.policies.setdefault(purpose, [])
        if policy is not None:
            granted.append(aws.iam.RolePolicy(
                f"{self._prefix}-{purpose}-policy",
                name=ctx.naming.name(purpose, kind=NameKind.IAM_POLICY),
                role=role.name,
                policy=policy,
                opts=self._child,
            ))
        for policy_purpose, managed in (attach or {}).items():
            granted.append(aws.iam.RolePolicyAttachment(
                f"{self._prefix}-{purpose}-{policy_purpose}",
                role=role.name,
                policy_arn=managed.arn,
                opts=self._child,
            ))
        return role

    def grant_mlflow(self, access: MlflowAccess) -> None:
        """Let the job, pipelines and CI deploy roles, and people through the managed policy
        ``mlflow-user`` (``mlflow_user_policy_arn``), use this stack's MLflow app or tracking server
        and no other. Called once the tracking resource exists: an app's ARN holds an id AWS
        assigns, and the server needs the tracking role first. Each grant is its own inline policy
        (``<purpose>-mlflow``), listed by :meth:`depends_on`. Backends without IAM (kubernetes)
        get nothing here: the network decides who reaches that server."""
        if access.backend not in TRACKING_BACKEND_NAMES:
            raise ValueError(f"grant_mlflow: backend {access.backend!r} is not one of {', '.join(TRACKING_BACKEND_NAMES)}")
        if access.backend not in MLFLOW_IAM_BACKENDS:
            return
        if access.resource_arn is None:
            raise ValueError(f"grant_mlflow: resource_arn is required for backend {access.backend!r}")
        ctx = self._args.context
        for purpose, vpc_only in MLFLOW_WRITER_ROLES.items():
            if purpose not in self._roles:
                continue  # the CI roles exist only with CI
            name = f"{purpose}-mlflow"
            self.policies[purpose].append(aws.iam.RolePolicy(
                f"{self._prefix}-{name}",
                name=ctx.naming.name(name, kind=NameKind.IAM_POLICY),
                role=self._roles[purpose].name,
                policy=render(lambda arn, vpc, only=vpc_only: mlflow_policy(
                    access.backend, arn, write=True, ui=False, vpc_id=vpc if only else None),
                    access.resource_arn, access.vpc_id),
                opts=self._child,
            ))
        policy_name = ctx.naming.name(MLFLOW_USER_POLICY, kind=NameKind.IAM_POLICY)
        users = aws.iam.Policy(
            f"{self._prefix}-{MLFLOW_USER_POLICY}",
            name=policy_name,
            description=f"{ctx.naming.prefix}: use this stack's MLflow (runs, registry, UI); attach to people and notebooks",
            policy=render(lambda arn, vpc: mlflow_policy(access.backend, arn, write=True, ui=True,
                                                         vpc_id=vpc if access.users_vpc_only else None),
                          access.resource_arn, access.vpc_id),
            tags=ctx.tagging.resource(COMPONENT, policy_name),
            opts=self._child,
        )
        self.mlflow_user_policy_arn = users.arn

    def depends_on(self, *purposes: str) -> list[pulumi.Resource]:
        """The policy resources of the roles ``purposes`` (e.g. ``"serving"``): pass them as
        ``ResourceOptions(depends_on=...)`` to whatever AWS validates against those roles when it
        is created, so it is created after the role's permissions, not racing them."""
        unknown = [p for p in purposes if p not in self.policies]
        if unknown:
            raise ValueError(f"depends_on: no role {', '.join(map(repr, unknown))}; "
                             f"roles of this stack: {', '.join(sorted(self.policies))}")
        return [policy for purpose in purposes for policy in self.policies[purpose]]

    def _managed_policy(self, purpose: str, description: str, doc: Mapping[str, Any]) -> aws.iam.Policy:
        ctx = self._args.context
        policy_name = ctx.naming.name(purpose, kind=NameKind.IAM_POLICY)
        return aws.iam.Policy(
            f"{self._prefix}-{purpose}",
            name=policy_name,
            description=f"{ctx.naming.prefix}: {description}",
            policy=to_json(doc),
            tags=ctx.tagging.resource(COMPONENT, policy_name),
            opts=self._child,
        )

    def _ci_roles(self, args: PlatformRolesArgs) -> None:
        ctx = args.context
        boundary, ci = args.settings.permissions_boundary_arn, args.settings.ci
        identity = ci_identity(ci, ctx.environment)
        provider_arn: pulumi.Input[str] = ci.oidc_provider_arn or self._oidc_provider(identity).arn
        self.oidc_provider_arn = pulumi.Output.from_input(provider_arn)
        if not boundary:
            pulumi.log.warn(
                "CI deploy role without a permissions boundary: it may create and pass roles named "
                f"{ctx.naming.prefix}-* with any permissions; set iam.permissionsBoundaryArn", resource=self)

        def trust(deploy: bool) -> pulumi.Output[str]:
            return render(lambda arn: web_identity_trust(identity, arn, deploy=deploy), provider_arn)

        managed = {
            "ci-read-only": self._managed_policy(
                "ci-read-only", "CI reads platform metadata (no object, secret or log data)", ci_read_only_policy(ctx)),
            "ci-deploy-tagged": self._managed_policy(
                "ci-deploy-tagged", "CI deploys KMS keys and EC2 network resources tagged as this stack's",
                ci_deploy_tagged_policy(ctx)),
        }
        # The deploy policy denies CI any change to the CI roles and their managed policies. Their
        # ARNs follow from their names; the deploy role's own ARN is not an Output yet at this point.
        protected = [ctx.arn("iam", f"role/{ctx.naming.role(p)}", regional=False) for p in ("ci-preview", "ci-deploy")]
        protected += [ctx.arn("iam", f"policy/{ctx.naming.name(p, kind=NameKind.IAM_POLICY)}", regional=False)
                      for p in managed]
        preview_policy = ci_preview_policy(args.state_bucket_arn)
        preview = self._role(
            "ci-preview", f"CI previews ({identity.preview_scope}): read-only", trust(deploy=False),
            to_json(preview_policy) if preview_policy else None, attach={"ci-read-only": managed["ci-read-only"]},
        )
        deploy = self._role(
            "ci-deploy", f"CI deploys ({identity.deploy_scope})", trust(deploy=True),
            to_json(ci_deploy_policy(ctx, boundary, args.state_bucket_arn, protected)),
            attach=managed,
        )
        self.ci_preview_role_arn = preview.arn
        self.ci_deploy_role_arn = deploy.arn
        self.role_arns.update({"ci-preview": preview.arn, "ci-deploy": deploy.arn})

    def _oidc_provider(self, identity: CiIdentity) -> aws.iam.OpenIdConnectProvider:
        """The account's provider for the CI issuer. IAM holds one per URL and account: stacks
        sharing an account create it in one stack and pass its ARN to the others."""
        ctx = self._args.context
        # No thumbprints: IAM checks GitHub's and GitLab.com's certificates against trusted CAs, and
        # fetches the thumbprint of other hosts (self-managed GitLab, Jenkins, Pulumi Cloud) itself.
        return aws.iam.OpenIdConnectProvider(
            f"{self._prefix}-ci-oidc",
            url=identity.url,
            client_id_lists=[identity.audience],
            tags=ctx.tagging.resource(COMPONENT, ctx.naming.name("ci-oidc")),
            opts=self._child,
        )
