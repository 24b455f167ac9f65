"""The training pipeline's SageMaker Pipelines definition, built as plain Python data.

Steps: ``Preprocess`` (processing job) → ``Train`` (training job) → ``Evaluate`` (processing job
writing ``evaluation.json``) → ``QualityGate`` (condition on the evaluation metric) → either
``Register`` (a model package in the model package group) or ``QualityGateFailed`` (fail step).

Each step's ``Arguments`` is the API request SageMaker Pipelines sends (``CreateProcessingJob``,
``CreateTrainingJob``, ``CreateModelPackage``) minus the job name, which the service generates;
values known only at run time are pipeline expressions (``{"Get": ...}``, ``{"Std:Join": ...}``,
``{"Std:JsonGet": ...}``). The definition uses schema version ``2020-12-01``.

Run parameters: ``TrainingImageTag`` and ``InferenceImageTag`` (required: repositories have
immutable tags, so every run names its images), ``InputDataUrl`` (default
``s3://<datasets>/training/``), ``QualityThreshold``, ``ModelApprovalStatus`` and
``ModelPackageGroupName`` (default: the stack's group; another group of this stack, e.g. one per
model family, is allowed by the pipelines role).

Everything here is pure: :func:`build_definition` takes resolved strings (the component calls it
inside ``Output.all(...).apply``) and :func:`definition_problems` checks the references of a
definition, so tests need no AWS.

Container conventions (the training image provides them): ``/opt/ml/code/preprocess.py`` and
``/opt/ml/code/evaluate.py`` run under ``python3`` in processing jobs; the image's ``train``
entry point is SageMaker's training contract. ``evaluate.py`` writes
``/opt/ml/processing/evaluation/evaluation.json`` as ``{"metrics": {"<metric>": {"value": <number>}}}``
(SageMaker's model quality report format).

MLflow: with ``mlflow_tracking_arn`` (the stack's SageMaker MLflow app or tracking server), the
``Train`` and ``Evaluate`` steps get ``MLFLOW_TRACKING_URI`` = that ARN (the image has the
``sagemaker-mlflow`` plugin, which signs calls with the job's role) and ``MLFLOW_EXPERIMENT_NAME``
= the run's model package group (one experiment per model family). Those two steps must reach
MLflow through the VPC endpoint, so they run without container network isolation; every other
job keeps ``training.network_isolation``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlops_blueprint.components.training_compute_settings import TrainingComputeSettings
from mlops_blueprint.sagemaker_values import has_local_storage

SCHEMA_VERSION = "2020-12-01"

PREPROCESS, TRAIN, EVALUATE, QUALITY_GATE, REGISTER, FAIL = (
    "Preprocess", "Train", "Evaluate", "QualityGate", "Register", "QualityGateFailed")
EVALUATION_REPORT = "EvaluationReport"
EVALUATION_FILE = "evaluation.json"
PROCESSING_ROOT = "/opt/ml/processing"

# Pipeline parameters: what a run may change without a deployment.
P_INPUT_DATA = "InputDataUrl"
P_TRAINING_IMAGE_TAG = "TrainingImageTag"
P_INFERENCE_IMAGE_TAG = "InferenceImageTag"
P_THRESHOLD = "QualityThreshold"
P_APPROVAL = "ModelApprovalStatus"
P_GROUP = "ModelPackageGroupName"   # default: the stack's group; a run may register into another of its groups

# Steps that log to MLflow (and so run without container network isolation when tracking is on).
MLFLOW_STEPS = (TRAIN, EVALUATE)
ENV_TRACKING_URI = "MLFLOW_TRACKING_URI"
ENV_EXPERIMENT = "MLFLOW_EXPERIMENT_NAME"

# Instance types model packages declare for deployment (the serving defaults of every environment).
INFERENCE_INSTANCE_TYPES = ("ml.t2.medium", "ml.m5.large", "ml.m5.xlarge", "ml.m5.2xlarge")
CONTENT_TYPES = ("text/csv", "application/json")


@dataclass(frozen=True)
class PipelineSpec:
    """What the definition references: this stack's role, buckets, key, network, images and group."""

    pipeline_name: str
    training_role_arn: str                # jobs run with the training role
    datasets_bucket: str
    models_bucket: str
    kms_key_arn: str                      # volumes and outputs
    training_repository_url: str          # <registry>/<repository>, the tag is a run parameter
    inference_repository_url: str
    model_package_group_name: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    training: TrainingComputeSettings = field(default_factory=TrainingComputeSettings)
    tags: Mapping[str, str] = field(default_factory=dict)   # Tagging.full: jobs are not provider-tagged
    mlflow_tracking_arn: str | None = None  # the stack's MLflow app/server: Train and Evaluate log to it
    preprocess_entrypoint: tuple[str, ...] = ("python3", "/opt/ml/code/preprocess.py")
    evaluate_entrypoint: tuple[str, ...] = ("python3", "/opt/ml/code/evaluate.py")

    @property
    def artifacts_prefix(self) -> str:
        return f"s3://{self.models_bucket}/pipelines/{self.pipeline_name}"


