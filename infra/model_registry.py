"""Which model package a registry-backed model serves, resolved when the program runs.

A ``models:`` entry either pins what it serves (``image`` + ``modelDataUrl``) or names a model
family (``modelPackageGroup: churn``, one of ``tracking.modelFamilies``) and a version
(``modelPackageVersion: latest-approved``, the default, or a number). The program then serves that
exact package of the stack's group ``<project>-<environment>-<family>``: its container image,
``ModelDataUrl`` and environment. The SageMaker model registry is therefore the one place that
says what is served; ``pipeline promote`` / ``rollback`` change approval statuses there, and the
next ``pulumi up`` (run by the deploy workflow when a package is approved) rolls the endpoint.

Where the registry is read (:class:`RegistrySource`):

* ``live`` -- under the real engine (``pulumi preview`` / ``pulumi up``): boto3 with the default
  credential chain (the CI deploy/preview role) in the stack's region.
* ``placeholder`` -- the offline preview's default: one deterministic Approved package (version 1,
  image ``<prefix>-inference:registry-placeholder`` in the stack's ECR, data under the models
  bucket), so a preview needs neither an AWS account nor moto.
* ``file`` -- ``preview --registry FILE``: moto (in-process, imported only here) seeded from a
  JSON file ``{"<family or group>": [{"status": "Approved", "image": "...", "modelDataUrl":
  "s3://...", "environment": {}}, ...]}``; packages get versions 1, 2, ... in file order.
* ``endpoint`` -- ``preview --registry http://127.0.0.1:PORT``: a moto server (the sandbox's),
  with fake credentials, never the caller's identity.

Every failure (no such group, no approved package, a pinned version that is missing or not
Approved, an unreadable registry) is a :class:`~mlops_blueprint.config.ConfigError` naming the
model and the key, raised before the first resource registers.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mlops_blueprint.config import PROJECT, ConfigError, PlatformConfig
from mlops_blueprint.naming import NameKind, Naming
from mlops_blueprint.sagemaker_values import image_problem
from mlops_blueprint.components.served_model_settings import LATEST_APPROVED, ServedModelSettings
from mlops_blueprint.validation import s3_object_uri_problem

APPROVED = "Approved"
APPROVAL_STATUSES = ("Approved", "PendingManualApproval", "Rejected")
PLACEHOLDER_TAG = "registry-placeholder"
PLACEHOLDER_ACCOUNT_ID = "123456789012"  # the mock runtime's account (mock_runtime.MOCK_ACCOUNT_ID)
FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
# What reading the registry needs; the deploying (and previewing) identity must be allowed these.
REGISTRY_READ_ACTIONS = ("sagemaker:DescribeModelPackageGroup", "sagemaker:ListModelPackages",
                         "sagemaker:DescribeModelPackage")


class PackageNotFound(LookupError):
    """The registry has no package to serve; ``key`` is the config key at fault."""

    def __init__(self, message: str, key: str = "modelPackageGroup") -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class ServedPackage:
    """The exact model package a registry-backed model serves."""

    model: str
    group: str
    version: int
    arn: str
    status: str
    image: str
    model_data_url: str
    environment: dict[str, str] = field(default_factory=dict)

    def as_output(self) -> dict[str, Any]:
        """The ``servedModelPackages`` entry of the model."""
        return {"modelPackageGroup": self.group, "version": self.version, "arn": self.arn,
                "image": self.image, "modelDataUrl": self.model_data_url}


def group_name(config: PlatformConfig, family: str) -> str:
    """The stack's model package group of ``family`` (as TrackingServer names it)."""
    return _naming(config).name(family, kind=NameKind.SAGEMAKER)


def _naming(config: PlatformConfig, account_id: str = PLACEHOLDER_ACCOUNT_ID) -> Naming:
    return Naming(project=PROJECT, environment=config.environment, account_id=account_id, region=config.region)


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws-us-gov" if region.startswith("us-gov-") else "aws"


# -- reading one registry (any boto3 SageMaker client: AWS or moto) ------------------------------


