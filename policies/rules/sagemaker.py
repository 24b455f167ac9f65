"""SageMaker: encrypted, isolated, VPC-bound ML workloads; captured traffic outside dev.

Two secure defaults are relaxed on purpose, and the pack says why instead of failing them:

- NVMe instance-store types (``ml.g5``, ``ml.p4d``, ...): SageMaker refuses a KmsKeyId for an
  endpoint configuration with any such variant; the instance hardware encrypts that storage.
  ``sagemaker-endpoint-kms`` exempts them and ``sagemaker-endpoint-instance-store`` (advisory)
  reports the reason.
- Serverless variants (``serving.serverless``, dev only): serverless endpoints take no VPC, network
  isolation, KMS key or data capture. In dev, the KMS, VPC and isolation rules exempt them (the
  models only when every configuration serving them is serverless) and ``sagemaker-serverless-dev``
  (advisory) reports what is given up; elsewhere they fail as usual.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlops_blueprint.policies.model import ContextFor, PolicyContext, ResourceCheck, ResourceView, Rule, StackCheck
from mlops_blueprint.policies.rules._helpers import find, is_set, requires, requires_set, rule, stack_rule
from mlops_blueprint.components.served_model_settings import has_local_storage

ENDPOINT_CONFIGURATION = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
MODEL = "aws:sagemaker/model:Model"
NOTEBOOK_INSTANCE = "aws:sagemaker/notebookInstance:NotebookInstance"
DOMAIN = "aws:sagemaker/domain:Domain"

DATA_CAPTURE_ENVIRONMENTS = ("staging", "prod")
SERVERLESS_ENVIRONMENTS = ("dev",)  # where serving.serverless is allowed (served_model_settings.model_problems)


def _variants(config: ResourceView) -> list[dict[str, Any]]:
    return [v for v in (config.props.get("productionVariants") or []) if isinstance(v, dict)]


def _instance_store_variants(config: ResourceView) -> list[dict[str, Any]]:
    """Variants on NVMe instance-store types: with any of them, SageMaker refuses a KmsKeyId."""
    return [v for v in _variants(config)
            if isinstance(v.get("instanceType"), str) and has_local_storage(v["instanceType"])]


def _serverless_by_design(config: ResourceView, ctx: PolicyContext) -> bool:
    """Every variant serverless, in an environment that allows it."""
    variants = _variants(config)
    return ctx.environment in SERVERLESS_ENVIRONMENTS and bool(variants) and all(
        is_set(v.get("serverlessConfig")) for v in variants)


def _names(variants: Sequence[dict[str, Any]]) -> str:
    return ", ".join(str(v.get("variantName")) for v in variants)


_kms_key = requires_set("kmsKeyArn", noun="endpoint configuration", fix="encrypt the ML storage volumes")


def _endpoint_kms(resource: ResourceView, ctx: PolicyContext) -> list[str]:
    if _instance_store_variants(resource) or _serverless_by_design(resource, ctx):
        return []  # SageMaker refuses a key here; the advisory rules below report why
    return _kms_key(resource, ctx)


def _instance_store(resource: ResourceView, ctx: PolicyContext) -> list[str]:
    local = _instance_store_variants(resource)
    if not local or is_set(resource.props.get("kmsKeyArn")):
        return []
    types = sorted({str(v["instanceType"]) for v in local})
    others = [v for v in _variants(resource) if v not in local and not is_set(v.get("serverlessConfig"))]
    rest = (f"; the EBS volumes of the other variants ({_names(others)}) are encrypted with an AWS-managed key, "
            "not a customer-managed one" if others else "")
    return [f"endpoint configuration '{resource.name}' has no kmsKeyArn by design: variant(s) {_names(local)} run on "
            f"{', '.join(types)}, whose ML storage is an NVMe instance store encrypted by the instance hardware, "
            f"and SageMaker refuses a KmsKeyId for such a configuration{rest}"]


def _serverless_dev(resource: ResourceView, ctx: PolicyContext) -> list[str]:
    if not _serverless_by_design(resource, ctx):
        return []
    return [f"endpoint configuration '{resource.name}' serves {_names(_variants(resource))} serverless "
            f"(serving.serverless, allowed in {', '.join(SERVERLESS_ENVIRONMENTS)} only): SageMaker serverless "
            "endpoints take no VPC, network isolation, customer-managed KMS key or data capture, so the model "
            "runs outside the platform VPC with outbound access"]


def _serverless_models(resources: Sequence[ResourceView], ctx_for: ContextFor) -> set[str]:
    """URNs of the models served only by serverless-by-design endpoint configurations.

    A variant names its model by ``modelName``; when that is unknown (real preview), the
    configuration's property dependencies say which models its variants use.
    """
    models = find(resources, MODEL)
    by_name = {m.props["name"]: m.urn for m in models if isinstance(m.props.get("name"), str)}
    model_urns = {m.urn for m in models}
    serverless: set[str] = set()
    other: set[str] = set()
    for config in find(resources, ENDPOINT_CONFIGURATION):
        used = {by_name[v["modelName"]] for v in _variants(config) if v.get("modelName") in by_name}
        used |= {u for u in config.property_dependencies.get("productionVariants", ()) if u in model_urns}
        (serverless if _serverless_by_design(config, ctx_for(config)) else other).update(used)
    return serverless - other


def _models_except_serverless(check: ResourceCheck) -> StackCheck:
    """``check`` over every model but those only serverless endpoints serve (in dev)."""

    def check_stack(resources: Sequence[ResourceView], ctx_for: ContextFor) -> list[tuple[str, str]]:
        exempt = _serverless_models(resources, ctx_for)
        return [(model.urn, message) for model in find(resources, MODEL) if model.urn not in exempt
                for message in check(model, ctx_for(model))]

    return check_stack


_NOTEBOOK = "notebook instance"

RULES: tuple[Rule, ...] = (
    rule("sagemaker-endpoint-kms",
         "Endpoint configurations encrypt their storage volumes with a KMS key (kmsKeyArn); instance-store types, "
         "and serverless in dev, are exempt (see the advisory rules).",
         _endpoint_kms, ENDPOINT_CONFIGURATION),
    rule("sagemaker-endpoint-instance-store",
         "Endpoint configurations left without a KMS key because a variant uses an NVMe instance-store type "
         "(SageMaker refuses the key; the hardware encrypts): reported with the reason.",
         _instance_store, ENDPOINT_CONFIGURATION, enforcement="advisory"),
    rule("sagemaker-serverless-dev",
         "Serverless endpoints in dev give up the VPC, network isolation, KMS key and data capture: reported with "
         "the reason (the mandatory rules exempt them in dev only).",
         _serverless_dev, ENDPOINT_CONFIGURATION, enforcement="advisory"),
    rule("sagemaker-endpoint-data-capture",
         "Staging and prod endpoints capture requests/responses (dataCaptureConfig.enableCapture).",
         requires("dataCaptureConfig.enableCapture", noun="endpoint configuration",
                  environments=DATA_CAPTURE_ENVIRONMENTS, why="model monitoring needs the captured traffic"),
         ENDPOINT_CONFIGURATION),
    stack_rule("sagemaker-model-network-isolation",
               "Model containers run with enableNetworkIsolation, so they cannot call out (models only serverless "
               "endpoints serve are exempt in dev).",
               _models_except_serverless(requires("enableNetworkIsolation", noun="model", quote_value=True,
                                                  why="no outbound calls from the container"))),
    stack_rule("sagemaker-model-vpc",
               "Models run inside the platform VPC (vpcConfig set; models only serverless endpoints serve are exempt "
               "in dev).",
               _models_except_serverless(requires_set("vpcConfig", noun="model",
                                                      fix="run its containers in the platform VPC"))),
    rule("sagemaker-notebook-no-direct-internet",
         "Notebook instances have directInternetAccess Disabled (the default is Enabled).",
         requires("directInternetAccess", "Disabled", noun=_NOTEBOOK, quote_value=True,
                  why="egress only through the VPC"),
         NOTEBOOK_INSTANCE),
    rule("sagemaker-notebook-no-root", "Notebook instances have rootAccess Disabled (the default is Enabled).",
         requires("rootAccess", "Disabled", noun=_NOTEBOOK, quote_value=True,
                  why="users cannot change the instance"),
         NOTEBOOK_INSTANCE),
    rule("sagemaker-domain-vpc-only",
         "Studio domains use appNetworkAccessType VpcOnly (the default is PublicInternetOnly).",
         requires("appNetworkAccessType", "VpcOnly", noun="domain", quote_value=True,
                  why="Studio traffic stays in the VPC"),
         DOMAIN),
)
