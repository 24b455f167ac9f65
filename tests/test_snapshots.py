"""Golden plans: any change to what a stack would create shows up here, as a readable diff.

Update them with `make snapshots` after reviewing the change (git diff tests/snapshots).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.stacks import plan_for

from mlops_blueprint.diff import diff_plans
from mlops_blueprint.diff_render import render_text
from mlops_blueprint.plan import dumps

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_plan_matches_its_snapshot(stack):
    golden = SNAPSHOTS / f"{stack}.json"
    assert golden.is_file(), f"no snapshot for {stack}: run `make snapshots`"
    current = plan_for(stack)  # the shipped stack file's preview, shared with the other system tests
    if dumps(current) != golden.read_text():
        report = render_text(diff_plans(json.loads(golden.read_text()), current), f"{stack} snapshot", f"{stack} now")
        pytest.fail(f"the {stack} plan changed; review and run `make snapshots`:\n{report}")


def test_snapshot_diff_is_readable_when_something_changes():
    """The failure message above must name the change, not dump two JSON blobs."""
    golden = json.loads((SNAPSHOTS / "dev.json").read_text())
    changed = json.loads(json.dumps(golden))
    bucket = next(r for r in changed["resources"] if r["type"] == "aws:s3/bucketVersioning:BucketVersioning")
    bucket["inputs"]["versioningConfiguration"]["status"] = "Suspended"
    report = render_text(diff_plans(golden, changed), "snapshot", "now")
    assert "versioningConfiguration.status" in report and "Suspended" in report and bucket["name"] in report


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_snapshots_hold_no_raw_secrets(stack):
    # Secrets are masked when recorded; Pulumi's secret signature must never reach a snapshot.
    assert "1b47061264138c4ac30d75fd1eb44270" not in (SNAPSHOTS / f"{stack}.json").read_text()
