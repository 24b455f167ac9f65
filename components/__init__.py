"""The platform's ComponentResources, one per module; re-exported for ``from mlops_blueprint.components import X``.

Every public component, its args and, where it has user settings, its ``<Name>Settings`` (the stack
file section it reads) are here (tests/test_contributing.py checks that none is missing).
"""

from mlops_blueprint.components.alerting import Alerting, AlertingArgs
from mlops_blueprint.components.artifact_store import ArtifactStore, ArtifactStoreArgs
from mlops_blueprint.components.audit_trail import AuditTrail, AuditTrailArgs
from mlops_blueprint.components.cost_guardrails import CostGuardrails, CostGuardrailsArgs
from mlops_blueprint.components.drift_job import DriftJobs, DriftJobsArgs
from mlops_blueprint.components.feature_store import FeatureStore, FeatureStoreArgs
from mlops_blueprint.components.irsa import ServiceAccountTrust
from mlops_blueprint.components.k8s_serving import K8sServing, K8sServingArgs
from mlops_blueprint.components.kms import Kms, KmsArgs
from mlops_blueprint.components.monitoring import Monitoring, MonitoringArgs
from mlops_blueprint.components.network import ExistingNetwork, Network, NetworkArgs
from mlops_blueprint.components.observability import Observability, ObservabilityArgs
from mlops_blueprint.components.platform_roles import PlatformRoles, PlatformRolesArgs
from mlops_blueprint.components.retraining import Retraining, RetrainingArgs
from mlops_blueprint.components.s3_bucket import SecureBucket, SecureBucketArgs
from mlops_blueprint.components.serving_endpoint import ServingEndpoint, ServingEndpointArgs
from mlops_blueprint.components.tracking_server import TrackingServer, TrackingServerArgs
from mlops_blueprint.components.training_compute import TrainingCompute, TrainingComputeArgs

# Settings: each component's section of the stack file, the ``settings`` field of its args.
from mlops_blueprint.components.alerting_settings import AlertingSettings
from mlops_blueprint.components.artifact_store_settings import ArtifactStoreSettings
from mlops_blueprint.components.audit_trail_settings import AuditTrailSettings
from mlops_blueprint.components.cost_guardrails_settings import CostGuardrailsSettings
from mlops_blueprint.components.feature_store_settings import FeatureStoreSettings
from mlops_blueprint.components.k8s_serving_settings import K8sServingSettings
from mlops_blueprint.components.kms_settings import KmsSettings
from mlops_blueprint.components.monitoring.settings import MonitoringSettings
from mlops_blueprint.components.network_settings import NetworkSettings
from mlops_blueprint.components.observability_settings import ObservabilitySettings
from mlops_blueprint.components.platform_roles_settings import PlatformRolesSettings
from mlops_blueprint.components.retraining_settings import RetrainingSettings
from mlops_blueprint.components.serving_endpoint_settings import ServingEndpointSettings
from mlops_blueprint.components.tracking_server_settings import TrackingServerSettings
from mlops_blueprint.components.training_compute_settings import TrainingComputeSettings

__all__ = [
    "Alerting", "AlertingArgs", "ArtifactStore", "ArtifactStoreArgs", "AuditTrail", "AuditTrailArgs",
    "CostGuardrails", "CostGuardrailsArgs", "DriftJobs", "DriftJobsArgs", "ExistingNetwork", "FeatureStore",
    "FeatureStoreArgs", "K8sServing",
    "K8sServingArgs", "Kms", "KmsArgs", "Monitoring", "MonitoringArgs", "Network", "NetworkArgs", "Observability",
    "ObservabilityArgs", "PlatformRoles", "PlatformRolesArgs", "Retraining", "RetrainingArgs", "SecureBucket",
    "SecureBucketArgs", "ServiceAccountTrust", "ServingEndpoint", "ServingEndpointArgs", "TrackingServer",
    "TrackingServerArgs", "TrainingCompute", "TrainingComputeArgs",
    # settings
    "AlertingSettings", "ArtifactStoreSettings", "AuditTrailSettings", "CostGuardrailsSettings",
    "FeatureStoreSettings", "K8sServingSettings", "KmsSettings", "MonitoringSettings", "NetworkSettings",
    "ObservabilitySettings", "PlatformRolesSettings", "RetrainingSettings", "ServingEndpointSettings",
    "TrackingServerSettings", "TrainingComputeSettings",
]
