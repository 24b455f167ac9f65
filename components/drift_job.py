"""Drift detection without Model Monitor: a scheduled SageMaker Processing job per monitored model.

Per model (``DriftJobModel``), the Monitoring component's ``processing`` engine:

- **The schedule**: an EventBridge Scheduler schedule (``aws.scheduler.Schedule``) whose universal
  target ``arn:<partition>:scheduler:::aws-sdk:sagemaker:createProcessingJob`` sends a whole
  ``CreateProcessingJob`` request (the target's ``input``). Each run gets its own job name,
  ``<prefix>-<model>-drift-<aws.scheduler.execution-id>`` (Scheduler replaces the placeholder on every
  invocation, retries included). The job runs the drift module
  (``python -m mlops_blueprint.pipelines.drift_stats``) from the stack's *training* image (which
  holds the package with numpy and scipy; no extra repository to patch and scan), in the private
  subnets with the workload security group, **network isolation** and inter-container encryption,
  the data key on the volume and on the output. Inputs: the endpoint's captures
  (``s3://<models>/data-capture/<model>/<endpoint>/``) and the baseline
  (``<baseline>/drift_baseline.json``, written by ``pipeline baseline``); output: the reports in
  ``s3://<models>/data-capture/<model>/drift-reports/<job name>/``, next to the captures.
- **The metric**: an isolated container cannot call ``PutMetricData``. The module prints one JSON
  line per datum (``{"mlops_drift_metric": {...}}``), which SageMaker ships to the log group
  ``/aws/sagemaker/ProcessingJobs``; one CloudWatch Logs metric filter per watched feature turns
  those lines into ``feature_baseline_drift_<feature>`` in ``aws/sagemaker/Endpoints/data-metrics``
  with the dimensions ``Endpoint`` and ``MonitoringSchedule`` (the schedule's name), exactly what
  Model Monitor publishes, so the drift alarm and the retraining rule are the same for both engines.
  The log group is shared by every processing job of the account and region: the stack creates it
  (KMS, retention) unless ``log_group="existing"``. A log group takes at most 100 metric filters.

Once per environment: the jobs' role (read the captures and baselines, write the reports, the data
key, pull the training image, the VPC interfaces, write logs; no CloudWatch) and the Scheduler's role
(``sagemaker:CreateProcessingJob`` and ``AddTags`` on this stack's job names, ``iam:PassRole`` of the
jobs' role to SageMaker only).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from mlops_blueprint.components.service_role import service_role
from mlops_blueprint.context import StackContext
from mlops_blueprint.naming import NameKind, Naming
from mlops_blueprint.policy_documents import assume_role_policy, document, render, statement, to_json

if TYPE_CHECKING:  # the monitoring package imports this module
    from mlops_blueprint.components.monitoring.settings import MonitoringSettings

TYPE = "mlops:monitoring:DriftJobs"
COMPONENT = "monitoring"
ENTRY_POINT = ("python", "-m", "mlops_blueprint.pipelines.drift_stats")
PROCESSING_LOG_GROUP = "/aws/sagemaker/ProcessingJobs"
METRIC_NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"
FEATURE_METRIC_PREFIX = "feature_baseline_drift_"
LOG_KEY = "mlops_drift_metric"          # the JSON key of the module's metric lines
BASELINE_FILE = "drift_baseline.json"
REPORTS_FOLDER = "drift-reports"
MAX_METRIC_FILTERS = 100                # per log group (a CloudWatch Logs quota)
EXECUTION_ID = "<aws.scheduler.execution-id>"
_EXECUTION_ID_LENGTH = 16               # e.g. d32c5kddcf5bb8c3
_JOB_NAME_LENGTH = 63                   # CreateProcessingJob's ProcessingJobName
_CAPTURES_PATH = "/opt/ml/processing/input/endpoint"
_BASELINE_PATH = "/opt/ml/processing/input/baseline"
_OUTPUT_PATH = "/opt/ml/processing/output"


@dataclass(frozen=True)
class DriftJobModel:
    """One model's drift job (plain Inputs, as the Monitoring component resolved them)."""

    name: str
    endpoint_name: pulumi.Input[str]
    data_capture_s3_uri: pulumi.Input[str]   # s3://<models bucket>/data-capture/<model>
    baseline_s3_uri: pulumi.Input[str]       # the prefix holding drift_baseline.json
    features: Sequence[str] = ()             # watched features (one metric filter each); () = all, no filter


