"""CostGuardrails: a monthly COST budget per environment, notifying the alert topic at thresholds."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from typing import Any

import pytest

from mlops_blueprint.components.alerting import Alerting, AlertingArgs
from mlops_blueprint.components.cost_guardrails import CostGuardrails, CostGuardrailsArgs
from mlops_blueprint.components.cost_guardrails_settings import CostGuardrailsSettings
from mlops_blueprint.context import StackContext
from mlops_blueprint.mock_runtime import MOCK_ACCOUNT_ID, MockRun, run_program
from mlops_blueprint.monitoring_config import BUDGET_DEFAULTS
from support.components import run_component

ACCOUNT = MOCK_ACCOUNT_ID
BUDGET = "aws:budgets/budget:Budget"


def topic(env: str) -> str:
    return f"arn:aws:sns:us-east-1:{ACCOUNT}:mlops-platform-{env}-alerts-warning"


def build(ctx: StackContext, **settings: Any) -> MockRun:
    """The component with ``settings`` as the stack file gives them (camelCase keys; a $400 limit unless set)."""
    args = CostGuardrailsArgs(context=ctx, topic_arn=topic(ctx.environment),
                              settings=CostGuardrailsSettings.model_validate({"monthlyLimitUsd": 400, **settings}))
    return run_component(ctx, lambda: CostGuardrails("cost", args), {"budgetName": "budget_name"})


def notifications(run: MockRun) -> list[tuple[str, float, list[str]]]:
    [budget] = run.of_type(BUDGET)
    return [(n["notificationType"], n["threshold"], n["subscriberSnsTopicArns"]) for n in budget.inputs["notifications"]]


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_each_environment_gets_its_budget_from_its_defaults(context_for: Any, env: str) -> None:
    """The per-environment defaults, as settings, make one budget per environment."""
    ctx: StackContext = context_for(env)
    run = build(ctx, **BUDGET_DEFAULTS[env])
    [budget] = run.of_type(BUDGET)
    inputs = budget.inputs
    assert inputs["name"] == run.outputs["budgetName"] == f"mlops-platform-{env}-us-east-1-monthly-cost"
    assert (inputs["budgetType"], inputs["timeUnit"], inputs["limitUnit"]) == ("COST", "MONTHLY", "USD")
    assert float(inputs["limitAmount"]) == BUDGET_DEFAULTS[env]["monthlyLimitUsd"]
    assert inputs["costFilters"] == [{"name": "TagKeyValue", "values": [f"user:environment${env}"]}]
    actual = [(t, arns) for kind, t, arns in notifications(run) if kind == "ACTUAL"]
    assert [t for t, _ in actual] == sorted(BUDGET_DEFAULTS[env]["thresholdsPercent"])
    assert all(arns == [topic(env)] for _, arns in actual)
    assert ("FORECASTED", 100, [topic(env)]) in notifications(run)


def test_limits_grow_from_dev_to_prod() -> None:
    limits = [CostGuardrailsSettings.model_validate(BUDGET_DEFAULTS[env]).monthly_limit_usd
              for env in ("dev", "staging", "prod")]
    assert limits == sorted(limits) and len(set(limits)) == 3


def test_notifications_are_percentages_of_the_limit_above_each_threshold(dev_context: StackContext) -> None:
    [budget] = build(dev_context, thresholdsPercent=[90, 50], forecastThresholdPercent=None).of_type(BUDGET)
    for notification in budget.inputs["notifications"]:
        assert notification["thresholdType"] == "PERCENTAGE"
        assert notification["comparisonOperator"] == "GREATER_THAN"
    assert [n["threshold"] for n in budget.inputs["notifications"]] == [50, 90]
    assert all(n["notificationType"] == "ACTUAL" for n in budget.inputs["notifications"])
    assert budget.inputs["limitAmount"] == "400.00"


def test_account_scope_has_no_tag_filter(dev_context: StackContext) -> None:
    [budget] = build(dev_context, scope="account").of_type(BUDGET)
    assert budget.inputs.get("costFilters") in (None, [])


def test_budgets_may_publish_to_the_alert_topic(dev_context: StackContext) -> None:
    """The budget's name falls under what the topic policy admits for budgets.amazonaws.com."""

    def program() -> None:
        alerting = Alerting("alerting", AlertingArgs(context=dev_context, kms_key_arn="arn:aws:kms:us-east-1:1:key/k"))
        CostGuardrails("cost", CostGuardrailsArgs(context=dev_context, topic_arn=alerting.topic_for("budget")))

    run = run_program(program, stack="dev", project="mlops-platform")
    [budget] = run.of_type(BUDGET)
    assert {arn for n in budget.inputs["notifications"] for arn in n["subscriberSnsTopicArns"]} == {topic("dev")}
    policy = json.loads(run.named("aws:sns/topicPolicy:TopicPolicy", "alerting-warning").inputs["policy"])
    [statement] = [s for s in policy["Statement"] if s.get("Principal") == {"Service": "budgets.amazonaws.com"}]
    budget_arn = f"arn:aws:budgets::{ACCOUNT}:budget/{budget.inputs['name']}"
    assert fnmatchcase(budget_arn, statement["Condition"]["ArnLike"]["aws:SourceArn"])
    assert statement["Action"] == ["sns:Publish"]


@pytest.mark.parametrize(("settings", "message"), [
    ({"monthlyLimitUsd": 0}, r"monthlyLimitUsd\n  Input should be greater than 0"),
    ({"thresholdsPercent": []}, r"thresholdsPercent\n  List should have at least 1 item"),
    ({"thresholdsPercent": [50, 50]}, "duplicates"),
    ({"thresholdsPercent": [0]}, "outside"),
    ({"forecastThresholdPercent": 0}, r"forecastThresholdPercent\n  Input should be greater than 0"),
    ({"scope": "organization"}, r"scope\n  Input should be 'environment-tag' or 'account'"),
    # Ten actual thresholds fit (AWS Budgets: 10 notifications a budget), but not with a forecast one.
    ({"thresholdsPercent": list(range(10, 110, 10))}, "at most 10 notifications"),
])
def test_bad_settings_are_rejected_when_built(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CostGuardrailsSettings.model_validate(settings)


def test_thresholds_are_sorted() -> None:
    assert CostGuardrailsSettings.model_validate({"thresholdsPercent": [100, 50, 80]}).thresholds_percent == [50, 80, 100]


def test_ten_notifications_fit(dev_context: StackContext) -> None:
    run = build(dev_context, thresholdsPercent=list(range(10, 110, 10)), forecastThresholdPercent=None)
    assert len(notifications(run)) == 10


def test_args_without_a_stack_context_are_rejected() -> None:
    with pytest.raises(ValueError, match="invalid CostGuardrailsArgs for 'cost':\n  - context: expected a StackContext"):
        CostGuardrails("cost", CostGuardrailsArgs(context="dev", topic_arn=topic("dev")))  # type: ignore[arg-type]
