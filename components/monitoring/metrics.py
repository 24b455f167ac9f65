"""The CloudWatch metrics that monitoring alarms on and charts: namespaces and names."""

from __future__ import annotations

ENDPOINT_NAMESPACE = "AWS/SageMaker"
DATA_METRICS_NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"
MODEL_METRICS_NAMESPACE = "aws/sagemaker/Endpoints/model-metrics"
PIPELINE_NAMESPACE = "AWS/Sagemaker/ModelBuildingPipeline"
DRIFT_METRIC_PREFIX = "feature_baseline_drift_"
MICROSECONDS_PER_MS = 1000  # ModelLatency is reported in microseconds


def drift_metric_name(feature: str) -> str:
    return f"{DRIFT_METRIC_PREFIX}{feature}"
