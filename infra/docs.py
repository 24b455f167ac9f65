"""Documentation generated from code, so the README cannot drift (checked by tests/test_docs.py).

``python -m mlops_blueprint.docs`` (``make docs``) rewrites the README's generated sections: the
environment table, the components with their stack-file sections, the component graph, the example
pull-request comment, the cost table, the access table and the stack-outputs table.
"""

from __future__ import annotations

import functools
from typing import Any

from mlops_blueprint.config import ENVIRONMENTS, parse_config
from mlops_blueprint.components.tracking_server_settings import mlflow_endpoint_needed

# (label, how to read it from a validated config)
_ROWS: tuple[tuple[str, Any], ...] = (
    ("protect stateful resources", lambda c: c.protect_stateful),
    ("retain on delete", lambda c: c.retain_on_delete),
    ("availability zones", lambda c: c.network.az_count),
    ("VPC CIDR", lambda c: c.network.cidr),
    # Plus SageMaker MLflow's endpoint, which the stack adds for a SageMaker tracking backend.
    ("interface endpoints (AZs)", lambda c: f"{len(c.network.interface_endpoints) + mlflow_endpoint_needed(c.tracking.backend, c.network.mode)}"
                                            f" ({c.network.endpoint_az_count or c.network.az_count})"),
    ("tracking server", lambda c: c.tracking.backend + (f" ({c.tracking.size})" if c.tracking.backend == "sagemaker-managed" else "")),
    ("serving (per model)", lambda c: "serverless" if c.serving.serverless else
        f"{c.serving.initial_instance_count} x {c.serving.instance_type}"),
    ("deployment strategy", lambda c: c.serving.deployment.strategy),
    ("data capture (%)", lambda c: c.serving.data_capture_percent),
    ("monthly budget (USD)", lambda c: f"{c.budget.monthly_limit_usd:,.0f}" if c.budget.enabled else "none"),
    ("KMS deletion window (days)", lambda c: c.kms.deletion_window_days),
    ("VPC flow-log retention (days)", lambda c: c.network.flow_log_retention_days),
    ("CloudTrail log retention (days)", lambda c: c.audit.log_retention_days),
    ("CloudTrail object lock (WORM)", lambda c: c.audit.object_lock),
    ("noncurrent artifact versions expire (days)", lambda c: c.artifacts.noncurrent_expiration_days),
    ("buckets deletable when non-empty (forceDestroy)", lambda c: c.artifacts.force_destroy),
)


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def environment_table() -> str:
    """Markdown table of the per-environment defaults (before a stack file overrides them)."""
    configs = {env: parse_config({"environment": env, "region": "us-east-1", "owner": "o", "costCenter": "c"}) for env in ENVIRONMENTS}
    lines = ["| setting | " + " | ".join(ENVIRONMENTS) + " |", "| --- |" + " --- |" * len(ENVIRONMENTS)]
    for label, read in _ROWS:
        lines.append(f"| {label} | " + " | ".join(_cell(read(configs[env])) for env in ENVIRONMENTS) + " |")
    return "\n".join(lines)


def _section_paths(model: type, path: str = "") -> dict[type, str]:
    """Settings model -> where the stack file holds it (``serving.kubernetes``), first place found."""
    from pydantic import BaseModel

    found: dict[type, str] = {}
    for name, info in model.model_fields.items():
        key = f"{path}.{info.alias or name}" if path else (info.alias or name)
        for kind in (info.annotation, *getattr(info.annotation, "__args__", ())):
            if isinstance(kind, type) and issubclass(kind, BaseModel) and kind not in found:
                found[kind] = key
                found.update({k: v for k, v in _section_paths(kind, key).items() if k not in found})
    return found


def _type_token(cls: type) -> str:
    """A component's type token: the literal its ``super().__init__`` passes, or its module's ``TYPE``."""
    import inspect
    import re
    import sys

    literal = re.search(r'super\(\).__init__\(\s*"(mlops:[a-z]+:[A-Za-z0-9]+)"', inspect.getsource(cls))
    return literal.group(1) if literal else getattr(sys.modules[cls.__module__], "TYPE")


