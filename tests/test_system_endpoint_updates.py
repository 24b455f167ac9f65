"""Changing a served model's variants updates its endpoint in place, and the diff says how it goes out.

The A/B workflow adds, removes and renames variants. The provider replaces an endpoint whose
rollback alarm list changes (ForceNew), and a replacement of an endpoint with a fixed name fails
(CreateEndpoint on an existing name): the list must not follow the variants. SageMaker's
deployment guardrails need the old variant names, so the diff notes that such an update must
go out without them, or that it does.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import pytest
from support.stacks import VARIANTS, plan_for, preview_with, shared

from mlops_blueprint.cli import main
from mlops_blueprint.diff import diff_plans
from mlops_blueprint.diff_render import endpoint_notes, render_markdown, render_text

ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def system_with(edit: Any) -> dict[str, Any]:
    """The ``staging-system`` variant (two models of two variants, monitored, retrained) after ``edit``."""
    stack, overrides, region = VARIANTS["staging-system"]
    changed = copy.deepcopy(overrides)
    edit(changed)
    return preview_with(stack, region, **changed).plan


def add_shadow(overrides: dict[str, Any]) -> None:
    [fraud] = [m for m in overrides["models"] if m["name"] == "fraud"]
    fraud["variants"].append({"name": "shadow", "weight": 0.1, "instanceType": "ml.m5.large"})


@functools.cache
def with_shadow() -> dict[str, Any]:
    """``system_with(add_shadow)``, previewed once per run: three tests read it, none changes it."""
    return shared("staging-system+shadow", lambda: system_with(add_shadow))


def test_adding_a_third_variant_updates_the_endpoint_in_place() -> None:
    base = plan_for("staging-system")
    head = with_shadow()
    diff = diff_plans(base, head)
    changes = {(c.type, c.name): c for c in diff.changes}

    endpoint = changes[(ENDPOINT, "serving-fraud-endpoint")]
    assert endpoint.op == "update" and endpoint.replace_paths == []
    assert endpoint.changed_paths == ["endpointConfigName"]  # the rollback alarm list is untouched
    assert (ENDPOINT, "serving-churn-endpoint") not in changes
    # The rollback alarms keep their names; their queries now cover the new variant.
    for purpose in ("5xx", "latency"):
        assert changes[(ALARM, f"serving-fraud-rollback-{purpose}")].op == "update"
    # The configuration is immutable: a new one, created before the old one goes.
    assert changes[(CONFIG, "serving-fraud-config")].op == "replace"
    assert not [c for c in diff.changes if c.op in ("replace", "delete") and c.type in (ENDPOINT, ALARM)]
    # Monitoring pages on the new variant too (its own alarms, created).
    assert changes[(ALARM, "monitoring-fraud-shadow-5xx")].op == "create"


def test_the_diff_says_a_changed_variant_set_needs_to_go_out_without_guardrails() -> None:
    base = plan_for("staging-system")
    head = with_shadow()
    [note] = endpoint_notes(base, head)
    assert note.startswith("endpoint mlops-platform-staging-fraud: the variant set changes (added: shadow)")
    assert "deployment.guardrails: false" in note
    diff = diff_plans(base, head)
    assert "### Notes" in render_markdown(diff, "main", "pr", [note])
    assert f"  i  {note}" in render_text(diff, "main", "pr", [note])

    def without_guardrails(overrides: dict[str, Any]) -> None:
        add_shadow(overrides)
        [fraud] = [m for m in overrides["models"] if m["name"] == "fraud"]
        fraud["deployment"] = {"guardrails": False}

    unguarded = system_with(without_guardrails)
    [note] = endpoint_notes(base, unguarded)
    assert "updated in place without deployment guardrails: all traffic moves to the new configuration at once" in note
    endpoint = next(c for c in diff_plans(base, unguarded).changes if c.type == ENDPOINT)
    assert endpoint.op == "update" and "deploymentConfig.blueGreenUpdatePolicy" in endpoint.changed_paths


def test_no_note_when_the_variant_set_stays() -> None:
    def new_image(overrides: dict[str, Any]) -> None:
        [churn] = [m for m in overrides["models"] if m["name"] == "churn"]
        churn["image"] = "inference:1.4.3"

    base = plan_for("staging-system")
    head = system_with(new_image)
    assert endpoint_notes(base, head) == []
    endpoint = next(c for c in diff_plans(base, head).changes if c.type == ENDPOINT)
    assert endpoint.op == "update"


def test_the_diff_command_prints_the_note(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base, head = tmp_path / "base.json", tmp_path / "head.json"
    base.write_text(json.dumps(plan_for("staging-system")))
    head.write_text(json.dumps(with_shadow()))
    for fmt, marker in (("markdown", "### Notes"), ("text", "Notes:"), ("json", '"notes"')):
        assert main(["diff", str(base), str(head), "--format", fmt]) == 0
        out = capsys.readouterr().out
        assert marker in out and "the variant set changes (added: shadow)" in out


SERVED = sorted(v for v, (_, overrides, _) in VARIANTS.items()
                if overrides.get("models") and overrides.get("serving", {}).get("backend", "sagemaker") == "sagemaker")


@pytest.mark.parametrize("variant", SERVED)
def test_every_served_variant_updates_its_endpoints_in_place_when_a_variant_is_added(variant: str) -> None:
    stack, overrides, region = VARIANTS[variant]
    changed = copy.deepcopy(overrides)
    for model in changed["models"]:
        model.setdefault("variants", [{}]).append({"name": "extra", "weight": 0.1})  # [{}]: the default variant
    head = preview_with(stack, region, **changed).plan
    diff = diff_plans(plan_for(variant), head)
    endpoints = [c for c in diff.changes if c.type == ENDPOINT]
    assert len(endpoints) == len(overrides["models"])
    assert {(c.op, tuple(c.replace_paths)) for c in endpoints} == {("update", ())}
    assert len(endpoint_notes(plan_for(variant), head)) == len(endpoints)
