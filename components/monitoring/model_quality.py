"""The hand-built CloudFormation template of one model's ``AWS::SageMaker::ModelQualityJobDefinition``
(pulumi-aws 7.x has no such resource)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlops_blueprint.components.monitoring.args import COMPONENT, MonitoringArgs
from mlops_blueprint.components.monitoring.model_monitor import INPUT_PATH, OUTPUT_PATH, content_name
from mlops_blueprint.components.monitoring.settings import ModelQuality
from mlops_blueprint.context import StackContext

# Captured predictions of [now + start, now + end] are merged with ground truth: labels lag.
START_TIME_OFFSET = "-P1D"
END_TIME_OFFSET = "-PT1H"


def model_quality_template(
    ctx: StackContext,
    args: MonitoringArgs,
    model_name: str,
    quality: ModelQuality,
    image: str,
    values: Sequence[Any],
) -> dict[str, Any]:
    """``values``: the resolved role ARN, endpoint name, data key ARN, report URI, security group and subnets."""
    role_arn, endpoint, key, output, security_group, subnet_ids = values
    endpoint_input: dict[str, Any] = {
        "EndpointName": endpoint, "LocalPath": INPUT_PATH, "S3DataDistributionType": "FullyReplicated",
        "S3InputMode": "File", "InferenceAttribute": quality.inference_attribute,
        "StartTimeOffset": START_TIME_OFFSET, "EndTimeOffset": END_TIME_OFFSET,
    }
    if quality.probability_attribute:
        endpoint_input["ProbabilityAttribute"] = quality.probability_attribute
    if quality.probability_threshold is not None:
        endpoint_input["ProbabilityThresholdAttribute"] = quality.probability_threshold
    settings = args.settings
    properties: dict[str, Any] = {
        "ModelQualityAppSpecification": {"ImageUri": image, "ProblemType": quality.problem_type},
        "ModelQualityJobInput": {"EndpointInput": endpoint_input,
                                 "GroundTruthS3Input": {"S3Uri": quality.ground_truth_s3_uri}},
        "ModelQualityJobOutputConfig": {"KmsKeyId": key, "MonitoringOutputs": [{"S3Output": {
            "S3Uri": output, "LocalPath": OUTPUT_PATH, "S3UploadMode": "EndOfJob"}}]},
        "JobResources": {"ClusterConfig": {"InstanceCount": settings.instance_count, "InstanceType": settings.instance_type,
                                           "VolumeSizeInGB": settings.volume_size_gb, "VolumeKmsKeyId": key}},
        "NetworkConfig": {"EnableNetworkIsolation": True, "EnableInterContainerTrafficEncryption": True,
                          "VpcConfig": {"SecurityGroupIds": [security_group], "Subnets": list(subnet_ids)}},
        "RoleArn": role_arn,
        "StoppingCondition": {"MaxRuntimeInSeconds": settings.max_runtime_seconds},
    }
    # Job definitions cannot be updated: a content-derived name lets CloudFormation replace one.
    properties["JobDefinitionName"] = content_name(ctx, model_name, "mq")(properties)
    properties["Tags"] = [{"Key": k, "Value": v}
                          for k, v in sorted(ctx.tagging.full(COMPONENT, properties["JobDefinitionName"]).items())]
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"{ctx.naming.prefix}: model-quality job definition for {model_name} (managed by Pulumi)",
        "Resources": {"ModelQualityJobDefinition": {"Type": "AWS::SageMaker::ModelQualityJobDefinition",
                                                    "Properties": properties}},
    }


def job_definition_name(template: dict[str, Any]) -> str:
    return template["Resources"]["ModelQualityJobDefinition"]["Properties"]["JobDefinitionName"]
