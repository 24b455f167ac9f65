"""Bad input fails fast with a clear message and exit 2 (gate failures: exit 1); no servers needed."""

from __future__ import annotations

import argparse
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_blueprint.pipelines.cli import add_commands, main
from mlops_blueprint.pipelines.errors import EXIT_FAILED, EXIT_INPUT, GateFailed
from mlops_blueprint.pipelines.outputs import StackOutputs, load_outputs
from mlops_blueprint.pipelines.processes import free_port
from mlops_blueprint.pipelines.registry import GateResult, require_gate

MODEL = "churn"


def complete_outputs() -> dict:
    """Outputs as a deployed dev stack would export them (names from the project's naming)."""
    return {
        "region": "us-east-1", "accountId": "123456789012", "environment": "dev",
        "modelsBucketName": "mlops-platform-dev-models-123456789012-us-east-1",
        "datasetsBucketName": "mlops-platform-dev-datasets-123456789012-us-east-1",
        "dataKeyArn": "arn:aws:kms:us-east-1:123456789012:key/kms-data-a80fdd9a",
        "trainingRoleArn": "arn:aws:iam::123456789012:role/mlops-platform-dev-training",
        "servingRoleArn": "arn:aws:iam::123456789012:role/mlops-platform-dev-serving",
        "pipelinesRoleArn": "arn:aws:iam::123456789012:role/mlops-platform-dev-pipelines",
        "trainingSubnetIds": ["subnet-a", "subnet-b"], "servingSubnetIds": ["subnet-c", "subnet-d"],
        "workloadSecurityGroupId": "sg-1",
        "trackingServerUrl": "http://127.0.0.1:9",
        "mlflowArtifactUri": "s3://mlops-platform-dev-models-123456789012-us-east-1/mlflow",
        "modelPackageGroupNames": {MODEL: "mlops-platform-dev-churn"},
        "endpointNames": {MODEL: "mlops-platform-dev-churn"},
        "ecrRepositoryUrls": {"inference": "123456789012.dkr.ecr.us-east-1.amazonaws.com/mlops-platform-dev-inference"},
    }


def write_outputs(tmp_path: Path, outputs: dict) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    return path


def unreachable_uri() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there


@pytest.mark.parametrize(("step", "missing"), [
    ("train", "datasetsBucketName"),
    ("register", "modelsBucketName"),
    ("register", "ecrRepositoryUrls"),
    ("deploy", "servingRoleArn"),
    ("deploy", "endpointNames"),
    ("promote", "workloadSecurityGroupId"),
    ("rollback", "modelPackageGroupNames"),
    ("train", "region"),
])
def test_missing_stack_output_is_named(tmp_path, capsys, step, missing):
    outputs = complete_outputs()
    del outputs[missing]
    path = write_outputs(tmp_path, outputs)

    code = main(["pipeline", step, "--stack", "dev", "--outputs", str(path), "--tracking-uri", unreachable_uri()])

    err = capsys.readouterr().err
    assert code == EXIT_INPUT
    assert f"stack output '{missing}' is missing from stack 'dev'" in err
    assert str(path) in err
    assert "unreachable" not in err  # outputs are checked before the tracking server


def test_per_model_output_without_the_model_is_named(tmp_path, capsys):
    outputs = complete_outputs()
    outputs["endpointNames"] = {"fraud": "mlops-platform-dev-fraud"}
    code = main(["pipeline", "deploy", "--outputs", str(write_outputs(tmp_path, outputs))])
    err = capsys.readouterr().err
    assert code == EXIT_INPUT
    assert "'endpointNames'" in err and "no entry for model 'churn'" in err and "fraud" in err


def test_model_package_groups_may_be_a_list():
    outputs = StackOutputs({"modelPackageGroupNames": ["mlops-platform-dev-fraud", "mlops-platform-dev-churn"]},
                           "dev", "test")
    assert outputs.per_model("modelPackageGroupNames", MODEL) == "mlops-platform-dev-churn"


def test_unreachable_tracking_uri_fails_fast(tmp_path, capsys):
    path = write_outputs(tmp_path, complete_outputs())
    uri = unreachable_uri()
    code = main(["pipeline", "train", "--outputs", str(path), "--tracking-uri", uri])
    err = capsys.readouterr().err
    assert code == EXIT_INPUT
    assert f"MLflow tracking URI {uri} (from --tracking-uri) is unreachable" in err
    assert "Nothing was changed" in err


def test_unreachable_tracking_uri_from_the_stack_output_names_it(tmp_path, capsys):
    outputs = complete_outputs()
    outputs["trackingServerUrl"] = unreachable_uri()
    code = main(["pipeline", "rollback", "--outputs", str(write_outputs(tmp_path, outputs))])
    err = capsys.readouterr().err
    assert code == EXIT_INPUT
    assert "stack output 'trackingServerUrl' of stack 'dev'" in err


