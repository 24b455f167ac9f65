"""The stack outputs: one typed schema for every name the program exports.

The program builds its outputs through :func:`stack_outputs` (an unknown or missing name fails
before anything is exported), the pipelines and the sandbox read names from :class:`Out`, and the
README's "Stack outputs" table is generated from :data:`OUTPUTS` (``make docs``).

``artifactBucketName`` is the models bucket under its old name: exported as an alias of
``modelsBucketName`` for one release, deprecated. Readers ask for ``modelsBucketName`` and accept a
stack that only has the old name (:func:`lookup`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["string", "list", "map"]


class Out:
    """Output names, so a reader cannot misspell one."""

    ENVIRONMENT = "environment"
    REGION = "region"
    ACCOUNT_ID = "accountId"
    DATA_KEY_ARN = "dataKeyArn"
    LOGS_KEY_ARN = "logsKeyArn"
    VPC_ID = "vpcId"
    VPC_CIDR = "vpcCidr"
    TRAINING_SUBNET_IDS = "trainingSubnetIds"
    SERVING_SUBNET_IDS = "servingSubnetIds"
    DATABASE_SUBNET_IDS = "databaseSubnetIds"
    WORKLOAD_SECURITY_GROUP_ID = "workloadSecurityGroupId"
    MODELS_BUCKET_NAME = "modelsBucketName"
    ARTIFACT_BUCKET_NAME = "artifactBucketName"  # deprecated alias of MODELS_BUCKET_NAME
    DATASETS_BUCKET_NAME = "datasetsBucketName"
    ACCESS_LOGS_BUCKET_NAME = "accessLogsBucketName"
    AUDIT_TRAIL_ARN = "auditTrailArn"
    AUDIT_BUCKET_NAME = "auditBucketName"
    TRAINING_ROLE_ARN = "trainingRoleArn"
    SERVING_ROLE_ARN = "servingRoleArn"
    TRACKING_ROLE_ARN = "trackingRoleArn"
    PIPELINES_ROLE_ARN = "pipelinesRoleArn"
    CI_PREVIEW_ROLE_ARN = "ciPreviewRoleArn"
    CI_DEPLOY_ROLE_ARN = "ciDeployRoleArn"
    TRACKING_BACKEND = "trackingBackend"
    TRACKING_URI = "trackingUri"
    TRACKING_SERVER_URL = "trackingServerUrl"
    TRACKING_SERVER_ARN = "trackingServerArn"
    MLFLOW_ARTIFACT_URI = "mlflowArtifactUri"
    MLFLOW_USER_POLICY_ARN = "mlflowUserPolicyArn"
    MLFLOW_VPC_ENDPOINT_ID = "mlflowVpcEndpointId"
    MODEL_PACKAGE_GROUP_NAMES = "modelPackageGroupNames"
    ECR_REPOSITORY_URLS = "ecrRepositoryUrls"
    PIPELINE_ARN = "pipelineArn"
    PIPELINE_NAME = "pipelineName"
    ENDPOINT_NAMES = "endpointNames"
    ENDPOINT_ARNS = "endpointArns"
    ENDPOINT_CONFIG_NAMES = "endpointConfigNames"
    ENDPOINT_VARIANT_WEIGHTS = "endpointVariantWeights"
    ALARM_ARNS = "alarmArns"
    SERVED_MODEL_PACKAGES = "servedModelPackages"
    SERVING_SERVICE_URLS = "servingServiceUrls"
    ALERT_TOPIC_ARNS = "alertTopicArns"
    MONITORING_DASHBOARD_NAME = "monitoringDashboardName"
    MONITORING_ROLE_ARN = "monitoringRoleArn"
    DRIFT_ALARM_ARNS = "driftAlarmArns"
    DRIFT_SCHEDULE_NAMES = "driftScheduleNames"
    RETRAINING_RULE_NAMES = "retrainingRuleNames"
    BUDGET_NAME = "budgetName"
    PROMETHEUS_REMOTE_WRITE_URL = "prometheusRemoteWriteUrl"
    GRAFANA_ENDPOINT = "grafanaEndpoint"


@dataclass(frozen=True)
class OutputSpec:
    """One output: its JSON shape, what it holds, and when the stack has it (``None``: always).

    ``nullable``: the program always sets it, but to ``None`` (which Pulumi does not export) when
    its condition does not hold."""

    name: str
    kind: Kind
    meaning: str
    present_when: str | None = None
    deprecated: str | None = None   # what to read instead
    nullable: bool = False


def _spec(name: str, kind: Kind, meaning: str, **extra: Any) -> OutputSpec:
    return OutputSpec(name=name, kind=kind, meaning=meaning, **extra)


# In the README table's order: foundation, ML, operations.
OUTPUTS: tuple[OutputSpec, ...] = (
    _spec(Out.ENVIRONMENT, "string", "the environment (dev, staging, prod)"),
    _spec(Out.REGION, "string", "the AWS region"),
    _spec(Out.ACCOUNT_ID, "string", "the AWS account the stack deploys to"),
    _spec(Out.DATA_KEY_ARN, "string", "key for data: buckets, SageMaker volumes, endpoint configs"),
    _spec(Out.LOGS_KEY_ARN, "string", "key for logs: CloudTrail, flow logs, log groups, SNS"),
    _spec(Out.VPC_ID, "string", "the VPC (also what a `shared` network reads from its stack)"),
    _spec(Out.VPC_CIDR, "string", "the VPC's CIDR"),
    _spec(Out.TRAINING_SUBNET_IDS, "list", "private subnets of SageMaker jobs"),
    _spec(Out.SERVING_SUBNET_IDS, "list", "private subnets of endpoints and interface endpoints"),
    _spec(Out.DATABASE_SUBNET_IDS, "list", "subnets of databases (Kubernetes tracking's PostgreSQL)"),
    _spec(Out.WORKLOAD_SECURITY_GROUP_ID, "string", "security group of SageMaker jobs and endpoints"),
    _spec(Out.MODELS_BUCKET_NAME, "string",
          "models bucket: model packages, MLflow artifacts, data capture, monitoring reports"),
    _spec(Out.ARTIFACT_BUCKET_NAME, "string", "the models bucket under its old name",
          deprecated=Out.MODELS_BUCKET_NAME),
    _spec(Out.DATASETS_BUCKET_NAME, "string", "training data (versioned objects)"),
    _spec(Out.ACCESS_LOGS_BUCKET_NAME, "string", "S3 access logs of the other buckets"),
    _spec(Out.AUDIT_TRAIL_ARN, "string", "the CloudTrail trail that records the account (ours or the "
          "organisation's)", present_when="`audit.trail: create`, or an `audit.existingTrailArn`"),
    _spec(Out.AUDIT_BUCKET_NAME, "string", "the trail's bucket", present_when="`audit.trail: create`"),
    _spec(Out.TRAINING_ROLE_ARN, "string", "SageMaker training jobs' execution role"),
    _spec(Out.SERVING_ROLE_ARN, "string", "SageMaker models' execution role"),
    _spec(Out.TRACKING_ROLE_ARN, "string", "the role MLflow acts with"),
    _spec(Out.PIPELINES_ROLE_ARN, "string", "SageMaker Pipelines' execution role"),
    _spec(Out.CI_PREVIEW_ROLE_ARN, "string", "CI role for `pulumi preview` (read-only)",
          present_when="`iam.ci.provider` is set"),
    _spec(Out.CI_DEPLOY_ROLE_ARN, "string", "CI role for `pulumi up` (the deploy branch only)",
          present_when="`iam.ci.provider` is set"),
    _spec(Out.TRACKING_BACKEND, "string", "`tracking.backend`"),
    _spec(Out.TRACKING_URI, "string",
          "what `MLFLOW_TRACKING_URI` takes: the server's ARN (SageMaker) or in-cluster URL (Kubernetes)"),
    _spec(Out.TRACKING_SERVER_URL, "string", "the tracking server's URL",
          present_when="`tracking.backend: sagemaker-managed` or `kubernetes`", nullable=True),
    _spec(Out.TRACKING_SERVER_ARN, "string", "the SageMaker MLflow app or server",
          present_when="a SageMaker tracking backend", nullable=True),
    _spec(Out.MLFLOW_ARTIFACT_URI, "string", "where MLflow keeps artifacts"),
    _spec(Out.MODEL_PACKAGE_GROUP_NAMES, "map",
          "model family -> SageMaker model package group (also the MLflow registered model's name)"),
    _spec(Out.MLFLOW_USER_POLICY_ARN, "string",
          "managed policy to attach to people and notebook roles that use this stack's MLflow",
          present_when="a SageMaker tracking backend"),
    _spec(Out.MLFLOW_VPC_ENDPOINT_ID, "string",
          "the VPC's interface endpoint to SageMaker MLflow",
          present_when="a SageMaker tracking backend in a VPC the stack creates"),
    _spec(Out.ECR_REPOSITORY_URLS, "map", "image -> ECR repository (`training`, `inference`)"),
    _spec(Out.PIPELINE_ARN, "string", "the SageMaker training pipeline"),
    _spec(Out.PIPELINE_NAME, "string", "the SageMaker training pipeline's name"),
    _spec(Out.ENDPOINT_NAMES, "map", "model -> SageMaker endpoint (Pulumi owns it: the pipelines "
          "change only the registry for it)"),
    _spec(Out.ENDPOINT_ARNS, "map", "model -> endpoint ARN"),
    _spec(Out.ENDPOINT_CONFIG_NAMES, "map", "model -> the endpoint configuration the stack declares"),
    _spec(Out.ENDPOINT_VARIANT_WEIGHTS, "map", "model -> variant -> weight the stack declares"),
    _spec(Out.ALARM_ARNS, "map", "model -> its alarms (serving's rollback alarms and monitoring's)"),
    _spec(Out.SERVED_MODEL_PACKAGES, "map", "registry-backed model -> the package it serves now "
          "(`modelPackageGroup`, `version`, `arn`, `image`, `modelDataUrl`)"),
    _spec(Out.SERVING_SERVICE_URLS, "map", "model -> in-cluster URL of its service",
          present_when="`serving.backend: kubernetes` with models"),
    _spec(Out.ALERT_TOPIC_ARNS, "map", "severity -> SNS topic"),
    _spec(Out.MONITORING_DASHBOARD_NAME, "string", "the CloudWatch dashboard"),
    _spec(Out.MONITORING_ROLE_ARN, "string", "the role of the drift jobs or Model Monitor schedules",
          present_when="a served model is monitored", nullable=True),
    _spec(Out.DRIFT_ALARM_ARNS, "map", "model -> drift alarm (starts retraining)"),
    _spec(Out.DRIFT_SCHEDULE_NAMES, "map", "model -> drift job schedule (the `MonitoringSchedule` "
          "dimension of its metrics)"),
    _spec(Out.RETRAINING_RULE_NAMES, "map", "model -> EventBridge rule that starts its retraining",
          present_when="a model opts in to `retraining`"),
    _spec(Out.BUDGET_NAME, "string", "the AWS Budget", present_when="`budget.enabled`"),
    _spec(Out.PROMETHEUS_REMOTE_WRITE_URL, "string", "Amazon Managed Prometheus remote-write URL",
          present_when="`observability.prometheus`", nullable=True),
    _spec(Out.GRAFANA_ENDPOINT, "string", "Amazon Managed Grafana URL",
          present_when="`observability.grafana` (known once the workspace exists)", nullable=True),
)

SCHEMA: dict[str, OutputSpec] = {spec.name: spec for spec in OUTPUTS}
# new name -> the deprecated name a stack of the previous release exports instead
ALIASES: dict[str, str] = {spec.deprecated: spec.name for spec in OUTPUTS if spec.deprecated}


def _names_match_constants() -> None:
    constants = {v for k, v in vars(Out).items() if k.isupper()}
    if constants != set(SCHEMA) or len(SCHEMA) != len(OUTPUTS):
        raise AssertionError(f"Out and OUTPUTS disagree: {sorted(constants ^ set(SCHEMA))}")


_names_match_constants()


def stack_outputs(values: Mapping[str, Any]) -> dict[str, Any]:
    """The outputs to export: ``values`` checked against the schema, with the deprecated aliases added.

    Raises ``ValueError`` naming an output the schema does not know, or an always-present one that
    is missing (a conditional one is left out when its condition does not hold)."""
    unknown = sorted(set(values) - set(SCHEMA))
    aliases = sorted(name for name in values if SCHEMA.get(name) and SCHEMA[name].deprecated)
    missing = sorted(spec.name for spec in OUTPUTS
                     if spec.present_when is None and spec.deprecated is None and spec.name not in values)
    problems = ([f"unknown stack output '{n}' (known: {', '.join(sorted(SCHEMA))})" for n in unknown]
                + [f"stack output '{n}' is an alias: set '{SCHEMA[n].deprecated}'" for n in aliases]
                + [f"stack output '{n}' is missing (always present: {SCHEMA[n].meaning})" for n in missing])
    if problems:
        raise ValueError("; ".join(problems))
    outputs = dict(values)
    for deprecated, current in ((s.name, s.deprecated) for s in OUTPUTS if s.deprecated):
        outputs[deprecated] = outputs[current]
    return outputs


def lookup(values: Mapping[str, Any], name: str) -> Any:
    """``values[name]``, or its deprecated alias's value for a stack of the previous release."""
    value = values.get(name)
    if value is None and name in ALIASES:
        value = values.get(ALIASES[name])
    return value


def value_problems(outputs: Mapping[str, Any]) -> list[str]:
    """Outputs of a plan whose JSON shape disagrees with the schema (``[]`` when all agree)."""
    shapes = {"string": str, "list": list, "map": dict}
    problems = []
    for name, value in sorted(outputs.items()):
        spec = SCHEMA.get(name)
        if spec is None:
            problems.append(f"{name}: not in the schema")
        elif value is None and not spec.nullable:
            problems.append(f"{name}: null, but the schema says it always has a value")
        elif value is not None and not isinstance(value, shapes[spec.kind]):
            problems.append(f"{name}: {type(value).__name__}, the schema says {spec.kind}")
    return problems


def markdown_table() -> str:
    """The README's "Stack outputs" table."""
    lines = ["| output | type | value | present |", "| --- | --- | --- | --- |"]
    for spec in OUTPUTS:
        meaning = spec.meaning
        if spec.deprecated:
            meaning = f"**deprecated**: {meaning}; read `{spec.deprecated}` (removed in the next release)"
        lines.append(f"| `{spec.name}` | {spec.kind} | {meaning} | {spec.present_when or 'always'} |")
    return "\n".join(lines)
