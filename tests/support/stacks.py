"""Whole-stack previews for system-level tests: the shipped stacks and config variants that combine
features (several models with variants on CPU and GPU, monitoring, retraining, every tracking and
serving backend, another region, a shared network).

``plan_for(name)`` previews one variant once per test session (plans are read-only to tests), so
tests that walk "every plan" stay cheap.
"""

from __future__ import annotations

import copy
import fcntl
import functools
import pickle
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import yaml

from mlops_blueprint.preview import PreviewResult, run_preview, stack_file
from mlops_blueprint.testing import Preview

ACCOUNT = "123456789012"
EKS_PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABCDEF0123456789"
ORG_TRAIL = "arn:aws:cloudtrail:us-east-1:111122223333:trail/organization-trail"  # in the management account
CLUSTER = {"oidcProviderArn": EKS_PROVIDER, "nodeSecurityGroupId": "sg-0123456789abcdef0", "context": "platform"}
# The cluster's VPC: an existing cluster is never in a VPC the stack creates (config refuses mode create).
CLUSTER_NETWORK = {"mode": "existing", "existing": {
    "vpcId": "vpc-0c1a57e700000000a", "vpcCidr": "10.40.0.0/16",
    "privateSubnetIds": ["subnet-0c1a57e700000000a", "subnet-0c1a57e700000000b"]}}


def models_bucket(environment: str, region: str = "us-east-1", account: str = ACCOUNT) -> str:
    return f"mlops-platform-{environment}-models-{account}-{region}"


def churn(environment: str, image: str = "inference:1.4.2", region: str = "us-east-1") -> dict[str, Any]:
    """A model with two CPU variants (A/B)."""
    return {"name": "churn", "image": image,
            "modelDataUrl": f"s3://{models_bucket(environment, region)}/churn/model.tar.gz",
            "variants": [{"name": "current", "weight": 0.9},
                         {"name": "candidate", "weight": 0.1, "image": "inference:1.5.0"}]}


def fraud_gpu(environment: str, region: str = "us-east-1") -> dict[str, Any]:
    """A model with a CPU and a GPU (NVMe instance-store) variant."""
    return {"name": "fraud", "image": "inference:2.0.0",
            "modelDataUrl": f"s3://{models_bucket(environment, region)}/fraud/model.tar.gz",
            "variants": [{"name": "cpu", "weight": 0.5, "instanceType": "ml.m5.xlarge"},
                         {"name": "gpu", "weight": 0.5, "instanceType": "ml.g5.xlarge"}]}


def feature_store() -> dict[str, Any]:
    """Two feature groups: one offline only, one also online; Glue tables for offline queries."""
    customers = [{"name": "customer_id", "type": "String"}, {"name": "event_time", "type": "Fractional"},
                 {"name": "tenure", "type": "Integral"}, {"name": "charges", "type": "Fractional"}]
    transactions = [{"name": "transaction_id", "type": "String"}, {"name": "event_time", "type": "String"},
                    {"name": "amount", "type": "Fractional"}]
    return {"enabled": True, "glueCatalog": True, "groups": [
        {"name": "customers", "recordIdentifier": "customer_id", "eventTime": "event_time", "online": True,
         "features": customers},
        {"name": "transactions", "recordIdentifier": "transaction_id", "eventTime": "event_time",
         "features": transactions}]}


def system(environment: str, region: str = "us-east-1") -> dict[str, Any]:
    """Two served models of two variants each (CPU and GPU), monitored and retrained."""
    return {
        "models": [churn(environment, region=region), fraud_gpu(environment, region)],
        "monitoring": {"models": {"churn": {"driftFeatures": ["tenure", "charges"]},
                                  "fraud": {"driftFeatures": ["amount"]}}},
        "retraining": {"enabled": True, "models": {
            name: {"parameters": {"TrainingImageTag": "1.4.2", "InferenceImageTag": "1.4.2"}} for name in ("churn", "fraud")}},
    }


