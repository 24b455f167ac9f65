"""Documentation generated from code, so the README cannot drift (checked by tests/test_docs.py).

``python -m mlops_blueprint.docs [environments|pr-comment|graph]`` prints the environment table,
the example pull-request comment or the dev stack's component graph.
"""

from __future__ import annotations

from typing import Any

from mlops_blueprint.config import ENVIRONMENTS, parse_config

# (label, how to read it from a validated config)
_ROWS: tuple[tuple[str, Any], ...] = (
    ("protect stateful resources", lambda c: c.protect_stateful),
    ("retain on delete", lambda c: c.retain_on_delete),
    ("availability zones", lambda c: c.network.az_count),
    ("VPC CIDR", lambda c: c.network.cidr),
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


def example_pr_comment() -> str:
    """The PR comment CI would post for a small change to the dev stack: a third AZ and a longer
    KMS deletion window (the README shows it)."""
    import tempfile
    from pathlib import Path

    import yaml

    from mlops_blueprint.diff import diff_plans
    from mlops_blueprint.diff_render import render_markdown
    from mlops_blueprint.preview import run_preview, stack_file

    base = run_preview("dev").plan
    document = yaml.safe_load(stack_file("dev").read_text())
    document["config"]["mlops-platform:network"] = {"azCount": 3}
    document["config"]["mlops-platform:kms"] = {"deletionWindowDays": 14}
    with tempfile.TemporaryDirectory() as tmp:
        changed = Path(tmp) / "Pulumi.dev.yaml"
        changed.write_text(yaml.safe_dump(document))
        head = run_preview("dev", changed).plan
    return render_markdown(diff_plans(base, head), "main", "pr-42").strip()


def dev_graph() -> str:
    """The dev stack's component graph (mermaid), as the README shows it."""
    from mlops_blueprint.mermaid import render_mermaid
    from mlops_blueprint.preview import run_preview

    return render_mermaid(run_preview("dev").plan).strip()


if __name__ == "__main__":
    import sys

    documents = {"pr-comment": example_pr_comment, "graph": dev_graph, "environments": environment_table}
    print(documents[sys.argv[1] if sys.argv[1:] else "environments"]())
