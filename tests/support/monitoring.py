"""Building the Monitoring component in tests: served models (the wiring) with their monitoring
settings, and the wiring a stack passes, so each test names only what it is about."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlops_blueprint.components.monitoring import MonitoredModel, MonitoringArgs, MonitoringSettings
from mlops_blueprint.context import StackContext
from mlops_blueprint.mock_runtime import MOCK_ACCOUNT_ID
from support.components import split_settings

ACCOUNT = MOCK_ACCOUNT_ID
SUBNETS = ["subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"]
SECURITY_GROUP = "sg-0123456789abcdef0"
DATA_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/data-key"


def models_bucket(environment: str) -> str:
    return f"mlops-platform-{environment}-models-{ACCOUNT}-us-east-1"


def capture_uri(environment: str, model: str) -> str:
    return f"s3://{models_bucket(environment)}/data-capture/{model}"


@dataclass(frozen=True)
class Served:
    """A served model and its ``monitoring.models.<name>`` settings (field names or stack-file keys)."""

    model: MonitoredModel
    settings: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def variant_names(self) -> Sequence[str]:
        return self.model.variant_names


def served(environment: str, name: str, variants: Sequence[str], *, captured: bool = True,
           data_capture_s3_uri: str | None = None, **settings: Any) -> Served:
    """Model ``name`` behind endpoint ``mlops-platform-<env>-<name>``, capturing into the models
    bucket unless ``captured`` is false (or another ``data_capture_s3_uri`` is given)."""
    capture = data_capture_s3_uri or (capture_uri(environment, name) if captured else None)
    model = MonitoredModel(name=name, endpoint_name=f"mlops-platform-{environment}-{name}", variant_names=variants,
                           data_capture_s3_uri=capture)
    return Served(model, settings)


def monitoring_args(ctx: StackContext, models: Sequence[Served], **values: Any) -> MonitoringArgs:
    """``MonitoringArgs`` with the stack's usual wiring for ``ctx``: ``values`` that name a
    ``MonitoringSettings`` field are settings (with each model's under ``models``), the rest wiring."""
    settings, wiring = split_settings(MonitoringSettings, {
        "models": {m.name: dict(m.settings) for m in models if m.settings},
        "models_bucket_name": models_bucket(ctx.environment), "data_key_arn": DATA_KEY, "subnet_ids": SUBNETS,
        "security_group_id": SECURITY_GROUP, **values})
    return MonitoringArgs(context=ctx, models=[m.model for m in models], settings=settings, **wiring)
