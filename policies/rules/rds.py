"""RDS: databases are encrypted, private, and undeletable by accident in prod."""

from __future__ import annotations

from mlops_blueprint.policies.model import PolicyContext, ResourceView, Rule
from mlops_blueprint.policies.rules._helpers import RDS_CLUSTER, RDS_INSTANCE, differs, short_type

RDS_CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"


def _label(resource: ResourceView) -> str:
    return f"RDS {short_type(resource.type)} '{resource.name}'"


def _storage_encrypted(resource: ResourceView, ctx: PolicyContext) -> list[str]:
    if differs(resource.props.get("storageEncrypted"), True):
        return [f"{_label(resource)} must set storageEncrypted=true"]
    return []


def _not_public(resource: ResourceView, ctx: PolicyContext) -> list[str]:
    if resource.props.get("publiclyAccessible") is True:
        return [f"{_label(resource)} sets publiclyAccessible=true; leave it false and reach it from the VPC"]
    return []


def _deletion_protection(resource: ResourceView, ctx: PolicyContext) -> list[str]:
    if ctx.is_prod and differs(resource.props.get("deletionProtection"), True):
        return [f"{_label(resource)} must set deletionProtection=true in prod"]
    return []


RULES: tuple[Rule, ...] = (
    Rule(
        name="rds-storage-encrypted",
        description="RDS instances and clusters encrypt their storage (storageEncrypted).",
        enforcement="mandatory",
        check=_storage_encrypted,
        resource_types=(RDS_INSTANCE, RDS_CLUSTER),
    ),
    Rule(
        name="rds-not-publicly-accessible",
        description="No RDS instance, cluster or cluster instance is publicly accessible.",
        enforcement="mandatory",
        check=_not_public,
        resource_types=(RDS_INSTANCE, RDS_CLUSTER, RDS_CLUSTER_INSTANCE),
    ),
    Rule(
        name="rds-prod-deletion-protection",
        description="Prod RDS instances and clusters enable deletionProtection.",
        enforcement="mandatory",
        check=_deletion_protection,
        resource_types=(RDS_INSTANCE, RDS_CLUSTER),
    ),
)
