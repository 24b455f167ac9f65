"""The ``monitoring`` section (the Monitoring component's settings), every operations section's
per-environment defaults, and the checks across sections (models, retraining)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from mlops_blueprint.config import deep_merge
from mlops_blueprint.components.alerting_settings import AlertingSettings
from mlops_blueprint.components.cost_guardrails_settings import CostGuardrailsSettings
from mlops_blueprint.components.monitoring.settings import MonitoringSettings, schedule_period_seconds, schedule_problem
from mlops_blueprint.components.observability_settings import ObservabilitySettings
from mlops_blueprint.components.retraining_settings import RetrainingSettings
from mlops_blueprint.cost import schedule_runs_per_month
from mlops_blueprint.monitoring_config import (
    ALERTS_DEFAULTS,
    BUDGET_DEFAULTS,
    MONITORING_DEFAULTS,
    OBSERVABILITY_DEFAULTS,
    RETRAINING_DEFAULTS,
    monitoring_problems,
)


def errors(model: type, values: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(values)
    return str(caught.value)


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_every_environments_defaults_are_valid(env: str) -> None:
    monitoring = MonitoringSettings.model_validate(MONITORING_DEFAULTS[env])
    AlertingSettings.model_validate(ALERTS_DEFAULTS[env])
    retraining = RetrainingSettings.model_validate(RETRAINING_DEFAULTS[env])
    CostGuardrailsSettings.model_validate(BUDGET_DEFAULTS[env])
    ObservabilitySettings.model_validate(OBSERVABILITY_DEFAULTS[env])
    assert retraining.enabled is False  # on per model, once it names its drift features
    assert monitoring.dashboard is True


def test_prod_watches_hourly_and_for_traffic_drops_dev_stays_cheap() -> None:
    dev, prod = (MonitoringSettings.model_validate(MONITORING_DEFAULTS[e]) for e in ("dev", "prod"))
    assert schedule_runs_per_month(dev.schedule_expression) < schedule_runs_per_month(prod.schedule_expression)
    assert prod.alarms.min_invocations is not None and dev.alarms.min_invocations is None


@pytest.mark.parametrize(("expression", "period", "runs_per_day"), [
    ("cron(0 * ? * * *)", 3600, 24),
    ("cron(0 3 ? * * *)", 86400, 1),
    ("cron(0 0/6 ? * * *)", 6 * 3600, 4),
    ("cron(0 2/12 ? * * *)", 12 * 3600, 2),
])
def test_schedule_helpers(expression: str, period: int, runs_per_day: int) -> None:
    assert schedule_problem(expression) is None
    assert schedule_period_seconds(expression) == period
    assert schedule_runs_per_month(expression) == pytest.approx(runs_per_day * 730 / 24)


@pytest.mark.parametrize("expression", ["rate(1 hour)", "cron(30 * ? * * *)", "cron(0 24 ? * * *)",
                                        "cron(0 0/5 ? * * *)", "cron(0 * * * ? *)", "NOW"])
def test_schedules_model_monitor_refuses_are_refused(expression: str) -> None:
    assert schedule_problem(expression)
    assert "not a Model Monitor schedule" in errors(MonitoringSettings, {"scheduleExpression": expression})


def test_monitoring_values_are_checked_by_key() -> None:
    assert "instance store" in errors(MonitoringSettings, {"instanceType": "ml.m5d.large"})
    assert "maxRuntimeSeconds" in errors(MonitoringSettings, {"maxRuntimeSeconds": 7200})
    assert "alarm period" in errors(MonitoringSettings, {"alarms": {"periodSeconds": 90}})
    assert "one day" in errors(MonitoringSettings, {"alarms": {"periodSeconds": 3600, "evaluationPeriods": 48}})
    assert "at most 10" in errors(MonitoringSettings, {"models": {"churn": {"driftFeatures": [f"f{i}" for i in range(11)]}}})
    assert "duplicate" in errors(MonitoringSettings, {"models": {"churn": {"driftFeatures": ["a", "a"]}}})
    assert "metric name" in errors(MonitoringSettings, {"models": {"churn": {"driftFeatures": ["has space"]}}})
    assert "models.churn.driftFeature\n  Extra inputs are not permitted" in errors(
        MonitoringSettings, {"models": {"churn": {"driftFeature": ["a"]}}})
    assert "alarms.latencyStatistic\n  Input should be 'Average', 'p50'" in errors(
        MonitoringSettings, {"alarms": {"latencyStatistic": "p42"}})
    assert "models.churn.baselineS3Uri\n  Value error, 'https://example.com/b' is not an S3 URI" in errors(
        MonitoringSettings, {"models": {"churn": {"baselineS3Uri": "https://example.com/b"}}})
    baseline = MonitoringSettings.model_validate({"models": {"churn": {"baselineS3Uri": "s3://bucket/baselines/churn/"}}})
    assert baseline.for_model("churn").baseline_s3_uri == "s3://bucket/baselines/churn"  # one form, no trailing '/'


def test_model_quality_needs_a_complete_description() -> None:
    base = {"groundTruthS3Uri": "s3://bucket/gt", "problemType": "BinaryClassification", "inferenceAttribute": "p"}
    config = MonitoringSettings.model_validate({"models": {"churn": {"modelQuality": base}}})
    assert config.for_model("churn").model_quality.ground_truth_s3_uri == "s3://bucket/gt"
    assert "go together" in errors(MonitoringSettings, {"models": {"churn": {"modelQuality": {**base, "metric": "f1"}}}})
    assert "S3 URI" in errors(MonitoringSettings, {"models": {"churn": {"modelQuality": {**base, "groundTruthS3Uri": "gt"}}}})
    assert "models.churn.modelQuality.problemType" in errors(
        MonitoringSettings, {"models": {"churn": {"modelQuality": {**base, "problemType": "Ranking"}}}})
    assert "probabilityThreshold" in errors(MonitoringSettings, {"models": {"churn": {"modelQuality": {
        **base, "probabilityAttribute": "prob"}}}})


def test_stack_values_merge_over_defaults() -> None:
    merged = deep_merge(MONITORING_DEFAULTS["prod"], {"alarms": {"latencyMs": 200}})
    config = MonitoringSettings.model_validate(merged)
    assert config.alarms.latency_ms == 200
    assert config.alarms.min_invocations == MONITORING_DEFAULTS["prod"]["alarms"]["minInvocations"]  # sibling kept


# -- across sections ----------------------------------------------------------------------------------


def test_cross_section_problems_name_the_keys() -> None:
    monitoring = MonitoringSettings.model_validate({"models": {
        "churn": {"driftFeatures": ["tenure"]},
        "ghost": {},
        "fraud": {"modelQuality": {"groundTruthS3Uri": "s3://bkt/gt", "problemType": "Regression", "inferenceAttribute": "y"}},
    }})
    retraining = RetrainingSettings.model_validate({"models": {"churn": {"enabled": True}, "fraud": {"enabled": True}}})
    problems = monitoring_problems(monitoring, retraining, ["churn", "fraud"], captured_models=["churn"])
    assert any(p.startswith("monitoring.models.ghost: no served model") for p in problems)
    assert any(p.startswith("monitoring.models.fraud.modelQuality: the model's endpoint captures no data") for p in problems)
    assert any(p.startswith("retraining.models.fraud:") and "driftFeatures" in p for p in problems)
    assert any(p.startswith("retraining.models.fraud:") and "data capture" in p for p in problems)
    assert not any(p.startswith("retraining.models.churn") for p in problems)


def test_drift_features_without_capture_are_a_problem() -> None:
    monitoring = MonitoringSettings.model_validate({"models": {"churn": {"driftFeatures": ["tenure"]}}})
    problems = monitoring_problems(monitoring, RetrainingSettings(), ["churn"], captured_models=[])
    assert problems == [p for p in problems if p.startswith("monitoring.models.churn.driftFeatures")] and problems


def test_a_consistent_setup_has_no_problems() -> None:
    monitoring = MonitoringSettings.model_validate({"models": {"churn": {"driftFeatures": ["tenure"]}}})
    retraining = RetrainingSettings.model_validate({"enabled": True})
    assert monitoring_problems(monitoring, retraining, ["churn"], captured_models=["churn"]) == []


def test_drift_runs_on_processing_jobs_unless_model_monitor_is_chosen() -> None:
    default = MonitoringSettings()
    assert (default.engine, default.image_tag, default.processing_log_group) == ("processing", "drift-1", "create")
    assert MonitoringSettings.model_validate({"engine": "model-monitor"}).engine == "model-monitor"
    assert "engine" in errors(MonitoringSettings, {"engine": "evidently"})
    assert "imageTag" in errors(MonitoringSettings, {"imageTag": "bad tag"})
    assert "processingLogGroup" in errors(MonitoringSettings, {"processingLogGroup": "maybe"})


def test_model_quality_needs_the_model_monitor_engine() -> None:
    quality = {"groundTruthS3Uri": "s3://bkt/gt", "problemType": "Regression", "inferenceAttribute": "y"}
    processing = MonitoringSettings.model_validate({"models": {"churn": {"modelQuality": quality}}})
    problems = monitoring_problems(processing, RetrainingSettings(), ["churn"], captured_models=["churn"])
    assert [p for p in problems if "engine" in p] == [
        p for p in problems if p.startswith("monitoring.models.churn.modelQuality: model-quality monitoring runs on "
                                            "Model Monitor; set monitoring.engine: model-monitor")] != []
    monitor = MonitoringSettings.model_validate({"engine": "model-monitor", "models": {"churn": {"modelQuality": quality}}})
    assert monitoring_problems(monitor, RetrainingSettings(), ["churn"], captured_models=["churn"]) == []


def test_the_processing_engine_watches_at_most_a_log_groups_metric_filters() -> None:
    models = {f"m{i}": {"driftFeatures": [f"f{j}" for j in range(10)]} for i in range(11)}
    names = sorted(models)
    problems = monitoring_problems(MonitoringSettings.model_validate({"models": models}), RetrainingSettings(), names, names)
    assert any(p.startswith("monitoring.models: 110 driftFeatures in all") for p in problems)
    monitor = MonitoringSettings.model_validate({"engine": "model-monitor", "models": models})
    assert monitoring_problems(monitor, RetrainingSettings(), names, names) == []
    kept = names[:10]
    fewer = MonitoringSettings.model_validate({"models": {n: models[n] for n in kept}})
    assert monitoring_problems(fewer, RetrainingSettings(), kept, kept) == []
