"""KMS: customer keys rotate, and prod keys keep the longest deletion window."""

from __future__ import annotations

from mlops_blueprint.policies.model import PolicyContext, ResourceView, Rule, is_unknown
from mlops_blueprint.policies.rules._helpers import KMS_KEY, differs

MIN_PROD_DELETION_WINDOW_DAYS = 30  # also AWS's default and maximum


def _rotation(resource: ResourceView, ctx: PolicyContext) -> list[str]:
    spec = resource.props.get("customerMasterKeySpec")
    if spec not in (None, "SYMMETRIC_DEFAULT"):
        return []  # AWS rotates only symmetric encryption keys
    if differs(resource.props.get("enableKeyRotation"), True):
        return [f"KMS key '{resource.name}' must set enableKeyRotation=true"]
    return []


def _deletion_window(resource: ResourceView, ctx: PolicyContext) -> list[str]:
    days = resource.props.get("deletionWindowInDays")
    if not ctx.is_prod or days is None or is_unknown(days):
        return []  # unset means AWS's default of 30 days
    if days < MIN_PROD_DELETION_WINDOW_DAYS:
        return [
            f"KMS key '{resource.name}' has deletionWindowInDays={days:g} in prod; "
            f"use {MIN_PROD_DELETION_WINDOW_DAYS} (or leave it unset)"
        ]
    return []


RULES: tuple[Rule, ...] = (
    Rule(
        name="kms-key-rotation",
        description="Symmetric KMS keys enable automatic key rotation.",
        enforcement="mandatory",
        check=_rotation,
        resource_types=(KMS_KEY,),
    ),
    Rule(
        name="kms-prod-deletion-window",
        description="Prod KMS keys keep a deletion window of at least 30 days, time to notice a mistake.",
        enforcement="advisory",
        check=_deletion_window,
        resource_types=(KMS_KEY,),
    ),
)
