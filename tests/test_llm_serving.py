"""Open LLMs (models[].llm): the region's TGI/LMI image, S3-staged weights, GPU timeouts, scaling on
concurrency, policy and cost, previewed as a whole stack in two regions whose DLC accounts differ."""

from __future__ import annotations

import functools
import json
from importlib import metadata
from typing import Any

import pytest

from mlops_blueprint import llm_images
from mlops_blueprint.components.serving_inputs import content_digest
from mlops_blueprint.config import ConfigError, parse_config
from mlops_blueprint.cost import estimate
from mlops_blueprint.llm_images import ImageDataUnavailable, llm_image
from mlops_blueprint.components.served_model_settings import resolve_model
from support.stacks import models_bucket, of_type, preview_with

MODEL = "aws:sagemaker/model:Model"
CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
POLICY = "aws:appautoscaling/policy:Policy"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"

# The images AWS publishes for these versions (Deep Learning Containers' available images): most
# regions pull from 763104351884, ap-east-1 from its own registry account.
TGI_TAG = "huggingface-pytorch-tgi-inference:2.7.0-tgi3.3.6-gpu-py311-cu124-ubuntu22.04"
LMI_TAG = "djl-inference:0.36.0-lmi27.0.0-cu130"
EXPECTED = {
    "us-east-1": "763104351884.dkr.ecr.us-east-1.amazonaws.com",
    "ap-east-1": "871362719292.dkr.ecr.ap-east-1.amazonaws.com",
}


def llm_models(region: str) -> list[dict[str, Any]]:
    """A 7B chat model on TGI (one GPU) and Mixtral on LMI (eight GPUs), weights in the models bucket."""
    bucket = models_bucket("staging", region)
    return [
        {"name": "chat", "llm": {"container": "tgi", "weightsS3Uri": f"s3://{bucket}/llm/mistral-7b-instruct/",
                                 "targetConcurrentRequests": 6},
         "variants": [{"instanceType": "ml.g5.2xlarge", "initialInstanceCount": 2}]},
        {"name": "mixtral", "llm": {"container": "lmi", "weightsS3Uri": f"s3://{bucket}/llm/mixtral-8x7b/",
                                    "sizeBillions": 47, "modelDataDownloadTimeoutSeconds": 2400},
         "variants": [{"instanceType": "ml.g5.48xlarge", "initialInstanceCount": 2}]},
    ]


@functools.cache
def plan_in(region: str) -> dict[str, Any]:
    return preview_with("staging", None if region == "us-east-1" else region, models=llm_models(region)).plan


