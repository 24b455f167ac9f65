"""The ``Monitoring`` component: drift jobs (or Model Monitor schedules), the alarms and the dashboard."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_blueprint.components.drift_job import DriftJobModel, DriftJobs, DriftJobsArgs
from mlops_blueprint.components.monitoring.alarms import Alarms
from mlops_blueprint.components.monitoring.args import COMPONENT, TYPE, MonitoredModel, MonitoringArgs
from mlops_blueprint.components.monitoring.checks import validate
from mlops_blueprint.components.monitoring.dashboard import dashboard_body
from mlops_blueprint.components.monitoring.model_monitor import (
    INPUT_PATH, MODEL_MONITOR_ACCOUNTS, OUTPUT_PATH, content_name, model_monitor_image,
)
from mlops_blueprint.components.monitoring.model_quality import job_definition_name, model_quality_template
from mlops_blueprint.components.monitoring.role_policy import monitoring_role_policy
from mlops_blueprint.components.monitoring.settings import (
    ModelMonitoringSettings, ModelQuality, schedule_period_seconds,
)
from mlops_blueprint.components.service_role import service_role
from mlops_blueprint.naming import NameKind
from mlops_blueprint.policy_documents import assume_role_policy, render, to_json


class Monitoring(pulumi.ComponentResource):
    """Drift jobs (or Model Monitor schedules), endpoint/drift/quality alarms and the dashboard."""

    role_arn: pulumi.Output[str] | None                 # the drift jobs' (or Model Monitor's) role
    drift_schedule_names: dict[str, str]                # model -> MonitoringSchedule dimension of its drift metrics
    drift_jobs: DriftJobs | None
    schedule_names: dict[str, str]                      # model -> data-quality schedule (model-monitor)
    quality_schedule_names: dict[str, str]              # model -> model-quality schedule
    drift_alarm_names: dict[str, str]                   # model -> drift alarm (the retraining signal)
    drift_alarm_arns: dict[str, pulumi.Output[str]]
    alarm_arns: dict[str, list[pulumi.Output[str]]]     # model -> every alarm of the model
    dashboard_name: str | None

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        validate(args)
        super().__init__(TYPE, name, None, opts)
        self._prefix = name
        self._args = args
        self._ctx = ctx = args.context
        self._child = pulumi.ResourceOptions(parent=self)
        self._image = args.image_uri or (model_monitor_image(ctx.region) if ctx.region in MODEL_MONITOR_ACCOUNTS else "")
        # Alarms on what monitoring runs publish look at one run's period.
        self._period = schedule_period_seconds(args.settings.schedule_expression)
        self._alarms = Alarms(name, args, self._period, self._child)
        self.schedule_names, self.quality_schedule_names = {}, {}
        self.drift_alarm_names, self.drift_alarm_arns, self.alarm_arns = {}, {}, {}
        self.drift_schedule_names = {}
        self.drift_jobs = None
        self.role_arn = None
        self.dashboard_name = None

        for model in args.models:
            self.alarm_arns[model.name] = self._alarms.endpoint(model)
        if args.settings.engine == "model-monitor":
            monitored = [m for m in args.models if args.scheduled(m) or args.model_settings(m).model_quality]
            role = self._role(monitored) if monitored else None
            if role is not None:
                self.role_arn = role.arn
            for model in monitored:
                quality = args.model_settings(model).model_quality
                if role is not None and args.scheduled(model):
                    self._data_quality(model, role)
                if role is not None and quality is not None:
                    self._model_quality(model, quality, role)
        else:
            self._drift_jobs([m for m in args.models if args.scheduled(m)])
        if args.settings.dashboard:
            self._dashboard()

        self.register_outputs({
            "monitoringRoleArn": self.role_arn,
            "driftScheduleNames": self.drift_schedule_names,
            "scheduleNames": self.schedule_names,
            "qualityScheduleNames": self.quality_schedule_names,
            "driftAlarmNames": self.drift_alarm_names,
            "driftAlarmArns": self.drift_alarm_arns,
            "dashboardName": self.dashboard_name,
        })

    def _drift_alarm(self, model: MonitoredModel, schedule_name: str) -> None:
        """The drift alarm, recorded as the model's retraining signal."""
        alarm = self._alarms.drift(model, schedule_name)
        self.drift_alarm_names[model.name] = self._ctx.naming.name(model.name, "drift")
        self.drift_alarm_arns[model.name] = alarm.arn
        self.alarm_arns[model.name].append(alarm.arn)

    # -- helpers ---------------------------------------------------------------------------------------
    def _tags(self, *parts: str) -> dict[str, str]:
        return self._ctx.tagging.resource(COMPONENT, self._ctx.naming.name(*parts))

    def _output_uri(self, model: str, kind: str) -> pulumi.Output[str]:
        return pulumi.Output.concat("s3://", self._args.models_bucket_name, f"/{self._args.settings.prefix}/{model}/{kind}")

    def _baseline_uri(self, model: MonitoredModel) -> pulumi.Output[str]:
        baseline = self._args.model_settings(model).baseline_s3_uri
        if baseline is not None:
            return pulumi.Output.from_input(baseline)
        return self._output_uri(model.name, "baseline")

    def _network(self) -> dict[str, Any]:
        subnets = self._args.subnet_ids
        return {
            "enable_network_isolation": True,
            "enable_inter_container_traffic_encryption": True,
            "vpc_config": {"security_group_ids": [self._args.security_group_id],
                           "subnets": list(subnets) if isinstance(subnets, (list, tuple)) else subnets},
        }

    def _role(self, models: Sequence[MonitoredModel]) -> aws.iam.Role:
        ctx, args = self._ctx, self._args
        role = service_role(
            f"{self._prefix}-role", context=ctx, component=COMPONENT, purpose="model-monitor",
            description="SageMaker Model Monitor jobs",
            trust=to_json(assume_role_policy(ctx.service_principal("sagemaker"), source_account=ctx.account_id)),
            permissions_boundary_arn=args.permissions_boundary_arn, opts=self._child,
        )
        reads: list[pulumi.Input[str]] = []
        writes: list[pulumi.Input[str]] = []
        for model in models:
            if model.data_capture_s3_uri is not None:
                reads.append(model.data_capture_s3_uri)
            quality = args.model_settings(model).model_quality
            if args.scheduled(model):
                reads.append(self._baseline_uri(model))
                writes.append(self._output_uri(model.name, "data-quality"))
            if quality is not None:
                reads.append(quality.ground_truth_s3_uri)
                writes.append(self._output_uri(model.name, "model-quality"))
        n_reads = len(reads)
        image = self._image
        policy = render(
            lambda key, *uris: monitoring_role_policy(ctx, key, uris[:n_reads], uris[n_reads:], image),
            args.data_key_arn, *reads, *writes,
        )
        self._role_policy = aws.iam.RolePolicy(
            f"{self._prefix}-role-policy",
            name=ctx.naming.name("model-monitor", kind=NameKind.IAM_POLICY),
            role=role.name,
            policy=policy,
            opts=self._child,
        )
        return role

    # -- the processing engine -----------------------------------------------------------------------------
    def _drift_jobs(self, models: Sequence[MonitoredModel]) -> None:
        """Scheduled drift jobs (their own component) and, per model with watched features, the drift alarm."""
        args = self._args
        if not models:
            return
        self.drift_jobs = DriftJobs(
            f"{self._prefix}-drift",
            DriftJobsArgs(
                context=self._ctx,
                models=[DriftJobModel(name=m.name, endpoint_name=m.endpoint_name,
                                      data_capture_s3_uri=m.data_capture_s3_uri,  # type: ignore[arg-type]
                                      baseline_s3_uri=self._baseline_uri(m),
                                      features=tuple(args.model_settings(m).drift_features))
                        for m in models],
                data_key_arn=args.data_key_arn,
                logs_key_arn=args.logs_key_arn,
                subnet_ids=args.subnet_ids,
                security_group_id=args.security_group_id,
                image_uri=args.drift_image_uri,  # type: ignore[arg-type]
                settings=args.settings,
                period_hours=self._period // 3600,
                protect=args.protect,
                retain_on_delete=args.retain_on_delete,
                permissions_boundary_arn=args.permissions_boundary_arn,
            ),
            self._child,
        )
        self.role_arn = self.drift_jobs.role_arn
        for model in models:
            schedule = self.drift_jobs.schedule_names[model.name]
            self.drift_schedule_names[model.name] = schedule
            if args.model_settings(model).drift_features:
                self._drift_alarm(model, schedule)

    # -- Model Monitor ------------------------------------------------------------------------------------
    def _data_quality(self, model: MonitoredModel, role: aws.iam.Role) -> None:
        ctx, args, settings = self._ctx, self._args, self._args.settings
        baseline = self._baseline_uri(model)
        spec = {
            "app": {"image_uri": self._image, "environment": {"publish_cloudwatch_metrics": "Enabled"}},
            "baseline": {"constraints_resource": {"s3_uri": baseline.apply(lambda b: f"{b}/constraints.json")},
                         "statistics_resource": {"s3_uri": baseline.apply(lambda b: f"{b}/statistics.json")}},
            "input": {"endpoint_input": {"endpoint_name": model.endpoint_name, "local_path": INPUT_PATH,
                                         "s3_data_distribution_type": "FullyReplicated", "s3_input_mode": "File"}},
            "output": {"kms_key_id": args.data_key_arn, "monitoring_outputs": {"s3_output": {
                "s3_uri": self._output_uri(model.name, "data-quality"), "local_path": OUTPUT_PATH,
                "s3_upload_mode": "EndOfJob"}}},
            "resources": {"cluster_config": {"instance_count": settings.instance_count,
                                             "instance_type": settings.instance_type,
                                             "volume_size_in_gb": settings.volume_size_gb,
                                             "volume_kms_key_id": args.data_key_arn}},
            "network": self._network(),
            "stopping": {"max_runtime_in_seconds": settings.max_runtime_seconds},
            "role": role.arn,
        }
        definition = aws.sagemaker.DataQualityJobDefinition(
            f"{self._prefix}-{model.name}-data-quality",
            name=pulumi.Output.from_input(spec).apply(content_name(ctx, model.name, "dq")),
            role_arn=role.arn,
            data_quality_app_specification=spec["app"],
            data_quality_baseline_config=spec["baseline"],
            data_quality_job_input=spec["input"],
            data_quality_job_output_config=spec["output"],
            job_resources=spec["resources"],
            network_config=spec["network"],
            stopping_condition=spec["stopping"],
            tags=self._tags(model.name, "data-quality"),
            # The role must be able to read and write before the first run.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self._role_policy]),
        )
        schedule_name = ctx.naming.name(model.name, "data-quality", kind=NameKind.SAGEMAKER)
        aws.sagemaker.MonitoringSchedule(
            f"{self._prefix}-{model.name}-data-quality",
            name=schedule_name,
            monitoring_schedule_config={
                "monitoring_job_definition_name": definition.name,
                "monitoring_type": "DataQuality",
                "schedule_config": {"schedule_expression": settings.schedule_expression},
            },
            tags=self._tags(model.name, "data-quality"),
            opts=self._child,
        )
        self.schedule_names[model.name] = schedule_name
        self.drift_schedule_names[model.name] = schedule_name
        if args.model_settings(model).drift_features:
            self._drift_alarm(model, schedule_name)

    def _model_quality(self, model: MonitoredModel, quality: ModelQuality, role: aws.iam.Role) -> None:
        """``AWS::SageMaker::ModelQualityJobDefinition`` through CloudFormation (pulumi-aws has no
        such resource), scheduled by a Pulumi ``MonitoringSchedule``."""
        ctx, args = self._ctx, self._args
        subnets = args.subnet_ids
        inputs = [role.arn, model.endpoint_name, args.data_key_arn, self._output_uri(model.name, "model-quality"),
                  args.security_group_id, pulumi.Output.from_input(subnets)]

        image = self._image
        rendered = pulumi.Output.all(*inputs).apply(
            lambda values: model_quality_template(ctx, args, model.name, quality, image, values))
        stack = aws.cloudformation.Stack(
            f"{self._prefix}-{model.name}-model-quality",
            name=ctx.naming.name(model.name, "model-quality"),
            template_body=rendered.apply(lambda t: json.dumps(t, sort_keys=True)),
            on_failure="ROLLBACK",
            tags=self._tags(model.name, "model-quality"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self._role_policy]),
        )
        definition_name = rendered.apply(job_definition_name)
        schedule_name = ctx.naming.name(model.name, "model-quality", kind=NameKind.SAGEMAKER)
        aws.sagemaker.MonitoringSchedule(
            f"{self._prefix}-{model.name}-model-quality",
            name=schedule_name,
            monitoring_schedule_config={
                "monitoring_job_definition_name": definition_name,
                "monitoring_type": "ModelQuality",
                "schedule_config": {"schedule_expression": args.settings.schedule_expression},
            },
            tags=self._tags(model.name, "model-quality"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[stack]),
        )
        self.quality_schedule_names[model.name] = schedule_name
        if quality.metric is not None and quality.threshold is not None:
            alarm = self._alarms.model_quality(model, quality, schedule_name)
            self.alarm_arns[model.name].append(alarm.arn)

    # -- dashboard ----------------------------------------------------------------------------------------------
    def _dashboard(self) -> None:
        ctx, args = self._ctx, self._args
        models = args.models
        endpoints = [m.endpoint_name for m in models]
        pipelines = list(args.pipeline_names)
        alarm_arns = [arn for m in models for arn in self.alarm_arns.get(m.name, [])]
        n_models, n_pipelines = len(endpoints), len(pipelines)

        def body(values: list[Any]) -> str:
            endpoint_names = values[:n_models]
            pipeline_names = values[n_models:n_models + n_pipelines]
            arns = values[n_models + n_pipelines:]
            entries = [_dashboard_entry(m, args.model_settings(m), e, self.drift_schedule_names.get(m.name),
                                        self.quality_schedule_names.get(m.name), self._period)
                       for m, e in zip(models, endpoint_names)]
            return json.dumps(dashboard_body(f"{ctx.naming.prefix}: ML platform", ctx.region, entries,
                                             pipeline_names, arns), sort_keys=True)

        self.dashboard_name = ctx.naming.dashboard("ml-platform")
        aws.cloudwatch.Dashboard(
            f"{self._prefix}-dashboard",
            dashboard_name=self.dashboard_name,
            dashboard_body=pulumi.Output.all(*endpoints, *pipelines, *alarm_arns).apply(body),
            opts=self._child,
        )


def _dashboard_entry(model: MonitoredModel, settings: ModelMonitoringSettings, endpoint: str, schedule: str | None,
                     quality_schedule: str | None, period: int) -> dict[str, Any]:
    """What the dashboard layout needs of one model."""
    quality = settings.model_quality
    return {"name": model.name, "endpoint": endpoint, "variants": list(model.variant_names), "schedule": schedule,
            "features": list(settings.drift_features), "period": period,
            "quality": {"metric": quality.metric, "schedule": quality_schedule} if quality and quality.metric else None}
