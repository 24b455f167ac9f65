"""What the sandbox knows of the stack: the dev stack's offline previews, read through the outputs schema.

Two previews, no names computed here:

* the **dev stack as shipped** gives the sandbox its outputs (buckets, roles, key, subnets, ECR
  repositories, MLflow's artifact URI, ...);
* the **dev stack declaring the model** from the registry (its package group a model family, its
  requests captured and drift watched on the dataset's features) gives the model's entries, which
  the shipped stack has none of: :data:`PER_MODEL` (its model package group, drift alarm and drift
  schedule). Offline, the registry answers with the preview's placeholder package.

Against moto, the registry answers with the real packages: :func:`preview_registry_stack` is what
``pulumi up`` of a stack serving the model from the registry would apply after an approval.

The sandbox's endpoint stays its own (:func:`sandbox_endpoint_name`): not one the stack declares.

With ``--llm``, a third preview, the **dev stack declaring an open LLM** (:data:`LLM_MODEL`, a
``models[].llm`` entry), gives the container's environment and weights prefix
(:func:`preview_llm`): what the sandbox stages and serves locally.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_blueprint.naming import NameKind, Naming
from mlops_blueprint.outputs import SCHEMA, Out, lookup
from mlops_blueprint.pipelines.errors import PipelineError

SANDBOX_STACK = "dev"
# The model's entries, taken from the preview of the stack that declares it.
PER_MODEL: tuple[str, ...] = (Out.MODEL_PACKAGE_GROUP_NAMES, Out.DRIFT_ALARM_ARNS, Out.DRIFT_SCHEDULE_NAMES)
# The open LLM the sandbox declares with --llm: TGI on one GPU, its weights under llm/<name>/ in the models bucket.
LLM_MODEL = "tiny-llm"
LLM_INSTANCE_TYPE = "ml.g5.xlarge"


def model_stack_file(workdir: Path, model: str, *, monitored: bool = False) -> Path:
    """The dev stack file with ``model`` served from the registry (written once into ``workdir``).

    ``monitored``: its endpoint also captures every request and its drift is watched on the dataset's
    features, so that the stack names the model's drift alarm and schedule (dev's serverless
    endpoints capture nothing)."""
    import yaml

    from mlops_blueprint.pipelines.data import FEATURES
    from mlops_blueprint.preview import stack_file

    path = workdir / f"Pulumi.{SANDBOX_STACK}.{'monitored' if monitored else 'registry'}.yaml"
    if path.exists():
        return path
    document = yaml.safe_load(stack_file(SANDBOX_STACK).read_text(encoding="utf-8"))
    config = document["config"]
    tracking = dict(config.get("mlops-platform:tracking") or {})
    families = list(tracking.get("modelFamilies", ["models"]))
    tracking["modelFamilies"] = families + ([model] if model not in families else [])
    config["mlops-platform:tracking"] = tracking
    config["mlops-platform:models"] = [{"name": model, "modelPackageGroup": model}]
    if monitored:
        config["mlops-platform:serving"] = {**(config.get("mlops-platform:serving") or {}),
                                            "serverless": False, "dataCapturePercent": 100}
        monitoring = dict(config.get("mlops-platform:monitoring") or {})
        monitoring["models"] = {**(monitoring.get("models") or {}), model: {"driftFeatures": list(FEATURES)}}
        config["mlops-platform:monitoring"] = monitoring
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def preview_stack(workdir: Path, model: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    """The shipped dev stack's outputs, the outputs of the dev stack declaring ``model`` (placeholder
    package), and the project."""
    from mlops_blueprint.preview import run_preview

    shipped = run_preview(SANDBOX_STACK).plan
    declaring = run_preview(SANDBOX_STACK, model_stack_file(workdir, model, monitored=True)).plan
    return dict(shipped["outputs"]), dict(declaring["outputs"]), str(shipped["project"])


@dataclass(frozen=True)
class LlmContainer:
    """An llm model's container as the stack creates it (its SageMaker model in the plan)."""

    model: str
    image: str
    environment: dict[str, str]
    weights_s3_uri: str