# name -> (stack, config overrides under mlops-platform:, aws:region or None)
VARIANTS: dict[str, tuple[str, dict[str, Any], str | None]] = {
    "dev": ("dev", {}, None),
    "staging": ("staging", {}, None),
    "prod": ("prod", {}, None),
    "dev-managed-tracking": ("dev", {"tracking": {"backend": "sagemaker-managed", "mlflowVersion": "3.0"}}, None),
    "dev-kubernetes": ("dev", {"kubernetes": CLUSTER, "network": CLUSTER_NETWORK, "tracking": {"backend": "kubernetes", "mlflowVersion": "3.5.1"},
                               "serving": {"backend": "kubernetes"},
                               "models": [{**churn("dev"), "variants": [{"name": "current"}]}]}, None),
    "staging-system": ("staging", system("staging"), None),
    "staging-kubernetes-shared": ("staging", {"kubernetes": CLUSTER, "tracking": {"backend": "kubernetes", "mlflowVersion": "3.5.1"},
                                              "network": {"mode": "shared", "sharedStack": "acme/mlops-platform/shared"}}, None),
    # The same models on Model Monitor (opt-in engine, for accounts that have it).
    "staging-system-model-monitor": ("staging", {**system("staging"), "monitoring": {
        **system("staging")["monitoring"], "engine": "model-monitor"}}, None),
    "prod-system": ("prod", {**system("prod"), "observability": {"prometheus": True, "grafana": True}}, None),
    # The same account as prod: IAM holds one OIDC provider per issuer, which prod (us-east-1) creates.
    "prod-system-eu": ("prod", {**system("prod", "eu-west-1"), "iam": {"ci": {
        "provider": "github", "repository": "example-org/mlops-blueprint", "deployBranch": "main",
        "oidcProviderArn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"}}}, "eu-west-1"),
    "staging-shared-network": ("staging", {"network": {"mode": "shared", "sharedStack": "acme/mlops-platform/shared"},
                                           "models": [churn("staging")]}, None),
    # The organisation's trail records the account: the stack creates none of its own.
    "staging-org-trail": ("staging", {"audit": {"trail": "existing", "existingTrailArn": ORG_TRAIL}}, None),
    # SageMaker Feature Store (off in the shipped stacks), its offline store in the datasets bucket.
    "staging-feature-store": ("staging", {"featureStore": feature_store()}, None),
    "dev-gitlab": ("dev", {"iam": {"ci": {"provider": "gitlab", "repository": "acme/ml/platform"}}}, None),
    # An open LLM on the region's TGI image, its weights staged in the models bucket (models[].llm).
    "staging-llm": ("staging", {"models": [{"name": "chat", "llm": {
        "container": "tgi", "weightsS3Uri": f"s3://{models_bucket('staging')}/llm/mistral-7b-instruct/"},
        "variants": [{"instanceType": "ml.g5.2xlarge"}]}]}, None),
    # churn served from the model registry (the preview's placeholder package), fraud pinned
    "staging-registry": ("staging", {"tracking": {"modelFamilies": ["churn", "fraud"]},
                                     "models": [{"name": "churn", "modelPackageGroup": "churn"}, fraud_gpu("staging")]},
                         None),
    # Model-quality monitoring (a CloudFormation stack) and alert subscriptions, deployed by CI.
    "staging-quality-alerts": ("staging", {
        **system("staging"),
        "monitoring": {"engine": "model-monitor", "models": {"fraud": {"driftFeatures": ["amount"]}, "churn": {"driftFeatures": ["tenure"], "modelQuality": {
            "groundTruthS3Uri": f"s3://mlops-platform-staging-datasets-{ACCOUNT}-us-east-1/ground-truth/churn",
            "problemType": "BinaryClassification", "inferenceAttribute": "prediction", "metric": "accuracy",
            "threshold": 0.8}}}},
        "alerts": {"subscriptions": {"critical": [{"protocol": "email", "endpoint": "oncall@example.com"}]}},
        "iam": {"ci": {"provider": "github", "repository": "acme/ml-platform"}}}, None),
}


def stack_document(stack: str, overrides: dict[str, Any], region: str | None = None) -> dict[str, Any]:
    """The shipped stack file of ``stack`` with ``overrides`` (camelCase keys under mlops-platform:)."""
    document = yaml.safe_load(stack_file(stack).read_text())
    document["config"].update({f"mlops-platform:{key}": copy.deepcopy(value) for key, value in overrides.items()})
    if region:
        document["config"]["aws:region"] = region
    return document


def preview_document(stack: str, document: dict[str, Any]) -> PreviewResult:
    """Preview a stack file given as a dict (as ``preview --config-file`` would)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"Pulumi.{stack}.yaml"
        path.write_text(yaml.safe_dump(document))
        return run_preview(stack, path)


def preview_with(stack: str, region: str | None = None, **overrides: Any) -> PreviewResult:
    if region is None and not overrides:  # the shipped stack file itself, as `preview --stack` reads it
        return run_preview(stack)
    return preview_document(stack, stack_document(stack, overrides, region))


# Under pytest-xdist every worker is a process of its own: tests/conftest.py points this at a
# folder the run's workers share, so that each variant is previewed once per run, not per worker.
SHARED_DIR: Path | None = None
T = TypeVar("T")


def shared(key: str, compute: Callable[[], T]) -> T:
    """``compute()`` once per run under ``key`` (unique, usable as a file name): under xdist the first
    worker to ask computes it and the others load it. Cache the caller per process (functools.cache)."""
    if SHARED_DIR is None:
        return compute()
    SHARED_DIR.mkdir(parents=True, exist_ok=True)
    path = SHARED_DIR / f"{key}.pickle"
    with (SHARED_DIR / f"{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the other worker waits for the result rather than repeating it
        if path.exists():
            return pickle.loads(path.read_bytes())
        result = compute()
        path.write_bytes(pickle.dumps(result))
        return result


@functools.cache
def result_for(variant: str) -> PreviewResult:
    """The preview of one named variant, computed once per session. Treat it as read-only."""
    stack, overrides, region = VARIANTS[variant]
    return shared(variant, lambda: preview_with(stack, region, **overrides))


def plan_for(variant: str) -> dict[str, Any]:
    return result_for(variant).plan


def all_plans() -> Iterator[tuple[str, dict[str, Any]]]:
    for variant in VARIANTS:
        yield variant, plan_for(variant)


# The repository's tests find resources as users' tests do: through the public testing API.
def of_type(plan: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return Preview(plan).of_type(type_)


def named(plan: dict[str, Any], type_: str, name: str) -> dict[str, Any]:
    return Preview(plan).named(type_, name)


def where(plan: dict[str, Any], predicate: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    return Preview(plan).where(predicate)
