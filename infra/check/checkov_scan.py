"""checkov over the plan exported in Terraform's plan shape, run offline.

checkov pins old versions of boto3 and packaging that the [pipelines] extra cannot share, so it
lives in its own virtualenv (``make check-tools`` puts one at ``.venv/checkov``); ``CHECKOV``
names another executable.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from mlops_blueprint.check.terraform_plan import address_names, to_terraform_plan
from mlops_blueprint.preflight.findings import CheckResult


class ScannerMissing(RuntimeError):
    """A scanner is not installed: the message says how to install it."""


def checkov_executable() -> str:
    candidates = [os.environ.get("CHECKOV"), str(Path(sys.prefix) / "checkov" / "bin" / "checkov"),
                  shutil.which("checkov")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    raise ScannerMissing("checkov is not installed: run `make check-tools` (a virtualenv at .venv/checkov) "
                         "or set CHECKOV to its executable")


def _offline_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BC_API_KEY", "PRISMA_"))}
    # No platform API key, no guideline download, no version check: nothing leaves the machine.
    env.update(BC_SKIP_MAPPING="TRUE", CHECKOV_NO_VERSION_CHECK="TRUE", CKV_NO_VERSION_CHECK="TRUE",
               LOG_LEVEL="ERROR")
    return env


def run_checkov(plan: dict[str, Any]) -> list[CheckResult]:
    return run_checkov_many({"plan": plan})["plan"]


def run_checkov_many(plans: dict[str, dict[str, Any]]) -> dict[str, list[CheckResult]]:
    """checkov over several plans in one process (its start-up dominates), results per plan."""
    by_address = {key: {address: urn for urn, address in address_names(plan).items()} for key, plan in plans.items()}
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for i, (key, plan) in enumerate(plans.items()):
            path = Path(tmp) / f"plan-{i}.json"
            path.write_text(json.dumps(to_terraform_plan(plan)))
            files[path.name] = key
        proc = subprocess.run(
            [checkov_executable(), "--framework", "terraform_plan", "--skip-download",
             "--output", "json", "--compact", "-f", *(str(Path(tmp) / name) for name in files)],
            capture_output=True, text=True, env=_offline_env(), check=False, cwd=tmp)
    try:
        if proc.returncode not in (0, 1):  # 1: checks failed; anything else: checkov did not run
            raise json.JSONDecodeError("checkov did not run", "", 0)
        output = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise RuntimeError(f"checkov failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}") from None
    reports = output if isinstance(output, list) else [output]
    results: dict[str, list[CheckResult]] = {key: [] for key in plans}
    for report in reports:
        if not isinstance(report, dict) or "results" not in report:
            continue  # e.g. an empty plan: checkov prints a bare summary
        for passed, kind in ((True, "passed_checks"), (False, "failed_checks")):
            for check in report["results"].get(kind, []):
                key = files[Path(check["file_path"]).name]
                address = check["resource"]
                results[key].append(CheckResult(check["check_id"], by_address[key].get(address, address), passed,
                                                "" if passed else f"{address}: {check['check_name']}", address))
    return results
