"""MLflow tracking server and model registry: three backends behind one component.

``settings.backend`` picks where MLflow runs; roles, buckets, outputs and pipelines do not change
with it:

- ``sagemaker-serverless``: a SageMaker MLflow App (``aws.sagemaker.MlflowApp``). Nothing to size,
  no hourly instance; AWS picks the MLflow version.
- ``sagemaker-managed``: a SageMaker MLflow tracking server (``aws.sagemaker.MlflowTrackingServer``)
  of a fixed size, with the MLflow version pinned to major.minor.
- ``kubernetes``: the official MLflow image on the platform's cluster, with an RDS PostgreSQL
  backend store (:mod:`.tracking_kubernetes`).

All three keep artifacts in the ArtifactStore's models bucket under ``settings.artifact_prefix``
and act with the tracking role from PlatformRoles (IAM-role authentication only: no access keys, no
passwords in config or state). Each model family gets a SageMaker model package group, where
registered models go for deployment approval. Outputs: ``trackingUri`` (what MLflow clients set
as ``MLFLOW_TRACKING_URI``), ``trackingServerUrl``, ``trackingServerArn``, ``mlflowArtifactUri``,
``modelPackageGroupNames``.

Network path (SageMaker backends): with ``private_endpoint`` the component adds the interface VPC
endpoint for SageMaker MLflow (``aws.sagemaker.<region>.experiments``, private DNS for
``<region>.experiments.sagemaker.aws``, which the ``sagemaker-mlflow`` plugin calls) with a policy
that admits only this stack's app or server, in its own security group that takes HTTPS from the
workload security group (training jobs and endpoints in the training and serving subnets).
The kubernetes backend's Service is ClusterIP: only pods in the cluster reach it (see the README).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_blueprint.components.irsa import ServiceAccountTrust
from mlops_blueprint.components.security_groups import HTTPS, security_group, security_group_rule
from mlops_blueprint.components.tracking_kubernetes import SERVICE_ACCOUNT, KubernetesBackend, KubernetesTrackingArgs
from mlops_blueprint.components.tracking_server_settings import (
    TRACKING_BACKENDS,
    TrackingServerSettings,
    model_family_problem,
)
from mlops_blueprint.context import StackContext
from mlops_blueprint.naming import NameKind, fit
from mlops_blueprint.policy_documents import document, render, statement
from mlops_blueprint.validation import SECURITY_GROUP_ID, VPC_ID, invalid_args_error, raise_invalid_args

__all__ = [
    "BACKENDS", "KubernetesTrackingArgs", "MLFLOW_ENDPOINT_SERVICE", "TrackingEndpointArgs", "TrackingServer",
    "TrackingServerArgs", "TrackingServerSettings", "endpoint_policy", "mlflow_endpoint_service",
    "tracking_server_args", "tracking_service_account",
]

COMPONENT = "tracking"
TYPE = "mlops:tracking:TrackingServer"
BACKENDS = TRACKING_BACKENDS
# A managed server takes 20-30 minutes to create, update (version upgrades) and delete.
TIMEOUT = "60m"
SAGEMAKER_NAME_MAX = 63  # model package group names (EntityName)

_S3_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_DNS_DOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
# SageMaker MLflow's interface endpoint service: aws.sagemaker.<region>.experiments, the private
# DNS of <region>.experiments.sagemaker.aws (the host the sagemaker-mlflow plugin calls).
MLFLOW_ENDPOINT_SERVICE = "experiments"
# What the endpoint admits, per backend: the data plane of this stack's app or server only.
_ENDPOINT_ACTIONS = {"sagemaker-serverless": ("sagemaker:CallMlflowAppApi",),
                     "sagemaker-managed": ("sagemaker-mlflow:*",)}


def mlflow_endpoint_service(region: str) -> str:
    return f"aws.sagemaker.{region}.{MLFLOW_ENDPOINT_SERVICE}"


def endpoint_policy(backend: str, resource_arn: str) -> dict[str, Any]:
    """The endpoint's policy: any principal of the VPC, this stack's MLflow resource, nothing else.
    A server's UI is also authorized with ``sagemaker-mlflow:AccessUI``, which has no resource
    type ("*"); it opens no server by itself (the presigned URL names the server)."""
    statements = [statement("ThisStacksMlflowOnly", _ENDPOINT_ACTIONS[backend], [resource_arn], principals={"AWS": "*"})]
    if backend == "sagemaker-managed":
        statements.append(statement("MlflowUi", ["sagemaker-mlflow:AccessUI"], "*", principals={"AWS": "*"}))
    return document(*statements)


@dataclass(frozen=True)
class TrackingEndpointArgs:
    """Where the MLflow interface endpoint goes (the Network's values); SageMaker backends only."""

    vpc_id: pulumi.Input[str]                                   # Network.vpc_id
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]       # Network.serving_subnet_ids (endpoint AZs)
    client_security_group_ids: Sequence[pulumi.Input[str]]      # (Network.workload_security_group_id,)


