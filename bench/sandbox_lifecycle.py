"""How long the sandbox takes: start-up (dev preview, moto, MLflow server) and each lifecycle step.

    .venv/bin/python bench/sandbox_lifecycle.py [--runs 3] [--challenger worse --challenger better] [--rollback]

Prints one line per run and the median of each step. Needs the [pipelines] and [dev] extras.
Figures depend on the machine (the MLflow server's start dominates); they are measured here, not
asserted in tests.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console

from mlops_blueprint.pipelines.sandbox import Sandbox, SandboxOptions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--challenger", action="append", choices=("better", "worse"))
    parser.add_argument("--rollback", action="store_true")
    args = parser.parse_args()
    quiet = Console(stderr=True, quiet=True)
    rows: list[dict[str, float]] = []
    for run in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory(prefix="mlops-bench-") as tmp:
            options = SandboxOptions(challengers=tuple(args.challenger or ("better",)), rollback=args.rollback,
                                     workdir=Path(tmp))
            began = time.monotonic()
            with Sandbox(options, quiet) as sandbox:
                result = sandbox.run_lifecycle()
                startup = sandbox.startup_seconds
            row = {"start-up": startup, **result.timings, "shutdown": 0.0}
            row["shutdown"] = time.monotonic() - began - startup - result.seconds
            row["total"] = time.monotonic() - began
        rows.append(row)
        print(f"run {run}: " + ", ".join(f"{k} {v:.2f}s" for k, v in row.items()), flush=True)
    print("median: " + ", ".join(f"{k} {statistics.median(r[k] for r in rows):.2f}s" for k in rows[0]))


if __name__ == "__main__":
    main()
