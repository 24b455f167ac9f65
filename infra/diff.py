"""Compare two offline-preview plans (plan JSON) and say what a change would do.

Pure logic, no printing: :mod:`mlops_blueprint.diff_render` turns a :class:`PlanDiff` into
markdown (PR comments), plain text (terminals/CI logs) or JSON.

Resources are matched by their URN *without the stack segment* (``urn:pulumi:<stack>::`` cut
off), so a dev plan can be compared with a prod plan as well as main with a PR branch.

Replacement detection follows the AWS provider's ForceNew schema as recorded in the resource-type
registry (:mod:`mlops_blueprint.resource_types`): :data:`REPLACEMENT_PROPERTIES` lists, per type
token, the inputs (or nested blocks) whose change makes the engine replace the resource; for AWS
types not in the table a change of the physical-name inputs (:data:`PHYSICAL_NAME_INPUTS`)
counts as a replacement, and for every ``aws:`` type so
does a change of the per-resource ``region`` input (pulumi-aws v7 / terraform-provider-aws v6
forces a new resource when ``region`` changes). The real engine may still replace for reasons
the table does not know (provider changes, nested ForceNew fields of other types), so a diff
that says "update" is a strong hint, not a promise; ``pulumi preview`` against the real engine
is authoritative.

Secret values (the engine's secret signature object, or the string ``"[secret]"`` that a
redacting serializer writes) are compared but never copied into the diff: every value stored
in a :class:`PlanDiff` has secrets replaced by ``"[secret]"``, so no rendering can leak them.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from mlops_blueprint.resource_types import replacement_inputs, stateful_types

__all__ = [
    "ABSENT",
    "PHYSICAL_NAME_INPUTS",
    "REPLACEMENT_PROPERTIES",
    "SECRET_TEXT",
    "STATEFUL_TYPES",
    "Finding",
    "OutputChange",
    "PlanDiff",
    "PlanFileError",
    "ResourceChange",
    "component_of",
    "diff_inputs",
    "diff_plans",
    "forces_replacement",
    "load_plan",
    "redact",
    "stackless_key",
    "urn_type_and_name",
]

# --------------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------------

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

#: Types whose deletion or replacement loses data (used for the unprotected data-loss warning).
STATEFUL_TYPES: Final = stateful_types()

OPS: Final = ("create", "update", "replace", "delete")


class _Absent:
    """Marks the missing side of an added/removed key (``None`` is a legitimate value)."""

    _instance: _Absent | None = None

    def __new__(cls) -> _Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<absent>"

    def __bool__(self) -> bool:
        return False

    def __copy__(self) -> _Absent:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _Absent:
        return self


#: The before (for an added key) or after (for a removed key) of a changed path.
ABSENT: Final = _Absent()

# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


class PlanFileError(ValueError):
    """A plan file cannot be used; the message names the path and what is wrong."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def load_plan(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and sanity-check a plan JSON file, so CI fails with a message rather than a trace."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise PlanFileError(path, "no such file (expected a plan written by `preview --json`)") from None
    except IsADirectoryError:
        raise PlanFileError(path, "is a directory, not a plan JSON file") from None
    except UnicodeDecodeError as exc:
        raise PlanFileError(path, f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise PlanFileError(path, f"cannot be read ({exc.strerror or exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanFileError(
            path, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(data, dict):
        raise PlanFileError(path, f"not a plan: top level is a JSON {_json_kind(data)}, not an object")
    if "resources" not in data:
        raise PlanFileError(path, 'not a plan: missing "resources" (expected the output of `preview --json`)')
    resources = data["resources"]
    if not isinstance(resources, list):
        raise PlanFileError(path, f'not a plan: "resources" is a JSON {_json_kind(resources)}, not an array')
    for i, res in enumerate(resources):
        if not isinstance(res, dict) or not isinstance(res.get("urn"), str) or not res.get("urn"):
            raise PlanFileError(path, f'not a plan: resources[{i}] has no "urn" string')
        if not isinstance(res.get("type"), str):
            raise PlanFileError(path, f'not a plan: resources[{i}] ({res["urn"]}) has no "type" string')
    for key, kind in (("outputs", dict), ("findings", list)):
        if key in data and not isinstance(data[key], kind):
            raise PlanFileError(path, f'not a plan: "{key}" is a JSON {_json_kind(data[key])}')
    return data


def _json_kind(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean"}.get(
        type(value), "null" if value is None else "number"
    )


# --------------------------------------------------------------------------------------------
# Result types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceChange:
    """One resource's planned operation, with the input paths that differ."""

    op: str  # "create" | "update" | "replace" | "delete"
    key: str  # stack-less URN, the identity used for matching across plans
    urn: str  # head's URN (base's for deletes)
    type: str
    name: str
    component: str  # top-level component under the Stack, e.g. "ArtifactStore artifacts"
    changed_paths: list[str] = field(default_factory=list)
    replace_paths: list[str] = field(default_factory=list)  # subset of changed_paths
    protected: bool = False  # base or head has protect: true
    retain_on_delete: bool = False  # base or head has retainOnDelete: true
    #: path -> (before, after); secrets already redacted, ABSENT for an added/removed key.
    before_after: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    @property
    def before(self) -> dict[str, Any]:
        """Path -> value in base (redacted)."""
        return {p: v[0] for p, v in self.before_after.items()}

    @property
    def after(self) -> dict[str, Any]:
        """Path -> value in head (redacted)."""
        return {p: v[1] for p, v in self.before_after.items()}

    @property
    def sort_key(self) -> tuple[str, str, str, str]:
        """Component, then type, then name: the order every rendering uses."""
        return (self.component, self.type, self.name, self.key)


@dataclass(frozen=True)
class OutputChange:
    """A stack output added, removed or changed (values redacted)."""

    name: str
    kind: str  # "added" | "removed" | "changed"
    before: Any
    after: Any


@dataclass(frozen=True)
class Finding:
    """A policy finding; compared across plans by (policy, stack-less urn, message)."""

    policy: str
    enforcement: str
    urn: str
    key: str
    message: str

    @property
    def identity(self) -> tuple[str, str, str]:
        return (self.policy, self.key, self.message)


@dataclass(frozen=True)
class PlanDiff:
    """Everything that differs between a base plan and a head plan."""

    base_stack: str = ""
    head_stack: str = ""
    creates: list[ResourceChange] = field(default_factory=list)
    deletes: list[ResourceChange] = field(default_factory=list)
    updates: list[ResourceChange] = field(default_factory=list)
    replaces: list[ResourceChange] = field(default_factory=list)
    output_changes: list[OutputChange] = field(default_factory=list)
    findings_added: list[Finding] = field(default_factory=list)
    findings_resolved: list[Finding] = field(default_factory=list)
    #: Deletes/replaces of protected resources: `pulumi up` will refuse them.
    dangers: list[str] = field(default_factory=list)
    #: Deletes/replaces of unprotected, not-retained stateful resources: data will be lost.
    warnings: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        """Number of resources per operation (create/update/replace/delete)."""
        return {
            "create": len(self.creates),
            "update": len(self.updates),
            "replace": len(self.replaces),
            "delete": len(self.deletes),
        }

    @property
    def changes(self) -> list[ResourceChange]:
        """All resource changes in rendering order (component, type, name)."""
        return sorted(
            [*self.creates, *self.updates, *self.replaces, *self.deletes], key=lambda c: c.sort_key
        )

    @property
    def has_resource_changes(self) -> bool:
        return any(self.counts.values())

    @property
    def is_empty(self) -> bool:
        """True when nothing at all differs (resources, outputs, findings)."""
        return not (
            self.has_resource_changes
            or self.output_changes
            or self.findings_added
            or self.findings_resolved
        )


# --------------------------------------------------------------------------------------------
# URNs, components, secrets
# --------------------------------------------------------------------------------------------

_URN_PREFIX: Final = "urn:pulumi:"


_STACK_TYPE = "pulumi:pulumi:Stack"


def stackless_key(urn: str) -> str:
    """The URN without ``urn:pulumi:<stack>::``, so dev and prod plans can be matched.

    The root stack resource is named ``<project>-<stack>``; every plan has exactly one, so it is
    keyed by its type alone.
    """
    if urn.startswith(_URN_PREFIX):
        _, sep, rest = urn[len(_URN_PREFIX) :].partition("::")
        if sep:
            project, _, qualified = rest.partition("::")
            if qualified.startswith(f"{_STACK_TYPE}::"):
                return f"{project}::{_STACK_TYPE}"
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


# --------------------------------------------------------------------------------------------
# Plan diff
# --------------------------------------------------------------------------------------------


def _index(plan: Mapping[str, Any]) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """(stack-less key -> resource, urn -> resource) for one plan."""
    by_key: dict[str, dict[str, Any]] = {}
    by_urn: dict[str, dict[str, Any]] = {}
    for res in plan.get("resources") or []:
        urn = str(res.get("urn", ""))
        by_urn[urn] = res
        by_key[stackless_key(urn)] = res
    return by_key, by_urn


def _change(
    op: str,
    res: Mapping[str, Any],
    by_urn: Mapping[str, Mapping[str, Any]],
    *,
    other: Mapping[str, Any] | None = None,
    changes: _Changes | None = None,
    replace_paths: Iterable[str] = (),
) -> ResourceChange:
    urn = str(res.get("urn", ""))
    type_ = str(res.get("type", ""))
    name = str(res.get("name", "")) or urn_type_and_name(urn)[1]
    both = [res] if other is None else [res, other]
    changes = changes or {}
    forcing = set(replace_paths)
    return ResourceChange(
        op=op,
        key=stackless_key(urn),
        urn=urn,
        type=type_,
        name=name,
        component=component_of(res, by_urn),
        changed_paths=list(changes),
        replace_paths=[p for p in changes if p in forcing],
        protected=any(bool(r.get("protect")) for r in both),
        retain_on_delete=any(bool(r.get("retainOnDelete")) for r in both),
        before_after={p: (b, a) for p, (_, b, a) in changes.items()},
    )


def _compare_resource(
    base: Mapping[str, Any], head: Mapping[str, Any], head_by_urn: Mapping[str, Mapping[str, Any]]
) -> ResourceChange | None:
    """update/replace/None for a resource present in both plans with the same type."""
    changes: _Changes = {}
    for option in ("protect", "retainOnDelete"):  # resource options first: they are notable
        b, a = bool(base.get(option)), bool(head.get(option))
        if b != a:
            path = f"({option})"
            changes[path] = (path, b, a)
    changes.update(diff_inputs(base.get("inputs") or {}, head.get("inputs") or {}))
    if not changes:
        return None
    type_ = str(head.get("type", ""))
    replace: list[str] = []
    if head.get("custom", True) is not False:
        replace = [p for p, (top, _, _) in changes.items() if forces_replacement(type_, top, p)]
    op = "replace" if replace else "update"
    return _change(op, head, head_by_urn, other=base, changes=changes, replace_paths=replace)


def _finding(raw: Mapping[str, Any]) -> Finding:
    urn = str(raw.get("urn") or "")
    return Finding(
        policy=str(raw.get("policy", "")),
        enforcement=str(raw.get("enforcement", "")),
        urn=urn,
        key=stackless_key(urn),
        message=str(raw.get("message", "")),
    )


def _diff_findings(
    base: Mapping[str, Any], head: Mapping[str, Any]
) -> tuple[list[Finding], list[Finding]]:
    base_f = {f.identity: f for f in map(_finding, base.get("findings") or [])}
    head_f = {f.identity: f for f in map(_finding, head.get("findings") or [])}

    def order(f: Finding) -> tuple[str, str, str]:
        return (f.key, f.policy, f.message)

    added = sorted((f for i, f in head_f.items() if i not in base_f), key=order)
    resolved = sorted((f for i, f in base_f.items() if i not in head_f), key=order)
    return added, resolved


def _diff_outputs(base: Mapping[str, Any], head: Mapping[str, Any]) -> list[OutputChange]:
    before, after = dict(base.get("outputs") or {}), dict(head.get("outputs") or {})
    out: list[OutputChange] = []
    for name in sorted(set(before) | set(after)):
        if name not in before:
            out.append(OutputChange(name, "added", ABSENT, redact(after[name])))
        elif name not in after:
            out.append(OutputChange(name, "removed", redact(before[name]), ABSENT))
        elif _is_secret(before[name]) or _is_secret(after[name]):
            if not _secret_same(before[name], after[name]):
                out.append(OutputChange(name, "changed", redact(before[name]), redact(after[name])))
        elif not _same(_unwrap(before[name]), _unwrap(after[name])):
            out.append(OutputChange(name, "changed", redact(before[name]), redact(after[name])))
    return out


def _forced_by(change: ResourceChange) -> str:
    return ", ".join(f"`{p}`" for p in change.replace_paths)


def _dangers_and_warnings(
    deletes: list[ResourceChange], replaces: list[ResourceChange]
) -> tuple[list[str], list[str]]:
    dangers: list[str] = []
    warnings: list[str] = []
    for change in sorted([*deletes, *replaces], key=lambda c: (c.sort_key, c.op)):
        what = f"{change.op.upper()} of"
        why = f" (forced by {_forced_by(change)})" if change.op == "replace" else ""
        if change.protected:
            dangers.append(
                f"{what} protected {change.type} '{change.name}'{why} — "
                "`pulumi up` will fail until protect is lifted"
            )
        elif change.type in STATEFUL_TYPES and not change.retain_on_delete:
            warnings.append(
                f"{what} {change.type} '{change.name}'{why} — not protected and not retained: "
                "the existing resource and its data will be destroyed"
            )
    return dangers, warnings


def diff_plans(base: Mapping[str, Any], head: Mapping[str, Any]) -> PlanDiff:
    """Compare two plans (as loaded by :func:`load_plan`) resource by stack-less URN.

    A key present in both plans with a different ``type`` is a delete plus a create."""
    base_by_key, base_by_urn = _index(base)
    head_by_key, head_by_urn = _index(head)
    creates: list[ResourceChange] = []
    deletes: list[ResourceChange] = []
    updates: list[ResourceChange] = []
    replaces: list[ResourceChange] = []

    for key in sorted(set(base_by_key) | set(head_by_key)):
        b, h = base_by_key.get(key), head_by_key.get(key)
        if b is not None and h is not None and b.get("type") != h.get("type"):
            deletes.append(_change("delete", b, base_by_urn))
            creates.append(_change("create", h, head_by_urn))
        elif b is None and h is not None:
            creates.append(_change("create", h, head_by_urn))
        elif h is None and b is not None:
            deletes.append(_change("delete", b, base_by_urn))
        elif b is not None and h is not None:
            change = _compare_resource(b, h, head_by_urn)
            if change is not None:
                (replaces if change.op == "replace" else updates).append(change)

    def ordered(items: list[ResourceChange]) -> list[ResourceChange]:
        return sorted(items, key=lambda c: c.sort_key)

    creates, deletes, updates, replaces = map(ordered, (creates, deletes, updates, replaces))
    added, resolved = _diff_findings(base, head)
    # Two different stacks (dev vs prod) are a comparison, not a change: nothing gets replaced.
    same_stack = base.get("stack") == head.get("stack")
    dangers, warnings = _dangers_and_warnings(deletes, replaces) if same_stack else ([], [])
    return PlanDiff(
        base_stack=str(base.get("stack", "")),
        head_stack=str(head.get("stack", "")),
        creates=creates,
        deletes=deletes,
        updates=updates,
        replaces=replaces,
        output_changes=_diff_outputs(base, head),
        findings_added=added,
        findings_resolved=resolved,
        dangers=dangers,
        warnings=warnings,
    )
