"""A stack with monitored models detects drift without Model Monitor by default (scheduled drift
jobs, the alarm on their metric, the retraining rule), and still on Model Monitor when asked."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support.stacks import of_type, plan_for

from mlops_blueprint.cost import estimate

MODEL_MONITOR_TYPES = ("aws:sagemaker/monitoringSchedule:MonitoringSchedule",
                       "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition")
SCHEDULE = "aws:scheduler/schedule:Schedule"
FILTER = "aws:cloudwatch/logMetricFilter:LogMetricFilter"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
RULE = "aws:cloudwatch/eventRule:EventRule"
MODELS = {"churn": ["tenure", "charges"], "fraud": ["amount"]}


def drift_alarm(plan: dict[str, Any], model: str) -> dict[str, Any]:
    [alarm] = [r for r in of_type(plan, ALARM) if r["inputs"]["name"].endswith(f"-{model}-drift")]
    return alarm["inputs"]


def alarm_metrics(plan: dict[str, Any], model: str) -> list[dict[str, Any]]:
    return [q["metric"] for q in drift_alarm(plan, model)["metricQueries"] if "metric" in q]


def retraining_rule_watches(plan: dict[str, Any], model: str) -> bool:
    arn = plan["outputs"]["driftAlarmArns"][model]
    return any(arn in json.loads(r["inputs"]["eventPattern"]).get("resources", []) for r in of_type(plan, RULE))


def test_by_default_drift_runs_on_scheduled_processing_jobs_not_model_monitor() -> None:
    plan = plan_for("staging-system")
    assert [r["type"] for r in plan["resources"] if r["type"] in MODEL_MONITOR_TYPES] == []
    schedules = {json.loads(s["inputs"]["target"]["input"])["Environment"]["DRIFT_MODEL"]: s
                 for s in of_type(plan, SCHEDULE)}
    assert set(schedules) == set(MODELS)
    filters = of_type(plan, FILTER)
    for model, features in MODELS.items():
        schedule = schedules[model]["inputs"]
        assert schedule["target"]["arn"].endswith(":sagemaker:createProcessingJob")
        request = json.loads(schedule["target"]["input"])
        assert request["NetworkConfig"]["EnableNetworkIsolation"] is True
        endpoint = request["Environment"]["DRIFT_ENDPOINT"]
        assert endpoint == plan["outputs"]["endpointNames"][model]
        # The alarm watches exactly what the job's log lines become, for the job's endpoint and schedule.
        metrics = alarm_metrics(plan, model)
        assert sorted(m["metricName"] for m in metrics) == sorted(f"feature_baseline_drift_{f}" for f in features)
        assert {(m["dimensions"]["Endpoint"], m["dimensions"]["MonitoringSchedule"]) for m in metrics} == {
            (endpoint, schedule["name"])}
        assert plan["outputs"]["driftScheduleNames"][model] == schedule["name"]
        mine = [f for f in filters if f"\"{schedule['name']}\"" in f["inputs"]["pattern"]]
        assert sorted(f["inputs"]["metricTransformation"]["name"] for f in mine) == sorted(
            m["metricName"] for m in metrics)
        assert retraining_rule_watches(plan, model)
    # The cost estimate prices the drift jobs per model.
    report = estimate(plan)
    assert {line.model for line in report.lines if line.item.startswith("drift job") and line.monthly} == set(MODELS)


def test_the_model_monitor_engine_still_works() -> None:
    plan = plan_for("staging-system-model-monitor")
    assert of_type(plan, SCHEDULE) == [] and of_type(plan, FILTER) == []
    schedules = {r["inputs"]["name"] for r in of_type(plan, MODEL_MONITOR_TYPES[0])}
    assert len(of_type(plan, MODEL_MONITOR_TYPES[1])) == len(MODELS) == len(schedules)
    for model in MODELS:
        dims = {m["dimensions"]["MonitoringSchedule"] for m in alarm_metrics(plan, model)}
        assert dims == {plan["outputs"]["driftScheduleNames"][model]} and dims <= schedules
        assert retraining_rule_watches(plan, model)


@pytest.mark.parametrize("variant", ["staging-system", "staging-system-model-monitor"])
def test_the_dashboard_charts_the_metric_the_alarm_watches(variant: str) -> None:
    plan = plan_for(variant)
    [dashboard] = of_type(plan, "aws:cloudwatch/dashboard:Dashboard")
    body = json.loads(dashboard["inputs"]["dashboardBody"])
    charted = {tuple(m[:6]) for w in body["widgets"] if w["type"] == "metric"
               for m in w["properties"]["metrics"] if m and m[0] == "aws/sagemaker/Endpoints/data-metrics"}
    for model in MODELS:
        for metric in alarm_metrics(plan, model):
            assert ("aws/sagemaker/Endpoints/data-metrics", metric["metricName"], "Endpoint",
                    metric["dimensions"]["Endpoint"], "MonitoringSchedule",
                    metric["dimensions"]["MonitoringSchedule"]) in charted
