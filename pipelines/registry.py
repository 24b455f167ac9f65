"""Register a trained model and judge it: MLflow registry + the matching SageMaker model package.

* :func:`register` adds a version of the MLflow registered model (named after the model's SageMaker
  model package group), packs it as ``model.tar.gz`` (the layout MLflow's SageMaker serving image
  expects in ``/opt/ml/model``) under ``s3://<modelsBucketName>/models/<name>/<version>/`` with
  SSE-KMS, and creates a model package in the group with status ``PendingManualApproval``, served by
  the stack's ``inference`` image (``mlflow sagemaker build-and-push-container --container
  <inference repository name>`` pushes ``<repository>:<mlflow version>``, the default; endpoints run
  with network isolation, so that image must already hold the model's requirements). The
  version points at its package (tag ``sagemaker.model_package_arn``) and gets an alias
  (``challenger`` by default). If the package cannot be made, the MLflow version is deleted again.
* :func:`evaluate_gate` is the metric gate: the challenger and the champion are both scored on the
  challenger's holdout — re-created from the exact data version (S3 version id) and split its run
  recorded — so they are compared on the same, current data. The challenger passes only if it beats
  the champion by more than ``min_improvement`` (and reaches ``min_metric``, if given).
* :func:`reject` marks a challenger that failed: package ``Rejected``, MLflow tag, alias removed.
"""

from __future__ import annotations

import json
import tarfile
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mlops_blueprint.outputs import Out
from mlops_blueprint.pipelines.context import PipelineContext, split_s3_uri
from mlops_blueprint.pipelines.data import read_dataset, split
from mlops_blueprint.pipelines.errors import GateFailed, InputError
from mlops_blueprint.pipelines.train import DEFAULT_METRIC, SPLIT_SEED, TEST_SIZE, check_metric, score

CHAMPION, CHALLENGER = "champion", "challenger"
PACKAGE_TAG = "sagemaker.model_package_arn"
STATUS_TAG = "deployment.status"
PENDING, APPROVED, REJECTED = "PendingManualApproval", "Approved", "Rejected"
# MLflow's SageMaker serving container. Endpoints run with network isolation, so the container must
# not install the model's requirements when it starts: the inference image carries them.
SERVING_ENVIRONMENT = {"MLFLOW_DEPLOYMENT_FLAVOR_NAME": "python_function", "SERVING_ENVIRONMENT": "SageMaker",
                       "MLFLOW_DISABLE_ENV_CREATION": "true"}


@dataclass(frozen=True)
class RegisterResult:
    name: str
    version: str
    run_id: str
    alias: str
    model_package_arn: str
    model_data_url: str
    image: str


@dataclass(frozen=True)
class GateResult:
    metric: str
    challenger_version: str
    challenger_score: float
    champion_version: str | None
    champion_score: float | None
    data_uri: str
    data_version_id: str
    min_improvement: float
    passed: bool
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- aliases and versions ------------------------------------------------------------------------------

def alias_version(ctx: PipelineContext, alias: str) -> str | None:
    from mlflow.exceptions import MlflowException

    try:
        return str(ctx.mlflow_client.get_model_version_by_alias(ctx.registered_model_name, alias).version)
    except MlflowException:
        return None


def resolve_version(ctx: PipelineContext, version: str | None, alias: str = CHALLENGER) -> str:
    """``version`` if given (must exist), else the version the alias points at."""
    from mlflow.exceptions import MlflowException

    name = ctx.registered_model_name
    if version:
        try:
            ctx.mlflow_client.get_model_version(name, str(version))
        except MlflowException:
            raise InputError(f"registered model {name} has no version {version}") from None
        return str(version)
    found = alias_version(ctx, alias)
    if found is None:
        raise InputError(f"registered model {name} has no '{alias}' alias: pass --version, or register a model first")
    return found


def package_arn(ctx: PipelineContext, version: str) -> str:
    tags = ctx.mlflow_client.get_model_version(ctx.registered_model_name, version).tags
    arn = tags.get(PACKAGE_TAG)
    if not arn:
        raise InputError(f"{ctx.registered_model_name} v{version} has no SageMaker model package "
                         f"(tag {PACKAGE_TAG}); register it with `mlops-blueprint pipeline register`")
    return arn


def set_package_status(ctx: PipelineContext, arn: str, status: str, description: str) -> None:
    ctx.sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus=status,
                                       ApprovalDescription=description[:1024])


