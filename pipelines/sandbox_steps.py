"""The sandbox's ML lifecycle, step by step (see :mod:`.sandbox` for what runs where).

dataset v1 → train → register → deploy → a prediction from the served model → drift baseline →
drifted traffic, captured → the drift run and its alarm → per challenger: retrain → promote (or
not) → optionally rollback; and what the approvals do to a stack that declares the model. With
``--llm``, :func:`serve_llm`: the dev stack's open-LLM entry served locally.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_blueprint.outputs import Out
from mlops_blueprint.pipelines.errors import GateFailed, PipelineError
from mlops_blueprint.pipelines.processes import http_ok, raise_if_signalled
from mlops_blueprint.pipelines.sandbox_stack import LlmContainer, preview_llm, preview_registry_stack, served_version

if TYPE_CHECKING:
    from mlops_blueprint.pipelines.sandbox import Sandbox

# How each kind of challenger is trained on the drifted data.
CHALLENGERS: dict[str, dict[str, Any]] = {
    "better": {},                                      # the default forest, retrained on current data
    "worse": {"n_estimators": 1, "max_depth": 1},      # a deliberately under-fit stump
}
CAPTURE_BATCH_ROWS = 100     # rows per request sent to the served model (one capture record each)
# The tiny LLM's training text and the request the sandbox sends it (deterministic: greedy bigrams).
LLM_TEXT = "weights from s3. "
LLM_PROMPT = "w"
LLM_MAX_NEW_TOKENS = 12


@dataclass
class LlmResult:
    container: LlmContainer       # from the dev stack's preview
    uploaded: list[str]           # the tiny model's files under the weights prefix (moto's S3)
    model_dir: Path               # where they were staged (the container's /opt/ml/model)
    url: str                      # the local server
    request: dict[str, Any]
    generated_text: str


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
    llm: LlmResult | None = None
    snapshots: list[EndpointSnapshot] = field(default_factory=list)
    # A stack serving the model from the registry: its plan before and after the approval, and the diff.
    rollout_before: dict[str, Any] = field(default_factory=dict)
    rollout_after: dict[str, Any] = field(default_factory=dict)
    rollout_diff: Any = None
    rollout_text: str = ""
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)   # step -> seconds


def run_lifecycle(sandbox: Sandbox) -> LifecycleResult:
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

    ctx, options = sandbox.ctx, sandbox.options
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
        shot = snapshot(sandbox, step)
        if shot is not None:
            result.snapshots.append(shot)
        return shot

    key = default_dataset_key(options.model)
    baseline = make_dataset("baseline")
    result.dataset_v1 = upload_dataset(ctx, baseline, key)
    sandbox.step(f"dataset v1 (baseline): {result.dataset_v1.uri} version {result.dataset_v1.version_id}")

    lap("dataset v1")
    result.train = train(ctx, dataset_key=key)
    sandbox.step(f"trained run {result.train.run_id}: {options.metric} {result.train.metrics[options.metric]:.4f}")
    logged = mlflow.get_logged_model(result.train.model_uri.removeprefix("models:/"))
    physical = physical_artifact_uri(logged.artifact_location, str(sandbox.outputs[Out.MLFLOW_ARTIFACT_URI]))
    bucket, _, prefix = physical.removeprefix("s3://").partition("/")
    listing = ctx.s3.list_objects_v2(Bucket=bucket, Prefix=prefix.rstrip("/") + "/")
    result.artifact_keys = sorted(f"s3://{bucket}/{o['Key']}" for o in listing.get("Contents", []))

    lap("train")
    result.register = register(ctx, result.train.run_id, metric=options.metric)
    sandbox.step(f"registered {result.register.name} v{result.register.version} "
             f"(model package {result.register.model_package_arn}, PendingManualApproval)")

    lap("register")
    result.deploy = deploy(ctx, result.register.version, canary_weight=options.canary_weight)
    record("deploy")
    sandbox.step(f"deployed v{result.register.version} to endpoint {result.deploy.endpoint} "
             f"({result.deploy.config_name})")

    # A prediction from the version the endpoint serves, run by MLflow's model server.
    served = max(result.deploy.weights.items(), key=lambda kv: kv[1])[0].removeprefix("v")
    model_uri = f"models:/{ctx.registered_model_name}/{served}"
    sandbox.step(f"serving {model_uri} locally (mlflow models serve)")
    sandbox.model_server = LocalModelServer(model_uri, env=sandbox.child_env(),
                                         log_path=sandbox.workdir / "logs" / "model-server.log")
    lap("deploy")
    sandbox.model_server.start(timeout=options.startup_timeout)
    lap("model server start")
    _, holdout, _, _ = split(baseline)
    rows = holdout.head(5).reset_index(drop=True)
    result.served_version, result.prediction_rows = served, rows
    result.served_predictions = [int(p) for p in sandbox.model_server.predict(rows)]
    result.direct_predictions = [int(p) for p in mlflow.pyfunc.load_model(model_uri).predict(rows)]
    sandbox.step(f"prediction from {sandbox.model_server.url}: {result.served_predictions} "
             f"(model loaded directly: {result.direct_predictions})")

    # The drift baseline of the training data, as the `pipeline baseline` step writes it.
    lap("predict")
    result.baseline = write_baseline(ctx, key, result.dataset_v1.version_id)
    sandbox.step(f"pipeline baseline: {result.baseline['uri']} ({result.baseline['rows']} rows of dataset v1)")
    lap("baseline")

    # Production traffic drifts: the served model answers it and every request is captured.
    drifted = make_dataset("drifted")
    result.dataset_v2 = upload_dataset(ctx, drifted, key)
    variant = max(result.deploy.weights.items(), key=lambda kv: kv[1])[0]
    when = datetime.now(timezone.utc)
    result.capture_keys = capture_traffic(sandbox, drifted[list(FEATURES)], variant, when)
    sandbox.step(f"sent dataset v2 ({len(drifted)} rows) to the served model; captured in "
             f"{', '.join(result.capture_keys)}")
    lap("captured traffic")

    # The drift job's run, on exactly those captures: the module the Processing job runs.
    artifact_bucket = str(sandbox.outputs[Out.MODELS_BUCKET_NAME])
    schedule = ctx.outputs.per_model(Out.DRIFT_SCHEDULE_NAMES, options.model)
    start = when.replace(minute=0, second=0, microsecond=0)
    end = start + timedelta(hours=1)
    cloudwatch = ctx.client("cloudwatch")
    result.drift, result.drift_reports_uri = run_for_endpoint(
        ctx.s3, cloudwatch, bucket=artifact_bucket, model=options.model, endpoint=ctx.endpoint_name,
        schedule=schedule, start=start, end=end, sse=ctx.kms_args())
    result.drift_report = result.drift.violations()
    result.drift_report_uri = f"{result.drift_reports_uri}{VIOLATIONS_FILE}"
    sandbox.step(f"drift run over {result.drift.records} captured rows: drift in "
             f"{', '.join(result.drift.drifted_features) or 'no feature'} (KS > {result.drift.threshold:g}); "
             f"reports in {result.drift_reports_uri}")

    # The drift alarm: a watched feature's published metric above the threshold sends its event.
    result.drift_metrics = published_drift(cloudwatch, ctx.endpoint_name, schedule, FEATURES, start, end)
    result.alarm_features = sorted(f for f, v in result.drift_metrics.items() if v > result.drift.threshold)
    lap("drift run")
    if not result.alarm_features:
        sandbox.step("the drift alarm stays OK: no retraining")
        options = replace(options, challengers=())
    else:
        event = drift_alarm_event(ctx.outputs.per_model(Out.DRIFT_ALARM_ARNS, options.model),
                                  features=result.alarm_features, endpoint=ctx.endpoint_name, schedule=schedule)
        result.drift_event_path = sandbox.workdir / "drift-event.json"
        result.drift_event_path.write_text(json.dumps(event, indent=2), encoding="utf-8")
        sandbox.step(f"the drift alarm enters ALARM on {', '.join(result.alarm_features)} (metrics read back from "
                 f"CloudWatch); its event in {result.drift_event_path}")
    lap("drift alarm")
    result.rollout_before = preview_registry_stack(sandbox.workdir, options.model, sandbox.moto_url)
    sandbox.step(f"a stack declaring {options.model} from the registry serves package "
             f"v{served_version(result.rollout_before, options.model)} (offline preview against moto)")
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
            sandbox.step(f"{kind} challenger: {failed}")
        else:
            canary = record(f"retrain ({kind}): canary")
            promoted = promote(ctx, retrained.register.version, gate=retrained.gate)
            outcome = ChallengerOutcome(kind, retrained.register.version, retrained.gate, True,
                                        f"promoted: {promoted.gate.reason}", canary=canary,
                                        after=record(f"promote ({kind})"))
            sandbox.step(f"{kind} challenger v{retrained.register.version}: canary at {options.canary_weight:g}, "
                     f"then promoted — {promoted.gate.reason}")
        result.challengers.append(outcome)
        lap(f"retrain ({kind})")

    from mlops_blueprint.diff import diff_plans
    from mlops_blueprint.diff_render import render_text

    result.rollout_after = preview_registry_stack(sandbox.workdir, options.model, sandbox.moto_url)
    result.rollout_diff = diff_plans(result.rollout_before, result.rollout_after)
    before_v = served_version(result.rollout_before, options.model)
    after_v = served_version(result.rollout_after, options.model)
    result.rollout_text = render_text(result.rollout_diff, f"package v{before_v} approved",
                                      f"package v{after_v} approved")
    sandbox.step(f"the approvals move a registry-backed {options.model} from package v{before_v} to v{after_v}: "
             f"{len(result.rollout_diff.updates)} update(s), {len(result.rollout_diff.replaces)} replacement(s) "
             "in the plan the deploy workflow would apply")
    lap("registry preview after approval")

    if options.rollback:
        result.rollback = rollback(ctx)
        record("rollback")
        lap("rollback")
        sandbox.step(f"rolled back {result.rollback.endpoint}: {result.rollback.from_config} -> "
                 f"{result.rollback.to_config} (champion v{result.rollback.champion_version})")
    if options.llm:
        result.llm = serve_llm(sandbox)
        lap("llm")
    result.seconds = time.monotonic() - started
    return result


def serve_llm(sandbox: Sandbox) -> LlmResult:
    """The dev stack's open-LLM entry, locally: its weights prefix and container environment from the
    stack's preview, a tiny model uploaded there, staged as SageMaker does and served over TGI's
    routes on 127.0.0.1 (``sandbox.llm_server``, stopped with the sandbox), then one ``/generate``."""
    import urllib.request

    from mlops_blueprint.components.llm_settings import MODEL_DIR
    from mlops_blueprint.pipelines.llm_local import LocalTextServer, stage_weights, write_tiny_model

    container = preview_llm(sandbox.workdir, str(sandbox.outputs[Out.MODELS_BUCKET_NAME]))
    if container.environment.get("HF_MODEL_ID") != MODEL_DIR:
        raise PipelineError(f"the stack's {container.model} container reads its model from "
                            f"{container.environment.get('HF_MODEL_ID')!r}, not {MODEL_DIR}: cannot stage it locally")
    sandbox.step(f"the dev stack's llm entry {container.model}: weights at {container.weights_s3_uri}, "
                 f"container environment {container.environment}")
    built = sandbox.workdir / "llm" / "built"
    write_tiny_model(LLM_TEXT, built)
    s3 = sandbox.client("s3")
    bucket, _, prefix = container.weights_s3_uri.removeprefix("s3://").partition("/")
    sse = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": str(sandbox.outputs[Out.DATA_KEY_ARN])}
    uploaded = []
    for path in sorted(p for p in built.rglob("*") if p.is_file()):
        key = prefix + path.relative_to(built).as_posix()
        s3.upload_file(str(path), bucket, key, ExtraArgs=sse)
        uploaded.append(f"s3://{bucket}/{key}")
    model_dir = sandbox.workdir / "llm" / "opt-ml-model"
    stage_weights(s3, container.weights_s3_uri, model_dir)
    # The stack's environment, its /opt/ml/model being the staged directory on this machine.
    sandbox.llm_server = LocalTextServer({**container.environment, "HF_MODEL_ID": str(model_dir)}).start()
    url = sandbox.llm_server.url
    if not http_ok(f"{url}/ping"):
        raise PipelineError(f"the local LLM server at {url} does not answer /ping")
    request = {"inputs": LLM_PROMPT, "parameters": {"max_new_tokens": LLM_MAX_NEW_TOKENS}}
    post = urllib.request.Request(f"{url}/generate", data=json.dumps(request).encode(), method="POST",
                                  headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(post, timeout=10) as response:  # noqa: S310 - 127.0.0.1
        generated = str(json.loads(response.read())["generated_text"])
    sandbox.step(f"{container.model} served at {url} (TGI routes): /generate {LLM_PROMPT!r} -> {generated!r}")
    return LlmResult(container, uploaded, model_dir, url, request, generated)



def capture_traffic(sandbox: Sandbox, frame: Any, variant: str, when: datetime) -> list[str]:
    """Send ``frame`` to the served model in batches and record every request and response as
    SageMaker's data capture does (one JSON line per request, in the variant's hour folder)."""
    from mlops_blueprint.pipelines.drift_stats import capture_key, capture_record

    assert sandbox.ctx is not None and sandbox.model_server is not None
    lines = []
    for start in range(0, len(frame), CAPTURE_BATCH_ROWS):
        batch = frame.iloc[start:start + CAPTURE_BATCH_ROWS]
        predictions = sandbox.model_server.predict(batch)
        lines.append(capture_record(list(batch.columns), batch.values.tolist(), predictions, when,
                                    uuid.uuid4().hex))
    key = capture_key(sandbox.options.model, sandbox.ctx.endpoint_name, variant, when, uuid.uuid4().hex)
    bucket = str(sandbox.outputs[Out.MODELS_BUCKET_NAME])
    sandbox.ctx.s3.put_object(Bucket=bucket, Key=key, Body=("\n".join(lines) + "\n").encode(),
                           ContentType="application/jsonlines", **sandbox.ctx.kms_args())
    return [f"s3://{bucket}/{key}"]


def snapshot(sandbox: Sandbox, step: str) -> EndpointSnapshot | None:
    from mlops_blueprint.pipelines.deploy import STAGE_TAG, endpoint_state
    from mlops_blueprint.pipelines.registry import CHAMPION, alias_version

    assert sandbox.ctx is not None
    state = endpoint_state(sandbox.ctx)
    if state is None:
        return None
    shot = EndpointSnapshot(step, state.config_name, state.status, state.weights, state.tags.get(STAGE_TAG, ""),
                            alias_version(sandbox.ctx, CHAMPION))
    return shot


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



def physical_artifact_uri(artifact_location: str, mlflow_artifact_uri: str) -> str:
    """Where a proxied artifact (``mlflow-artifacts:/...``) physically lives."""
    prefix = "mlflow-artifacts:"
    if artifact_location.startswith(prefix):
        path = artifact_location[len(prefix):].lstrip("/")
        return f"{mlflow_artifact_uri.rstrip('/')}/{path}"
    return artifact_location

