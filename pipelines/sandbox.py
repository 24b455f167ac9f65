"""The whole ML lifecycle on one machine, with no AWS account: ``mlops-blueprint sandbox``.

What runs where:

* **AWS control plane**: moto's server (``ThreadedMotoServer``) in this process on 127.0.0.1 and a
  free port — S3 (versioned, SSE-KMS buckets), IAM roles, SageMaker model packages, models,
  endpoint configurations and endpoints (plus ``UpdateEndpoint``, see :mod:`.moto_ext`).
* **MLflow**: a real tracking server (``mlflow server``) as a subprocess, sqlite backend in the
  sandbox's directory, artifacts proxied to ``--artifacts-destination <mlflowArtifactUri>`` on
  moto's S3 (SSE-KMS with the data key, as against the real bucket).
* **Serving**: the registered model version the endpoint serves, run by ``mlflow models serve``
  (:mod:`.serve`); predictions come from it, not from moto.

Names come from the dev stack itself: the offline preview of ``dev`` is run and its plan's
outputs *are* the sandbox's stack outputs (buckets, roles, key, subnets, ...). Outputs the dev plan
does not have yet are computed with the project's naming (``modelPackageGroupNames``,
``ecrRepositoryUrls``, ``mlflowArtifactUri``, ``driftAlarmArns``, ``driftScheduleNames``) and the tracking URL is the local
server's. They are written to ``<workdir>/outputs.json``, so the ``pipeline`` commands run against
the sandbox exactly as against a stack (``--keep-running``).

**Two owners, kept apart.** The dev stack declares no model, so the sandbox's endpoint
(``<prefix>-<model>-sandbox``, ``--endpoint-name``) is one the pipelines own: deploy, canary,
promote and rollback change it directly. What a stack that *declares* the model does instead is
shown next to it: the dev stack with ``models: [{name: <model>, modelPackageGroup: <model>}]`` is
previewed against moto's registry before and after the challenger's package is approved, and the
summary prints the plan diff — the ``pulumi up`` the deploy workflow would run on that approval.

The lifecycle: dataset v1 → train → register → deploy (stable) → a prediction from the served
model, checked against the model loaded directly → ``pipeline baseline`` (the drift baseline of
dataset v1) → production traffic drifts: the drifted dataset v2 is sent to the served model and
every request is captured in SageMaker's data-capture layout on moto's S3 → the drift job's module
(:mod:`.drift_stats`, unchanged) reads those captures and the baseline, writes its reports next to
the captures and publishes its metrics to moto's CloudWatch → the drift alarm's rule (a watched
feature's metric above the threshold) decides, and its event starts → per challenger: retrain
(metric gate; a winner goes out as a canary) → promote (or not) → optionally rollback. Every
process is stopped at the end, on failure, on Ctrl-C and on SIGTERM.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from rich.console import Console

from mlops_blueprint.components.drift_job import schedule_name as drift_schedule_name
from mlops_blueprint.naming import NameKind, Naming
from mlops_blueprint.pipelines.context import AwsSettings, PipelineContext
from mlops_blueprint.pipelines.errors import GateFailed, PipelineError
from mlops_blueprint.pipelines.outputs import StackOutputs
from mlops_blueprint.pipelines.processes import (
    MARKER_ENV,
    ManagedProcess,
    free_port,
    http_ok,
    raise_if_signalled,
    signals_deferred,
)

SANDBOX_STACK = "dev"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
# How each kind of challenger is trained on the drifted data.
CHALLENGERS: dict[str, dict[str, Any]] = {
    "better": {},                                      # the default forest, retrained on current data
    "worse": {"n_estimators": 1, "max_depth": 1},      # a deliberately under-fit stump
}
CAPTURE_BATCH_ROWS = 100     # rows per request sent to the served model (one capture record each)


@dataclass
class SandboxOptions:
    model: str = "churn"
    metric: str = "accuracy"
    canary_weight: float = 0.1
    challengers: tuple[str, ...] = ("better",)
    rollback: bool = False
    workdir: Path | None = None
    startup_timeout: float = 180.0


@dataclass(frozen=True)
class EndpointSnapshot:
    step: str
    config_name: str
    status: str
    weights: dict[str, float]
    stage: str
    champion: str | None


@dataclass
class ChallengerOutcome:
    kind: str
    version: str | None
    gate: Any
    promoted: bool
    message: str
    canary: EndpointSnapshot | None = None
    after: EndpointSnapshot | None = None


@dataclass
class LifecycleResult:
    dataset_v1: Any = None
    dataset_v2: Any = None
    train: Any = None
    register: Any = None
    deploy: Any = None
    artifact_keys: list[str] = field(default_factory=list)
    served_version: str | None = None
    prediction_rows: Any = None
    served_predictions: list[Any] = field(default_factory=list)
    direct_predictions: list[Any] = field(default_factory=list)
    baseline: dict[str, Any] = field(default_factory=dict)       # what `pipeline baseline` wrote
    capture_keys: list[str] = field(default_factory=list)        # the captured requests on S3
    drift: Any = None                                            # drift_stats.DriftResult of the drift run
    drift_reports_uri: str | None = None                         # where the drift run wrote its reports
    drift_metrics: dict[str, float] = field(default_factory=dict)  # published metric -> value (read back)
    alarm_features: list[str] = field(default_factory=list)      # features whose metric crossed the threshold
    drift_report_uri: str | None = None
    drift_event_path: Path | None = None
    drift_report: dict[str, Any] = field(default_factory=dict)
    challengers: list[ChallengerOutcome] = field(default_factory=list)
    rollback: Any = None
    snapshots: list[EndpointSnapshot] = field(default_factory=list)
    # A stack serving the model from the registry: its plan before and after the approval, and the diff.
    rollout_before: dict[str, Any] = field(default_factory=dict)
    rollout_after: dict[str, Any] = field(default_factory=dict)
    rollout_diff: Any = None
    rollout_text: str = ""
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)   # step -> seconds


def sandbox_outputs(plan_outputs: dict[str, Any], project: str, model: str, tracking_url: str) -> dict[str, Any]:
    """The dev plan's outputs, completed with what the plan does not export yet (computed with the
    project's naming), and the local tracking server."""
    outputs = dict(plan_outputs)
    naming = Naming(project=project, environment=str(outputs.get("environment", SANDBOX_STACK)),
                    account_id=str(outputs["accountId"]), region=str(outputs["region"]))
    sagemaker_name = naming.name(model, kind=NameKind.SAGEMAKER)
    registry = f"{outputs['accountId']}.dkr.ecr.{outputs['region']}.amazonaws.com"
    supplied: dict[str, Any] = {
        "mlflowArtifactUri": f"s3://{outputs['artifactBucketName']}/mlflow",
        "modelPackageGroupNames": {model: sagemaker_name},
        "ecrRepositoryUrls": {p: f"{registry}/{naming.name(p, kind=NameKind.ECR_REPOSITORY)}"
                              for p in ("training", "inference")},
        "driftAlarmArns": {model: f"arn:aws:cloudwatch:{outputs['region']}:{outputs['accountId']}:alarm:"
                                  f"{naming.name(model, 'drift')}"},
        "driftScheduleNames": {model: drift_schedule_name(naming, model)},
    }
    for name, value in supplied.items():
        present = outputs.get(name)
        if isinstance(value, dict) and isinstance(present, dict):
            outputs[name] = {**value, **present}
        elif present is None or (isinstance(value, dict) and isinstance(present, list) and not present):
            outputs[name] = value
    # The local server is the tracking server (the plan's would be a mock URL or ARN).
    outputs["trackingUri"] = outputs["trackingServerUrl"] = tracking_url
    return outputs


