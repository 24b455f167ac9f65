"""One owner for what is served: on an endpoint the stack declares, promote and rollback change the
model registry only (never UpdateEndpoint), and the offline preview, reading the same registry,
rolls the endpoint to the newly approved package. moto's server stands in for SageMaker; MLflow
runs for real on sqlite."""

from __future__ import annotations

import contextlib
import io
import json
import urllib.request
from pathlib import Path

import pytest
import yaml

from mlops_blueprint.diff import diff_plans
from mlops_blueprint.model_registry import RegistrySource
from mlops_blueprint.pipelines.cli import main
from mlops_blueprint.pipelines.context import AwsSettings, PipelineContext
from mlops_blueprint.pipelines.deploy import PREVIOUS_CHAMPION_TAG, deploy, promote
from mlops_blueprint.pipelines.errors import EXIT_INPUT, InputError
from mlops_blueprint.pipelines.outputs import StackOutputs
from mlops_blueprint.pipelines.registry import CHALLENGER, CHAMPION, PACKAGE_TAG, GateResult
from mlops_blueprint.preview import run_preview
from support.stacks import models_bucket, stack_document
from support.tracking import moto_endpoint

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")

GROUP = "mlops-platform-dev-churn"
ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mlops-platform-dev-inference"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
# What a promotion or rollback may call on a Pulumi-owned endpoint: reads, and approval changes.
REGISTRY_ONLY = {"DescribeModelPackage", "DescribeModelPackageGroup", "ListModelPackages", "UpdateModelPackage",
                 "DescribeEndpoint", "DescribeEndpointConfig", "ListTags"}


def package(version: int) -> dict[str, str]:
    return {"Image": f"{ECR}:{version}.0",
            "ModelDataUrl": f"s3://{models_bucket('dev')}/models/{GROUP}/{version}/model.tar.gz"}


@pytest.fixture(scope="module")
def moto_url():
    with moto_endpoint() as url:
        yield url
        with urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=10):
            pass


@pytest.fixture(scope="module")
def stack_file(tmp_path_factory) -> Path:
    """dev, serving churn from the registry (the newest Approved package of its family)."""
    document = stack_document("dev", {"tracking": {"modelFamilies": ["churn"]},
                                      "models": [{"name": "churn", "modelPackageGroup": "churn"}]})
    path = tmp_path_factory.mktemp("stack") / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.fixture(scope="module")
def registry(moto_url, tmp_path_factory):
    """The group with v1 Approved (served) and v2 pending; MLflow versions 1 (champion), 2 (challenger)."""
    import boto3
    from mlflow import MlflowClient

    sm = boto3.session.Session(region_name="us-east-1", **CREDENTIALS).client("sagemaker", endpoint_url=moto_url)
    sm.create_model_package_group(ModelPackageGroupName=GROUP)
    arns = {}
    for version, status in ((1, "Approved"), (2, "PendingManualApproval")):
        arns[str(version)] = sm.create_model_package(
            ModelPackageGroupName=GROUP, ModelApprovalStatus=status,
            InferenceSpecification={"Containers": [package(version)], "SupportedContentTypes": ["text/csv"],
                                    "SupportedResponseMIMETypes": ["application/json"]})["ModelPackageArn"]
    tmp = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model(GROUP)
    for version, arn in arns.items():
        (tmp / version).mkdir()
        created = client.create_model_version(GROUP, source=str(tmp / version))
        assert str(created.version) == version
        client.set_model_version_tag(GROUP, version, PACKAGE_TAG, arn)
    client.set_registered_model_alias(GROUP, CHAMPION, "1")
    client.set_registered_model_alias(GROUP, CHALLENGER, "2")
    return {"sagemaker": sm, "arns": arns, "tracking_uri": uri, "mlflow": client}


def preview(stack_file: Path, moto_url: str) -> dict:
    return run_preview("dev", stack_file, registry=RegistrySource("endpoint", moto_url)).plan


def context(plan: dict, registry: dict, moto_url: str, calls: list[str]) -> PipelineContext:
    """The pipelines against the previewed stack's own outputs; every SageMaker call recorded."""
    outputs = StackOutputs(plan["outputs"], "dev", "the preview's outputs")
    ctx = PipelineContext(outputs, model="churn", tracking_uri=registry["tracking_uri"],
                          aws=AwsSettings(moto_url, CREDENTIALS["aws_access_key_id"],
                                          CREDENTIALS["aws_secret_access_key"]))
    ctx.sagemaker.meta.events.register("before-call.sagemaker", lambda model, **_: calls.append(model.name))
    return ctx


