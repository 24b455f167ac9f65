"""The preflight stage: every check of this package over one plan."""

from __future__ import annotations

from typing import Any

from mlops_blueprint.preflight.findings import PreflightReport
from mlops_blueprint.preflight.iam_policies import check_policies
from mlops_blueprint.preflight.kubernetes_schema import check_kubernetes
from mlops_blueprint.preflight.names import check_names


def run_preflight(plan: dict[str, Any]) -> PreflightReport:
    """What AWS (and the Kubernetes API) would refuse or silently ignore in ``plan``."""
    report = PreflightReport()
    check_names(plan, report)
    check_policies(plan, report)
    check_kubernetes(plan, report)
    return report
