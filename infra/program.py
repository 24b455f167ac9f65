"""The Pulumi program: read and validate the stack's config, build the platform, export outputs.

``infra/__main__.py`` calls :func:`main` under ``pulumi up``; the offline preview runs that same
``__main__`` under the mock runtime. Config is validated before the first resource is created, so
a bad stack file fails with every problem listed and nothing half-made.
"""

from __future__ import annotations

import pulumi

from mlops_blueprint.config import load_config
from mlops_blueprint.stacks import build


def main() -> None:
    config = load_config()
    outputs = build(config)
    for name in sorted(outputs):
        pulumi.export(name, outputs[name])
