"""A real MLflow tracking server, started with the arguments the component gives the Kubernetes
Deployment, against moto's S3: the artifact URI and prefix the component exports are the ones
MLflow writes to, and a model registered under the exported model package group name round-trips.

Only the backend store differs from the cluster (SQLite instead of RDS PostgreSQL) and the
bind address/port. The client in this process has no AWS credentials at all: with
``--serve-artifacts`` every artifact goes through the server, which holds the (here: fake)
credentials, as the pod holds its IRSA role.

The client runs in its own process, as a pipeline step would, with a model of plain Python
(``mlflow.pyfunc``): what is under test is where the server puts runs, artifacts and versions, not a
modelling library (the sandbox serves a scikit-learn model end to end).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from support.tracking import context, moto_endpoint, run_tracking
from mlops_blueprint.mock_runtime import MOCK_ACCOUNT_ID
from mlops_blueprint.pipelines.processes import MARKER_ENV, free_port, processes_with_env

REGION = "us-east-1"
FAMILY = "churn"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}
SERVER_START_SECONDS = 60
MLFLOW_IMPORT_SECONDS = 300  # another process may still be installing mlflow into the venv
CLIENT_SECONDS = 150


def _wait_for_mlflow_install() -> None:
    """Wait (bounded) for a concurrent install of mlflow to finish rather than skipping."""
    deadline = time.monotonic() + MLFLOW_IMPORT_SECONDS
    while True:
        importlib.invalidate_caches()
        missing = [name for name in ("mlflow",) if importlib.util.find_spec(name) is None]
        if not missing:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{', '.join(missing)} not installed after {MLFLOW_IMPORT_SECONDS}s")
        time.sleep(5)


# The pipeline side: log a run with params, metrics, an artifact and a model,
# register the model, load it back through the registry. Prints what it did as JSON.
CLIENT = r"""
import json, sys, time, urllib.request
started = time.monotonic()


def phase(name):
    print("%6.1fs %s" % (time.monotonic() - started, name), file=sys.stderr, flush=True)


url, group_name, health_seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
import mlflow, mlflow.pyfunc
import numpy as np


class Nearer(mlflow.pyfunc.PythonModel):
    # Class 1 where the first feature is the larger: a model with no library of its own to import.
    def predict(self, context, model_input, params=None):
        values = np.asarray(model_input, dtype=float)
        return (values[:, 0] > values[:, 1]).astype(int).tolist()


deadline = time.monotonic() + health_seconds
while True:
    try:
        with urllib.request.urlopen(url + "/health", timeout=2) as response:
            if response.status == 200:
                break
    except OSError:
        pass
    if time.monotonic() > deadline:
        sys.exit("server not healthy")
    time.sleep(0.25)
phase("imported; server healthy")

mlflow.set_tracking_uri(url)
mlflow.set_registry_uri(url)
client = mlflow.MlflowClient(url, url)
experiment_id = mlflow.create_experiment("churn-local")
features = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1], [0.1, 0.8], [0.8, 0.3]])
labels = np.array([0, 1, 0, 1, 0, 1])
with mlflow.start_run(experiment_id=experiment_id) as run:
    model = Nearer()
    accuracy = float(np.mean(np.array(model.predict(None, features)) == labels))
    mlflow.log_params({"rule": "nearer", "features": 2})
    mlflow.log_metrics({"accuracy": accuracy, "loss": 0.1})
    mlflow.log_text("trained on six rows\n", "notes/summary.txt")
    logged = mlflow.pyfunc.log_model(name="model", python_model=model, registered_model_name=group_name,
                                     pip_requirements=["mlflow"])
phase("run logged")
run_id = run.info.run_id
finished = client.get_run(run_id)
[version] = client.search_model_versions(f"name = '{group_name}'")
deadline = time.monotonic() + 30
while version.status != "READY" and time.monotonic() < deadline:
    time.sleep(0.5)
    version = client.get_model_version(group_name, version.version)
phase("model registered")
reloaded = mlflow.pyfunc.load_model(f"models:/{group_name}/{version.version}")
phase("model loaded back")
print(json.dumps({
    "experiment_id": experiment_id,
    "experiment_artifact_location": client.get_experiment(experiment_id).artifact_location,
    "run_id": run_id,
    "run_artifact_uri": finished.info.artifact_uri,
    "params": finished.data.params,
    "metrics": finished.data.metrics,
    "model_id": logged.model_id,
    "version": {"version": version.version, "status": version.status, "run_id": version.run_id},
    "predictions_match": list(reloaded.predict(features)) == labels.tolist(),
}))
"""


@pytest.fixture(scope="module")
def component():
    """The kubernetes backend's plan for dev: exported URIs and the Deployment's server args."""
    tracking = run_tracking("dev", config={"backend": "kubernetes", "mlflowVersion": "3.5.1", "modelFamilies": [FAMILY]})
    [deployment] = [r for r in tracking.descendants() if r.type == "kubernetes:apps/v1:Deployment"]
    [server] = [c for c in deployment.inputs["spec"]["template"]["spec"]["containers"] if c["name"] == "mlflow"]
    # The dev stack's default backend (SageMaker serverless) is given the very same artifact URI.
    serverless = run_tracking("dev", config={"modelFamilies": [FAMILY]})
    assert serverless.backend == "sagemaker-serverless"
    assert serverless.outputs["mlflowArtifactUri"] == tracking.outputs["mlflowArtifactUri"]
    assert serverless.outputs["modelPackageGroupNames"] == tracking.outputs["modelPackageGroupNames"]
    # Plain values of the container's environment (the backend store URI comes from a Secret here).
    env = {e["name"]: e["value"] for e in server["env"] if "value" in e and e["name"].startswith("MLFLOW_")}
    return tracking.outputs, server["command"], server["args"], env


@pytest.fixture(scope="module")
def moto_s3() -> Iterator[str]:
    with moto_endpoint() as endpoint:
        yield endpoint


def _commands_marked(marker: str) -> list[str]:
    """Command lines of the live processes that inherited ``MARKER_ENV=marker`` (the server and
    every process it started)."""
    commands = []
    for pid in processes_with_env(MARKER_ENV, marker):
        with contextlib.suppress(OSError):  # gone meanwhile
            commands.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
    return commands


def _s3(endpoint: str):
    return boto3.client("s3", region_name=REGION, endpoint_url=endpoint, **{k.lower(): v for k, v in FAKE_CREDENTIALS.items()})


def _server_command(command: list[str], args: list[str], backend_store_uri: str, port: int) -> list[str]:
    """The Deployment's command line, with the local backend store, bind address and port."""
    assert command == ["mlflow"]
    local = list(args)
    # One worker: the count does not change any URI, and two would double the start-up time.
    replacements = {"--backend-store-uri": backend_store_uri, "--host": "127.0.0.1", "--port": str(port), "--workers": "1"}
    for flag, value in replacements.items():
        local[local.index(flag) + 1] = value
    return [sys.executable, "-m", "mlflow", *local]


