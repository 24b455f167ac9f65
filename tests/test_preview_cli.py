"""The offline preview end to end: the real program, each stack, the CLI contract."""

from __future__ import annotations

import json
from pathlib import Path
from unittest import mock

import pulumi
import pulumi_aws as aws
import pytest
import yaml

from mlops_blueprint import cli
from mlops_blueprint.config import PROJECT, BuildError, ConfigError
from mlops_blueprint.mock_runtime import run_program
from mlops_blueprint.plan import dumps
from mlops_blueprint.preview import _run_main, run_preview, stack_file

REPO = Path(__file__).resolve().parents[1]
STATEFUL_TYPES = {"aws:s3/bucket:Bucket", "aws:kms/key:Key", "aws:cloudwatch/logGroup:LogGroup"}
REQUIRED_TYPES = {
    "aws:kms/key:Key", "aws:ec2/vpc:Vpc", "aws:ec2/vpcEndpoint:VpcEndpoint", "aws:s3/bucket:Bucket",
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "aws:s3/bucketLogging:BucketLogging",
    "aws:cloudtrail/trail:Trail", "aws:iam/role:Role",
}


@pytest.fixture(scope="module")
def prod_plan(tmp_path_factory) -> tuple[dict, str]:
    path = tmp_path_factory.mktemp("plans") / "plan.json"
    assert cli.main(["preview", "--stack", "prod", "--json", str(path), "--format", "json"]) == 0
    text = path.read_text()
    return json.loads(text), text


def test_project_name_matches_pulumi_yaml():
    project = yaml.safe_load((REPO / "Pulumi.yaml").read_text())
    assert project["name"] == PROJECT
    assert project["main"] == "infra/" and project["stackConfigDir"] == "stacks/"
    assert project["runtime"]["options"] == {"toolchain": "pip", "virtualenv": ".venv"}


def test_prod_plan_has_the_secure_baseline(prod_plan):
    plan, _ = prod_plan
    assert plan["stack"] == "prod" and plan["project"] == PROJECT
    types = {r["type"] for r in plan["resources"]}
    assert REQUIRED_TYPES <= types, REQUIRED_TYPES - types
    assert [r["urn"] for r in plan["resources"]] == sorted(r["urn"] for r in plan["resources"])


def test_prod_plan_has_parents_and_dependencies(prod_plan):
    plan, _ = prod_plan
    by_urn = {r["urn"]: r for r in plan["resources"]}
    for resource in plan["resources"]:
        if resource["type"] == "pulumi:pulumi:Stack":
            continue
        assert resource["parent"] in by_urn, resource["urn"]
        assert all(dep in by_urn for dep in resource["dependencies"]), resource["urn"]
        if resource["custom"] and not resource["type"].startswith("pulumi:providers:"):
            assert resource["provider"] and resource["provider"].rsplit("::", 1)[0] in by_urn
            assert by_urn[resource["parent"]]["custom"] is False  # every AWS resource lives in a component
    trail = next(r for r in plan["resources"] if r["type"] == "aws:cloudtrail/trail:Trail")
    assert trail["dependencies"], "the trail must wait for its bucket policy"


def test_prod_stateful_resources_are_protected_and_retained(prod_plan):
    plan, _ = prod_plan
    stateful = [r for r in plan["resources"] if r["type"] in STATEFUL_TYPES]
    assert {r["type"] for r in stateful} == STATEFUL_TYPES
    assert all(r["protect"] and r["retainOnDelete"] for r in stateful), [r["name"] for r in stateful if not r["protect"]]


def test_prod_plan_has_no_mandatory_findings_and_the_documented_outputs(prod_plan):
    plan, _ = prod_plan
    assert [f for f in plan["findings"] if f["enforcement"] == "mandatory"] == []
    for name in ("modelsBucketName", "artifactBucketName", "datasetsBucketName", "dataKeyArn", "logsKeyArn", "vpcId",
                 "auditTrailArn", "trainingRoleArn", "servingRoleArn", "trackingRoleArn", "pipelinesRoleArn", "ciDeployRoleArn"):
        assert plan["outputs"].get(name), name
    assert plan["outputs"]["modelsBucketName"].startswith("mlops-platform-prod-")


def test_plans_are_byte_identical_across_runs(prod_plan, tmp_path):
    _, first = prod_plan
    second = tmp_path / "again.json"
    assert cli.main(["preview", "--stack", "prod", "--json", str(second), "--format", "json"]) == 0
    assert second.read_text() == first


