"""Building blocks of the config model, shared by every config section module.

Sections live in their own modules (``config.py`` for the baseline, the components'
``*_settings.py``, ...) and all derive from :class:`Section`, so every stack-file key is
camelCase, unknown keys are rejected, and errors are reported the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, create_model, field_validator, model_validator
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

# CloudWatch PutMetricAlarm: Period x EvaluationPeriods may not exceed one day.
MAX_ALARM_EVALUATION_SECONDS = 86400


def alarm_window_problem(period_seconds: int, evaluation_periods: int) -> str | None:
    """What PutMetricAlarm refuses about an alarm's evaluation window (None when it accepts it)."""
    window = period_seconds * evaluation_periods
    if window > MAX_ALARM_EVALUATION_SECONDS:
        return (f"periodSeconds x evaluationPeriods is {window} s; CloudWatch evaluates at most one day "
                f"({MAX_ALARM_EVALUATION_SECONDS} s)")
    return None


def checked(problem_of: Callable[[Any], str | None]) -> AfterValidator:
    """A field validator from a function that returns a problem line (or None when valid), so one
    definition of what is valid serves config fields and component checks alike."""

    def validate(value: Any) -> Any:
        problem = problem_of(value)
        if problem:
            raise ValueError(problem)
        return value

    return AfterValidator(validate)


def alarm_period_problem(value: int) -> str | None:
    """What PutMetricAlarm refuses about a period (None when it accepts it)."""
    if value not in (10, 30) and (value < 60 or value % 60):
        return f"{value!r} is not a CloudWatch alarm period; expected 10, 30 or a multiple of 60"
    return None


AlarmPeriod = Annotated[int, checked(alarm_period_problem)]


class AlarmWindow(Section):
    """A section of alarm settings: subclasses declare ``period_seconds`` (an :data:`AlarmPeriod`) and
    ``evaluation_periods``; their product must fit in CloudWatch's one-day evaluation window."""

    @model_validator(mode="after")
    def _window(self) -> AlarmWindow:
        problem = alarm_window_problem(self.period_seconds, self.evaluation_periods)  # type: ignore[attr-defined]
        if problem:
            raise ValueError(problem)
        return self


# Kubernetes resource quantities.
_CPU = re.compile(r"(?P<number>\d+(\.\d+)?)(?P<unit>m?)")
_MEMORY = re.compile(r"(?P<number>\d+(\.\d+)?)(?P<unit>Ki|Mi|Gi|Ti|k|M|G|T)?")
_MEMORY_UNITS = {None: 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
                 "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def cpu_millis(value: str) -> float:
    match = _CPU.fullmatch(value) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"{value!r} is not a CPU quantity; expected e.g. 250m, 1 or 1.5")
    number = float(match.group("number"))
    return number if match.group("unit") == "m" else number * 1000


def memory_bytes(value: str) -> float:
    match = _MEMORY.fullmatch(value) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"{value!r} is not a memory quantity; expected e.g. 512Mi, 1Gi or 1G")
    return float(match.group("number")) * _MEMORY_UNITS[match.group("unit")]


class ContainerResources(Section):
    """Requests and limits of one container (Kubernetes quantities); each section sets its defaults."""

    cpu_request: str = "250m"
    memory_request: str = "512Mi"
    cpu_limit: str = "1"
    memory_limit: str = "1Gi"

    @field_validator("cpu_request", "cpu_limit")
    @classmethod
    def _cpu(cls, value: str) -> str:
        cpu_millis(value)
        return value

    @field_validator("memory_request", "memory_limit")
    @classmethod
    def _memory(cls, value: str) -> str:
        memory_bytes(value)
        return value

    @model_validator(mode="after")
    def _requests_within_limits(self) -> ContainerResources:
        if cpu_millis(self.cpu_request) > cpu_millis(self.cpu_limit):
            raise ValueError(f"cpuRequest {self.cpu_request} exceeds cpuLimit {self.cpu_limit}")
        if memory_bytes(self.memory_request) > memory_bytes(self.memory_limit):
            raise ValueError(f"memoryRequest {self.memory_request} exceeds memoryLimit {self.memory_limit}")
        return self


def container_resources(name: str, doc: str, *, module: str, cpu_request: str, memory_request: str,
                        cpu_limit: str, memory_limit: str) -> type[ContainerResources]:
    """A :class:`ContainerResources` section with its own defaults: a stack file that sets one key
    keeps the section's other defaults (a default factory would fall back to the base class's)."""
    defaults = {"cpu_request": cpu_request, "memory_request": memory_request, "cpu_limit": cpu_limit,
                "memory_limit": memory_limit}
    # ``module`` is where the caller binds the class under ``name``, so pickle finds it (plans are cached
    # across test workers as pickles, and settings are part of them).
    return create_model(name, __base__=ContainerResources, __doc__=doc, __module__=module,
                        **{key: (str, value) for key, value in defaults.items()})  # type: ignore[call-overload]