@dataclass(frozen=True)
class DriftJobsArgs:
    """The Monitoring component's ``processing`` engine: its wiring and the ``monitoring`` settings
    (schedule, job resources, the processing log group, ``alarms.drift_threshold``)."""

    context: StackContext
    models: Sequence[DriftJobModel]
    data_key_arn: pulumi.Input[str]          # Kms.data_key_arn (job volumes, reports)
    logs_key_arn: pulumi.Input[str] | None   # Kms.logs_key_arn (the log group, when created)
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    security_group_id: pulumi.Input[str]
    image_uri: pulumi.Input[str]             # <training repository URL>:<tag>
    settings: MonitoringSettings
    period_hours: int = 1                    # the captures each run reads: this many full hours
    protect: bool = False
    retain_on_delete: bool = False
    permissions_boundary_arn: str | None = None


def job_name_prefix(ctx: StackContext, model: str) -> str:
    """``<prefix>-<model>-drift``, short enough for ``-<execution id>`` within 63 characters."""
    limit = _JOB_NAME_LENGTH - _EXECUTION_ID_LENGTH - 1
    name = ctx.naming.name(model, "drift", kind=NameKind.SAGEMAKER)
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[:limit - 9].rstrip('-')}-{digest}"


def schedule_name(naming: Naming, model: str) -> str:
    """The Scheduler schedule; also the ``MonitoringSchedule`` dimension of the model's drift metrics
    (the sandbox names its drift run the same way)."""
    return naming.name(model, "drift-job", kind=NameKind.SAGEMAKER)


def metric_filter_pattern(metric: str, endpoint: str, schedule: str) -> str:
    """The JSON filter pattern matching one metric line of one model's runs."""
    field = f"$.{LOG_KEY}"
    return (f'{{ ({field}.metric = "{metric}") && ({field}.Endpoint = "{endpoint}") && '
            f'({field}.MonitoringSchedule = "{schedule}") }}')


def processing_job_request(
    *,
    job_name_prefix: str,
    role_arn: str,
    image_uri: str,
    endpoint: str,
    schedule: str,
    model: str,
    captures_uri: str,
    baseline_uri: str,
    reports_uri: str,
    data_key_arn: str,
    subnet_ids: Sequence[str],
    security_group_id: str,
    features: Sequence[str],
    threshold: float,
    period_hours: int,
    instance_type: str,
    instance_count: int,
    volume_size_gb: int,
    max_runtime_seconds: int,
    tags: dict[str, str],
) -> dict[str, Any]:
    """The ``CreateProcessingJob`` request a run sends (SageMaker API shape, PascalCase)."""
    job_name = f"{job_name_prefix}-{EXECUTION_ID}"
    environment = {
        "DRIFT_MODEL": model,
        "DRIFT_ENDPOINT": endpoint,
        "DRIFT_MONITORING_SCHEDULE": schedule,
        "DRIFT_THRESHOLD": f"{threshold:g}",
        "DRIFT_PERIOD_HOURS": str(period_hours),
        # Network isolation: no route to CloudWatch; the log lines carry the metric.
        "DRIFT_PUBLISH": "false",
    }
    if features:
        environment["DRIFT_FEATURES"] = ",".join(features)

    def s3_input(name: str, uri: str, path: str) -> dict[str, Any]:
        return {"InputName": name, "S3Input": {"S3Uri": uri, "LocalPath": path, "S3DataType": "S3Prefix",
                                                "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated"}}

    return {
        "ProcessingJobName": job_name,
        "RoleArn": role_arn,
        "AppSpecification": {"ImageUri": image_uri, "ContainerEntrypoint": list(ENTRY_POINT)},
        "Environment": environment,
        "ProcessingInputs": [s3_input("captures", f"{captures_uri.rstrip('/')}/", _CAPTURES_PATH),
                             s3_input("baseline", f"{baseline_uri.rstrip('/')}/{BASELINE_FILE}", _BASELINE_PATH)],
        "ProcessingOutputConfig": {"KmsKeyId": data_key_arn, "Outputs": [{"OutputName": "reports", "S3Output": {
            "S3Uri": f"{reports_uri.rstrip('/')}/{job_name}", "LocalPath": _OUTPUT_PATH, "S3UploadMode": "EndOfJob"}}]},
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": instance_count, "InstanceType": instance_type,
                                                  "VolumeSizeInGB": volume_size_gb, "VolumeKmsKeyId": data_key_arn}},
        "NetworkConfig": {"EnableNetworkIsolation": True, "EnableInterContainerTrafficEncryption": True,
                          "VpcConfig": {"SecurityGroupIds": [security_group_id], "Subnets": list(subnet_ids)}},
        "StoppingCondition": {"MaxRuntimeInSeconds": max_runtime_seconds},
        "Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())],
    }