def by_model(plan: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    """``type_``'s resources of the chat and mixtral endpoints, by model name."""
    return {model: r for r in of_type(plan, type_) for model in ("chat", "mixtral") if r["name"].startswith(f"serving-{model}-")}


@pytest.mark.parametrize("region", sorted(EXPECTED))
def test_an_llm_model_previews_with_the_regions_image_and_no_mandatory_finding(region: str) -> None:
    plan = plan_in(region)
    models = by_model(plan, MODEL)
    assert models["chat"]["inputs"]["primaryContainer"]["image"] == f"{EXPECTED[region]}/{TGI_TAG}"
    assert models["mixtral"]["inputs"]["primaryContainer"]["image"] == f"{EXPECTED[region]}/{LMI_TAG}"
    assert [f for f in plan["findings"] if f["enforcement"] == "mandatory"] == []
    # g5 keeps its ML storage on an NVMe instance store: no KMS key, said by the advisory rule.
    advisories = {f["policy"] for f in plan["findings"] if f["urn"] in {c["urn"] for c in by_model(plan, CONFIG).values()}}
    assert advisories == {"sagemaker-endpoint-instance-store"}


@pytest.mark.parametrize("region", sorted(EXPECTED))
def test_the_role_may_pull_exactly_the_llm_repositories_of_the_regions_registry(region: str) -> None:
    plan = plan_in(region)
    account = EXPECTED[region].split(".")[0]
    grants = by_model(plan, ROLE_POLICY)
    resources = {m: json.loads(p["inputs"]["policy"])["Statement"][0]["Resource"] for m, p in grants.items()}
    assert resources == {
        "chat": [f"arn:aws:ecr:{region}:{account}:repository/huggingface-pytorch-tgi-inference"],
        "mixtral": [f"arn:aws:ecr:{region}:{account}:repository/djl-inference"],
    }
    serving_role = by_model(plan, MODEL)["chat"]["inputs"]["executionRoleArn"]
    assert {p["inputs"]["role"] for p in grants.values()} == {serving_role.rsplit("/", 1)[-1]}
    # The model is created once its role may pull the image.
    for model, grant in grants.items():
        assert grant["urn"] in by_model(plan, MODEL)[model]["dependencies"]


def test_weights_come_uncompressed_from_the_s3_prefix_and_the_container_reads_them_locally() -> None:
    models = by_model(plan_in("us-east-1"), MODEL)
    bucket = models_bucket("staging")
    for name, prefix in (("chat", "llm/mistral-7b-instruct/"), ("mixtral", "llm/mixtral-8x7b/")):
        container = models[name]["inputs"]["primaryContainer"]
        assert "modelDataUrl" not in container
        assert container["modelDataSource"] == {"s3DataSources": [
            {"s3Uri": f"s3://{bucket}/{prefix}", "s3DataType": "S3Prefix", "compressionType": "None"}]}
        assert container["environment"]["HF_MODEL_ID"] == "/opt/ml/model"
        assert not {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"} & set(container["environment"])
        assert models[name]["inputs"]["enableNetworkIsolation"] is True
    assert models["chat"]["inputs"]["primaryContainer"]["environment"]["SM_NUM_GPUS"] == "1"  # ml.g5.2xlarge
    assert models["mixtral"]["inputs"]["primaryContainer"]["environment"]["OPTION_TENSOR_PARALLEL_DEGREE"] == "max"


def test_model_names_hash_the_recorded_inputs_so_a_new_image_or_prefix_replaces_the_model() -> None:
    for model in by_model(plan_in("us-east-1"), MODEL).values():
        assert model["inputs"]["name"].endswith(content_digest(model["inputs"]))


def test_gpu_variants_get_start_up_and_download_timeouts_by_model_size() -> None:
    configs = by_model(plan_in("us-east-1"), CONFIG)
    [chat] = configs["chat"]["inputs"]["productionVariants"]
    [mixtral] = configs["mixtral"]["inputs"]["productionVariants"]
    assert (chat["containerStartupHealthCheckTimeoutInSeconds"], chat["modelDataDownloadTimeoutInSeconds"]) == (600, 600)
    # 47B: the 20..80B tier for the health check; the download timeout as configured.
    assert (mixtral["containerStartupHealthCheckTimeoutInSeconds"], mixtral["modelDataDownloadTimeoutInSeconds"]) == (1800, 2400)
    assert (chat["instanceType"], mixtral["instanceType"]) == ("ml.g5.2xlarge", "ml.g5.48xlarge")


def test_llm_variants_scale_on_concurrent_requests_per_model() -> None:
    policies = by_model(plan_in("us-east-1"), POLICY)
    specs = {m: p["inputs"]["targetTrackingScalingPolicyConfiguration"] for m, p in policies.items()}
    assert {m: s["predefinedMetricSpecification"]["predefinedMetricType"] for m, s in specs.items()} == {
        "chat": "SageMakerVariantConcurrentRequestsPerModelHighResolution",
        "mixtral": "SageMakerVariantConcurrentRequestsPerModelHighResolution"}
    assert (specs["chat"]["targetValue"], specs["mixtral"]["targetValue"]) == (6, 4)


def test_gpu_instances_are_priced_in_the_estimate() -> None:
    report = estimate(plan_in("us-east-1"))
    endpoint_hours = [line for line in report.lines if line.component.startswith("serving-") and line.unit == "instance-hours"]
    [chat] = [line for line in endpoint_hours if line.model == "chat"]
    assert chat.item == "ml.g5.2xlarge x 2 (variant AllTraffic)"
    assert chat.monthly == pytest.approx(2 * 730 * 1.515)
    [mixtral] = [line for line in endpoint_hours if line.model == "mixtral"]
    assert mixtral.monthly == pytest.approx(2 * 730 * 20.36)
    assert report.by_model()["mixtral"] > report.by_model()["chat"]


# -- bad input: a ConfigError naming the key, before anything registers ---------------------------

BASE = {"environment": "dev", "region": "us-east-1", "owner": "ml-platform", "costCenter": "cc-1"}
WEIGHTS = f"s3://{models_bucket('dev')}/llm/mistral-7b-instruct/"
CHAT = {"name": "chat", "llm": {"container": "tgi", "weightsS3Uri": WEIGHTS},
        "variants": [{"instanceType": "ml.g5.2xlarge"}]}


def problems_of(model: dict[str, Any], **config: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config({**BASE, **config, "models": [model]})
    return caught.value.problems


def with_llm(**llm: Any) -> dict[str, Any]:
    return {**CHAT, "llm": {**CHAT["llm"], **llm}}


def test_the_reference_entry_is_valid() -> None:
    [model] = parse_config({**BASE, "models": [CHAT]}).models
    assert model.llm is not None and model.llm.startup_timeout == 600


@pytest.mark.parametrize(("model", "key", "says"), [
    ({**CHAT, "variants": [{"instanceType": "ml.m5.xlarge"}]}, "models[chat].variants[AllTraffic].instanceType",
     "has no NVIDIA GPU"),
    (with_llm(weightsS3Uri="s3://someone-elses-bucket/llm/mistral/"), "models[chat].llm.weightsS3Uri",
     "outside this stack's models bucket"),
    (with_llm(weightsS3Uri=f"s3://{models_bucket('dev')}/llm/model.tar.gz"), "models[0].llm.weightsS3Uri",
     "ending with '/'"),
    (with_llm(containerStartupHealthCheckTimeoutSeconds=3601), "models[0].llm.containerStartupHealthCheckTimeoutSeconds",
     "less than or equal to 3600"),
    (with_llm(modelDataDownloadTimeoutSeconds=59), "models[0].llm.modelDataDownloadTimeoutSeconds",
     "greater than or equal to 60"),
    (with_llm(container="vllm"), "models[0].llm.container", "'tgi' or 'lmi'"),
    (with_llm(version="0.0.1"), "models[chat].llm.version", "expected one of"),
    ({**CHAT, "image": "inference:1.4.2"}, "models[0]", "sets llm and image"),
    ({**CHAT, "environment": {"HF_TOKEN": "hf_x"}}, "models[chat].environment", "HF_TOKEN"),
    ({**CHAT, "environment": {"HF_MODEL_ID": "meta-llama/Llama-2-7b-hf"}}, "models[chat].environment.HF_MODEL_ID",
     "cannot reach the Hugging Face Hub"),
    ({**CHAT, "variants": [{"name": "a", "instanceType": "ml.g5.2xlarge"},
                           {"name": "b", "instanceType": "ml.g5.12xlarge"}]}, "models[chat].variants",
     "different GPU counts"),
])
def test_bad_llm_entries_are_config_errors_naming_the_key(model: dict[str, Any], key: str, says: str) -> None:
    # Problems that span sections come joined in one line: what is said must follow the key.
    found = problems_of(model)
    assert any(f"{key}:" in p and says in p[p.index(f"{key}:"):] for p in found), found


def test_serverless_cannot_serve_an_llm() -> None:
    model = {**CHAT, "variants": [{"serverless": {"memorySizeMb": 6144}}]}
    assert any("models[chat].variants[AllTraffic]: LLM containers need GPU instances" in p for p in problems_of(model))


# -- the image data ---------------------------------------------------------------------------------


def test_china_regions_use_their_own_registry_and_dns_suffix() -> None:
    image = llm_image("lmi", None, "cn-north-1")
    assert image.uri == f"727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/{LMI_TAG}"
    assert image.repository_arn("aws-cn") == "arn:aws-cn:ecr:cn-north-1:727897471807:repository/djl-inference"


def test_a_version_alias_names_the_newest_patch_and_a_region_without_the_image_is_refused() -> None:
    assert llm_image("tgi", "3.3", "eu-west-1").tag == TGI_TAG.split(":")[1]
    with pytest.raises(ValueError, match="has no image in xx-nowhere-1; it is published in"):
        llm_image("tgi", None, "xx-nowhere-1")


def test_without_sagemaker_core_the_config_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> metadata.Distribution:
        raise metadata.PackageNotFoundError(name)

    llm_images._config.cache_clear()
    monkeypatch.setattr(llm_images.metadata, "distribution", missing)
    try:
        with pytest.raises(ImageDataUnavailable):
            llm_image("tgi", None, "us-east-1")
        assert any("models[chat].llm: " in p and "mlops-blueprint[llm]" in p for p in problems_of(CHAT))
    finally:
        llm_images._config.cache_clear()


def test_the_kubernetes_backend_refuses_an_llm() -> None:
    found = problems_of(CHAT, serving={"backend": "kubernetes"})
    assert any("models[chat].llm: the kubernetes backend does not serve LLM" in p for p in found), found


@pytest.mark.parametrize(("size", "expected"), [
    (7, "ml.g5.2xlarge"), (13, "ml.g5.12xlarge"), (47, "ml.g5.48xlarge"), (70, "ml.g5.48xlarge"), (180, "ml.p4d.24xlarge"),
])
def test_a_variant_without_an_instance_type_gets_a_gpu_type_by_size_never_serverless(size: float, expected: str) -> None:
    model = {"name": "chat", "llm": {"container": "lmi", "weightsS3Uri": WEIGHTS, "sizeBillions": size}}
    config = parse_config({**BASE, "serving": {"serverless": True, "instanceType": "ml.m5.large"}, "models": [model]})
    [variant] = resolve_model(config.serving, config.models[0]).variants
    assert (variant.serverless, variant.instance_type) == (None, expected)


def test_rollback_on_latency_waits_for_answers_near_the_invocation_limit() -> None:
    alarms = {r["name"]: r["inputs"] for r in of_type(plan_in("us-east-1"), "aws:cloudwatch/metricAlarm:MetricAlarm")}
    # ModelLatency is in microseconds: 60 s, not staging's milliseconds for tabular models.
    assert alarms["serving-chat-rollback-latency"]["threshold"] == 60_000 * 1000
    own = {**CHAT, "deployment": {"alarms": {"modelLatencyMs": 20_000}}}
    config = parse_config({**BASE, "models": [own]})
    assert resolve_model(config.serving, config.models[0]).deployment.alarms.model_latency_ms == 20_000