@contextlib.contextmanager
def _running(cmd: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """A process in its own session, stopped (the whole group) however the body ends."""
    with log.open("wb") as output:
        process = subprocess.Popen(cmd, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def test_real_mlflow_server_writes_artifacts_and_registers_models_where_the_component_says(component, moto_s3, tmp_path):
    outputs, command, args, container_env = component
    _wait_for_mlflow_install()
    # MLflow's job runner and its seven consumers would need ~2 GiB beside a 2Gi-limited server.
    assert container_env == {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}

    # The bucket the component computes is the one Naming gives the dev stack.
    bucket = context("dev").naming.bucket("models")
    assert outputs["modelsBucketName"] == bucket == f"mlops-platform-dev-models-{MOCK_ACCOUNT_ID}-{REGION}"
    artifact_uri = outputs["mlflowArtifactUri"]
    assert artifact_uri == f"s3://{bucket}/mlflow"
    assert args[args.index("--artifacts-destination") + 1] == artifact_uri
    prefix = artifact_uri.removeprefix(f"s3://{bucket}/")
    group_name = outputs["modelPackageGroupNames"][FAMILY]

    s3 = _s3(moto_s3)
    s3.create_bucket(Bucket=bucket)

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    base_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "NO_PROXY": "127.0.0.1,localhost",
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    marker = uuid.uuid4().hex
    server_env = {**base_env, **container_env, MARKER_ENV: marker, "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION, "AWS_ENDPOINT_URL": moto_s3,
                  "MLFLOW_S3_ENDPOINT_URL": moto_s3, **FAKE_CREDENTIALS}
    # The client gets no AWS credentials and no S3 endpoint: artifacts must go through the server.
    client_env = dict(base_env)
    server_cmd = _server_command(command, args, f"sqlite:///{tmp_path / 'mlflow.db'}", port)
    client_cmd = [sys.executable, "-c", CLIENT, url, group_name, str(SERVER_START_SECONDS)]

    server_log, client_log = tmp_path / "server.log", tmp_path / "client.log"
    with _running(server_cmd, server_env, server_log) as server, _running(client_cmd, client_env, client_log) as client:
        try:
            client.wait(timeout=CLIENT_SECONDS)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"client still running after {CLIENT_SECONDS}s:\n{client_log.read_text()[-3000:]}\n"
                                 f"server:\n{server_log.read_text()[-3000:]}") from None
        assert server.poll() is None, f"server died:\n{server_log.read_text()[-4000:]}"
        # The pod runs the server and its workers only: no job runner, no Huey consumers.
        server_processes = _commands_marked(marker)
        assert any(" mlflow server " in f" {c} " or "uvicorn" in c for c in server_processes), server_processes
        assert [c for c in server_processes if "huey" in c or "_job_runner" in c] == []
        assert client.returncode == 0, f"client failed:\n{client_log.read_text()[-4000:]}\nserver:\n{server_log.read_text()[-3000:]}"
    print(client_log.read_text())
    result = json.loads(client_log.read_text().strip().splitlines()[-1])

    experiment_id, run_id = result["experiment_id"], result["run_id"]
    assert result["experiment_artifact_location"] == f"mlflow-artifacts:/{experiment_id}"
    assert result["run_artifact_uri"] == f"mlflow-artifacts:/{experiment_id}/{run_id}/artifacts"
    assert result["params"] == {"rule": "nearer", "features": "2"}
    assert result["metrics"] == {"accuracy": 1.0, "loss": 0.1}
    assert result["version"] == {"version": "1", "status": "READY", "run_id": run_id}
    assert result["predictions_match"] is True  # loaded back from S3 through the registry

    keys = [obj["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for obj in page.get("Contents", [])]
    assert keys, "nothing was written to the models bucket"
    outside = [k for k in keys if not k.startswith(f"{prefix}/")]
    assert outside == [], f"objects outside s3://{bucket}/{prefix}/: {outside}"
    summary = f"{prefix}/{experiment_id}/{run_id}/artifacts/notes/summary.txt"
    assert s3.get_object(Bucket=bucket, Key=summary)["Body"].read() == b"trained on six rows\n"
    model_files = [k for k in keys if k.endswith("/MLmodel")]
    assert model_files and all(k.startswith(f"{prefix}/{experiment_id}/") for k in model_files)
    assert any(result["model_id"] in k for k in model_files)
