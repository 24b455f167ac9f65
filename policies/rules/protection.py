"""Prod protection: stateful resources cannot be deleted by a mistaken `pulumi destroy` or rename."""

from __future__ import annotations

from mlops_blueprint.policies.model import PolicyContext, ResourceView, Rule
from mlops_blueprint.policies.rules._helpers import rule, short_type
from mlops_blueprint.resource_types import stateful_types

#: Types whose deletion loses data (the resource-type registry's ``stateful`` flag).
STATEFUL_TYPES: tuple[str, ...] = tuple(sorted(stateful_types()))


def _protected_in_prod(resource: ResourceView, ctx: PolicyContext) -> list[str]:
    if not ctx.is_prod:
        return []
    # retain_on_delete is None where the engine does not report it (the live analyzer protocol).
    missing = [
        option
        for option, value in (("protect", resource.protect), ("retain_on_delete", resource.retain_on_delete))
        if value is False
    ]
    if not missing:
        return []
    return [
        f"{short_type(resource.type)} '{resource.name}' is stateful and must set "
        f"protect=True and retain_on_delete=True in prod (missing: {', '.join(missing)})"
    ]


RULES: tuple[Rule, ...] = (
    rule("prod-stateful-protection",
         "In prod, stateful resources (buckets, keys, databases, registries, log groups, tracking servers, metric "
         "workspaces) set protect and retain_on_delete.",
         _protected_in_prod, *STATEFUL_TYPES),
)
