"""SageMaker: encrypted, isolated, VPC-bound ML workloads; captured traffic outside dev."""

from __future__ import annotations

from mlops_blueprint.policies.model import PolicyContext, ResourceCheck, ResourceView, Rule
from mlops_blueprint.policies.rules._helpers import differs, is_set, show
from mlops_blueprint.serving_config import has_local_storage

ENDPOINT_CONFIGURATION = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
MODEL = "aws:sagemaker/model:Model"
NOTEBOOK_INSTANCE = "aws:sagemaker/notebookInstance:NotebookInstance"
DOMAIN = "aws:sagemaker/domain:Domain"

DATA_CAPTURE_ENVIRONMENTS = ("staging", "prod")


def _requires(prop: str, expected: object, label: str, why: str) -> ResourceCheck:
    """``prop`` must equal ``expected``; unset counts as AWS's (insecure) default."""

    def check(resource: ResourceView, ctx: PolicyContext) -> list[str]:
        value = resource.props.get(prop)
        if differs(value, expected):
            return [f"{label} '{resource.name}' has {prop} {show(value)}; set it to {show(expected)} ({why})"]
        return []

    return check


def _endpoint_kms(resource: ResourceView, ctx: PolicyContext) -> list[str]:
    if is_set(resource.props.get("kmsKeyArn")):
        return []
    variants = [v for v in (resource.props.get("productionVariants") or []) if isinstance(v, dict)]
    if variants and all(has_local_storage(str(v.get("instanceType") or "")) for v in variants):
        # SageMaker rejects a KmsKeyId for NVMe instance-store types; AWS encrypts them in hardware.
        return []
    return [f"endpoint configuration '{resource.name}' has no kmsKeyArn; encrypt the ML storage volumes"]


def _data_capture(resource: ResourceView, ctx: PolicyContext) -> list[str]:
    if ctx.environment not in DATA_CAPTURE_ENVIRONMENTS:
        return []
    if differs(resource.prop("dataCaptureConfig", "enableCapture"), True):
        return [
            f"endpoint configuration '{resource.name}' must set dataCaptureConfig.enableCapture=true "
            f"in {ctx.environment} (model monitoring needs the captured traffic)"
        ]
    return []


def _model_vpc(resource: ResourceView, ctx: PolicyContext) -> list[str]:
    if is_set(resource.props.get("vpcConfig")):
        return []
    return [f"model '{resource.name}' has no vpcConfig; run its containers in the platform VPC"]


RULES: tuple[Rule, ...] = (
    Rule(
        name="sagemaker-endpoint-kms",
        description="Endpoint configurations encrypt their storage volumes with a KMS key (kmsKeyArn).",
        enforcement="mandatory",
        check=_endpoint_kms,
        resource_types=(ENDPOINT_CONFIGURATION,),
    ),
    Rule(
        name="sagemaker-endpoint-data-capture",
        description="Staging and prod endpoints capture requests/responses (dataCaptureConfig.enableCapture).",
        enforcement="mandatory",
        check=_data_capture,
        resource_types=(ENDPOINT_CONFIGURATION,),
    ),
    Rule(
        name="sagemaker-model-network-isolation",
        description="Model containers run with enableNetworkIsolation, so they cannot call out.",
        enforcement="mandatory",
        check=_requires("enableNetworkIsolation", True, "model", "no outbound calls from the container"),
        resource_types=(MODEL,),
    ),
    Rule(
        name="sagemaker-model-vpc",
        description="Models run inside the platform VPC (vpcConfig set).",
        enforcement="mandatory",
        check=_model_vpc,
        resource_types=(MODEL,),
    ),
    Rule(
        name="sagemaker-notebook-no-direct-internet",
        description="Notebook instances have directInternetAccess Disabled (the default is Enabled).",
        enforcement="mandatory",
        check=_requires("directInternetAccess", "Disabled", "notebook instance", "egress only through the VPC"),
        resource_types=(NOTEBOOK_INSTANCE,),
    ),
    Rule(
        name="sagemaker-notebook-no-root",
        description="Notebook instances have rootAccess Disabled (the default is Enabled).",
        enforcement="mandatory",
        check=_requires("rootAccess", "Disabled", "notebook instance", "users cannot change the instance"),
        resource_types=(NOTEBOOK_INSTANCE,),
    ),
    Rule(
        name="sagemaker-domain-vpc-only",
        description="Studio domains use appNetworkAccessType VpcOnly (the default is PublicInternetOnly).",
        enforcement="mandatory",
        check=_requires("appNetworkAccessType", "VpcOnly", "domain", "Studio traffic stays in the VPC"),
        resource_types=(DOMAIN,),
    ),
)
