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

Names come from the dev stack itself (:mod:`.sandbox_stack`): the offline preview of ``dev`` gives
the sandbox its stack outputs (buckets, roles, key, subnets, repositories, ...), and the preview of
``dev`` declaring the model gives the model's package group, drift alarm and drift schedule; the
tracking URL is the local server's. They are written to ``<workdir>/outputs.json``, so the
``pipeline`` commands run against the sandbox exactly as against a stack (``--keep-running``).

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
(metric gate; a winner goes out as a canary) → promote (or not) → optionally rollback → with
``--llm``, an open LLM as the dev stack declares it (``models[].llm``): tiny weights staged under
its S3 prefix on moto, served on 127.0.0.1 over TGI's routes (:mod:`.llm_local`) with the container's
environment from the stack's preview, and asked to ``/generate``. Every process and server is
stopped at the end, on failure, on Ctrl-C and on SIGTERM.

Modules: this one runs the processes (moto, MLflow, the model server) and the command;
:mod:`.sandbox_stack` the names, :mod:`.sandbox_steps` the lifecycle, :mod:`.sandbox_summary` the
summary.
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
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from mlops_blueprint.outputs import Out
from mlops_blueprint.pipelines.context import AwsSettings, PipelineContext
from mlops_blueprint.pipelines.errors import PipelineError
from mlops_blueprint.pipelines.outputs import StackOutputs
from mlops_blueprint.pipelines.processes import (
    MARKER_ENV,
    ManagedProcess,
    free_port,
    http_ok,
    raise_if_signalled,
    signals_deferred,
)
from mlops_blueprint.pipelines.sandbox_stack import (
    SANDBOX_STACK,
    preview_registry_stack,
    preview_stack,
    sandbox_endpoint_name,
    sandbox_outputs,
)
from mlops_blueprint.pipelines.sandbox_steps import (
    CAPTURE_BATCH_ROWS,
    CHALLENGERS,
    EndpointSnapshot,
    LifecycleResult,
    capture_traffic,
    physical_artifact_uri,
    published_drift,
    run_lifecycle,
    snapshot,
)
from mlops_blueprint.pipelines.sandbox_summary import print_summary

__all__ = [
    "CAPTURE_BATCH_ROWS", "CHALLENGERS", "SANDBOX_STACK", "Sandbox", "SandboxOptions", "physical_artifact_uri",
    "print_summary", "published_drift", "run", "sandbox_endpoint_name", "sandbox_outputs",
]

FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@dataclass
class SandboxOptions:
    model: str = "churn"
    metric: str = "accuracy"
    canary_weight: float = 0.1
    challengers: tuple[str, ...] = ("better",)
    rollback: bool = False
    workdir: Path | None = None
    startup_timeout: float = 180.0
    llm: bool = False  # also serve the dev stack's open-LLM entry locally (sandbox_steps.serve_llm)


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
        self.llm_server: Any = None  # llm_local.LocalTextServer, with --llm
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
        began = time.monotonic()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.step(f"id {self.id}, working directory {self.workdir}")
        self.step(f"previewing stack '{SANDBOX_STACK}' offline, as shipped and declaring {self.options.model}, "
                  "for its outputs (the names the stack computes)")
        shipped, declaring, project = preview_stack(self.workdir, self.options.model)

        self._start_moto()
        tracking_port = free_port()
        self.tracking_url = f"http://127.0.0.1:{tracking_port}"
        self.outputs = sandbox_outputs(shipped, declaring, self.options.model, self.tracking_url)
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
        region = str(self.outputs[Out.REGION])
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
                                                       "SSEKMSKeyId": str(self.outputs[Out.DATA_KEY_ARN])}),
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true",
            "PATH": bin_dir + os.pathsep + env.get("PATH", ""), "PYTHONUNBUFFERED": "1", MARKER_ENV: self.id,
        })
        return env

    def _start_tracking(self, port: int) -> None:
        argv = [sys.executable, "-m", "mlflow", "server",
                "--backend-store-uri", f"sqlite:///{self.workdir / 'mlflow.db'}",
                "--artifacts-destination", str(self.outputs[Out.MLFLOW_ARTIFACT_URI]),
                "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        self.tracking = ManagedProcess("MLflow tracking server", argv, env=self.child_env(),
                                       log_path=self.workdir / "logs" / "mlflow-server.log",
                                       ready=lambda: http_ok(f"{self.tracking_url}/health"))
        self.tracking.start()
        self.step(f"MLflow tracking server starting (pid {self.tracking.pid}, sqlite backend, artifacts in "
                 f"{self.outputs[Out.MLFLOW_ARTIFACT_URI]})")

    def client(self, service: str) -> Any:
        """A boto3 client of moto, with the fake credentials (never the caller's identity)."""
        import boto3

        session = boto3.session.Session(aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                                        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                                        region_name=str(self.outputs[Out.REGION]))
        return session.client(service, endpoint_url=self.moto_url)

    def _provision(self) -> None:
        """The buckets, roles and model package group the dev stack has, on moto."""
        s3, iam, sm = self.client("s3"), self.client("iam"), self.client("sagemaker")
        key = str(self.outputs[Out.DATA_KEY_ARN])
        buckets = [self.outputs[n] for n in (Out.MODELS_BUCKET_NAME, Out.DATASETS_BUCKET_NAME, Out.ACCESS_LOGS_BUCKET_NAME)
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
        groups = self.outputs[Out.MODEL_PACKAGE_GROUP_NAMES]
        for group in sorted(set(groups.values() if isinstance(groups, dict) else groups)):
            sm.create_model_package_group(ModelPackageGroupName=group,
                                          ModelPackageGroupDescription="sandbox: register MLflow models here")
        self.step(f"created {len(buckets)} versioned SSE-KMS buckets, {len(roles)} IAM roles and the model package "
                 f"group(s) {', '.join(sorted(set(groups.values() if isinstance(groups, dict) else groups)))} on moto")

    def close(self) -> None:
        """Stop everything this sandbox started; idempotent, and not interruptible by Ctrl-C."""
        with signals_deferred():
            if self.llm_server is not None:
                self.llm_server.stop()
                self.stopped.append("local LLM server")
                self.llm_server = None
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

    # -- the ML lifecycle (sandbox_steps) -------------------------------------------------------------
    def run_lifecycle(self) -> LifecycleResult:
        return run_lifecycle(self)

    def preview_registry_stack(self) -> dict[str, Any]:
        return preview_registry_stack(self.workdir, self.options.model, self.moto_url)

    def capture_traffic(self, frame: Any, variant: str, when: datetime) -> list[str]:
        return capture_traffic(self, frame, variant, when)

    def snapshot(self, step: str) -> EndpointSnapshot | None:
        return snapshot(self, step)


# -- the command ---------------------------------------------------------------------------------------

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