def sandbox_endpoint_name(outputs: dict[str, Any], project: str, model: str) -> str:
    """The sandbox's own endpoint: not one the stack declares (``endpointNames``), so Pulumi never owns it."""
    naming = Naming(project=project, environment=str(outputs.get("environment", SANDBOX_STACK)),
                    account_id=str(outputs["accountId"]), region=str(outputs["region"]))
    return naming.name(model, "sandbox", kind=NameKind.SAGEMAKER)


def physical_artifact_uri(artifact_location: str, mlflow_artifact_uri: str) -> str:
    """Where a proxied artifact (``mlflow-artifacts:/...``) physically lives."""
    prefix = "mlflow-artifacts:"
    if artifact_location.startswith(prefix):
        path = artifact_location[len(prefix):].lstrip("/")
        return f"{mlflow_artifact_uri.rstrip('/')}/{path}"
    return artifact_location


def _reset_moto(url: str) -> None:
    import urllib.request

    with urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=10):
        pass


def _mlflow_state() -> tuple[Any, ...]:
    from mlflow.tracking._model_registry import utils as registry
    from mlflow.tracking._tracking_service import utils as tracking

    env = {k: v for k, v in os.environ.items() if k.startswith("MLFLOW_")}
    return tracking._tracking_uri, registry._registry_uri, env


def _restore_mlflow_state(state: tuple[Any, ...]) -> None:
    import mlflow

    tracking_uri, registry_uri, env = state
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(registry_uri)
    for name in [k for k in os.environ if k.startswith("MLFLOW_")]:
        if name not in env:
            del os.environ[name]
    os.environ.update(env)


