"""One registry of the resource types the platform's components register (AWS and Kubernetes).

For each Pulumi type token: the IAM actions the engine calls to create, update, delete and tag a
resource of that type (and the reads a refresh needs), whether deleting it loses data, whether it
takes tags, which inputs force its replacement, how the CI deploy role fences it, and which ARN IAM
authorizes its actions on. Everything else derives from here:

- the CI deploy policy (:mod:`mlops_blueprint.components.ci_trust`),
- the prod protection rule and the taggable list of the policy pack,
- the plan diff's stateful types and replacement table (:mod:`mlops_blueprint.diff`).

**Replacement inputs** are the ForceNew (or ``RequiresReplace``) attributes of the resource in
``hashicorp/terraform-provider-aws``, which pulumi-aws v7 is bridged from, renamed to the camelCase
inputs the engine receives. Each entry's ``source`` names the file and commit of the provider
that was read (``internal/service/<svc>/<resource>.go``; the search index holds one revision
per file, so commits differ between entries, and an older revision may lack a newer attribute:
the entry says so where the table keeps one it could not confirm). Nested ForceNew blocks are
dotted paths (list indexes ignored): ``deploymentConfig.autoRollbackConfiguration``. ``"*"`` means every input except tags (the
resource has no update but tags). Kubernetes objects are replaced when their name or namespace
changes.

**Fences** say how the CI deploy role may touch the type:

- ``name``: ARNs carry the resource's name, so writes are scoped to ``<project>-<environment>-*``;
- ``tag``: ARNs carry random ids; created only with this stack's ``project``/``environment`` tags
  (``aws:RequestTag``) and changed only while they carry them (``aws:ResourceTag``);
- ``region``: neither names nor tag conditions are usable; scoped to the stack's region;
- ``iam``: roles and policies, under the permissions boundary (see ``ci_trust``);
- ``admin``: never CI's (the CI roles' own trust anchor);
- ``cluster``: Kubernetes objects, authorized by the cluster's RBAC, not IAM.

To add a type: append a :class:`ResourceType` to ``FOUNDATION_TYPES``
(:mod:`~mlops_blueprint.resource_types_foundation`) or ``PLATFORM_TYPES``
(:mod:`~mlops_blueprint.resource_types_platform`) with its actions (check each name in
the IAM catalogue: ``tests/test_resource_types.py`` does), its ARN as the service authorization
reference spells it (:class:`Arn`, or :class:`Parent` for sub-resources authorized on another
resource), its fence, and its ForceNew inputs read from the provider source with the commit.
The CI policy, protection rule, taggable list and diff pick it up; the tests walk every plan and
fail on a type missing here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from mlops_blueprint.resource_type_model import (  # noqa: F401  (re-exported)
    OPERATIONS, PROVIDER_REPOSITORY, Arn, Fence, Operation, Parent, ResourceType, UnknownResourceType,
)
from mlops_blueprint.resource_types_foundation import FOUNDATION_TYPES
from mlops_blueprint.resource_types_platform import PLATFORM_TYPES

__all__ = [
    "OPERATIONS",
    "RESOURCE_TYPES",
    "Arn",
    "Fence",
    "Parent",
    "ResourceType",
    "UnknownResourceType",
    "actions_of",
    "lookup",
    "of_fence",
    "replacement_inputs",
    "stateful_types",
    "taggable_types",
]

_TYPES: tuple[ResourceType, ...] = FOUNDATION_TYPES + PLATFORM_TYPES

RESOURCE_TYPES: Final[Mapping[str, ResourceType]] = {t.token: t for t in _TYPES}
if len(RESOURCE_TYPES) != len(_TYPES):  # pragma: no cover - a duplicate entry is a programming error
    raise RuntimeError("duplicate type token in resource_types._TYPES")


def lookup(token: str) -> ResourceType:
    """The registry entry of ``token``; :class:`UnknownResourceType` (a KeyError) says how to add one."""
    try:
        return RESOURCE_TYPES[token]
    except KeyError:
        raise UnknownResourceType(token) from None


def of_fence(*fences: Fence) -> tuple[ResourceType, ...]:
    return tuple(t for t in _TYPES if t.fence in fences)


def stateful_types() -> frozenset[str]:
    """Types whose deletion or replacement loses data."""
    return frozenset(t.token for t in _TYPES if t.stateful)


def taggable_types() -> frozenset[str]:
    """AWS types that take tags (the provider's default tags apply to them)."""
    return frozenset(t.token for t in _TYPES if t.taggable)


def replacement_inputs(prefix: str = "") -> dict[str, tuple[str, ...]]:
    """Type token -> inputs (or nested dotted paths) whose change replaces the resource."""
    return {t.token: t.replace_on for t in _TYPES if t.token.startswith(prefix) and t.replace_on}


def actions_of(types: Iterable[ResourceType], *operations: Operation) -> tuple[str, ...]:
    return tuple(sorted({a for t in types for a in t.actions(*operations)}))
