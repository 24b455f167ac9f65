"""The shape of a resource-type registry entry (see :mod:`mlops_blueprint.resource_types`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal


Fence = Literal["name", "tag", "region", "iam", "admin", "cluster"]
Operation = Literal["create", "update", "delete", "tag"]
OPERATIONS: Final[tuple[Operation, ...]] = ("create", "update", "delete", "tag")

#: The provider repository every ``source`` refers to.
PROVIDER_REPOSITORY: Final = "hashicorp/terraform-provider-aws"


@dataclass(frozen=True)
class Arn:
    """The resource's own ARN, as the IAM service authorization reference spells it.

    ``service``/``resource`` is a resource-type key of that reference (e.g. ``sagemaker`` /
    ``endpoint``); ``values`` fills its ``${...}`` placeholders from the resource: an input name,
    ``"$id"`` for the physical id, ``(input, prefix)`` to drop a prefix (``alias/``, ``https://``),
    or ``"input#a.b.c"`` for a value inside an input that holds a JSON document.
    """

    service: str
    resource: str
    values: Mapping[str, str | tuple[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Parent:
    """A sub-resource: IAM authorizes its actions on the ``token`` resource its ``input`` refers to."""

    input: str
    token: str


@dataclass(frozen=True)
class ResourceType:
    token: str
    fence: Fence
    create: tuple[str, ...] = ()
    update: tuple[str, ...] = ()
    delete: tuple[str, ...] = ()
    tag: tuple[str, ...] = ()
    read: tuple[str, ...] = ()
    stateful: bool = False
    taggable: bool = False
    replace_on: tuple[str, ...] = ()
    arn: Arn | Parent | None = None
    #: Where a sub-resource's own tags live, when it has any (tagged right after it is created).
    tag_arn: Arn | None = None
    #: ARNs of the actions of other services, by service prefix (resources a service creates with
    #: the caller's credentials, such as a CloudFormation template's).
    other_arns: Mapping[str, Arn] = field(default_factory=dict)
    #: Why AWS uses the role named in the inputs while it creates the resource (or right after, for
    #: targets that run at once), so the resource must wait for that role's policies; "" when it does not.
    role_checked_at_create: str = ""
    source: str = ""

    def actions(self, *operations: Operation) -> tuple[str, ...]:
        """Write actions of the given operations (all four when none are given), sorted, unique."""
        wanted = operations or OPERATIONS
        return tuple(sorted({a for op in wanted for a in getattr(self, op)}))

    @property
    def all_actions(self) -> tuple[str, ...]:
        return tuple(sorted({*self.actions(), *self.read}))


class UnknownResourceType(KeyError):
    """A type token the registry does not know; the message says how to add it."""

    def __init__(self, token: str) -> None:
        super().__init__(
            f"{token} is not in mlops_blueprint.resource_types: add a ResourceType (actions, ARN, fence, "
            "ForceNew inputs from the provider source) so the CI policy, protection and diff know it"
        )


def provider_source(path: str, commit: str) -> str:
    """An entry's ``source``: the provider file read (under ``internal/service/``), at ``commit``."""
    return f"{PROVIDER_REPOSITORY}@{commit[:12]}:internal/service/{path}"