def components_table() -> str:
    """Every exported component the stack file configures: its type token, what it is (its
    docstring), the section its args' ``settings`` come from and that section's keys, so a new
    component is documented by exporting it and adding its section."""
    import dataclasses
    import inspect

    import pulumi

    import mlops_blueprint.components as components
    from mlops_blueprint.config import PlatformConfig

    sections = _section_paths(PlatformConfig)
    lines = ["| component | type token | what it is | stack-file section | keys |", "| --- | --- | --- | --- | --- |"]
    for name in sorted(components.__all__):
        cls = getattr(components, name)
        if not (inspect.isclass(cls) and issubclass(cls, pulumi.ComponentResource)):
            continue
        field = {f.name: f for f in dataclasses.fields(getattr(components, f"{name}Args"))}.get("settings")
        settings = getattr(components, str(field.type), None) if field else None
        if settings not in sections:  # a building block other components make (SecureBucket)
            continue
        keys = ", ".join(f"`{f.alias or n}`" for n, f in settings.model_fields.items())
        summary = (inspect.getdoc(cls) or "").split("\n\n")[0].replace("\n", " ").replace("``", "`").replace("|", "\\|")
        lines.append(f"| `{name}` | `{_type_token(cls)}` | {summary} | `{sections[settings]}` | {keys} |")
    return "\n".join(lines)


@functools.cache  # several sections show the same stack: previewed once per run
def shipped_plan(stack: str) -> dict[str, Any]:
    """The plan of ``stack`` as its shipped stack file declares it. Read-only."""
    from mlops_blueprint.preview import run_preview

    return run_preview(stack).plan


def example_pr_comment() -> str:
    """The PR comment CI would post for a small change to the dev stack: a third AZ and a longer
    KMS deletion window (the README shows it)."""
    import tempfile
    from pathlib import Path

    import yaml

    from mlops_blueprint.diff import diff_plans
    from mlops_blueprint.diff_render import render_markdown
    from mlops_blueprint.preview import run_preview, stack_file

    base = shipped_plan("dev")
    document = yaml.safe_load(stack_file("dev").read_text())
    document["config"]["mlops-platform:network"] = {"azCount": 3}
    document["config"]["mlops-platform:kms"] = {"deletionWindowDays": 14}
    with tempfile.TemporaryDirectory() as tmp:
        changed = Path(tmp) / "Pulumi.dev.yaml"
        changed.write_text(yaml.safe_dump(document))
        head = run_preview("dev", changed).plan
    return render_markdown(diff_plans(base, head), "main", "pr-42").strip()


def cost_table() -> str:
    """Idle monthly cost per stack as shipped, per component (markdown), from the price table."""
    from mlops_blueprint.cost import estimate

    reports = {env: estimate(shipped_plan(env)) for env in ENVIRONMENTS}
    components = sorted({c for r in reports.values() for c in r.by_component()})
    lines = ["| monthly, USD (approximate) | " + " | ".join(ENVIRONMENTS) + " |",
             "| --- |" + " ---: |" * len(ENVIRONMENTS)]
    for component in components:
        lines.append(f"| {component} | " + " | ".join(f"{reports[e].by_component().get(component, 0):,.2f}"
                                                        for e in ENVIRONMENTS) + " |")
    lines.append("| **total** | " + " | ".join(f"**{reports[e].total:,.2f}**" for e in ENVIRONMENTS) + " |")
    return "\n".join(lines)


def dev_graph() -> str:
    """The dev stack's component graph (mermaid), as the README shows it."""
    from mlops_blueprint.mermaid import render_mermaid

    return render_mermaid(shipped_plan("dev")).strip()


def stack_outputs_table() -> str:
    """Every stack output with its type, meaning and when it is present (the schema in outputs.py)."""
    from mlops_blueprint.outputs import markdown_table

    return markdown_table()


def access_table() -> str:
    """Who may do what (the rows the access-table tests evaluate against every plan)."""
    from mlops_blueprint.access_table import markdown

    return markdown()


# README sections between <!-- NAME:start --> and <!-- NAME:end --> markers, and how to render them.
SECTIONS = {
    "environment-table": lambda: environment_table(),
    "components": lambda: components_table(),
    "graph": lambda: f"```mermaid\n{dev_graph()}\n```",
    "pr-comment": lambda: example_pr_comment(),
    "cost": lambda: cost_table(),
    "access-table": lambda: access_table(),
    "stack-outputs": lambda: stack_outputs_table(),
}


def update_readme(path: str = "README.md") -> None:
    """Rewrite every generated section of the README in place (``make docs``)."""
    import re
    from pathlib import Path

    readme = Path(path)
    text = readme.read_text(encoding="utf-8")
    for name, render in SECTIONS.items():
        pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(\n<!-- {name}:end -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"{path}: no <!-- {name}:start --> ... <!-- {name}:end --> markers")
        text = pattern.sub(lambda m: m.group(1) + render() + m.group(2), text)
    readme.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    update_readme()