@dataclass(frozen=True)
class TrackingServerArgs:
    """The resources of this stack the server uses, plus its settings (the ``tracking`` section)."""

    context: StackContext
    tracking_role_arn: pulumi.Input[str]     # PlatformRoles.tracking_role_arn (SageMaker and, for kubernetes, IRSA)
    models_bucket_name: pulumi.Input[str]    # ArtifactStore.models_bucket_name
    settings: TrackingServerSettings = field(default_factory=TrackingServerSettings)
    kubernetes: KubernetesTrackingArgs | None = None  # required for, and only for, backend "kubernetes"
    private_endpoint: TrackingEndpointArgs | None = None  # SageMaker backends: the VPC's path to MLflow
    # PlatformRoles.depends_on("tracking"): AWS checks the role's permissions when it creates the app/server.
    role_policies: Sequence[pulumi.Resource] = ()
    protect: bool = False                    # prod: True (server/app, database, model package groups)
    retain_on_delete: bool = False           # prod: True


def tracking_service_account(oidc_provider_arn: str, namespace: str = "mlflow") -> ServiceAccountTrust:
    """The IRSA trust the tracking role needs for the kubernetes backend
    (``PlatformRolesArgs.tracking_service_account``): this component's service account."""
    return ServiceAccountTrust(oidc_provider_arn=oidc_provider_arn, namespace=namespace, service_account=SERVICE_ACCOUNT)


def tracking_server_args(
    ctx: StackContext,
    settings: TrackingServerSettings,
    *,
    tracking_role_arn: pulumi.Input[str],
    models_bucket_name: pulumi.Input[str],
    protect: bool = False,
    retain_on_delete: bool = False,
    data_key_arn: pulumi.Input[str] | None = None,
    vpc_id: pulumi.Input[str] | None = None,
    vpc_cidr: pulumi.Input[str] | None = None,
    db_subnet_group_name: pulumi.Input[str] | None = None,
    database_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]] = (),
    node_security_group_id: pulumi.Input[str] | None = None,
    private_endpoint: TrackingEndpointArgs | None = None,
    role_policies: Sequence[pulumi.Resource] = (),
) -> TrackingServerArgs:
    """The stack's wiring for ``settings.backend``, for the stack and the tests alike: the network
    and key arguments are used (and required) only for the kubernetes backend; ``private_endpoint``
    only for the SageMaker backends (ignored for kubernetes)."""
    kubernetes = None
    if settings.backend == "kubernetes":
        kubernetes = KubernetesTrackingArgs(
            vpc_id=vpc_id,  # type: ignore[arg-type]  # None is reported by _validate, naming the arg
            vpc_cidr=vpc_cidr,  # type: ignore[arg-type]
            node_security_group_id=node_security_group_id,  # type: ignore[arg-type]
            data_key_arn=data_key_arn,  # type: ignore[arg-type]
            db_subnet_group_name=db_subnet_group_name,
            # A shared network's subnet ids are one Output of a list: kept whole.
            database_subnet_ids=(database_subnet_ids if isinstance(database_subnet_ids, pulumi.Output)
                                 else tuple(database_subnet_ids)),
        )
    return TrackingServerArgs(
        context=ctx,
        tracking_role_arn=tracking_role_arn,
        models_bucket_name=models_bucket_name,
        settings=settings,
        kubernetes=kubernetes,
        private_endpoint=private_endpoint if settings.backend != "kubernetes" else None,
        role_policies=tuple(role_policies),
        protect=protect,
        retain_on_delete=retain_on_delete,
    )


