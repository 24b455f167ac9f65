"""Building blocks of the config model, shared by every config section module.

Sections live in their own modules (``config.py`` for the baseline, ``tracking_config.py``,
``serving_config.py``, ...) and all derive from :class:`Section`, so every stack-file key is
camelCase, unknown keys are rejected, and errors are reported the same way.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)


class Section(BaseModel):
    """Config sections: camelCase keys as in the stack file, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)


def _retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        allowed = ", ".join(map(str, LOG_RETENTION_DAYS))
        raise ValueError(f"CloudWatch Logs retention must be one of {allowed}")
    return value


RetentionDays = Annotated[int, AfterValidator(_retention)]
