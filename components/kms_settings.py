"""What a user sets for the platform's keys: the ``kms`` section of the stack config."""

from __future__ import annotations

from pydantic import Field

from mlops_blueprint.config_base import Section


class KmsSettings(Section):
    """Customer-managed keys."""

    deletion_window_days: int = Field(default=30, ge=7, le=30, description="days a deleted key can be recovered (7 to 30)")
