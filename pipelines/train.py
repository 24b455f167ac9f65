"""Train: fit a small scikit-learn model on one version of the dataset and log everything to MLflow.

The run records what it takes to reproduce it: the parameters, the data (S3 URI, object version id
and SHA-256 of its bytes, as run tags and as an MLflow dataset input), the split, the holdout
metrics, and the model itself (``mlflow.sklearn`` with its signature, an input example and pinned
requirements). Runs go to the experiment named after the registered model.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from mlops_blueprint.pipelines.context import PipelineContext
from mlops_blueprint.pipelines.data import LABEL, DatasetVersion, default_dataset_key, read_dataset, split
from mlops_blueprint.pipelines.errors import InputError
from mlops_blueprint.pipelines.skops_import import import_skops_io

METRICS = ("accuracy", "f1", "roc_auc", "precision", "recall")
DEFAULT_METRIC = "accuracy"
DEFAULT_PARAMS: dict[str, Any] = {"n_estimators": 50, "max_depth": 8, "random_state": 0}
ALLOWED_PARAMS = ("n_estimators", "max_depth", "min_samples_leaf", "max_features", "random_state")
TEST_SIZE, SPLIT_SEED = 0.25, 42
# skops (MLflow's default sklearn format) loads only trusted types; these trees are our own.
TRUSTED_TYPES = ["sklearn.tree._tree.Tree"]
MODEL_ARTIFACT = "model"


@dataclass(frozen=True)
class TrainResult:
    run_id: str
    experiment_id: str
    model_uri: str
    artifact_uri: str
    params: dict[str, Any]
    metrics: dict[str, float]
    dataset: DatasetVersion
    tags: dict[str, str] = field(default_factory=dict)


def parse_params(pairs: list[str] | None) -> dict[str, Any]:
    """``["max_depth=3", "n_estimators=10"]`` -> typed hyperparameters (unknown names are an InputError)."""
    params: dict[str, Any] = {}
    for pair in pairs or []:
        name, sep, raw = pair.partition("=")
        if not sep or name not in ALLOWED_PARAMS:
            raise InputError(f"--param {pair!r}: expected NAME=VALUE with NAME one of {', '.join(ALLOWED_PARAMS)}")
        value: Any = raw
        for cast in (int, float):
            try:
                value = cast(raw)
                break
            except ValueError:
                continue
        params[name] = None if raw in ("None", "none", "") else value
    return params


def check_metric(metric: str) -> str:
    if metric not in METRICS:
        raise InputError(f"metric {metric!r} is not one of {', '.join(METRICS)}")
    return metric


def score(model: Any, features: Any, labels: Any, metric: str) -> float:
    from sklearn import metrics as m

    check_metric(metric)
    if metric == "roc_auc":
        return float(m.roc_auc_score(labels, model.predict_proba(features)[:, 1]))
    predicted = model.predict(features)
    scorer = {"accuracy": m.accuracy_score, "f1": m.f1_score, "precision": m.precision_score, "recall": m.recall_score}[metric]
    return float(scorer(labels, predicted))


def requirements() -> list[str]:
    import mlflow
    import sklearn
    import skops

    return [f"mlflow=={mlflow.__version__}", f"scikit-learn=={sklearn.__version__}", f"skops=={skops.__version__}",
            "pandas", "numpy"]


def train(ctx: PipelineContext, *, dataset_key: str | None = None, data_version: str | None = None,
          params: dict[str, Any] | None = None, tags: dict[str, str] | None = None) -> TrainResult:
    import_skops_io()  # before mlflow.sklearn imports it the slow way
    import mlflow
    import mlflow.data
    import mlflow.sklearn
    from sklearn.ensemble import RandomForestClassifier

    key = dataset_key or default_dataset_key(ctx.model)
    frame, dataset = read_dataset(ctx, key, data_version)
    x_train, x_test, y_train, y_test = split(frame, TEST_SIZE, SPLIT_SEED)
    hyper = {**DEFAULT_PARAMS, **(params or {})}
    model = RandomForestClassifier(**hyper).fit(x_train, y_train)
    metrics = {name: round(score(model, x_test, y_test, name), 6) for name in METRICS}

    experiment = mlflow.set_experiment(ctx.registered_model_name)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    run_tags = {**dataset.as_tags(), "model": ctx.model, "stack": ctx.outputs.stack, **(tags or {})}
    with warnings.catch_warnings(), mlflow.start_run(experiment_id=experiment.experiment_id,
                                                     run_name=f"train-{ctx.model}-{stamp}") as run:
        # The label and the predictions are integer columns; MLflow hints that ints cannot hold NaN.
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer column", category=UserWarning)
        mlflow.log_params({**hyper, "estimator": "RandomForestClassifier", "test_size": TEST_SIZE,
                           "split_seed": SPLIT_SEED})
        mlflow.log_metrics(metrics)
        mlflow.set_tags(run_tags)
        mlflow.log_input(mlflow.data.from_pandas(frame, source=dataset.uri, targets=LABEL,
                                                 name=f"{key}@{dataset.version_id}"), context="training")
        info = mlflow.sklearn.log_model(model, name=MODEL_ARTIFACT, input_example=x_test.head(3),
                                        pip_requirements=requirements(), skops_trusted_types=TRUSTED_TYPES)
        mlflow.set_tag("model_uri", info.model_uri)
    return TrainResult(run_id=run.info.run_id, experiment_id=experiment.experiment_id, model_uri=info.model_uri,
                       artifact_uri=info.artifact_path if hasattr(info, "artifact_path") else info.model_uri,
                       params=hyper, metrics=metrics, dataset=dataset, tags=run_tags)