def passed_gate(version: str) -> GateResult:
    return GateResult("accuracy", version, 0.9, "1", 0.8, "s3://datasets/churn/train.csv", "v", 0.0, True,
                      f"v{version} accuracy 0.9000 beats champion v1 0.8000")


def served(plan: dict) -> dict:
    return plan["outputs"]["servedModelPackages"]["churn"]


def of_type(plan: dict, type_: str) -> list[dict]:
    return [r for r in plan["resources"] if r["type"] == type_]


@contextlib.contextmanager
def every_sagemaker_call(calls: list[str]):
    """Record the operation of every SageMaker call any boto3 client makes (the CLI makes its own)."""
    from botocore.client import BaseClient

    original = BaseClient._make_api_call

    def record(self, operation_name, api_params):
        if self.meta.service_model.service_name == "sagemaker":
            calls.append(operation_name)
        return original(self, operation_name, api_params)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BaseClient, "_make_api_call", record)
        yield


def cli_rollback(plan: dict, registry: dict, moto_url: str, workdir: Path) -> dict:
    """`mlops-blueprint pipeline rollback --json` against the plan's outputs, AWS being moto."""
    outputs = workdir / "outputs.json"
    outputs.write_text(json.dumps(plan["outputs"]))
    stdout = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(stdout):
        for name, value in {"AWS_ENDPOINT_URL": moto_url, "AWS_ACCESS_KEY_ID": "testing",
                            "AWS_SECRET_ACCESS_KEY": "testing", "AWS_CONFIG_FILE": "/dev/null",
                            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}.items():
            patch.setenv(name, value)
        code = main(["pipeline", "rollback", "--outputs", str(outputs), "--tracking-uri", registry["tracking_uri"],
                     "--json"])
    assert code == 0
    return json.loads(stdout.getvalue())


@pytest.fixture(scope="module")
def lifecycle(stack_file, moto_url, registry, tmp_path_factory):
    """before -> promote v2 -> after -> rollback (the CLI) -> rolled back; the SageMaker calls of each step."""
    before = preview(stack_file, moto_url)
    promote_calls: list[str] = []
    promoted = promote(context(before, registry, moto_url, promote_calls), "2", gate=passed_gate("2"))
    after = preview(stack_file, moto_url)
    rollback_calls: list[str] = []
    with every_sagemaker_call(rollback_calls):
        rolled = cli_rollback(after, registry, moto_url, tmp_path_factory.mktemp("cli"))
    rolled_back = preview(stack_file, moto_url)
    return {"before": before, "after": after, "rolled_back": rolled_back, "promoted": promoted, "rolled": rolled,
            "promote_calls": promote_calls, "rollback_calls": rollback_calls}


def test_the_preview_serves_the_newest_approved_package(lifecycle, registry):
    before = lifecycle["before"]
    assert served(before) == {"modelPackageGroup": GROUP, "version": 1, "arn": registry["arns"]["1"],
                              **{"image": package(1)["Image"], "modelDataUrl": package(1)["ModelDataUrl"]}}
    (model,) = of_type(before, "aws:sagemaker/model:Model")
    assert model["inputs"]["primaryContainer"]["image"] == package(1)["Image"]
    assert model["inputs"]["primaryContainer"]["modelDataUrl"] == package(1)["ModelDataUrl"]
    assert before["outputs"]["endpointNames"] == {"churn": GROUP}  # Pulumi owns this endpoint


def test_promote_changes_the_registry_and_never_the_endpoint(lifecycle, registry):
    promoted, calls = lifecycle["promoted"], lifecycle["promote_calls"]
    assert promoted.deploy is None and promoted.registry is not None
    assert promoted.registry.approved_package == registry["arns"]["2"]
    assert "pulumi up --stack dev" in promoted.registry.rollout
    assert "UpdateModelPackage" in calls
    assert set(calls) <= REGISTRY_ONLY, sorted(set(calls) - REGISTRY_ONLY)
    assert "UpdateEndpoint" not in calls


