"""`preview --program DIR` (and `check`, `diff`, the mermaid graph) on a team's own program.

The team program is examples/team-platform: the platform's Kms and ArtifactStore plus the team's
own export bucket and queues. A copy of it with one more bucket, written by hand without
encryption and open to the public, shows that the policy pack judges the team's own resources:
the findings land on that bucket and nowhere else. Each preview runs once per module.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_blueprint import cli

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "team-platform"
QUEUE, BUCKET = "aws:sqs/queue:Queue", "aws:s3/bucket:Bucket"

# Appended to a copy of the example: a bucket of the team's own without any of the guardrails.
SCRATCH_BUCKET = textwrap.dedent('''

    scratch = aws.s3.Bucket("scratch", bucket=ctx.naming.bucket("scratch"), tags=tagging.resource(TEAM), opts=opts)
    aws.s3.BucketPublicAccessBlock(
        "scratch-public-access", bucket=scratch.bucket, block_public_acls=False, block_public_policy=False,
        ignore_public_acls=False, restrict_public_buckets=False, opts=opts)
''')


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(argv))
    return code, out.getvalue(), err.getvalue()


def of_type(plan: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [r for r in plan["resources"] if r["type"] == type_]


@pytest.fixture(scope="module")
def plans(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("plans")


@pytest.fixture(scope="module")
def clean(plans) -> tuple[int, str, dict[str, Any], Path]:
    """The example, previewed by the CLI with --format json and --json."""
    path = plans / "clean.json"
    code, out, _ = run_cli("preview", "--program", str(EXAMPLE), "--stack", "dev", "--format", "json",
                           "--json", str(path))
    return code, out, json.loads(path.read_text()), path


@pytest.fixture(scope="module")
def scratch_program(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("programs") / "team-platform"
    shutil.copytree(EXAMPLE, directory)
    with (directory / "__main__.py").open("a", encoding="utf-8") as main:
        main.write(SCRATCH_BUCKET)
    return directory


@pytest.fixture(scope="module")
def flagged(plans, scratch_program) -> tuple[int, str, dict[str, Any], Path]:
    """The copy with the hand-written bucket; tree output, no --stack (its only stack file)."""
    path = plans / "scratch.json"
    code, out, _ = run_cli("preview", "--program", str(scratch_program), "--json", str(path))
    return code, out, json.loads(path.read_text()), path


# -- the clean program ------------------------------------------------------------------------


def test_team_program_previews_with_its_own_resources_and_exit_0(clean):
    code, out, plan, _ = clean
    assert code == 0
    assert json.loads(out) == plan  # --format json prints the plan --json writes
    assert (plan["project"], plan["stack"]) == ("team-platform", "dev")
    # The team's own resources, beside the components, under the program's own stack.
    stack_urn = of_type(plan, "pulumi:pulumi:Stack")[0]["urn"]
    queues = {q["name"]: q for q in of_type(plan, QUEUE)}
    assert set(queues) == {"dataset-events", "dataset-events-dlq"}
    assert all(q["parent"] == stack_urn and q["inputs"]["sqsManagedSseEnabled"] is True for q in queues.values())
    assert queues["dataset-events"]["inputs"]["name"] == "team-platform-dev-dataset-events"
    # Config from Pulumi.dev.yaml reached the program through its own namespace (4 days).
    assert queues["dataset-events"]["inputs"]["messageRetentionSeconds"] == 4 * 86400
    (notification,) = of_type(plan, "aws:s3/bucketNotification:BucketNotification")
    assert notification["inputs"]["queues"][0]["queueArn"] == queues["dataset-events"]["outputs"]["arn"]
    top = {r["type"] for r in plan["resources"] if r["parent"] == stack_urn and not r["custom"]}
    assert top == {"mlops:security:Kms", "mlops:storage:ArtifactStore", "mlops:storage:SecureBucket"}
    assert plan["outputs"]["exportsBucketName"] == "team-platform-dev-feature-exports-123456789012-us-east-1"
    assert [f for f in plan["findings"] if f["enforcement"] == "mandatory"] == []


def test_config_file_and_account_id_apply_to_a_program(plans):
    document = yaml.safe_load((EXAMPLE / "Pulumi.dev.yaml").read_text())
    document["config"]["team-platform:eventRetentionDays"] = 7
    document["config"]["team-platform:environment"] = "prod"
    config_file = plans / "prod.yaml"
    config_file.write_text(yaml.safe_dump(document))
    path = plans / "prod.json"
    code, _, _ = run_cli("preview", "--program", str(EXAMPLE), "--stack", "prod", "--config-file", str(config_file),
                         "--account-id", "210987654321", "--json", str(path), "--format", "json")
    plan = json.loads(path.read_text())
    assert code == 0 and plan["stack"] == "prod"
    (events,) = [q for q in of_type(plan, QUEUE) if q["name"] == "dataset-events"]
    assert events["inputs"]["messageRetentionSeconds"] == 7 * 86400
    assert events["outputs"]["arn"].startswith("arn:aws:sqs:us-east-1:210987654321:")
    assert all(b["protect"] for b in of_type(plan, BUCKET))


def test_the_repository_itself_as_a_program_gives_the_stack_preview_byte_for_byte():
    """Pulumi.yaml's main: infra/ and stackConfigDir: stacks/ are honoured, and a program runs under
    the very harness `preview --stack` uses: the same plan, findings included."""
    from support.stacks import plan_for

    from mlops_blueprint.plan import dumps
    from mlops_blueprint.program_preview import preview_program

    assert dumps(preview_program(REPO, "dev").plan) == dumps(plan_for("dev"))


# -- the pack judges the team's own resources -------------------------------------------------------


def test_an_unencrypted_public_bucket_of_the_team_is_a_mandatory_finding_and_exit_1(flagged):
    code, out, plan, _ = flagged
    assert code == 1
    (scratch,) = [b for b in of_type(plan, BUCKET) if b["name"] == "scratch"]
    mandatory = [f for f in plan["findings"] if f["enforcement"] == "mandatory"]
    on_scratch = {f["policy"] for f in mandatory if f["urn"] == scratch["urn"]}
    assert {"s3-sse-kms", "s3-public-access-block", "s3-versioning-enabled", "s3-tls-only"} <= on_scratch
    # Only the hand-written bucket is flagged: the components and the rest of the program pass.
    assert {f["urn"] for f in mandatory} == {scratch["urn"]}
    assert "s3-sse-kms" in out and "scratch" in out


def test_check_takes_a_program_and_fails_on_its_own_resources(clean, scratch_program, monkeypatch, tmp_path):
    # checkov itself is exercised in tests/check; here: which plan reaches the scanners, and the exit code.
    seen: list[dict[str, Any]] = []
    monkeypatch.setattr("mlops_blueprint.check.checkov_scan.run_checkov", lambda plan: seen.append(plan) or [])
    report_path = tmp_path / "check.json"
    assert run_cli("check", "--program", str(EXAMPLE), "--json", str(report_path))[0] == 0
    report = json.loads(report_path.read_text())
    assert seen[-1] == clean[2]  # the same plan as `preview --program`
    assert {"preflight", "policy-pack"} <= set(report["summary"])
    assert not {"zizmor", "jsonschema"} & set(report["summary"])  # this repository's CI templates are not the team's
    code, out, _ = run_cli("check", "--program", str(scratch_program), "--stack", "dev")
    assert code == 1
    assert "policy-pack s3-sse-kms" in out


def test_diff_compares_two_program_plans(clean, flagged):
    code, out, _ = run_cli("diff", str(clean[3]), str(flagged[3]), "--format", "json")
    assert code == 0
    diff = json.loads(out)
    assert {c["name"] for c in diff["creates"]} == {"scratch", "scratch-public-access"}
    assert diff["updates"] == diff["deletes"] == diff["replaces"] == []
    assert "s3-sse-kms" in {f["policy"] for f in diff["findingsAdded"]}


def test_cost_estimates_a_program_from_the_plan_preview_writes(clean, flagged, scratch_program):
    from mlops_blueprint.cost import estimate

    code, out, _ = run_cli("cost", "--program", str(EXAMPLE), "--stack", "dev", "--format", "json")
    report = json.loads(out)
    assert code == 0 and (report["stack"], report["region"]) == ("dev", "us-east-1")
    assert report == json.loads(json.dumps(estimate(clean[2]).to_dict()))  # the plan `preview --program` writes
    assert set(report["components"]) == {"kms", "artifacts", "exports"}  # the team's own SecureBucket too
    # A resource the team writes by hand is priced as well (no --stack: the program's only stack file).
    code, out, _ = run_cli("cost", "--program", str(scratch_program), "--format", "json")
    scratch = json.loads(out)
    assert code == 0 and scratch == json.loads(json.dumps(estimate(flagged[2]).to_dict()))
    assert [line["item"] for line in scratch["lines"] if line["resource"] == "scratch"] == ["S3 Standard, other (assumed)"]
    assert scratch["monthlyTotal"] > report["monthlyTotal"]


def test_cost_without_a_source_or_of_a_bad_program_exits_2_saying_what_to_pass(tmp_path):
    code, _, err = run_cli("cost")
    assert code == 2 and "--program DIR" in err and "--plan PATH" in err
    code, _, err = run_cli("cost", "--program", str(tmp_path))
    assert code == 2 and f"{tmp_path / 'Pulumi.yaml'}: no such file" in err
    code, _, err = run_cli("cost", "--program", str(EXAMPLE), "--stack", "nosuch")
    assert code == 2 and "Pulumi.nosuch.yaml" in err


def test_mermaid_graph_of_a_program():
    code, out, _ = run_cli("preview", "--program", str(EXAMPLE), "--format", "mermaid")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "flowchart LR" and "team-platform / dev" in lines[1]
    nodes = "\n".join(line.strip() for line in lines)
    # The team's own resources are nodes beside the components, and their references are edges.
    assert 'dataset_events("dataset-events<br/>aws:sqs/queue:Queue")' in nodes
    edges = {line.strip() for line in lines if "-->" in line and not line.strip().startswith("%%")}
    assert {"exports --> kms", "exports --> artifacts", "dataset_events_notification --> artifacts",
            "dataset_events --> dataset_events_dlq"} <= edges


# -- bad input: exit 2, naming the file ------------------------------------------------------------


def test_a_directory_without_pulumi_yaml_exits_2_naming_the_file(tmp_path):
    (tmp_path / "__main__.py").write_text("import pulumi\n")
    code, _, err = run_cli("preview", "--program", str(tmp_path))
    assert code == 2
    assert f"{tmp_path / 'Pulumi.yaml'}: no such file" in err


def test_an_unknown_stack_exits_2_naming_the_file_and_the_stacks_there():
    code, _, err = run_cli("preview", "--program", str(EXAMPLE), "--stack", "nosuch")
    assert code == 2
    assert f"{EXAMPLE / 'Pulumi.nosuch.yaml'}: no such stack file" in err and "Pulumi.dev.yaml" in err


def test_another_runtime_or_several_stacks_without_stack_exit_2(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: web\nruntime: nodejs\n")
    code, _, err = run_cli("preview", "--program", str(tmp_path))
    assert code == 2 and "runtime is 'nodejs'" in err and "Python programs only" in err
    (tmp_path / "Pulumi.yaml").write_text("name: web\nruntime: python\n")
    (tmp_path / "__main__.py").write_text("import pulumi\n")
    for stack in ("dev", "prod"):
        (tmp_path / f"Pulumi.{stack}.yaml").write_text("config: {}\n")
    code, _, err = run_cli("preview", "--program", str(tmp_path))
    assert code == 2 and "pass --stack NAME" in err and "dev, prod" in err
    assert run_cli("preview")[0] == 2  # neither --stack nor --program


def test_a_program_that_raises_exits_2_naming_its_file_and_line(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: crashy\nruntime:\n  name: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  aws:region: us-east-1\n")
    (tmp_path / "__main__.py").write_text("import pulumi\n\nbucket_name = pulumi.get_stack()\nprint(undefined_name)\n")
    code, _, err = run_cli("preview", "--program", str(tmp_path))
    assert code == 2
    assert f"{tmp_path / '__main__.py'}:4: NameError: name 'undefined_name' is not defined" in err
    assert "Traceback" not in err


def test_a_refused_config_value_exits_2_naming_the_key_and_the_line(plans):
    document = yaml.safe_load((EXAMPLE / "Pulumi.dev.yaml").read_text())
    document["config"]["team-platform:eventRetentionDays"] = 30
    config_file = plans / "bad-retention.yaml"
    config_file.write_text(yaml.safe_dump(document))
    code, _, err = run_cli("preview", "--program", str(EXAMPLE), "--config-file", str(config_file))
    assert code == 2
    assert "team-platform:eventRetentionDays is 30; SQS accepts 1 to 14 days" in err
    assert re.search(r"team-platform/__main__\.py:\d+: team-platform:eventRetentionDays", err), err


def test_a_program_imports_its_own_modules_and_reads_its_files_as_under_pulumi(tmp_path):
    """The project directory is the working directory and on sys.path; a second program's module of
    the same name is imported afresh, not served from the first one's."""
    from mlops_blueprint.program_preview import preview_program

    outputs = []
    for team in ("red", "blue"):
        directory = tmp_path / team
        directory.mkdir()
        (directory / "Pulumi.yaml").write_text(f"name: {team}\nruntime: python\nmain: app/\n"
                                               "config:\n  size:\n    default: 2\n")
        (directory / "Pulumi.dev.yaml").write_text("config: {}\n")
        (directory / "app").mkdir()
        (directory / "app" / "helpers.py").write_text(f"TEAM = {team!r}\n")
        (directory / "settings.txt").write_text(f"{team}-settings\n")
        (directory / "app" / "__main__.py").write_text(textwrap.dedent("""
            import pulumi
            import helpers

            pulumi.export("team", helpers.TEAM)
            pulumi.export("settings", open("settings.txt").read().strip())
            pulumi.export("size", pulumi.Config().require_int("size"))
        """))
        outputs.append(preview_program(directory, "dev").plan["outputs"])
    assert outputs == [{"team": "red", "settings": "red-settings", "size": 2},
                       {"team": "blue", "settings": "blue-settings", "size": 2}]
