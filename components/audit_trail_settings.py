"""What a user sets for the audit trail: the ``audit`` section of the stack config."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from mlops_blueprint.config_base import RetentionDays, Section, checked
from mlops_blueprint.validation import trail_arn_problem

TrailChoice = Literal["create", "existing", "none"]
TRAIL_CHOICES: tuple[TrailChoice, ...] = ("create", "existing", "none")
TrailArn = Annotated[str, checked(trail_arn_problem)]


class AuditTrailSettings(Section):
    """CloudTrail and its log bucket."""

    object_lock: bool = Field(default=False, description="WORM-protect trail logs (S3 Object Lock, governance mode)")
    object_lock_days: int = Field(default=365, ge=1, le=36500)
    log_retention_days: RetentionDays = 90
    data_events: bool = Field(default=True, description="record S3 object-level events on the artifact buckets")
    trail: TrailChoice = Field(
        default="create", description="create a multi-region trail, use an existing (organisation) trail, or none")
    existing_trail_arn: TrailArn | None = Field(
        default=None, description="the trail that records this account (with trail: existing, or none in prod)")

    @model_validator(mode="after")
    def _trail_choice(self) -> AuditTrailSettings:
        if self.trail == "existing" and self.existing_trail_arn is None:
            raise ValueError("audit.trail is 'existing': set audit.existingTrailArn to that trail's ARN")
        if self.trail == "create" and self.existing_trail_arn is not None:
            raise ValueError("audit.existingTrailArn is set but audit.trail is 'create'; "
                             "use trail: existing to rely on that trail instead of creating one")
        return self
