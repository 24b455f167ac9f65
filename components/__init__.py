"""The platform's ComponentResources, one per module; re-exported for ``from mlops_blueprint.components import X``."""

from mlops_blueprint.components.artifact_store import ArtifactStore, ArtifactStoreArgs
from mlops_blueprint.components.audit_trail import AuditTrail, AuditTrailArgs
from mlops_blueprint.components.irsa import ServiceAccountTrust
from mlops_blueprint.components.kms import Kms, KmsArgs
from mlops_blueprint.components.network import ExistingNetwork, Network, NetworkArgs
from mlops_blueprint.components.platform_roles import PlatformRoles, PlatformRolesArgs
from mlops_blueprint.components.s3_bucket import SecureBucket, SecureBucketArgs

__all__ = [
    "ArtifactStore", "ArtifactStoreArgs", "AuditTrail", "AuditTrailArgs", "ExistingNetwork", "Kms", "KmsArgs",
    "Network", "NetworkArgs", "PlatformRoles", "PlatformRolesArgs", "SecureBucket", "SecureBucketArgs",
    "ServiceAccountTrust",
]
