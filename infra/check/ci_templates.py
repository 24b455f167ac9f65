"""The CI templates (not per stack): zizmor, offline, and check-jsonschema's vendored GitHub Actions
and GitLab CI schemas."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from mlops_blueprint.check.checkov_scan import ScannerMissing
from mlops_blueprint.preflight.findings import CheckResult

REPO_ROOT = Path(__file__).resolve().parents[2]


def github_workflows(root: Path = REPO_ROOT) -> list[Path]:
    return sorted((root / ".github" / "workflows").glob("*.y*ml"))


def gitlab_ci(root: Path = REPO_ROOT) -> list[Path]:
    return [p for p in [root / ".gitlab-ci.yml"] if p.is_file()]


def _tool(name: str) -> str:
    # Installed with the [check] extra next to this interpreter (console scripts of the venv).
    found = Path(sys.executable).with_name(name)
    path = str(found) if found.is_file() else shutil.which(name)
    if not path:
        raise ScannerMissing(f"{name} is not installed: pip install -e '.[check]'")
    return path


def run_zizmor(workflows: list[Path]) -> list[CheckResult]:
    """One result per finding, and a pass per workflow without any."""
    if not workflows:
        return []
    proc = subprocess.run([_tool("zizmor"), "--offline", "--no-progress", "--format", "json", *map(str, workflows)],
                          capture_output=True, text=True, check=False)
    try:
        findings = json.loads(proc.stdout or "[]")
    except json.JSONDecodeError:
        raise RuntimeError(f"zizmor failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}") from None
    results, dirty = [], set()
    for finding in findings:
        location = finding["locations"][0]
        local = location["symbolic"]["key"]["Local"]
        path = local.get("given_path") or local.get("verbatim_path") or local.get("prefix", "?")
        line = location["concrete"]["location"]["start_point"]["row"] + 1
        severity = finding["determinations"]["severity"].lower()
        dirty.add(str(Path(path).resolve()))
        results.append(CheckResult(finding["ident"], f"{Path(path).name}:{line}", False,
                                   f"{Path(path).name}:{line}: {finding['desc']} ({severity})", Path(path).name))
    results += [CheckResult("zizmor", w.name, True, "", w.name) for w in workflows if str(w.resolve()) not in dirty]
    return results


SCHEMAS = {"github-workflows": "vendor.github-workflows", "gitlab-ci": "vendor.gitlab-ci"}


def run_schemas(root: Path = REPO_ROOT) -> list[CheckResult]:
    """Each template against its vendor schema (shipped inside check-jsonschema: no download)."""
    results = []
    for kind, files in (("github-workflows", github_workflows(root)), ("gitlab-ci", gitlab_ci(root))):
        for path in files:
            proc = subprocess.run([_tool("check-jsonschema"), "--builtin-schema", SCHEMAS[kind],
                                   "--output-format", "text", str(path)],
                                  capture_output=True, text=True, check=False)
            message = "" if proc.returncode == 0 else f"{path.name}: {(proc.stdout + proc.stderr).strip()[-1500:]}"
            results.append(CheckResult(f"schema-{kind}", path.name, proc.returncode == 0, message, path.name))
    return results
