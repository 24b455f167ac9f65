"""`diff` on real plans: dev vs prod, and one stack before and after a change."""

from __future__ import annotations

import pytest
from support.stacks import plan_for

from mlops_blueprint.diff import diff_plans
from mlops_blueprint.diff_render import render_markdown, render_text
from mlops_blueprint.preview import run_preview


@pytest.fixture(scope="module")
def dev_vs_prod():
    diff = diff_plans(plan_for("dev"), plan_for("prod"))
    return diff, render_markdown(diff, "dev", "prod")


def test_dev_vs_prod_is_a_comparison_without_dangers(dev_vs_prod):
    diff, markdown = dev_vs_prod
    assert markdown.startswith("## Environment comparison: `dev` → `prod`")
    assert diff.dangers == [] and "Dangerous changes" not in markdown
    assert "pulumi:pulumi:Stack" not in {c.type for c in diff.creates + diff.deletes}  # the root matches


def test_dev_vs_prod_shows_what_prod_adds(dev_vs_prod):
    diff, markdown = dev_vs_prod
    created = {c.name for c in diff.creates}
    assert {"network-training-c", "network-serving-c", "network-database-c"} <= created  # third AZ
    assert {"roles-ci-preview", "roles-ci-deploy", "roles-ci-oidc"} <= created            # CI only in prod's config
    assert "audit-bucket-object-lock" in created                                          # WORM trail logs
    # dev tracks with serverless MLflow, prod with a managed tracking server: a swap, nothing else goes.
    assert [(c.type, c.name) for c in diff.deletes] == [("aws:sagemaker/mlflowApp:MlflowApp", "tracking-app")]
    assert ("aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer", "tracking-server") in {(c.type, c.name) for c in diff.creates}
    assert "| + create | `aws:iam/role:Role` | `roles-ci-deploy` |" in markdown


def test_dev_vs_prod_shows_protection_and_retention_changes(dev_vs_prod):
    diff, markdown = dev_vs_prod
    updates = {c.name: c for c in diff.updates}
    key = updates["kms-data"]
    assert key.changed_paths[:2] == ["(protect)", "(retainOnDelete)"]
    assert key.before_after["deletionWindowInDays"] == (7, 30)
    assert "`deletionWindowInDays`: `7` → `30`" in markdown
    bucket = next(c for c in diff.replaces if c.name == "artifacts-models")
    assert bucket.replace_paths == ["bucket"] and bucket.before_after["forceDestroy"] == (True, False)
    assert "`artifacts-models` 🔒" in markdown


def test_changed_input_in_one_stack_is_an_update_with_its_path(tmp_path):
    import yaml

    from mlops_blueprint.preview import stack_file

    document = yaml.safe_load(stack_file("staging").read_text())
    document["config"]["mlops-platform:audit"] = {"logRetentionDays": 365}
    changed = tmp_path / "Pulumi.staging.yaml"
    changed.write_text(yaml.safe_dump(document))
    diff = diff_plans(plan_for("staging"), run_preview("staging", changed).plan)
    assert [(c.name, c.changed_paths) for c in diff.updates] == [("audit-logs", ["retentionInDays"])]
    assert diff.creates == diff.deletes == diff.replaces == []
    text = render_text(diff, "main", "pr")
    assert "audit-logs" in text and "retentionInDays" in text and "90" in text and "365" in text
