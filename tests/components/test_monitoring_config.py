"""The monitoring, alerts, retraining, budget and observability config sections."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from mlops_blueprint.config import deep_merge
from mlops_blueprint.monitoring_config import (
    ALERTS_DEFAULTS,
    BUDGET_DEFAULTS,
    DEFAULT_ROUTES,
    MONITORING_DEFAULTS,
    OBSERVABILITY_DEFAULTS,
    RETRAINING_DEFAULTS,
    AlertsConfig,
    BudgetConfig,
    MonitoringConfig,
    ObservabilityConfig,
    RetrainingConfig,
    monitoring_problems,
    schedule_period_seconds,
    schedule_problem,
    schedule_runs_per_month,
)


def errors(model: type, values: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(values)
    return str(caught.value)


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_every_environments_defaults_are_valid(env: str) -> None:
    monitoring = MonitoringConfig.model_validate(MONITORING_DEFAULTS[env])
    AlertsConfig.model_validate(ALERTS_DEFAULTS[env])
    retraining = RetrainingConfig.model_validate(RETRAINING_DEFAULTS[env])
    BudgetConfig.model_validate(BUDGET_DEFAULTS[env])
    ObservabilityConfig.model_validate(OBSERVABILITY_DEFAULTS[env])
    assert retraining.enabled is False  # on per model, once it names its drift features
    assert monitoring.dashboard is True


def test_prod_watches_hourly_and_for_traffic_drops_dev_stays_cheap() -> None:
    dev, prod = (MonitoringConfig.model_validate(MONITORING_DEFAULTS[e]) for e in ("dev", "prod"))
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
    assert "not a Model Monitor schedule" in errors(MonitoringConfig, {"scheduleExpression": expression})


def test_monitoring_values_are_checked_by_key() -> None:
    assert "instance store" in errors(MonitoringConfig, {"instanceType": "ml.m5d.large"})
    assert "maxRuntimeSeconds" in errors(MonitoringConfig, {"maxRuntimeSeconds": 7200})
    assert "alarm period" in errors(MonitoringConfig, {"alarms": {"periodSeconds": 90}})
    assert "one day" in errors(MonitoringConfig, {"alarms": {"periodSeconds": 3600, "evaluationPeriods": 48}})
    assert "at most 10" in errors(MonitoringConfig, {"models": {"churn": {"driftFeatures": [f"f{i}" for i in range(11)]}}})
    assert "duplicate" in errors(MonitoringConfig, {"models": {"churn": {"driftFeatures": ["a", "a"]}}})
    assert "metric name" in errors(MonitoringConfig, {"models": {"churn": {"driftFeatures": ["has space"]}}})
    assert "models.churn.driftFeature\n  Extra inputs are not permitted" in errors(
        MonitoringConfig, {"models": {"churn": {"driftFeature": ["a"]}}})


def test_model_quality_needs_a_complete_description() -> None:
    base = {"groundTruthS3Uri": "s3://bucket/gt", "problemType": "BinaryClassification", "inferenceAttribute": "p"}
    config = MonitoringConfig.model_validate({"models": {"churn": {"modelQuality": base}}})
    assert config.for_model("churn").model_quality.ground_truth_s3_uri == "s3://bucket/gt"
    assert "go together" in errors(MonitoringConfig, {"models": {"churn": {"modelQuality": {**base, "metric": "f1"}}}})
    assert "S3 URI" in errors(MonitoringConfig, {"models": {"churn": {"modelQuality": {**base, "groundTruthS3Uri": "gt"}}}})
    assert "models.churn.modelQuality.problemType" in errors(
        MonitoringConfig, {"models": {"churn": {"modelQuality": {**base, "problemType": "Ranking"}}}})
    assert "probabilityThreshold" in errors(MonitoringConfig, {"models": {"churn": {"modelQuality": {
        **base, "probabilityAttribute": "prob"}}}})


def test_alert_subscriptions_accept_email_https_and_encrypted_values() -> None:
    config = AlertsConfig.model_validate({"subscriptions": {
        "critical": [{"protocol": "https", "endpoint": "https://events.pagerduty.com/integration/abc/enqueue"},
                     {"protocol": "https", "endpoint": {"secure": "v1:AAAAencrypted"}}],
        "warning": [{"protocol": "email", "endpoint": "ml@example.com"}],
    }})
    assert config.subscriptions["critical"][1].endpoint == "[secret]"
    assert config.routes.as_dict() == DEFAULT_ROUTES


@pytest.mark.parametrize(("values", "message"), [
    ({"subscriptions": {"critical": [{"protocol": "https", "endpoint": "http://alerts.example.com"}]}}, "plain http"),
    ({"subscriptions": {"critical": [{"protocol": "email", "endpoint": "nobody"}]}}, "email address"),
    ({"subscriptions": {"critical": [{"protocol": "sms", "endpoint": "+15551234567"}]}}, "protocol"),
    ({"subscriptions": {"page": []}}, "page"),
    ({"subscriptions": {"info": [{"protocol": "email", "endpoint": "a@b.io"}, {"protocol": "email", "endpoint": "a@b.io"}]}},
     "more than once"),
    ({"routes": {"drift": "urgent"}}, "drift"),
])
def test_bad_alert_config_is_rejected(values: dict[str, Any], message: str) -> None:
    assert message in errors(AlertsConfig, values)


def test_retraining_per_model_switch_and_parameters() -> None:
    config = RetrainingConfig.model_validate({"enabled": False, "modelParameterName": "Model", "models": {
        "churn": {"enabled": True, "parameters": {"Epochs": "3"}}, "fraud": {}}})
    assert config.enabled_for("churn") and not config.enabled_for("fraud") and not config.enabled_for("other")
    assert config.parameters_for("churn") == {"Epochs": "3", "Model": "churn"}
    assert RetrainingConfig.model_validate({"models": {"churn": {"parameters": {"TrainingImageTag": "2"}}}}) \
        .parameters_for("churn") == {"TrainingImageTag": "2"}  # no model parameter unless the pipeline has one
    on = RetrainingConfig.model_validate({"enabled": True, "models": {"fraud": {"enabled": False}}})
    assert on.enabled_for("churn") and not on.enabled_for("fraud")
    assert "minPeriodHours\n  Input should be greater than or equal to 1" in errors(RetrainingConfig, {"minPeriodHours": 0})


def test_budget_thresholds_are_sorted_and_bounded() -> None:
    assert BudgetConfig.model_validate({"thresholdsPercent": [100, 50, 80]}).thresholds_percent == [50, 80, 100]
    assert "duplicates" in errors(BudgetConfig, {"thresholdsPercent": [50, 50]})
    assert "outside" in errors(BudgetConfig, {"thresholdsPercent": [0]})
    assert "monthlyLimitUsd\n  Input should be greater than 0" in errors(BudgetConfig, {"monthlyLimitUsd": -5})


def test_stack_values_merge_over_defaults() -> None:
    merged = deep_merge(MONITORING_DEFAULTS["prod"], {"alarms": {"latencyMs": 200}})
    config = MonitoringConfig.model_validate(merged)
    assert config.alarms.latency_ms == 200
    assert config.alarms.min_invocations == MONITORING_DEFAULTS["prod"]["alarms"]["minInvocations"]  # sibling kept


# -- across sections ----------------------------------------------------------------------------------


def test_cross_section_problems_name_the_keys() -> None:
    monitoring = MonitoringConfig.model_validate({"models": {
        "churn": {"driftFeatures": ["tenure"]},
        "ghost": {},
        "fraud": {"modelQuality": {"groundTruthS3Uri": "s3://bkt/gt", "problemType": "Regression", "inferenceAttribute": "y"}},
    }})
    retraining = RetrainingConfig.model_validate({"models": {"churn": {"enabled": True}, "fraud": {"enabled": True}}})
    problems = monitoring_problems(monitoring, retraining, ["churn", "fraud"], captured_models=["churn"])
    assert any(p.startswith("monitoring.models.ghost: no served model") for p in problems)
    assert any(p.startswith("monitoring.models.fraud.modelQuality: the model's endpoint captures no data") for p in problems)
    assert any(p.startswith("retraining.models.fraud:") and "driftFeatures" in p for p in problems)
    assert any(p.startswith("retraining.models.fraud:") and "data capture" in p for p in problems)
    assert not any(p.startswith("retraining.models.churn") for p in problems)


def test_drift_features_without_capture_are_a_problem() -> None:
    monitoring = MonitoringConfig.model_validate({"models": {"churn": {"driftFeatures": ["tenure"]}}})
    problems = monitoring_problems(monitoring, RetrainingConfig(), ["churn"], captured_models=[])
    assert problems == [p for p in problems if p.startswith("monitoring.models.churn.driftFeatures")] and problems


def test_a_consistent_setup_has_no_problems() -> None:
    monitoring = MonitoringConfig.model_validate({"models": {"churn": {"driftFeatures": ["tenure"]}}})
    retraining = RetrainingConfig.model_validate({"enabled": True})
    assert monitoring_problems(monitoring, retraining, ["churn"], captured_models=["churn"]) == []


def test_drift_runs_on_processing_jobs_unless_model_monitor_is_chosen() -> None:
    default = MonitoringConfig()
    assert (default.engine, default.image_tag, default.processing_log_group) == ("processing", "drift-1", "create")
    assert MonitoringConfig.model_validate({"engine": "model-monitor"}).engine == "model-monitor"
    assert "engine" in errors(MonitoringConfig, {"engine": "evidently"})
    assert "imageTag" in errors(MonitoringConfig, {"imageTag": "bad tag"})
    assert "processingLogGroup" in errors(MonitoringConfig, {"processingLogGroup": "maybe"})


def test_model_quality_needs_the_model_monitor_engine() -> None:
    quality = {"groundTruthS3Uri": "s3://bkt/gt", "problemType": "Regression", "inferenceAttribute": "y"}
    processing = MonitoringConfig.model_validate({"models": {"churn": {"modelQuality": quality}}})
    problems = monitoring_problems(processing, RetrainingConfig(), ["churn"], captured_models=["churn"])
    assert [p for p in problems if "engine" in p] == [
        p for p in problems if p.startswith("monitoring.models.churn.modelQuality: model-quality monitoring runs on "
                                            "Model Monitor; set monitoring.engine: model-monitor")] != []
    monitor = MonitoringConfig.model_validate({"engine": "model-monitor", "models": {"churn": {"modelQuality": quality}}})
    assert monitoring_problems(monitor, RetrainingConfig(), ["churn"], captured_models=["churn"]) == []


def test_the_processing_engine_watches_at_most_a_log_groups_metric_filters() -> None:
    models = {f"m{i}": {"driftFeatures": [f"f{j}" for j in range(10)]} for i in range(11)}
    names = sorted(models)
    problems = monitoring_problems(MonitoringConfig.model_validate({"models": models}), RetrainingConfig(), names, names)
    assert any(p.startswith("monitoring.models: 110 driftFeatures in all") for p in problems)
    monitor = MonitoringConfig.model_validate({"engine": "model-monitor", "models": models})
    assert monitoring_problems(monitor, RetrainingConfig(), names, names) == []
    kept = names[:10]
    fewer = MonitoringConfig.model_validate({"models": {n: models[n] for n in kept}})
    assert monitoring_problems(fewer, RetrainingConfig(), kept, kept) == []
