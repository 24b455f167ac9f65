"""RDS: databases are encrypted, private, and undeletable by accident in prod."""

from __future__ import annotations

from mlops_blueprint.policies.model import PolicyContext, ResourceView, Rule
from mlops_blueprint.policies.rules._helpers import RDS_CLUSTER, RDS_INSTANCE, requires, rule, short_type

RDS_CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"


def _noun(resource: ResourceView) -> str:
    return f"RDS {short_type(resource.type)}"


def _not_public(resource: ResourceView, ctx: PolicyContext) -> list[str]:
    if resource.props.get("publiclyAccessible") is True:
        return [f"{_noun(resource)} '{resource.name}' sets publiclyAccessible=true; leave it false and reach it "
                "from the VPC"]
    return []


RULES: tuple[Rule, ...] = (
    rule("rds-storage-encrypted", "RDS instances and clusters encrypt their storage (storageEncrypted).",
         requires("storageEncrypted", noun=_noun), RDS_INSTANCE, RDS_CLUSTER),
    rule("rds-not-publicly-accessible", "No RDS instance, cluster or cluster instance is publicly accessible.",
         _not_public, RDS_INSTANCE, RDS_CLUSTER, RDS_CLUSTER_INSTANCE),
    rule("rds-prod-deletion-protection", "Prod RDS instances and clusters enable deletionProtection.",
         requires("deletionProtection", noun=_noun, environments=("prod",)), RDS_INSTANCE, RDS_CLUSTER),
)
