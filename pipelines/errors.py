"""Errors of the pipeline steps, each with the CLI exit code it maps to.

* :class:`InputError` (exit 2): bad input, detected before anything changes — a missing stack
  output, an unreachable tracking URI, an unreadable drift report, an unknown model version.
* :class:`GateFailed` (exit 1): the model did not pass its metric gate; nothing was deployed.
* :class:`PipelineError` (exit 1): a step failed after it started; what it had created is undone.
"""

from __future__ import annotations

from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_INPUT = 0, 1, 2
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143


class PipelineError(Exception):
    """A step failed; ``exit_code`` is what the CLI returns."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, *, result: Any = None) -> None:
        super().__init__(message)
        self.result = result


class InputError(PipelineError):
    """Bad input (stack outputs, tracking URI, files, arguments): nothing was changed."""

    exit_code = EXIT_INPUT


class GateFailed(PipelineError):
    """A model did not pass its metric gate: it was not deployed, the endpoint is unchanged."""

    exit_code = EXIT_FAILED


class Terminated(BaseException):
    """SIGTERM/SIGHUP arrived; like KeyboardInterrupt, it unwinds through every ``finally``."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"terminated by signal {signum}")
        self.signum = signum