def scheduler_role_policy(ctx: StackContext, job_role_arn: str) -> dict[str, Any]:
    """Start (and tag) this stack's drift jobs as the jobs' role; nothing else."""
    jobs = ctx.arn("sagemaker", f"processing-job/{ctx.naming.prefix}-*")
    return document(
        statement("StartDriftJobs", ["sagemaker:CreateProcessingJob", "sagemaker:AddTags"], [jobs]),
        statement("PassDriftJobRole", ["iam:PassRole"], [job_role_arn],
                  conditions={"StringEquals": {"iam:PassedToService": ctx.service_principal("sagemaker")}}),
    )


class DriftJobs(pulumi.ComponentResource):
    """Scheduled drift jobs, their roles and the metric filters that publish their results."""

    role_arn: pulumi.Output[str]
    schedule_names: dict[str, str]          # model -> schedule (the MonitoringSchedule dimension)
    job_name_prefixes: dict[str, str]       # model -> processing job names' prefix
    reports_uris: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: DriftJobsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        from mlops_blueprint.components.monitoring import monitoring_role_policy

        ctx = args.context
        self._prefix, self._ctx, self._args = name, ctx, args
        self._child = pulumi.ResourceOptions(parent=self)
        self.schedule_names, self.job_name_prefixes, self.reports_uris = {}, {}, {}

        captures = {m.name: pulumi.Output.concat(m.data_capture_s3_uri, "/", m.endpoint_name) for m in args.models}
        reports = {m.name: pulumi.Output.concat(m.data_capture_s3_uri, f"/{REPORTS_FOLDER}") for m in args.models}
        baselines = {m.name: pulumi.Output.from_input(m.baseline_s3_uri).apply(lambda u: u.rstrip("/"))
                     for m in args.models}
        self.reports_uris = reports

        # -- the jobs' role ---------------------------------------------------------------------
        role = service_role(
            f"{name}-role", context=ctx, component=COMPONENT, purpose="drift-job",
            description="SageMaker Processing drift jobs",
            trust=to_json(assume_role_policy(ctx.service_principal("sagemaker"), source_account=ctx.account_id)),
            permissions_boundary_arn=args.permissions_boundary_arn, opts=self._child,
        )
        reads = [*captures.values(), *baselines.values()]
        writes = list(reports.values())
        n_reads = len(reads)
        role_policy = aws.iam.RolePolicy(
            f"{name}-role-policy",
            name=ctx.naming.name("drift-job", kind=NameKind.IAM_POLICY),
            role=role.name,
            policy=render(lambda key, image, *uris: monitoring_role_policy(
                ctx, key, uris[:n_reads], uris[n_reads:], image, publish_metrics=False),
                args.data_key_arn, args.image_uri, *reads, *writes),
            opts=self._child,
        )
        self.role_arn = role.arn

        # -- the Scheduler's role ---------------------------------------------------------------
        scheduler_role = service_role(
            f"{name}-scheduler", context=ctx, component=COMPONENT, purpose="drift-scheduler",
            description="EventBridge Scheduler starts the drift jobs",
            trust=to_json(assume_role_policy(ctx.service_principal("scheduler"), source_account=ctx.account_id)),
            permissions_boundary_arn=args.permissions_boundary_arn, opts=self._child,
        )
        scheduler_policy = aws.iam.RolePolicy(
            f"{name}-scheduler-policy",
            name=ctx.naming.name("drift-scheduler", kind=NameKind.IAM_POLICY),
            role=scheduler_role.name,
            policy=render(lambda arn: scheduler_role_policy(ctx, arn), role.arn),
            opts=self._child,
        )

        # -- the log group the filters read ---------------------------------------------------------
        log_group_name: pulumi.Input[str] = PROCESSING_LOG_GROUP
        filter_deps: list[pulumi.Resource] = []
        settings = args.settings
        if settings.processing_log_group == "create" and any(m.features for m in args.models):
            group = aws.cloudwatch.LogGroup(
                f"{name}-processing-logs",
                name=PROCESSING_LOG_GROUP,
                retention_in_days=settings.log_retention_days,
                kms_key_id=args.logs_key_arn,
                tags=ctx.tagging.resource(COMPONENT, PROCESSING_LOG_GROUP),
                opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.retain_on_delete),
            )
            log_group_name, filter_deps = group.name, [group]

        for model in args.models:
            schedule = schedule_name(ctx.naming, model.name)
            prefix = job_name_prefix(ctx, model.name)
            self.schedule_names[model.name] = schedule
            self.job_name_prefixes[model.name] = prefix
            request = pulumi.Output.all(
                role.arn, args.image_uri, model.endpoint_name, captures[model.name], baselines[model.name],
                reports[model.name], args.data_key_arn, pulumi.Output.from_input(args.subnet_ids),
                args.security_group_id,
            ).apply(lambda v, m=model, s=schedule, p=prefix: processing_job_request(
                job_name_prefix=p, role_arn=v[0], image_uri=v[1], endpoint=v[2], schedule=s, model=m.name,
                captures_uri=v[3], baseline_uri=v[4], reports_uri=v[5], data_key_arn=v[6], subnet_ids=v[7],
                security_group_id=v[8], features=m.features, threshold=settings.alarms.drift_threshold,
                period_hours=args.period_hours, instance_type=settings.instance_type,
                instance_count=settings.instance_count, volume_size_gb=settings.volume_size_gb,
                max_runtime_seconds=settings.max_runtime_seconds, tags=ctx.tagging.full(COMPONENT, p)))
            aws.scheduler.Schedule(
                f"{name}-{model.name}",
                name=schedule,
                group_name="default",
                description=f"{ctx.naming.prefix}: drift job for {model.name} (managed by Pulumi)",
                schedule_expression=settings.schedule_expression,
                schedule_expression_timezone="UTC",
                flexible_time_window={"mode": "OFF"},
                target={
                    "arn": f"arn:{ctx.partition}:scheduler:::aws-sdk:sagemaker:createProcessingJob",
                    "role_arn": scheduler_role.arn,
                    "input": request.apply(lambda r: json.dumps(r, sort_keys=True)),
                    # A failed start is retried a little, within the hour the run is about.
                    "retry_policy": {"maximum_event_age_in_seconds": 3600, "maximum_retry_attempts": 3},
                },
                # Each run is created with both roles: their permissions must exist first.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy, scheduler_policy]),
            )
            for feature in model.features:
                metric = f"{FEATURE_METRIC_PREFIX}{feature}"
                aws.cloudwatch.LogMetricFilter(
                    f"{name}-{model.name}-{feature}",
                    name=ctx.naming.name(model.name, "drift", feature, kind=NameKind.GENERIC),
                    log_group_name=log_group_name,
                    pattern=pulumi.Output.from_input(model.endpoint_name).apply(
                        lambda endpoint, m=metric, s=schedule: metric_filter_pattern(m, endpoint, s)),
                    metric_transformation={
                        "name": metric,
                        "namespace": METRIC_NAMESPACE,
                        "value": f"$.{LOG_KEY}.value",
                        "dimensions": {"Endpoint": f"$.{LOG_KEY}.Endpoint",
                                       "MonitoringSchedule": f"$.{LOG_KEY}.MonitoringSchedule"},
                        "unit": "None",
                    },
                    opts=pulumi.ResourceOptions(parent=self, depends_on=filter_deps),
                )

        self.register_outputs({
            "roleArn": self.role_arn,
            "scheduleNames": self.schedule_names,
            "jobNamePrefixes": self.job_name_prefixes,
        })