class Sandbox:
    """Start with ``with Sandbox(options) as sandbox:``; everything stops when the block exits."""

    def __init__(self, options: SandboxOptions | None = None, console: Console | None = None) -> None:
        self.options = options or SandboxOptions()
        self.console = console or Console(stderr=True)
        self.id = uuid.uuid4().hex[:12]
        self._own_workdir = self.options.workdir is None
        self.workdir = Path(self.options.workdir or tempfile.mkdtemp(prefix="mlops-sandbox-")).resolve()
        self.moto: Any = None
        self.moto_url = ""
        self.tracking: ManagedProcess | None = None
        self.tracking_url = ""
        self.model_server: Any = None
        self.outputs: dict[str, Any] = {}
        self.endpoint_name = ""
        self.project = ""
        self.ctx: PipelineContext | None = None
        self.failed = False
        self.stopped: list[str] = []
        self._mlflow_state: tuple[Any, ...] | None = None
        self.startup_seconds = 0.0

    # -- lifecycle of the sandbox itself ---------------------------------------------------------------
    def __enter__(self) -> Sandbox:
        try:
            self.start()
        except BaseException as exc:
            self.failed = isinstance(exc, Exception)  # not for Ctrl-C or SIGTERM
            self.close()
            raise
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.failed = self.failed or (exc_type is not None and issubclass(exc_type, Exception))
        self.close()

    def say(self, message: str) -> None:
        self.console.print(f"[bold cyan]sandbox[/] {message}", highlight=False)

    def step(self, message: str) -> None:
        """Progress between steps: also the checkpoint where a swallowed Ctrl-C is raised again."""
        raise_if_signalled()
        self.say(message)

    def start(self) -> None:
        from mlops_blueprint.preview import run_preview

        began = time.monotonic()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.step(f"id {self.id}, working directory {self.workdir}")
        self.step(f"previewing stack '{SANDBOX_STACK}' offline for its outputs (the names the stack computes)")
        preview = run_preview(SANDBOX_STACK)
        plan_outputs, project = dict(preview.plan["outputs"]), str(preview.plan["project"])

        self._start_moto()
        tracking_port = free_port()
        self.tracking_url = f"http://127.0.0.1:{tracking_port}"
        self.outputs = sandbox_outputs(plan_outputs, project, self.options.model, self.tracking_url)
        self.project, self.endpoint_name = project, sandbox_endpoint_name(self.outputs, project, self.options.model)
        self._start_tracking(tracking_port)
        self._provision()
        self.step(f"waiting for the MLflow tracking server at {self.tracking_url}")
        self.tracking.wait_ready(self.options.startup_timeout)  # type: ignore[union-attr]
        self.step("MLflow tracking server ready")

        outputs_file = self.workdir / "outputs.json"
        outputs_file.write_text(json.dumps(self.outputs, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        (self.workdir / "env.sh").write_text(
            "".join(f"export {k}={v}\n" for k, v in self.client_env().items()), encoding="utf-8")
        self.ctx = PipelineContext(
            StackOutputs(self.outputs, SANDBOX_STACK, f"sandbox outputs {outputs_file}"), model=self.options.model,
            aws=AwsSettings(self.moto_url, FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                            FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]),
            wait_seconds=30.0, poll_seconds=0.2, endpoint=self.endpoint_name)
        self._mlflow_state = _mlflow_state()
        self.ctx.check_tracking()
        self.startup_seconds = time.monotonic() - began

    @property
    def outputs_file(self) -> Path:
        return self.workdir / "outputs.json"

    def _start_moto(self) -> None:
        import logging

        from moto.server import ThreadedMotoServer

        from mlops_blueprint.pipelines import moto_ext

        moto_ext.install()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.moto.start()
        host, port = self.moto.get_host_and_port()
        self.moto_url = f"http://{host}:{port}"
        # The in-process backends outlive a server: start from a clean account.
        _reset_moto(self.moto_url)
        self.step(f"moto (AWS control plane) listening on {self.moto_url}")

    def client_env(self) -> dict[str, str]:
        """What a client of the sandbox needs: moto's endpoint, fake credentials, the region."""
        region = str(self.outputs["region"])
        return {**FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": region, "AWS_REGION": region,
                "AWS_ENDPOINT_URL": self.moto_url, "MLFLOW_S3_ENDPOINT_URL": self.moto_url,
                "MLFLOW_TRACKING_URI": self.tracking_url}

    def child_env(self) -> dict[str, str]:
        # Never the caller's AWS identity: only moto, with fake credentials.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MLFLOW_"))}
        bin_dir = str(Path(sys.executable).parent)
        env.update(self.client_env())
        env.update({
            "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "MLFLOW_S3_UPLOAD_EXTRA_ARGS": json.dumps({"ServerSideEncryption": "aws:kms",
                                                       "SSEKMSKeyId": str(self.outputs["dataKeyArn"])}),
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true",
            "PATH": bin_dir + os.pathsep + env.get("PATH", ""), "PYTHONUNBUFFERED": "1", MARKER_ENV: self.id,
        })
        return env

    def _start_tracking(self, port: int) -> None:
        argv = [sys.executable, "-m", "mlflow", "server",
                "--backend-store-uri", f"sqlite:///{self.workdir / 'mlflow.db'}",
                "--artifacts-destination", str(self.outputs["mlflowArtifactUri"]),
                "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        self.tracking = ManagedProcess("MLflow tracking server", argv, env=self.child_env(),
                                       log_path=self.workdir / "logs" / "mlflow-server.log",
                                       ready=lambda: http_ok(f"{self.tracking_url}/health"))
        self.tracking.start()
        self.step(f"MLflow tracking server starting (pid {self.tracking.pid}, sqlite backend, artifacts in "
                 f"{self.outputs['mlflowArtifactUri']})")

    def _provision(self) -> None:
        """The buckets, roles and model package group the dev stack has, on moto."""
        import boto3

        session = boto3.session.Session(aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                                        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                                        region_name=str(self.outputs["region"]))
        s3 = session.client("s3", endpoint_url=self.moto_url)
        iam = session.client("iam", endpoint_url=self.moto_url)
        sm = session.client("sagemaker", endpoint_url=self.moto_url)
        key = str(self.outputs["dataKeyArn"])
        buckets = [self.outputs[n] for n in ("artifactBucketName", "datasetsBucketName", "accessLogsBucketName")
                   if self.outputs.get(n)]
        for bucket in buckets:
            s3.create_bucket(Bucket=bucket)
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
            s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
                "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key},
                "BucketKeyEnabled": True}]})
            s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
                "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True})
        trust = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
        roles = [str(v).rsplit("/", 1)[1] for k, v in sorted(self.outputs.items())
                 if k.endswith("RoleArn") and isinstance(v, str) and ":role/" in v]
        for role in roles:
            iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)
        groups = self.outputs["modelPackageGroupNames"]
        for group in sorted(set(groups.values() if isinstance(groups, dict) else groups)):
            sm.create_model_package_group(ModelPackageGroupName=group,
                                          ModelPackageGroupDescription="sandbox: register MLflow models here")
        self.step(f"created {len(buckets)} versioned SSE-KMS buckets, {len(roles)} IAM roles and the model package "
                 f"group(s) {', '.join(sorted(set(groups.values() if isinstance(groups, dict) else groups)))} on moto")

    def close(self) -> None:
        """Stop everything this sandbox started; idempotent, and not interruptible by Ctrl-C."""
        with signals_deferred():
            if self.model_server is not None:
                self.model_server.stop()
                self.stopped.append("model server")
                self.model_server = None
            if self.tracking is not None:
                self.tracking.stop()
                self.stopped.append("MLflow tracking server")
                self.tracking = None
            if self.moto is not None:
                from mlops_blueprint.pipelines import moto_ext

                # moto's backends live in this process: leave them empty, as they were found.
                with contextlib.suppress(OSError):
                    _reset_moto(self.moto_url)
                self.moto.stop()
                moto_ext.uninstall()
                self.stopped.append("moto server")
                self.moto = None
            if self._mlflow_state is not None:  # this process's MLflow client points where it did before
                _restore_mlflow_state(self._mlflow_state)
                self._mlflow_state = None
            if self._own_workdir and self.workdir.exists():
                if self.failed:
                    self.say(f"logs kept in {self.workdir}")
                else:
                    shutil.rmtree(self.workdir, ignore_errors=True)

    # -- the ML lifecycle --------------------------------------------------------------------------------
    def preview_registry_stack(self) -> dict[str, Any]:
        """The plan of the dev stack serving the model from the registry, resolved against moto: what
        ``pulumi up`` would apply now."""
        import yaml

        from mlops_blueprint.model_registry import RegistrySource
        from mlops_blueprint.preview import run_preview, stack_file

        path = self.workdir / f"Pulumi.{SANDBOX_STACK}.registry.yaml"
        if not path.exists():
            model = self.options.model
            document = yaml.safe_load(stack_file(SANDBOX_STACK).read_text(encoding="utf-8"))
            config = document["config"]
            tracking = dict(config.get("mlops-platform:tracking") or {})
            tracking["modelFamilies"] = [*tracking.get("modelFamilies", ["models"]),
                                         *([model] if model not in tracking.get("modelFamilies", []) else [])]
            config["mlops-platform:tracking"] = tracking
            config["mlops-platform:models"] = [{"name": model, "modelPackageGroup": model}]
            path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        return run_preview(SANDBOX_STACK, path, registry=RegistrySource("endpoint", self.moto_url)).plan

    def capture_traffic(self, frame: Any, variant: str, when: datetime) -> list[str]:
        """Send ``frame`` to the served model in batches and record every request and response as
        SageMaker's data capture does (one JSON line per request, in the variant's hour folder)."""
        from mlops_blueprint.pipelines.drift_stats import capture_key, capture_record

        assert self.ctx is not None and self.model_server is not None
        lines = []
        for start in range(0, len(frame), CAPTURE_BATCH_ROWS):
            batch = frame.iloc[start:start + CAPTURE_BATCH_ROWS]
            predictions = self.model_server.predict(batch)
            lines.append(capture_record(list(batch.columns), batch.values.tolist(), predictions, when,
                                        uuid.uuid4().hex))
        key = capture_key(self.options.model, self.ctx.endpoint_name, variant, when, uuid.uuid4().hex)
        bucket = str(self.outputs["artifactBucketName"])
        self.ctx.s3.put_object(Bucket=bucket, Key=key, Body=("\n".join(lines) + "\n").encode(),
                               ContentType="application/jsonlines", **self.ctx.kms_args())
        return [f"s3://{bucket}/{key}"]

    def snapshot(self, step: str) -> EndpointSnapshot | None:
        from mlops_blueprint.pipelines.deploy import STAGE_TAG, endpoint_state
        from mlops_blueprint.pipelines.registry import CHAMPION, alias_version

        assert self.ctx is not None
        state = endpoint_state(self.ctx)
        if state is None:
            return None
        shot = EndpointSnapshot(step, state.config_name, state.status, state.weights, state.tags.get(STAGE_TAG, ""),
                                alias_version(self.ctx, CHAMPION))
        return shot

    def run_lifecycle(self) -> LifecycleResult:
        import mlflow
        import mlflow.pyfunc

        from mlops_blueprint.pipelines.data import FEATURES, default_dataset_key, make_dataset, split, upload_dataset
        from mlops_blueprint.pipelines.deploy import deploy, promote, rollback
        from mlops_blueprint.pipelines.drift import drift_alarm_event, load_signal
        from mlops_blueprint.pipelines.drift_stats import VIOLATIONS_FILE, run_for_endpoint, write_baseline
        from mlops_blueprint.pipelines.registry import register
        from mlops_blueprint.pipelines.retrain import retrain
        from mlops_blueprint.pipelines.serve import LocalModelServer
        from mlops_blueprint.pipelines.train import train

        ctx, options = self.ctx, self.options
        assert ctx is not None
        started = time.monotonic()
        result = LifecycleResult()

        clock = [time.monotonic()]

        def lap(step: str) -> None:
            raise_if_signalled()
            now = time.monotonic()
            result.timings[step] = round(now - clock[0], 3)
            clock[0] = now

        def record(step: str) -> EndpointSnapshot | None:
            shot = self.snapshot(step)
            if shot is not None:
                result.snapshots.append(shot)
            return shot

        key = default_dataset_key(options.model)
        baseline = make_dataset("baseline")
        result.dataset_v1 = upload_dataset(ctx, baseline, key)
        self.step(f"dataset v1 (baseline): {result.dataset_v1.uri} version {result.dataset_v1.version_id}")

        lap("dataset v1")
        result.train = train(ctx, dataset_key=key)
        self.step(f"trained run {result.train.run_id}: {options.metric} {result.train.metrics[options.metric]:.4f}")
        logged = mlflow.get_logged_model(result.train.model_uri.removeprefix("models:/"))
        physical = physical_artifact_uri(logged.artifact_location, str(self.outputs["mlflowArtifactUri"]))
        bucket, _, prefix = physical.removeprefix("s3://").partition("/")
        listing = ctx.s3.list_objects_v2(Bucket=bucket, Prefix=prefix.rstrip("/") + "/")
        result.artifact_keys = sorted(f"s3://{bucket}/{o['Key']}" for o in listing.get("Contents", []))

        lap("train")
        result.register = register(ctx, result.train.run_id, metric=options.metric)
        self.step(f"registered {result.register.name} v{result.register.version} "
                 f"(model package {result.register.model_package_arn}, PendingManualApproval)")

        lap("register")
        result.deploy = deploy(ctx, result.register.version, canary_weight=options.canary_weight)
        record("deploy")
        self.step(f"deployed v{result.register.version} to endpoint {result.deploy.endpoint} "
                 f"({result.deploy.config_name})")

        # A prediction from the version the endpoint serves, run by MLflow's model server.
        served = max(result.deploy.weights.items(), key=lambda kv: kv[1])[0].removeprefix("v")
        model_uri = f"models:/{ctx.registered_model_name}/{served}"
        self.step(f"serving {model_uri} locally (mlflow models serve)")
        self.model_server = LocalModelServer(model_uri, env=self.child_env(),
                                             log_path=self.workdir / "logs" / "model-server.log")
        lap("deploy")
        self.model_server.start(timeout=options.startup_timeout)
        lap("model server start")
        _, holdout, _, _ = split(baseline)
        rows = holdout.head(5).reset_index(drop=True)
        result.served_version, result.prediction_rows = served, rows
        result.served_predictions = [int(p) for p in self.model_server.predict(rows)]
        result.direct_predictions = [int(p) for p in mlflow.pyfunc.load_model(model_uri).predict(rows)]
        self.step(f"prediction from {self.model_server.url}: {result.served_predictions} "
                 f"(model loaded directly: {result.direct_predictions})")

        # The drift baseline of the training data, as the `pipeline baseline` step writes it.
        lap("predict")
        result.baseline = write_baseline(ctx, key, result.dataset_v1.version_id)
        self.step(f"pipeline baseline: {result.baseline['uri']} ({result.baseline['rows']} rows of dataset v1)")
        lap("baseline")

        # Production traffic drifts: the served model answers it and every request is captured.
        drifted = make_dataset("drifted")
        result.dataset_v2 = upload_dataset(ctx, drifted, key)
        variant = max(result.deploy.weights.items(), key=lambda kv: kv[1])[0]
        when = datetime.now(timezone.utc)
        result.capture_keys = self.capture_traffic(drifted[list(FEATURES)], variant, when)
        self.step(f"sent dataset v2 ({len(drifted)} rows) to the served model; captured in "
                 f"{', '.join(result.capture_keys)}")
        lap("captured traffic")

        # The drift job's run, on exactly those captures: the module the Processing job runs.
        artifact_bucket = str(self.outputs["artifactBucketName"])
        schedule = ctx.outputs.per_model("driftScheduleNames", options.model)
        start = when.replace(minute=0, second=0, microsecond=0)
        end = start + timedelta(hours=1)
        cloudwatch = ctx.client("cloudwatch")
        result.drift, result.drift_reports_uri = run_for_endpoint(
            ctx.s3, cloudwatch, bucket=artifact_bucket, model=options.model, endpoint=ctx.endpoint_name,
            schedule=schedule, start=start, end=end, sse=ctx.kms_args())
        result.drift_report = result.drift.violations()
        result.drift_report_uri = f"{result.drift_reports_uri}{VIOLATIONS_FILE}"
        self.step(f"drift run over {result.drift.records} captured rows: drift in "
                 f"{', '.join(result.drift.drifted_features) or 'no feature'} (KS > {result.drift.threshold:g}); "
                 f"reports in {result.drift_reports_uri}")

        # The drift alarm: a watched feature's published metric above the threshold sends its event.
        result.drift_metrics = published_drift(cloudwatch, ctx.endpoint_name, schedule, FEATURES, start, end)
        result.alarm_features = sorted(f for f, v in result.drift_metrics.items() if v > result.drift.threshold)
        lap("drift run")
        if not result.alarm_features:
            self.step("the drift alarm stays OK: no retraining")
            options = replace(options, challengers=())
        else:
            event = drift_alarm_event(ctx.outputs.per_model("driftAlarmArns", options.model),
                                      features=result.alarm_features, endpoint=ctx.endpoint_name, schedule=schedule)
            result.drift_event_path = self.workdir / "drift-event.json"
            result.drift_event_path.write_text(json.dumps(event, indent=2), encoding="utf-8")
            self.step(f"the drift alarm enters ALARM on {', '.join(result.alarm_features)} (metrics read back from "
                     f"CloudWatch); its event in {result.drift_event_path}")
        lap("drift alarm")
        result.rollout_before = self.preview_registry_stack()
        self.step(f"a stack declaring {options.model} from the registry serves package "
                 f"v{_served_version(result.rollout_before, options.model)} (offline preview against moto)")
        lap("registry preview")
        for kind in options.challengers:
            signal = load_signal(str(result.drift_event_path), ctx)
            try:
                retrained = retrain(ctx, signal, dataset_key=key, params=CHALLENGERS[kind], metric=options.metric,
                                    canary_weight=options.canary_weight, promote_after=False)
            except GateFailed as failed:
                retrained = failed.result
                outcome = ChallengerOutcome(kind, retrained.register.version if retrained else None,
                                            retrained.gate if retrained else None, False, str(failed),
                                            after=record(f"retrain ({kind}): rejected"))
                self.step(f"{kind} challenger: {failed}")
            else:
                canary = record(f"retrain ({kind}): canary")
                promoted = promote(ctx, retrained.register.version, gate=retrained.gate)
                outcome = ChallengerOutcome(kind, retrained.register.version, retrained.gate, True,
                                            f"promoted: {promoted.gate.reason}", canary=canary,
                                            after=record(f"promote ({kind})"))
                self.step(f"{kind} challenger v{retrained.register.version}: canary at {options.canary_weight:g}, "
                         f"then promoted — {promoted.gate.reason}")
            result.challengers.append(outcome)
            lap(f"retrain ({kind})")

        from mlops_blueprint.diff import diff_plans
        from mlops_blueprint.diff_render import render_text

        result.rollout_after = self.preview_registry_stack()
        result.rollout_diff = diff_plans(result.rollout_before, result.rollout_after)
        before_v = _served_version(result.rollout_before, options.model)
        after_v = _served_version(result.rollout_after, options.model)
        result.rollout_text = render_text(result.rollout_diff, f"package v{before_v} approved",
                                          f"package v{after_v} approved")
        self.step(f"the approvals move a registry-backed {options.model} from package v{before_v} to v{after_v}: "
                 f"{len(result.rollout_diff.updates)} update(s), {len(result.rollout_diff.replaces)} replacement(s) "
                 "in the plan the deploy workflow would apply")
        lap("registry preview after approval")

        if options.rollback:
            result.rollback = rollback(ctx)
            record("rollback")
            lap("rollback")
            self.step(f"rolled back {result.rollback.endpoint}: {result.rollback.from_config} -> "
                     f"{result.rollback.to_config} (champion v{result.rollback.champion_version})")
        result.seconds = time.monotonic() - started
        return result


