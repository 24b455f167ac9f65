"""Key-policy statements that more than one component needs: a neutral home, so the foundation's
keys (:mod:`.kms`) and the alert topics (:mod:`.alerting`) share one definition without the
foundation importing an operations component.

The alert topics are SNS topics encrypted with the platform's logs key. CloudWatch (alarms),
EventBridge (rules) and AWS Budgets publish to them, each only on behalf of this account and of
this stack's resources (named ``<project>-<env>-*``).
"""

from __future__ import annotations

from typing import Any

from mlops_blueprint.context import StackContext
from mlops_blueprint.policy_documents import Statement, statement

# The AWS services that publish alerts, and the resources (by this stack's name prefix) they publish for.
PUBLISHERS: tuple[str, ...] = ("cloudwatch", "events", "budgets")


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


def publisher_conditions(ctx: StackContext, service: str) -> dict[str, dict[str, Any]]:
    """Confused-deputy guard: this account, and this stack's alarms/rules/budgets only."""
    return {
        "StringEquals": {"aws:SourceAccount": ctx.account_id},
        "ArnLike": {"aws:SourceArn": publisher_source_arn(ctx, service)},
    }


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
            conditions=via_sns if service == "events" else {**publisher_conditions(ctx, service), **via_sns},
        )
        for service in PUBLISHERS
    ]
