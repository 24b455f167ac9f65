"""Alerting: KMS-encrypted SNS topics per severity, TLS-only, publishable only by this stack's
alarms, rules and budgets; subscriptions and routes from the settings (the ``alerts`` section)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlops_blueprint.components.alerting import Alerting, AlertingArgs, sns_publisher_key_statements, topic_policy
from mlops_blueprint.components.alerting_settings import DEFAULT_ROUTES, AlertingSettings, Routes
from mlops_blueprint.context import StackContext
from support.components import run_component
from mlops_blueprint.mock_runtime import MOCK_ACCOUNT_ID, SECRET_PLACEHOLDER, MockRun

ACCOUNT = MOCK_ACCOUNT_ID
LOGS_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/logs-key"
TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
PAGERDUTY = "https://events.pagerduty.com/integration/0123456789abcdef/enqueue"
OPSGENIE = "https://api.opsgenie.com/v1/json/amazonsns?apiKey=abc-123"


def build(ctx: StackContext, **settings: Any) -> MockRun:
    """The component with ``settings`` given as the stack file gives them (camelCase keys)."""
    args = AlertingArgs(context=ctx, kms_key_arn=LOGS_KEY, settings=AlertingSettings.model_validate(settings))
    return run_component(ctx, lambda: Alerting("alerting", args), {"topicArns": "topic_arns", "routes": "routes"})


def policy_of(run: MockRun, severity: str) -> dict[str, Any]:
    return json.loads(run.named(TOPIC_POLICY, f"alerting-{severity}").inputs["policy"])


def topic_arn(severity: str, env: str = "dev") -> str:
    return f"arn:aws:sns:us-east-1:{ACCOUNT}:mlops-platform-{env}-alerts-{severity}"


def test_one_kms_encrypted_topic_per_severity(dev_context: StackContext) -> None:
    run = build(dev_context)
    topics = {t.name: t.inputs for t in run.of_type(TOPIC)}
    assert set(topics) == {"alerting-critical", "alerting-warning", "alerting-info"}
    for severity in ("critical", "warning", "info"):
        inputs = topics[f"alerting-{severity}"]
        assert inputs["name"] == f"mlops-platform-dev-alerts-{severity}"
        assert inputs["kmsMasterKeyId"] == LOGS_KEY
        assert inputs["tags"]["component"] == "alerting"
    assert run.outputs["topicArns"] == {s: topic_arn(s) for s in ("critical", "warning", "info")}


def test_each_topic_policy_is_on_its_own_topic_and_denies_non_tls(dev_context: StackContext) -> None:
    run = build(dev_context)
    for severity in ("critical", "warning", "info"):
        registration = run.named(TOPIC_POLICY, f"alerting-{severity}")
        assert registration.inputs["arn"] == topic_arn(severity)
        [deny] = [s for s in policy_of(run, severity)["Statement"] if s["Effect"] == "Deny"]
        assert deny["Principal"] == {"AWS": "*"}
        assert "sns:Publish" in deny["Action"] and "sns:Subscribe" in deny["Action"]
        assert deny["Resource"] == [topic_arn(severity)]
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_only_cloudwatch_eventbridge_and_budgets_may_publish_for_this_stack(dev_context: StackContext) -> None:
    allows = [s for s in policy_of(build(dev_context), "critical")["Statement"] if s["Effect"] == "Allow"]
    by_service = {s["Principal"]["Service"]: s for s in allows}
    assert set(by_service) == {"cloudwatch.amazonaws.com", "events.amazonaws.com", "budgets.amazonaws.com"}
    assert all(s["Action"] == ["sns:Publish"] and s["Resource"] == [topic_arn("critical")] for s in allows)
    expected = {
        "cloudwatch.amazonaws.com": f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:mlops-platform-dev-*",
        "events.amazonaws.com": f"arn:aws:events:us-east-1:{ACCOUNT}:rule/mlops-platform-dev-*",
        "budgets.amazonaws.com": f"arn:aws:budgets::{ACCOUNT}:budget/mlops-platform-dev-us-east-1-*",
    }
    for service, source_arn in expected.items():
        assert by_service[service]["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT},
                                                    "ArnLike": {"aws:SourceArn": source_arn}}
    # No principal of any other kind is allowed anything by the topic policy.
    assert all(set(s["Principal"]) == {"Service"} for s in allows)


def test_topic_policy_keeps_environments_apart(context_for: Any) -> None:
    staging = topic_policy(context_for("staging"), topic_arn("critical", "staging"))
    [cloudwatch] = [s for s in staging["Statement"] if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert cloudwatch["Condition"]["ArnLike"]["aws:SourceArn"].endswith(":alarm:mlops-platform-staging-*")


def test_subscriptions_go_to_their_severity_and_https_endpoints_are_secret(dev_context: StackContext) -> None:
    run = build(dev_context, subscriptions={
        "critical": [{"protocol": "https", "endpoint": PAGERDUTY}, {"protocol": "email", "endpoint": "oncall@example.com"}],
        "warning": [{"protocol": "https", "endpoint": OPSGENIE}],
    })
    subs = {s.name: s.inputs for s in run.of_type(SUBSCRIPTION)}
    assert set(subs) == {"alerting-critical-https-0", "alerting-critical-email-1", "alerting-warning-https-0"}
    assert subs["alerting-critical-https-0"]["topic"] == topic_arn("critical")
    assert subs["alerting-critical-https-0"]["protocol"] == "https"
    assert subs["alerting-critical-https-0"]["endpoint"] == SECRET_PLACEHOLDER  # the URL holds the integration key
    assert subs["alerting-critical-https-0"]["endpointAutoConfirms"] is True
    assert subs["alerting-critical-email-1"]["endpoint"] == "oncall@example.com"
    assert subs["alerting-critical-email-1"]["topic"] == topic_arn("critical")
    assert subs["alerting-warning-https-0"]["topic"] == topic_arn("warning")


def test_routes_map_alert_kinds_to_topics(dev_context: StackContext) -> None:
    run = build(dev_context, routes={"drift": "critical", "budget": "info"})
    routes = run.outputs["routes"]
    assert routes["drift"] == topic_arn("critical") and routes["budget"] == topic_arn("info")
    assert routes["errors"] == topic_arn("critical") and routes["latency"] == topic_arn("warning")  # defaults kept
    assert set(routes) == set(DEFAULT_ROUTES)


def test_subscriptions_accept_email_https_and_encrypted_values() -> None:
    settings = AlertingSettings.model_validate({"subscriptions": {
        "critical": [{"protocol": "https", "endpoint": "https://events.pagerduty.com/integration/abc/enqueue"},
                     {"protocol": "https", "endpoint": {"secure": "v1:AAAAencrypted"}}],
        "warning": [{"protocol": "email", "endpoint": "ml@example.com"}],
    }})
    assert settings.subscriptions["critical"][1].endpoint == SECRET_PLACEHOLDER


def test_routes_are_the_default_routes_one_field_each() -> None:
    assert Routes().as_dict() == DEFAULT_ROUTES
    assert Routes.model_validate({"modelQuality": "info"}).as_dict()["modelQuality"] == "info"


@pytest.mark.parametrize(("settings", "message"), [
    ({"subscriptions": {"critical": [{"protocol": "http", "endpoint": "http://example.com/hook"}]}},
     r"subscriptions\.critical\.0\.protocol\n  Input should be 'email' or 'https'"),
    ({"subscriptions": {"critical": [{"protocol": "https", "endpoint": "http://example.com/hook"}]}}, "plain http"),
    ({"subscriptions": {"critical": [{"protocol": "email", "endpoint": "not-an-address"}]}}, "not an email address"),
    ({"subscriptions": {"critical": [{"protocol": "sms", "endpoint": "+15551234567"}]}}, "protocol"),
    ({"subscriptions": {"info": [{"protocol": "email", "endpoint": "a@b.io"}, {"protocol": "email", "endpoint": "a@b.io"}]}},
     "subscriptions.info lists a@b.io more than once"),
    ({"subscriptions": {"page": [{"protocol": "email", "endpoint": "a@example.com"}]}},
     r"subscriptions\.page\.\[key\]\n  Input should be 'critical', 'warning' or 'info'"),
    ({"routes": {"drift": "urgent"}}, r"routes\.drift\n  Input should be 'critical', 'warning' or 'info'"),
    ({"routes": {"paging": "critical"}}, r"routes\.paging\n  Extra inputs are not permitted"),
])
def test_bad_subscriptions_and_routes_are_rejected_when_the_settings_are_built(settings: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AlertingSettings.model_validate(settings)


def test_args_without_a_stack_context_are_rejected_before_anything_is_registered() -> None:
    with pytest.raises(ValueError, match="invalid AlertingArgs for 'alerting':\n  - context: expected a StackContext"):
        Alerting("alerting", AlertingArgs(context="dev", kms_key_arn=LOGS_KEY))  # type: ignore[arg-type]


def test_key_policy_statements_let_the_publishers_encrypt(dev_context: StackContext) -> None:
    statements = {s["Principal"]["Service"]: s for s in sns_publisher_key_statements(dev_context)}
    assert set(statements) == {"cloudwatch.amazonaws.com", "events.amazonaws.com", "budgets.amazonaws.com"}
    for statement in statements.values():
        assert set(statement["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
        assert statement["Condition"]["StringEqualsIfExists"] == {"kms:ViaService": "sns.us-east-1.amazonaws.com"}
    assert statements["cloudwatch.amazonaws.com"]["Condition"]["ArnLike"]["aws:SourceArn"] \
        == f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:mlops-platform-dev-*"
    # EventBridge's KMS requests carry no aws:SourceArn/SourceAccount: a condition on them would drop every event.
    assert set(statements["events.amazonaws.com"]["Condition"]) == {"StringEqualsIfExists"}