def get(path: str) -> dict[str, str]:
    """A run-time reference: ``Parameters.X``, ``Steps.X....``, ``Execution.PipelineExecutionId``."""
    return {"Get": path}


def join(on: str, *values: Any) -> dict[str, Any]:
    return {"Std:Join": {"On": on, "Values": list(values)}}


def _execution_uri(spec: PipelineSpec, *parts: str) -> dict[str, Any]:
    """``s3://<models>/pipelines/<pipeline>/<execution id>/<parts>``: every run writes apart."""
    return join("/", spec.artifacts_prefix, get("Execution.PipelineExecutionId"), *parts)


def _output_uri(step: str, output: str) -> dict[str, str]:
    return get(f"Steps.{step}.ProcessingOutputConfig.Outputs['{output}'].S3Output.S3Uri")


def _image(repository_url: str, tag_parameter: str) -> dict[str, Any]:
    return join(":", repository_url, get(f"Parameters.{tag_parameter}"))


def _tags(spec: PipelineSpec) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(spec.tags.items())]


def _vpc(spec: PipelineSpec) -> dict[str, list[str]]:
    return {"SecurityGroupIds": list(spec.security_group_ids), "Subnets": list(spec.subnet_ids)}


def _volume_key(spec: PipelineSpec, instance_type: str) -> dict[str, str]:
    """Instance-store types encrypt their volumes in hardware and reject a VolumeKmsKeyId."""
    return {} if has_local_storage(instance_type) else {"VolumeKmsKeyId": spec.kms_key_arn}


def _tracks(spec: PipelineSpec, step: str) -> bool:
    return spec.mlflow_tracking_arn is not None and step in MLFLOW_STEPS


def _network_isolation(spec: PipelineSpec, step: str) -> bool:
    """Isolated as configured, except the steps that must reach MLflow."""
    return spec.training.network_isolation and not _tracks(spec, step)


def _mlflow_environment(spec: PipelineSpec, step: str) -> dict[str, dict[str, Any]]:
    """``{"Environment": ...}`` for the steps that log to MLflow; one experiment per model family
    (the run's model package group)."""
    if not _tracks(spec, step):
        return {}
    return {"Environment": {ENV_TRACKING_URI: spec.mlflow_tracking_arn, ENV_EXPERIMENT: get(f"Parameters.{P_GROUP}")}}


def _processing_input(name: str, source: Any, local: str) -> dict[str, Any]:
    return {"InputName": name, "AppManaged": False,
            "S3Input": {"S3Uri": source, "LocalPath": local, "S3DataType": "S3Prefix", "S3InputMode": "File",
                        "S3DataDistributionType": "FullyReplicated", "S3CompressionType": "None"}}


def _processing_output(spec: PipelineSpec, step: str, name: str) -> dict[str, Any]:
    return {"OutputName": name, "AppManaged": False,
            "S3Output": {"S3Uri": _execution_uri(spec, step.lower(), name), "LocalPath": f"{PROCESSING_ROOT}/{name}",
                         "S3UploadMode": "EndOfJob"}}


