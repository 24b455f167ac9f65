"""How much does the offline preview cost over the bare Pulumi mock runtime?

Times ``preview --stack <stack>`` (config, program, plan, policies, JSON) against two baselines:
the SDK's plain ``set_mocks`` + ``MockMonitor`` registering the same number of resources with
small inputs (the floor), and the same program under the plain ``MockMonitor`` (so the recording
monitor's own cost shows apart from what pulumi_aws's resource classes cost the SDK). Prints
medians and ratios. Usage: ``python bench/preview_overhead.py [--stack prod] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import time

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings
from pulumi.runtime.stack import run_in_stack

from mlops_blueprint.config import PROJECT
from mlops_blueprint.mock_runtime import PlatformMocks
from mlops_blueprint.plan import dumps
from mlops_blueprint.preview import _run_main, load_stack_file, run_preview, stack_file


class _EchoMocks(pulumi_mocks.Mocks):
    def new_resource(self, args):
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args):
        return {}


def _timed_run(mocks: pulumi_mocks.Mocks, project: str, stack: str, program) -> float:
    """Seconds for ``program`` under the SDK's own MockMonitor, in a fresh loop and root stack."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    pulumi_mocks.set_mocks(mocks, project=project, stack=stack, preview=False)
    settings.ROOT.set(None)
    try:
        start = time.perf_counter()
        loop.run_until_complete(run_in_stack(program))
        return time.perf_counter() - start
    finally:
        settings.ROOT.set(None)
        asyncio.set_event_loop(None)
        loop.close()


def bare_mock_runtime(count: int) -> float:
    """Seconds for the unmodified mock runtime to register ``count`` small resources."""

    def program() -> None:
        for i in range(count):
            pulumi.CustomResource("bench:index:Thing", f"thing-{i}", {"value": i, "tags": {"k": "v"}})

    return _timed_run(_EchoMocks(), "bench", "bench", program)


def program_under_plain_monitor(stack: str) -> float:
    """Seconds for the real program under the SDK's own MockMonitor (no recording, no plan)."""
    config = {k: v if isinstance(v, str) else json.dumps(v) for k, v in load_stack_file(stack_file(stack)).items()}
    pulumi.runtime.set_all_config(config, [])
    try:
        return _timed_run(PlatformMocks(), PROJECT, stack, _run_main)
    finally:
        pulumi.runtime.set_all_config({}, [])


def preview(stack: str) -> tuple[float, int]:
    start = time.perf_counter()
    result = run_preview(stack)
    dumps(result.plan)
    elapsed = time.perf_counter() - start
    registered = sum(1 for r in result.plan["resources"] if r["type"] != "pulumi:pulumi:Stack")
    return elapsed, registered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="prod")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # program warnings (e.g. CI without a boundary) are not the subject here

    preview(args.stack)  # warm imports and caches
    previews, count = [], 0
    for _ in range(args.repeat):
        elapsed, count = preview(args.stack)
        previews.append(elapsed)
    bare_mock_runtime(count)
    bares = [bare_mock_runtime(count) for _ in range(args.repeat)]
    plains = [program_under_plain_monitor(args.stack) for _ in range(args.repeat)]

    preview_median, bare_median, plain_median = statistics.median(previews), statistics.median(bares), statistics.median(plains)
    print(f"stack {args.stack}: {count} registrations, {args.repeat} runs each")
    print(f"  preview (config + program + plan + policies + JSON): median {preview_median * 1000:.0f} ms")
    print(f"  bare mock runtime, same number of resources:         median {bare_median * 1000:.0f} ms")
    print(f"  same program, plain MockMonitor (no recording/plan):  median {plain_median * 1000:.0f} ms")
    print(f"  ratio preview / bare: {preview_median / bare_median:.2f}x")
    print(f"  ratio preview / same program unrecorded: {preview_median / plain_median:.2f}x")
    print(f"  per registration: preview {preview_median / count * 1e3:.2f} ms, bare {bare_median / count * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
