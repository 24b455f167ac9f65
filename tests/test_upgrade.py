"""Upgrading a stack created by the previous release: what `pulumi up` would replace.

``tests/snapshots/previous/`` holds the golden plans of the release before account-wide names
carried the region. A stack created then keeps its names with ``accountWideNames: legacy``: its
update must replace or delete no stateful resource (buckets, keys, log groups, MLflow servers and
apps, registries), since that loses data or, in prod, fails on protection.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.stacks import preview_with

from mlops_blueprint.diff import diff_plans
from mlops_blueprint.resource_types import stateful_types

PREVIOUS = Path(__file__).parent / "snapshots" / "previous"


def _stateful_losses(stack: str, **overrides) -> list[tuple[str, str, str]]:
    before = json.loads((PREVIOUS / f"{stack}.json").read_text())
    after = preview_with(stack, **overrides).plan
    diff = diff_plans(before, after)
    return sorted((change.op, change.type, change.name) for change in [*diff.replaces, *diff.deletes]
                  if change.type in stateful_types())


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_a_stack_of_the_previous_release_updates_in_place_with_legacy_names(stack):
    assert _stateful_losses(stack, accountWideNames="legacy") == []


def test_regional_names_on_an_old_stack_would_replace_its_mlflow_server():
    """Why the legacy option exists: the tracking role's new name forces a new server (roleArn)."""
    losses = _stateful_losses("prod")
    assert ("replace", "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer", "tracking-server") in losses
