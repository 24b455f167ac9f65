"""`mlops-blueprint check`: every plan of the catalogue passes with the reviewed suppressions, and each
scanner reports a deliberately broken resource or template.

checkov runs once per session, over every plan at once (its start-up dominates), and, where the
machine allows it, inside a network namespace without any interface: the results then prove that
it needs no network.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import shutil
import subprocess
import textwrap

import pytest
from support.stacks import VARIANTS, of_type, plan_for, result_for

from mlops_blueprint.check.checkov_scan import checkov_executable, run_checkov_many
from mlops_blueprint.check.ci_templates import github_workflows, run_schemas, run_zizmor
from mlops_blueprint.check.cloudsplaining_scan import scan_roles
from mlops_blueprint.check.runner import policy_pack_results, run_scanners
from mlops_blueprint.check.suppressions import load_suppressions
from mlops_blueprint.cli import main
from mlops_blueprint.config import ConfigError
from mlops_blueprint.preflight.run import run_preflight

try:
    checkov_executable()
    HAVE_CHECKOV = True
except RuntimeError:
    HAVE_CHECKOV = False
needs_checkov = pytest.mark.skipif(not HAVE_CHECKOV, reason="checkov not installed (make check-tools)")


def _broken_sse() -> dict:
    """dev with the models bucket on SSE-S3 instead of KMS."""
    plan = copy.deepcopy(plan_for("dev"))
    [sse] = [r for r in of_type(plan, "aws:s3/bucketServerSideEncryptionConfiguration:"
                                      "BucketServerSideEncryptionConfiguration") if "models" in r["name"]]
    sse["inputs"]["rules"][0]["applyServerSideEncryptionByDefault"] = {"sseAlgorithm": "AES256"}
    return plan


def _no_public_access_block() -> dict:
    """dev without the models bucket's public access block (only the graph can tell)."""
    plan = copy.deepcopy(plan_for("dev"))
    plan["resources"] = [r for r in plan["resources"]
                         if not (r["type"] == "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
                                 and "models" in r["name"])]
    return plan


@functools.cache
def _offline_checkov(tmp: str) -> str:
    """A wrapper that runs checkov in a fresh network namespace (no interfaces), where allowed."""
    real = checkov_executable()
    unshare = shutil.which("unshare")
    if not unshare or subprocess.run([unshare, "-n", "true"], capture_output=True, check=False).returncode:
        return real
    wrapper = os.path.join(tmp, "checkov-offline")
    with open(wrapper, "w") as f:
        f.write(f'#!/bin/sh\nexec {unshare} -n {real} "$@"\n')
    os.chmod(wrapper, 0o755)
    return wrapper


@functools.cache
def checkov_results(tmp: str) -> dict:
    plans = {name: plan_for(name) for name in VARIANTS}
    plans.update({"broken-sse": _broken_sse(), "no-public-access-block": _no_public_access_block()})
    old = os.environ.get("CHECKOV")
    os.environ["CHECKOV"] = _offline_checkov(tmp)
    try:
        return run_checkov_many(plans)
    finally:
        if old is None:
            os.environ.pop("CHECKOV", None)
        else:
            os.environ["CHECKOV"] = old


@pytest.fixture(scope="session")
def checkov(tmp_path_factory):
    return checkov_results(str(tmp_path_factory.mktemp("checkov")))


@needs_checkov
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_variant_passes_check(variant, checkov):
    plan = plan_for(variant)
    stack = VARIANTS[variant][0]
    report = run_scanners(stack, {"preflight": lambda: run_preflight(plan).results,
                                  "policy-pack": lambda: policy_pack_results(plan),
                                  "checkov": lambda: checkov[variant],
                                  "cloudsplaining": lambda: scan_roles(plan)}, load_suppressions())
    counts = report.counts()
    assert counts["checkov"]["passed"] > 100 and counts["cloudsplaining"]["passed"] > 0
    assert [f"{o.scanner} {o.result.check} {o.result.message}" for o in report.failures] == []
    assert all(o.suppressed_by.reason for o in report.outcomes if o.suppressed_by)


@needs_checkov
def test_checkov_reports_a_bucket_without_kms(checkov):
    failed = {(r.check, r.subject) for r in checkov["broken-sse"] if not r.passed}
    assert ("CKV_AWS_145", "aws_s3_bucket.artifacts-models") in failed
    assert ("CKV_AWS_145", "aws_s3_bucket.artifacts-models") not in {(r.check, r.subject) for r in checkov["dev"]
                                                                    if not r.passed}


