"""Property-based tests over the config space: what the README documents, combined.

Valid configs (every tracking backend, network mode, CI provider, models with variants on CPU and
GPU families, serverless in dev, monitoring and retraining, several regions and accounts) preview
with 0 mandatory findings, every ARN in the stack's account, and a clean preflight. Invalid ones
(one known-bad change to a valid config) exit 2 from the CLI, name the key, and never reach the
program. Each valid example is a whole preview (about a second), so the budgets are small and
fixed; with CI set, the examples are derandomized (the same every run).
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from mlops_blueprint import cli, preview
from mlops_blueprint.config import ENVIRONMENTS
from mlops_blueprint.preview import run_preview
from mlops_blueprint.components.served_model_settings import has_local_storage
from support.stacks import stack_document

CI = bool(os.environ.get("CI"))
# No shrinking: each step would be another preview; the failing example is printed as drawn.
COMMON = {"deadline": None, "database": None, "derandomize": CI,
          "phases": (Phase.explicit, Phase.reuse, Phase.generate),
          "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}

REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2")
CPU_TYPES = ("ml.m5.large", "ml.c5.xlarge", "ml.m5d.large")          # m5d: CPU with an instance store
GPU_TYPES = ("ml.g5.xlarge", "ml.g4dn.xlarge", "ml.p3.2xlarge")     # p3: GPU without one
TRACKING = ("sagemaker-serverless", "sagemaker-managed", "kubernetes")
PIPELINE_PARAMETERS = {"TrainingImageTag": "1.4.2", "InferenceImageTag": "1.4.2"}

accounts = st.integers(10**11, 10**12 - 1).map(str)


def cluster(account: str, region: str) -> dict[str, Any]:
    provider = f"arn:aws:iam::{account}:oidc-provider/oidc.eks.{region}.amazonaws.com/id/ABCDEF0123456789"
    return {"oidcProviderArn": provider, "nodeSecurityGroupId": "sg-0123456789abcdef0", "context": "platform"}


EXISTING_NETWORK = {"mode": "existing", "existing": {
    "vpcId": "vpc-0c1a57e700000000a", "vpcCidr": "10.40.0.0/16",
    "privateSubnetIds": ["subnet-0c1a57e700000000a", "subnet-0c1a57e700000000b"]}}
SHARED_NETWORK = {"mode": "shared", "sharedStack": "acme/mlops-platform/shared-network"}


@st.composite
def models(draw: st.DrawFn, environment: str, region: str, account: str, serverless: bool,
           one_variant: bool) -> list[dict[str, Any]]:
    bucket = f"mlops-platform-{environment}-models-{account}-{region}"
    result = []
    for name in draw(st.sampled_from([["churn"], ["churn", "fraud"]])):
        count = 1 if (serverless or one_variant) else draw(st.integers(1, 2))
        variants = []
        for index in range(count):
            variant: dict[str, Any] = {"name": f"v{index}", "weight": draw(st.sampled_from([0.2, 0.5, 1.0]))}
            if not serverless:
                variant["instanceType"] = draw(st.sampled_from(CPU_TYPES + GPU_TYPES))
            variants.append(variant)
        result.append({"name": name, "image": f"inference:1.{len(result)}.0",
                       "modelDataUrl": f"s3://{bucket}/{name}/model.tar.gz", "variants": variants})
    return result


@st.composite
def valid_configs(draw: st.DrawFn) -> tuple[str, str, dict[str, Any]]:
    """(stack, account, stack file) of a config the README allows in its environment."""
    environment = draw(st.sampled_from(ENVIRONMENTS))
    region = draw(st.sampled_from(REGIONS))
    account = draw(accounts)
    overrides: dict[str, Any] = {}

    tracking = draw(st.sampled_from(TRACKING))
    serving_backend = draw(st.sampled_from(["sagemaker", "sagemaker", "kubernetes"]))
    needs_cluster = tracking == "kubernetes" or serving_backend == "kubernetes"
    if tracking == "kubernetes":  # an existing cluster is in an existing (or shared) VPC
        # Not shared yet: tracking_server_args() iterates database_subnet_ids, an Output under mode
        # shared (TypeError); add SHARED_NETWORK here once it takes an Output.
        overrides["network"] = EXISTING_NETWORK
    else:
        overrides["network"] = draw(st.sampled_from([{"mode": "create"}, EXISTING_NETWORK, SHARED_NETWORK]))
    if needs_cluster:
        overrides["kubernetes"] = cluster(account, region)
    overrides["tracking"] = {"backend": tracking, **({"mlflowVersion": "3.5.1"} if tracking == "kubernetes" else {})}

    ci = draw(st.sampled_from(["none", "github", "gitlab"]))
    iam: dict[str, Any] = {"ci": {"provider": ci, **({"repository": "acme/ml-platform"} if ci != "none" else {})}}
    if draw(st.booleans()):
        iam["permissionsBoundaryArn"] = f"arn:aws:iam::{account}:policy/platform-boundary"
    overrides["iam"] = iam

    serverless = serving_backend == "sagemaker" and environment == "dev" and draw(st.booleans())
    served = draw(models(environment, region, account, serverless, one_variant=serving_backend == "kubernetes"))
    serving: dict[str, Any] = {"backend": serving_backend, "serverless": serverless}
    if environment == "dev" and serving_backend == "sagemaker" and not serverless:
        serving["dataCapturePercent"] = draw(st.sampled_from([0, 20]))
    overrides["serving"], overrides["models"] = serving, served

    captured = serving_backend == "sagemaker" and not serverless and (
        environment != "dev" or serving.get("dataCapturePercent", 0) > 0)
    if captured and draw(st.booleans()):
        overrides["monitoring"] = {"models": {m["name"]: {"driftFeatures": ["tenure"]} for m in served}}
        if draw(st.booleans()):
            overrides["retraining"] = {"enabled": True, "models": {
                m["name"]: {"parameters": dict(PIPELINE_PARAMETERS)} for m in served}}
    overrides["budget"] = {"scope": draw(st.sampled_from(["environment-tag", "account"]))}
    overrides["audit"] = {"objectLock": environment == "prod" or draw(st.booleans()), "dataEvents": draw(st.booleans())}
    if overrides["network"]["mode"] == "create":
        overrides["network"]["azCount"] = draw(st.integers(2, 3))
    if tracking != "kubernetes":
        overrides["tracking"]["usersVpcOnly"] = draw(st.booleans())
    if environment != "prod":
        overrides["training"] = {"spot": False, "maxWaitSeconds": None} if draw(st.booleans()) else {}
    if draw(st.booleans()):
        overrides["alerts"] = {"subscriptions": {"critical": [
            {"protocol": "email", "endpoint": "oncall@example.com"},
            {"protocol": "https", "endpoint": "https://events.pagerduty.com/integration/abc/enqueue"}]}}
    if draw(st.booleans()):
        overrides["observability"] = {"prometheus": True, "grafana": draw(st.booleans())}

    document = stack_document(environment, overrides, region)
    document["config"]["aws:allowedAccountIds"] = [account]
    return environment, account, document


def write(document: dict[str, Any], directory: str, stack: str) -> Path:
    path = Path(directory) / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def arns(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [a for v in value.values() for a in arns(v)]
    if isinstance(value, list):
        return [a for v in value for a in arns(v)]
    return [value] if isinstance(value, str) and value.startswith("arn:") else []


@settings(max_examples=8, **COMMON)
@given(valid_configs())
def test_valid_configs_preview_clean_in_their_account(case: tuple[str, str, dict[str, Any]]) -> None:
    stack, account, document = case
    with tempfile.TemporaryDirectory() as tmp:
        result = run_preview(stack, write(document, tmp, stack))
    assert result.mandatory_findings == [], result.mandatory_findings
    plan = result.plan
    assert plan["outputs"]["accountId"] == account
    # Every ARN the (mock) provider computed is in the stack's account (IAM/S3 ARNs name none).
    computed = [r["outputs"]["arn"] for r in plan["resources"] if isinstance(r["outputs"].get("arn"), str)]
    assert computed and all(f":{account}:" in arn or arn.startswith("arn:aws:s3:::") for arn in computed), computed
    assert "123456789012" not in str(plan["resources"])
    # The relaxations are reported, with their reason, exactly where they apply.
    advisory = {f["policy"] for f in plan["findings"] if f["enforcement"] == "advisory"}
    variants = [v for m in document["config"].get("mlops-platform:models", []) for v in m["variants"]]
    sagemaker = document["config"]["mlops-platform:serving"]["backend"] == "sagemaker"
    assert ("sagemaker-serverless-dev" in advisory) == (sagemaker and bool(variants)
                                                        and document["config"]["mlops-platform:serving"]["serverless"])
    local = sagemaker and any(has_local_storage(v.get("instanceType", "")) for v in variants)
    assert ("sagemaker-endpoint-instance-store" in advisory) == local


@settings(max_examples=4, **COMMON)
@given(valid_configs())
def test_valid_configs_pass_the_preflight(case: tuple[str, str, dict[str, Any]]) -> None:
    """What AWS itself would refuse (names, IAM actions and their resources, Kubernetes schemas)."""
    from mlops_blueprint.preflight.run import run_preflight

    stack, _, document = case
    with tempfile.TemporaryDirectory() as tmp:
        plan = run_preview(stack, write(document, tmp, stack)).plan
    failures = [f"{f.check} {f.urn.rsplit('::', 1)[-1]} {f.subject}: {f.message}" for f in run_preflight(plan).failures]
    assert failures == []


# -- invalid configs: one known-bad change to a valid one -----------------------------------------

Mutation = Callable[[dict[str, Any], str, st.DrawFn], str]  # changes the config map, returns the key to name


def _timeout(config: dict[str, Any], account: str, draw: st.DrawFn) -> str:
    config.setdefault("mlops-platform:serving", {}).setdefault("deployment", {})[
        "maximumExecutionTimeoutSeconds"] = draw(st.integers(14401, 28800))
    return "mlops-platform:serving.deployment.maximumExecutionTimeoutSeconds"


def _cluster_in_new_vpc(config: dict[str, Any], account: str, draw: st.DrawFn) -> str:
    config["mlops-platform:kubernetes"] = cluster(account, config["aws:region"])
    config["mlops-platform:tracking"] = {"backend": "kubernetes", "mlflowVersion": "3.5.1"}
    config["mlops-platform:network"] = {"mode": "create"}
    return "network.mode"


def _boundary_elsewhere(config: dict[str, Any], account: str, draw: st.DrawFn) -> str:
    other = draw(accounts.filter(lambda a: a != account))
    config.setdefault("mlops-platform:iam", {})["permissionsBoundaryArn"] = f"arn:aws:iam::{other}:policy/boundary"
    return "mlops-platform:iam.permissionsBoundaryArn"


def _irsa_elsewhere(config: dict[str, Any], account: str, draw: st.DrawFn) -> str:
    other = draw(accounts.filter(lambda a: a != account))
    config["mlops-platform:kubernetes"] = cluster(other, config["aws:region"])
    config["mlops-platform:tracking"] = {"backend": "kubernetes", "mlflowVersion": "3.5.1"}
    config["mlops-platform:network"] = EXISTING_NETWORK
    return "mlops-platform:kubernetes.oidcProviderArn"


def _bad_account(config: dict[str, Any], account: str, draw: st.DrawFn) -> str:
    config["aws:allowedAccountIds"] = [draw(st.sampled_from(["1234", "12345678901a", "not-an-account"]))]
    return "aws:allowedAccountIds"


def _retraining_without_parameters(config: dict[str, Any], account: str, draw: st.DrawFn) -> str:
    environment, region = config["mlops-platform:environment"], config["aws:region"]
    bucket = f"mlops-platform-{environment}-models-{account}-{region}"
    config["mlops-platform:models"] = [{"name": "churn", "image": "inference:1.4.2",
                                        "modelDataUrl": f"s3://{bucket}/churn/model.tar.gz"}]
    config["mlops-platform:serving"] = {"backend": "sagemaker", "serverless": False, "dataCapturePercent": 20}
    config["mlops-platform:monitoring"] = {"models": {"churn": {"driftFeatures": ["tenure"]}}}
    dropped = draw(st.sampled_from(sorted(PIPELINE_PARAMETERS)))
    config["mlops-platform:retraining"] = {"enabled": True, "models": {"churn": {"parameters": {
        k: v for k, v in PIPELINE_PARAMETERS.items() if k != dropped}}}}
    return "retraining.models.churn.parameters"


def _deletion_window(config: dict[str, Any], account: str, draw: st.DrawFn) -> str:
    config["mlops-platform:kms"] = {"deletionWindowDays": draw(st.sampled_from([0, 6, 31, 365]))}
    return "mlops-platform:kms.deletionWindowDays"


MUTATIONS: tuple[Mutation, ...] = (_timeout, _cluster_in_new_vpc, _boundary_elsewhere, _irsa_elsewhere, _bad_account,
                                   _retraining_without_parameters, _deletion_window)


@settings(max_examples=16, **COMMON)
@given(valid_configs(), st.sampled_from(MUTATIONS), st.data())
def test_invalid_configs_exit_2_name_the_key_and_register_nothing(
        case: tuple[str, str, dict[str, Any]], mutation: Mutation, data: st.DataObject) -> None:
    stack, account, document = case
    key = mutation(document["config"], account, data.draw)
    stderr = io.StringIO()
    with tempfile.TemporaryDirectory() as tmp, \
            mock.patch.object(preview, "run_program", side_effect=AssertionError("the program ran")) as program, \
            contextlib.redirect_stderr(stderr):
        plan_path = Path(tmp) / "plan.json"
        code = cli.main(["preview", "--stack", stack, "--config-file", str(write(document, tmp, stack)),
                         "--json", str(plan_path)])
        written = plan_path.exists()
    assert code == cli.EXIT_INVALID, stderr.getvalue()
    assert key in stderr.getvalue()
    assert "Traceback" not in stderr.getvalue()
    assert not program.called and not written
