"""The target stack's outputs: the only place the pipelines learn names from.

Outputs come from ``pulumi stack output --json --show-secrets --stack <stack>`` or from a JSON file
with the same content (``--outputs FILE``; the sandbox writes one). Every name the pipelines use is
an output (camelCase, as the README's "Stack outputs" table lists them); a missing one is an
:class:`~mlops_blueprint.pipelines.errors.InputError` naming the output and where it was looked for.

Outputs the pipelines read:

========================== ============================================================ ==========
output                     used for                                                     by
========================== ============================================================ ==========
``region``                 every AWS client                                             all
``datasetsBucketName``     training data (versioned objects)                            train, dataset
``artifactBucketName``     model packages (``models/``), monitoring reports             register, retrain
``dataKeyArn``             SSE-KMS on every object written, endpoint config KmsKeyId     register, deploy
``trackingUri`` /          MLflow tracking (``--tracking-uri`` overrides)               all but dataset
``trackingServerUrl``
``mlflowArtifactUri``      where MLflow keeps artifacts (checked by the sandbox)        sandbox
``modelPackageGroupNames`` model -> SageMaker model package group; also the MLflow      register ...
                           registered model's name
``ecrRepositoryUrls``      ``inference`` repository of the serving image                register
``endpointNames``          model -> SageMaker endpoint the stack declares (Pulumi owns   deploy ...
                           it: promote/rollback change only the registry, deploy
                           refuses; ``--endpoint-name`` names an endpoint outside it)
``servedModelPackages``    (optional) model -> the package a registry-backed model      promote
                           serves (``modelPackageGroup``, ``version``, ``arn``)
``servingRoleArn``         execution role of SageMaker models                           deploy
``servingSubnetIds``,      VPC config of SageMaker models                               deploy
``workloadSecurityGroupId``
``driftAlarmArns``         (optional) model -> drift alarm; checks a drift event's alarm retrain
========================== ============================================================ ==========
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_blueprint.pipelines.errors import InputError

PULUMI_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class StackOutputs:
    """A stack's outputs and where they came from (for error messages)."""

    values: Mapping[str, Any]
    stack: str
    source: str
    overrides: Mapping[str, Any] = field(default_factory=dict)

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None

    def get(self, name: str, default: Any = None) -> Any:
        value = self.overrides.get(name, self.values.get(name))
        return default if value is None else value

    def require(self, name: str, purpose: str = "") -> Any:
        value = self.get(name)
        if value is None or value == "" or value == [] or value == {}:
            known = ", ".join(sorted(k for k, v in self.values.items() if v is not None)) or "none"
            why = f" (needed for {purpose})" if purpose else ""
            raise InputError(
                f"stack output '{name}' is missing from stack '{self.stack}' ({self.source}){why}. "
                f"Outputs present: {known}. Deploy the component that exports it, or pass an outputs file "
                f"with --outputs.")
        return value

    def per_model(self, name: str, model: str, purpose: str = "") -> str:
        """The entry for ``model`` in a per-model output: a map (model -> value), or a list of names
        in which exactly one is ``model`` or ends with ``-<model>``."""
        value = self.require(name, purpose)
        if isinstance(value, Mapping):
            if model in value and value[model]:
                return str(value[model])
            raise InputError(f"stack output '{name}' of stack '{self.stack}' ({self.source}) has no entry for "
                             f"model '{model}' (models: {', '.join(sorted(value)) or 'none'})")
        if isinstance(value, (list, tuple)):
            matches = [str(v) for v in value if v == model or str(v).endswith(f"-{model}")]
            if len(matches) == 1:
                return matches[0]
            raise InputError(f"stack output '{name}' of stack '{self.stack}' ({self.source}) has "
                             f"{'no' if not matches else 'more than one'} entry for model '{model}' "
                             f"(entries: {', '.join(map(str, value)) or 'none'})")
        if isinstance(value, str) and value:
            return value
        raise InputError(f"stack output '{name}' of stack '{self.stack}' ({self.source}) is neither a map "
                         f"nor a list: {value!r}")

    def as_dict(self) -> dict[str, Any]:
        return {**self.values, **self.overrides}


def outputs_from_file(path: str | Path, stack: str = "dev") -> StackOutputs:
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"outputs file {path} does not exist (write it with `pulumi stack output --json "
                         f"--show-secrets --stack {stack} > {path}`)") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"outputs file {path} is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise InputError(f"outputs file {path}: expected a JSON object of stack outputs, got {type(document).__name__}")
    return StackOutputs(values=document, stack=stack, source=f"outputs file {path}")


def outputs_from_pulumi(stack: str, cwd: str | Path | None = None) -> StackOutputs:
    """``pulumi stack output --json --show-secrets --stack <stack>`` (run in ``cwd``)."""
    executable = shutil.which("pulumi")
    if executable is None:
        raise InputError(f"cannot read the outputs of stack '{stack}': the pulumi CLI is not on PATH. "
                         f"Install it, or pass the outputs as a file with --outputs FILE.")
    command = [executable, "stack", "output", "--json", "--show-secrets", "--stack", stack]
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=PULUMI_TIMEOUT_SECONDS,
                              check=False)
    except subprocess.TimeoutExpired:
        raise InputError(f"`{' '.join(command[1:])}` did not answer within {PULUMI_TIMEOUT_SECONDS} s") from None
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise InputError(f"cannot read the outputs of stack '{stack}': `pulumi {' '.join(command[1:])}` exited "
                         f"{done.returncode}: {detail[-1] if detail else 'no output'}")
    try:
        document = json.loads(done.stdout or "{}")
    except json.JSONDecodeError as exc:
        raise InputError(f"`pulumi stack output --json` for stack '{stack}' printed invalid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise InputError(f"`pulumi stack output --json` for stack '{stack}' printed {type(document).__name__}, not an object")
    return StackOutputs(values=document, stack=stack, source="pulumi stack output --json")


def load_outputs(stack: str, outputs_file: str | Path | None = None) -> StackOutputs:
    return outputs_from_file(outputs_file, stack) if outputs_file else outputs_from_pulumi(stack)
