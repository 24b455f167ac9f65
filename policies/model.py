"""The vocabulary shared by every rule: a resource as the policies see it, the context, a rule.

Rules are written once against :class:`ResourceView` and run in two places: the real
``pulumi preview --policy-pack policies/`` (via :mod:`mlops_blueprint.policies.pack_adapter`) and
the offline evaluator over the plan JSON (via :mod:`mlops_blueprint.policies.engine`). Neither
pulumi nor pulumi_policy is imported here, so the offline path needs neither.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any, Final, Literal

Enforcement = Literal["mandatory", "advisory"]
ENFORCEMENTS: Final[tuple[str, ...]] = ("mandatory", "advisory")
ENVIRONMENTS: Final[tuple[str, ...]] = ("dev", "staging", "prod")
ANY_TYPE: Final[tuple[str, ...]] = ("*",)
"""``resource_types`` of a rule that looks at every resource (it filters by itself)."""


class Sentinel(Enum):
    """Base of one-value marker types: an enum member is one instance, kept by copies and pickles,
    and reads as its value."""

    def __repr__(self) -> str:
        return str(self.value)

    __str__ = __repr__


class _Unknown(Sentinel):
    """A value the engine cannot know yet (during preview, e.g. the ARN of a resource to create)."""

    UNKNOWN = "UNKNOWN"


UNKNOWN: Final = _Unknown.UNKNOWN

# The engine's wire sentinels for unknown values (pulumi's gRPC protocol; same strings in every SDK).
UNKNOWN_SENTINELS: Final[frozenset[str]] = frozenset(
    {
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",  # bool
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",  # number
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9",  # string (also pulumi.runtime.rpc.UNKNOWN)
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",  # array
        "030794c1-ac77-496b-92df-f27374a8bd58",  # asset
        "e48ece36-62e2-4504-bad9-02848725956a",  # archive
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",  # object
    }
)


def is_unknown(value: object) -> bool:
    """True for a value that only the deployment will tell (rules then neither pass nor fail it)."""
    return value is UNKNOWN


def normalize(value: Any, sentinels: frozenset[str] = UNKNOWN_SENTINELS) -> Any:
    """Plain dicts/lists with every unknown marker (one of ``sentinels``) replaced by :data:`UNKNOWN`.

    Accepts any Mapping/Sequence, so rules only ever see ``dict``, ``list``, scalars and ``UNKNOWN``.
    """
    if isinstance(value, str):
        return UNKNOWN if value in sentinels else value
    if isinstance(value, Mapping):
        return {str(k): normalize(value[k], sentinels) for k in value}
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        return [normalize(value[i], sentinels) for i in range(len(value))]
    return value


@dataclass(frozen=True)
class ResourceView:
    """One resource as a rule sees it: type, camelCase inputs and the options that matter.

    ``retain_on_delete`` is ``None`` where the source cannot tell: pulumi's analyzer protocol
    does not carry that option, so only the offline plan knows it. ``id`` (mock id) and
    ``property_dependencies`` let cross-resource rules match ``bucket = other.id`` references.
    """

    urn: str
    type: str
    name: str
    props: Mapping[str, Any]
    protect: bool = False
    retain_on_delete: bool | None = False
    parent: str | None = None
    dependencies: tuple[str, ...] = ()
    provider_props: Mapping[str, Any] = field(default_factory=dict)
    id: str | None = None
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def prop(self, *path: str | int) -> Any:
        """The input at ``path`` (keys/indexes), or None when any step is missing."""
        value: Any = self.props
        for step in path:
            if isinstance(step, int) and isinstance(value, list) and -len(value) <= step < len(value):
                value = value[step]
            elif isinstance(step, str) and isinstance(value, dict):
                value = value.get(step)
            else:
                return None
        return value


@dataclass(frozen=True)
class PolicyContext:
    """What a rule may depend on besides the resource: its environment and org-wide settings."""

    environment: str
    permissions_boundary_arn: str | None = None

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"


@dataclass(frozen=True)
class Finding:
    """One violation, shaped like an entry of the plan JSON's ``findings``."""

    policy: str
    enforcement: str
    urn: str
    message: str

    @property
    def sort_key(self) -> tuple[str, str, str]:
        return (self.policy, self.urn, self.message)

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


ContextFor = Callable[[ResourceView], PolicyContext]
ResourceCheck = Callable[[ResourceView, PolicyContext], list[str]]
StackCheck = Callable[[Sequence[ResourceView], ContextFor], list[tuple[str, str]]]


def own_tags(resource: ResourceView) -> dict[str, Any]:
    """The resource's own ``tags`` input (empty when absent or unknown)."""
    tags = resource.props.get("tags")
    return dict(tags) if isinstance(tags, dict) else {}


def provider_default_tags(resource: ResourceView) -> dict[str, Any]:
    """``defaultTags.tags`` of the resource's aws provider.

    Provider inputs carry nested config JSON-encoded (pulumi_aws sends
    ``defaultTags`` as ``'{"tags": {...}}'``), so both a string and a dict are accepted.
    """
    default_tags = resource.provider_props.get("defaultTags")
    if isinstance(default_tags, str):
        try:
            default_tags = json.loads(default_tags)
        except ValueError:
            return {}
    tags = default_tags.get("tags") if isinstance(default_tags, dict) else None
    return dict(tags) if isinstance(tags, dict) else {}


def effective_tags(resource: ResourceView) -> dict[str, Any]:
    """Tags AWS will apply: the provider's default tags overridden by the resource's own."""
    return {**provider_default_tags(resource), **own_tags(resource)}


def environment_of(resource: ResourceView, default: str) -> str:
    """The ``environment`` tag (own tags first, then provider default tags), else ``default``."""
    value = effective_tags(resource).get("environment")
    return value if isinstance(value, str) and value else default


def context_factory(default_environment: str, permissions_boundary_arn: str | None = None) -> ContextFor:
    """A :data:`ContextFor` deriving each resource's environment from its tags."""

    def ctx_for(resource: ResourceView) -> PolicyContext:
        return PolicyContext(environment_of(resource, default_environment), permissions_boundary_arn)

    return ctx_for


_RULE_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Rule:
    """One guardrail: either a per-resource ``check`` or a cross-resource ``check_stack``.

    ``resource_types`` lists the exact type tokens a resource check looks at (``ANY_TYPE`` for
    all). ``config_schema`` (JSON-schema properties) is what the real pack lets users configure.
    """

    name: str
    description: str
    enforcement: Enforcement
    check: ResourceCheck | None = None
    resource_types: tuple[str, ...] = ()
    check_stack: StackCheck | None = None
    config_schema: Mapping[str, Mapping[str, Any]] | None = None

    def __post_init__(self) -> None:
        if not _RULE_NAME.match(self.name):
            raise ValueError(f"rule name {self.name!r} is not kebab-case")
        if self.enforcement not in ENFORCEMENTS:
            raise ValueError(f"rule {self.name!r}: enforcement must be one of {ENFORCEMENTS}")
        if not self.description:
            raise ValueError(f"rule {self.name!r} needs a description")
        if (self.check is None) == (self.check_stack is None):
            raise ValueError(f"rule {self.name!r} needs exactly one of check / check_stack")
        if self.check is not None and not self.resource_types:
            raise ValueError(f"rule {self.name!r}: a resource check needs resource_types")

    @property
    def is_stack_rule(self) -> bool:
        return self.check_stack is not None

    def applies_to(self, resource_type: str) -> bool:
        return self.resource_types == ANY_TYPE or resource_type in self.resource_types
