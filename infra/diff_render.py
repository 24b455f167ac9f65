"""Render a :class:`~mlops_blueprint.diff.PlanDiff` for people (markdown, text) and tools (JSON).

Markdown is meant to be pasted as a GitHub PR comment: counts first, dangerous changes next,
then one table per component. Every value goes through :func:`~mlops_blueprint.diff.redact`
again before it is printed (the diff already holds redacted values; this is belt and braces
for hand-built diffs), so a secret's plaintext never reaches a comment or a CI log.
Ordering is deterministic everywhere: component, then type, then name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from itertools import groupby
from typing import Any, Final

from mlops_blueprint.diff import (
    ABSENT,
    SECRET_TEXT,
    Finding,
    OutputChange,
    PlanDiff,
    ResourceChange,
    redact,
    stackless_key,
    urn_type_and_name,
)

__all__ = ["endpoint_notes", "render_json", "render_markdown", "render_text"]

#: Longest value shown inline (before → after); longer ones are cut with an ellipsis.
MAX_VALUE_CHARS: Final = 60
#: Most changed paths listed per resource; the rest are counted.
MAX_PATHS_PER_RESOURCE: Final = 12

SYMBOL: Final = {"create": "+", "update": "~", "replace": "±", "delete": "-"}
_NOTE: Final = (
    "Replacement detection approximates the provider's ForceNew schema; "
    "`pulumi preview` against the real engine is authoritative."
)

# --------------------------------------------------------------------------------------------
# Notes on updates the diff alone does not explain
# --------------------------------------------------------------------------------------------

_ENDPOINT: Final = "aws:sagemaker/endpoint:Endpoint"
_ENDPOINT_CONFIG: Final = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"


def _variant_names(plan: Mapping[str, Any], endpoint: Mapping[str, Any]) -> list[str] | None:
    """The variant names of the configuration ``endpoint`` points at (None if not in the plan)."""
    wanted = (endpoint.get("inputs") or {}).get("endpointConfigName")
    for res in plan.get("resources") or []:
        inputs = res.get("inputs") or {}
        if res.get("type") == _ENDPOINT_CONFIG and wanted and inputs.get("name") == wanted:
            return [str(v.get("variantName")) for v in inputs.get("productionVariants") or []]
    return None


def endpoint_notes(base: Mapping[str, Any], head: Mapping[str, Any]) -> list[str]:
    """What a SageMaker endpoint update that changes the variant set does.

    The endpoint is updated in place (its rollback alarm list, ForceNew in the provider, does not
    depend on the variants), but SageMaker's deployment guardrails only run between configurations
    with the same variant names: such an update must go out without the blue/green policy
    (``deployment.guardrails: false``), shifting all traffic at once.
    """
    base_endpoints = {stackless_key(str(r.get("urn"))): r for r in base.get("resources") or []
                      if r.get("type") == _ENDPOINT}
    notes: list[str] = []
    for res in sorted((r for r in head.get("resources") or [] if r.get("type") == _ENDPOINT),
                      key=lambda r: str(r.get("urn"))):
        before = base_endpoints.get(stackless_key(str(res.get("urn"))))
        old = _variant_names(base, before) if before is not None else None
        new = _variant_names(head, res)
        if old is None or new is None or set(old) == set(new):
            continue
        name = (res.get("inputs") or {}).get("name") or res.get("name")
        change = "; ".join(f"{label}: {', '.join(names)}" for label, names in (
            ("added", [n for n in new if n not in old]), ("removed", [n for n in old if n not in new])) if names)
        guarded = "blueGreenUpdatePolicy" in ((res.get("inputs") or {}).get("deploymentConfig") or {})
        if guarded:
            notes.append(f"endpoint {name}: the variant set changes ({change}); the endpoint is updated in place, "
                         "but SageMaker's deployment guardrails need the old variant names: deploy this change "
                         "with deployment.guardrails: false for the model (all traffic at once), then set it back")
        else:
            notes.append(f"endpoint {name}: the variant set changes ({change}); the endpoint is updated in place "
                         "without deployment guardrails: all traffic moves to the new configuration at once "
                         "(the rollback alarms stay)")
    return notes


# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------


def _value_text(value: Any, limit: int = MAX_VALUE_CHARS) -> str:
    """One-line, truncated text for a (redacted) value; ``(none)`` for a missing side."""
    if value is ABSENT:
        return "(none)"
    value = redact(value)
    if value == SECRET_TEXT:
        return SECRET_TEXT
    if isinstance(value, str):
        text = value if value else '""'
    else:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) > limit:
        # Keep both ends: the tail is where values differ most often (image tags, ARN suffixes).
        head = (limit - 1) // 2
        text = text[:head] + "…" + text[len(text) - (limit - 1 - head):]
    return text


def _counts_parts(diff: PlanDiff) -> list[str]:
    c = diff.counts
    return [
        f"+{c['create']} to create",
        f"~{c['update']} to update",
        f"±{c['replace']} to replace",
        f"-{c['delete']} to delete",
    ]


def _by_component(diff: PlanDiff) -> list[tuple[str, list[ResourceChange]]]:
    changes = diff.changes  # already sorted by (component, type, name)
    return [(comp, list(items)) for comp, items in groupby(changes, key=lambda c: c.component)]


def _finding_target(finding: Finding) -> tuple[str, str]:
    return urn_type_and_name(finding.urn) if finding.urn else ("", "")


# --------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------


def _md_code(text: str) -> str:
    """Inline code that survives a GFM table cell (no pipes, backticks or newlines)."""
    text = text.replace("`", "'").replace("|", "\\|")
    return f"`{text}`"


def _md_text(text: str) -> str:
    """Plain text for a table cell or list item."""
    return re.sub(r"\s+", " ", text).replace("|", "\\|").strip()


def _md_path_line(change: ResourceChange, path: str) -> str:
    before, after = change.before_after.get(path, (ABSENT, ABSENT))
    line = _md_code(path)
    if not (isinstance(before, (dict, list)) and isinstance(after, (dict, list))):
        line += f": {_md_code(_value_text(before))} → {_md_code(_value_text(after))}"
    if path in change.replace_paths:
        line += " **(forces replacement)**"
    return line


def _md_changed_cell(change: ResourceChange) -> str:
    if change.op in ("create", "delete"):
        return "—"
    paths = change.changed_paths
    shown = [_md_path_line(change, p) for p in paths[:MAX_PATHS_PER_RESOURCE]]
    if len(paths) > MAX_PATHS_PER_RESOURCE:
        shown.append(f"… and {len(paths) - MAX_PATHS_PER_RESOURCE} more")
    return "<br>".join(shown)


def _md_findings(title: str, icon: str, findings: list[Finding]) -> list[str]:
    lines = [f"**{title} ({len(findings)})**", ""]
    for f in findings:
        type_, name = _finding_target(f)
        where = f" on {_md_code(type_)} {_md_code(name)}" if name else ""
        lines.append(
            f"- {icon} {_md_code(f.policy)} ({_md_text(f.enforcement) or 'unknown'}){where}: "
            f"{_md_text(f.message)}"
        )
    lines.append("")
    return lines


def render_markdown(diff: PlanDiff, base_label: str = "base", head_label: str = "head",
                    notes: Sequence[str] = ()) -> str:
    """A GitHub PR comment: heading, counts, dangers, notes (:func:`endpoint_notes`), per-component
    tables, outputs, findings."""
    title = "Infrastructure diff" if diff.base_stack == diff.head_stack else "Environment comparison"
    lines = [f"## {title}: {_md_code(base_label)} → {_md_code(head_label)}", ""]
    if diff.is_empty:
        lines += ["No changes.", ""]
        return "\n".join(lines)

    lines += [f"**{' · '.join(_counts_parts(diff))}**", ""]

    if diff.dangers or diff.warnings:
        lines += ["### ⚠️ Dangerous changes", ""]
        lines += [f"- 🛑 {d}" for d in diff.dangers]
        lines += [f"- ⚠️ {w}" for w in diff.warnings]
        lines.append("")

    if notes:
        lines += ["### Notes", ""] + [f"- ℹ️ {_md_text(n)}" for n in notes] + [""]

    for component, changes in _by_component(diff):
        lines += [
            f"### {_md_text(component)}",
            "",
            "| op | type | name | changed properties |",
            "| --- | --- | --- | --- |",
        ]
        for c in changes:
            name = _md_code(c.name) + (" 🔒" if c.protected else "")
            lines.append(
                f"| {SYMBOL[c.op]} {c.op} | {_md_code(c.type)} | {name} | {_md_changed_cell(c)} |"
            )
        lines.append("")

    if diff.output_changes:
        lines += ["### Stack outputs", "", "| change | output | before | after |", "| --- | --- | --- | --- |"]
        for o in diff.output_changes:
            lines.append(
                f"| {o.kind} | {_md_code(o.name)} | {_md_code(_value_text(o.before))} | "
                f"{_md_code(_value_text(o.after))} |"
            )
        lines.append("")

    if diff.findings_added or diff.findings_resolved:
        lines += ["### Policy findings", ""]
        if diff.findings_added:
            lines += _md_findings("New", "❌", diff.findings_added)
        if diff.findings_resolved:
            lines += _md_findings("Resolved", "✅", diff.findings_resolved)

    if diff.has_resource_changes:
        lines += [f"<sub>{_NOTE}</sub>", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Plain text
# --------------------------------------------------------------------------------------------


def _text_path_line(change: ResourceChange, path: str) -> str:
    before, after = change.before_after.get(path, (ABSENT, ABSENT))
    line = path
    if not (isinstance(before, (dict, list)) and isinstance(after, (dict, list))):
        line += f": {_value_text(before)} -> {_value_text(after)}"
    if path in change.replace_paths:
        line += "  (forces replacement)"
    return line


def render_text(diff: PlanDiff, base_label: str = "base", head_label: str = "head",
                notes: Sequence[str] = ()) -> str:
    """Plain text for terminals and CI logs, same content as the markdown."""
    lines = [f"Infrastructure diff: {base_label} -> {head_label}"]
    if diff.is_empty:
        lines.append("No changes.")
        return "\n".join(lines) + "\n"
    lines += [", ".join(_counts_parts(diff)), ""]

    if diff.dangers or diff.warnings:
        lines.append("Dangerous changes:")
        lines += [f"  !! {d}" for d in diff.dangers]
        lines += [f"  !  {w}" for w in diff.warnings]
        lines.append("")

    if notes:
        lines += ["Notes:"] + [f"  i  {n}" for n in notes] + [""]

    for component, changes in _by_component(diff):
        lines.append(component)
        for c in changes:
            lock = " [protected]" if c.protected else ""
            lines.append(f"  {SYMBOL[c.op]} {c.type} {c.name}{lock}")
            paths = c.changed_paths
            lines += [f"      {_text_path_line(c, p)}" for p in paths[:MAX_PATHS_PER_RESOURCE]]
            if len(paths) > MAX_PATHS_PER_RESOURCE:
                lines.append(f"      ... and {len(paths) - MAX_PATHS_PER_RESOURCE} more")
        lines.append("")

    if diff.output_changes:
        lines.append("Stack outputs:")
        sym = {"added": "+", "removed": "-", "changed": "~"}
        for o in diff.output_changes:
            lines.append(f"  {sym.get(o.kind, '~')} {o.name}: {_value_text(o.before)} -> {_value_text(o.after)}")
        lines.append("")

    if diff.findings_added or diff.findings_resolved:
        lines.append("Policy findings:")
        for label, findings in (("new", diff.findings_added), ("resolved", diff.findings_resolved)):
            for f in findings:
                type_, name = _finding_target(f)
                where = f" {type_} {name}" if name else ""
                lines.append(f"  {label}: [{f.enforcement}] {f.policy}{where}: {f.message}")
        lines.append("")

    if diff.has_resource_changes:
        lines.append(_NOTE.replace("`", ""))
    return "\n".join(lines).rstrip("\n") + "\n"


# --------------------------------------------------------------------------------------------
# JSON
# --------------------------------------------------------------------------------------------


def _json_side(entry: dict[str, Any], key: str, value: Any) -> None:
    if value is not ABSENT:
        entry[key] = redact(value)


def _change_json(c: ResourceChange) -> dict[str, Any]:
    values: dict[str, dict[str, Any]] = {}
    for path, (before, after) in c.before_after.items():
        entry: dict[str, Any] = {}
        _json_side(entry, "before", before)
        _json_side(entry, "after", after)
        values[path] = entry
    return {
        "op": c.op,
        "key": c.key,
        "urn": c.urn,
        "type": c.type,
        "name": c.name,
        "component": c.component,
        "protected": c.protected,
        "retainOnDelete": c.retain_on_delete,
        "changedPaths": list(c.changed_paths),
        "replacePaths": list(c.replace_paths),
        "values": values,
    }


def _output_json(o: OutputChange) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": o.name, "kind": o.kind}
    _json_side(entry, "before", o.before)
    _json_side(entry, "after", o.after)
    return entry


def _finding_json(f: Finding) -> dict[str, Any]:
    return {"policy": f.policy, "enforcement": f.enforcement, "urn": f.urn, "key": f.key, "message": f.message}


def render_json(diff: PlanDiff, notes: Sequence[str] = ()) -> str:
    """Stable JSON (sorted keys, indent 2) for tools; absent before/after sides are omitted."""
    doc = {
        "baseStack": diff.base_stack,
        "headStack": diff.head_stack,
        "counts": diff.counts,
        "creates": [_change_json(c) for c in diff.creates],
        "updates": [_change_json(c) for c in diff.updates],
        "replaces": [_change_json(c) for c in diff.replaces],
        "deletes": [_change_json(c) for c in diff.deletes],
        "outputChanges": [_output_json(o) for o in diff.output_changes],
        "findingsAdded": [_finding_json(f) for f in diff.findings_added],
        "findingsResolved": [_finding_json(f) for f in diff.findings_resolved],
        "dangers": list(diff.dangers),
        "warnings": list(diff.warnings),
        "notes": list(notes),
    }
    return json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False, default=str) + "\n"