def package_status(ctx: PipelineContext, arn: str) -> str:
    return str(ctx.sagemaker.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"])


# -- register ------------------------------------------------------------------------------------------

def default_image(ctx: PipelineContext) -> str:
    """MLflow's SageMaker serving image in this stack's ``inference`` repository, tagged with the
    MLflow version (``mlflow sagemaker build-and-push-container`` builds it)."""
    import mlflow

    repositories = ctx.outputs.require(Out.ECR_REPOSITORY_URLS, "the serving image of model packages (or pass --image)")
    url = repositories.get("inference") if isinstance(repositories, dict) else None
    if not url:
        raise InputError(f"stack output 'ecrRepositoryUrls' of stack '{ctx.outputs.stack}' has no 'inference' "
                         f"repository (has: {', '.join(repositories) if isinstance(repositories, dict) else repositories})")
    return f"{url}:{mlflow.__version__}"


def latest_run_id(ctx: PipelineContext) -> str:
    client = ctx.mlflow_client
    experiment = client.get_experiment_by_name(ctx.registered_model_name)
    runs = client.search_runs([experiment.experiment_id], filter_string="attributes.status = 'FINISHED'",
                              order_by=["attributes.start_time DESC"], max_results=1) if experiment else []
    if not runs:
        raise InputError(f"no finished training run in experiment {ctx.registered_model_name}: "
                         "run `mlops-blueprint pipeline train` first, or pass --run-id")
    return str(runs[0].info.run_id)


def register(ctx: PipelineContext, run_id: str | None = None, *, alias: str = CHALLENGER, image: str | None = None,
             metric: str = DEFAULT_METRIC, min_metric: float | None = None) -> RegisterResult:
    import mlflow
    from mlflow.exceptions import MlflowException

    # Everything that can be checked is checked before the first change.
    check_metric(metric)
    bucket = str(ctx.outputs.require(Out.MODELS_BUCKET_NAME, "model packages"))
    kms = ctx.kms_args()
    group, name = ctx.model_package_group, ctx.registered_model_name
    image = image or default_image(ctx)
    client = ctx.mlflow_client
    run_id = run_id or latest_run_id(ctx)
    try:
        run = client.get_run(run_id)
    except MlflowException:
        raise InputError(f"no MLflow run {run_id} at {ctx.resolved_tracking_uri}") from None
    model_uri = run.data.tags.get("model_uri")
    if not model_uri:
        raise InputError(f"run {run_id} logged no model (tag model_uri): was it made by `pipeline train`?")
    value = run.data.metrics.get(metric)
    if min_metric is not None and (value is None or value < min_metric):
        raise GateFailed(f"run {run_id}: {metric} {value} is below the minimum {min_metric}; not registered")

    version = mlflow.register_model(model_uri, name, tags={"run_id": run_id, "model": ctx.model}).version
    version = str(version)
    try:
        key = f"models/{name}/{version}"
        model_data_url = _upload_package(ctx, bucket, key, f"models:/{name}/{version}", kms)
        metrics_uri = f"s3://{bucket}/{key}/metrics.json"
        ctx.s3.put_object(Bucket=bucket, Key=f"{key}/metrics.json", ContentType="application/json",
                          Body=json.dumps({"run_id": run_id, "metrics": run.data.metrics}, sort_keys=True).encode(),
                          **kms)
        arn = ctx.sagemaker.create_model_package(
            ModelPackageGroupName=group,
            ModelPackageDescription=f"MLflow {name} v{version} (run {run_id})"[:1024],
            ModelApprovalStatus=PENDING,
            InferenceSpecification={
                "Containers": [{"Image": image, "ModelDataUrl": model_data_url,
                                "Environment": SERVING_ENVIRONMENT}],
                "SupportedContentTypes": ["application/json", "text/csv"],
                "SupportedResponseMIMETypes": ["application/json"],
            },
            ModelMetrics={"ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": metrics_uri}}},
            CustomerMetadataProperties={"mlflow.registered_model": name, "mlflow.version": version,
                                        "mlflow.run_id": run_id,
                                        "data.version_id": run.data.tags.get("data.version_id", "")[:256]},
        )["ModelPackageArn"]
    except BaseException:
        client.delete_model_version(name, version)
        raise
    client.set_model_version_tag(name, version, PACKAGE_TAG, arn)
    client.set_model_version_tag(name, version, "sagemaker.model_data_url", model_data_url)
    client.set_model_version_tag(name, version, STATUS_TAG, "registered")
    for tag in ("data.s3_uri", "data.version_id", "data.sha256"):
        if tag in run.data.tags:
            client.set_model_version_tag(name, version, tag, run.data.tags[tag])
    client.set_registered_model_alias(name, alias, version)
    return RegisterResult(name, version, run_id, alias, arn, model_data_url, image)