def test_missing_tracking_output_is_named(tmp_path, capsys):
    outputs = complete_outputs()
    del outputs["trackingServerUrl"]
    code = main(["pipeline", "train", "--outputs", str(write_outputs(tmp_path, outputs))])
    assert code == EXIT_INPUT
    assert "stack output 'trackingServerUrl' is missing" in capsys.readouterr().err


def test_missing_or_invalid_outputs_file(tmp_path, capsys):
    assert main(["pipeline", "train", "--outputs", str(tmp_path / "nope.json")]) == EXIT_INPUT
    assert "does not exist" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["pipeline", "train", "--outputs", str(bad)]) == EXIT_INPUT
    assert "not valid JSON" in capsys.readouterr().err


def _fake_pulumi(tmp_path: Path, script: str) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    pulumi = bin_dir / "pulumi"
    pulumi.write_text("#!/bin/sh\n" + script)
    pulumi.chmod(pulumi.stat().st_mode | stat.S_IEXEC)
    return {"PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin"}


def test_outputs_from_pulumi_stack_output(tmp_path, monkeypatch):
    document = json.dumps(complete_outputs()).replace("'", "'\\''")
    monkeypatch.setenv("PATH", _fake_pulumi(tmp_path, f"echo '{document}'\n")["PATH"])
    outputs = load_outputs("dev")
    assert outputs.require("modelsBucketName") == complete_outputs()["modelsBucketName"]
    assert outputs.source == "pulumi stack output --json"


def test_pulumi_failure_is_input_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", _fake_pulumi(tmp_path, "echo 'error: no stack named prod found' >&2; exit 255\n")["PATH"])
    assert main(["pipeline", "rollback", "--stack", "prod"]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert "cannot read the outputs of stack 'prod'" in err and "no stack named prod found" in err


def test_pulumi_not_installed(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["pipeline", "train", "--stack", "dev"]) == EXIT_INPUT
    assert "pulumi CLI is not on PATH" in capsys.readouterr().err


@pytest.mark.parametrize(("content", "message"), [
    ("{oops", "not valid JSON"),
    (json.dumps({"something": "else"}), "not a drift signal"),
    (json.dumps({"violations": [{"feature_name": "f0", "constraint_check_type": "vibes_check"}]}), "vibes_check"),
    (json.dumps({"violations": "many"}), "needs a 'violations' list"),
])
def test_bad_drift_report(tmp_path, capsys, content, message):
    report = tmp_path / "report.json"
    report.write_text(content)
    code = main(["pipeline", "retrain", "--outputs", str(write_outputs(tmp_path, complete_outputs())),
                 "--drift-report", str(report)])
    assert code == EXIT_INPUT
    assert message in capsys.readouterr().err


def test_bad_arguments(tmp_path, capsys):
    path = str(write_outputs(tmp_path, complete_outputs()))
    assert main(["pipeline", "train", "--outputs", path, "--param", "learning_rate=3"]) == EXIT_INPUT
    assert "--param 'learning_rate=3'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:  # argparse: exit 2 as well
        main(["pipeline", "deploy", "--outputs", path, "--canary-weight", "1.5"])
    assert exited.value.code == 2


def test_failed_gate_is_exit_1():
    gate = GateResult("accuracy", "2", 0.58, "1", 0.79, "s3://b/k", "v", 0.0, False, "v2 does not beat v1")
    with pytest.raises(GateFailed) as failed:
        require_gate(gate)
    assert failed.value.exit_code == EXIT_FAILED
    assert "metric gate failed: v2 does not beat v1" in str(failed.value)
    assert failed.value.result is gate


def test_add_commands_registers_pipeline_and_sandbox():
    parser = argparse.ArgumentParser(prog="mlops-blueprint")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("preview").set_defaults(handler=lambda args: 0)
    add_commands(commands)
    for argv in (["pipeline", "train", "--stack", "dev"], ["pipeline", "register"], ["pipeline", "deploy"],
                 ["pipeline", "promote", "--metric", "f1"], ["pipeline", "rollback"],
                 ["pipeline", "retrain", "--drift-report", "r.json", "--canary-weight", "0.2"],
                 ["sandbox", "--challenger", "worse", "--challenger", "better", "--rollback"]):
        args = parser.parse_args(argv)
        assert callable(args.handler), argv


def test_cli_module_imports_no_heavy_dependency():
    """infra/cli.py imports pipelines/cli.py; the core install has no mlflow, sklearn or boto3."""
    code = ("import sys, mlops_blueprint.pipelines.cli; "
            "print(sorted(m for m in ('mlflow', 'sklearn', 'boto3', 'botocore', 'pandas', 'moto') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "[]"