def _processing_arguments(spec: PipelineSpec, step: str, entrypoint: Sequence[str],
                          inputs: list[dict[str, Any]], outputs: list[str]) -> dict[str, Any]:
    training = spec.training
    instance_type = training.processing_instance_type
    return {
        "ProcessingResources": {"ClusterConfig": {"InstanceType": instance_type, "InstanceCount": 1,
                                                  "VolumeSizeInGB": training.volume_size_gb,
                                                  **_volume_key(spec, instance_type)}},
        "AppSpecification": {"ImageUri": _image(spec.training_repository_url, P_TRAINING_IMAGE_TAG),
                             "ContainerEntrypoint": list(entrypoint)},
        "RoleArn": spec.training_role_arn,
        "ProcessingInputs": inputs,
        "ProcessingOutputConfig": {"Outputs": [_processing_output(spec, step, o) for o in outputs],
                                   "KmsKeyId": spec.kms_key_arn},
        "NetworkConfig": {"EnableNetworkIsolation": _network_isolation(spec, step),
                          "EnableInterContainerTrafficEncryption": training.inter_container_encryption,
                          "VpcConfig": _vpc(spec)},
        "StoppingCondition": {"MaxRuntimeInSeconds": training.max_runtime_seconds},
        **_mlflow_environment(spec, step),
        "Tags": _tags(spec),
    }


def _preprocess(spec: PipelineSpec) -> dict[str, Any]:
    inputs = [_processing_input("raw", get(f"Parameters.{P_INPUT_DATA}"), f"{PROCESSING_ROOT}/input")]
    return {"Name": PREPROCESS, "Type": "Processing",
            "Arguments": _processing_arguments(spec, PREPROCESS, spec.preprocess_entrypoint, inputs,
                                               ["train", "validation", "test"])}


def _train(spec: PipelineSpec) -> dict[str, Any]:
    training = spec.training
    stopping: dict[str, int] = {"MaxRuntimeInSeconds": training.max_runtime_seconds}
    arguments: dict[str, Any] = {
        "AlgorithmSpecification": {"TrainingImage": _image(spec.training_repository_url, P_TRAINING_IMAGE_TAG),
                                   "TrainingInputMode": "File"},
        "RoleArn": spec.training_role_arn,
        "InputDataConfig": [
            {"ChannelName": channel, "ContentType": "text/csv",
             "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": _output_uri(PREPROCESS, channel),
                                             "S3DataDistributionType": "FullyReplicated"}}}
            for channel in ("train", "validation")
        ],
        "OutputDataConfig": {"S3OutputPath": _execution_uri(spec, "model"), "KmsKeyId": spec.kms_key_arn},
        "ResourceConfig": {"InstanceType": training.instance_type, "InstanceCount": training.instance_count,
                           "VolumeSizeInGB": training.volume_size_gb, **_volume_key(spec, training.instance_type)},
        "StoppingCondition": stopping,
        "VpcConfig": _vpc(spec),
        "EnableNetworkIsolation": _network_isolation(spec, TRAIN),
        "EnableInterContainerTrafficEncryption": training.inter_container_encryption,
        "EnableManagedSpotTraining": training.spot,
        **_mlflow_environment(spec, TRAIN),
        "Tags": _tags(spec),
    }
    if training.spot:
        assert training.max_wait_seconds is not None  # TrainingComputeSettings guarantees it
        stopping["MaxWaitTimeInSeconds"] = training.max_wait_seconds
        # Spot capacity can be reclaimed: checkpoints let the job resume instead of starting over.
        arguments["CheckpointConfig"] = {"S3Uri": _execution_uri(spec, "checkpoints")}
    return {"Name": TRAIN, "Type": "Training", "Arguments": arguments}


