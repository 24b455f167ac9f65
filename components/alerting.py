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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_blueprint.context import StackContext
from mlops_blueprint.monitoring_config import DEFAULT_ROUTES, SEVERITIES, endpoint_problem
from mlops_blueprint.policy_documents import Statement, document, render, statement
from mlops_blueprint.validation import raise_invalid_args

COMPONENT = "alerting"
TYPE = "mlops:monitoring:Alerting"
PROTOCOLS: tuple[str, ...] = ("email", "https")
# The AWS services that publish alerts, and the resources (by this stack's name prefix) they publish for.
PUBLISHERS: tuple[str, ...] = ("cloudwatch", "events", "budgets")


@dataclass(frozen=True)
class Subscription:
    """An email address or an HTTPS integration URL (PagerDuty, Opsgenie, VictorOps/Splunk On-Call...).

    HTTPS URLs usually embed an integration key: they are stored as Pulumi secrets.
    """

    protocol: str                           # "email" or "https"
    endpoint: pulumi.Input[str]


@dataclass(frozen=True)
class AlertingArgs:
    """Topics per severity and their subscribers (values from ``AlertsConfig``)."""

    context: StackContext
    kms_key_arn: pulumi.Input[str]          # Kms.logs_key_arn; its policy needs sns_publisher_key_statements()
    subscriptions: Mapping[str, Sequence[Subscription]] = field(default_factory=dict)  # severity -> subscriptions
    routes: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_ROUTES))    # alert kind -> severity


def _validate(args: AlertingArgs) -> None:
    problems: list[str] = []
    if not isinstance(args.context, StackContext):
        problems.append(f"context: expected a StackContext, got {type(args.context).__name__}")
    for severity, subscriptions in args.subscriptions.items():
        if severity not in SEVERITIES:
            problems.append(f"subscriptions: {severity!r} is not a severity; expected one of {', '.join(SEVERITIES)}")
        for i, sub in enumerate(subscriptions):
            where = f"subscriptions[{severity}][{i}]"
            if sub.protocol not in PROTOCOLS:
                problems.append(f"{where}.protocol: {sub.protocol!r} is not one of {', '.join(PROTOCOLS)}")
            elif isinstance(sub.endpoint, str):
                problem = endpoint_problem(sub.protocol, sub.endpoint)
                if problem:
                    problems.append(f"{where}.endpoint: {problem}")
    for kind, severity in args.routes.items():
        if severity not in SEVERITIES:
            problems.append(f"routes.{kind}: {severity!r} is not a severity; expected one of {', '.join(SEVERITIES)}")
    raise_invalid_args("AlertingArgs", problems)


def publisher_source_arn(ctx: StackContext, service: str) -> str:
    """The ARNs (with a wildcard) of this stack's resources a publishing service acts for."""
    named = f"{ctx.naming.prefix}-*"
    if service == "cloudwatch":
        return ctx.arn("cloudwatch", f"alarm:{named}")
    if service == "events":
        return ctx.arn("events", f"rule/{named}")
    if service == "budgets":
        # Budgets are account-wide: the region in their names keeps other regions' stacks out.
        return ctx.arn("budgets", f"budget/{ctx.naming.global_prefix}-*", regional=False)
    raise ValueError(f"unknown publisher {service!r}; expected one of {', '.join(PUBLISHERS)}")


def _publisher_conditions(ctx: StackContext, service: str) -> dict[str, dict[str, Any]]:
    """Confused-deputy guard: this account, and this stack's alarms/rules/budgets only."""
    return {
        "StringEquals": {"aws:SourceAccount": ctx.account_id},
        "ArnLike": {"aws:SourceArn": publisher_source_arn(ctx, service)},
    }


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
            conditions=_publisher_conditions(ctx, service),
        )
        for service in PUBLISHERS
    ]
    return document(deny_insecure_transport(topic_arn), *allows)


def sns_publisher_key_statements(ctx: StackContext) -> list[Statement]:
    """Key-policy statements that let the publishing services use the key of an encrypted topic.

    SNS encrypts a message with the topic's key on the publisher's behalf, so CloudWatch, EventBridge
    and Budgets need ``kms:GenerateDataKey*`` and ``kms:Decrypt`` on it, through SNS only
    (``kms:ViaService`` where present). CloudWatch and Budgets requests carry
    ``aws:SourceAccount``/``aws:SourceArn``, so those grants are for this stack's alarms and budgets
    only; EventBridge's do not (the SNS developer guide: those keys are not supported in a key policy
    for EventBridge delivery, and a condition on them would drop every event), so its grant cannot be
    narrowed that way — the topic policy still admits only this stack's rules.
    """
    via_sns = {"StringEqualsIfExists": {"kms:ViaService": ctx.service_principal(f"sns.{ctx.region}")}}
    return [
        statement(
            f"{service.capitalize()}PublishToEncryptedTopics",
            ["kms:Decrypt", "kms:GenerateDataKey*"],
            "*",
            principals={"Service": ctx.service_principal(service)},
            conditions=via_sns if service == "events" else {**_publisher_conditions(ctx, service), **via_sns},
        )
        for service in PUBLISHERS
    ]


class Alerting(pulumi.ComponentResource):
    """SNS topics ``<project>-<env>-alerts-<severity>`` and their subscriptions."""

    topics: dict[str, aws.sns.Topic]
    topic_arns: dict[str, pulumi.Output[str]]
    routes: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: AlertingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
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
            for i, sub in enumerate(args.subscriptions.get(severity, ())):
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
        self.routes = {kind: self.topic_arns[severity] for kind, severity in {**DEFAULT_ROUTES, **args.routes}.items()}
        self.register_outputs({
            "topicArns": self.topic_arns,
            "routes": self.routes,
        })

    def topic_for(self, kind: str) -> pulumi.Output[str]:
        """The topic ARN alerts of ``kind`` (errors, latency, drift, budget, ...) go to."""
        if kind not in self.routes:
            raise KeyError(f"no route for {kind!r}; routes: {', '.join(sorted(self.routes))}")
        return self.routes[kind]
