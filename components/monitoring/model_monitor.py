"""What the Model Monitor engine's jobs rely on: the analyzer image, the container's paths, and
content-derived job definition names."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from mlops_blueprint.context import StackContext
from mlops_blueprint.naming import NameKind

# The Model Monitor analyzer image lives in an AWS-owned ECR repository per region
# (sagemaker-python-sdk, image_uri_config/model-monitor.json).
MODEL_MONITOR_REPOSITORY = "sagemaker-model-monitor-analyzer"
MODEL_MONITOR_ACCOUNTS: dict[str, str] = {
    "af-south-1": "875698925577", "ap-east-1": "001633400207", "ap-northeast-1": "574779866223",
    "ap-northeast-2": "709848358524", "ap-northeast-3": "990339680094", "ap-south-1": "126357580389",
    "ap-southeast-1": "245545462676", "ap-southeast-2": "563025443158", "ap-southeast-3": "669540362728",
    "ca-central-1": "536280801234", "cn-north-1": "453000072557", "cn-northwest-1": "453252182341",
    "eu-central-1": "048819808253", "eu-north-1": "895015795356", "eu-south-1": "933208885752",
    "eu-west-1": "468650794304", "eu-west-2": "749857270468", "eu-west-3": "680080141114",
    "il-central-1": "843974653677", "me-south-1": "607024016150", "sa-east-1": "539772159869",
    "us-east-1": "156813124566", "us-east-2": "777275614652", "us-west-1": "890145073186",
    "us-west-2": "159807026194",
}

# Where the container sees its input and writes its output (the SDK's defaults).
INPUT_PATH = "/opt/ml/processing/input/endpoint"
OUTPUT_PATH = "/opt/ml/processing/output"


def model_monitor_image(region: str) -> str:
    """The built-in Model Monitor analyzer image of ``region``."""
    if region not in MODEL_MONITOR_ACCOUNTS:
        raise ValueError(f"no Model Monitor image is known for {region!r}; pass image_uri")
    suffix = ".amazonaws.com.cn" if region.startswith("cn-") else ".amazonaws.com"
    return f"{MODEL_MONITOR_ACCOUNTS[region]}.dkr.ecr.{region}{suffix}/{MODEL_MONITOR_REPOSITORY}"


def content_name(ctx: StackContext, *parts: str) -> Any:
    """A name that changes exactly when the definition's content does: SageMaker job definitions
    cannot be updated, so a change replaces them, and create-before-delete needs a new name."""

    def name(content: Any) -> str:
        digest = hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()[:8]
        return ctx.naming.name(*parts, digest, kind=NameKind.SAGEMAKER)

    return name
