"""``mlops-blueprint pipeline ...`` and ``mlops-blueprint sandbox``.

``infra/cli.py`` registers these on its top-level parser with :func:`add_commands`; this module is
also runnable on its own (``python -m mlops_blueprint.pipelines``). Importing it is cheap: mlflow,
scikit-learn and boto3 are imported inside the handlers (the core install has none of them).

Exit codes: 0 success (also: no drift, nothing to retrain); 1 a metric gate failed / nothing was
promoted, or a step failed (what it created is undone); 2 bad input — a missing stack output, an
unreachable tracking URI, an unreadable file or argument — with nothing changed; 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console

from mlops_blueprint.gc_tuning import collect_less_often
from mlops_blueprint.outputs import Out
from mlops_blueprint.pipelines.errors import (
    EXIT_FAILED,
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OK,
    InputError,
    PipelineError,
)

R = TypeVar("R")

DEFAULT_MODEL = "churn"
DEFAULT_METRIC = "accuracy"
METRIC_CHOICES = ("accuracy", "f1", "roc_auc", "precision", "recall")


def _console() -> Console:
    return Console()


def _err() -> Console:
    return Console(stderr=True)


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return _jsonable(asdict(value))
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def print_error(exc: BaseException) -> None:
    """``error: <exc>`` on stderr (the message is text, not markup)."""
    from rich.markup import escape

    _err().print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)


def report_handler(
    build: Callable[[argparse.Namespace], R],
    payload: Callable[[R], Any],
    render: Callable[[R, Console], None],
    failed: Callable[[R], bool],
) -> Callable[[argparse.Namespace], int]:
    """The handler of a command that reports on a stack: ``build`` the report (bad input: the error,
    exit 2), print ``payload(report)`` as JSON with ``--json`` (dataclasses as objects) or ``render``
    it, and exit 1 when it ``failed``."""

    def handler(args: argparse.Namespace) -> int:
        try:
            report = build(args)
        except InputError as exc:
            print_error(exc)
            return EXIT_INPUT
        if args.json:
            sys.stdout.write(json.dumps(_jsonable(payload(report)), indent=2) + "\n")
        else:
            render(report, Console())
        return EXIT_FAILED if failed(report) else EXIT_OK

    return handler


def add_report_command(subparsers: Any, name: str, handler: Callable[[argparse.Namespace], int], *, about: str,
                       stack: str, outputs: str, as_json: str) -> argparse.ArgumentParser:
    """Register a command that reports on one stack's live resources, with the options they share:
    ``--stack``, ``--outputs FILE`` and ``--json`` (their help texts given); the caller adds the rest."""
    cmd = subparsers.add_parser(name, help=about)
    cmd.add_argument("--stack", required=True, help=stack)
    cmd.add_argument("--outputs", metavar="FILE", help=outputs)
    cmd.add_argument("--json", action="store_true", help=as_json)
    cmd.set_defaults(handler=handler)
    return cmd


# The outputs each step reads (per-model ones: an entry for --model-name), checked before anything else.
_NEEDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "dataset": ((Out.DATASETS_BUCKET_NAME, Out.DATA_KEY_ARN), ()),
    "drift-check": ((Out.DATASETS_BUCKET_NAME,), ()),
    "baseline": ((Out.DATASETS_BUCKET_NAME, Out.MODELS_BUCKET_NAME, Out.DATA_KEY_ARN), ()),
    "cleanup": ((Out.ENVIRONMENT,), ()),
    "train": ((Out.DATASETS_BUCKET_NAME,), (Out.MODEL_PACKAGE_GROUP_NAMES,)),
    "register": ((Out.MODELS_BUCKET_NAME, Out.DATA_KEY_ARN), (Out.MODEL_PACKAGE_GROUP_NAMES,)),
    "deploy": ((Out.SERVING_ROLE_ARN, Out.SERVING_SUBNET_IDS, Out.WORKLOAD_SECURITY_GROUP_ID, Out.DATA_KEY_ARN,
                Out.MODELS_BUCKET_NAME), (Out.MODEL_PACKAGE_GROUP_NAMES, Out.ENDPOINT_NAMES)),
    "promote": ((Out.DATASETS_BUCKET_NAME, Out.SERVING_ROLE_ARN, Out.SERVING_SUBNET_IDS, Out.WORKLOAD_SECURITY_GROUP_ID,
                 Out.DATA_KEY_ARN, Out.MODELS_BUCKET_NAME), (Out.MODEL_PACKAGE_GROUP_NAMES, Out.ENDPOINT_NAMES)),
    "rollback": ((), (Out.MODEL_PACKAGE_GROUP_NAMES, Out.ENDPOINT_NAMES)),
    "retrain": ((Out.DATASETS_BUCKET_NAME, Out.MODELS_BUCKET_NAME, Out.DATA_KEY_ARN, Out.SERVING_ROLE_ARN,
                 Out.SERVING_SUBNET_IDS, Out.WORKLOAD_SECURITY_GROUP_ID), (Out.MODEL_PACKAGE_GROUP_NAMES, Out.ENDPOINT_NAMES)),
}


def _context(args: argparse.Namespace, *, tracking: bool = True) -> Any:
    """Outputs first (every one the step reads), then the tracking server: bad input fails before
    anything changes."""
    from mlops_blueprint.pipelines.context import PipelineContext
    from mlops_blueprint.pipelines.outputs import load_outputs

    outputs = load_outputs(args.stack, args.outputs)
    endpoint = getattr(args, "endpoint_name", None)
    ctx = PipelineContext(outputs, model=args.model_name, tracking_uri=args.tracking_uri,
                          wait_seconds=args.wait_seconds, poll_seconds=args.poll_seconds, endpoint=endpoint)
    plain, per_model = _NEEDS.get(args.step, ((), ()))
    outputs.require(Out.REGION, "every AWS client")
    for name in plain:
        outputs.require(name, f"`pipeline {args.step}`")
    if args.step in ("register", "retrain") and not getattr(args, "image", None):
        outputs.require(Out.ECR_REPOSITORY_URLS, "the serving image of model packages (or pass --image)")
    for name in per_model:
        if not (name == Out.ENDPOINT_NAMES and endpoint):  # --endpoint-name: an endpoint the stack does not declare
            outputs.per_model(name, args.model_name, f"`pipeline {args.step}`")
    if tracking:
        ctx.check_tracking()
    return ctx


def _run(step: Callable[[argparse.Namespace], Any]) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        try:
            result = step(args)
        except PipelineError as exc:
            print_error(exc)
            return exc.exit_code
        except KeyboardInterrupt:
            _err().print("interrupted")
            return EXIT_INTERRUPTED
        if getattr(args, "json", False) and result is not None:
            sys.stdout.write(json.dumps(_jsonable(result), indent=2, sort_keys=True, default=str) + "\n")
        return EXIT_OK
    return handler


# -- steps ---------------------------------------------------------------------------------------------

def _dataset(args: argparse.Namespace) -> Any:
    from mlops_blueprint.pipelines.data import default_dataset_key, make_dataset, upload_dataset

    ctx = _context(args, tracking=False)
    version = upload_dataset(ctx, make_dataset(args.kind, args.seed), args.dataset_key or default_dataset_key(ctx.model))
    _err().print(f"uploaded {args.kind} data to {version.uri}: version {version.version_id}, sha256 {version.sha256}")
    return version


def _train(args: argparse.Namespace) -> Any:
    from mlops_blueprint.pipelines.train import parse_params, train

    params = parse_params(args.param)
    ctx = _context(args)
    result = train(ctx, dataset_key=args.dataset_key, data_version=args.data_version, params=params)
    _err().print(f"run {result.run_id} in experiment {ctx.registered_model_name}: "
                 + ", ".join(f"{k} {v:.4f}" for k, v in result.metrics.items())
                 + f"; data {result.dataset.uri} version {result.dataset.version_id}")
    return result


def _register(args: argparse.Namespace) -> Any:
    from mlops_blueprint.pipelines.registry import register

    ctx = _context(args)
    result = register(ctx, args.run_id, alias=args.alias, image=args.image, metric=args.metric,
                      min_metric=args.min_metric)
    _err().print(f"registered {result.name} v{result.version} (alias {result.alias}); model package "
                 f"{result.model_package_arn} is PendingManualApproval")
    return result


def _deploy(args: argparse.Namespace) -> Any:
    from mlops_blueprint.pipelines.deploy import deploy

    ctx = _context(args, tracking=False)
    if ctx.pulumi_owned:  # refused before the tracking server or AWS is asked anything
        from mlops_blueprint.pipelines.deploy import pulumi_owned_refusal

        raise pulumi_owned_refusal(ctx, args.version)
    ctx.check_tracking()
    result = deploy(ctx, args.version, canary_weight=args.canary_weight, instance_type=args.instance_type,
                    instance_count=args.instance_count)
    _err().print(f"endpoint {result.endpoint} is InService on {result.config_name} ({result.stage}): "
                 f"{result.weights}")
    return result


def _registry_only(result: Any, change: str, rollout: str) -> Any:
    """Reports a change made in the model registry alone (a Pulumi-owned endpoint follows it at the
    next deployment, as ``rollout`` says) and passes ``result`` on."""
    _err().print(f"{change} (the registry only); {rollout}", soft_wrap=True, markup=False)
    return result


def _promote(args: argparse.Namespace) -> Any:
    from mlops_blueprint.pipelines.deploy import promote

    result = promote(_context(args), args.version, metric=args.metric, min_improvement=args.min_improvement,
                     min_metric=args.min_metric)
    if result.registry is not None:
        return _registry_only(result, f"promoted — {result.gate.reason}; approved {result.registry.approved_package}",
                              result.registry.rollout)
    _err().print(f"promoted — {result.gate.reason}; endpoint {result.deploy.endpoint} on "
                 f"{result.deploy.config_name}: {result.deploy.weights}")
    return result


def _rollback(args: argparse.Namespace) -> Any:
    from mlops_blueprint.pipelines.deploy import rollback

    result = rollback(_context(args))
    if not hasattr(result, "to_config"):  # a Pulumi-owned endpoint: the registry changed
        return _registry_only(result, f"champion back to v{result.champion_version}: rejected "
                              f"{result.rejected_package}, approved {result.approved_package}", result.rollout)
    _err().print(f"endpoint {result.endpoint} rolled back from {result.from_config} to {result.to_config}; "
                 f"champion v{result.champion_version}: {result.weights}")
    return result


def _retrain(args: argparse.Namespace) -> Any:
    from mlops_blueprint.pipelines.drift import parse_signal, read_json
    from mlops_blueprint.pipelines.retrain import retrain
    from mlops_blueprint.pipelines.train import parse_params

    params = parse_params(args.param)
    if not args.drift_report.startswith("s3://"):
        parse_signal(read_json(args.drift_report), args.drift_report)  # a bad file fails before anything else
    ctx = _context(args)
    signal = parse_signal(read_json(args.drift_report, ctx), args.drift_report)
    if not signal.drifted:
        _err().print(f"{signal.summary()}: nothing to retrain")
        return {"drifted": False, "signal": signal}
    result = retrain(ctx, signal, dataset_key=args.dataset_key, params=params, metric=args.metric,
                     min_improvement=args.min_improvement, canary_weight=args.canary_weight,
                     promote_after=not args.no_promote, image=args.image)
    where = (f"promoted v{result.register.version}" if result.promoted
             else f"v{result.register.version} is a canary at {args.canary_weight:g}")
    _err().print(f"{result.signal.summary()}: {where} — {result.gate.reason}; endpoint on {result.endpoint_config_after}")
    return result


def _drift_check(args: argparse.Namespace) -> Any:
    from mlops_blueprint.pipelines.data import FEATURES, default_dataset_key, read_dataset
    from mlops_blueprint.pipelines.drift import drift_report

    ctx = _context(args, tracking=False)
    key = args.dataset_key or default_dataset_key(ctx.model)
    baseline, _ = read_dataset(ctx, key, args.baseline_version)
    current, _ = read_dataset(ctx, key, args.current_version)
    report = drift_report(baseline, current, FEATURES, args.threshold)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    _err().print(f"{len(report['violations'])} violation(s) written to {args.out}")
    return report


def _baseline(args: argparse.Namespace) -> Any:
    from mlops_blueprint.pipelines.data import default_dataset_key
    from mlops_blueprint.pipelines.drift_stats import write_baseline

    ctx = _context(args, tracking=False)
    result = write_baseline(ctx, args.dataset_key or default_dataset_key(ctx.model), args.data_version)
    _err().print(f"drift baseline of {result['dataset']} (version {result['datasetVersion']}, {result['rows']} rows) "
                 f"written to {result['uri']}")
    return result


def _cleanup(args: argparse.Namespace) -> Any:
    from mlops_blueprint.pipelines.leftovers import cleanup

    ctx = _context(args, tracking=False)
    result = cleanup(ctx, dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    _err().print(f"{verb} {len(result.removed)} resource(s) the pipeline steps created"
                 + (f"; {len(result.failed)} could not be removed: " + "; ".join(result.failed) if result.failed else ""))
    if result.failed:
        raise PipelineError(f"{len(result.failed)} resource(s) could not be removed", result=result)
    return result


# -- parsers -------------------------------------------------------------------------------------------

def _common(parser: argparse.ArgumentParser, *, tracking: bool = True) -> None:
    target = parser.add_argument_group("target stack")
    target.add_argument("--stack", default="dev", help="stack whose outputs to read (default: dev)")
    target.add_argument("--outputs", metavar="FILE",
                        help="stack outputs as JSON (`pulumi stack output --json --show-secrets > FILE`) instead of "
                             "running `pulumi stack output`")
    target.add_argument("--model-name", default=DEFAULT_MODEL,
                        help=f"model family: a key of modelPackageGroupNames/endpointNames (default: {DEFAULT_MODEL})")
    if tracking:
        target.add_argument("--tracking-uri", help="MLflow tracking URI (default: stack output trackingUri or "
                                                   "trackingServerUrl)")
    parser.add_argument("--json", action="store_true", help="print the step's result as JSON on stdout")
    parser.add_argument("--wait-seconds", type=float, default=3600.0, help="bound of waits on the endpoint")
    parser.add_argument("--poll-seconds", type=float, default=15.0, help="polling interval of those waits")
    parser.set_defaults(tracking_uri=None)


def _step(steps: Any, name: str, step: Callable[[argparse.Namespace], Any], about: str, *, tracking: bool = True,
          endpoint: bool = False) -> argparse.ArgumentParser:
    """A ``pipeline`` step's parser: the common options (``--endpoint-name`` for the steps that change
    an endpoint), run by :func:`_run`; the caller adds the step's own options."""
    parser = steps.add_parser(name, help=about)
    _common(parser, tracking=tracking)
    if endpoint:
        _endpoint_option(parser)
    parser.set_defaults(handler=_run(step))
    return parser