def published_drift(cloudwatch: Any, endpoint: str, schedule: str, features: Sequence[str], start: datetime,
                    end: datetime) -> dict[str, float]:
    """feature -> the largest ``feature_baseline_drift_<feature>`` published for the period: what the
    drift alarm's ``MAX`` of its watched features evaluates."""
    from mlops_blueprint.pipelines.drift_stats import FEATURE_METRIC_PREFIX, NAMESPACE

    values: dict[str, float] = {}
    dimensions = [{"Name": "Endpoint", "Value": endpoint}, {"Name": "MonitoringSchedule", "Value": schedule}]
    for feature in features:
        points = cloudwatch.get_metric_statistics(
            Namespace=NAMESPACE, MetricName=f"{FEATURE_METRIC_PREFIX}{feature}", Dimensions=dimensions,
            StartTime=start, EndTime=end + timedelta(minutes=5), Period=3600, Statistics=["Maximum"])["Datapoints"]
        if points:
            values[feature] = max(p["Maximum"] for p in points)
    return values


def _served_version(plan: dict[str, Any], model: str) -> Any:
    return (plan.get("outputs", {}).get("servedModelPackages") or {}).get(model, {}).get("version")


# -- the command ---------------------------------------------------------------------------------------

def print_summary(console: Console, sandbox: Sandbox, result: LifecycleResult) -> None:
    from rich.table import Table

    ctx = sandbox.ctx
    assert ctx is not None
    metric = sandbox.options.metric
    table = Table(title=f"ML lifecycle in the sandbox — {ctx.registered_model_name} on {ctx.endpoint_name}",
                  show_lines=False)
    table.add_column("step", style="bold")
    table.add_column("result")
    table.add_row("data", f"{result.dataset_v1.uri}\nv1 {result.dataset_v1.version_id} sha256 "
                          f"{result.dataset_v1.sha256[:12]}…")
    table.add_row("train", f"run {result.train.run_id}, {metric} {result.train.metrics[metric]:.4f}\n"
                           f"model artifact: {next((k for k in result.artifact_keys if k.endswith('MLmodel')), '?')}")
    package = "/".join(result.register.model_package_arn.rsplit("/", 2)[-2:])
    table.add_row("register", f"v{result.register.version} (alias {result.register.alias}), model package "
                              f"{package} (PendingManualApproval until deployed)")
    table.add_row("deploy", f"{result.deploy.config_name}: {result.deploy.weights} (package approved)")
    match = "[green]equal[/]" if result.served_predictions == result.direct_predictions else "[red]DIFFERENT[/]"
    table.add_row("predict", f"models:/…/{result.served_version} served locally: {result.served_predictions}; "
                             f"loaded directly: {match}")
    table.add_row("drift", f"dataset v2 {result.dataset_v2.version_id} served and captured "
                           f"({len(result.capture_keys)} capture file(s)); drift run: "
                           f"{len(result.drift_report['violations'])} violation(s): "
                           f"{', '.join(v['feature_name'] for v in result.drift_report['violations'])}\n"
                           f"reports: {result.drift_reports_uri}; alarm: "
                           f"{', '.join(result.alarm_features) or 'OK'}")
    for outcome in result.challengers:
        gate = outcome.gate
        scores = (f"{metric} {gate.challenger_score:.4f} vs champion v{gate.champion_version} "
                  f"{gate.champion_score:.4f}") if gate else ""
        if outcome.promoted:
            text = (f"[green]promoted[/] v{outcome.version}: {scores}\ncanary {outcome.canary.weights} → "
                    f"{outcome.after.weights}") if outcome.canary and outcome.after else f"promoted v{outcome.version}"
        else:
            text = f"[yellow]not promoted[/] v{outcome.version}: {scores}; endpoint stays on " \
                   f"{outcome.after.config_name if outcome.after else '?'}"
        table.add_row(f"retrain ({outcome.kind})", text)
    if result.rollback is not None:
        table.add_row("rollback", f"{result.rollback.from_config} → {result.rollback.to_config}, "
                                  f"champion v{result.rollback.champion_version}")
    console.print(table)
    history = Table(title="endpoint configurations")
    for column in ("after", "configuration", "stage", "weights", "champion"):
        history.add_column(column)
    for shot in result.snapshots:
        history.add_row(shot.step, shot.config_name, shot.stage,
                        ", ".join(f"{k} {v:g}" for k, v in shot.weights.items()), f"v{shot.champion}")
    console.print(history)
    if result.rollout_text:
        from rich.markup import escape

        model = sandbox.options.model
        declared = escape(f"models: [{{name: {model}, modelPackageGroup: {model}}}]")
        console.print(f"\n[bold]What an approval does to a stack that declares {model}[/] ({declared}): the deploy "
                      "workflow's `pulumi up`, previewed offline against the sandbox's registry", soft_wrap=True)
        console.print(result.rollout_text, markup=False, highlight=False, soft_wrap=True)
    console.print(f"start-up {sandbox.startup_seconds:.1f} s (dev preview, moto, MLflow server); lifecycle "
                  f"{result.seconds:.1f} s: " + ", ".join(f"{k} {v:.1f}" for k, v in result.timings.items()))