def test_dev_tree_prints_components_and_counts(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "240")
    assert cli.main(["preview", "--stack", "dev"]) == 0
    out = capsys.readouterr().out
    for component in ("mlops:security:Kms", "mlops:network:Network", "mlops:storage:ArtifactStore",
                      "mlops:audit:AuditTrail", "mlops:iam:PlatformRoles"):
        assert component in out
    assert "dev: " in out and "0 mandatory" in out


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_other_stacks_preview_cleanly(stack):
    result = run_preview(stack)
    assert result.mandatory_findings == []
    protected = [r for r in result.plan["resources"] if r["protect"]]
    assert protected == []  # only prod protects; staging retains
    if stack == "staging":
        buckets = [r for r in result.plan["resources"] if r["type"] == "aws:s3/bucket:Bucket"]
        assert buckets and all(r["retainOnDelete"] for r in buckets)


def _write_stack(tmp_path: Path, **overrides) -> Path:
    document = yaml.safe_load(stack_file("dev").read_text())
    document["config"].update(overrides)
    path = tmp_path / "Pulumi.custom.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_bad_config_exits_2_naming_the_key(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "240")
    path = _write_stack(tmp_path, **{"mlops-platform:netwrk": {"cidr": "10.0.0.0/16"}, "aws:region": "nowhere"})
    assert cli.main(["preview", "--stack", "dev", "--config-file", str(path), "--json", str(tmp_path / "p.json")]) == 2
    err = capsys.readouterr().err
    assert "mlops-platform:netwrk: unknown key; did you mean 'network'?" in err
    assert "aws:region: 'nowhere' is not an AWS region" in err
    assert not (tmp_path / "p.json").exists()


def test_the_program_itself_registers_nothing_on_bad_config():
    """Under `pulumi up` there is no preview to catch it: the program must stop before any resource."""
    raw = yaml.safe_load(stack_file("dev").read_text())["config"]
    raw["mlops-platform:kms"] = {"deletionWindowDays": 3}
    run = run_program(_run_main, stack="dev", project=PROJECT, config=raw, capture_errors=True)
    assert isinstance(run.error, ConfigError) and "mlops-platform:kms.deletionWindowDays" in str(run.error)
    assert [r.type for r in run.registrations] == ["pulumi:pulumi:Stack"]  # only the engine's root
    good = run_program(_run_main, stack="dev", project=PROJECT, config=yaml.safe_load(stack_file("dev").read_text())["config"])
    assert good.error is None and len(good.registrations) > 50  # the same harness does see resources


def test_missing_stack_file_is_a_config_error(capsys):
    assert cli.main(["preview", "--stack", "qa"]) == 2
    assert "Pulumi.qa.yaml: no such stack file" in capsys.readouterr().err


def test_mandatory_findings_exit_1(monkeypatch, capsys):
    finding = {"policy": "s3-versioning", "enforcement": "mandatory", "urn": "urn:x", "message": "bucket 'x' is not versioned"}
    monkeypatch.setattr("mlops_blueprint.preview.evaluate_plan", lambda plan, **_: [finding])
    monkeypatch.setenv("COLUMNS", "240")
    assert cli.main(["preview", "--stack", "dev"]) == 1
    assert "bucket 'x' is not versioned" in capsys.readouterr().out


