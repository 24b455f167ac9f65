"""The ``tracking`` config section: which MLflow backend a stack runs, and its settings.

Stack file keys (camelCase, under ``mlops-platform:tracking``)::

    tracking:
      backend: sagemaker-managed        # sagemaker-serverless | sagemaker-managed | kubernetes
      size: Medium                      # sagemaker-managed only: Small | Medium | Large
      mlflowVersion: "3.0"              # "3.0" or "3.0.1"; SageMaker gets major.minor
      artifactPrefix: mlflow            # artifacts live at s3://<models bucket>/<prefix>/
      maintenanceWindow: "Sun:03:00"    # weekly, UTC
      modelFamilies: [churn, fraud]     # one SageMaker model package group each
      usersVpcOnly: true                # SageMaker backends: the mlflow-user policy works only from the VPC
      kubernetes:                       # backend: kubernetes only (needs the platform's kubernetes section)
        namespace: mlflow
        image: ghcr.io/mlflow/mlflow:v3.5.0-full   # default: the official "-full" image of mlflowVersion
        replicas: 2
        maxReplicas: 4
        resources: {cpuRequest: 250m, memoryRequest: 1Gi, cpuLimit: "1", memoryLimit: 2Gi}
        database: {instanceClass: db.t4g.small, allocatedStorage: 20, engineVersion: "16", multiAz: false,
                   backupRetentionDays: 7, deletionProtection: true, skipFinalSnapshot: false}

Per-environment defaults are :data:`TRACKING_DEFAULTS`; checks that need more than this section
(the cluster, the environment) are :func:`tracking_problems`, called from the platform model.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from mlops_blueprint.config_base import ContainerResources, Section
from mlops_blueprint.validation import K8S_NAME

TRACKING_BACKENDS: tuple[str, ...] = ("sagemaker-serverless", "sagemaker-managed", "kubernetes")
TRACKING_SIZES: tuple[str, ...] = ("Small", "Medium", "Large")
# The backends SageMaker runs: IAM-authenticated, reached through the VPC's MLflow endpoint.
SAGEMAKER_BACKENDS: tuple[str, ...] = ("sagemaker-serverless", "sagemaker-managed")
TrackingBackend = Literal["sagemaker-serverless", "sagemaker-managed", "kubernetes"]
TrackingSize = Literal["Small", "Medium", "Large"]

DEFAULT_MLFLOW_VERSION = "3.0"
DEFAULT_ARTIFACT_PREFIX = "mlflow"
DEFAULT_MAINTENANCE_WINDOW = "Sun:03:00"
OFFICIAL_IMAGE = "ghcr.io/mlflow/mlflow"

# Model families become SageMaker model package groups named <project>-<environment>-<family>
# (63 characters at most, no hashing allowed: pipelines must be able to predict the name). The
# longest prefix is "mlops-platform-staging-" (23 characters), which leaves 40.
MODEL_FAMILY_MAX_LENGTH = 40
_MODEL_FAMILY = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")
_VERSION = re.compile(r"(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)(\.(?P<patch>0|[1-9]\d*))?")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_WINDOW = re.compile(r"(?P<day>[A-Za-z]{3}):(?P<hour>[01]\d|2[0-3]):(?P<minute>[0-5]\d)")
_PREFIX_SEGMENT = r"[a-z0-9]([a-z0-9._-]*[a-z0-9])?"
_ARTIFACT_PREFIX = re.compile(rf"{_PREFIX_SEGMENT}(/{_PREFIX_SEGMENT})*")


# -- helpers shared with the component (one definition of what is valid) -----------------------


def parse_mlflow_version(value: str) -> tuple[int, int, int | None]:
    """``"3.0.1"`` -> ``(3, 0, 1)``; ``"3.0"`` -> ``(3, 0, None)``; ValueError otherwise."""
    match = _VERSION.fullmatch(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"{value!r} is not an MLflow version; expected major.minor or major.minor.patch, e.g. 3.0 or 3.0.1")
    patch = match.group("patch")
    return int(match.group("major")), int(match.group("minor")), int(patch) if patch is not None else None


def mlflow_minor_version(value: str) -> str:
    """``"3.0.2"`` -> ``"3.0"``: SageMaker picks the patch, so a patch bump must not change the input
    (a changed ``mlflowVersion`` would update, or replace, a server that takes tens of minutes)."""
    major, minor, _ = parse_mlflow_version(value)
    return f"{major}.{minor}"


def normalise_maintenance_window(value: str) -> str:
    """``"sun:03:00"``/``"SUN:03:00"`` -> ``"Sun:03:00"`` (SageMaker's pattern is title-case)."""
    match = _WINDOW.fullmatch(value.strip()) if isinstance(value, str) else None
    day = match.group("day").title() if match else None
    if not match or day not in _DAYS:
        raise ValueError(f"{value!r} is not a weekly window; expected Day:HH:MM in UTC with Day one of "
                         f"{', '.join(_DAYS)}, e.g. Sun:03:00")
    return f"{day}:{match.group('hour')}:{match.group('minute')}"


def artifact_prefix_problem(value: str) -> str | None:
    if not isinstance(value, str) or not _ARTIFACT_PREFIX.fullmatch(value) or len(value) > 200:
        return (f"{value!r} is not an S3 key prefix; expected lowercase path segments of letters, digits, "
                "'.', '_', '-' separated by '/', without leading or trailing '/', e.g. mlflow or teams/ml/mlflow")
    return None


def model_family_problem(value: str) -> str | None:
    if not isinstance(value, str) or not _MODEL_FAMILY.fullmatch(value) or len(value) > MODEL_FAMILY_MAX_LENGTH:
        return (f"{value!r} is not a model family name; expected 1 to {MODEL_FAMILY_MAX_LENGTH} lowercase "
                "letters, digits and '-', starting and ending with a letter or digit, e.g. churn")
    return None


def mlflow_endpoint_needed(backend: str, network_mode: str) -> bool:
    """The stack adds the SageMaker MLflow interface endpoint: a SageMaker backend in a VPC the
    stack creates (a brought or shared VPC's owner provides the endpoint: one per VPC with private DNS)."""
    return backend in SAGEMAKER_BACKENDS and network_mode == "create"


def default_image(mlflow_version: str) -> str:
    """The official image with the database drivers and boto3 (the plain tag has neither)."""
    return f"{OFFICIAL_IMAGE}:v{mlflow_version}-full"


# -- the section --------------------------------------------------------------------------------


class TrackingResourcesConfig(ContainerResources):
    """Requests and limits of the MLflow container."""

    cpu_request: str = "250m"
    memory_request: str = "1Gi"
    cpu_limit: str = "1"
    memory_limit: str = "2Gi"


class TrackingDatabaseConfig(Section):
    """The PostgreSQL backend store of the self-hosted (kubernetes) tracking server."""

    instance_class: str = Field(default="db.t4g.small", pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$",
                                description="RDS instance class, e.g. db.t4g.small")
    allocated_storage: int = Field(default=20, ge=20, le=65536, description="GiB of gp3 storage (20 to 65536)")
    engine_version: str = Field(default="16", pattern=r"^1[3-9](\.\d+)?$",
                                description="PostgreSQL major (minor upgrades are automatic) or major.minor, 13 to 19")
    multi_az: bool = Field(default=False, description="a standby in a second AZ (required in prod)")
    backup_retention_days: int = Field(default=7, ge=1, le=35, description="automated backups kept (1 to 35 days)")
    deletion_protection: bool = Field(default=True, description="RDS refuses to delete the instance (required in prod)")
    skip_final_snapshot: bool = Field(default=False, description="no snapshot when the instance is deleted (never in prod)")


class TrackingKubernetesConfig(Section):
    """The self-hosted tracking server on the platform's cluster (``tracking.backend: kubernetes``)."""

    namespace: str = Field(default="mlflow", max_length=63, pattern=K8S_NAME, description="namespace, created by the stack")
    image: str | None = Field(default=None, min_length=1,
                              description="MLflow server image; default ghcr.io/mlflow/mlflow:v<mlflowVersion>-full")
    replicas: int = Field(default=2, ge=1, le=20, description="minimum replicas (the autoscaler's floor)")
    max_replicas: int = Field(default=4, ge=1, le=50, description="the autoscaler's ceiling")
    workers: int = Field(default=2, ge=1, le=16, description="server worker processes per pod")
    resources: TrackingResourcesConfig = Field(default_factory=TrackingResourcesConfig)
    database: TrackingDatabaseConfig = Field(default_factory=TrackingDatabaseConfig)

    @field_validator("image")
    @classmethod
    def _image(cls, value: str | None) -> str | None:
        if value is not None and (any(c.isspace() for c in value) or value.endswith(":")):
            raise ValueError(f"{value!r} is not an image reference; expected e.g. ghcr.io/mlflow/mlflow:v3.5.0-full")
        return value

    @model_validator(mode="after")
    def _replicas(self) -> TrackingKubernetesConfig:
        if self.max_replicas < self.replicas:
            raise ValueError(f"maxReplicas ({self.max_replicas}) must be at least replicas ({self.replicas})")
        return self


class TrackingConfig(Section):
    """The MLflow tracking server and model registry."""

    backend: TrackingBackend = Field(default="sagemaker-serverless",
                                     description="sagemaker-serverless, sagemaker-managed or kubernetes")
    size: TrackingSize = Field(default="Small", description="sagemaker-managed only: Small, Medium or Large")
    mlflow_version: str = Field(default=DEFAULT_MLFLOW_VERSION,
                                description="MLflow version, major.minor or major.minor.patch (SageMaker gets major.minor)")
    artifact_prefix: str = Field(default=DEFAULT_ARTIFACT_PREFIX, description="key prefix in the models bucket")
    maintenance_window: str = Field(default=DEFAULT_MAINTENANCE_WINDOW, description="weekly start, UTC, e.g. Sun:03:00")
    model_families: list[str] = Field(default_factory=lambda: ["models"],
                                      description="one SageMaker model package group each (the training pipeline registers into the first)")
    users_vpc_only: bool = Field(
        default=True,
        description="SageMaker backends: people and notebooks (the mlflowUserPolicyArn policy) reach MLflow and "
                    "its presigned UI URL only from inside the VPC (aws:SourceVpc); no SageMaker console access")
    kubernetes: TrackingKubernetesConfig = Field(default_factory=TrackingKubernetesConfig)

    @field_validator("mlflow_version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            # YAML reads an unquoted 3.10 as the number 3.1: the intended version cannot be recovered.
            raise ValueError(f"{value!r} is a number; quote the version, e.g. mlflowVersion: \"3.0\"")
        parse_mlflow_version(value)
        return value

    @field_validator("maintenance_window")
    @classmethod
    def _window(cls, value: str) -> str:
        return normalise_maintenance_window(value)

    @field_validator("artifact_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        problem = artifact_prefix_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("model_families")
    @classmethod
    def _families(cls, values: list[str]) -> list[str]:
        problems = [p for p in map(model_family_problem, values) if p]
        duplicates = sorted({v for v in values if values.count(v) > 1})
        if duplicates:
            problems.append(f"duplicate model families: {', '.join(duplicates)}")
        if problems:
            raise ValueError("; ".join(problems))
        return values

    @property
    def sagemaker_mlflow_version(self) -> str:
        """What the managed tracking server is given: major.minor."""
        return mlflow_minor_version(self.mlflow_version)

    @property
    def kubernetes_image(self) -> str:
        return self.kubernetes.image or default_image(self.mlflow_version)


def tracking_problems(tracking: TrackingConfig, has_kubernetes_cluster: bool, *, environment: str | None = None) -> list[str]:
    """Checks that need more than the tracking section; one line per problem, naming the keys.

    ``has_kubernetes_cluster``: the platform's ``kubernetes`` section is set. ``environment``:
    when given, prod's rules for the self-hosted database apply.
    """
    if tracking.backend != "kubernetes":
        return []
    problems: list[str] = []
    if not has_kubernetes_cluster:
        problems.append("tracking.backend is 'kubernetes' but the kubernetes section (kubeconfig/context, "
                        "oidcProviderArn, nodeSecurityGroupId) is not set; add it or pick a sagemaker-* backend")
    if tracking.kubernetes.image is None and parse_mlflow_version(tracking.mlflow_version)[2] is None:
        problems.append(f"tracking.mlflowVersion {tracking.mlflow_version!r} names no patch release; the kubernetes "
                        f"backend runs the image {OFFICIAL_IMAGE}:v<version>-full, which exists per release "
                        "(e.g. 3.5.0): give a full version or set tracking.kubernetes.image")
    database = tracking.kubernetes.database
    if environment == "prod":
        if not database.deletion_protection:
            problems.append("tracking.kubernetes.database.deletionProtection must be true in prod")
        if database.skip_final_snapshot:
            problems.append("tracking.kubernetes.database.skipFinalSnapshot must be false in prod")
        if not database.multi_az:
            problems.append("tracking.kubernetes.database.multiAz must be true in prod")
    return problems


# Per-environment defaults under the stack file's values (merged into ENVIRONMENT_DEFAULTS[env]["tracking"]).
# dev: serverless, nothing billed by the hour while idle. staging: the same managed server type as
# prod, smallest size, so upgrades are rehearsed on what prod runs. prod: managed, Medium.
TRACKING_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {
        "backend": "sagemaker-serverless",
        "usersVpcOnly": False,  # notebooks and the console from laptops
        "kubernetes": {
            "replicas": 1,
            "maxReplicas": 2,
            "database": {"instanceClass": "db.t4g.micro", "multiAz": False, "backupRetentionDays": 1,
                         "deletionProtection": False, "skipFinalSnapshot": True},
        },
    },
    "staging": {
        "backend": "sagemaker-managed",
        "size": "Small",
        "kubernetes": {
            "replicas": 2,
            "maxReplicas": 3,
            "database": {"instanceClass": "db.t4g.small", "multiAz": False, "backupRetentionDays": 7,
                         "deletionProtection": True, "skipFinalSnapshot": False},
        },
    },
    "prod": {
        "backend": "sagemaker-managed",
        "size": "Medium",
        "kubernetes": {
            "replicas": 2,
            "maxReplicas": 6,
            "database": {"instanceClass": "db.m7g.large", "allocatedStorage": 50, "multiAz": True,
                         "backupRetentionDays": 30, "deletionProtection": True, "skipFinalSnapshot": False},
        },
    },
}