def _endpoint_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint-name", metavar="NAME",
                        help="an endpoint the stack does not declare, managed by these steps alone (default: the "
                             "model's entry in endpointNames, which Pulumi owns: there promote/rollback change only "
                             "the model registry and deploy refuses)")


def _weight(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{value} is not in (0, 1]")
    return value


def add_commands(subparsers: Any) -> None:
    """Register ``pipeline`` and ``sandbox`` on ``mlops-blueprint``'s top-level subparsers."""
    pipeline = subparsers.add_parser("pipeline", help="ML lifecycle steps against a stack's outputs",
                                     description="Train, register, deploy, promote, roll back and retrain models "
                                                 "against a stack's outputs.")
    steps = pipeline.add_subparsers(dest="step", required=True, metavar="STEP")

    dataset = _step(steps, "dataset", _dataset, "generate a dataset version and upload it to datasetsBucketName",
                    tracking=False)
    dataset.add_argument("--kind", choices=("baseline", "drifted"), default="baseline")
    dataset.add_argument("--seed", type=int, default=11)
    dataset.add_argument("--dataset-key", help="object key (default: <model>/train.csv)")

    train = _step(steps, "train", _train, "train on a dataset version; log params, metrics, data version, model")
    train.add_argument("--dataset-key", help="object key in datasetsBucketName (default: <model>/train.csv)")
    train.add_argument("--data-version", help="S3 version id to train on (default: the latest)")
    train.add_argument("--param", action="append", metavar="NAME=VALUE",
                       help="hyperparameter of the random forest, e.g. --param max_depth=6 (repeatable)")

    register = _step(steps, "register", _register,
                     "register a run's model in MLflow and as a SageMaker model package")
    register.add_argument("--run-id", help="training run (default: the latest finished run of the model)")
    register.add_argument("--alias", default="challenger", help="alias of the new version (default: challenger)")
    register.add_argument("--image", help="serving image (default: <ecrRepositoryUrls.inference>:<mlflow version>)")
    register.add_argument("--metric", choices=METRIC_CHOICES, default=DEFAULT_METRIC)
    register.add_argument("--min-metric", type=float, help="refuse (exit 1) a run whose metric is below this")

    deploy = _step(steps, "deploy", _deploy, "deploy a version to an endpoint the stack does not declare (canary "
                   "next to the champion); refuses a Pulumi-owned endpoint", endpoint=True)
    deploy.add_argument("--version", help="MLflow version (default: the 'challenger' alias)")
    deploy.add_argument("--canary-weight", type=_weight, default=0.1,
                        help="share of traffic for the new version next to the champion (default 0.1; 1 = replace)")
    deploy.add_argument("--instance-type", help="for new variants (default: the endpoint's current, or ml.m5.large)")
    deploy.add_argument("--instance-count", type=int, help="for new variants (default: the endpoint's current, or 1)")

    promote = _step(steps, "promote", _promote, "metric gate, then the challenger becomes champion: its package is "
                    "approved (Pulumi-owned endpoint: the deploy workflow rolls it out)", endpoint=True)
    promote.add_argument("--version", help="MLflow version (default: the 'challenger' alias)")
    promote.add_argument("--metric", choices=METRIC_CHOICES, default=DEFAULT_METRIC)
    promote.add_argument("--min-improvement", type=float, default=0.0,
                         help="the challenger must beat the champion by more than this")
    promote.add_argument("--min-metric", type=float, help="and reach at least this")

    _step(steps, "rollback", _rollback, "back to the previous champion: its package re-approved, the current one "
          "rejected (endpoints outside the stack: the previous configuration)", endpoint=True)

    retrain = _step(steps, "retrain", _retrain,
                    "on a drift signal: train + register a challenger, promote it if it wins", endpoint=True)
    retrain.add_argument("--drift-report", required=True, metavar="FILE_OR_S3_URI",
                         help="Model Monitor constraint_violations.json, or the drift alarm's EventBridge event "
                              "(shapes: mlops_blueprint.pipelines.drift)")
    retrain.add_argument("--dataset-key", help="object key in datasetsBucketName (default: <model>/train.csv)")
    retrain.add_argument("--param", action="append", metavar="NAME=VALUE", help="hyperparameter (repeatable)")
    retrain.add_argument("--metric", choices=METRIC_CHOICES, default=DEFAULT_METRIC)
    retrain.add_argument("--min-improvement", type=float, default=0.0)
    retrain.add_argument("--canary-weight", type=_weight, default=0.1)
    retrain.add_argument("--no-promote", action="store_true", help="stop at the canary; promote later")
    retrain.add_argument("--image", help="serving image of the package")

    drift_check = _step(steps, "drift-check", _drift_check, "compare two dataset versions; write a violations report "
                        "(a local stand-in for a Model Monitor execution)", tracking=False)
    drift_check.add_argument("--baseline-version", required=True, help="S3 version id of the baseline data")
    drift_check.add_argument("--current-version", help="S3 version id of the current data (default: latest)")
    drift_check.add_argument("--dataset-key", help="object key (default: <model>/train.csv)")
    drift_check.add_argument("--threshold", type=float, default=0.1)
    drift_check.add_argument("--out", default="constraint_violations.json")

    baseline = _step(steps, "baseline", _baseline, "write the drift baseline of a training dataset version to "
                     "s3://<modelsBucketName>/monitoring/<model>/baseline/", tracking=False)
    baseline.add_argument("--dataset-key", help="object key in datasetsBucketName (default: <model>/train.csv)")
    baseline.add_argument("--data-version", help="S3 version id of the training data (default: the latest)")

    cleanup = _step(steps, "cleanup", _cleanup, "remove what the pipeline steps created (endpoint configurations, "
                    "models, endpoints not in the stack); never the stack's own resources", tracking=False)
    cleanup.add_argument("--dry-run", action="store_true", help="list what would be removed, remove nothing")

    sandbox = subparsers.add_parser("sandbox", help="run the whole ML lifecycle locally (moto + MLflow), then stop",
                                    description="Start moto and a real MLflow server on 127.0.0.1, create what the "
                                                "dev stack would, run train → register → deploy → predict → drift → "
                                                "retrain → promote, print a summary (with the plan diff the "
                                                "approval causes for a stack that serves the model from the "
                                                "registry), stop everything.")
    sandbox.add_argument("--model-name", default=DEFAULT_MODEL)
    sandbox.add_argument("--metric", choices=METRIC_CHOICES, default=DEFAULT_METRIC)
    sandbox.add_argument("--canary-weight", type=_weight, default=0.1)
    sandbox.add_argument("--challenger", action="append", choices=("better", "worse"),
                         help="challengers to retrain after the drift, in order (default: better; repeatable)")
    sandbox.add_argument("--rollback", action="store_true", help="finish with a rollback")
    sandbox.add_argument("--llm", action="store_true",
                         help="also serve the dev stack's open-LLM entry (models[].llm) locally: tiny weights "
                              "staged from its S3 prefix on moto, TGI's routes on 127.0.0.1, one /generate")
    sandbox.add_argument("--keep-running", action="store_true",
                         help="after the lifecycle, keep the servers up until Ctrl-C (pipeline commands can target "
                              "<workdir>/outputs.json)")
    sandbox.add_argument("--workdir", help="keep the sandbox's files here (default: a temporary directory, removed)")
    sandbox.add_argument("--startup-timeout", type=float, default=180.0, help="bound of each server's start")
    sandbox.set_defaults(handler=_sandbox)


def _sandbox(args: argparse.Namespace) -> int:
    try:
        from mlops_blueprint.pipelines.sandbox import SandboxOptions, run
    except ImportError as exc:
        _err().print(f"[bold red]error:[/] the sandbox needs the [pipelines] and [dev] extras "
                     f"(pip install -e '.[pipelines,dev]'): {exc}")
        return EXIT_INPUT
    options = SandboxOptions(model=args.model_name, metric=args.metric, canary_weight=args.canary_weight,
                             challengers=tuple(args.challenger or ("better",)), rollback=args.rollback, llm=args.llm,
                             workdir=Path(args.workdir) if args.workdir else None,
                             startup_timeout=args.startup_timeout)
    try:
        return run(options, keep_running=args.keep_running)
    except Exception as exc:  # noqa: BLE001 - every process is already stopped; report and fail
        _err().print(f"[bold red]error:[/] sandbox failed: {type(exc).__name__}: {exc}", highlight=False)
        return EXIT_FAILED


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlops-blueprint", description="ML pipelines and the local sandbox")
    add_commands(parser.add_subparsers(dest="command", required=True))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    collect_less_often()
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
