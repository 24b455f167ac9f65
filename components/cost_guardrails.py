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

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_blueprint.context import StackContext
from mlops_blueprint.validation import raise_invalid_args

COMPONENT = "cost-guardrails"
TYPE = "mlops:cost:CostGuardrails"
SCOPES: tuple[str, ...] = ("environment-tag", "account")
ENVIRONMENT_TAG = "environment"


@dataclass(frozen=True)
class CostGuardrailsArgs:
    """Values from ``BudgetConfig``; the topic from ``Alerting.topic_for("budget")``."""

    context: StackContext
    monthly_limit_usd: float
    topic_arn: pulumi.Input[str]
    thresholds_percent: Sequence[float] = (50.0, 80.0, 100.0)   # ACTUAL spend, % of the limit
    forecast_threshold_percent: float | None = 100.0             # FORECASTED spend; None: no forecast alert
    scope: str = "environment-tag"


def _validate(args: CostGuardrailsArgs) -> None:
    problems: list[str] = []
    if not isinstance(args.context, StackContext):
        problems.append(f"context: expected a StackContext, got {type(args.context).__name__}")
    if not isinstance(args.monthly_limit_usd, (int, float)) or args.monthly_limit_usd <= 0:
        problems.append(f"monthly_limit_usd: {args.monthly_limit_usd!r} must be a positive amount")
    if not args.thresholds_percent:
        problems.append("thresholds_percent: at least one threshold")
    for threshold in [*args.thresholds_percent, *([args.forecast_threshold_percent] if args.forecast_threshold_percent else [])]:
        if not 0 < threshold <= 1000:
            problems.append(f"thresholds: {threshold!r} is outside 0 < threshold <= 1000 (%)")
    if len(set(args.thresholds_percent)) != len(args.thresholds_percent):
        problems.append("thresholds_percent: duplicates")
    if args.scope not in SCOPES:
        problems.append(f"scope: {args.scope!r} is not one of {', '.join(SCOPES)}")
    # AWS Budgets takes at most 10 notifications per budget.
    if len(args.thresholds_percent) + (1 if args.forecast_threshold_percent else 0) > 10:
        problems.append("thresholds: a budget takes at most 10 notifications")
    raise_invalid_args("CostGuardrailsArgs", problems)


def _amount(value: float) -> str:
    """Budgets take the limit as a decimal string: ``400`` -> ``"400.00"``."""
    return f"{value:.2f}"


class CostGuardrails(pulumi.ComponentResource):
    """One ``COST`` budget, ``MONTHLY``, with ACTUAL (and FORECASTED) notifications to the topic."""

    budget_name: str
    budget_arn: pulumi.Output[str]

    def __init__(self, name: str, args: CostGuardrailsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        super().__init__(TYPE, name, None, opts)
        ctx = args.context
        notifications = [
            aws.budgets.BudgetNotificationArgs(
                notification_type="ACTUAL", comparison_operator="GREATER_THAN", threshold=float(threshold),
                threshold_type="PERCENTAGE", subscriber_sns_topic_arns=[args.topic_arn],
            )
            for threshold in sorted(args.thresholds_percent)
        ]
        if args.forecast_threshold_percent:
            notifications.append(aws.budgets.BudgetNotificationArgs(
                notification_type="FORECASTED", comparison_operator="GREATER_THAN",
                threshold=float(args.forecast_threshold_percent), threshold_type="PERCENTAGE",
                subscriber_sns_topic_arns=[args.topic_arn],
            ))
        cost_filters = (
            [aws.budgets.BudgetCostFilterArgs(name="TagKeyValue", values=[f"user:{ENVIRONMENT_TAG}${ctx.environment}"])]
            if args.scope == "environment-tag" else None
        )
        self.budget_name = ctx.naming.budget("monthly-cost")
        budget = aws.budgets.Budget(
            f"{name}-monthly",
            name=self.budget_name,
            budget_type="COST",
            time_unit="MONTHLY",
            limit_amount=_amount(args.monthly_limit_usd),
            limit_unit="USD",
            cost_filters=cost_filters,
            notifications=notifications,
            tags=ctx.tagging.resource(COMPONENT, self.budget_name),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.budget_arn = budget.arn
        self.register_outputs({"budgetName": self.budget_name, "budgetArn": self.budget_arn})
