"""A served model's names and defining inputs: what the endpoint's physical names hash (pure
builders, no resources). ``ServingEndpoint`` registers them; the hashes must match what the
engine records, so these mirror the inputs as it receives them (camelCase)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mlops_blueprint.context import StackContext
from mlops_blueprint.naming import NameKind
from mlops_blueprint.components.llm_settings import LlmSettings

if TYPE_CHECKING:  # served_model_settings imports the serving settings from this package
    from mlops_blueprint.components.served_model_settings import ResolvedModel, ResolvedVariant

DIGEST_LENGTH = 8
DATA_CAPTURE_PREFIX = "data-capture"
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
INVOCATIONS_METRIC = "SageMakerVariantInvocationsPerInstance"
# LLM variants: concurrent requests per model container, a high-resolution (10 s) metric.
CONCURRENCY_METRIC = "SageMakerVariantConcurrentRequestsPerModelHighResolution"
# An LLM's weights: every file under an S3 prefix, copied as they are (ModelDataSource).
WEIGHTS_DATA_TYPE, WEIGHTS_COMPRESSION = "S3Prefix", "None"
TRAFFIC_ROUTING = {"canary": "CANARY", "linear": "LINEAR", "all-at-once": "ALL_AT_ONCE"}
CAPTURE_CONTENT_TYPES = {"csvContentTypes": ["text/csv"], "jsonContentTypes": ["application/json"]}
ENDPOINT_NAMESPACE = "AWS/SageMaker"
# The alarm names' separator: variant and model names cannot contain '.', so no other alarm of the
# stack (monitoring's are <model>-<variant>-5xx) can take these names.
ROLLBACK_ALARM = "rollback.{purpose}"


# -- names and digests -----------------------------------------------------------------------------


def _canonical(value: Any) -> Any:
    """Inputs as the engine records them: no None, integral floats as ints (1.0 == 1), sorted keys."""
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(value.items()) if v is not None}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def content_digest(inputs: Mapping[str, Any]) -> str:
    """Short hash of a resource's defining inputs (``name`` and tags excluded)."""
    defining = {k: v for k, v in inputs.items() if k not in ("name", "tags", "tagsAll")}
    text = json.dumps(_canonical(defining), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:DIGEST_LENGTH]


def endpoint_name(ctx: StackContext, model: str) -> str:
    """Stable for the life of the model: clients and alarms address the endpoint by it."""
    return ctx.naming.name(model, kind=NameKind.SAGEMAKER)


def data_capture_uri(models_bucket: str, model: str) -> str:
    return f"s3://{models_bucket}/{DATA_CAPTURE_PREFIX}/{model}"


def rollback_alarm_name(ctx: StackContext, model: str, purpose: str) -> str:
    """``<prefix>-<model>-rollback.<5xx|latency>``: one per endpoint, the same whatever its variants."""
    return ctx.naming.name(model, ROLLBACK_ALARM.format(purpose=purpose))


def rollback_queries(endpoint: str, variants: Sequence[str], *, metric: str, stat: str, aggregate: str,
                     period: int, label: str) -> list[dict[str, Any]]:
    """Metric math over the variants: one query per variant, ``aggregate`` (SUM or MAX) of them returned."""
    queries: list[dict[str, Any]] = [
        {"id": f"v{i}", "return_data": False, "metric": {
            "namespace": ENDPOINT_NAMESPACE, "metric_name": metric, "stat": stat, "period": period,
            "dimensions": {"EndpointName": endpoint, "VariantName": variant}}}
        for i, variant in enumerate(variants)
    ]
    expression = f"{aggregate}([{', '.join(q['id'] for q in queries)}])"
    return [*queries, {"id": "endpoint", "label": label, "return_data": True, "expression": expression}]


def scaling_resource_id(endpoint: str, variant: str) -> str:
    return f"endpoint/{endpoint}/variant/{variant}"


def weights_source(weights_s3_uri: str) -> dict[str, Any]:
    """An LLM's ``modelDataSource``: the uncompressed files under an S3 prefix, copied to /opt/ml/model."""
    return {"s3DataSources": [{"s3Uri": weights_s3_uri, "s3DataType": WEIGHTS_DATA_TYPE,
                               "compressionType": WEIGHTS_COMPRESSION}]}


def model_inputs(*, image: str, model_data_url: str | None, environment: Mapping[str, str], role_arn: str,
                 subnet_ids: Sequence[str], security_group_ids: Sequence[str], isolated: bool,
                 weights_s3_uri: str | None = None) -> dict[str, Any]:
    """A Model's defining inputs as the engine receives them (camelCase): what its name hashes."""
    container: dict[str, Any] = {"image": image, "modelDataUrl": model_data_url}
    if weights_s3_uri is not None:
        container = {"image": image, "modelDataSource": weights_source(weights_s3_uri)}
    if environment:
        container["environment"] = dict(environment)
    inputs: dict[str, Any] = {"executionRoleArn": role_arn, "primaryContainer": container,
                              "enableNetworkIsolation": isolated}
    if isolated:
        inputs["vpcConfig"] = {"securityGroupIds": list(security_group_ids), "subnets": list(subnet_ids)}
    return inputs


def variant_inputs(variant: ResolvedVariant, model_name: str, llm: LlmSettings | None = None) -> dict[str, Any]:
    """One production variant as the engine receives it (an LLM's: with its start-up and download timeouts)."""
    inputs: dict[str, Any] = {"variantName": variant.name, "modelName": model_name,
                              "initialVariantWeight": float(variant.weight)}
    if variant.serverless is not None:
        serverless = variant.serverless
        inputs["serverlessConfig"] = {"memorySizeInMb": serverless.memory_size_mb,
                                      "maxConcurrency": serverless.max_concurrency}
        if serverless.provisioned_concurrency is not None:
            inputs["serverlessConfig"]["provisionedConcurrency"] = serverless.provisioned_concurrency
    else:
        inputs["instanceType"] = variant.instance_type
        inputs["initialInstanceCount"] = variant.initial_instance_count
        if llm is not None:
            inputs["containerStartupHealthCheckTimeoutInSeconds"] = llm.startup_timeout
            inputs["modelDataDownloadTimeoutInSeconds"] = llm.download_timeout
    return inputs


def endpoint_configuration_inputs(resolved: ResolvedModel, model_names: Mapping[str, str], *,
                                  models_bucket: str, kms_key_arn: str) -> dict[str, Any]:
    """An EndpointConfiguration's defining inputs; ``model_names`` maps variant name -> model name."""
    inputs: dict[str, Any] = {
        "productionVariants": [variant_inputs(v, model_names[v.name], resolved.llm) for v in resolved.variants],
    }
    if resolved.encrypts_with_kms:
        inputs["kmsKeyArn"] = kms_key_arn
    if resolved.captures_data:
        inputs["dataCaptureConfig"] = {
            "enableCapture": True,
            "initialSamplingPercentage": resolved.data_capture_percent,
            "destinationS3Uri": data_capture_uri(models_bucket, resolved.name),
            "kmsKeyId": kms_key_arn,
            "captureOptions": [{"captureMode": "Input"}, {"captureMode": "Output"}],
            "captureContentTypeHeader": dict(CAPTURE_CONTENT_TYPES),
        }
    return inputs
