"""Terminal rendering of a plan: the resource tree, counts and policy findings (rich)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from mlops_blueprint.plan import mandatory_findings


def _label(resource: dict[str, Any]) -> Text:
    label = Text()
    style = "bold cyan" if not resource["custom"] else ""
    label.append(resource["name"], style=style)
    label.append(f"  {resource['type']}", style="dim")
    if resource["protect"]:
        label.append("  protect", style="bold yellow")
    if resource["retainOnDelete"]:
        label.append("  retain", style="yellow")
    return label


def resource_tree(plan: dict[str, Any]) -> Tree:
    """Stack -> components -> children, siblings sorted by type then name."""
    resources = plan["resources"]
    children: dict[str | None, list[dict[str, Any]]] = {}
    for resource in resources:
        children.setdefault(resource["parent"], []).append(resource)
    roots = children.get(None, [])
    custom = sum(1 for r in resources if r["custom"])
    root = Tree(Text(f"{plan['project']} / {plan['stack']}  ({custom} resources, {len(resources) - custom} components)", style="bold"))

    def add(node: Tree, parent_urn: str) -> None:
        for child in sorted(children.get(parent_urn, []), key=lambda r: (r["custom"], r["type"], r["name"])):
            branch = node.add(_label(child))
            add(branch, child["urn"])

    for stack in roots:
        add(root, stack["urn"])
    return root


def type_counts(plan: dict[str, Any]) -> Table:
    table = Table(title="Resources by type", show_edge=False)
    table.add_column("type")
    table.add_column("count", justify="right")
    counts = Counter(r["type"] for r in plan["resources"] if r["custom"])
    for type_, count in sorted(counts.items()):
        table.add_row(type_, str(count))
    return table


def findings_table(plan: dict[str, Any]) -> Table | Text:
    findings = plan["findings"]
    if not findings:
        return Text("Policy: no findings.", style="green")
    names = {r["urn"]: r["name"] for r in plan["resources"]}
    table = Table(title="Policy findings", show_edge=False)
    for column in ("enforcement", "policy", "resource", "message"):
        table.add_column(column)
    for finding in findings:
        style = "bold red" if finding["enforcement"] == "mandatory" else "yellow"
        table.add_row(Text(finding["enforcement"], style=style), finding["policy"],
                      names.get(finding["urn"], finding["urn"]), finding["message"])
    return table


def summary(plan: dict[str, Any]) -> Text:
    mandatory = len(mandatory_findings(plan))
    advisory = len(plan["findings"]) - mandatory
    custom = sum(1 for r in plan["resources"] if r["custom"])
    protected = sum(1 for r in plan["resources"] if r["protect"])
    style = "bold red" if mandatory else "bold green"
    return Text(
        f"{plan['stack']}: {custom} resources ({protected} protected), {len(plan['outputs'])} outputs, "
        f"{mandatory} mandatory / {advisory} advisory policy findings",
        style=style,
    )


def print_report(plan: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    console.print(Group(resource_tree(plan), Text(""), type_counts(plan), Text(""), findings_table(plan), Text(""), summary(plan)))