def model_package_group_name(ctx: StackContext, family: str) -> str:
    return ctx.naming.name(family, kind=NameKind.SAGEMAKER)


def _literal_problem(arg: str, value: Any, pattern: str | re.Pattern[str], expected: str) -> str | None:
    """Outputs resolve later: only literal strings can be checked up front (None: reported as missing)."""
    if isinstance(value, str):
        return None if re.fullmatch(pattern, value) else f"{arg}: {value!r} is not {expected}"
    if value is None or isinstance(value, pulumi.Output):
        return None
    return f"{arg}: expected a string or Output, got {type(value).__name__}"


def _validate(args: TrackingServerArgs) -> None:
    """Every problem of the wiring at once, each naming the arg and what would be valid; before any
    registration. The settings were validated when they were built."""
    if not isinstance(args.context, StackContext):
        raise invalid_args_error("TrackingServerArgs", [f"context: expected a StackContext, got {type(args.context).__name__}"])
    if not isinstance(args.settings, TrackingServerSettings):
        raise invalid_args_error("TrackingServerArgs", [
            f"settings: expected a TrackingServerSettings, got {type(args.settings).__name__}"])
    ctx, backend = args.context, args.settings.backend
    problems = [p for p in (
        _literal_problem("tracking_role_arn", args.tracking_role_arn,
                         rf"arn:{re.escape(ctx.partition)}:iam::{ctx.account_id}:role/([\w+=,.@-]+/)*[\w+=,.@-]+",
                         f"an IAM role ARN of this account (arn:{ctx.partition}:iam::{ctx.account_id}:role/<name>)"),
        _literal_problem("models_bucket_name", args.models_bucket_name, _S3_BUCKET_NAME, "an S3 bucket name"),
    ) if p]
    problems += [f"{arg}: required" for arg in ("tracking_role_arn", "models_bucket_name") if getattr(args, arg) is None]
    problems += _family_problems(ctx, args.settings.model_families)

    if backend == "kubernetes":
        if args.kubernetes is None:
            problems.append("kubernetes: required when settings.backend is 'kubernetes' (KubernetesTrackingArgs: vpc_id, "
                            "vpc_cidr, node_security_group_id, data_key_arn, db_subnet_group_name or database_subnet_ids)")
        else:
            problems += _kubernetes_problems(ctx, args.kubernetes)
    elif args.kubernetes is not None:
        problems.append(f"kubernetes: set only for backend 'kubernetes' (settings.backend is {backend!r}); remove it")
    if args.private_endpoint is not None and backend == "kubernetes":
        problems.append("private_endpoint: the kubernetes backend has no SageMaker endpoint; remove it")
    elif args.private_endpoint is not None and not args.private_endpoint.client_security_group_ids:
        problems.append("private_endpoint.client_security_group_ids: give at least one security group "
                        "(the workload group) that may reach MLflow")
    raise_invalid_args("TrackingServerArgs", problems)


def _family_problems(ctx: StackContext, families: Sequence[str]) -> list[str]:
    """Each family's group name must fit SageMaker's limit with this stack's prefix (never hashed:
    pipelines predict it); the settings checked the names themselves."""
    problems: list[str] = []
    for family in families:
        if model_family_problem(family) is None:
            raw = f"{ctx.naming.prefix}-{family}"
            if fit(raw, NameKind.SAGEMAKER) != raw:
                problems.append(f"settings.model_families: {family!r} makes the group name {raw!r}, longer than "
                                f"{SAGEMAKER_NAME_MAX} characters; use a shorter family name")
    return problems


