"""Registry-backed models (``models[].modelPackageGroup``): config checks, resolution against moto
(a registry file) or the placeholder, and the errors a user sees before anything registers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from mlops_blueprint.cli import main
from mlops_blueprint.config import ConfigError, parse_config
from mlops_blueprint.model_registry import PLACEHOLDER_TAG, RegistrySource, current_source, group_name, resolve_models
from mlops_blueprint.mock_runtime import run_program
from support.stacks import models_bucket, stack_document

ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mlops-platform-dev-inference"
BASE = {"environment": "dev", "region": "us-east-1", "owner": "ml-platform", "costCenter": "ml-rnd",
        "dataClassification": "internal", "tracking": {"modelFamilies": ["churn", "fraud"]}}


def config(*models: dict, **extra):
    return parse_config({**BASE, "models": list(models), **extra})


def problems(*models: dict) -> str:
    with pytest.raises(ConfigError) as caught:
        config(*models)
    return str(caught.value)


def entry(version: int, status: str = "Approved") -> dict:
    return {"status": status, "image": f"{ECR}:{version}.0",
            "modelDataUrl": f"s3://{models_bucket('dev')}/models/churn/{version}/model.tar.gz"}


def registry_file(tmp_path: Path, document: dict) -> RegistrySource:
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(document))
    return RegistrySource.parse(str(path))


# -- config ---------------------------------------------------------------------------------------


def test_exactly_one_form():
    both = problems({"name": "churn", "modelPackageGroup": "churn", "image": "inference:1.0"})
    assert "models[0]" in both and "sets modelPackageGroup and image; use one form" in both
    neither = problems({"name": "churn"})
    assert "has no image and no modelDataUrl" in neither and "modelPackageGroup" in neither
    version_only = problems({"name": "churn", "image": "inference:1.0",
                             "modelDataUrl": f"s3://{models_bucket('dev')}/churn/m.tar.gz", "modelPackageVersion": 3})
    assert "modelPackageVersion without modelPackageGroup" in version_only


@pytest.mark.parametrize("version", [0, -1, "newest", True, 2.5])
def test_package_version_is_latest_approved_or_a_number(version):
    message = problems({"name": "churn", "modelPackageGroup": "churn", "modelPackageVersion": version})
    assert "models[0].modelPackageVersion" in message and "latest-approved" in message


def test_the_group_must_be_one_of_the_stacks_families():
    message = problems({"name": "churn", "modelPackageGroup": "payments"})
    assert "models[churn].modelPackageGroup: 'payments' is not a model family of this stack" in message
    assert "churn, fraud" in message


def test_the_pinned_form_is_unchanged():
    model = config({"name": "churn", "image": "inference:1.0",
                    "modelDataUrl": f"s3://{models_bucket('dev')}/churn/m.tar.gz"}).models[0]
    assert not model.from_registry
    models, packages = resolve_models(config(model.model_dump(by_alias=True, exclude_none=True)),
                                      RegistrySource("placeholder"))
    assert packages == {} and models[0].image == "inference:1.0"


# -- resolution -----------------------------------------------------------------------------------


def test_the_placeholder_is_deterministic_and_in_the_stacks_names():
    stack = config({"name": "churn", "modelPackageGroup": "churn"},
                   {"name": "fraud", "modelPackageGroup": "fraud", "modelPackageVersion": 4})
    models, packages = resolve_models(stack, RegistrySource("placeholder"))
    assert resolve_models(stack, RegistrySource("placeholder"))[1] == packages
    assert packages["churn"].version == 1 and packages["fraud"].version == 4
    assert packages["churn"].group == group_name(stack, "churn") == "mlops-platform-dev-churn"
    assert packages["fraud"].arn.endswith(":model-package/mlops-platform-dev-fraud/4")
    assert models[0].image == f"{ECR}:{PLACEHOLDER_TAG}"
    assert models[0].model_data_url.startswith(f"s3://{models_bucket('dev')}/")


def test_latest_approved_from_a_registry_file(tmp_path):
    source = registry_file(tmp_path, {"churn": [entry(1), entry(2), entry(3, "PendingManualApproval"),
                                                entry(4, "Rejected")]})
    stack = config({"name": "churn", "modelPackageGroup": "churn", "environment": {"EXTRA": "1"}})
    models, packages = resolve_models(stack, source)
    assert packages["churn"].version == 2 and packages["churn"].status == "Approved"
    assert models[0].image == f"{ECR}:2.0" and models[0].model_data_url.endswith("/churn/2/model.tar.gz")
    assert models[0].environment == {"EXTRA": "1"}


def test_a_pinned_version_from_a_registry_file(tmp_path):
    source = registry_file(tmp_path, {"mlops-platform-dev-churn": [entry(1), entry(2)]})
    _, packages = resolve_models(config({"name": "churn", "modelPackageGroup": "churn", "modelPackageVersion": 1}),
                                 source)
    assert packages["churn"].version == 1 and packages["churn"].image == f"{ECR}:1.0"


@pytest.mark.parametrize(("document", "model", "expected"), [
    ({"fraud": [entry(1)]}, {}, "models[churn].modelPackageGroup: model package group mlops-platform-dev-churn does "
                                "not exist"),
    ({"churn": [entry(1, "PendingManualApproval")]}, {}, "models[churn].modelPackageGroup: model package group "
                                                         "mlops-platform-dev-churn has no Approved package"),
    ({"churn": [entry(1), entry(2, "Rejected")]}, {"modelPackageVersion": 2},
     "models[churn].modelPackageVersion: version 2 of model package group mlops-platform-dev-churn is Rejected"),
    ({"churn": [entry(1)]}, {"modelPackageVersion": 5}, "models[churn].modelPackageVersion: model package group "
                                                        "mlops-platform-dev-churn has no version 5 (versions: 1)"),
])
def test_what_cannot_be_served_is_a_config_error(tmp_path, document, model, expected):
    with pytest.raises(ConfigError) as caught:
        resolve_models(config({"name": "churn", "modelPackageGroup": "churn", **model}), registry_file(tmp_path, document))
    assert expected in str(caught.value)


def test_a_bad_registry_file_names_the_entry(tmp_path):
    with pytest.raises(ConfigError) as caught:
        resolve_models(config({"name": "churn", "modelPackageGroup": "churn"}),
                       registry_file(tmp_path, {"churn": [{"image": "nginx:latest", "modelDataUrl": "bucket/key",
                                                           "status": "Maybe", "tag": 1}]}))
    message = str(caught.value)
    for part in ("churn[0]: unknown keys tag", "churn[0].image", "churn[0].modelDataUrl", "churn[0].status"):
        assert part in message
    with pytest.raises(ConfigError, match="no such file"):
        RegistrySource.parse(str(tmp_path / "missing.json"))


def test_never_aws_under_the_mock_runtime(monkeypatch):
    seen = []
    run_program(lambda: seen.append(current_source()), stack="dev", project="mlops-platform")
    assert seen == [RegistrySource("placeholder")]
    from pulumi.runtime import settings

    monkeypatch.setattr(settings, "get_monitor", lambda: object())  # the real engine's monitor
    assert current_source() == RegistrySource("live")


# -- the command ----------------------------------------------------------------------------------


def stack_file(tmp_path: Path, model: dict) -> Path:
    document = stack_document("dev", {"tracking": {"modelFamilies": ["churn"]}, "models": [model]})
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_preview_with_a_registry_file(tmp_path, capsys):
    path = stack_file(tmp_path, {"name": "churn", "modelPackageGroup": "churn"})
    registry = tmp_path / "registry.json"
    registry.write_text(json.dumps({"churn": [entry(1), entry(2)]}))
    code = main(["preview", "--stack", "dev", "--config-file", str(path), "--registry", str(registry),
                 "--format", "json"])
    plan = json.loads(capsys.readouterr().out)
    assert code == 0
    served = plan["outputs"]["servedModelPackages"]["churn"]
    assert served["version"] == 2 and served["image"] == f"{ECR}:2.0"
    assert served["arn"].endswith("model-package/mlops-platform-dev-churn/2")


def test_preview_of_an_unservable_model_is_exit_2_and_registers_nothing(tmp_path, capsys):
    path = stack_file(tmp_path, {"name": "churn", "modelPackageGroup": "churn", "modelPackageVersion": 3})
    registry = tmp_path / "registry.json"
    registry.write_text(json.dumps({"churn": [entry(1)]}))
    code = main(["preview", "--stack", "dev", "--config-file", str(path), "--registry", str(registry),
                 "--json", str(tmp_path / "plan.json")])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2
    assert "models[churn].modelPackageVersion: model package group mlops-platform-dev-churn has no version 3" in err
    assert "Nothing was registered" in err and not (tmp_path / "plan.json").exists()


def test_resolution_fails_before_the_first_registration(tmp_path):
    from mlops_blueprint.config import raw_stack_config
    from mlops_blueprint.model_registry import offline
    from mlops_blueprint.preview import _run_main, load_stack_file

    raw = load_stack_file(stack_file(tmp_path, {"name": "churn", "modelPackageGroup": "churn"}))
    assert raw_stack_config(raw, "dev")["models"][0]["modelPackageGroup"] == "churn"
    with offline(registry_file(tmp_path, {"churn": [entry(1, "Rejected")]})):
        run = run_program(_run_main, stack="dev", project="mlops-platform", config=raw, capture_errors=True)
    assert isinstance(run.error, ConfigError) and "no Approved package" in str(run.error)
    assert {r.type for r in run.registrations} <= {"pulumi:pulumi:Stack"}


def test_the_placeholder_lives_in_the_previews_account(tmp_path, capsys):
    path = stack_file(tmp_path, {"name": "churn", "modelPackageGroup": "churn"})
    code = main(["preview", "--stack", "dev", "--config-file", str(path), "--account-id", "210987654321",
                 "--format", "json"])
    plan = json.loads(capsys.readouterr().out)
    assert code == 0
    served = plan["outputs"]["servedModelPackages"]["churn"]
    assert served["arn"] == "arn:aws:sagemaker:us-east-1:210987654321:model-package/mlops-platform-dev-churn/1"
    assert served["image"].startswith("210987654321.dkr.ecr.us-east-1.amazonaws.com/mlops-platform-dev-inference:")
    assert served["modelDataUrl"].startswith(f"s3://{models_bucket('dev', account='210987654321')}/")
