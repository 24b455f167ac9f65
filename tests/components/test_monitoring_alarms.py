"""Monitoring alarms and dashboard: the right endpoint/variant dimensions, the right SNS topic."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlops_blueprint.components.monitoring import (
    DATA_METRICS_NAMESPACE,
    AlarmThresholds,
    ModelQuality,
    Monitoring,
)
from mlops_blueprint.components.monitoring.checks import alarm_name_problems, alarm_suffixes, validate
from mlops_blueprint.context import StackContext
from mlops_blueprint.mock_runtime import MOCK_ACCOUNT_ID, MockRun, Registration
from support.components import run_component
from support.monitoring import Served, models_bucket, monitoring_args, served

ACCOUNT = MOCK_ACCOUNT_ID
MODELS_BUCKET = models_bucket("prod")
CRITICAL = f"arn:aws:sns:us-east-1:{ACCOUNT}:mlops-platform-prod-alerts-critical"
WARNING = f"arn:aws:sns:us-east-1:{ACCOUNT}:mlops-platform-prod-alerts-warning"
INFO = f"arn:aws:sns:us-east-1:{ACCOUNT}:mlops-platform-prod-alerts-info"
TOPICS = {"errors": CRITICAL, "invocations": CRITICAL, "latency": WARNING, "drift": INFO, "modelQuality": WARNING}
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"


def model(name: str, variants: list[str], **settings: Any) -> Served:
    return served("prod", name, variants, **settings)


def build(ctx: StackContext, models: list[Served], **kwargs: Any) -> MockRun:
    args = monitoring_args(ctx, models, **{"alarm_topics": TOPICS, "pipeline_names": ["mlops-platform-prod-training"],
                                            "engine": "model-monitor", **kwargs})
    return run_component(ctx, lambda: Monitoring("monitoring", args), {
        "driftAlarmArns": "drift_alarm_arns", "driftAlarmNames": "drift_alarm_names", "dashboardName": "dashboard_name"})


def alarm(run: MockRun, name: str) -> dict[str, Any]:
    return run.named(ALARM, f"monitoring-{name}").inputs


def metric_queries(inputs: dict[str, Any]) -> list[dict[str, Any]]:
    return [q["metric"] for q in inputs["metricQueries"] if "metric" in q]


TWO_MODELS = [model("churn", ["current", "challenger"], drift_features=["tenure"]),
              model("fraud", ["AllTraffic"], drift_features=["amount", "merchant_category", "hour"])]


def test_error_and_latency_alarms_per_variant_with_their_own_dimensions(prod_context: StackContext) -> None:
    run = build(prod_context, TWO_MODELS)
    for name, variants in (("churn", ["current", "challenger"]), ("fraud", ["AllTraffic"])):
        for variant in variants:
            errors = alarm(run, f"{name}-{variant}-5xx")
            assert errors["namespace"] == "AWS/SageMaker" and errors["metricName"] == "Invocation5XXErrors"
            assert errors["dimensions"] == {"EndpointName": f"mlops-platform-prod-{name}", "VariantName": variant}
            assert errors["statistic"] == "Sum"
            assert (errors["comparisonOperator"], errors["threshold"]) == ("GreaterThanOrEqualToThreshold", 5)
            assert errors["alarmActions"] == [CRITICAL] and errors["okActions"] == [CRITICAL]
            assert errors["name"] == f"mlops-platform-prod-{name}-{variant}-5xx"

            latency = alarm(run, f"{name}-{variant}-latency")
            assert latency["metricName"] == "ModelLatency"
            assert latency["dimensions"] == {"EndpointName": f"mlops-platform-prod-{name}", "VariantName": variant}
            assert latency["extendedStatistic"] == "p90" and "statistic" not in latency
            assert latency["threshold"] == 1000 * 1000  # 1000 ms in microseconds
            assert latency["alarmActions"] == [WARNING]


def test_latency_threshold_and_statistic_follow_the_thresholds(prod_context: StackContext) -> None:
    run = build(prod_context, [model("churn", ["current"])],
                alarms={"latencyMs": 250, "latencyStatistic": "Average", "errors5xx": 2, "periodSeconds": 60})
    latency = alarm(run, "churn-current-latency")
    assert (latency["statistic"], latency["threshold"], latency["period"]) == ("Average", 250_000, 60)
    assert alarm(run, "churn-current-5xx")["threshold"] == 2


def test_invocation_drop_sums_the_variants_and_treats_missing_data_as_breaching(prod_context: StackContext) -> None:
    run = build(prod_context, TWO_MODELS, alarms=AlarmThresholds(min_invocations=10))
    churn = alarm(run, "churn-invocations")
    assert churn["comparisonOperator"] == "LessThanThreshold" and churn["threshold"] == 10
    assert churn["treatMissingData"] == "breaching"
    assert churn["alarmActions"] == [CRITICAL]
    assert [m["dimensions"] for m in metric_queries(churn)] == [
        {"EndpointName": "mlops-platform-prod-churn", "VariantName": "current"},
        {"EndpointName": "mlops-platform-prod-churn", "VariantName": "challenger"},
    ]
    assert all(m["metricName"] == "Invocations" and m["stat"] == "Sum" for m in metric_queries(churn))
    [expression] = [q for q in churn["metricQueries"] if "expression" in q]
    assert expression["expression"] == "SUM([v0, v1])" and expression["returnData"] is True
    # One variant: the metric itself is what the alarm evaluates.
    fraud = alarm(run, "fraud-invocations")
    [query] = fraud["metricQueries"]
    assert query["returnData"] is True and query["metric"]["dimensions"]["VariantName"] == "AllTraffic"


def test_invocation_drop_is_off_unless_a_minimum_is_set_and_per_model_overrides(prod_context: StackContext) -> None:
    run = build(prod_context, [model("churn", ["current"]), model("fraud", ["AllTraffic"], min_invocations=50)])
    names = {a.name for a in run.of_type(ALARM)}
    assert "monitoring-churn-invocations" not in names
    assert alarm(run, "fraud-invocations")["threshold"] == 50


def test_drift_alarm_reads_model_monitor_metrics_of_its_endpoint_and_schedule(prod_context: StackContext) -> None:
    run = build(prod_context, TWO_MODELS, alarms=AlarmThresholds(drift_threshold=0.2))
    fraud = alarm(run, "fraud-drift")
    metrics = metric_queries(fraud)
    assert [m["metricName"] for m in metrics] == ["feature_baseline_drift_amount",
                                                 "feature_baseline_drift_merchant_category",
                                                 "feature_baseline_drift_hour"]
    for m in metrics:
        assert m["namespace"] == DATA_METRICS_NAMESPACE == "aws/sagemaker/Endpoints/data-metrics"
        assert m["dimensions"] == {"Endpoint": "mlops-platform-prod-fraud",
                                   "MonitoringSchedule": "mlops-platform-prod-fraud-data-quality"}
        assert m["stat"] == "Maximum" and m["period"] == 3600  # hourly schedule
    [expression] = [q for q in fraud["metricQueries"] if "expression" in q]
    assert expression["expression"] == "MAX([f0, f1, f2])"
    assert (fraud["comparisonOperator"], fraud["threshold"]) == ("GreaterThanThreshold", 0.2)
    assert fraud["treatMissingData"] == "notBreaching" and fraud["evaluationPeriods"] == 1
    assert fraud["alarmActions"] == [INFO]  # the drift route, not another kind's
    # The schedule the alarm names is the one that runs for this endpoint.
    schedule = run.named("aws:sagemaker/monitoringSchedule:MonitoringSchedule", "monitoring-fraud-data-quality")
    assert schedule.inputs["name"] == "mlops-platform-prod-fraud-data-quality"
    assert run.outputs["driftAlarmNames"] == {"churn": "mlops-platform-prod-churn-drift",
                                              "fraud": "mlops-platform-prod-fraud-drift"}
    assert run.outputs["driftAlarmArns"]["fraud"] \
        == f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:mlops-platform-prod-fraud-drift"


def test_drift_alarm_period_follows_a_daily_schedule(prod_context: StackContext) -> None:
    run = build(prod_context, TWO_MODELS, schedule_expression="cron(0 3 ? * * *)")
    [query] = alarm(run, "churn-drift")["metricQueries"]  # one feature: the metric itself
    assert query["returnData"] is True and query["metric"]["period"] == 86400


def test_no_drift_alarm_without_features(prod_context: StackContext) -> None:
    run = build(prod_context, [model("churn", ["current"])])
    assert "monitoring-churn-drift" not in {a.name for a in run.of_type(ALARM)}
    assert run.outputs.get("driftAlarmArns", {}) == {}


def test_model_quality_alarm_on_the_quality_schedule(prod_context: StackContext) -> None:
    quality = ModelQuality(ground_truth_s3_uri="s3://ground-truth-bucket/churn", problem_type="Regression",
                           inference_attribute="prediction", metric="rmse", threshold=3.5, higher_is_better=False)
    run = build(prod_context, [model("churn", ["current"], model_quality=quality)])
    inputs = alarm(run, "churn-quality")
    assert inputs["namespace"] == "aws/sagemaker/Endpoints/model-metrics" and inputs["metricName"] == "rmse"
    assert inputs["dimensions"] == {"Endpoint": "mlops-platform-prod-churn",
                                    "MonitoringSchedule": "mlops-platform-prod-churn-model-quality"}
    assert (inputs["comparisonOperator"], inputs["threshold"], inputs["statistic"]) == ("GreaterThanThreshold", 3.5, "Maximum")
    assert inputs["alarmActions"] == [WARNING]
    _, body = dashboard(run)
    metrics = [m for w in body["widgets"] if w["type"] == "metric" for m in w["properties"]["metrics"]]
    assert ["aws/sagemaker/Endpoints/model-metrics", "rmse", "Endpoint", "mlops-platform-prod-churn",
            "MonitoringSchedule", "mlops-platform-prod-churn-model-quality"] in metrics


def test_every_alarm_is_tagged_and_named_for_the_stack(prod_context: StackContext) -> None:
    run = build(prod_context, TWO_MODELS, alarms=AlarmThresholds(min_invocations=1))
    for registration in run.of_type(ALARM):
        assert registration.inputs["name"].startswith("mlops-platform-prod-")  # the topic policy admits these only
        assert registration.inputs["tags"]["component"] == "monitoring"
        assert registration.inputs["actionsEnabled"] is True


# -- dashboard -----------------------------------------------------------------------------------------


def dashboard(run: MockRun) -> tuple[Registration, dict[str, Any]]:
    [board] = run.of_type(DASHBOARD)
    return board, json.loads(board.inputs["dashboardBody"])


def test_one_dashboard_with_endpoints_drift_and_training(prod_context: StackContext) -> None:
    run = build(prod_context, TWO_MODELS)
    board, body = dashboard(run)
    assert board.inputs["dashboardName"] == run.outputs["dashboardName"] == "mlops-platform-prod-us-east-1-ml-platform"  # dashboards are global
    widgets = body["widgets"]
    metrics = [m for w in widgets if w["type"] == "metric" for m in w["properties"]["metrics"]]
    assert ["AWS/SageMaker", "Invocations", "EndpointName", "mlops-platform-prod-churn", "VariantName", "challenger"] in metrics
    assert ["AWS/SageMaker", "Invocation5XXErrors", "EndpointName", "mlops-platform-prod-fraud", "VariantName",
            "AllTraffic"] in metrics
    assert [DATA_METRICS_NAMESPACE, "feature_baseline_drift_amount", "Endpoint", "mlops-platform-prod-fraud",
            "MonitoringSchedule", "mlops-platform-prod-fraud-data-quality"] in metrics
    assert ["AWS/Sagemaker/ModelBuildingPipeline", "ExecutionFailed", "PipelineName", "mlops-platform-prod-training"] in metrics
    [alarms] = [w for w in widgets if w["type"] == "alarm"]
    assert f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:mlops-platform-prod-fraud-drift" in alarms["properties"]["alarms"]
    assert all(w["properties"].get("region", "us-east-1") == "us-east-1" for w in widgets)


def test_dashboard_widgets_fit_the_grid_without_overlap(prod_context: StackContext) -> None:
    _, body = dashboard(build(prod_context, TWO_MODELS))
    cells: set[tuple[int, int]] = set()
    for w in body["widgets"]:
        assert 0 <= w["x"] and w["x"] + w["width"] <= 24
        area = {(x, y) for x in range(w["x"], w["x"] + w["width"]) for y in range(w["y"], w["y"] + w["height"])}
        assert not cells & area, w
        cells |= area


def test_dashboard_can_be_left_out(prod_context: StackContext) -> None:
    assert build(prod_context, TWO_MODELS, dashboard=False).of_type(DASHBOARD) == []


@pytest.mark.parametrize("kind", ["errors", "latency"])
def test_every_alarm_kind_needs_a_topic(prod_context: StackContext, kind: str) -> None:
    topics = {k: v for k, v in TOPICS.items() if k != kind}
    with pytest.raises(ValueError, match=f"no topic for '{kind}'"):
        validate(monitoring_args(prod_context, [model("churn", ["current"])], alarm_topics=topics))


def test_alarm_names_of_two_models_never_meet(prod_context: StackContext) -> None:
    """Names are joined with '-': model a-b's variant c and model a's variant b-c would both be
    <prefix>-a-b-c-5xx, and PutMetricAlarm would overwrite one with the other."""
    quality = ModelQuality(ground_truth_s3_uri=f"s3://{MODELS_BUCKET}/ground-truth/churn",
                           problem_type="BinaryClassification", inference_attribute="prediction",
                           metric="accuracy", threshold=0.8)
    models = [*TWO_MODELS[:1], model("fraud", ["AllTraffic"], drift_features=["amount"], min_invocations=1,
                                     model_quality=quality)]
    run = build(prod_context, models)
    # The check knows every name the component gives: each alarm's name is one it considered.
    considered = {prod_context.naming.name(m.name, suffix) for m in models for suffix in alarm_suffixes(m.variant_names)}
    names = [a.inputs["name"] for a in run.of_type(ALARM)]
    assert len(names) == 10 and set(names) <= considered

    with pytest.raises(ValueError, match=r"models\[churn\]\.variants: monitoring alarm <prefix>-churn-eu-a-5xx would "
                                         r"also be model churn-eu's; rename a model or variant"):
        build(prod_context, [model("churn-eu", ["a"]), model("churn", ["eu-a"])])


def test_the_stack_checks_alarm_names_with_the_components_rule() -> None:
    """The config refuses the same clash before the component is reached (``config.alarm_name_problems``)."""
    from mlops_blueprint import config

    assert config.alarm_name_problems is alarm_name_problems
    assert alarm_name_problems([("churn-eu", ["a"]), ("churn", ["eu-a"])]) != []
    assert alarm_name_problems([("churn-eu", ["a"]), ("churn", ["eu-b"])]) == []
