"""The AWS provider and account context every stack (and every program composing the
components) should use.

The provider's ``default_tags`` carry the stack-wide mandatory tags to every taggable resource;
pass it to the top-level components with ``pulumi.ResourceOptions(providers={"aws": provider})``
and their children inherit it.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from mlops_blueprint.context import StackContext
from mlops_blueprint.naming import Naming
from mlops_blueprint.tags import Tagging


def aws_provider(region: str, tagging: Tagging, name: str = "aws", opts: pulumi.ResourceOptions | None = None,
                 allowed_account_ids: Sequence[str] = ()) -> aws.Provider:
    """``allowed_account_ids``: the provider refuses credentials of any other account. An explicit
    provider does not read the stack's ``aws:allowedAccountIds``, so the stack passes it here."""
    return aws.Provider(name, region=region, default_tags={"tags": tagging.default_tags()},
                        allowed_account_ids=list(allowed_account_ids) or None, opts=opts)


def account_context(provider: aws.Provider, region: str, tagging: Tagging, *,
                    regional_account_names: bool = True) -> StackContext:
    """The context of the account ``provider``'s credentials reach: its id and partition name and
    ARN everything, so a stack never hard-codes an account. ``regional_account_names=False`` keeps
    account-wide names (IAM, dashboards, budgets, the trail) without the region."""
    invoke = pulumi.InvokeOptions(provider=provider)
    account_id = aws.get_caller_identity(opts=invoke).account_id
    partition = aws.get_partition(opts=invoke).partition
    naming = Naming(project=tagging.project, environment=tagging.environment, account_id=account_id, region=region,
                    regional_account_names=regional_account_names)
    return StackContext(naming=naming, tagging=tagging, partition=partition)
