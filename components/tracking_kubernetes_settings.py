"""Settings of the self-hosted tracking backend (``tracking.kubernetes`` in the stack file).

The workload on the platform's cluster and its RDS PostgreSQL backend store. Nested in
:class:`~mlops_blueprint.components.tracking_server_settings.TrackingServerSettings`; read by
:mod:`.tracking_kubernetes`. Safe defaults: the per-environment loosening (no deletion protection,
no final snapshot in dev) is made in the per-environment defaults, never here.
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from mlops_blueprint.config_base import Section, container_resources, memory_bytes
from mlops_blueprint.validation import K8S_NAME

OFFICIAL_IMAGE = "ghcr.io/mlflow/mlflow"


def default_image(mlflow_version: str) -> str:
    """The official image with the database drivers and boto3 (the plain tag has neither)."""
    return f"{OFFICIAL_IMAGE}:v{mlflow_version}-full"


MlflowResources = container_resources(
    "MlflowResources", "Requests and limits of the MLflow container.", module=__name__,
    cpu_request="250m", memory_request="1Gi", cpu_limit="1", memory_limit="2Gi",
)


class TrackingDatabaseSettings(Section):
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


JOB_EXECUTION_MEMORY = 4 * 1024**3  # bytes a pod needs with MLflow's server-side jobs on


class KubernetesTrackingSettings(Section):
    """The self-hosted tracking server on the platform's cluster (``tracking.backend: kubernetes``)."""

    namespace: str = Field(default="mlflow", max_length=63, pattern=K8S_NAME, description="namespace, created by the stack")
    image: str | None = Field(default=None, min_length=1,
                              description="MLflow server image; default ghcr.io/mlflow/mlflow:v<mlflowVersion>-full")
    replicas: int = Field(default=2, ge=1, le=20, description="minimum replicas (the autoscaler's floor)")
    max_replicas: int = Field(default=4, ge=1, le=50, description="the autoscaler's ceiling")
    workers: int = Field(default=2, ge=1, le=16, description="server worker processes per pod")
    credentials_refresh_seconds: int = Field(
        default=300, ge=30, le=3600,
        description="how often the sidecar re-reads the database password (RDS rotates it every 7 days by default)")
    resources: MlflowResources = Field(default_factory=MlflowResources)  # type: ignore[valid-type]
    job_execution: bool = Field(
        default=False,
        description="MLflow's server-side jobs (GenAI scoring and evaluation): since MLflow 3.9 the server "
                    "otherwise starts a job runner and seven worker processes in every pod, about 2 GiB "
                    "more memory; on, resources.memoryLimit must be at least 4Gi")
    database: TrackingDatabaseSettings = Field(default_factory=TrackingDatabaseSettings)

    @field_validator("image")
    @classmethod
    def _image(cls, value: str | None) -> str | None:
        if value is not None and (any(c.isspace() for c in value) or value.endswith(":")):
            raise ValueError(f"{value!r} is not an image reference; expected e.g. ghcr.io/mlflow/mlflow:v3.5.0-full")
        return value

    @model_validator(mode="after")
    def _replicas(self) -> KubernetesTrackingSettings:
        if self.max_replicas < self.replicas:
            raise ValueError(f"maxReplicas ({self.max_replicas}) must be at least replicas ({self.replicas})")
        return self

    @model_validator(mode="after")
    def _room_for_jobs(self) -> KubernetesTrackingSettings:
        # The server and its workers take about 1.2 GiB; the job runner and its consumers about 2 GiB more.
        limit = self.resources.memory_limit
        if self.job_execution and memory_bytes(limit) < JOB_EXECUTION_MEMORY:
            raise ValueError(f"jobExecution: true needs resources.memoryLimit of at least 4Gi (MLflow's job runner "
                             f"and its workers take about 2 GiB beside the server); it is {limit}")
        return self


__all__ = ["OFFICIAL_IMAGE", "KubernetesTrackingSettings", "MlflowResources", "TrackingDatabaseSettings", "default_image"]