def _evaluate(spec: PipelineSpec) -> dict[str, Any]:
    inputs = [
        _processing_input("model", get(f"Steps.{TRAIN}.ModelArtifacts.S3ModelArtifacts"), f"{PROCESSING_ROOT}/model"),
        _processing_input("test", _output_uri(PREPROCESS, "test"), f"{PROCESSING_ROOT}/test"),
    ]
    step = {"Name": EVALUATE, "Type": "Processing",
            "Arguments": _processing_arguments(spec, EVALUATE, spec.evaluate_entrypoint, inputs, ["evaluation"])}
    step["PropertyFiles"] = [{"PropertyFileName": EVALUATION_REPORT, "OutputName": "evaluation",
                              "FilePath": EVALUATION_FILE}]
    return step


def _register(spec: PipelineSpec) -> dict[str, Any]:
    return {"Name": REGISTER, "Type": "RegisterModel", "Arguments": {
        "ModelPackageGroupName": get(f"Parameters.{P_GROUP}"),
        "ModelApprovalStatus": get(f"Parameters.{P_APPROVAL}"),
        "InferenceSpecification": {
            "Containers": [{"Image": _image(spec.inference_repository_url, P_INFERENCE_IMAGE_TAG),
                            "ModelDataUrl": get(f"Steps.{TRAIN}.ModelArtifacts.S3ModelArtifacts")}],
            "SupportedContentTypes": list(CONTENT_TYPES),
            "SupportedResponseMIMETypes": list(CONTENT_TYPES),
            "SupportedRealtimeInferenceInstanceTypes": list(INFERENCE_INSTANCE_TYPES),
            "SupportedTransformInstanceTypes": list(INFERENCE_INSTANCE_TYPES[1:]),
        },
        "ModelMetrics": {"ModelQuality": {"Statistics": {
            "ContentType": "application/json",
            "S3Uri": join("/", _output_uri(EVALUATE, "evaluation"), EVALUATION_FILE),
        }}},
    }}


def _quality_gate(spec: PipelineSpec) -> dict[str, Any]:
    gate = spec.training.quality_gate
    metric = {"Std:JsonGet": {"PropertyFile": get(f"Steps.{EVALUATE}.PropertyFiles.{EVALUATION_REPORT}"),
                              "Path": f"metrics.{gate.metric}.value"}}
    comparison = "GreaterThanOrEqualTo" if gate.higher_is_better else "LessThanOrEqualTo"
    fail = {"Name": FAIL, "Type": "Fail", "Arguments": {"ErrorMessage": join(
        " ", f"{gate.metric} did not pass the quality gate", get(f"Parameters.{P_THRESHOLD}"))}}
    return {"Name": QUALITY_GATE, "Type": "Condition", "Arguments": {
        "Conditions": [{"Type": comparison, "LeftValue": metric, "RightValue": get(f"Parameters.{P_THRESHOLD}")}],
        "IfSteps": [_register(spec)],
        "ElseSteps": [fail],
    }}


def build_definition(spec: PipelineSpec) -> dict[str, Any]:
    """The pipeline definition (serialize once with ``json.dumps``)."""
    training = spec.training
    return {
        "Version": SCHEMA_VERSION,
        "Metadata": {},
        "Parameters": [
            {"Name": P_INPUT_DATA, "Type": "String", "DefaultValue": f"s3://{spec.datasets_bucket}/training/"},
            # No defaults: repositories have immutable tags, so every run names the images it uses.
            {"Name": P_TRAINING_IMAGE_TAG, "Type": "String"},
            {"Name": P_INFERENCE_IMAGE_TAG, "Type": "String"},
            {"Name": P_THRESHOLD, "Type": "Float", "DefaultValue": training.quality_gate.threshold},
            {"Name": P_APPROVAL, "Type": "String", "DefaultValue": training.model_approval_status},
            {"Name": P_GROUP, "Type": "String", "DefaultValue": spec.model_package_group_name},
        ],
        "PipelineExperimentConfig": {"ExperimentName": get("Execution.PipelineName"),
                                     "TrialName": get("Execution.PipelineExecutionId")},
        "Steps": [_preprocess(spec), _train(spec), _evaluate(spec), _quality_gate(spec)],
    }


# -- checks -------------------------------------------------------------------------------------------