def run(options: SandboxOptions, *, keep_running: bool = False, console: Console | None = None) -> int:
    """The ``sandbox`` command. Exit 0 when the lifecycle ran (a rejected challenger is part of it)."""
    from mlops_blueprint.pipelines.errors import EXIT_INTERRUPTED, EXIT_TERMINATED, Terminated
    from mlops_blueprint.pipelines.processes import terminate_on_signals

    out = console or Console()
    if console is None and not out.is_terminal:
        out = Console(width=150)
    err = Console(stderr=True)
    sandbox = Sandbox(options, err)
    with terminate_on_signals():
        try:
            with sandbox:
                result = sandbox.run_lifecycle()
                print_summary(out, sandbox, result)
                if keep_running:
                    out.print(f"\nThe sandbox keeps running until Ctrl-C. In another shell:\n"
                              f"  source {sandbox.workdir / 'env.sh'}\n"
                              f"  mlops-blueprint pipeline rollback --outputs {sandbox.outputs_file} "
                              f"--endpoint-name {sandbox.endpoint_name}\n")
                    while True:
                        time.sleep(1)
                        raise_if_signalled()
        except KeyboardInterrupt:
            err.print(f"interrupted; stopped: {', '.join(sandbox.stopped) or 'nothing was running'}", soft_wrap=True)
            return EXIT_INTERRUPTED
        except Terminated as exc:
            err.print(f"{exc}; stopped: {', '.join(sandbox.stopped) or 'nothing was running'}", soft_wrap=True)
            return EXIT_TERMINATED
        except PipelineError as exc:
            err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            err.print(f"stopped: {', '.join(sandbox.stopped) or 'nothing was running'}", soft_wrap=True)
            return exc.exit_code
    out.print(f"stopped: {', '.join(sandbox.stopped)}; no process left running", soft_wrap=True)
    return 0
