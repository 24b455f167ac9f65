"""The component graph of a plan as a mermaid ``flowchart``, e.g. for the README.

One node per top-level component (its name and type token, and how many resources it holds);
a component that holds other components becomes a subgraph with a node per nested component.
An edge ``A --> B`` means that a resource of component A references (``dependencies`` or
``propertyDependencies``) a resource of component B: the buckets of ``artifacts`` are encrypted
with the data key of ``kms``, so ``artifacts --> kms``. References to providers and within one
component are left out; edges are deduplicated.

The output depends only on the plan, and everything in it is sorted, so a picture is as stable
as the plan it was drawn from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

STACK_TYPE = "pulumi:pulumi:Stack"
PROVIDER_TYPE_PREFIX = "pulumi:providers:"

# Words mermaid's flowchart grammar treats specially; a node id equal to one breaks the diagram.
_RESERVED_IDS = frozenset({
    "end", "graph", "flowchart", "subgraph", "direction", "style", "class", "classdef", "click",
    "linkstyle", "default", "call", "href", "interpolate", "accdescr", "acctitle",
})
_INDENT = "    "


@dataclass
class _Node:
    """A component (or a top-level custom resource) of the drawing."""

    urn: str
    name: str
    type: str
    custom: bool
    id: str = ""
    children: list[_Node] = field(default_factory=list)  # nested components only
    resource_count: int = 0                             # custom resources below it, nested ones included


def node_id(name: str) -> str:
    """A mermaid-safe id for ``name``: letters, digits and ``_``; never a keyword or digit-first."""
    ident = re.sub(r"[^A-Za-z0-9_]", "_", name) or "_"
    if ident[0].isdigit() or ident.lower() in _RESERVED_IDS:
        ident = f"n_{ident}"
    return ident


def _label_text(text: str) -> str:
    """Text for inside ``["..."]``: mermaid entity codes for what would end or break the label."""
    return (text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
            .replace("[", "#91;").replace("]", "#93;"))


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _label(node: _Node) -> str:
    count = _plural(node.resource_count, "resource")
    parts = [_label_text(node.name), _label_text(node.type)]
    if not node.custom:
        parts.append(count)
    return '"' + "<br/>".join(parts) + '"'


def _is_drawn(resource: Mapping[str, Any]) -> bool:
    """Components, and custom resources that are not providers (a stack may create those directly)."""
    return resource["type"] != STACK_TYPE and not str(resource["type"]).startswith(PROVIDER_TYPE_PREFIX)


class _Graph:
    def __init__(self, plan: Mapping[str, Any]) -> None:
        resources: list[Mapping[str, Any]] = list(plan.get("resources") or [])
        self.by_urn = {r["urn"]: r for r in resources}
        stack_urns = {r["urn"] for r in resources if r["type"] == STACK_TYPE}
        # Top-level: children of the stack (or parentless, for plans without a stack resource).
        self.top: dict[str, str] = {}
        roots: list[_Node] = []
        nodes: dict[str, _Node] = {}
        for resource in sorted(resources, key=lambda r: r["urn"]):
            if not _is_drawn(resource):
                continue
            parent = resource.get("parent")
            top_level = parent is None or parent in stack_urns or parent not in self.by_urn
            if top_level or not resource["custom"]:
                nodes[resource["urn"]] = _Node(resource["urn"], resource["name"], resource["type"], bool(resource["custom"]))
            if top_level:
                roots.append(nodes[resource["urn"]])
        # Nest components under their parent component; count custom resources up the chain.
        for urn, node in nodes.items():
            parent = self.by_urn[urn].get("parent")
            if parent in nodes and node not in roots:
                nodes[parent].children.append(node)
        for resource in resources:
            if not _is_drawn(resource):
                continue
            top = self._top_level(resource["urn"], stack_urns)
            if top is None:
                continue
            self.top[resource["urn"]] = top
            if resource["custom"]:
                ancestor = resource.get("parent")
                while ancestor in nodes:
                    nodes[ancestor].resource_count += 1
                    ancestor = self.by_urn[ancestor].get("parent")
        self.roots = sorted(roots, key=lambda n: (n.name, n.type, n.urn))
        self._assign_ids()

    def _top_level(self, urn: str, stack_urns: set[str]) -> str | None:
        seen: set[str] = set()
        current = self.by_urn[urn]
        while True:
            parent = current.get("parent")
            if parent is None or parent in stack_urns or parent not in self.by_urn:
                return current["urn"]
            if parent in seen:  # a cycle cannot come from the engine; refuse to loop on a hand-made plan
                return None
            seen.add(parent)
            current = self.by_urn[parent]

    def _assign_ids(self) -> None:
        """Ids from names (nested: ``<parent id>__<name>``), made unique in drawing order."""
        used: set[str] = set()

        def assign(node: _Node, prefix: str) -> None:
            base = node_id(f"{prefix}__{node.name}" if prefix else node.name)
            ident, n = base, 2
            while ident.lower() in used:
                ident, n = f"{base}_{n}", n + 1
            used.add(ident.lower())
            node.id = ident
            for child in sorted(node.children, key=lambda c: (c.name, c.type, c.urn)):
                assign(child, ident)

        for root in self.roots:
            assign(root, "")

    def edges(self) -> list[tuple[_Node, _Node]]:
        """``(from, to)`` top-level nodes, one per pair, sorted by ids."""
        roots = {n.urn: n for n in self.roots}
        pairs: set[tuple[str, str]] = set()
        for urn, top in self.top.items():
            resource = self.by_urn[urn]
            references: set[str] = set(resource.get("dependencies") or ())
            for urns in (resource.get("propertyDependencies") or {}).values():
                references.update(urns)
            for reference in references:
                target = self.top.get(reference)  # None: a provider, the stack, or not in the plan
                if target is not None and target != top and top in roots and target in roots:
                    pairs.add((top, target))
        return sorted(((roots[a], roots[b]) for a, b in pairs), key=lambda e: (e[0].id, e[1].id))


def component_edges(plan: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The graph's edges as ``(from name, to name)`` of top-level components, sorted."""
    return sorted((a.name, b.name) for a, b in _Graph(plan).edges())


def _draw(node: _Node, depth: int) -> Iterable[str]:
    pad = _INDENT * depth
    if node.children:
        yield f"{pad}subgraph {node.id}[{_label(node)}]"
        for child in sorted(node.children, key=lambda c: (c.name, c.type, c.urn)):
            yield from _draw(child, depth + 1)
        yield f"{pad}end"
    elif node.custom:
        yield f"{pad}{node.id}({_label(node)})"  # rounded: a resource the stack creates directly
    else:
        yield f"{pad}{node.id}[{_label(node)}]"


def render_mermaid(plan: Mapping[str, Any]) -> str:
    """A mermaid ``flowchart LR`` of the plan's components and the references between them."""
    graph = _Graph(plan)
    edges = graph.edges()
    project, stack = plan.get("project") or "?", plan.get("stack") or "?"
    lines = [
        "flowchart LR",
        f"{_INDENT}%% {project} / {stack}: {_plural(len(graph.roots), 'top-level component')}, {_plural(len(edges), 'reference')}",
        f"{_INDENT}%% A --> B: a resource of A references a resource of B",
    ]
    for root in graph.roots:
        lines.extend(_draw(root, 1))
    lines.extend(f"{_INDENT}{a.id} --> {b.id}" for a, b in edges)
    return "\n".join(lines) + "\n"
