"""Cost guardrails: a monthly AWS Budget for the environment that notifies the alert topic.

The budget counts the costs tagged ``environment=<env>`` (``scope="environment-tag"``, the
default, so environments sharing an account each get their own) or the whole account
(``scope="account"``). Tag-scoped budgets only see a tag once it is activated as a cost allocation
tag (Billing console, or ``aws ce update-cost-allocation-tags-status``): an account-level decision
this component does not take. Notifications go to an SNS topic whose policy admits
``budgets.amazonaws.com`` for this stack's budgets (``Alerting``); the monthly estimate the limit
is compared with comes from ``mlops-blueprint cost --stack <env>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from mlops_blueprint.components.arg_checks import type_problems
from mlops_blueprint.components.cost_guardrails_settings import CostGuardrailsSettings
from mlops_blueprint.context import StackContext
from mlops_blueprint.validation import raise_invalid_args

COMPONENT = "cost-guardrails"
TYPE = "mlops:cost:CostGuardrails"
ENVIRONMENT_TAG = "environment"  # the tag (tags.py) whose value the environment-tag scope filters costs by


@dataclass(frozen=True)
class CostGuardrailsArgs:
    """Where notifications go, and ``settings`` (the ``budget`` section)."""

    context: StackContext
    topic_arn: pulumi.Input[str]            # Alerting.topic_for("budget")
    settings: CostGuardrailsSettings = field(default_factory=CostGuardrailsSettings)

    def problems(self) -> list[str]:
        return type_problems(self, context=StackContext, settings=CostGuardrailsSettings)


def _amount(value: float) -> str:
    """Budgets take the limit as a decimal string: ``400`` -> ``"400.00"``."""
    return f"{value:.2f}"


class CostGuardrails(pulumi.ComponentResource):
    """One ``COST`` budget, ``MONTHLY``, with ACTUAL (and FORECASTED) notifications to the topic."""

    budget_name: str
    budget_arn: pulumi.Output[str]

    def __init__(self, name: str, args: CostGuardrailsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        raise_invalid_args("CostGuardrailsArgs", args.problems(), subject=repr(name))
        super().__init__(TYPE, name, None, opts)
        ctx, settings = args.context, args.settings
        notifications = [
            aws.budgets.BudgetNotificationArgs(
                notification_type="ACTUAL", comparison_operator="GREATER_THAN", threshold=float(threshold),
                threshold_type="PERCENTAGE", subscriber_sns_topic_arns=[args.topic_arn],
            )
            for threshold in settings.thresholds_percent
        ]
        if settings.forecast_threshold_percent:
            notifications.append(aws.budgets.BudgetNotificationArgs(
                notification_type="FORECASTED", comparison_operator="GREATER_THAN",
                threshold=float(settings.forecast_threshold_percent), threshold_type="PERCENTAGE",
                subscriber_sns_topic_arns=[args.topic_arn],
            ))
        cost_filters = (
            [aws.budgets.BudgetCostFilterArgs(name="TagKeyValue", values=[f"user:{ENVIRONMENT_TAG}${ctx.environment}"])]
            if settings.scope == "environment-tag" else None
        )
        self.budget_name = ctx.naming.budget("monthly-cost")
        budget = aws.budgets.Budget(
            f"{name}-monthly",
            name=self.budget_name,
            budget_type="COST",
            time_unit="MONTHLY",
            limit_amount=_amount(settings.monthly_limit_usd),
            limit_unit="USD",
            cost_filters=cost_filters,
            notifications=notifications,
            tags=ctx.tagging.resource(COMPONENT, self.budget_name),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.budget_arn = budget.arn
        self.register_outputs({"budgetName": self.budget_name, "budgetArn": self.budget_arn})
