"""The ``churn`` model of ``serving.models`` that the serving tests declare: 1.4.2 as the champion,
its artifacts in prod's models bucket of the mock account (us-east-1)."""

from __future__ import annotations

from typing import Any

from mlops_blueprint.mock_runtime import MOCK_ACCOUNT_ID

CHURN_ARTIFACTS = f"s3://mlops-platform-prod-models-{MOCK_ACCOUNT_ID}-us-east-1/churn"


def churn_version(version: str) -> dict[str, str]:
    """The image and artifact of churn ``version``."""
    return {"image": f"inference:{version}", "modelDataUrl": f"{CHURN_ARTIFACTS}/{version}/model.tar.gz"}


def churn_model(*variants: dict[str, Any]) -> dict[str, Any]:
    """The churn model entry: version 1.4.2 unless a variant says otherwise, served by ``variants``."""
    return {"name": "churn", **churn_version("1.4.2"), "variants": list(variants)}
