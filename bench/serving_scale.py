"""How does serving preview scale with the number of models?

Previews prod's serving defaults for N models (one ServingEndpoint each: model, endpoint
configuration, endpoint, two rollback alarms, an autoscaling target and policy) under
``run_program`` (the recording harness), builds the plan and evaluates the policy pack, and
compares it with the bare mock runtime registering the same number of small resources
(``preview_overhead.bare_mock_runtime``) and with the same program under the SDK's plain
MockMonitor. Marginal cost per resource is the slope between a small and the full model count,
so one-off costs (imports, the event loop, the stack resource) drop out.
Usage: ``python bench/serving_scale.py [--models 200] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_blueprint.components.serving_endpoint import ServingEndpoint, ServingEndpointArgs
from mlops_blueprint.components.serving_endpoint_settings import SERVING_DEFAULTS, ServingEndpointSettings
from mlops_blueprint.context import StackContext
from mlops_blueprint.mock_runtime import MOCK_ACCOUNT_ID, MockRun, PlatformMocks, run_program
from mlops_blueprint.naming import Naming
from mlops_blueprint.plan import build_plan, dumps
from mlops_blueprint.policies.engine import evaluate_plan
from mlops_blueprint.components.served_model_settings import ServedModelSettings
from mlops_blueprint.tags import Tagging

PROJECT, STACK, REGION = "mlops-platform", "prod", "us-east-1"


def _sibling(name: str) -> ModuleType:
    """``bench/<name>.py`` (bench is scripts, not a package), for reusing its helpers."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def context() -> StackContext:
    return StackContext(
        naming=Naming(project=PROJECT, environment=STACK, account_id=MOCK_ACCOUNT_ID, region=REGION),
        tagging=Tagging(project=PROJECT, environment=STACK, owner="ml-platform", cost_center="cc-1234",
                        data_classification="confidential"),
    )


def models(count: int) -> list[ServedModelSettings]:
    return [ServedModelSettings(name=f"model-{i:03d}", image=f"inference:1.{i}.0",
                        model_data_url=f"s3://mlops-platform-prod-models-{MOCK_ACCOUNT_ID}-{REGION}/model-{i:03d}/model.tar.gz")
            for i in range(count)]


def serving_program(count: int) -> Callable[[], None]:
    """N models wired as the stack wires them (literal role/network/bucket/key values)."""
    ctx, serving, configs = context(), ServingEndpointSettings.model_validate(SERVING_DEFAULTS[STACK]), models(count)
    role = f"arn:aws:iam::{MOCK_ACCOUNT_ID}:role/mlops-platform-prod-serving"
    key = f"arn:aws:kms:{REGION}:{MOCK_ACCOUNT_ID}:key/data-key"
    bucket = f"mlops-platform-prod-models-{MOCK_ACCOUNT_ID}-{REGION}"

    def program() -> None:
        provider = aws.Provider("aws", region=REGION, default_tags={"tags": ctx.tagging.default_tags()})
        opts = pulumi.ResourceOptions(providers={"aws": provider})
        for model in configs:
            ServingEndpoint(model.name, ServingEndpointArgs(
                context=ctx, model=model, settings=serving, execution_role_arn=role,
                subnet_ids=["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
                security_group_ids=["sg-0ccccccccccccccccc"], models_bucket_name=bucket, kms_key_arn=key), opts)

    return program


def preview_models(count: int) -> MockRun:
    """The recorded run of ``count`` models (what the scale test checks)."""
    return run_program(serving_program(count), stack=STACK, project=PROJECT, region=REGION)


def preview(count: int) -> tuple[float, int, int]:
    """Seconds for run + plan + policies + JSON; registrations (stack excluded); mandatory findings."""
    start = time.perf_counter()
    run = preview_models(count)
    plan = build_plan(run)
    findings = evaluate_plan(plan)
    dumps(plan)
    elapsed = time.perf_counter() - start
    registered = sum(1 for r in run.registrations if r.type != "pulumi:pulumi:Stack")
    return elapsed, registered, sum(f["enforcement"] == "mandatory" for f in findings)


def plain_monitor(count: int) -> float:
    """Seconds for the same program under the SDK's own MockMonitor (no recording, no plan)."""
    return _sibling("preview_overhead")._timed_run(PlatformMocks(region=REGION), PROJECT, STACK, serving_program(count))


def median(measure: Callable[[], Any], repeat: int) -> float:
    return statistics.median(measure() for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--small", type=int, default=20, help="model count of the slope's lower point")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    bare_mock_runtime = _sibling("preview_overhead").bare_mock_runtime

    preview(2)  # warm imports and caches (pulumi_aws loads its modules lazily)
    _, count, findings = preview(args.models)
    _, small_count, _ = preview(args.small)
    full = median(lambda: preview(args.models)[0], args.repeat)
    small = median(lambda: preview(args.small)[0], args.repeat)
    plain = median(lambda: plain_monitor(args.models), args.repeat)
    bare_full = median(lambda: bare_mock_runtime(count), args.repeat)
    bare_small = median(lambda: bare_mock_runtime(small_count), args.repeat)

    ours_slope = (full - small) / (count - small_count)
    bare_slope = (bare_full - bare_small) / (count - small_count)
    print(f"{args.models} models (prod defaults): {count} registrations, {findings} mandatory findings, "
          f"median of {args.repeat}")
    print(f"  preview (program + plan + policies + JSON): {full:6.2f} s  ({full / count * 1e3:.2f} ms per registration)")
    print(f"  same program, plain MockMonitor:            {plain:6.2f} s  ({plain / count * 1e3:.2f} ms per registration)")
    print(f"  bare mock runtime, {count} small resources: {bare_full:6.2f} s  ({bare_full / count * 1e3:.2f} ms per registration)")
    print(f"  marginal cost per resource ({args.small} -> {args.models} models): preview {ours_slope * 1e3:.2f} ms, "
          f"bare {bare_slope * 1e3:.2f} ms, ratio {ours_slope / bare_slope:.2f}x")
    print(f"  per model: {(full - small) / (args.models - args.small) * 1e3:.1f} ms "
          f"({count // args.models} registrations each)")


if __name__ == "__main__":
    main()
