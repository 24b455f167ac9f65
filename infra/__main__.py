"""Entry point for ``pulumi up`` / ``pulumi preview`` (Pulumi.yaml: ``main: infra/``).

The package must be installed in the stack's virtualenv (``requirements.txt`` holds ``-e .``).
"""

from mlops_blueprint.program import main

main()