def llm_stack_file(workdir: Path, models_bucket: str) -> Path:
    """The dev stack file declaring :data:`LLM_MODEL`, weights under ``llm/<model>/`` of ``models_bucket``."""
    import yaml

    from mlops_blueprint.preview import stack_file

    path = workdir / f"Pulumi.{SANDBOX_STACK}.llm.yaml"
    document = yaml.safe_load(stack_file(SANDBOX_STACK).read_text(encoding="utf-8"))
    document["config"]["mlops-platform:models"] = [{
        "name": LLM_MODEL, "llm": {"container": "tgi", "weightsS3Uri": f"s3://{models_bucket}/llm/{LLM_MODEL}/",
                                   "sizeBillions": 1},
        "variants": [{"instanceType": LLM_INSTANCE_TYPE}]}]
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def preview_llm(workdir: Path, models_bucket: str) -> LlmContainer:
    """The container the dev stack declaring :data:`LLM_MODEL` gives it: image, environment and the
    weights prefix, read from the preview's SageMaker model (the stack is the source of truth)."""
    from mlops_blueprint.preview import run_preview

    plan = run_preview(SANDBOX_STACK, llm_stack_file(workdir, models_bucket)).plan
    models = [r for r in plan["resources"]
              if r["type"] == "aws:sagemaker/model:Model" and r["name"].startswith(f"serving-{LLM_MODEL}-")]
    if len(models) != 1:
        raise PipelineError(f"the dev stack declaring the llm model '{LLM_MODEL}' has {len(models)} SageMaker "
                            "models for it; expected one")
    container = models[0]["inputs"]["primaryContainer"]
    [source] = container["modelDataSource"]["s3DataSources"]
    return LlmContainer(LLM_MODEL, str(container["image"]), dict(container.get("environment") or {}),
                        str(source["s3Uri"]))


def preview_registry_stack(workdir: Path, model: str, registry_url: str) -> dict[str, Any]:
    """The plan of the dev stack serving ``model`` from the registry at ``registry_url`` (moto): what
    ``pulumi up`` would apply now."""
    from mlops_blueprint.model_registry import RegistrySource
    from mlops_blueprint.preview import run_preview

    return run_preview(SANDBOX_STACK, model_stack_file(workdir, model),
                       registry=RegistrySource("endpoint", registry_url)).plan


def sandbox_outputs(shipped: dict[str, Any], declaring: dict[str, Any], model: str,
                    tracking_url: str) -> dict[str, Any]:
    """The shipped stack's outputs, plus ``model``'s entries of :data:`PER_MODEL` from the stack that
    declares it, with the local server as the tracking server."""
    outputs = dict(shipped)
    for name in PER_MODEL:
        entries = lookup(declaring, name)
        if not isinstance(entries, dict) or not entries.get(model):
            raise PipelineError(f"the dev stack declaring model '{model}' has no entry for it in stack output "
                                f"'{name}' ({SCHEMA[name].meaning}): cannot name the sandbox's {name}")
        outputs[name] = {**(outputs.get(name) or {}), model: entries[model]}
    # The local server is the tracking server (the plan's would be a mock URL or ARN).
    outputs[Out.TRACKING_URI] = outputs[Out.TRACKING_SERVER_URL] = tracking_url
    return outputs


def sandbox_endpoint_name(outputs: dict[str, Any], project: str, model: str) -> str:
    """The sandbox's own endpoint: not one the stack declares (``endpointNames``), so Pulumi never owns it."""
    naming = Naming(project=project, environment=str(outputs.get(Out.ENVIRONMENT, SANDBOX_STACK)),
                    account_id=str(outputs[Out.ACCOUNT_ID]), region=str(outputs[Out.REGION]))
    return naming.name(model, "sandbox", kind=NameKind.SAGEMAKER)


def served_version(plan: dict[str, Any], model: str) -> Any:
    """The package version a plan's registry-backed ``model`` serves."""
    return (plan.get("outputs", {}).get(Out.SERVED_MODEL_PACKAGES) or {}).get(model, {}).get("version")