def _kubernetes_problems(ctx: StackContext, k: KubernetesTrackingArgs) -> list[str]:
    problems = [p for p in (
        _literal_problem("kubernetes.vpc_id", k.vpc_id, VPC_ID, "a VPC id (vpc-0abc12345def67890)"),
        _literal_problem("kubernetes.node_security_group_id", k.node_security_group_id, SECURITY_GROUP_ID,
                         "a security group id (sg-0abc12345def67890)"),
        _literal_problem("kubernetes.data_key_arn", k.data_key_arn, rf"arn:{re.escape(ctx.partition)}:kms:[a-z0-9-]+:\d{{12}}:key/[\w-]+",
                         f"a KMS key ARN (arn:{ctx.partition}:kms:<region>:<account>:key/<id>)"),
    ) if p]
    missing = [a for a in ("vpc_id", "vpc_cidr", "node_security_group_id", "data_key_arn") if getattr(k, a) is None]
    if missing:
        problems.append(f"kubernetes: {', '.join(missing)} required")
    if isinstance(k.vpc_cidr, str):
        try:
            ipaddress.IPv4Network(k.vpc_cidr, strict=True)
        except ValueError as exc:
            problems.append(f"kubernetes.vpc_cidr: {k.vpc_cidr!r} is not an IPv4 CIDR ({exc})")
    if (k.db_subnet_group_name is None and not isinstance(k.database_subnet_ids, pulumi.Output)
            and len(k.database_subnet_ids) < 2):
        problems.append("kubernetes.db_subnet_group_name: required, or give two or more database_subnet_ids in different AZs")
    if not _DNS_DOMAIN.fullmatch(k.cluster_domain or ""):
        problems.append(f"kubernetes.cluster_domain: {k.cluster_domain!r} is not a DNS domain (e.g. cluster.local)")
    return problems


