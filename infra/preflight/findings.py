"""What one preflight check concluded about one thing in a plan."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CheckResult:
    """One check applied to one subject (a resource, a policy statement, a name)."""

    check: str  # e.g. "iam-action-exists"
    urn: str
    passed: bool
    message: str = ""
    subject: str = ""  # what inside the resource, e.g. "policy Statement[2]" or "bucket"


@dataclass
class PreflightReport:
    """Every check the preflight ran over one plan; failures are the ones AWS would refuse or ignore."""

    results: list[CheckResult] = field(default_factory=list)
    stated: dict[str, str] = field(default_factory=dict)  # catalogue/schema versions checked against

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed]

    def add(self, check: str, urn: str, failure: str | None, subject: str = "") -> None:
        self.results.append(CheckResult(check, urn, failure is None, failure or "", subject))
