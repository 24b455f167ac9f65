"""How long the test suite takes, as `make test` runs it: wall and CPU seconds per run, and the median.

    .venv/bin/python bench/suite_time.py [--runs 3]

The suite is CPU-bound (two workers, and the processes the sandbox and MLflow tests start), so on a
shared or throttled machine the wall time follows the load while the CPU time shows what the suite
costs. The first run after a clone also writes the byte-code caches; later runs read them.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_run() -> tuple[float, float, int]:
    """Wall and CPU seconds of `make test` (pytest, its workers and every process a test starts)."""
    cpu, start = _children_cpu(), time.perf_counter()
    proc = subprocess.run(["make", "test", "PYTEST_ARGS=-q -p no:cacheprovider"], cwd=REPO, capture_output=True,
                          text=True, check=False, env={**os.environ, "CI": "true"})
    return time.perf_counter() - start, _children_cpu() - cpu, proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    walls, cpus = [], []
    for n in range(1, args.runs + 1):
        wall, cpu, code = one_run()
        print(f"run {n}: {wall:6.1f} s wall, {cpu:6.1f} s CPU, exit {code}", flush=True)
        if code != 0:
            return code
        walls.append(wall)
        cpus.append(cpu)
    print(f"median: {statistics.median(walls):6.1f} s wall, {statistics.median(cpus):6.1f} s CPU "
          f"on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
