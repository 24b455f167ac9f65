"""The plan JSON: what one offline run of the program would ask the engine to create.

The shape is a contract (ARCHITECTURE.md, "Plan JSON"): the diff command, the golden snapshots,
CI and the policy engine read it. Resources are sorted by urn and keys are sorted, so two plans
of the same code and config are byte-identical.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_blueprint.mock_runtime import MockRun, Registration


def resource_entry(registration: Registration) -> dict[str, Any]:
    return {
        "urn": registration.urn,
        "type": registration.type,
        "name": registration.name,
        "id": registration.id,
        "custom": registration.custom,
        "parent": registration.parent,
        "dependencies": registration.dependencies,
        "propertyDependencies": registration.property_dependencies,
        "provider": registration.provider,
        "protect": registration.protect,
        "retainOnDelete": registration.retain_on_delete,
        "deleteBeforeReplace": registration.delete_before_replace,
        "inputs": registration.inputs,
        "outputs": registration.outputs,
    }


def build_plan(run: MockRun, findings: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "stack": run.stack,
        "project": run.project,
        "resources": [resource_entry(r) for r in sorted(run.registrations, key=lambda r: r.urn)],
        "outputs": run.outputs,
        "findings": list(findings or []),
    }


def dumps(plan: dict[str, Any]) -> str:
    """Stable text: sorted keys, two-space indent, trailing newline."""
    return json.dumps(plan, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_plan(plan: dict[str, Any], path: str | Path) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(dumps(plan), encoding="utf-8")
    return target


def mandatory_findings(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The policy findings of ``plan`` that fail a preview (enforcement ``mandatory``)."""
    return [f for f in plan["findings"] if f["enforcement"] == "mandatory"]


@dataclass(frozen=True)
class Previewed:
    """What an offline preview recorded, and the plan built from it."""

    run: MockRun
    plan: dict[str, Any]

    @property
    def mandatory_findings(self) -> list[dict[str, Any]]:
        return mandatory_findings(self.plan)
