"""MLflow tracking server and model registry: three backends behind one component.

``backend`` picks where MLflow runs; roles, buckets, outputs and pipelines do not change with it:

- ``sagemaker-serverless``: a SageMaker MLflow App (``aws.sagemaker.MlflowApp``). Nothing to size,
  no hourly instance; AWS picks the MLflow version.
- ``sagemaker-managed``: a SageMaker MLflow tracking server (``aws.sagemaker.MlflowTrackingServer``)
  of a fixed size, with the MLflow version pinned to major.minor.
- ``kubernetes``: the official MLflow image on the platform's cluster, with an RDS PostgreSQL
  backend store (:mod:`.tracking_kubernetes`).

All three keep artifacts in the ArtifactStore's models bucket under ``artifact_prefix`` and act
with the tracking role from PlatformRoles (IAM-role authentication only: no access keys, no
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
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_blueprint.components.irsa import ServiceAccountTrust
from mlops_blueprint.components.k8s_security import ResourceSizes
from mlops_blueprint.components.tracking_kubernetes import (
    SERVICE_ACCOUNT,
    KubernetesBackend,
    KubernetesTrackingArgs,
    TrackingDatabaseArgs,
    image_for,
)
from mlops_blueprint.context import StackContext
from mlops_blueprint.naming import NameKind, fit
from mlops_blueprint.policy_documents import document, render, statement
from mlops_blueprint.tracking_config import (
    DEFAULT_ARTIFACT_PREFIX,
    TrackingConfig,
    DEFAULT_MAINTENANCE_WINDOW,
    DEFAULT_MLFLOW_VERSION,
    TRACKING_BACKENDS,
    TRACKING_SIZES,
    artifact_prefix_problem,
    mlflow_minor_version,
    model_family_problem,
    normalise_maintenance_window,
    parse_mlflow_version,
)
from mlops_blueprint.validation import (
    K8S_NAME, K8S_NAME_MAX_LENGTH, SECURITY_GROUP_ID, VPC_ID, invalid_args_error, raise_invalid_args,
)

__all__ = [
    "BACKENDS", "KubernetesTrackingArgs", "MLFLOW_ENDPOINT_SERVICE", "TrackingDatabaseArgs", "TrackingEndpointArgs",
    "TrackingServer", "TrackingServerArgs", "endpoint_policy", "mlflow_endpoint_service", "tracking_server_args",
    "tracking_service_account",
]

COMPONENT = "tracking"
TYPE = "mlops:tracking:TrackingServer"
BACKENDS = TRACKING_BACKENDS
SIZES = TRACKING_SIZES
# A managed server takes 20-30 minutes to create, update (version upgrades) and delete.
TIMEOUT = "60m"
SAGEMAKER_NAME_MAX = 63  # model package group names (EntityName)

_S3_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_DNS_DOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_INSTANCE_CLASS = re.compile(r"db\.[a-z0-9]+\.[a-z0-9]+")
_ENGINE_VERSION = re.compile(r"1[3-9](\.\d+)?")
_HTTPS = 443
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
    """The values of ``TrackingConfig`` plus the resources of this stack the server uses."""

    context: StackContext
    tracking_role_arn: pulumi.Input[str]     # PlatformRoles.tracking_role_arn (SageMaker and, for kubernetes, IRSA)
    models_bucket_name: pulumi.Input[str]    # ArtifactStore.models_bucket_name
    backend: str = "sagemaker-serverless"    # one of BACKENDS
    artifact_prefix: str = DEFAULT_ARTIFACT_PREFIX  # artifacts at s3://<models bucket>/<prefix>/ (the tracking role's scope)
    model_families: Sequence[str] = ()       # one SageMaker model package group each
    mlflow_version: str = DEFAULT_MLFLOW_VERSION  # managed: sent as major.minor; kubernetes: the image tag
    size: str = "Small"                      # sagemaker-managed only: Small, Medium or Large
    maintenance_window: str = DEFAULT_MAINTENANCE_WINDOW  # weekly, UTC: SageMaker's window, RDS's for kubernetes
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
    tracking: TrackingConfig,
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
    """``TrackingConfig`` -> args: the one mapping, for the stack and the tests alike. The network
    and key arguments are used (and required) only for the kubernetes backend; ``private_endpoint``
    only for the SageMaker backends (ignored for kubernetes)."""
    kubernetes = None
    if tracking.backend == "kubernetes":
        k, db = tracking.kubernetes, tracking.kubernetes.database
        kubernetes = KubernetesTrackingArgs(
            vpc_id=vpc_id,  # type: ignore[arg-type]  # None is reported by _validate, naming the arg
            vpc_cidr=vpc_cidr,  # type: ignore[arg-type]
            node_security_group_id=node_security_group_id,  # type: ignore[arg-type]
            data_key_arn=data_key_arn,  # type: ignore[arg-type]
            db_subnet_group_name=db_subnet_group_name,
            # A shared network's subnet ids are one Output of a list: kept whole.
            database_subnet_ids=(database_subnet_ids if isinstance(database_subnet_ids, pulumi.Output)
                                 else tuple(database_subnet_ids)),
            namespace=k.namespace,
            image=k.image,
            replicas=k.replicas,
            max_replicas=k.max_replicas,
            workers=k.workers,
            resources=ResourceSizes(cpu_request=k.resources.cpu_request, memory_request=k.resources.memory_request,
                                    cpu_limit=k.resources.cpu_limit, memory_limit=k.resources.memory_limit),
            database=TrackingDatabaseArgs(
                instance_class=db.instance_class, allocated_storage=db.allocated_storage,
                engine_version=db.engine_version, multi_az=db.multi_az,
                backup_retention_days=db.backup_retention_days, deletion_protection=db.deletion_protection,
                skip_final_snapshot=db.skip_final_snapshot,
            ),
        )
    return TrackingServerArgs(
        context=ctx,
        backend=tracking.backend,
        tracking_role_arn=tracking_role_arn,
        models_bucket_name=models_bucket_name,
        artifact_prefix=tracking.artifact_prefix,
        model_families=tuple(tracking.model_families),
        mlflow_version=tracking.mlflow_version,
        size=tracking.size,
        maintenance_window=tracking.maintenance_window,
        kubernetes=kubernetes,
        private_endpoint=private_endpoint if tracking.backend != "kubernetes" else None,
        role_policies=tuple(role_policies),
        protect=protect,
        retain_on_delete=retain_on_delete,
    )


def model_package_group_name(ctx: StackContext, family: str) -> str:
    return ctx.naming.name(family, kind=NameKind.SAGEMAKER)


def _validate(args: TrackingServerArgs) -> None:
    """Every problem at once, each naming the arg and what would be valid; before any registration."""
    if not isinstance(args.context, StackContext):
        raise invalid_args_error("TrackingServerArgs", [f"context: expected a StackContext, got {type(args.context).__name__}"])
    ctx = args.context
    problems: list[str] = []

    def literal(arg: str, value: Any, pattern: str | re.Pattern[str], expected: str) -> None:
        # Outputs resolve later; only literal strings can be checked up front.
        if isinstance(value, str):
            if not re.fullmatch(pattern, value):
                problems.append(f"{arg}: {value!r} is not {expected}")
        elif not isinstance(value, pulumi.Output):
            problems.append(f"{arg}: expected a string or Output, got {type(value).__name__}")

    literal("tracking_role_arn", args.tracking_role_arn,
            rf"arn:{re.escape(ctx.partition)}:iam::{ctx.account_id}:role/([\w+=,.@-]+/)*[\w+=,.@-]+",
            f"an IAM role ARN of this account (arn:{ctx.partition}:iam::{ctx.account_id}:role/<name>)")
    literal("models_bucket_name", args.models_bucket_name, _S3_BUCKET_NAME, "an S3 bucket name")
    if args.backend not in BACKENDS:
        problems.append(f"backend: {args.backend!r} is not one of {', '.join(BACKENDS)}")
    if args.size not in SIZES:
        problems.append(f"size: {args.size!r} is not one of {', '.join(SIZES)}")
    for arg, check in (("mlflow_version", parse_mlflow_version), ("maintenance_window", normalise_maintenance_window)):
        try:
            check(getattr(args, arg))
        except ValueError as exc:
            problems.append(f"{arg}: {exc}")
    if problem := artifact_prefix_problem(args.artifact_prefix):
        problems.append(f"artifact_prefix: {problem}")
    problems += _family_problems(ctx, args.model_families)

    if args.backend == "kubernetes":
        if args.kubernetes is None:
            problems.append("kubernetes: required when backend is 'kubernetes' (KubernetesTrackingArgs: vpc_id, vpc_cidr, "
                            "node_security_group_id, data_key_arn, db_subnet_group_name or database_subnet_ids)")
        else:
            problems += _kubernetes_problems(ctx, args.kubernetes, args.mlflow_version)
    elif args.kubernetes is not None:
        problems.append(f"kubernetes: set only for backend 'kubernetes' (backend is {args.backend!r}); remove it")
    if args.private_endpoint is not None and args.backend == "kubernetes":
        problems.append("private_endpoint: the kubernetes backend has no SageMaker endpoint; remove it")
    elif args.private_endpoint is not None and not args.private_endpoint.client_security_group_ids:
        problems.append("private_endpoint.client_security_group_ids: give at least one security group "
                        "(the workload group) that may reach MLflow")
    raise_invalid_args("TrackingServerArgs", problems)


def _family_problems(ctx: StackContext, families: Sequence[str]) -> list[str]:
    if isinstance(families, str):
        return [f"model_families: expected a list of names, got the string {families!r}"]
    problems = [f"model_families: {p}" for p in map(model_family_problem, families) if p]
    duplicates = sorted({f for f in families if list(families).count(f) > 1})
    if duplicates:
        problems.append(f"model_families: duplicates {', '.join(duplicates)}")
    for family in families:
        if model_family_problem(family) is None:
            raw = f"{ctx.naming.prefix}-{family}"
            if fit(raw, NameKind.SAGEMAKER) != raw:
                problems.append(f"model_families: {family!r} makes the group name {raw!r}, longer than "
                                f"{SAGEMAKER_NAME_MAX} characters; use a shorter family name")
    return problems


def _kubernetes_problems(ctx: StackContext, k: KubernetesTrackingArgs, mlflow_version: str) -> list[str]:
    problems: list[str] = []

    def literal(arg: str, value: Any, pattern: str, expected: str) -> None:
        if isinstance(value, str) and not re.fullmatch(pattern, value):
            problems.append(f"kubernetes.{arg}: {value!r} is not {expected}")
        elif value is not None and not isinstance(value, (str, pulumi.Output)):
            problems.append(f"kubernetes.{arg}: expected a string or Output, got {type(value).__name__}")

    literal("vpc_id", k.vpc_id, VPC_ID, "a VPC id (vpc-0abc12345def67890)")
    literal("node_security_group_id", k.node_security_group_id, SECURITY_GROUP_ID, "a security group id (sg-0abc12345def67890)")
    literal("data_key_arn", k.data_key_arn, rf"arn:{re.escape(ctx.partition)}:kms:[a-z0-9-]+:\d{{12}}:key/[\w-]+",
            f"a KMS key ARN (arn:{ctx.partition}:kms:<region>:<account>:key/<id>)")
    if k.vpc_id is None or k.node_security_group_id is None or k.data_key_arn is None or k.vpc_cidr is None:
        missing = [a for a in ("vpc_id", "vpc_cidr", "node_security_group_id", "data_key_arn") if getattr(k, a) is None]
        problems.append(f"kubernetes: {', '.join(missing)} required")
    if isinstance(k.vpc_cidr, str):
        try:
            ipaddress.IPv4Network(k.vpc_cidr, strict=True)
        except ValueError as exc:
            problems.append(f"kubernetes.vpc_cidr: {k.vpc_cidr!r} is not an IPv4 CIDR ({exc})")
    if (k.db_subnet_group_name is None and not isinstance(k.database_subnet_ids, pulumi.Output)
            and len(k.database_subnet_ids) < 2):
        problems.append("kubernetes.db_subnet_group_name: required, or give two or more database_subnet_ids in different AZs")
    if not re.fullmatch(K8S_NAME, k.namespace or "") or len(k.namespace) > K8S_NAME_MAX_LENGTH:
        problems.append(f"kubernetes.namespace: {k.namespace!r} is not a Kubernetes name (lowercase letters, digits, '-', 63 at most)")
    if not _DNS_DOMAIN.fullmatch(k.cluster_domain or ""):
        problems.append(f"kubernetes.cluster_domain: {k.cluster_domain!r} is not a DNS domain (e.g. cluster.local)")
    if not (isinstance(k.replicas, int) and 1 <= k.replicas <= 20):
        problems.append(f"kubernetes.replicas: {k.replicas!r} is out of range; expected 1 to 20")
    elif not (isinstance(k.max_replicas, int) and k.replicas <= k.max_replicas <= 50):
        problems.append(f"kubernetes.max_replicas: {k.max_replicas!r} must be between replicas ({k.replicas}) and 50")
    if not (isinstance(k.workers, int) and 1 <= k.workers <= 16):
        problems.append(f"kubernetes.workers: {k.workers!r} is out of range; expected 1 to 16")
    if not (isinstance(k.credentials_refresh_seconds, int) and 30 <= k.credentials_refresh_seconds <= 3600):
        problems.append(f"kubernetes.credentials_refresh_seconds: {k.credentials_refresh_seconds!r} is out of range; "
                        "expected 30 to 3600 (RDS rotates the password every 7 days by default)")
    if k.image is not None and (not k.image or any(c.isspace() for c in k.image)):
        problems.append(f"kubernetes.image: {k.image!r} is not an image reference")
    if k.image is None:
        try:
            if parse_mlflow_version(mlflow_version)[2] is None:
                problems.append(f"kubernetes.image: unset, and mlflow_version {mlflow_version!r} names no release for "
                                "the default image ghcr.io/mlflow/mlflow:v<version>-full; give a full version "
                                "(e.g. 3.5.0) or an image")
        except ValueError:
            pass  # reported under mlflow_version
    db = k.database
    if not _INSTANCE_CLASS.fullmatch(db.instance_class or ""):
        problems.append(f"kubernetes.database.instance_class: {db.instance_class!r} is not an RDS instance class (db.t4g.small)")
    if not (isinstance(db.allocated_storage, int) and 20 <= db.allocated_storage <= 65536):
        problems.append(f"kubernetes.database.allocated_storage: {db.allocated_storage!r} is out of range; expected 20 to 65536 GiB")
    if not _ENGINE_VERSION.fullmatch(str(db.engine_version)):
        problems.append(f"kubernetes.database.engine_version: {db.engine_version!r} is not a PostgreSQL version (13 to 19, or 16.4)")
    if not (isinstance(db.backup_retention_days, int) and 1 <= db.backup_retention_days <= 35):
        problems.append(f"kubernetes.database.backup_retention_days: {db.backup_retention_days!r} is out of range; "
                        "expected 1 to 35 (0 would turn backups off)")
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
        ctx = args.context
        self.backend = args.backend
        self._stateful = pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.retain_on_delete)
        window = normalise_maintenance_window(args.maintenance_window)
        self.mlflow_artifact_uri = pulumi.Output.concat("s3://", args.models_bucket_name, "/", args.artifact_prefix)
        self.tracking_server_url = self.tracking_server_arn = self.database_arn = None
        self.vpc_endpoint_id = None

        if args.backend == "sagemaker-serverless":
            app = self._serverless(window)
            self.tracking_server_arn = app.arn
            self.tracking_uri = app.arn  # the sagemaker-mlflow plugin resolves the ARN; an App has no fixed URL
        elif args.backend == "sagemaker-managed":
            server = self._managed(window)
            self.tracking_server_arn = server.arn
            self.tracking_server_url = server.tracking_server_url
            self.tracking_uri = server.arn
        else:
            assert args.kubernetes is not None  # _validate guarantees it
            backend = KubernetesBackend(
                self, name, ctx, args.kubernetes,
                component=COMPONENT,
                tracking_role_arn=args.tracking_role_arn,
                artifact_uri=self.mlflow_artifact_uri,
                image=image_for(args.kubernetes, args.mlflow_version),
                maintenance_window=window,
                protect=args.protect,
                retain_on_delete=args.retain_on_delete,
            )
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

    def _serverless(self, window: str) -> aws.sagemaker.MlflowApp:
        args, ctx = self._args, self._args.context
        app_name = ctx.naming.name("mlflow", kind=NameKind.SAGEMAKER)
        return aws.sagemaker.MlflowApp(
            f"{self._prefix}-app",
            name=app_name,
            artifact_store_uri=self.mlflow_artifact_uri,
            role_arn=args.tracking_role_arn,
            model_registration_mode="AutoModelRegistrationEnabled",
            weekly_maintenance_window_start=window,
            # Never the account's default app: several stacks may share an account.
            account_default_status="DISABLED",
            # A framework resource: it takes timeouts as an input, not as custom_timeouts.
            timeouts=aws.sagemaker.MlflowAppTimeoutsArgs(create=TIMEOUT, update=TIMEOUT, delete=TIMEOUT),
            tags=self._tags(app_name),
            opts=pulumi.ResourceOptions.merge(self._stateful, pulumi.ResourceOptions(depends_on=list(args.role_policies))),
        )

    def _managed(self, window: str) -> aws.sagemaker.MlflowTrackingServer:
        args, ctx = self._args, self._args.context
        server_name = ctx.naming.name("mlflow", kind=NameKind.SAGEMAKER)
        return aws.sagemaker.MlflowTrackingServer(
            f"{self._prefix}-server",
            tracking_server_name=server_name,
            tracking_server_size=args.size,
            mlflow_version=mlflow_minor_version(args.mlflow_version),
            role_arn=args.tracking_role_arn,
            artifact_store_uri=self.mlflow_artifact_uri,
            automatic_model_registration=True,
            weekly_maintenance_window_start=window,
            tags=self._tags(server_name),
            opts=pulumi.ResourceOptions.merge(self._stateful, pulumi.ResourceOptions(
                depends_on=list(args.role_policies),
                custom_timeouts=pulumi.CustomTimeouts(create=TIMEOUT, update=TIMEOUT, delete=TIMEOUT))),
        )

    def _private_endpoint(self, endpoint: TrackingEndpointArgs, resource_arn: pulumi.Output[str]) -> pulumi.Output[str]:
        """The interface endpoint to SageMaker MLflow, admitting only this stack's app/server, in a
        security group that takes HTTPS from the workload group only."""
        ctx, backend = self._args.context, self._args.backend
        child = pulumi.ResourceOptions(parent=self)
        sg_name = ctx.naming.name("mlflow-endpoint")
        sg = aws.ec2.SecurityGroup(
            f"{self._prefix}-endpoint",
            name=sg_name,
            description="SageMaker MLflow interface endpoint: HTTPS from the ML workloads only",
            vpc_id=endpoint.vpc_id,
            tags=self._tags(sg_name),
            opts=child,
        )
        for index, client in enumerate(endpoint.client_security_group_ids):
            aws.vpc.SecurityGroupIngressRule(
                f"{self._prefix}-endpoint-https-{index}",
                security_group_id=sg.id,
                description="HTTPS from training jobs and endpoints (workload security group)",
                ip_protocol="tcp",
                from_port=_HTTPS,
                to_port=_HTTPS,
                referenced_security_group_id=client,
                tags=self._tags(f"{sg_name}-https-{index}"),
                opts=child,
            )
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
        for family in self._args.model_families:
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
