"""The Pulumi program: read and validate the stack's config, build the platform, export outputs.

``infra/__main__.py`` calls :func:`main` under ``pulumi up``; the offline preview runs that same
``__main__`` under the mock runtime. Config is validated before the first resource is created, so
a bad stack file fails with every problem listed and nothing half-made.

Errors reach the user as messages, not tracebacks: the Python language host logs a
``pulumi.RunError``'s text and fails the update (any other exception is logged with its Python
traceback). Config errors are RunErrors already; a component refusing its arguments (a
``ValueError``, the components' convention) is re-raised as a
:class:`~mlops_blueprint.config.BuildError`. Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import pulumi

from mlops_blueprint.config import BuildError, load_config
from mlops_blueprint.stacks import build


def main() -> None:
    config = load_config()
    try:
        outputs = build(config)
    except pulumi.RunError:
        raise
    except ValueError as exc:
        raise BuildError([str(exc) or type(exc).__name__]) from None
    for name in sorted(outputs):
        pulumi.export(name, outputs[name])
