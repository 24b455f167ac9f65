"""The component's arguments: the wiring (what to monitor, where things are) and the settings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi

from mlops_blueprint.components.monitoring.settings import ModelMonitoringSettings, MonitoringSettings
from mlops_blueprint.context import StackContext

COMPONENT = "monitoring"
TYPE = "mlops:monitoring:Monitoring"
ALARM_KINDS: tuple[str, ...] = ("errors", "latency", "invocations", "drift", "modelQuality")


@dataclass(frozen=True)
class MonitoredModel:
    """One served model, as the serving component produced it (plain Inputs: no import of it).
    Its monitoring settings are ``MonitoringSettings.models[name]``."""

    name: str                               # the model's name (churn)
    endpoint_name: pulumi.Input[str]        # the SageMaker endpoint
    variant_names: Sequence[str]            # its production variants (alarm dimensions)
    data_capture_s3_uri: pulumi.Input[str] | None = None  # s3://<models bucket>/data-capture/<model>; None: not captured


@dataclass(frozen=True)
class MonitoringArgs:
    """Monitoring of this stack's served models: the wiring, and ``settings`` (the ``monitoring`` section)."""

    context: StackContext
    models_bucket_name: pulumi.Input[str]   # ArtifactStore.models_bucket_name (baselines, reports)
    data_key_arn: pulumi.Input[str]         # Kms.data_key_arn (job volumes, reports)
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]  # Network.training_subnet_ids (private)
    security_group_id: pulumi.Input[str]    # Network.workload_security_group_id
    alarm_topics: Mapping[str, pulumi.Input[str]]  # alert kind -> SNS topic ARN (Alerting.routes)
    models: Sequence[MonitoredModel] = ()
    pipeline_names: Sequence[pulumi.Input[str]] = ()  # training pipelines on the dashboard
    image_uri: str | None = None            # model-monitor: default the region's Model Monitor analyzer
    permissions_boundary_arn: str | None = None
    # processing engine: the drift job's image (the training repository's URL and settings.image_tag)
    # and the key of the log group its metric filters read (when created).
    drift_image_uri: pulumi.Input[str] | None = None
    logs_key_arn: pulumi.Input[str] | None = None
    protect: bool = False
    retain_on_delete: bool = False
    settings: MonitoringSettings = field(default_factory=MonitoringSettings)

    def model_settings(self, model: MonitoredModel) -> ModelMonitoringSettings:
        return self.settings.for_model(model.name)

    def scheduled(self, model: MonitoredModel) -> bool:
        """Whether drift runs for ``model``: only over captured traffic, when its monitoring is on."""
        return self.model_settings(model).enabled and model.data_capture_s3_uri is not None