_STEP_REFERENCE = re.compile(r"Steps\.(?P<step>[A-Za-z0-9_-]+)\.")
_PARAMETER_REFERENCE = re.compile(r"Parameters\.(?P<name>[A-Za-z0-9_]+)$")
_EXECUTION_VARIABLES = {"Execution.PipelineExecutionId", "Execution.PipelineExecutionArn", "Execution.PipelineName",
                        "Execution.PipelineArn", "Execution.StartDateTime", "Execution.CurrentDateTime"}
STEP_OPERATIONS = {"Processing": "CreateProcessingJob", "Training": "CreateTrainingJob",
                   "RegisterModel": "CreateModelPackage"}
STEP_GENERATED_MEMBERS = ("ProcessingJobName", "TrainingJobName")  # named by SageMaker Pipelines


def iter_steps(steps: Sequence[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    """Every step, including those nested in conditions' IfSteps/ElseSteps."""
    for step in steps:
        yield step
        if step.get("Type") == "Condition":
            arguments = step.get("Arguments", {})
            yield from iter_steps([*arguments.get("IfSteps", []), *arguments.get("ElseSteps", [])])


def _references(value: Any) -> Iterator[str]:
    if isinstance(value, Mapping):
        if set(value) == {"Get"} and isinstance(value["Get"], str):
            yield value["Get"]
        for item in value.values():
            yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def definition_problems(definition: Mapping[str, Any]) -> list[str]:
    """Broken references in a definition: unknown steps, parameters, property files or outputs."""
    problems: list[str] = []
    if definition.get("Version") != SCHEMA_VERSION:
        problems.append(f"Version is {definition.get('Version')!r}, expected {SCHEMA_VERSION!r}")
    parameters = {p.get("Name") for p in definition.get("Parameters", [])}
    steps = list(iter_steps(definition.get("Steps", [])))
    names = [s.get("Name") for s in steps]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        problems.append(f"duplicate step names: {', '.join(duplicates)}")
    by_name = {s.get("Name"): s for s in steps}
    for step in steps:
        for reference in _references(step.get("Arguments", {})):
            step_match = _STEP_REFERENCE.match(reference)
            parameter_match = _PARAMETER_REFERENCE.match(reference)
            if parameter_match:
                if parameter_match.group("name") not in parameters:
                    problems.append(f"step {step['Name']}: unknown parameter in {reference!r}")
            elif step_match:
                target = by_name.get(step_match.group("step"))
                if target is None:
                    problems.append(f"step {step['Name']}: unknown step in {reference!r}")
                elif target is step:
                    problems.append(f"step {step['Name']}: refers to itself in {reference!r}")
                else:
                    problems += _property_problems(step["Name"], reference, target)
            elif reference not in _EXECUTION_VARIABLES:
                problems.append(f"step {step['Name']}: unknown reference {reference!r}")
        for dependency in step.get("DependsOn", []):
            if dependency not in by_name:
                problems.append(f"step {step['Name']}: DependsOn unknown step {dependency!r}")
    return problems


def _property_problems(step: str, reference: str, target: Mapping[str, Any]) -> list[str]:
    """A reference into another step must name what that step declares (outputs, property files)."""
    outputs = re.search(r"Outputs\['(?P<name>[^']+)'\]", reference)
    if outputs:
        declared = [o.get("OutputName") for o in
                    target.get("Arguments", {}).get("ProcessingOutputConfig", {}).get("Outputs", [])]
        if outputs.group("name") not in declared:
            return [f"step {step}: {target['Name']} has no output {outputs.group('name')!r} ({reference!r})"]
    files = re.search(r"\.PropertyFiles\.(?P<name>\w+)$", reference)
    if files:
        declared = [f.get("PropertyFileName") for f in target.get("PropertyFiles", [])]
        if files.group("name") not in declared:
            return [f"step {step}: {target['Name']} has no property file {files.group('name')!r}"]
    if ".ModelArtifacts." in reference and target.get("Type") != "Training":
        return [f"step {step}: {target['Name']} is not a training step ({reference!r})"]
    return []