def find_package(sagemaker: Any, group: str, version: int | str) -> dict[str, Any]:
    """``describe_model_package`` of the package to serve: the newest Approved one of ``group``, or
    version ``version``, which must be Approved. Raises :class:`PackageNotFound`."""
    from botocore.exceptions import ClientError

    try:
        sagemaker.describe_model_package_group(ModelPackageGroupName=group)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("ValidationException", "ResourceNotFound"):
            raise PackageNotFound(f"model package group {group} does not exist in the registry (it is created with "
                                  "the stack's tracking resources; register a model into it first)") from None
        raise
    if version == LATEST_APPROVED:
        page = sagemaker.list_model_packages(ModelPackageGroupName=group, ModelApprovalStatus=APPROVED,
                                             SortBy="CreationTime", SortOrder="Descending", MaxResults=100)
        summaries = page.get("ModelPackageSummaryList", [])
        if not summaries:
            raise PackageNotFound(f"model package group {group} has no Approved package; approve one "
                                  "(`mlops-blueprint pipeline promote`) or pin image + modelDataUrl")
        # Newest first; equal creation times (a fast seed) fall back to the version number.
        newest = max(summaries, key=lambda s: (s["CreationTime"], s.get("ModelPackageVersion", 0)))
        arn = newest["ModelPackageArn"]
    else:
        summaries = [s for page in sagemaker.get_paginator("list_model_packages").paginate(ModelPackageGroupName=group)
                     for s in page.get("ModelPackageSummaryList", [])]
        match = [s for s in summaries if s.get("ModelPackageVersion") == version]
        if not match:
            known = ", ".join(str(s.get("ModelPackageVersion")) for s in
                              sorted(summaries, key=lambda s: s.get("ModelPackageVersion", 0))) or "none"
            raise PackageNotFound(f"model package group {group} has no version {version} (versions: {known})",
                                  "modelPackageVersion")
        status = match[0].get("ModelApprovalStatus")
        if status != APPROVED:
            raise PackageNotFound(f"version {version} of model package group {group} is {status}, not Approved; "
                                  f"approve it (`mlops-blueprint pipeline promote --version ...`) or pin another "
                                  "version", "modelPackageVersion")
        arn = match[0]["ModelPackageArn"]
    return sagemaker.describe_model_package(ModelPackageName=arn)


def served_package(model: str, group: str, described: dict[str, Any]) -> ServedPackage:
    """What ``described`` (``describe_model_package``) serves; its first container is the model's."""
    containers = described.get("InferenceSpecification", {}).get("Containers") or [{}]
    container = containers[0]
    image, data = container.get("Image", ""), container.get("ModelDataUrl", "")
    problem = image_problem(image) or s3_object_uri_problem(data)
    if problem:
        raise PackageNotFound(f"package {described.get('ModelPackageArn')} cannot be served: {problem}")
    return ServedPackage(model=model, group=group, version=int(described.get("ModelPackageVersion") or 0),
                         arn=described["ModelPackageArn"], status=str(described.get("ModelApprovalStatus")),
                         image=image, model_data_url=data, environment=dict(container.get("Environment") or {}))


# -- where the registry is --------------------------------------------------------------------------


@dataclass(frozen=True)
class RegistrySource:
    """Where registry-backed models are resolved (see the module notes)."""

    kind: Literal["live", "placeholder", "file", "endpoint"]
    location: str | None = None
    account_id: str = PLACEHOLDER_ACCOUNT_ID   # the offline preview's account (placeholder image and data)

    @classmethod
    def parse(cls, value: str | None) -> RegistrySource:
        """The ``preview --registry`` value: nothing (placeholder), an http(s) URL, or a JSON file."""
        if not value:
            return cls("placeholder")
        if value.startswith(("http://", "https://")):
            return cls("endpoint", value)
        if not Path(value).is_file():
            raise ConfigError([f"--registry {value}: no such file; expected a registry JSON file "
                               '({"<family>": [{"status": "Approved", "image": ..., "modelDataUrl": ...}]}) or a '
                               "moto endpoint URL such as http://127.0.0.1:5000"])
        return cls("file", value)

    def resolve(self, config: PlatformConfig, model: ServedModelSettings) -> ServedPackage:
        family = str(model.model_package_group)
        group = group_name(config, family)
        if self.kind == "placeholder":
            return _placeholder(config, model, group, self.account_id)
        if self.kind == "file":
            with _seeded_moto(config, Path(str(self.location)), family, group) as sagemaker:
                return served_package(model.name, group, find_package(sagemaker, group, model.package_version))
        return served_package(model.name, group, find_package(self._client(config), group, model.package_version))

    def _client(self, config: PlatformConfig) -> Any:
        import boto3
        from botocore.config import Config

        settings = Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=10, read_timeout=30)
        if self.kind == "endpoint":  # a local stand-in: never the caller's AWS identity
            return boto3.session.Session(region_name=config.region, **FAKE_CREDENTIALS).client(
                "sagemaker", endpoint_url=self.location, config=settings)
        return boto3.session.Session(region_name=config.region).client("sagemaker", config=settings)


def _placeholder(config: PlatformConfig, model: ServedModelSettings, group: str, account_id: str) -> ServedPackage:
    naming = _naming(config, account_id)
    version = model.package_version if isinstance(model.package_version, int) else 1
    registry = f"{account_id}.dkr.ecr.{config.region}.amazonaws.com"
    return ServedPackage(
        model=model.name, group=group, version=version, status=APPROVED,
        arn=f"arn:{_partition(config.region)}:sagemaker:{config.region}:{account_id}:model-package/"
            f"{group}/{version}",
        image=f"{registry}/{naming.name('inference', kind=NameKind.ECR_REPOSITORY)}:{PLACEHOLDER_TAG}",
        model_data_url=f"s3://{naming.bucket('models')}/models/{group}/{version}/model.tar.gz")