def _upload_package(ctx: PipelineContext, bucket: str, key: str, model_uri: str, kms: dict[str, str]) -> str:
    import mlflow.artifacts

    with tempfile.TemporaryDirectory(prefix="mlops-package-") as tmp:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=str(Path(tmp) / "model")))
        archive = Path(tmp) / "model.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            for path in sorted(local.rglob("*")):
                tar.add(path, arcname=str(path.relative_to(local)), recursive=False)
        ctx.s3.put_object(Bucket=bucket, Key=f"{key}/model.tar.gz", Body=archive.read_bytes(),
                          ContentType="application/gzip", **kms)
    return f"s3://{bucket}/{key}/model.tar.gz"


# -- the metric gate -----------------------------------------------------------------------------------

def evaluate_gate(ctx: PipelineContext, version: str, *, metric: str = DEFAULT_METRIC, min_improvement: float = 0.0,
                  min_metric: float | None = None) -> GateResult:
    import mlflow.sklearn

    check_metric(metric)
    client, name = ctx.mlflow_client, ctx.registered_model_name
    challenger = client.get_model_version(name, version)
    run = client.get_run(challenger.run_id)
    uri, data_version = run.data.tags.get("data.s3_uri"), run.data.tags.get("data.version_id")
    if not uri or not data_version:
        raise InputError(f"{name} v{version}: its run {challenger.run_id} recorded no data version (data.s3_uri, "
                         "data.version_id); cannot re-create its holdout")
    champion = alias_version(ctx, CHAMPION)
    if champion == version:
        raise InputError(f"{name} v{version} is already the champion")
    bucket, key = split_s3_uri(uri)
    frame, _ = read_dataset(ctx, key, data_version, bucket=bucket)
    test_size = float(run.data.params.get("test_size", TEST_SIZE))
    seed = int(run.data.params.get("split_seed", SPLIT_SEED))
    _, x_test, _, y_test = split(frame, test_size, seed)

    def model_score(v: str) -> float:
        return round(score(mlflow.sklearn.load_model(f"models:/{name}/{v}"), x_test, y_test, metric), 6)

    challenger_score = model_score(version)
    champion_score = model_score(champion) if champion else None
    if champion_score is None:
        passed, reason = True, f"no champion yet; v{version} {metric} {challenger_score:.4f}"
    elif challenger_score > champion_score + min_improvement:
        passed, reason = True, (f"v{version} {metric} {challenger_score:.4f} beats champion v{champion} "
                                f"{champion_score:.4f}")
    else:
        passed, reason = False, (f"v{version} {metric} {challenger_score:.4f} does not beat champion v{champion} "
                                 f"{champion_score:.4f}" + (f" by more than {min_improvement:g}" if min_improvement else ""))
    if passed and min_metric is not None and challenger_score < min_metric:
        passed, reason = False, f"v{version} {metric} {challenger_score:.4f} is below the minimum {min_metric:g}"
    reason += f" (holdout of {uri} version {data_version})"
    result = GateResult(metric, version, challenger_score, champion, champion_score, uri, data_version,
                        min_improvement, passed, reason)
    for tag, value in {"gate.metric": metric, "gate.challenger_score": challenger_score,
                       "gate.champion_version": champion or "", "gate.champion_score": champion_score,
                       "gate.passed": passed}.items():
        client.set_model_version_tag(name, version, tag, "" if value is None else str(value))
    return result


def require_gate(result: GateResult) -> GateResult:
    if not result.passed:
        raise GateFailed(f"metric gate failed: {result.reason}", result=result)
    return result


def reject(ctx: PipelineContext, version: str, reason: str) -> None:
    """The challenger lost: package Rejected, MLflow status tag, alias removed. The endpoint is untouched."""
    name = ctx.registered_model_name
    try:
        set_package_status(ctx, package_arn(ctx, version), REJECTED, reason)
    except InputError:
        pass
    ctx.mlflow_client.set_model_version_tag(name, version, STATUS_TAG, "rejected")
    if alias_version(ctx, CHALLENGER) == version:
        ctx.mlflow_client.delete_registered_model_alias(name, CHALLENGER)


__all__ = ["CHALLENGER", "CHAMPION", "GateResult", "RegisterResult", "alias_version",
           "evaluate_gate", "register", "reject", "require_gate", "resolve_version"]