def test_an_approval_rolls_the_endpoint_in_the_next_preview(lifecycle):
    before, after = lifecycle["before"], lifecycle["after"]
    assert served(after)["version"] == 2
    diff = diff_plans(before, after)
    endpoint = [c for c in diff.updates if c.type == "aws:sagemaker/endpoint:Endpoint"]
    assert len(endpoint) == 1 and endpoint[0].changed_paths == ["endpointConfigName"]
    assert not [c for c in diff.replaces + diff.deletes if c.type == "aws:sagemaker/endpoint:Endpoint"]
    (model,) = of_type(after, "aws:sagemaker/model:Model")
    assert model["inputs"]["primaryContainer"] == {"image": package(2)["Image"],
                                                   "modelDataUrl": package(2)["ModelDataUrl"]}
    (config,) = of_type(after, "aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    (endpoint_resource,) = of_type(after, "aws:sagemaker/endpoint:Endpoint")
    assert endpoint_resource["inputs"]["endpointConfigName"] == config["inputs"]["name"]
    assert [v["modelName"] for v in config["inputs"]["productionVariants"]] == [model["inputs"]["name"]]
    # The model and its configuration are new (immutable in SageMaker), created before the old go.
    changed = {c.type for c in diff.replaces + diff.creates}
    assert {"aws:sagemaker/model:Model", "aws:sagemaker/endpointConfiguration:EndpointConfiguration"} <= changed
    assert {o.name for o in diff.output_changes} >= {"servedModelPackages"}


def test_the_registry_and_aliases_after_promote_and_rollback(lifecycle, registry):
    sm, client = registry["sagemaker"], registry["mlflow"]
    # after the rollback at the end of the lifecycle fixture: v2 Rejected, v1 Approved again
    assert sm.describe_model_package(ModelPackageName=registry["arns"]["2"])["ModelApprovalStatus"] == "Rejected"
    assert sm.describe_model_package(ModelPackageName=registry["arns"]["1"])["ModelApprovalStatus"] == "Approved"
    assert str(client.get_model_version_by_alias(GROUP, CHAMPION).version) == "1"
    assert client.get_model_version(GROUP, "2").tags[PREVIOUS_CHAMPION_TAG] == "1"


def test_rollback_changes_the_registry_only_and_the_plan_returns(lifecycle, registry):
    rolled, calls = lifecycle["rolled"], lifecycle["rollback_calls"]
    assert rolled["champion_version"] == "1" and rolled["previous_champion"] == "2"
    assert rolled["rejected_package"] == registry["arns"]["2"] and rolled["approved_package"] == registry["arns"]["1"]
    assert "UpdateModelPackage" in calls
    assert set(calls) <= REGISTRY_ONLY and "UpdateEndpoint" not in calls
    diff = diff_plans(lifecycle["before"], lifecycle["rolled_back"])
    assert not (diff.creates or diff.updates or diff.replaces or diff.deletes or diff.output_changes)


def test_deploy_refuses_a_pulumi_owned_endpoint(lifecycle, registry, moto_url, tmp_path, capsys):
    calls: list[str] = []
    ctx = context(lifecycle["before"], registry, moto_url, calls)
    with pytest.raises(InputError, match="owned by Pulumi"):
        deploy(ctx, "2")
    assert calls == []

    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(lifecycle["before"]["outputs"]))
    code = main(["pipeline", "deploy", "--outputs", str(outputs), "--version", "2",
                 "--tracking-uri", registry["tracking_uri"]])
    err = " ".join(capsys.readouterr().err.split())
    assert code == EXIT_INPUT
    assert f"endpoint {GROUP} is owned by Pulumi" in err and "Nothing was changed" in err
    assert "pipeline promote --version 2" in err and "pulumi up --stack dev" in err and "models[churn]" in err


def test_promoting_a_version_older_than_the_served_one_changes_nothing(lifecycle, registry, moto_url):
    sm = registry["sagemaker"]
    newer = sm.create_model_package(
        ModelPackageGroupName=GROUP, ModelApprovalStatus="Approved",
        InferenceSpecification={"Containers": [package(3)], "SupportedContentTypes": ["text/csv"],
                                "SupportedResponseMIMETypes": ["application/json"]})["ModelPackageArn"]
    try:
        ctx = context(lifecycle["before"], registry, moto_url, [])
        registry["mlflow"].set_model_version_tag(GROUP, "2", PACKAGE_TAG, registry["arns"]["2"])
        with pytest.raises(InputError, match=f"{newer} is a newer Approved package"):
            promote(ctx, "2", gate=passed_gate("2"))
        assert sm.describe_model_package(ModelPackageName=registry["arns"]["2"])["ModelApprovalStatus"] == "Rejected"
    finally:
        sm.update_model_package(ModelPackageArn=newer, ModelApprovalStatus="Rejected")
