"""What plan values and URNs mean to a diff: URN keys, components, secrets, and the input walk.

The building blocks of :func:`mlops_blueprint.diff.diff_plans` (see :mod:`mlops_blueprint.diff` for
how replacement is decided and how secrets are kept out of every stored value).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

from mlops_blueprint.policies.model import Sentinel
from mlops_blueprint.resource_types import replacement_inputs

#: Pulumi's secret signature: ``{SECRET_SIG_KEY: SECRET_SIG_VALUE, "value": ...}``.
SECRET_SIG_KEY: Final = "4dabf18193072939515e22adb298388d"
SECRET_SIG_VALUE: Final = "1b47061264138c4ac30d75fd1eb44270"
#: What a secret looks like in every value a PlanDiff holds (and so in every rendering).
SECRET_TEXT: Final = "[secret]"

STACK_TYPE: Final = "pulumi:pulumi:Stack"
STACK_COMPONENT: Final = "(stack)"

#: Inputs that never force replacement (tags are updated in place everywhere in pulumi-aws).
_TAG_INPUTS: Final = frozenset({"tags", "tagsAll"})

#: Inputs whose change replaces the resource, per type token, from the resource-type registry
#: (ForceNew attributes read from terraform-provider-aws, which pulumi-aws v7 is bridged from, as
#: the camelCase inputs the engine receives). ``"*"`` means "any input except tags/tagsAll"
#: (resources with no update API: SageMaker endpoint configs, models, job definitions); a dotted
#: entry is a nested ForceNew block (``deploymentConfig.autoRollbackConfiguration``).
REPLACEMENT_PROPERTIES: Final[dict[str, tuple[str, ...]]] = replacement_inputs()

#: Physical-name inputs: for AWS types missing from the table, changing one renames the cloud
#: object, which AWS cannot do in place.
PHYSICAL_NAME_INPUTS: Final = ("name", "namePrefix", "bucket", "identifier")

#: Kubernetes objects outside the registry are replaced when their name or namespace changes.
_K8S_REPLACE_PATHS: Final = ("metadata.name", "metadata.namespace")


class _Absent(Sentinel):
    """Marks the missing side of an added/removed key (``None`` is a legitimate value)."""

    ABSENT = "<absent>"

    def __bool__(self) -> bool:
        return False


#: The before (for an added key) or after (for a removed key) of a changed path.
ABSENT: Final = _Absent.ABSENT

# --------------------------------------------------------------------------------------------
# URNs, components, secrets
# --------------------------------------------------------------------------------------------

_URN_PREFIX: Final = "urn:pulumi:"


def stackless_key(urn: str) -> str:
    """The URN without ``urn:pulumi:<stack>::``, so dev and prod plans can be matched.

    The root stack resource is named ``<project>-<stack>``; every plan has exactly one, so it is
    keyed by its type alone.
    """
    if urn.startswith(_URN_PREFIX):
        _, sep, rest = urn[len(_URN_PREFIX) :].partition("::")
        if sep:
            project, _, qualified = rest.partition("::")
            if qualified.startswith(f"{STACK_TYPE}::"):
                return f"{project}::{STACK_TYPE}"
            return rest
    return urn


def urn_type_and_name(urn: str) -> tuple[str, str]:
    """(type, name) parsed from a URN; used when the resource itself is not in the plan."""
    parts = stackless_key(urn).split("::", 2)
    if len(parts) == 3:
        return parts[1].rsplit("$", 1)[-1], parts[2]
    return "", urn


def _component_label(type_: str, name: str) -> str:
    return f"{type_.rsplit(':', 1)[-1]} {name}"


def component_of(resource: Mapping[str, Any], by_urn: Mapping[str, Mapping[str, Any]]) -> str:
    """The outermost component (custom: false) among the resource and its ancestors below the
    Stack, as "<TypeName> <name>"; "(stack)" when there is none. Walks the ``parent`` chain."""
    outermost: str | None = None
    current: Mapping[str, Any] | None = resource
    seen: set[str] = set()
    while current is not None:
        type_ = str(current.get("type", ""))
        if type_ == STACK_TYPE:
            break
        if current.get("custom") is False:
            outermost = _component_label(type_, str(current.get("name", "")))
        parent = current.get("parent")
        if not parent or parent in seen:
            break
        seen.add(parent)
        nxt = by_urn.get(parent)
        if nxt is None:  # parent not recorded: infer from its URN (components have no "aws:").
            ptype, pname = urn_type_and_name(parent)
            if ptype and ptype != STACK_TYPE and not ptype.startswith(("aws:", "kubernetes:")):
                outermost = _component_label(ptype, pname)
            break
        current = nxt
    return outermost or STACK_COMPONENT


def _is_secret(value: Any) -> bool:
    return value == SECRET_TEXT or (
        isinstance(value, dict) and value.get(SECRET_SIG_KEY) == SECRET_SIG_VALUE
    )


_UNKNOWN_SECRET: Final = object()


def _secret_plaintext(value: Any) -> Any:
    """The wrapped value of a secret, or a sentinel when the serializer already redacted it."""
    if isinstance(value, dict) and SECRET_SIG_KEY in value:
        return _unwrap(value.get("value"))
    return _UNKNOWN_SECRET


def _unwrap(value: Any) -> Any:
    """Strip secret wrappers everywhere (for comparison only, never for storage)."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG_VALUE:
            return _unwrap(value.get("value"))
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