def test_json_format_prints_the_plan(capsys):
    assert cli.main(["preview", "--stack", "dev", "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out)["stack"] == "dev"
    assert out == dumps(json.loads(out))


def test_permissions_boundary_reaches_every_role(tmp_path):
    boundary = "arn:aws:iam::123456789012:policy/platform-boundary"
    path = _write_stack(tmp_path, **{"mlops-platform:iam": {"permissionsBoundaryArn": boundary,
                                                           "ci": {"provider": "gitlab", "repository": "ml/platform"}}})
    result = run_preview("dev", path)
    roles = [r for r in result.plan["resources"] if r["type"] == "aws:iam/role:Role"]
    assert len(roles) >= 8  # platform, CI and the service-delivery roles (flow logs, CloudTrail)
    assert {r["name"]: r["inputs"].get("permissionsBoundary") for r in roles} == {r["name"]: boundary for r in roles}
    assert result.mandatory_findings == []


def test_shared_network_comes_from_a_stack_reference(tmp_path):
    from mlops_blueprint.mock_runtime import MOCK_SHARED_STACK_OUTPUTS as shared

    path = _write_stack(tmp_path, **{"mlops-platform:network": {"mode": "shared", "sharedStack": "acme/mlops-platform/shared"}})
    result = run_preview("dev", path)
    resources = result.plan["resources"]
    [reference] = [r for r in resources if r["type"] == "pulumi:pulumi:StackReference"]
    assert reference["id"] == "acme/mlops-platform/shared" and reference["inputs"]["name"] == "acme/mlops-platform/shared"
    assert not [r for r in resources if r["type"] in ("aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/vpcEndpoint:VpcEndpoint")]
    [workload] = [r for r in resources if r["type"] == "aws:ec2/securityGroup:SecurityGroup"]
    assert workload["inputs"]["vpcId"] == shared["vpcId"]
    [db_group] = [r for r in resources if r["type"] == "aws:rds/subnetGroup:SubnetGroup"]
    assert db_group["inputs"]["subnetIds"] == shared["databaseSubnetIds"]
    outputs = result.plan["outputs"]
    assert (outputs["vpcId"], outputs["trainingSubnetIds"]) == (shared["vpcId"], shared["trainingSubnetIds"])
    assert result.mandatory_findings == []


def test_shared_network_needs_its_stack_name(tmp_path, capsys):
    path = _write_stack(tmp_path, **{"mlops-platform:network": {"mode": "shared"}})
    assert cli.main(["preview", "--stack", "dev", "--config-file", str(path)]) == 2
    assert "mode 'shared' needs network.sharedStack" in capsys.readouterr().err


def test_broken_config_against_the_org_policy_exits_1_with_findings(tmp_path, capsys, monkeypatch):
    """The organisation demands a permissions boundary (policy config); a stack that forgets it is
    flagged on every role and the preview fails, exactly as `pulumi preview --policy-pack` would."""
    monkeypatch.setenv("COLUMNS", "240")
    boundary = "arn:aws:iam::123456789012:policy/org-boundary"
    policy_config = tmp_path / "policy-config.json"
    policy_config.write_text(json.dumps({"iam-role-permissions-boundary": {"permissionsBoundaryArn": boundary}}))
    plan_path = tmp_path / "plan.json"
    code = cli.main(["preview", "--stack", "dev", "--policy-config", str(policy_config), "--json", str(plan_path)])
    assert code == 1
    plan = json.loads(plan_path.read_text())
    roles = {r["urn"] for r in plan["resources"] if r["type"] == "aws:iam/role:Role"}
    flagged = {f["urn"] for f in plan["findings"] if f["policy"] == "iam-role-permissions-boundary"}
    assert flagged == roles and len(roles) >= 6
    assert all(f["enforcement"] == "mandatory" for f in plan["findings"] if f["policy"] == "iam-role-permissions-boundary")
    assert "iam-role-permissions-boundary" in capsys.readouterr().out
    # The same stack with the boundary configured passes the same organisation policy.
    fixed = _write_stack(tmp_path, **{"mlops-platform:iam": {"permissionsBoundaryArn": boundary}})
    assert cli.main(["preview", "--stack", "dev", "--config-file", str(fixed), "--policy-config", str(policy_config)]) == 0


def test_unreadable_policy_config_exits_2(tmp_path, capsys):
    bad = tmp_path / "policy.json"
    bad.write_text("{not json")
    assert cli.main(["preview", "--stack", "dev", "--policy-config", str(bad)]) == 2
    assert "policy.json: not valid JSON" in capsys.readouterr().err


def test_mermaid_format_prints_the_component_graph(capsys):
    assert cli.main(["preview", "--stack", "dev", "--format", "mermaid"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("flowchart LR") and "    artifacts --> kms" in out and "    roles --> artifacts" in out


# -- the offline account, and errors as messages -----------------------------------------------------

ACCOUNT = "111122223333"


def _arns(value) -> list[str]:
    if isinstance(value, dict):
        return [a for v in value.values() for a in _arns(v)]
    if isinstance(value, list):
        return [a for v in value for a in _arns(v)]
    return [value] if isinstance(value, str) and value.startswith("arn:") else []


def test_allowed_account_ids_set_the_account_of_every_arn(tmp_path):
    path = _write_stack(tmp_path, **{"aws:allowedAccountIds": [ACCOUNT]})
    plan = run_preview("dev", path).plan
    assert plan["outputs"]["accountId"] == ACCOUNT
    account_arns = [a for r in plan["resources"] for a in _arns([r["inputs"], r["outputs"]])
                    if not a.startswith(("arn:aws:s3:::", "arn:aws:iam::aws:"))]
    assert account_arns and all(a.split(":")[4] == ACCOUNT for a in account_arns), \
        sorted({a for a in account_arns if a.split(":")[4] != ACCOUNT})
    [provider] = [r for r in plan["resources"] if r["type"] == "pulumi:providers:aws"]
    assert ACCOUNT in json.dumps(provider["inputs"]["allowedAccountIds"])  # pulumi up refuses other credentials


def test_account_id_option_wins_and_must_be_allowed(tmp_path, capsys):
    path = _write_stack(tmp_path, **{"aws:allowedAccountIds": [ACCOUNT, "222233334444"]})
    out = tmp_path / "plan.json"
    assert cli.main(["preview", "--stack", "dev", "--config-file", str(path), "--account-id", "222233334444",
                     "--json", str(out), "--format", "json"]) == 0
    assert json.loads(out.read_text())["outputs"]["accountId"] == "222233334444"
    capsys.readouterr()
    assert cli.main(["preview", "--stack", "dev", "--config-file", str(path), "--account-id", "555566667777"]) == 2
    assert "aws:allowedAccountIds: the stack would run in account 555566667777" in capsys.readouterr().err
    assert cli.main(["cost", "--stack", "dev", "--account-id", "12"]) == 2
    assert "--account-id: '12' is not an AWS account id" in capsys.readouterr().err


def test_a_boundary_outside_the_account_exits_2_naming_the_key(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "240")
    path = _write_stack(tmp_path, **{"aws:allowedAccountIds": [ACCOUNT], "mlops-platform:iam": {
        "permissionsBoundaryArn": "arn:aws:iam::999988887777:policy/boundary"}})
    with mock.patch("mlops_blueprint.preview.run_program") as program:
        assert cli.main(["preview", "--stack", "dev", "--config-file", str(path), "--json", str(tmp_path / "p.json")]) == 2
    err = capsys.readouterr().err
    assert "mlops-platform:iam.permissionsBoundaryArn: 'arn:aws:iam::999988887777:policy/boundary' is in account " \
           f"999988887777, not the stack's account {ACCOUNT}" in err
    assert "Traceback" not in err and not program.called and not (tmp_path / "p.json").exists()


def test_the_program_checks_the_account_it_runs_in():
    """Under `pulumi up` the account comes from the credentials: the program checks it itself."""
    raw = yaml.safe_load(stack_file("dev").read_text())["config"]
    raw["mlops-platform:iam"] = {"permissionsBoundaryArn": "arn:aws:iam::999988887777:policy/boundary"}
    run = run_program(_run_main, stack="dev", project=PROJECT, config=raw, account_id=ACCOUNT, capture_errors=True)
    assert isinstance(run.error, pulumi.RunError)  # the language host prints it without a traceback
    assert "mlops-platform:iam.permissionsBoundaryArn" in str(run.error)
    assert [r.type for r in run.registrations if r.custom] == ["pulumi:providers:aws"]


def test_a_component_refusing_its_args_is_a_clean_error(capsys, monkeypatch):
    def refuse(config):
        raise ValueError("invalid KmsArgs:\n  - deletion_window_days: 3 is out of range; KMS accepts 7 to 30 days")

    monkeypatch.setattr("mlops_blueprint.program.build", refuse)
    run = run_program(_run_main, stack="dev", project=PROJECT,
                      config=yaml.safe_load(stack_file("dev").read_text())["config"], capture_errors=True)
    assert isinstance(run.error, BuildError) and isinstance(run.error, pulumi.RunError)
    assert cli.main(["preview", "--stack", "dev"]) == 2
    err = capsys.readouterr().err
    assert "the program stopped while building resources" in err and "deletion_window_days: 3" in err
    assert "Traceback" not in err


def test_a_refusal_inside_an_apply_is_a_clean_error_too(capsys, monkeypatch):
    """Offline, a component's ValueError raised once an Output resolves ends the same way."""
    def refuse_later(config):
        bucket = aws.s3.Bucket("b", bucket="x")
        aws.s3.BucketVersioning("v", bucket=bucket.bucket.apply(lambda _: (_ for _ in ()).throw(
            ValueError("retraining 'churn' would start the pipeline with parameters it refuses"))),
            versioning_configuration={"status": "Enabled"})
        return {}

    monkeypatch.setattr("mlops_blueprint.program.build", refuse_later)
    assert cli.main(["preview", "--stack", "dev"]) == 2
    err = capsys.readouterr().err
    assert "would start the pipeline with parameters it refuses" in err and "Traceback" not in err


def test_a_bug_keeps_its_traceback(monkeypatch):
    monkeypatch.setattr("mlops_blueprint.program.build", lambda config: None.missing)
    with pytest.raises(AttributeError):
        run_preview("dev")
