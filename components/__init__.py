"""The platform's ComponentResources, one per module; re-exported for ``from mlops_blueprint.components import X``.

Every public component and its args are here (a test checks that none is missing).
"""

from mlops_blueprint.components.alerting import Alerting, AlertingArgs
from mlops_blueprint.components.artifact_store import ArtifactStore, ArtifactStoreArgs
from mlops_blueprint.components.audit_trail import AuditTrail, AuditTrailArgs
from mlops_blueprint.components.cost_guardrails import CostGuardrails, CostGuardrailsArgs
from mlops_blueprint.components.drift_job import DriftJobs, DriftJobsArgs
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

__all__ = [
    "Alerting", "AlertingArgs", "ArtifactStore", "ArtifactStoreArgs", "AuditTrail", "AuditTrailArgs",
    "CostGuardrails", "CostGuardrailsArgs", "DriftJobs", "DriftJobsArgs", "ExistingNetwork", "K8sServing",
    "K8sServingArgs", "Kms", "KmsArgs", "Monitoring", "MonitoringArgs", "Network", "NetworkArgs", "Observability",
    "ObservabilityArgs", "PlatformRoles", "PlatformRolesArgs", "Retraining", "RetrainingArgs", "SecureBucket",
    "SecureBucketArgs", "ServiceAccountTrust", "ServingEndpoint", "ServingEndpointArgs", "TrackingServer",
    "TrackingServerArgs", "TrainingCompute", "TrainingComputeArgs",
]
