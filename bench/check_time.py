"""How long `mlops-blueprint check` takes per stack: the median of a few runs, printed.

Each run is the whole command in a fresh process (preview, preflight, policy pack, checkov,
cloudsplaining; the CI templates once, in their own row), as CI runs it.

    .venv/bin/python bench/check_time.py [--runs 3] [--stacks dev staging prod]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time

CLI = [sys.executable, "-m", "mlops_blueprint.cli", "check"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(args: list[str]) -> tuple[float, float, int]:
    """Wall and CPU seconds (the command and its scanner subprocesses) of one run, and its exit code.
    On a shared machine the wall time follows the load; the CPU time is what the run costs."""
    cpu, start = _children_cpu(), time.perf_counter()
    proc = subprocess.run(CLI + args, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, _children_cpu() - cpu, proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--stacks", nargs="+", default=["dev", "staging", "prod"])
    args = parser.parse_args()
    rows = [(stack, ["--stack", stack, "--no-templates"]) for stack in args.stacks]
    rows.append(("CI templates (zizmor, schemas) + dev", ["--stack", "dev"]))
    print(f"{'what':<40} {'wall median s':>13} {'min':>6} {'max':>6} {'CPU median s':>13}  exit  ({args.runs} runs)")
    for label, cli_args in rows:
        walls, cpus, codes = zip(*(timed(cli_args) for _ in range(args.runs)))
        print(f"{label:<40} {statistics.median(walls):13.1f} {min(walls):6.1f} {max(walls):6.1f} "
              f"{statistics.median(cpus):13.1f}  {sorted(set(codes))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
