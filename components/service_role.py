"""The one way components make an IAM role: named by naming, tagged, one-hour sessions, and the
organisation's permissions boundary when there is one. Callers supply trust and permissions.

Who owns a role: :class:`~.platform_roles.PlatformRoles` owns the roles that people, CI and jobs
assume across components (the SageMaker execution roles for training, serving, tracking and
pipelines, IRSA roles of the platform's pods, the CI roles, the MLflow users policy). A component
owns the service roles that only its own resources use and only an AWS service assumes (CloudTrail
and flow-log delivery, drift jobs and their scheduler, retraining targets, Grafana).
``tests/test_system_hardening.py`` checks every stack variant against this rule."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from mlops_blueprint.context import StackContext
from mlops_blueprint.policy_documents import document, statement, to_json

# Credentials of every platform role expire within the hour.
SESSION_SECONDS = 3600


def service_role(
    logical_name: str,
    *,
    context: StackContext,
    component: str,
    purpose: str,
    description: str,
    trust: pulumi.Input[str],
    permissions_boundary_arn: str | None,
    opts: pulumi.ResourceOptions,
) -> aws.iam.Role:
    """``aws.iam.Role`` ``<project>-<env>-<purpose>``; ``trust`` is the assume-role policy JSON."""
    role_name = context.naming.role(purpose)
    return aws.iam.Role(
        logical_name,
        name=role_name,
        description=f"{context.naming.prefix}: {description}",
        assume_role_policy=trust,
        permissions_boundary=permissions_boundary_arn,
        max_session_duration=SESSION_SECONDS,
        tags=context.tagging.resource(component, role_name),
        opts=opts,
    )


def service_trust(context: StackContext, service: str, *, sid: str, source_arn: str) -> str:
    """Assume-role policy JSON for one AWS service acting for this account's ``source_arn``
    resources only (the confused-deputy guard: ``aws:SourceAccount`` and ``aws:SourceArn``)."""
    return to_json(document(statement(
        sid, ["sts:AssumeRole"], None, principals={"Service": context.service_principal(service)},
        conditions={"StringEquals": {"aws:SourceAccount": context.account_id},
                    "ArnLike": {"aws:SourceArn": source_arn}},
    )))
