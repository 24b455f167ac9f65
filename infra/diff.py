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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from mlops_blueprint.plan_values import (  # noqa: F401  (building blocks, re-exported)
    ABSENT, PHYSICAL_NAME_INPUTS, REPLACEMENT_PROPERTIES, SECRET_SIG_KEY, SECRET_SIG_VALUE, SECRET_TEXT,
    STACK_COMPONENT, STACK_TYPE, _Changes, _is_secret, _same, _secret_same, _unwrap, component_of, diff_inputs,
    forces_replacement, redact, stackless_key, urn_type_and_name,
)
from mlops_blueprint.policies.model import Finding as PlanFinding
from mlops_blueprint.resource_types import stateful_types

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

#: Types whose deletion or replacement loses data (used for the unprotected data-loss warning).
STATEFUL_TYPES: Final = stateful_types()

OPS: Final = ("create", "update", "replace", "delete")


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


class Finding(PlanFinding):
    """A plan's policy finding; compared across plans by (policy, stack-less urn, message)."""

    @property
    def key(self) -> str:
        return stackless_key(self.urn)

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
    return Finding(
        policy=str(raw.get("policy", "")),
        enforcement=str(raw.get("enforcement", "")),
        urn=str(raw.get("urn") or ""),
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
