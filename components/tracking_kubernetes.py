"""The self-hosted backend of :class:`~mlops_blueprint.components.tracking_server.TrackingServer`.

MLflow on the platform's Kubernetes cluster, with an RDS PostgreSQL backend store. Everything here
is created as children of the ``TrackingServer`` component; Kubernetes objects use the
``kubernetes`` provider the component got from its parent (``providers={"kubernetes": ...}``).

Database credentials never pass through Pulumi: RDS generates the master password and keeps it in
Secrets Manager (``manage_master_user_password``, encrypted with the platform data key), so the
program, its config and its state only ever see the secret's ARN. The pod reads the password at
runtime with its IRSA role: an init container writes it to a libpq password file on an in-memory
volume (``PGPASSFILE``), and a sidecar rewrites that file every few minutes, because RDS rotates
the password (every 7 days by default) and libpq reads the file for each new connection. The
backend-store URI in the Kubernetes Secret therefore names host, database and user, never a
password.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from mlops_blueprint.components import k8s_security as hardening
from mlops_blueprint.components.security_groups import security_group, security_group_rule
from mlops_blueprint.components.tracking_server_settings import TrackingServerSettings
from mlops_blueprint.context import StackContext
from mlops_blueprint.naming import NameKind
from mlops_blueprint.policy_documents import document, render, statement

T = TypeVar("T")

PORT = 5000
DB_PORT = 5432
APP_NAME = "mlflow"                 # Deployment/Service/ServiceAccount name and app label
SERVICE_ACCOUNT = "mlflow"          # the IRSA subject is system:serviceaccount:<namespace>:mlflow
BACKEND_SECRET = "mlflow-backend-store"
CLIENT_LABEL = "mlops-platform/mlflow-client"  # pods with this label "true" may reach the server from any namespace
DB_NAME = "mlflow"
DB_USER = "mlflow"
# MLflow (>= 3.5) reads it; >= 3.9 defaults it to on, starting a job runner and seven consumers per pod.
JOB_EXECUTION_ENV = "MLFLOW_SERVER_ENABLE_JOB_EXECUTION"
PGPASS_DIR = "/var/run/mlflow-db"
PGPASS_FILE = f"{PGPASS_DIR}/pgpass"
ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
TARGET_CPU_PERCENT = 70             # the autoscaler's target: average CPU utilisation of the requests

# Runs in the MLflow image (the "-full" image has boto3). ``--loop``: keep refreshing, never exit.
DB_CREDENTIALS_SCRIPT = r'''
import json, os, sys, time
import boto3

PATH = os.environ["PGPASSFILE"]
SECRET = os.environ["DB_SECRET_ARN"]
INTERVAL = int(os.environ.get("REFRESH_SECONDS", "300"))


def escape(value):
    return value.replace("\\", "\\\\").replace(":", "\\:")


def write(client):
    secret = json.loads(client.get_secret_value(SecretId=SECRET)["SecretString"])
    line = "*:*:*:%s:%s\n" % (escape(secret["username"]), escape(secret["password"]))
    temporary = PATH + ".new"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # libpq ignores a password file that group or others can read
    with os.fdopen(descriptor, "w") as handle:
        handle.write(line)
    os.replace(temporary, PATH)


client = boto3.client("secretsmanager")
if "--loop" not in sys.argv:
    write(client)
    sys.exit(0)
while True:
    time.sleep(INTERVAL)
    try:
        write(client)
    except Exception as error:  # keep the last good file; the next round retries
        print("db-credentials: refresh failed: %s" % error, file=sys.stderr, flush=True)
'''.lstrip()

_CREDENTIAL_SIZES = hardening.ResourceSizes(cpu_request="10m", memory_request="64Mi", cpu_limit="200m", memory_limit="256Mi")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class KubernetesTrackingArgs:
    """Where the self-hosted server runs: the cluster's network facts and the data key (wiring only;
    its size, image and database are ``TrackingServerSettings.kubernetes``)."""

    vpc_id: pulumi.Input[str]                       # Network.vpc_id
    vpc_cidr: pulumi.Input[str]                     # Network.vpc_cidr: the NetworkPolicy's database egress
    node_security_group_id: pulumi.Input[str]       # KubernetesConfig.node_security_group_id: may reach the DB
    data_key_arn: pulumi.Input[str]                 # Kms.data_key_arn: RDS storage and the password secret
    db_subnet_group_name: pulumi.Input[str] | None = None         # Network.db_subnet_group_name
    database_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]] = ()  # used when there is no subnet group
    cluster_domain: str = "cluster.local"           # the cluster's DNS domain (the Service's in-cluster name)


def known_or_unknown(value: T | None) -> pulumi.Output[T] | T:
    """``value``, or an unknown Output when a provider left it unset (only the offline mocks do,
    for computed attributes such as an RDS address): the plan shows it as not yet known instead
    of a made-up value."""
    if value is not None:
        return value
    loop = asyncio.get_event_loop()
    resolved, is_known = loop.create_future(), loop.create_future()
    resolved.set_result(None)
    is_known.set_result(False)
    return pulumi.Output(set(), resolved, is_known)


def rds_windows(weekly_start: str) -> tuple[str, str]:
    """``"Sun:03:00"`` -> (maintenance ``"sun:03:00-sun:04:00"``, daily backup ``"02:00-02:30"``):
    the backup window ends half an hour before maintenance, so the two never overlap."""
    day, hour, minute = weekly_start.split(":")
    start = int(hour) * 60 + int(minute)
    end = start + 60
    end_day = _DAYS[(_DAYS.index(day) + end // (24 * 60)) % 7]
    end %= 24 * 60

    def clock(minutes: int) -> str:
        minutes %= 24 * 60
        return f"{minutes // 60:02d}:{minutes % 60:02d}"

    maintenance = f"{day.lower()}:{clock(start)}-{end_day.lower()}:{clock(end)}"
    return maintenance, f"{clock(start - 60)}-{clock(start - 30)}"


def backend_store_uri(address: str, port: int | float) -> str:
    """SQLAlchemy URI without a password: libpq takes it from ``PGPASSFILE``. RDS PostgreSQL 15+
    forces TLS (``rds.force_ssl``), so require it on our side too."""
    return f"postgresql://{DB_USER}@{address}:{int(port)}/{DB_NAME}?sslmode=require"


def allowed_hosts(namespace: str, cluster_domain: str) -> list[str]:
    """Host headers the server accepts (MLflow rejects others against DNS rebinding): the
    Service's in-cluster names, and localhost for ``kubectl port-forward``. Probes are exempt."""
    names = [APP_NAME, f"{APP_NAME}.{namespace}", f"{APP_NAME}.{namespace}.svc",
             f"{APP_NAME}.{namespace}.svc.{cluster_domain}", "localhost", "127.0.0.1"]
    return [host for name in names for host in (name, f"{name}:*")]


