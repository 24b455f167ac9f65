"""Settings of :class:`~mlops_blueprint.components.tracking_server.TrackingServer`: the ``tracking``
config section, and the component's arguments.

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

Per-environment defaults are :data:`TRACKING_DEFAULTS`. Checks that need other sections (the
cluster, the environment's rules) are the platform config's (``infra/tracking_config.py``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from mlops_blueprint.components.tracking_kubernetes_settings import (
    OFFICIAL_IMAGE,
    KubernetesTrackingSettings,
    default_image,
)
from mlops_blueprint.config_base import Section, checked
from mlops_blueprint.validation import s3_key_prefix_problem

TRACKING_BACKENDS: tuple[str, ...] = ("sagemaker-serverless", "sagemaker-managed", "kubernetes")
TRACKING_SIZES: tuple[str, ...] = ("Small", "Medium", "Large")
# The backends SageMaker runs: IAM-authenticated, reached through the VPC's MLflow endpoint.
SAGEMAKER_BACKENDS: tuple[str, ...] = ("sagemaker-serverless", "sagemaker-managed")
TrackingBackend = Literal["sagemaker-serverless", "sagemaker-managed", "kubernetes"]
TrackingSize = Literal["Small", "Medium", "Large"]

DEFAULT_MLFLOW_VERSION = "3.0"
DEFAULT_ARTIFACT_PREFIX = "mlflow"
DEFAULT_MAINTENANCE_WINDOW = "Sun:03:00"

# Model families become SageMaker model package groups named <project>-<environment>-<family>
# (63 characters at most, no hashing allowed: pipelines must be able to predict the name). The
# longest prefix is "mlops-platform-staging-" (23 characters), which leaves 40.
MODEL_FAMILY_MAX_LENGTH = 40
_MODEL_FAMILY = re.compile(rf"[a-z0-9]([a-z0-9-]{{0,{MODEL_FAMILY_MAX_LENGTH - 2}}}[a-z0-9])?")
_VERSION = re.compile(r"(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)(\.(?P<patch>0|[1-9]\d*))?")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_WINDOW = re.compile(r"(?P<day>[A-Za-z]{3}):(?P<hour>[01]\d|2[0-3]):(?P<minute>[0-5]\d)")


# -- what is valid (one definition, for the section and the component) ----------------------------


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
    return s3_key_prefix_problem(value, example="mlflow or teams/ml/mlflow")


def model_family_problem(value: str) -> str | None:
    if isinstance(value, str) and _MODEL_FAMILY.fullmatch(value):
        return None
    return (f"{value!r} is not a model family name; expected 1 to {MODEL_FAMILY_MAX_LENGTH} lowercase "
            "letters, digits and '-', starting and ending with a letter or digit, e.g. churn")


def model_families_problem(values: list[str]) -> str | None:
    problems = [p for p in map(model_family_problem, values) if p]
    duplicates = sorted({v for v in values if values.count(v) > 1})
    if duplicates:
        problems.append(f"duplicate model families: {', '.join(duplicates)}")
    return "; ".join(problems) or None


def mlflow_endpoint_needed(backend: str, network_mode: str) -> bool:
    """The stack adds the SageMaker MLflow interface endpoint: a SageMaker backend in a VPC the
    stack creates (a brought or shared VPC's owner provides the endpoint: one per VPC with private DNS)."""
    return backend in SAGEMAKER_BACKENDS and network_mode == "create"


def _quoted_version(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # YAML reads an unquoted 3.10 as the number 3.1: the intended version cannot be recovered.
        raise ValueError(f"{value!r} is a number; quote the version, e.g. mlflowVersion: \"3.0\"")
    parse_mlflow_version(value)
    return value


MlflowVersion = Annotated[str, BeforeValidator(_quoted_version)]
MaintenanceWindow = Annotated[str, AfterValidator(normalise_maintenance_window)]


# -- the settings ---------------------------------------------------------------------------------


class TrackingServerSettings(Section):
    """The MLflow tracking server and model registry."""

    backend: TrackingBackend = Field(default="sagemaker-serverless",
                                     description="sagemaker-serverless, sagemaker-managed or kubernetes")
    size: TrackingSize = Field(default="Small", description="sagemaker-managed only: Small, Medium or Large")
    mlflow_version: MlflowVersion = Field(
        default=DEFAULT_MLFLOW_VERSION,
        description="MLflow version, major.minor or major.minor.patch (SageMaker gets major.minor)")
    artifact_prefix: Annotated[str, checked(artifact_prefix_problem)] = Field(
        default=DEFAULT_ARTIFACT_PREFIX, description="key prefix in the models bucket")
    maintenance_window: MaintenanceWindow = Field(default=DEFAULT_MAINTENANCE_WINDOW,
                                                  description="weekly start, UTC, e.g. Sun:03:00")
    model_families: Annotated[list[str], checked(model_families_problem)] = Field(
        default_factory=lambda: ["models"],
        description="one SageMaker model package group each (the training pipeline registers into the first)")
    users_vpc_only: bool = Field(
        default=True,
        description="SageMaker backends: people and notebooks (the mlflowUserPolicyArn policy) reach MLflow and "
                    "its presigned UI URL only from inside the VPC (aws:SourceVpc); no SageMaker console access")
    kubernetes: KubernetesTrackingSettings = Field(default_factory=KubernetesTrackingSettings)

    @model_validator(mode="after")
    def _released_image(self) -> TrackingServerSettings:
        if (self.backend == "kubernetes" and self.kubernetes.image is None
                and parse_mlflow_version(self.mlflow_version)[2] is None):
            raise ValueError(f"mlflowVersion {self.mlflow_version!r} names no patch release; the kubernetes backend "
                             f"runs the image {OFFICIAL_IMAGE}:v<version>-full, which exists per release "
                             "(e.g. 3.5.0): give a full version or set kubernetes.image")
        return self

    @property
    def sagemaker_mlflow_version(self) -> str:
        """What the managed tracking server is given: major.minor."""
        return mlflow_minor_version(self.mlflow_version)

    @property
    def kubernetes_image(self) -> str:
        return self.kubernetes.image or default_image(self.mlflow_version)


def _self_hosted(replicas: int, max_replicas: int, **database: Any) -> dict[str, Any]:
    """The ``kubernetes`` part of an environment's defaults (camelCase, as in the stack file)."""
    return {"replicas": replicas, "maxReplicas": max_replicas, "database": database}


# Per-environment defaults under the stack file's values (the platform config merges them).
# dev: serverless, nothing billed by the hour while idle. staging: the same managed server type as
# prod, smallest size, so upgrades are rehearsed on what prod runs. prod: managed, Medium.
TRACKING_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {
        "backend": "sagemaker-serverless",
        "usersVpcOnly": False,  # notebooks and the console from laptops
        "kubernetes": _self_hosted(1, 2, instanceClass="db.t4g.micro", multiAz=False, backupRetentionDays=1,
                                   deletionProtection=False, skipFinalSnapshot=True),
    },
    "staging": {
        "backend": "sagemaker-managed",
        "size": "Small",
        "kubernetes": _self_hosted(2, 3, instanceClass="db.t4g.small", multiAz=False, backupRetentionDays=7,
                                   deletionProtection=True, skipFinalSnapshot=False),
    },
    "prod": {
        "backend": "sagemaker-managed",
        "size": "Medium",
        "kubernetes": _self_hosted(2, 6, instanceClass="db.m7g.large", allocatedStorage=50, multiAz=True,
                                   backupRetentionDays=30, deletionProtection=True, skipFinalSnapshot=False),
    },
}
