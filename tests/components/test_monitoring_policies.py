"""The issue-8 components together, everything on, pass the policy pack with no mandatory finding."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from mlops_blueprint.components.alerting import Alerting, AlertingArgs
from mlops_blueprint.components.alerting_settings import AlertingSettings
from mlops_blueprint.components.cost_guardrails import CostGuardrails, CostGuardrailsArgs
from mlops_blueprint.components.cost_guardrails_settings import CostGuardrailsSettings
from mlops_blueprint.components.monitoring import Monitoring
from mlops_blueprint.components.observability import Observability, ObservabilityArgs
from mlops_blueprint.components.observability_settings import ObservabilitySettings
from mlops_blueprint.components.retraining import RetrainedModel, Retraining, RetrainingArgs
from mlops_blueprint.components.retraining_settings import RetrainingSettings
from support.monitoring import monitoring_args, served
from mlops_blueprint.context import StackContext
from mlops_blueprint.mock_runtime import MOCK_ACCOUNT_ID, run_program
from mlops_blueprint.plan import build_plan
from mlops_blueprint.policies.engine import evaluate_plan

ACCOUNT = MOCK_ACCOUNT_ID
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/platform-boundary"


def plan_for(ctx: StackContext, *, default_tags: bool = True, boundary: str | None = None) -> dict[str, Any]:
    env = ctx.environment
    prod = env == "prod"

    def program() -> None:
        tags = {"tags": ctx.tagging.default_tags()} if default_tags else None
        provider = aws.Provider("aws", region="us-east-1", default_tags=tags)
        opts = pulumi.ResourceOptions(providers={"aws": provider})
        alerting = Alerting("alerting", AlertingArgs(
            context=ctx, kms_key_arn=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/logs",
            settings=AlertingSettings.model_validate({"subscriptions": {
                "critical": [{"protocol": "https", "endpoint": "https://events.pagerduty.com/integration/k/enqueue"}],
                "warning": [{"protocol": "email", "endpoint": "ml@example.com"}]}})), opts)
        quality = {"groundTruthS3Uri": f"s3://mlops-platform-{env}-datasets-{ACCOUNT}-us-east-1/ground-truth/churn",
                   "problemType": "BinaryClassification", "inferenceAttribute": "prediction", "metric": "accuracy",
                   "threshold": 0.8}
        churn = served(env, "churn", ["current", "challenger"], driftFeatures=["tenure", "monthly_charges"],
                       modelQuality=quality)
        monitoring = Monitoring("monitoring", monitoring_args(
            ctx, [churn], alarm_topics=alerting.routes, alarms={"minInvocations": 1},
            pipeline_names=[f"mlops-platform-{env}-training"], permissions_boundary_arn=boundary,
            engine="model-monitor"), opts)
        Retraining("retraining", RetrainingArgs(
            context=ctx, models=[RetrainedModel("churn", monitoring.drift_alarm_arns["churn"],
                                                f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:pipeline/mlops-platform-{env}-training")],
            notify_topic_arn=alerting.topic_for("retraining"), operations_topic_arn=alerting.topic_for("operations"),
            permissions_boundary_arn=boundary, settings=RetrainingSettings(enabled=True)), opts)
        CostGuardrails("cost", CostGuardrailsArgs(context=ctx, topic_arn=alerting.topic_for("budget"),
                                                  settings=CostGuardrailsSettings(monthly_limit_usd=500)), opts)
        Observability("observability", ObservabilityArgs(
            context=ctx, settings=ObservabilitySettings(prometheus=True, grafana=True), protect=prod,
            retain_on_delete=prod, permissions_boundary_arn=boundary), opts)

    run = run_program(program, stack=env, project="mlops-platform", region=ctx.region)
    return build_plan(run)


def mandatory(findings: list[dict[str, str]]) -> list[dict[str, str]]:
    return [f for f in findings if f["enforcement"] == "mandatory"]


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_no_mandatory_findings(context_for: Any, env: str) -> None:
    plan = plan_for(context_for(env))
    assert len([r for r in plan["resources"] if r["custom"]]) > 40  # everything is on
    assert mandatory(evaluate_plan(plan)) == []


def test_no_mandatory_findings_under_an_organisation_boundary(prod_context: StackContext) -> None:
    plan = plan_for(prod_context, boundary=BOUNDARY)
    assert mandatory(evaluate_plan(plan, permissions_boundary_arn=BOUNDARY)) == []


def test_the_pack_does_look_at_these_resources(prod_context: StackContext) -> None:
    """Without the provider's default tags, the tag rule flags them: the evaluation above is live."""
    findings = mandatory(evaluate_plan(plan_for(prod_context, default_tags=False)))
    flagged = {f["urn"].rsplit("::", 1)[-1] for f in findings if f["policy"] == "mandatory-tags"}
    assert {"alerting-critical", "monitoring-churn-drift", "retraining-churn", "retraining-cooldown",
            "cost-monthly", "observability-prometheus", "monitoring-churn-data-quality"} <= flagged
    # ...and a role without the organisation's boundary is flagged too.
    boundary_findings = mandatory(evaluate_plan(plan_for(prod_context), permissions_boundary_arn=BOUNDARY))
    assert {f["policy"] for f in boundary_findings} == {"iam-role-permissions-boundary"}
