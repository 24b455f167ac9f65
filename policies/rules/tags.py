"""Mandatory tags on every taggable AWS resource: its own tags plus its provider's default tags.

The inputs the engine sees hold only what the program set, so "has a ``tags`` input" cannot be
read off a resource that relies on default tags alone. :data:`TAGGABLE_TYPES` therefore lists the
taggable types this platform creates (from :mod:`mlops_blueprint.resource_types`; a test checks
each against pulumi-aws's schema); any other ``aws:`` resource that passes a ``tags`` input is
checked too. Providers and component resources have no tags and are exempt.
"""

from __future__ import annotations

from mlops_blueprint.policies.model import (
    ANY_TYPE,
    PolicyContext,
    ResourceView,
    Rule,
    effective_tags,
    is_unknown,
)
from mlops_blueprint.policies.rules._helpers import rule, short_type
from mlops_blueprint.resource_types import taggable_types
from mlops_blueprint.tags import MANDATORY_TAG_KEYS

#: AWS types that take tags, from the resource-type registry (a test checks each against pulumi-aws).
TAGGABLE_TYPES: frozenset[str] = taggable_types()


def is_taggable(resource: ResourceView) -> bool:
    if not resource.type.startswith("aws:"):
        return False  # providers (pulumi:providers:aws), components, other clouds
    return resource.type in TAGGABLE_TYPES or "tags" in resource.props


def _mandatory_tags(resource: ResourceView, ctx: PolicyContext) -> list[str]:
    if not is_taggable(resource):
        return []
    if is_unknown(resource.props.get("tags")) or is_unknown(resource.provider_props.get("defaultTags")):
        return []
    tags = effective_tags(resource)
    missing = [key for key in MANDATORY_TAG_KEYS if tags.get(key) in (None, "")]
    if not missing:
        return []
    return [
        f"{short_type(resource.type)} '{resource.name}' lacks mandatory tags {', '.join(missing)}; "
        "set them in the provider's defaultTags or the resource's tags"
    ]


RULES: tuple[Rule, ...] = (
    rule("mandatory-tags",
         "Taggable AWS resources carry project, environment, component, owner, cost-center and "
         "data-classification (own tags or provider default tags).",
         _mandatory_tags, *ANY_TYPE),
)