class TrackingServer(pulumi.ComponentResource):
    """MLflow (SageMaker serverless, SageMaker managed or self-hosted on Kubernetes) plus one
    SageMaker model package group per model family."""

    backend: str
    tracking_uri: pulumi.Output[str]
    tracking_server_url: pulumi.Output[str] | None
    tracking_server_arn: pulumi.Output[str] | None
    mlflow_artifact_uri: pulumi.Output[str]
    model_package_group_names: dict[str, pulumi.Output[str]]
    model_package_group_arns: dict[str, pulumi.Output[str]]
    database_arn: pulumi.Output[str] | None
    vpc_endpoint_id: pulumi.Output[str] | None   # the MLflow interface endpoint, when created

    def __init__(self, name: str, args: TrackingServerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        super().__init__(TYPE, name, None, opts)
        self._prefix = name  # logical-name prefix of children (Resource owns ._name)
        self._args = args
        ctx, settings = args.context, args.settings
        self.backend = settings.backend
        self._stateful = pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.retain_on_delete)
        self.mlflow_artifact_uri = pulumi.Output.concat("s3://", args.models_bucket_name, "/", settings.artifact_prefix)
        self.tracking_server_url = self.tracking_server_arn = self.database_arn = None
        self.vpc_endpoint_id = None

        if settings.backend == "sagemaker-serverless":
            app = self._sagemaker()
            self.tracking_server_arn = app.arn
            self.tracking_uri = app.arn  # the sagemaker-mlflow plugin resolves the ARN; an App has no fixed URL
        elif settings.backend == "sagemaker-managed":
            server = self._sagemaker()
            self.tracking_server_arn = server.arn
            self.tracking_server_url = server.tracking_server_url
            self.tracking_uri = server.arn
        else:
            assert args.kubernetes is not None  # _validate guarantees it
            backend = KubernetesBackend(self, name, ctx, args.kubernetes, settings, component=COMPONENT,
                                        tracking_role_arn=args.tracking_role_arn, artifact_uri=self.mlflow_artifact_uri,
                                        stateful=self._stateful)
            self.tracking_server_url = pulumi.Output.from_input(backend.service_url)
            self.tracking_uri = self.tracking_server_url
            self.database_arn = backend.database.instance.arn
        if args.private_endpoint is not None and self.tracking_server_arn is not None:
            self.vpc_endpoint_id = self._private_endpoint(args.private_endpoint, self.tracking_server_arn)

        self.model_package_group_names, self.model_package_group_arns = self._model_package_groups()
        self.register_outputs(
            {
                "backend": self.backend,
                "trackingUri": self.tracking_uri,
                "trackingServerUrl": self.tracking_server_url,
                "trackingServerArn": self.tracking_server_arn,
                "mlflowArtifactUri": self.mlflow_artifact_uri,
                "modelPackageGroupNames": self.model_package_group_names,
                "mlflowVpcEndpointId": self.vpc_endpoint_id,
            }
        )

    def _tags(self, name: str) -> dict[str, str]:
        return self._args.context.tagging.resource(COMPONENT, name)

    def _sagemaker(self) -> aws.sagemaker.MlflowApp | aws.sagemaker.MlflowTrackingServer:
        """The serverless app or the managed server: the same role, artifacts, window and tags."""
        args, settings = self._args, self._args.settings
        name = args.context.naming.name("mlflow", kind=NameKind.SAGEMAKER)
        common: dict[str, Any] = {"role_arn": args.tracking_role_arn, "artifact_store_uri": self.mlflow_artifact_uri,
                                  "weekly_maintenance_window_start": settings.maintenance_window,
                                  "tags": self._tags(name)}
        depends_on = pulumi.ResourceOptions(depends_on=list(args.role_policies))
        if settings.backend == "sagemaker-serverless":
            return aws.sagemaker.MlflowApp(
                f"{self._prefix}-app",
                name=name,
                model_registration_mode="AutoModelRegistrationEnabled",
                # Never the account's default app: several stacks may share an account.
                account_default_status="DISABLED",
                # A framework resource: it takes timeouts as an input, not as custom_timeouts.
                timeouts=aws.sagemaker.MlflowAppTimeoutsArgs(create=TIMEOUT, update=TIMEOUT, delete=TIMEOUT),
                opts=pulumi.ResourceOptions.merge(self._stateful, depends_on),
                **common,
            )
        timeouts = pulumi.ResourceOptions(custom_timeouts=pulumi.CustomTimeouts(create=TIMEOUT, update=TIMEOUT, delete=TIMEOUT))
        return aws.sagemaker.MlflowTrackingServer(
            f"{self._prefix}-server",
            tracking_server_name=name,
            tracking_server_size=settings.size,
            mlflow_version=settings.sagemaker_mlflow_version,
            automatic_model_registration=True,
            opts=pulumi.ResourceOptions.merge(pulumi.ResourceOptions.merge(self._stateful, depends_on), timeouts),
            **common,
        )

    def _private_endpoint(self, endpoint: TrackingEndpointArgs, resource_arn: pulumi.Output[str]) -> pulumi.Output[str]:
        """The interface endpoint to SageMaker MLflow, admitting only this stack's app/server, in a
        security group that takes HTTPS from the workload group only."""
        ctx, backend = self._args.context, self._args.settings.backend
        child = pulumi.ResourceOptions(parent=self)
        owner = {"context": ctx, "component": COMPONENT, "opts": child}
        sg = security_group(f"{self._prefix}-endpoint", purpose="mlflow-endpoint", vpc_id=endpoint.vpc_id,
                            description="SageMaker MLflow interface endpoint: HTTPS from the ML workloads only", **owner)
        for index, client in enumerate(endpoint.client_security_group_ids):
            security_group_rule(f"{self._prefix}-endpoint-https-{index}", "ingress", purpose=f"mlflow-endpoint-https-{index}",
                                security_group_id=sg.id, port=HTTPS, referenced_security_group_id=client,
                                description="HTTPS from training jobs and endpoints (workload security group)", **owner)
        vpce_name = ctx.naming.name("vpce", MLFLOW_ENDPOINT_SERVICE)
        vpce = aws.ec2.VpcEndpoint(
            f"{self._prefix}-endpoint",
            vpc_id=endpoint.vpc_id,
            service_name=mlflow_endpoint_service(ctx.region),
            vpc_endpoint_type="Interface",
            private_dns_enabled=True,
            subnet_ids=endpoint.subnet_ids,
            security_group_ids=[sg.id],
            policy=render(lambda arn: endpoint_policy(backend, arn), resource_arn),
            tags=self._tags(vpce_name),
            opts=child,
        )
        return vpce.id

    def _model_package_groups(self) -> tuple[dict[str, pulumi.Output[str]], dict[str, pulumi.Output[str]]]:
        ctx = self._args.context
        names: dict[str, pulumi.Output[str]] = {}
        arns: dict[str, pulumi.Output[str]] = {}
        for family in self._args.settings.model_families:
            group_name = model_package_group_name(ctx, family)
            group = aws.sagemaker.ModelPackageGroup(
                f"{self._prefix}-{family}",
                model_package_group_name=group_name,
                model_package_group_description=(
                    f"{ctx.naming.prefix}: model family '{family}'; register MLflow models as '{group_name}'"),
                tags=self._tags(group_name),
                opts=self._stateful,
            )
            names[family] = group.model_package_group_name
            arns[family] = group.arn
        return names, arns
