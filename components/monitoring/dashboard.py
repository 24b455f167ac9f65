"""The dashboard body: alarms, then per model (traffic, errors, latency, drift), then training."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mlops_blueprint.components.monitoring.metrics import (
    DATA_METRICS_NAMESPACE, ENDPOINT_NAMESPACE, MODEL_METRICS_NAMESPACE, PIPELINE_NAMESPACE, drift_metric_name,
)


def _grid(widgets: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Place widgets left to right in rows 24 units wide."""
    placed, x, y, row_height = [], 0, 0, 0
    for widget in widgets:
        width, height = widget.pop("width"), widget.pop("height")
        if x + width > 24:
            x, y, row_height = 0, y + row_height, 0
        placed.append({**widget, "x": x, "y": y, "width": width, "height": height})
        x, row_height = x + width, max(row_height, height)
    return placed


def _metric_widget(title: str, region: str, metrics: list[list[Any]], *, width: int = 8,
                   stat: str = "Sum", period: int = 300) -> dict[str, Any]:
    return {"type": "metric", "width": width, "height": 6, "properties": {
        "title": title, "region": region, "view": "timeSeries", "stacked": False,
        "stat": stat, "period": period, "metrics": metrics}}


def dashboard_body(
    title: str,
    region: str,
    models: Sequence[Mapping[str, Any]],
    pipeline_names: Sequence[str],
    alarm_arns: Sequence[str],
) -> dict[str, Any]:
    """The dashboard: alarms, then per model (traffic, errors, latency, drift), then training.

    ``models``: ``{"name", "endpoint", "variants", "schedule" (or None), "features", "period",
    "quality" (``{"metric", "schedule"}`` or None)}``.
    """
    widgets: list[dict[str, Any]] = [
        {"type": "text", "width": 24, "height": 2, "properties": {"markdown": (
            f"# {title}\nEndpoints (AWS/SageMaker), feature drift ({DATA_METRICS_NAMESPACE}) and "
            f"training pipelines ({PIPELINE_NAMESPACE}).")}},
    ]
    if alarm_arns:
        widgets.append({"type": "alarm", "width": 24, "height": 3,
                        "properties": {"title": "Alarms", "alarms": sorted(alarm_arns)[:100]}})
    for model in models:
        endpoint, variants = model["endpoint"], model["variants"]

        def per_variant(metric: str, options: dict[str, Any] | None = None) -> list[list[Any]]:
            return [[ENDPOINT_NAMESPACE, metric, "EndpointName", endpoint, "VariantName", v, *([options] if options else [])]
                    for v in variants]

        name = model["name"]
        widgets += [
            {"type": "text", "width": 24, "height": 1, "properties": {"markdown": f"## {name} — endpoint `{endpoint}`"}},
            _metric_widget(f"{name}: invocations", region, per_variant("Invocations")),
            _metric_widget(f"{name}: 4xx / 5xx", region, per_variant("Invocation4XXErrors") + per_variant("Invocation5XXErrors")),
            _metric_widget(f"{name}: model latency p90 (µs)", region, per_variant("ModelLatency", {"stat": "p90"}),
                           stat="p90"),
        ]
        if model.get("schedule") and model.get("features"):
            period = model["period"]
            widgets.append(_metric_widget(
                f"{name}: feature baseline drift", region,
                [[DATA_METRICS_NAMESPACE, drift_metric_name(f), "Endpoint", endpoint, "MonitoringSchedule", model["schedule"]]
                 for f in model["features"]],
                width=24, stat="Maximum", period=period,
            ))
        quality = model.get("quality")
        if quality:
            widgets.append(_metric_widget(
                f"{name}: {quality['metric']} (model quality)", region,
                [[MODEL_METRICS_NAMESPACE, quality["metric"], "Endpoint", endpoint, "MonitoringSchedule", quality["schedule"]]],
                width=24, stat="Average", period=model["period"],
            ))
    if pipeline_names:
        widgets.append({"type": "text", "width": 24, "height": 1, "properties": {"markdown": "## Training pipelines"}})
        widgets.append(_metric_widget(
            "pipeline executions", region,
            [[PIPELINE_NAMESPACE, metric, "PipelineName", p] for p in pipeline_names
             for metric in ("ExecutionStarted", "ExecutionSucceeded", "ExecutionFailed")],
            width=12, period=3600,
        ))
        widgets.append(_metric_widget(
            "training jobs: CPU utilization (all jobs in the region)", region,
            [[{"expression": "SEARCH('{/aws/sagemaker/TrainingJobs,Host} MetricName=\"CPUUtilization\"', 'Average', 300)",
               "id": "training", "label": ""}]],
            width=12, stat="Average",
        ))
    return {"widgets": _grid(widgets)}
