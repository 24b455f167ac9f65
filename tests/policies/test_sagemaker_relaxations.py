"""Secure defaults the components relax on purpose (instance-store GPU types, serverless in dev):
the pack exempts them from the mandatory rules only where the reason holds, and says why."""

from __future__ import annotations

from mlops_blueprint.policies.engine import evaluate
from mlops_blueprint.policies.model import UNKNOWN, context_factory
from mlops_blueprint.policies.rules import ALL_RULES
from support.policies import view

CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
MODEL = "aws:sagemaker/model:Model"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd"
CAPTURE = {"enableCapture": True, "initialSamplingPercentage": 20, "destinationS3Uri": "s3://models/data-capture/"}
SAGEMAKER_RULES = [r for r in ALL_RULES if r.name.startswith("sagemaker-")]


def serverless_model(name: str = "churn-model", physical: str = "churn-1") -> object:
    """What ServingEndpoint makes for a serverless variant: no VPC, no isolation."""
    return view(MODEL, name, {"name": physical, "enableNetworkIsolation": False})


def serverless_config(model_name: object = "churn-1", **extra: object) -> object:
    return view(CONFIG, "churn-config", {"productionVariants": [
        {"modelName": model_name, "variantName": "current", "serverlessConfig": {"memorySizeInMb": 2048}}]}, **extra)


def findings(resources: list, environment: str) -> dict[str, set[str]]:
    result: dict[str, set[str]] = {"mandatory": set(), "advisory": set()}
    for finding in evaluate(resources, context_factory(environment), rules=SAGEMAKER_RULES):
        result[finding.enforcement].add(finding.policy)
    return result


def test_serverless_in_dev_is_advisory_with_the_reason() -> None:
    resources = [serverless_model(), serverless_config()]
    assert findings(resources, "dev") == {"mandatory": set(), "advisory": {"sagemaker-serverless-dev"}}
    [finding] = evaluate(resources, context_factory("dev"), rules=SAGEMAKER_RULES)
    assert "serving.serverless, allowed in dev only" in finding.message and "'churn-config'" in finding.message


def test_serverless_outside_dev_fails_every_control_it_gives_up() -> None:
    resources = [serverless_model(), serverless_config()]
    for environment in ("staging", "prod"):
        assert findings(resources, environment)["mandatory"] >= {
            "sagemaker-endpoint-kms", "sagemaker-model-vpc", "sagemaker-model-network-isolation"}
        assert "sagemaker-serverless-dev" not in findings(resources, environment)["advisory"]


def test_a_model_also_served_by_instances_is_not_exempt() -> None:
    instance_config = view(CONFIG, "churn-instances", {"kmsKeyArn": KEY_ARN, "productionVariants": [
        {"modelName": "churn-1", "variantName": "current", "instanceType": "ml.m5.large"}]})
    found = findings([serverless_model(), serverless_config(), instance_config], "dev")
    assert found["mandatory"] == {"sagemaker-model-vpc", "sagemaker-model-network-isolation"}


def test_a_model_no_serverless_config_serves_is_not_exempt() -> None:
    other = serverless_model("fraud-model", "fraud-1")
    found = evaluate([serverless_model(), other, serverless_config()], context_factory("dev"), rules=SAGEMAKER_RULES)
    assert {f.urn for f in found if f.enforcement == "mandatory"} == {other.urn}


def test_the_model_is_matched_by_property_dependencies_when_its_name_is_unknown() -> None:
    model = serverless_model()
    config = serverless_config(UNKNOWN, property_dependencies={"productionVariants": (model.urn,)})
    assert findings([model, config], "dev")["mandatory"] == set()


def test_any_instance_store_variant_exempts_the_key_and_the_advisory_names_it() -> None:
    mixed = view(CONFIG, "fraud-config", {"dataCaptureConfig": CAPTURE, "productionVariants": [
        {"modelName": "m", "variantName": "cpu", "instanceType": "ml.m5.xlarge"},
        {"modelName": "m", "variantName": "gpu", "instanceType": "ml.g5.xlarge"}]})
    assert findings([mixed], "prod") == {"mandatory": set(), "advisory": {"sagemaker-endpoint-instance-store"}}
    [finding] = evaluate([mixed], context_factory("prod"), rules=SAGEMAKER_RULES)
    assert "variant(s) gpu run on ml.g5.xlarge" in finding.message and "other variants (cpu)" in finding.message


def test_cpu_only_variants_without_a_key_still_fail() -> None:
    cpu = view(CONFIG, "churn-config", {"dataCaptureConfig": CAPTURE, "productionVariants": [
        {"modelName": "m", "variantName": "cpu", "instanceType": "ml.m5.xlarge"}]})
    assert findings([cpu], "prod") == {"mandatory": {"sagemaker-endpoint-kms"}, "advisory": set()}
