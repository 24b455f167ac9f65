"""The offline evaluator: the pack's rules over the plan JSON the offline preview writes.

Same rules, same messages as ``pulumi preview --policy-pack policies/``; only the way resources
reach them differs (plan entries here, the analyzer protocol in :mod:`.pack_adapter`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mlops_blueprint.policies.model import (
    UNKNOWN_SENTINELS,
    ContextFor,
    Finding,
    ResourceView,
    Rule,
    context_factory,
    normalize,
)
from mlops_blueprint.policies.rules import ALL_RULES

PROVIDER_TYPE_PREFIX = "pulumi:providers:"
PLAN_UNKNOWN = "[unknown]"
"""How the plan JSON spells a value unknown at preview time (``mock_runtime._jsonable``)."""
_PLAN_SENTINELS = UNKNOWN_SENTINELS | {PLAN_UNKNOWN}


def evaluate(
    resources: Sequence[ResourceView],
    ctx_for: ContextFor,
    rules: Sequence[Rule] = ALL_RULES,
) -> list[Finding]:
    """Run every rule over ``resources``; findings sorted by (policy, urn, message)."""
    findings: set[Finding] = set()
    for rule in rules:
        if rule.check_stack is not None:
            for urn, message in rule.check_stack(resources, ctx_for):
                findings.add(Finding(rule.name, rule.enforcement, urn, message))
            continue
        assert rule.check is not None
        for resource in resources:
            if rule.applies_to(resource.type):
                for message in rule.check(resource, ctx_for(resource)):
                    findings.add(Finding(rule.name, rule.enforcement, resource.urn, message))
    return sorted(findings, key=lambda f: f.sort_key)


def provider_urn(reference: str | None) -> str | None:
    """The URN part of a provider reference ``"<provider urn>::<provider id>"``."""
    if not reference or "::" not in reference:
        return None
    return reference.rsplit("::", 1)[0]


def views_from_plan(plan: Mapping[str, Any]) -> list[ResourceView]:
    """A view per custom, non-provider resource of the plan, with its provider's inputs resolved."""
    entries: list[Mapping[str, Any]] = list(plan.get("resources") or [])
    by_urn = {entry["urn"]: entry for entry in entries}
    views: list[ResourceView] = []
    for entry in entries:
        if not entry.get("custom") or str(entry["type"]).startswith(PROVIDER_TYPE_PREFIX):
            continue
        provider = by_urn.get(provider_urn(entry.get("provider")) or "")
        views.append(
            ResourceView(
                urn=entry["urn"],
                type=entry["type"],
                name=entry["name"],
                props=normalize(entry.get("inputs") or {}, _PLAN_SENTINELS),
                protect=bool(entry.get("protect")),
                retain_on_delete=bool(entry.get("retainOnDelete")),
                parent=entry.get("parent"),
                dependencies=tuple(entry.get("dependencies") or ()),
                provider_props=normalize(provider.get("inputs") or {}, _PLAN_SENTINELS) if provider else {},
                id=entry.get("id"),
                property_dependencies={
                    key: tuple(urns) for key, urns in (entry.get("propertyDependencies") or {}).items()
                },
            )
        )
    return views


def evaluate_plan(plan: Mapping[str, Any], permissions_boundary_arn: str | None = None) -> list[dict[str, str]]:
    """Findings for a plan as plan-JSON dicts; a resource without an environment tag gets the stack's."""
    ctx_for = context_factory(str(plan.get("stack") or ""), permissions_boundary_arn)
    return [f.to_dict() for f in evaluate(views_from_plan(plan), ctx_for)]


def has_mandatory(findings: Sequence[Finding] | Sequence[Mapping[str, str]]) -> bool:
    """Whether any finding blocks a deployment (what exit code 1 of the CLI means)."""
    return any(
        (f.enforcement if isinstance(f, Finding) else f.get("enforcement")) == "mandatory" for f in findings
    )
