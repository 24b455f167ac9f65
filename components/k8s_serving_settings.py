"""The ``serving.kubernetes`` config section: what a user sets about
:class:`~.k8s_serving.K8sServing` (model servers on the platform's cluster,
``serving.backend: kubernetes``).

Stack file keys (camelCase, under ``mlops-platform:serving``)::

    kubernetes:
      namespace: model-serving            # created with a restricted pod-security level (or given)
      replicas: 2                         # the autoscaler's floor, per model
      maxReplicas: 4
      resources: {cpuRequest: 500m, memoryRequest: 1Gi, cpuLimit: "2", memoryLimit: 2Gi}
"""

from __future__ import annotations

from pydantic import Field, model_validator

from mlops_blueprint.config_base import Section, container_resources
from mlops_blueprint.validation import K8S_NAME


ServingResourcesSettings = container_resources(
    "ServingResourcesSettings", "Requests and limits of a model server container.", module=__name__,
    cpu_request="500m", memory_request="1Gi", cpu_limit="2", memory_limit="2Gi",
)


class K8sServingSettings(Section):
    """Model servers on the platform's cluster (``serving.backend: kubernetes``)."""

    namespace: str = Field(default="model-serving", max_length=63, pattern=K8S_NAME,
                           description="namespace of the model servers")
    create_namespace: bool = Field(default=True, description="create the namespace (false: it exists)")
    replicas: int = Field(default=2, ge=1, le=100, description="minimum replicas per model (the autoscaler's floor)")
    max_replicas: int = Field(default=4, ge=1, le=500, description="the autoscaler's ceiling")
    target_cpu_utilization_percent: int = Field(default=70, ge=10, le=100)
    port: int = Field(default=8080, ge=1024, le=65535, description="the server's port (SageMaker containers: 8080)")
    health_path: str = Field(default="/ping", pattern=r"^/[\w./-]*$", description="readiness/liveness HTTP path")
    resources: ServingResourcesSettings = Field(default_factory=ServingResourcesSettings)

    @model_validator(mode="after")
    def _replicas(self) -> K8sServingSettings:
        if self.max_replicas < self.replicas:
            raise ValueError(f"maxReplicas ({self.max_replicas}) must be at least replicas ({self.replicas})")
        return self