@needs_checkov
def test_checkov_graph_sees_which_bucket_a_public_access_block_belongs_to(checkov):
    def pab(variant):
        return {r.subject: r.passed for r in checkov[variant] if r.check == "CKV2_AWS_6"}

    assert pab("dev") and all(pab("dev").values())
    assert pab("no-public-access-block")["aws_s3_bucket.artifacts-models"] is False


def test_cloudsplaining_reports_privilege_escalation():
    plan = copy.deepcopy(plan_for("dev"))
    [policy, *_] = of_type(plan, "aws:iam/rolePolicy:RolePolicy")
    policy["inputs"]["policy"] = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["iam:CreatePolicyVersion"], "Resource": "*"}]})
    failed = [r for r in scan_roles(plan) if not r.passed]
    assert "privilege-escalation" in {r.check for r in failed}
    assert {r.urn for r in failed} <= set(policy["propertyDependencies"]["role"])
    assert all(r.passed for r in scan_roles(plan_for("dev")))


def test_policy_pack_failures_come_from_the_plan():
    plan = {"findings": [{"policy": "s3-sse-kms", "enforcement": "mandatory", "urn": "urn:x::b", "message": "m"},
                         {"policy": "tags", "enforcement": "advisory", "urn": "urn:x::c", "message": "a"}]}
    results = policy_pack_results(plan)
    assert [r.check for r in results if not r.passed] == ["s3-sse-kms"]


def test_zizmor_reports_unpinned_actions_and_persisted_credentials(tmp_path):
    workflow = tmp_path / "ci.yml"
    workflow.write_text(textwrap.dedent("""\
        on: push
        permissions: {}
        jobs:
          test:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
    """))
    checks = {r.check for r in run_zizmor([workflow]) if not r.passed}
    assert {"unpinned-uses", "artipacked"} <= checks
    assert all(r.passed for r in run_zizmor(github_workflows()))


def test_schemas_report_an_invalid_template(tmp_path):
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "bad.yml").write_text("on: push\njobs:\n  x:\n    steps: 3\n")
    (tmp_path / ".gitlab-ci.yml").write_text("stages: 3\n")
    results = run_schemas(tmp_path)
    assert sorted((r.check, r.passed) for r in results) == [("schema-github-workflows", False),
                                                            ("schema-gitlab-ci", False)]
    assert all(r.passed for r in run_schemas())


def test_a_suppression_needs_a_reason(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("suppressions:\n  - {scanner: checkov, check: CKV_AWS_1, subject: '*'}\n"
                    "  - {scanner: nope, check: X, reason: r}\n")
    with pytest.raises(ConfigError) as exc:
        load_suppressions(path)
    assert "suppressions[0].reason" in str(exc.value) and "suppressions[1].scanner" in str(exc.value)
    assert all(s.reason for s in load_suppressions())


def test_check_exits_2_on_bad_input(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text("suppressions: {}\n")
    assert main(["check", "--stack", "dev", "--suppressions", str(path)]) == 2
    assert main(["check", "--stack", "nosuchstack"]) == 2
    assert "no such stack file" in capsys.readouterr().err


@needs_checkov
def test_check_command_exits_1_on_an_unsuppressed_failure_and_0_once_suppressed(tmp_path, monkeypatch, capsys,
                                                                                  checkov):
    # The command over dev's session plan and checkov results (the preview and checkov are tested above).
    monkeypatch.setattr("mlops_blueprint.preview.run_preview", lambda stack, config_file=None: result_for("dev"))
    monkeypatch.setattr("mlops_blueprint.check.checkov_scan.run_checkov", lambda plan: checkov["dev"])
    empty = tmp_path / "none.yaml"
    empty.write_text("suppressions: []\n")
    assert main(["check", "--stack", "dev", "--no-templates", "--suppressions", str(empty)]) == 1
    out = capsys.readouterr().out
    assert "checkov" in out and "CKV_AWS_144" in out
    report_path = tmp_path / "out" / "check-dev.json"
    assert main(["check", "--stack", "dev", "--no-templates", "--json", str(report_path)]) == 0
    report = json.loads(report_path.read_text())
    suppressed = [r for r in report["results"] if r["status"] == "suppressed"]
    assert suppressed and all(r["reason"] for r in suppressed)
    assert set(report["summary"]) == {"preflight", "policy-pack", "checkov", "cloudsplaining"}
