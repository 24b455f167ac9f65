"""The target stack's outputs: the only place the pipelines learn names from.

Outputs come from ``pulumi stack output --json --show-secrets --stack <stack>`` or from a JSON file
with the same content (``--outputs FILE``; the sandbox writes one). Every name the pipelines use is
an output (camelCase, as the README's "Stack outputs" table lists them); a missing one is an
:class:`~mlops_blueprint.pipelines.errors.InputError` naming the output and where it was looked for.

The names are :class:`mlops_blueprint.outputs.Out` (the stack-outputs schema, which the README's
table is generated from); :data:`PIPELINE_READS` says which ones the pipelines read and what for.
A stack of the previous release exports the models bucket only under its deprecated name
``artifactBucketName``: asking for ``modelsBucketName`` finds it there too.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_blueprint.outputs import Out, lookup
from mlops_blueprint.pipelines.errors import InputError

PULUMI_TIMEOUT_SECONDS = 120

# output -> what the pipelines use it for (the steps check the ones they need before acting)
PIPELINE_READS: dict[str, str] = {
    Out.REGION: "every AWS client",
    Out.DATASETS_BUCKET_NAME: "training data (versioned objects)",
    Out.MODELS_BUCKET_NAME: "model packages (models/), data capture, monitoring reports, drift baselines",
    Out.DATA_KEY_ARN: "SSE-KMS on every object written; the endpoint configuration's KmsKeyId",
    Out.TRACKING_URI: "MLflow tracking (--tracking-uri overrides)",
    Out.TRACKING_SERVER_URL: "MLflow tracking when trackingUri is absent",
    Out.MLFLOW_ARTIFACT_URI: "where MLflow keeps artifacts (checked by the sandbox)",
    Out.MODEL_PACKAGE_GROUP_NAMES: "model -> SageMaker model package group; also the MLflow registered model",
    Out.ECR_REPOSITORY_URLS: "the inference repository of the serving image",
    Out.ENDPOINT_NAMES: "model -> the endpoint the stack declares (Pulumi owns it: deploy refuses it)",
    Out.SERVED_MODEL_PACKAGES: "(optional) model -> the package a registry-backed model serves",
    Out.SERVING_ROLE_ARN: "execution role of SageMaker models",
    Out.SERVING_SUBNET_IDS: "VPC config of SageMaker models",
    Out.WORKLOAD_SECURITY_GROUP_ID: "VPC config of SageMaker models",
    Out.DRIFT_ALARM_ARNS: "(optional) model -> drift alarm; checks a drift event's alarm",
    Out.DRIFT_SCHEDULE_NAMES: "model -> the drift metrics' MonitoringSchedule dimension",
    Out.ENVIRONMENT: "what cleanup may remove",
}


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
        value = self.overrides[name] if name in self.overrides else lookup(self.values, name)
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