def server_args(
    *, artifact_uri: str, workers: int, namespace: str, cluster_domain: str,
    backend_store_uri: str = "$(MLFLOW_BACKEND_STORE_URI)",
) -> list[str]:
    """``mlflow server`` arguments. The backend-store URI defaults to Kubernetes' expansion of the
    env var that the Secret fills; the local test runs the same arguments against SQLite."""
    return [
        "server",
        "--backend-store-uri", backend_store_uri,
        "--artifacts-destination", artifact_uri,
        "--serve-artifacts",
        "--host", "0.0.0.0",
        "--port", str(PORT),
        "--workers", str(workers),
        "--allowed-hosts", ",".join(allowed_hosts(namespace, cluster_domain)),
    ]


def db_credentials_policy(ctx: StackContext, secret_arn: str, data_key_arn: str) -> dict[str, Any]:
    """Read this database's password secret, decrypt it through Secrets Manager only."""
    return document(
        statement("ReadDatabaseSecret", ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"], [secret_arn]),
        statement("DecryptDatabaseSecret", ["kms:Decrypt"], [data_key_arn],
                  conditions={"StringEquals": {"kms:ViaService": ctx.service_principal(f"secretsmanager.{ctx.region}")}}),
    )


@dataclass(frozen=True)
class Database:
    instance: aws.rds.Instance
    security_group: aws.ec2.SecurityGroup
    address: pulumi.Output[str]
    port: pulumi.Output[int]
    secret_arn: pulumi.Output[str]


class KubernetesBackend:
    """Builds the self-hosted backend's children under ``parent`` (a builder, not a component)."""

    def __init__(
        self,
        parent: pulumi.Resource,
        name: str,
        ctx: StackContext,
        args: KubernetesTrackingArgs,
        settings: TrackingServerSettings,
        *,
        component: str,
        tracking_role_arn: pulumi.Input[str],
        artifact_uri: pulumi.Output[str],
        stateful: pulumi.ResourceOptions,  # parented to ``parent``, with the environment's protect/retain
    ) -> None:
        self._parent, self._name, self._ctx, self._args, self._settings = parent, name, ctx, args, settings.kubernetes
        self._component = component
        self._child = pulumi.ResourceOptions(parent=parent)
        self._stateful = stateful
        self.database = self._database(settings.maintenance_window)
        self._credentials_policy(tracking_role_arn)
        self.service_url = self._kubernetes(tracking_role_arn, artifact_uri, settings.kubernetes_image)

    def _tags(self, *parts: str) -> dict[str, str]:
        return self._ctx.tagging.resource(self._component, self._ctx.naming.name(*parts))

    # -- AWS: the database ------------------------------------------------------------------
    def _database(self, maintenance_window: str) -> Database:
        ctx, args, name, child = self._ctx, self._args, self._name, self._child
        db = self._settings.database
        owner = {"context": ctx, "component": self._component, "opts": child}
        sg = security_group(f"{name}-db", purpose="mlflow-db", vpc_id=args.vpc_id,
                            description="MLflow backend store: PostgreSQL from the cluster's nodes only", **owner)
        # No egress rule: the database starts no connections (the provider removes AWS's default).
        security_group_rule(f"{name}-db-from-nodes", "ingress", purpose="mlflow-db-from-nodes", security_group_id=sg.id,
                            description="PostgreSQL from the Kubernetes nodes/pods", port=DB_PORT,
                            referenced_security_group_id=args.node_security_group_id, **owner)
        subnet_group = args.db_subnet_group_name
        if subnet_group is None:
            subnet_group = aws.rds.SubnetGroup(
                f"{name}-db",
                name=ctx.naming.name("mlflow-db", kind=NameKind.RDS),
                description="MLflow backend store: database subnets",
                subnet_ids=(args.database_subnet_ids if isinstance(args.database_subnet_ids, pulumi.Output)
                            else list(args.database_subnet_ids)),
                tags=self._tags("mlflow-db"),
                opts=child,
            ).name
        identifier = ctx.naming.name("mlflow", kind=NameKind.RDS)
        maintenance, backup = rds_windows(maintenance_window)
        instance = aws.rds.Instance(
            f"{name}-db",
            identifier=identifier,
            engine="postgres",
            engine_version=db.engine_version,
            auto_minor_version_upgrade=True,
            instance_class=db.instance_class,
            allocated_storage=db.allocated_storage,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=args.data_key_arn,
            db_name=DB_NAME,
            username=DB_USER,
            # RDS generates the password and keeps it in Secrets Manager: it never reaches Pulumi.
            manage_master_user_password=True,
            master_user_secret_kms_key_id=args.data_key_arn,
            port=DB_PORT,
            db_subnet_group_name=subnet_group,
            vpc_security_group_ids=[sg.id],
            publicly_accessible=False,
            multi_az=db.multi_az,
            backup_retention_period=db.backup_retention_days,
            backup_window=backup,
            maintenance_window=maintenance,
            copy_tags_to_snapshot=True,
            deletion_protection=db.deletion_protection,
            skip_final_snapshot=db.skip_final_snapshot,
            final_snapshot_identifier=None if db.skip_final_snapshot else f"{identifier}-final",
            tags=self._tags("mlflow-db"),
            opts=self._stateful,
        )
        secret_arn = instance.master_user_secrets.apply(
            lambda secrets: known_or_unknown(secrets[0].secret_arn if secrets else None))
        return Database(
            instance=instance,
            security_group=sg,
            address=instance.address.apply(known_or_unknown),
            port=instance.port.apply(lambda port: known_or_unknown(port)),
            secret_arn=secret_arn,
        )

    def _credentials_policy(self, tracking_role_arn: pulumi.Input[str]) -> None:
        """The tracking role (the pod's IRSA role) may read this database's password, nothing else."""
        ctx = self._ctx
        aws.iam.RolePolicy(
            f"{self._name}-db-credentials",
            name=ctx.naming.name("tracking-db-credentials", kind=NameKind.IAM_POLICY),
            role=pulumi.Output.from_input(tracking_role_arn).apply(lambda arn: arn.rsplit("/", 1)[-1]),
            policy=render(lambda secret, key: db_credentials_policy(ctx, secret, key),
                          self.database.secret_arn, self._args.data_key_arn),
            opts=self._child,
        )

    # -- Kubernetes ---------------------------------------------------------------------------
    def _labels(self) -> dict[str, str]:
        return {"app.kubernetes.io/name": APP_NAME, "app.kubernetes.io/instance": self._ctx.naming.prefix,
                "app.kubernetes.io/component": "tracking-server"}

    def _metadata(self, name: str, namespace: str | None, **extra: Any) -> k8s.meta.v1.ObjectMetaArgs:
        tagging = self._ctx.tagging
        # Tag values may hold characters labels reject (owner "ML Platform"): cost attribution as annotations.
        annotations = {"mlops-platform/owner": tagging.owner, "mlops-platform/cost-center": tagging.cost_center,
                       "mlops-platform/environment": tagging.environment, **extra.pop("annotations", {})}
        labels = {**self._labels(), "app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": tagging.project}
        return k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace, labels=labels, annotations=annotations, **extra)

    def _kubernetes(self, tracking_role_arn: pulumi.Input[str], artifact_uri: pulumi.Output[str], image: str) -> str:
        args, settings, name, child = self._args, self._settings, self._name, self._child
        ns_name = settings.namespace
        metadata = self._metadata(ns_name, None)
        metadata.labels = {**metadata.labels, **hardening.pod_security_labels()}  # our pods meet "restricted"
        namespace = k8s.core.v1.Namespace(f"{name}-namespace", metadata=metadata, opts=child)
        in_ns = pulumi.ResourceOptions(parent=self._parent, depends_on=[namespace])

        k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata=self._metadata(SERVICE_ACCOUNT, ns_name, annotations={
                ROLE_ARN_ANNOTATION: tracking_role_arn,
                "eks.amazonaws.com/sts-regional-endpoints": "true",
            }),
            # The server never calls the Kubernetes API; IRSA mounts its own token.
            automount_service_account_token=False,
            opts=in_ns,
        )
        db = self.database
        backend_secret = k8s.core.v1.Secret(
            f"{name}-backend-store",
            metadata=self._metadata(BACKEND_SECRET, ns_name),
            type="Opaque",
            string_data={
                "backend-store-uri": pulumi.Output.all(db.address, db.port).apply(lambda v: backend_store_uri(*v)),
                "db-secret-arn": db.secret_arn,
            },
            opts=in_ns,
        )
        selector = k8s.meta.v1.LabelSelectorArgs(match_labels=self._labels())
        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=self._metadata(APP_NAME, ns_name),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                # No replicas: the HorizontalPodAutoscaler owns the count (min = settings.replicas).
                selector=selector,
                strategy=k8s.apps.v1.DeploymentStrategyArgs(
                    type="RollingUpdate",
                    rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(max_surge=1, max_unavailable=0),
                ),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=self._labels()),
                    spec=self._pod_spec(artifact_uri, image, backend_secret),
                ),
            ),
            opts=in_ns,
        )
        k8s.core.v1.Service(
            f"{name}-service",
            metadata=self._metadata(APP_NAME, ns_name),
            spec=k8s.core.v1.ServiceSpecArgs(
                type="ClusterIP",
                selector=self._labels(),
                ports=[k8s.core.v1.ServicePortArgs(name="http", port=PORT, target_port="http", protocol="TCP")],
            ),
            opts=in_ns,
        )
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=self._metadata(APP_NAME, ns_name),
            spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(max_unavailable=1, selector=selector),
            opts=in_ns,
        )
        hardening.cpu_autoscaler(f"{name}-hpa", metadata=self._metadata(APP_NAME, ns_name), deployment=deployment,
                                 min_replicas=settings.replicas, max_replicas=settings.max_replicas,
                                 target_cpu_percent=TARGET_CPU_PERCENT, opts=in_ns)
        self._network_policy(ns_name, in_ns)
        return f"http://{APP_NAME}.{ns_name}.svc.{args.cluster_domain}:{PORT}"

    def _pod_spec(self, artifact_uri: pulumi.Output[str], image: str, backend_secret: k8s.core.v1.Secret) -> k8s.core.v1.PodSpecArgs:
        ctx, args, settings = self._ctx, self._args, self._settings
        tmp_volume, tmp_mount = hardening.scratch_volume()
        credentials_volume = k8s.core.v1.VolumeArgs(
            name="db-credentials",
            empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(medium="Memory", size_limit="1Mi"),  # never on disk
        )
        credentials_mount = k8s.core.v1.VolumeMountArgs(name="db-credentials", mount_path=PGPASS_DIR)

        def secret_env(env: str, key: str) -> k8s.core.v1.EnvVarArgs:
            return k8s.core.v1.EnvVarArgs(name=env, value_from=k8s.core.v1.EnvVarSourceArgs(
                secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=backend_secret.metadata.name, key=key)))

        aws_env = [
            k8s.core.v1.EnvVarArgs(name="AWS_REGION", value=ctx.region),
            k8s.core.v1.EnvVarArgs(name="AWS_DEFAULT_REGION", value=ctx.region),
            k8s.core.v1.EnvVarArgs(name="AWS_STS_REGIONAL_ENDPOINTS", value="regional"),
            k8s.core.v1.EnvVarArgs(name="HOME", value="/tmp"),  # the root filesystem is read-only
            k8s.core.v1.EnvVarArgs(name="PGPASSFILE", value=PGPASS_FILE),
        ]
        credentials_env = [*aws_env, secret_env("DB_SECRET_ARN", "db-secret-arn"),
                           k8s.core.v1.EnvVarArgs(name="REFRESH_SECONDS", value=str(settings.credentials_refresh_seconds))]

        def credentials_container(name: str, loop: bool) -> k8s.core.v1.ContainerArgs:
            return k8s.core.v1.ContainerArgs(
                name=name,
                image=image,
                command=["python", "-c", DB_CREDENTIALS_SCRIPT],
                args=["--loop"] if loop else [],
                env=credentials_env,
                security_context=hardening.container_security_context(),
                resources=_CREDENTIAL_SIZES.requirements(),
                volume_mounts=[credentials_mount, tmp_mount],
            )

        mlflow_args = artifact_uri.apply(lambda uri: server_args(
            artifact_uri=uri, workers=settings.workers, namespace=settings.namespace, cluster_domain=args.cluster_domain))
        server = k8s.core.v1.ContainerArgs(
            name="mlflow",
            image=image,
            command=["mlflow"],
            args=mlflow_args,
            working_dir="/tmp",
            ports=[k8s.core.v1.ContainerPortArgs(name="http", container_port=PORT, protocol="TCP")],
            env=[*aws_env, secret_env("MLFLOW_BACKEND_STORE_URI", "backend-store-uri"),
                 k8s.core.v1.EnvVarArgs(name=JOB_EXECUTION_ENV, value=str(settings.job_execution).lower())],
            security_context=hardening.container_security_context(),
            resources=hardening.ResourceSizes(**settings.resources.model_dump()).requirements(),
            # Startup runs the schema migrations: give liveness time before it may restart the pod.
            liveness_probe=hardening.http_probe("/health", PORT, initial_delay_seconds=60, period_seconds=20),
            readiness_probe=hardening.http_probe("/health", PORT, initial_delay_seconds=10, period_seconds=10),
            volume_mounts=[tmp_mount, credentials_mount],
        )
        return k8s.core.v1.PodSpecArgs(
            service_account_name=SERVICE_ACCOUNT,
            automount_service_account_token=False,
            security_context=hardening.pod_security_context(),
            volumes=[tmp_volume, credentials_volume],
            init_containers=[credentials_container("db-credentials", loop=False)],
            containers=[server, credentials_container("db-credentials-refresh", loop=True)],
        )

    def _network_policy(self, namespace: str, opts: pulumi.ResourceOptions) -> None:
        """Ingress: port 5000 from this namespace and from pods labelled as MLflow clients anywhere.
        Egress: DNS to kube-system, PostgreSQL inside the VPC, HTTPS (S3, STS, Secrets Manager)."""
        allow = hardening.NetworkAllowances((PORT,), CLIENT_LABEL, tcp_egress=((self._args.vpc_cidr, DB_PORT),))
        hardening.network_policies(self._name, namespace=namespace, metadata=self._metadata(APP_NAME, namespace),
                                   pod_labels=self._labels(), opts=opts, allow=allow)
