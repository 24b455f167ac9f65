"""What a user sets for the artifact store: the ``artifacts`` section of the stack config."""

from __future__ import annotations

from pydantic import Field, model_validator

from mlops_blueprint.components.bucket_lifecycle import Lifecycle, lifecycle_problems
from mlops_blueprint.config_base import Section


class ArtifactStoreSettings(Section):
    """S3 buckets for datasets, models and access logs."""

    noncurrent_days_to_ia: int = Field(default=30, ge=30, description="days before noncurrent versions move to STANDARD_IA (S3 needs >= 30)")
    noncurrent_days_to_glacier: int = Field(default=90, ge=31)
    noncurrent_expiration_days: int = Field(default=365, ge=32)
    abort_incomplete_upload_days: int = Field(default=7, ge=1, le=30)
    access_log_expiration_days: int = Field(default=365, ge=1)
    force_destroy: bool = Field(default=False, description="allow deleting non-empty buckets (never in prod)")

    def lifecycle(self, *, current_expiration_days: int | None = None) -> Lifecycle:
        """The buckets' lifecycle; the log bucket also expires current objects."""
        return Lifecycle(self.noncurrent_days_to_ia, self.noncurrent_days_to_glacier, self.noncurrent_expiration_days,
                         self.abort_incomplete_upload_days, current_expiration_days)

    @model_validator(mode="after")
    def _lifecycle(self) -> ArtifactStoreSettings:
        # SecureBucket's own check, so settings and buckets never disagree on what S3 accepts.
        names = {name: field.alias or name for name, field in type(self).model_fields.items()}
        names["current_expiration_days"] = names["access_log_expiration_days"]
        problems = lifecycle_problems(self.lifecycle(current_expiration_days=self.access_log_expiration_days),
                                      names=names)
        if problems:
            raise ValueError("; ".join(problems))
        return self
