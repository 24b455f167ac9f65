"""The sandbox runs the whole lifecycle: moto for the AWS control plane, a real MLflow server,
the registered model served by MLflow's model server. One sandbox for the module (it takes a
while to start); the last test shuts it down and checks that nothing is left running."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import urllib.request

import pytest
from rich.console import Console

from mlops_blueprint.pipelines.cli import main
from mlops_blueprint.pipelines.errors import EXIT_FAILED, EXIT_OK
from mlops_blueprint.pipelines.processes import MARKER_ENV, http_ok, processes_with_env
from mlops_blueprint.pipelines.sandbox import CAPTURE_BATCH_ROWS, Sandbox, SandboxOptions, print_summary

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning",
                                        "ignore::ResourceWarning")


@pytest.fixture(scope="module")
def lifecycle(tmp_path_factory):
    options = SandboxOptions(challengers=("worse", "better"), rollback=True,
                             workdir=tmp_path_factory.mktemp("sandbox"))
    sandbox = Sandbox(options, Console(stderr=True))
    with sandbox:
        yield sandbox, sandbox.run_lifecycle()


@pytest.fixture
def sagemaker(lifecycle):
    return lifecycle[0].ctx.sagemaker


@pytest.fixture
def s3(lifecycle):
    return lifecycle[0].ctx.s3


def outcome(result, kind):
    return next(o for o in result.challengers if o.kind == kind)


def test_run_with_metrics_data_version_and_model_artifact_in_s3(lifecycle, s3):
    sandbox, result = lifecycle
    client = sandbox.ctx.mlflow_client
    run = client.get_run(result.train.run_id)
    assert set(run.data.metrics) >= {"accuracy", "f1", "roc_auc"}
    assert 0.75 < run.data.metrics["accuracy"] <= 1.0
    assert run.data.params["n_estimators"] == "50"

    # The data version is the S3 object version it read, and the hash is of those bytes.
    bucket, key = result.dataset_v1.uri.removeprefix("s3://").split("/", 1)
    assert run.data.tags["data.version_id"] == result.dataset_v1.version_id
    versions = [v["VersionId"] for v in s3.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]]
    assert result.dataset_v1.version_id in versions and result.dataset_v2.version_id in versions
    body = s3.get_object(Bucket=bucket, Key=key, VersionId=run.data.tags["data.version_id"])["Body"].read()
    assert run.data.tags["data.sha256"] == hashlib.sha256(body).hexdigest()

    # The model artifact is in moto's S3, under the stack's mlflowArtifactUri.
    artifact_root = sandbox.outputs["mlflowArtifactUri"].rstrip("/") + "/"
    mlmodel = [uri for uri in result.artifact_keys if uri.endswith("/MLmodel")]
    assert mlmodel and mlmodel[0].startswith(artifact_root)
    bucket, key = mlmodel[0].removeprefix("s3://").split("/", 1)
    assert b"sklearn" in s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def test_registered_version_and_its_model_package(lifecycle, sagemaker, s3):
    sandbox, result = lifecycle
    name = sandbox.ctx.registered_model_name
    version = sandbox.ctx.mlflow_client.get_model_version(name, result.register.version)
    assert version.status == "READY" and version.run_id == result.train.run_id
    arn = version.tags["sagemaker.model_package_arn"]
    assert arn == result.register.model_package_arn
    package = sagemaker.describe_model_package(ModelPackageName=arn)
    assert package["ModelPackageGroupName"] == sandbox.outputs["modelPackageGroupNames"]["churn"]
    assert package["ModelApprovalStatus"] == "Approved"  # approved when it was deployed
    container = package["InferenceSpecification"]["Containers"][0]
    assert container["Image"].startswith(sandbox.outputs["ecrRepositoryUrls"]["inference"] + ":")
    bucket, key = container["ModelDataUrl"].removeprefix("s3://").split("/", 1)
    assert bucket == sandbox.outputs["modelsBucketName"]
    with tarfile.open(fileobj=io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read())) as tar:
        assert "MLmodel" in tar.getnames()


def test_canary_deploy_puts_the_expected_weights_on_an_in_service_endpoint(lifecycle, sagemaker):
    sandbox, result = lifecycle
    better = outcome(result, "better")
    canary = better.canary
    assert canary.status == "InService" and canary.stage == "canary"
    assert canary.weights == {"v1": pytest.approx(0.9), f"v{better.version}": pytest.approx(0.1)}
    assert canary.champion == "1"  # the champion keeps its alias during the canary
    config = sagemaker.describe_endpoint_config(EndpointConfigName=canary.config_name)
    assert {v["VariantName"]: v["InitialVariantWeight"] for v in config["ProductionVariants"]} == canary.weights
    # Every deployment made a new configuration.
    configs = [s.config_name for s in result.snapshots if s.step.startswith(("deploy", "retrain (better)", "promote"))]
    assert len(set(configs)) == len(configs) == 3


def test_prediction_comes_from_the_served_registered_model(lifecycle):
    import mlflow.pyfunc

    sandbox, result = lifecycle
    server = sandbox.model_server
    assert server is not None and http_ok(f"{server.url}/ping")
    assert server.process.pid not in (None, os.getpid()) and server.process.proc.poll() is None
    model_uri = f"models:/{sandbox.ctx.registered_model_name}/{result.served_version}"
    assert server.model_uri == model_uri and result.served_version == result.register.version

    served = server.predict(result.prediction_rows)   # asked again, over HTTP, now
    direct = mlflow.pyfunc.load_model(model_uri).predict(result.prediction_rows)
    assert [int(p) for p in served] == [int(p) for p in direct] == result.served_predictions
    assert len(served) == len(result.prediction_rows) == 5


def test_drift_comes_from_the_drift_module_on_the_captured_requests(lifecycle, s3):
    """pipeline baseline → requests to the served model captured as SageMaker does → the drift
    job's module on those captures → its metrics → the alarm's event that started retraining."""
    from mlops_blueprint.pipelines import drift_stats
    from mlops_blueprint.pipelines.data import DRIFT, FEATURES
    from mlops_blueprint.pipelines.drift import latest_report

    sandbox, result = lifecycle
    bucket, model = sandbox.outputs["modelsBucketName"], sandbox.options.model
    assert result.baseline["uri"] == f"s3://{bucket}/{drift_stats.baseline_key(model)}"
    assert result.baseline["datasetVersion"] == result.dataset_v1.version_id
    # The captures: SageMaker's layout, one record per request, answered by the served model.
    [capture] = result.capture_keys
    key = capture.removeprefix(f"s3://{bucket}/")
    assert key.startswith(f"data-capture/{model}/{sandbox.endpoint_name}/") and key.endswith(".jsonl")
    lines = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode().splitlines()
    assert len(lines) == -(-1500 // CAPTURE_BATCH_ROWS)  # one record per request of CAPTURE_BATCH_ROWS rows
    record = json.loads(lines[0])
    assert json.loads(record["captureData"]["endpointOutput"]["data"])["predictions"]
    # The module's run: all of dataset v2 read back from the captures, reports next to them.
    assert result.drift.records == 1500
    assert result.drift_reports_uri.startswith(f"s3://{bucket}/data-capture/{model}/drift-reports/")
    report_key = result.drift_reports_uri.removeprefix(f"s3://{bucket}/") + drift_stats.REPORT_FILE
    report = json.loads(s3.get_object(Bucket=bucket, Key=report_key)["Body"].read())
    assert report["statistic"] == "ks" and report["records"] == 1500
    # Known answer: exactly the features the drifted dataset shifts or scales.
    shifted = sorted(FEATURES[i] for i in DRIFT)
    assert sorted(result.drift.drifted_features) == shifted == result.alarm_features
    assert all(result.drift_metrics[f] <= drift_stats.DEFAULT_THRESHOLD for f in FEATURES if f not in shifted)
    # Retraining read the module's report as the latest drift report.
    assert latest_report(sandbox.ctx) == result.drift_report_uri
    event = json.loads(result.drift_event_path.read_text())
    assert event["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"] == {
        "Endpoint": sandbox.endpoint_name, "MonitoringSchedule": sandbox.outputs["driftScheduleNames"][model]}


def test_worse_challenger_is_not_promoted_and_the_endpoint_keeps_its_config(lifecycle, sagemaker):
    sandbox, result = lifecycle
    worse = outcome(result, "worse")
    deployed = result.snapshots[0]
    assert not worse.promoted
    assert worse.gate.challenger_score < worse.gate.champion_score and not worse.gate.passed
    assert "does not beat champion v1" in worse.message
    assert worse.after.config_name == deployed.config_name and worse.after.weights == {"v1": 1.0}
    assert worse.after.champion == "1"
    version = sandbox.ctx.mlflow_client.get_model_version(sandbox.ctx.registered_model_name, worse.version)
    assert version.tags["deployment.status"] == "rejected"
    package = sagemaker.describe_model_package(ModelPackageName=version.tags["sagemaker.model_package_arn"])
    assert package["ModelApprovalStatus"] == "Rejected"


def test_better_challenger_is_promoted(lifecycle):
    _, result = lifecycle
    better = outcome(result, "better")
    assert better.promoted and better.gate.passed
    assert better.gate.challenger_score > better.gate.champion_score
    assert better.gate.data_version_id == result.dataset_v2.version_id  # both judged on the current data
    assert better.after.stage == "stable" and better.after.weights == {f"v{better.version}": 1.0}
    assert better.after.champion == better.version


def test_the_approval_rolls_a_registry_backed_endpoint_in_the_plan(lifecycle, sagemaker):
    """Next to its own endpoint, the sandbox previews a stack that declares the model from the
    registry: the better challenger's approval rolls that stack's endpoint to its package."""
    sandbox, result = lifecycle
    better = outcome(result, "better")
    before = result.rollout_before["outputs"]["servedModelPackages"]["churn"]
    after = result.rollout_after["outputs"]["servedModelPackages"]["churn"]
    assert before["version"] == 1 and after["version"] == 3  # package 2 (the worse challenger) was rejected
    version = sandbox.ctx.mlflow_client.get_model_version(sandbox.ctx.registered_model_name, better.version)
    assert after["arn"] == version.tags["sagemaker.model_package_arn"]
    container = sagemaker.describe_model_package(ModelPackageName=after["arn"])["InferenceSpecification"]["Containers"][0]
    (model,) = [r for r in result.rollout_after["resources"] if r["type"] == "aws:sagemaker/model:Model"]
    assert model["inputs"]["primaryContainer"]["image"] == container["Image"]
    assert model["inputs"]["primaryContainer"]["modelDataUrl"] == container["ModelDataUrl"]
    diff = result.rollout_diff
    (endpoint,) = [c for c in diff.updates if c.type == "aws:sagemaker/endpoint:Endpoint"]
    assert endpoint.changed_paths == ["endpointConfigName"]  # in place: blue/green, no replacement
    assert not [c for c in diff.replaces + diff.deletes if c.type == "aws:sagemaker/endpoint:Endpoint"]
    assert "~ aws:sagemaker/endpoint:Endpoint" in result.rollout_text and "servedModelPackages" in result.rollout_text
    # Two owners kept apart: the stack's endpoint is not the sandbox's.
    declared = result.rollout_after["outputs"]["endpointNames"]["churn"]
    assert declared != sandbox.ctx.endpoint_name and not sandbox.ctx.pulumi_owned
    out = Console(record=True, width=200)
    print_summary(out, sandbox, result)
    printed = out.export_text()
    assert "What an approval does to a stack that declares churn" in printed
    assert "~ aws:sagemaker/endpoint:Endpoint" in printed and "endpointConfigName" in printed


def test_rollback_restores_the_previous_endpoint_config(lifecycle, sagemaker):
    sandbox, result = lifecycle
    deployed, promoted = result.snapshots[0], outcome(result, "better").after
    assert result.rollback.from_config == promoted.config_name
    assert result.rollback.to_config == deployed.config_name
    endpoint = sagemaker.describe_endpoint(EndpointName=sandbox.ctx.endpoint_name)
    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["EndpointConfigName"] == deployed.config_name
    assert {v["VariantName"]: v["CurrentWeight"] for v in endpoint["ProductionVariants"]} == {"v1": 1.0}
    client = sandbox.ctx.mlflow_client
    assert client.get_model_version_by_alias(sandbox.ctx.registered_model_name, "champion").version == "1"


class RefusingUpdates:
    """The SageMaker client, except that UpdateEndpoint is refused (as SageMaker may)."""

    def __init__(self, client):
        self._client = client

    def __getattr__(self, name):
        return getattr(self._client, name)

    def update_endpoint(self, **kwargs):
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "ValidationException", "Message": "refused for the test"}},
                          "UpdateEndpoint")


def test_a_failed_deployment_leaves_nothing_half_deployed(lifecycle, sagemaker):
    from mlops_blueprint.pipelines.context import PipelineContext
    from mlops_blueprint.pipelines.deploy import deploy
    from mlops_blueprint.pipelines.errors import PipelineError

    sandbox, result = lifecycle
    ctx = PipelineContext(sandbox.ctx.outputs, model=sandbox.ctx.model, aws=sandbox.ctx.aws,
                          wait_seconds=5, poll_seconds=0.1, endpoint=sandbox.ctx.endpoint)
    ctx.__dict__["sagemaker"] = RefusingUpdates(sagemaker)
    rejected = outcome(result, "worse").version
    arn = sandbox.ctx.mlflow_client.get_model_version(sandbox.ctx.registered_model_name, rejected).tags[
        "sagemaker.model_package_arn"]
    endpoint_before = sagemaker.describe_endpoint(EndpointName=ctx.endpoint_name)["EndpointConfigName"]
    models_before = {m["ModelName"] for m in sagemaker.list_models(MaxResults=100)["Models"]}
    configs_before = {c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs(MaxResults=100)["EndpointConfigs"]}

    with pytest.raises(PipelineError, match=f"refused for the test; the endpoint still serves {endpoint_before}"):
        deploy(ctx, rejected, canary_weight=0.5)

    assert sagemaker.describe_endpoint(EndpointName=ctx.endpoint_name)["EndpointConfigName"] == endpoint_before
    assert {m["ModelName"] for m in sagemaker.list_models(MaxResults=100)["Models"]} == models_before
    assert {c["EndpointConfigName"]
            for c in sagemaker.list_endpoint_configs(MaxResults=100)["EndpointConfigs"]} == configs_before
    assert sagemaker.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == "Rejected"


def _cli_env(monkeypatch, sandbox):
    for name, value in sandbox.client_env().items():
        monkeypatch.setenv(name, value)


def test_cli_promote_of_a_losing_version_fails_the_gate_and_changes_nothing(lifecycle, monkeypatch, capsys, sagemaker):
    sandbox, result = lifecycle
    _cli_env(monkeypatch, sandbox)
    before = sagemaker.describe_endpoint(EndpointName=sandbox.ctx.endpoint_name)["EndpointConfigName"]
    worse = outcome(result, "worse")

    code = main(["pipeline", "promote", "--outputs", str(sandbox.outputs_file), "--version", worse.version,
                 "--endpoint-name", sandbox.endpoint_name, "--wait-seconds", "10", "--poll-seconds", "0.2"])

    assert code == EXIT_FAILED
    assert f"metric gate failed: v{worse.version} accuracy" in capsys.readouterr().err
    assert sagemaker.describe_endpoint(EndpointName=sandbox.ctx.endpoint_name)["EndpointConfigName"] == before


def test_cli_rollback_of_the_first_config_has_nothing_to_do(lifecycle, monkeypatch, capsys):
    sandbox, _ = lifecycle
    _cli_env(monkeypatch, sandbox)
    code = main(["pipeline", "rollback", "--outputs", str(sandbox.outputs_file), "--endpoint-name",
                 sandbox.endpoint_name])
    assert code == EXIT_FAILED
    assert "nothing to roll back to" in capsys.readouterr().err


def test_cli_retrain_without_drift_does_nothing(lifecycle, monkeypatch, capsys, tmp_path):
    sandbox, _ = lifecycle
    _cli_env(monkeypatch, sandbox)
    report = tmp_path / "constraint_violations.json"
    report.write_text(json.dumps({"violations": []}))
    versions_before = len(sandbox.ctx.mlflow_client.search_model_versions(f"name='{sandbox.ctx.registered_model_name}'"))
    code = main(["pipeline", "retrain", "--outputs", str(sandbox.outputs_file), "--drift-report", str(report),
                 "--endpoint-name", sandbox.endpoint_name])
    assert code == EXIT_OK
    assert "no drift" in capsys.readouterr().err
    assert len(sandbox.ctx.mlflow_client.search_model_versions(
        f"name='{sandbox.ctx.registered_model_name}'")) == versions_before


def test_shutdown_leaves_nothing_running(lifecycle):
    """Last: closing the sandbox stops the model server, the tracking server and moto."""
    sandbox, _ = lifecycle
    tracking_url, server_url, moto_url = sandbox.tracking_url, sandbox.model_server.url, sandbox.moto_url
    assert processes_with_env(MARKER_ENV, sandbox.id)  # they were running
    sandbox.close()
    assert sandbox.stopped == ["model server", "MLflow tracking server", "moto server"]
    assert processes_with_env(MARKER_ENV, sandbox.id) == []
    for url in (f"{tracking_url}/health", f"{server_url}/ping", f"{moto_url}/moto-api/"):
        with pytest.raises(OSError):
            urllib.request.urlopen(url, timeout=2)
    # This process's MLflow client no longer points at the stopped server, and moto is moto again.
    assert os.environ.get("MLFLOW_TRACKING_URI") != tracking_url
    from moto.s3.models import s3_backends
    from moto.sagemaker.responses import SageMakerResponse

    assert "update_endpoint" not in vars(SageMakerResponse)
    account = sandbox.outputs["accountId"]
    assert not any(backend.buckets for backend in s3_backends[account].values())  # moto left empty
