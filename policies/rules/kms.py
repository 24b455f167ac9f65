"""KMS: customer keys rotate, and prod keys keep the longest deletion window."""

from __future__ import annotations

from mlops_blueprint.policies.model import PolicyContext, ResourceView, Rule, is_unknown
from mlops_blueprint.policies.rules._helpers import KMS_KEY, requires, rule

MIN_PROD_DELETION_WINDOW_DAYS = 30  # also AWS's default and maximum

_key_rotation = requires("enableKeyRotation", noun="KMS key")


def _rotation(resource: ResourceView, ctx: PolicyContext) -> list[str]:
    if resource.props.get("customerMasterKeySpec") not in (None, "SYMMETRIC_DEFAULT"):
        return []  # AWS rotates only symmetric encryption keys
    return _key_rotation(resource, ctx)


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
    rule("kms-key-rotation", "Symmetric KMS keys enable automatic key rotation.", _rotation, KMS_KEY),
    rule("kms-prod-deletion-window",
         "Prod KMS keys keep a deletion window of at least 30 days, time to notice a mistake.",
         _deletion_window, KMS_KEY, enforcement="advisory"),
)