def load_registry_file(path: Path) -> dict[str, list[dict[str, Any]]]:
    """A registry JSON file, checked: ``{"<family or group>": [{"image", "modelDataUrl", "status"?,
    "environment"?}, ...]}``."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError([f"{path}: not valid JSON ({exc})"]) from None
    problems: list[str] = []
    if not isinstance(document, dict) or not all(isinstance(v, list) for v in document.values()):
        raise ConfigError([f"{path}: expected {{\"<family or group>\": [{{\"status\": \"Approved\", \"image\": ..., "
                           "\"modelDataUrl\": ...}}, ...]}}"])
    for group, packages in document.items():
        for index, package in enumerate(packages):
            where = f"{path}: {group}[{index}]"
            if not isinstance(package, dict):
                problems.append(f"{where}: expected an object with image and modelDataUrl")
                continue
            unknown = sorted(set(package) - {"image", "modelDataUrl", "status", "environment"})
            if unknown:
                problems.append(f"{where}: unknown keys {', '.join(unknown)} (known: image, modelDataUrl, status, "
                                "environment)")
            for key, check in (("image", image_problem), ("modelDataUrl", s3_object_uri_problem)):
                problem = check(package.get(key))  # type: ignore[arg-type]
                if problem:
                    problems.append(f"{where}.{key}: {problem}")
            if package.get("status", APPROVED) not in APPROVAL_STATUSES:
                problems.append(f"{where}.status: {package.get('status')!r} is not an approval status; expected one "
                                f"of {', '.join(APPROVAL_STATUSES)}")
    if problems:
        raise ConfigError(problems)
    return document


@contextlib.contextmanager
def _seeded_moto(config: PlatformConfig, path: Path, family: str, group: str) -> Iterator[Any]:
    """moto in-process holding ``group`` as the file describes it (keyed by family or group name)."""
    import boto3
    from moto import mock_aws  # the offline preview's registry only: not a core dependency

    document = load_registry_file(path)
    packages = document.get(group, document.get(family))
    with mock_aws():
        sagemaker = boto3.session.Session(region_name=config.region, **FAKE_CREDENTIALS).client("sagemaker")
        if packages is not None:
            sagemaker.create_model_package_group(ModelPackageGroupName=group)
            for package in packages:
                sagemaker.create_model_package(
                    ModelPackageGroupName=group, ModelApprovalStatus=package.get("status", APPROVED),
                    InferenceSpecification={"Containers": [{"Image": package["image"],
                                                            "ModelDataUrl": package["modelDataUrl"],
                                                            "Environment": package.get("environment", {})}],
                                            "SupportedContentTypes": ["application/json"],
                                            "SupportedResponseMIMETypes": ["application/json"]})
        yield sagemaker


# -- what the program and the offline preview call -----------------------------------------------

_offline: RegistrySource | None = None


@contextlib.contextmanager
def offline(source: RegistrySource) -> Iterator[None]:
    """Resolve registry-backed models from ``source`` while the block runs (the offline preview)."""
    global _offline
    previous, _offline = _offline, source
    try:
        yield
    finally:
        _offline = previous


def current_source() -> RegistrySource:
    """The offline preview's source; under any other mock run the placeholder (never AWS); else live."""
    if _offline is not None:
        return _offline
    from pulumi.runtime import mocks, settings

    monitor = settings.get_monitor()
    if isinstance(monitor, mocks.MockMonitor):
        account = getattr(getattr(monitor, "mocks", None), "account_id", PLACEHOLDER_ACCOUNT_ID)
        return RegistrySource("placeholder", account_id=str(account))
    return RegistrySource("live")


def resolve_models(config: PlatformConfig, source: RegistrySource | None = None
                   ) -> tuple[list[ServedModelSettings], dict[str, ServedPackage]]:
    """``config.models`` with every registry-backed model's image, model data and environment taken
    from the package it serves, and those packages by model. Raises :class:`ConfigError` listing
    every model that cannot be resolved."""
    source = source or current_source()
    models: list[ServedModelSettings] = []
    packages: dict[str, ServedPackage] = {}
    problems: list[str] = []
    for model in config.models:
        if not model.from_registry:
            models.append(model)
            continue
        try:
            package = source.resolve(config, model)
        except PackageNotFound as exc:
            problems.append(f"models[{model.name}].{exc.key}: {exc}")
            continue
        except ConfigError:
            raise
        except Exception as exc:  # noqa: BLE001 - credentials, network, access denied: all "cannot read"
            problems.append(f"models[{model.name}].modelPackageGroup: cannot read the model registry "
                            f"({source.kind}{' ' + source.location if source.location else ''}): {exc}. The identity "
                            f"running the program needs {', '.join(REGISTRY_READ_ACTIONS)}")
            continue
        packages[model.name] = package
        models.append(model.model_copy(update={
            "image": package.image, "model_data_url": package.model_data_url,
            # The package's container settings (MLflow's serving flags), the model's own on top.
            "environment": {**package.environment, **model.environment}}))
    if problems:
        raise ConfigError(problems)
    return models, packages
