"""Run every scanner over one stack's offline plan (and the CI templates), apply suppressions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_blueprint.check.suppressions import Suppression
from mlops_blueprint.plan import mandatory_findings
from mlops_blueprint.preflight.findings import CheckResult


@dataclass(frozen=True)
class Outcome:
    scanner: str
    result: CheckResult
    suppressed_by: Suppression | None = None

    @property
    def status(self) -> str:
        return "passed" if self.result.passed else "suppressed" if self.suppressed_by else "failed"


@dataclass
class CheckReport:
    stack: str
    outcomes: list[Outcome] = field(default_factory=list)
    stated: dict[str, str] = field(default_factory=dict)
    unused_suppressions: list[Suppression] = field(default_factory=list)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def counts(self) -> dict[str, dict[str, int]]:
        table: dict[str, dict[str, int]] = {}
        for outcome in self.outcomes:
            row = table.setdefault(outcome.scanner, {"passed": 0, "failed": 0, "suppressed": 0})
            row[outcome.status] += 1
        return table

    def to_json(self) -> dict[str, Any]:
        # Suppressions that matched nothing here (some apply to other stacks or variants only).
        unused = [{"scanner": s.scanner, "check": s.check, "subject": s.subject} for s in self.unused_suppressions]
        return {"stack": self.stack, "summary": self.counts(), "stated": self.stated, "unusedSuppressions": unused,
                "results": [{"scanner": o.scanner, "check": o.result.check, "subject": o.result.subject,
                             "urn": o.result.urn, "status": o.status, "message": o.result.message,
                             **({"reason": o.suppressed_by.reason} if o.suppressed_by else {})}
                            for o in self.outcomes]}


def policy_pack_results(plan: dict[str, Any]) -> list[CheckResult]:
    """The pack's findings already in the plan: mandatory ones fail; every rule with none passes."""
    from mlops_blueprint.policies.rules import ALL_RULES

    mandatory = mandatory_findings(plan)
    failing = {f["policy"] for f in mandatory}
    return ([CheckResult(f["policy"], f["urn"], False, f["message"], f["urn"].rsplit("::", 1)[-1]) for f in mandatory]
            + [CheckResult(r.name, "", True, "", r.name) for r in ALL_RULES if r.name not in failing])


def scanners_for_plan(plan: dict[str, Any], stated: dict[str, str]) -> dict[str, Callable[[], list[CheckResult]]]:
    from mlops_blueprint.check.checkov_scan import run_checkov
    from mlops_blueprint.check.cloudsplaining_scan import scan_roles
    from mlops_blueprint.preflight.run import run_preflight

    def preflight() -> list[CheckResult]:
        report = run_preflight(plan)
        stated.update(report.stated)
        return report.results

    return {"preflight": preflight, "policy-pack": lambda: policy_pack_results(plan),
            "checkov": lambda: run_checkov(plan), "cloudsplaining": lambda: scan_roles(plan)}


def scanners_for_templates(root: Path | None = None) -> dict[str, Callable[[], list[CheckResult]]]:
    from mlops_blueprint.check.ci_templates import REPO_ROOT, github_workflows, run_schemas, run_zizmor

    base = root or REPO_ROOT
    return {"zizmor": lambda: run_zizmor(github_workflows(base)), "jsonschema": lambda: run_schemas(base)}


def run_scanners(stack: str, scanners: dict[str, Callable[[], list[CheckResult]]],
                 suppressions: list[Suppression], stated: dict[str, str] | None = None) -> CheckReport:
    report = CheckReport(stack, stated=stated if stated is not None else {})
    used: set[Suppression] = set()
    for scanner, run in scanners.items():
        for result in run():
            match = None
            if not result.passed:
                match = next((s for s in suppressions if s.matches(scanner, result.check, result.subject, stack)), None)
                if match:
                    used.add(match)
            report.outcomes.append(Outcome(scanner, result, match))
    report.unused_suppressions = [s for s in suppressions if s not in used]
    return report