def redact(value: Any) -> Any:
    """A copy of ``value`` with every secret replaced by ``"[secret]"``."""
    if _is_secret(value):
        return SECRET_TEXT
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _same(a: Any, b: Any) -> bool:
    """Structural equality that keeps JSON types apart (``True`` is not ``1``)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b  # the engine's numbers are float64: 1 and 1.0 are the same value
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def _secret_same(a: Any, b: Any) -> bool:
    if _is_secret(a) != _is_secret(b):
        return False  # a value became (or stopped being) secret: report it, redacted
    pa, pb = _secret_plaintext(a), _secret_plaintext(b)
    if pa is _UNKNOWN_SECRET or pb is _UNKNOWN_SECRET:
        return True  # already redacted by the serializer: cannot tell, assume unchanged
    return _same(pa, pb)


# --------------------------------------------------------------------------------------------
# Recursive input diff
# --------------------------------------------------------------------------------------------

_PLAIN_KEY: Final = re.compile(r"^[A-Za-z0-9_\-]+$")


def _join(prefix: str, key: str) -> str:
    """Dotted path; keys that are not plain identifiers are bracket-quoted (``tags["a.b"]``)."""
    if _PLAIN_KEY.match(key):
        return f"{prefix}.{key}" if prefix else key
    return f"{prefix}[{json.dumps(key)}]"


def _parse_json_container(text: str) -> Any:
    """A dict/list if ``text`` is serialized JSON (IAM policies are), else None."""
    stripped = text.lstrip()
    if not stripped.startswith(("{", "[")):
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, (dict, list)) else None


_Changes = dict[str, tuple[str, Any, Any]]  # path -> (top-level input, before, after)


def _walk(before: Any, after: Any, path: str, top: str, out: _Changes) -> None:
    """Record every differing leaf path between ``before`` and ``after``.

    Dict keys recurse, list elements are compared index-wise, an added/removed key or element
    is a path of its own. JSON-encoded strings (policy documents) are diffed structurally, so a
    review sees ``policy.Statement[0].Action`` rather than two 2 kB strings."""
    if _is_secret(before) or _is_secret(after):
        if not _secret_same(before, after):
            out[path] = (top, redact(before), redact(after))
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after), key=str):
            sub = _join(path, str(key))
            sub_top = top or str(key)
            if key not in before:
                out[sub] = (sub_top, ABSENT, redact(after[key]))
            elif key not in after:
                out[sub] = (sub_top, redact(before[key]), ABSENT)
            else:
                _walk(before[key], after[key], sub, sub_top, out)
        return
    if isinstance(before, list) and isinstance(after, list):
        for i in range(max(len(before), len(after))):
            sub = f"{path}[{i}]"
            if i >= len(before):
                out[sub] = (top, ABSENT, redact(after[i]))
            elif i >= len(after):
                out[sub] = (top, redact(before[i]), ABSENT)
            else:
                _walk(before[i], after[i], sub, top, out)
        return
    if isinstance(before, str) and isinstance(after, str) and before != after:
        parsed_before, parsed_after = _parse_json_container(before), _parse_json_container(after)
        if parsed_before is not None and parsed_after is not None:
            inner: _Changes = {}
            _walk(parsed_before, parsed_after, path, top, inner)
            # Same document, different formatting: the engine still sees a changed string.
            out.update(inner or {path: (top, before, after)})
            return
    if not _same(before, after):
        out[path] = (top, redact(before), redact(after))


def diff_inputs(before: Mapping[str, Any], after: Mapping[str, Any]) -> _Changes:
    """Changed input paths of one resource: path -> (top-level input, before, after)."""
    out: _Changes = {}
    _walk(dict(before), dict(after), "", "", out)
    return out


_INDEX: Final = re.compile(r"\[\d+\]")


def _under(path: str, entry: str) -> bool:
    """``path`` (list indexes ignored) is ``entry`` or lies inside it."""
    plain = _INDEX.sub("", path)
    return plain == entry or plain.startswith(entry + ".")


def forces_replacement(type_: str, top_input: str, path: str = "") -> bool:
    """Whether changing ``top_input`` (at ``path``) of a ``type_`` resource replaces it.

    Table first (:data:`REPLACEMENT_PROPERTIES`: top-level inputs, ``"*"``, or dotted nested
    blocks matched against ``path``); AWS types missing from it fall back to the physical-name
    rule; ``region`` replaces any AWS resource."""
    if top_input in _TAG_INPUTS or top_input.startswith("("):
        return False
    if type_.startswith("aws:") and top_input == "region":
        return True
    props = REPLACEMENT_PROPERTIES.get(type_)
    if props is not None:
        return any(p == "*" or p == top_input or ("." in p and _under(path or top_input, p)) for p in props)
    if type_.startswith("aws:"):
        return top_input in PHYSICAL_NAME_INPUTS
    if type_.startswith("kubernetes:"):
        return any(_under(path, p) for p in _K8S_REPLACE_PATHS)
    return False
