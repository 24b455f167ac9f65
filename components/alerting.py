"""Incident routing: one SNS topic per severity, KMS-encrypted, TLS-only, with subscriptions.

Three topics (``critical``, ``warning``, ``info``) always exist, so every alarm has somewhere to go
even before anyone subscribes. Each topic's policy denies any request not made over TLS and lets
exactly three AWS services publish, each only on behalf of this account and of this stack's
resources: CloudWatch (alarms named ``<project>-<env>-*``), EventBridge (rules named so) and AWS
Budgets (budgets named so). Principals of the account still need an IAM policy to publish.

The topics are encrypted with a customer-managed key. CloudWatch, EventBridge and Budgets publish
to an encrypted topic only when *the key policy* lets them use the key: whichever key is passed
(the platform's logs key, by default) must include :func:`sns_publisher_key_statements`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_blueprint.components.alerting_settings import SEVERITIES, AlertingSettings
from mlops_blueprint.components.arg_checks import type_problems
from mlops_blueprint.context import StackContext
# Shared with the logs key's policy (kms.py); re-exported where callers have always found them.
from mlops_blueprint.components.key_policies import (  # noqa: F401
    PUBLISHERS, publisher_conditions, publisher_source_arn, sns_publisher_key_statements,
)
from mlops_blueprint.policy_documents import Statement, document, render, statement
from mlops_blueprint.validation import raise_invalid_args

COMPONENT = "alerting"
TYPE = "mlops:monitoring:Alerting"


@dataclass(frozen=True)
class AlertingArgs:
    """The topics' key, and ``settings`` (the ``alerts`` section: subscribers per severity, routes)."""

    context: StackContext
    kms_key_arn: pulumi.Input[str]          # Kms.logs_key_arn; its policy needs sns_publisher_key_statements()
    settings: AlertingSettings = field(default_factory=AlertingSettings)

    def problems(self) -> list[str]:
        return type_problems(self, context=StackContext, settings=AlertingSettings)


def deny_insecure_transport(topic_arn: str) -> Statement:
    """Deny publishing to or subscribing on the topic other than over TLS (the SNS form of the
    bucket policies' ``DenyInsecureTransport``)."""
    return statement(
        "DenyInsecureTransport",
        ["sns:Publish", "sns:Subscribe"],
        [topic_arn],
        effect="Deny",
        principals={"AWS": "*"},
        conditions={"Bool": {"aws:SecureTransport": "false"}},
    )


def topic_policy(ctx: StackContext, topic_arn: str) -> dict[str, Any]:
    """TLS only; CloudWatch, EventBridge and Budgets may publish for this stack's resources."""
    allows = [
        statement(
            f"Allow{service.capitalize()}Publish",
            ["sns:Publish"],
            [topic_arn],
            principals={"Service": ctx.service_principal(service)},
            conditions=publisher_conditions(ctx, service),
        )
        for service in PUBLISHERS
    ]
    return document(deny_insecure_transport(topic_arn), *allows)


class Alerting(pulumi.ComponentResource):
    """SNS topics ``<project>-<env>-alerts-<severity>`` and their subscriptions."""

    topics: dict[str, aws.sns.Topic]
    topic_arns: dict[str, pulumi.Output[str]]
    routes: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: AlertingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        raise_invalid_args("AlertingArgs", args.problems(), subject=repr(name))
        super().__init__(TYPE, name, None, opts)
        ctx = args.context
        child = pulumi.ResourceOptions(parent=self)
        self.topics = {}
        for severity in SEVERITIES:
            topic_name = ctx.naming.name("alerts", severity)
            topic = aws.sns.Topic(
                f"{name}-{severity}",
                name=topic_name,
                display_name=f"{ctx.naming.prefix} {severity} alerts",
                kms_master_key_id=args.kms_key_arn,
                tags=ctx.tagging.resource(COMPONENT, topic_name),
                opts=child,
            )
            aws.sns.TopicPolicy(
                f"{name}-{severity}",
                arn=topic.arn,
                policy=render(lambda arn: topic_policy(ctx, arn), topic.arn),
                opts=child,
            )
            for i, sub in enumerate(args.settings.subscriptions.get(severity, ())):
                https = sub.protocol == "https"
                aws.sns.TopicSubscription(
                    f"{name}-{severity}-{sub.protocol}-{i}",
                    topic=topic.arn,
                    protocol=sub.protocol,
                    # HTTPS integration URLs carry their service's key: keep them out of state in clear.
                    endpoint=pulumi.Output.secret(sub.endpoint) if https else sub.endpoint,
                    # PagerDuty, Opsgenie and VictorOps confirm SNS subscriptions themselves.
                    endpoint_auto_confirms=True if https else None,
                    opts=child,
                )
            self.topics[severity] = topic
        self.topic_arns = {severity: topic.arn for severity, topic in self.topics.items()}
        self.routes = {kind: self.topic_arns[severity] for kind, severity in args.settings.routes.as_dict().items()}
        self.register_outputs({
            "topicArns": self.topic_arns,
            "routes": self.routes,
        })

    def topic_for(self, kind: str) -> pulumi.Output[str]:
        """The topic ARN alerts of ``kind`` (errors, latency, drift, budget, ...) go to."""
        if kind not in self.routes:
            raise KeyError(f"no route for {kind!r}; routes: {', '.join(sorted(self.routes))}")
        return self.routes[kind]
