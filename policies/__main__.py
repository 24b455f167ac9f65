"""The policy pack the Pulumi CLI runs: ``pulumi preview --policy-pack policies/``.

The CLI executes this directory (``python policies/``); constructing the PolicyPack starts the
analyzer's gRPC server and blocks, hence the ``__main__`` guard. The rules and their adapters live
in the installed package (``requirements.txt`` holds ``-e ..``), shared with the offline checks.

Configure the IAM permissions boundary with ``--policy-pack-config``:
``{"iam-role-permissions-boundary": {"permissionsBoundaryArn": "arn:aws:iam::123456789012:policy/b"}}``.
"""

from pulumi_policy import EnforcementLevel, PolicyPack

from mlops_blueprint.policies.pack_adapter import PACK_NAME, build_policies

if __name__ == "__main__":
    PolicyPack(
        name=PACK_NAME,
        policies=build_policies(),
        enforcement_level=EnforcementLevel.MANDATORY,
        description="Guardrails of the mlops-blueprint platform: encryption, isolation, IAM, tags, protection.",
    )
