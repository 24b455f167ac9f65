"""Wire the components into one platform stack. Components own resources; this owns the wiring.

Every environment runs this same function: dev, staging and prod differ only through config.
Read top-down: foundation (keys, network, buckets, audit, roles) -> ML (tracking, training,
serving) -> operations (alerts, monitoring, retraining, budget, observability) -> outputs.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from mlops_blueprint.components.alerting import Alerting, AlertingArgs, Subscription
from mlops_blueprint.components.artifact_store import ArtifactStore, ArtifactStoreArgs
from mlops_blueprint.components.audit_trail import AuditTrail, AuditTrailArgs, trail_bucket_name
from mlops_blueprint.components.irsa import ServiceAccountTrust
from mlops_blueprint.components.k8s_serving import SERVING_SERVICE_ACCOUNT, K8sServing, K8sServingArgs
from mlops_blueprint.components.kms import Kms, KmsArgs
from mlops_blueprint.components.cost_guardrails import CostGuardrails, CostGuardrailsArgs
from mlops_blueprint.components.monitoring import AlarmThresholds, ModelQuality, MonitoredModel, Monitoring, MonitoringArgs
from mlops_blueprint.components.network import ExistingNetwork, Network, NetworkArgs
from mlops_blueprint.components.observability import Observability, ObservabilityArgs
from mlops_blueprint.components.platform_roles import MlflowAccess, PlatformRoles, PlatformRolesArgs
from mlops_blueprint.components.retraining import RetrainedModel, Retraining, RetrainingArgs
from mlops_blueprint.components.s3_bucket import bucket_arn
from mlops_blueprint.components.serving_endpoint import ServingEndpoint, ServingEndpointArgs, data_capture_uri
from mlops_blueprint.components.tracking_server import (
    TrackingEndpointArgs, TrackingServer, tracking_server_args, tracking_service_account,
)
from mlops_blueprint.components.training_compute import TrainingCompute, TrainingComputeArgs
from mlops_blueprint.config import PROJECT, PlatformConfig, require_account
from mlops_blueprint.context import StackContext
from mlops_blueprint.model_registry import resolve_models
from mlops_blueprint.providers import account_context, aws_provider
from mlops_blueprint.serving_config import resolve_model
from mlops_blueprint.tags import Tagging
from mlops_blueprint.tracking_config import mlflow_endpoint_needed


def _tagging(config: PlatformConfig) -> Tagging:
    return Tagging(
        project=PROJECT,
        environment=config.environment,
        owner=config.owner,
        cost_center=config.cost_center,
        data_classification=config.data_classification,
    )


def _shared_network(config: PlatformConfig) -> ExistingNetwork | None:
    """With ``network.mode: shared`` the VPC comes from another stack's outputs (e.g. a shared
    network stack of this same program, in this or a networking account)."""
    if config.network.mode != "shared":
        return None
    shared = pulumi.StackReference(config.network.shared_stack)
    return ExistingNetwork(
        vpc_id=shared.require_output("vpcId"),
        vpc_cidr=shared.require_output("vpcCidr"),
        private_subnet_ids=shared.require_output("trainingSubnetIds"),
        database_subnet_ids=shared.require_output("databaseSubnetIds"),
    )


def _cluster_provider(config: PlatformConfig) -> k8s.Provider | None:
    """One Kubernetes provider for every Kubernetes backend (tracking, serving), only when one is used."""
    uses_cluster = config.tracking.backend == "kubernetes" or (config.serving.backend == "kubernetes" and config.models)
    if not uses_cluster or config.kubernetes is None:  # config validation requires the cluster when used
        return None
    return k8s.Provider("kubernetes", kubeconfig=config.kubernetes.kubeconfig, context=config.kubernetes.context)


def build(config: PlatformConfig) -> dict[str, Any]:
    """Create the platform for ``config``; returns the stack outputs (camelCase names)."""
    # Registry-backed models serve the package the registry names now; a model that cannot be
    # resolved is a config error, raised before anything registers.
    models, served_packages = resolve_models(config)
    config = config.model_copy(update={"models": models})
    tagging = _tagging(config)
    provider = aws_provider(config.region, tagging, allowed_account_ids=config.allowed_account_ids)
    ctx = account_context(provider, config.region, tagging)
    require_account(config, ctx.account_id)  # what only the account can tell (boundary, OIDC providers)
    opts = pulumi.ResourceOptions(providers={"aws": provider})
    cluster = _cluster_provider(config)
    cluster_opts = pulumi.ResourceOptions(providers={"aws": provider, "kubernetes": cluster}) if cluster else opts
    stateful = {"protect": config.protect_stateful, "retain_on_delete": config.retain_on_delete}
    boundary = config.iam.permissions_boundary_arn

    # -- foundation -------------------------------------------------------------------------------
    kms = Kms("kms", KmsArgs(context=ctx, deletion_window_days=config.kms.deletion_window_days, **stateful), opts)
    network = Network(
        "network",
        NetworkArgs(
            context=ctx,
            cidr=config.network.cidr,
            az_count=config.network.az_count,
            interface_endpoints=tuple(config.network.interface_endpoints),
            endpoint_az_count=config.network.endpoint_az_count,
            flow_log_retention_days=config.network.flow_log_retention_days,
            logs_kms_key_arn=kms.logs_key_arn,
            existing=config.network.existing or _shared_network(config),
            permissions_boundary_arn=boundary,
            **stateful,
        ),
        opts,
    )
    artifacts = ArtifactStore(
        "artifacts",
        ArtifactStoreArgs(
            context=ctx,
            kms_key_arn=kms.data_key_arn,
            force_destroy=config.artifacts.force_destroy,
            noncurrent_days_to_ia=config.artifacts.noncurrent_days_to_ia,
            noncurrent_days_to_glacier=config.artifacts.noncurrent_days_to_glacier,
            noncurrent_expiration_days=config.artifacts.noncurrent_expiration_days,
            abort_incomplete_upload_days=config.artifacts.abort_incomplete_upload_days,
            access_log_expiration_days=config.artifacts.access_log_expiration_days,
            # The trail bucket logs here too; the log bucket only accepts the sources it names.
            access_log_source_bucket_arns=(bucket_arn(ctx, trail_bucket_name(ctx)),) if config.audit.trail == "create" else (),
            **stateful,
        ),
        opts,
    )
    audit = AuditTrail(
        "audit",
        AuditTrailArgs(
            context=ctx,
            kms_key_arn=kms.logs_key_arn,
            access_log_bucket_name=artifacts.logs_bucket_name,
            data_event_bucket_arns=(artifacts.datasets_bucket_arn, artifacts.models_bucket_arn) if config.audit.data_events else (),
            object_lock=config.audit.object_lock,
            object_lock_days=config.audit.object_lock_days,
            log_retention_days=config.audit.log_retention_days,
            trail=config.audit.trail,
            existing_trail_arn=config.audit.existing_trail_arn,
            force_destroy=config.artifacts.force_destroy,
            permissions_boundary_arn=boundary,
            **stateful,
        ),
        opts,
    )
    ci, tracking_config, serving_config = config.iam.ci, config.tracking, config.serving
    k8s_tracking = tracking_config.backend == "kubernetes" and config.kubernetes is not None
    k8s_serving = serving_config.backend == "kubernetes" and config.kubernetes is not None and bool(config.models)
    roles = PlatformRoles(
        "roles",
        PlatformRolesArgs(
            context=ctx,
            data_key_arn=kms.data_key_arn,
            logs_key_arn=kms.logs_key_arn,
            datasets_bucket_arn=artifacts.datasets_bucket_arn,
            models_bucket_arn=artifacts.models_bucket_arn,
            permissions_boundary_arn=boundary,
            ci_provider=ci.provider,
            ci_repository=ci.repository,
            ci_deploy_branch=ci.deploy_branch,
            ci_oidc_provider_arn=ci.oidc_provider_arn,
            gitlab_url=ci.gitlab_url,
            tracking_artifact_prefix=tracking_config.artifact_prefix,
            tracking_service_account=(
                tracking_service_account(config.kubernetes.oidc_provider_arn, tracking_config.kubernetes.namespace)
                if k8s_tracking else None
            ),
            serving_service_account=(
                ServiceAccountTrust(config.kubernetes.oidc_provider_arn, serving_config.kubernetes.namespace,
                                    SERVING_SERVICE_ACCOUNT)
                if k8s_serving else None
            ),
        ),
        opts,
    )

    # -- ML: tracking, training, serving ----------------------------------------------------------
    tracking = TrackingServer(
        "tracking",
        tracking_server_args(
            ctx,
            tracking_config,
            tracking_role_arn=roles.tracking_role_arn,
            models_bucket_name=artifacts.models_bucket_name,
            data_key_arn=kms.data_key_arn,
            vpc_id=network.vpc_id,
            vpc_cidr=network.vpc_cidr,
            db_subnet_group_name=network.db_subnet_group_name,
            database_subnet_ids=network.database_subnet_ids,
            node_security_group_id=config.kubernetes.node_security_group_id if config.kubernetes else None,
            # The VPC's path to SageMaker MLflow, in a VPC this stack creates (a brought or shared VPC
            # holds one endpoint per service with private DNS: its owner provides it).
            private_endpoint=TrackingEndpointArgs(
                vpc_id=network.vpc_id,
                subnet_ids=network.serving_subnet_ids,
                client_security_group_ids=(network.workload_security_group_id,),
            ) if mlflow_endpoint_needed(tracking_config.backend, config.network.mode) else None,
            role_policies=roles.depends_on("tracking"),
            **stateful,
        ),
        cluster_opts if k8s_tracking else opts,
    )
    roles.grant_mlflow(MlflowAccess(backend=tracking.backend, resource_arn=tracking.tracking_server_arn,
                                    vpc_id=network.vpc_id, users_vpc_only=tracking_config.users_vpc_only))
    # The training pipeline registers into the first model family's group (the tracking server owns the groups).
    families = tracking_config.model_families
    training = TrainingCompute(
        "training",
        TrainingComputeArgs(
            context=ctx,
            kms_key_arn=kms.data_key_arn,
            training_role_arn=roles.training_role_arn,
            pipelines_role_arn=roles.pipelines_role_arn,
            subnet_ids=network.training_subnet_ids,
            security_group_ids=[network.workload_security_group_id],
            datasets_bucket_name=artifacts.datasets_bucket_name,
            models_bucket_name=artifacts.models_bucket_name,
            training=config.training,
            model_package_group_name=tracking.model_package_group_names[families[0]] if families else None,
            mlflow_tracking_arn=tracking.tracking_server_arn,  # None for kubernetes: jobs cannot reach it
            role_policies=roles.depends_on("pipelines", "training"),
            force_delete=config.artifacts.force_destroy,
            **stateful,
        ),
        opts,
    )
    alerting = Alerting(
        "alerting",
        AlertingArgs(
            context=ctx,
            kms_key_arn=kms.logs_key_arn,
            subscriptions={severity: [Subscription(s.protocol, s.endpoint) for s in subscriptions]
                           for severity, subscriptions in config.alerts.subscriptions.items()},
            routes=config.alerts.routes.as_dict(),
        ),
        opts,
    )
    endpoints: dict[str, ServingEndpoint] = {}
    if serving_config.backend == "sagemaker":
        for model in config.models:
            endpoints[model.name] = ServingEndpoint(
                f"serving-{model.name}",
                ServingEndpointArgs(
                    context=ctx,
                    model=model,
                    serving=serving_config,
                    execution_role_arn=roles.serving_role_arn,
                    subnet_ids=network.serving_subnet_ids,
                    security_group_ids=[network.workload_security_group_id],
                    models_bucket_name=artifacts.models_bucket_name,
                    kms_key_arn=kms.data_key_arn,
                    alarm_actions=[alerting.topic_for("errors")],  # a rollback pages someone
                    execution_role_policies=roles.depends_on("serving"),
                ),
                opts,
            )
    k8s_models = (
        K8sServing("model-serving", K8sServingArgs(context=ctx, models=config.models, serving=serving_config,
                                                   serving_role_arn=roles.serving_role_arn), cluster_opts)
        if k8s_serving else None
    )

    # -- operations: monitoring, retraining, budget, observability --------------------------------
    monitoring = _monitoring(config, ctx, opts, endpoints, artifacts, kms, network, alerting, training)
    retraining = _retraining(config, ctx, opts, monitoring, alerting, training)
    budget = (
        CostGuardrails(
            "cost",
            CostGuardrailsArgs(
                context=ctx,
                monthly_limit_usd=config.budget.monthly_limit_usd,
                topic_arn=alerting.topic_for("budget"),
                thresholds_percent=config.budget.thresholds_percent,
                forecast_threshold_percent=config.budget.forecast_threshold_percent,
                scope=config.budget.scope,
            ),
            opts,
        )
        if config.budget.enabled else None
    )
    observed = config.observability
    observability = (
        Observability(
            "observability",
            ObservabilityArgs(
                context=ctx,
                prometheus=observed.prometheus,
                grafana=observed.grafana,
                grafana_authentication=observed.grafana_authentication,
                key_deletion_window_days=config.kms.deletion_window_days,
                permissions_boundary_arn=boundary,
                **stateful,
            ),
            opts,
        )
        if observed.prometheus or observed.grafana else None
    )

    # -- outputs ----------------------------------------------------------------------------------
    outputs: dict[str, Any] = {
        "environment": config.environment,
        "region": config.region,
        "accountId": ctx.account_id,
        "dataKeyArn": kms.data_key_arn,
        "logsKeyArn": kms.logs_key_arn,
        "vpcId": network.vpc_id,
        "vpcCidr": network.vpc_cidr,
        "trainingSubnetIds": network.training_subnet_ids,
        "servingSubnetIds": network.serving_subnet_ids,
        "databaseSubnetIds": network.database_subnet_ids,
        "workloadSecurityGroupId": network.workload_security_group_id,
        "artifactBucketName": artifacts.models_bucket_name,
        "datasetsBucketName": artifacts.datasets_bucket_name,
        "accessLogsBucketName": artifacts.logs_bucket_name,
        "trainingRoleArn": roles.training_role_arn,
        "servingRoleArn": roles.serving_role_arn,
        "trackingRoleArn": roles.tracking_role_arn,
        "pipelinesRoleArn": roles.pipelines_role_arn,
        "trackingBackend": tracking.backend,
        "trackingUri": tracking.tracking_uri,
        "trackingServerUrl": tracking.tracking_server_url,
        "trackingServerArn": tracking.tracking_server_arn,
        "mlflowArtifactUri": tracking.mlflow_artifact_uri,
        "modelPackageGroupNames": tracking.model_package_group_names,
        "ecrRepositoryUrls": training.repository_urls,
        "pipelineArn": training.pipeline_arn,
        "pipelineName": training.pipeline_name,
        "endpointNames": {name: e.endpoint_name for name, e in endpoints.items()},
        "endpointArns": {name: e.endpoint_arn for name, e in endpoints.items()},
        # What `mlops-blueprint verify` compares the live endpoints with.
        "endpointConfigNames": {name: e.endpoint_config_name for name, e in endpoints.items()},
        "endpointVariantWeights": {m.name: {v.name: v.weight for v in resolve_model(config.serving, m).variants}
                                   for m in config.models if m.name in endpoints},
        "alarmArns": {name: [a.arn for a in e.alarms] for name, e in endpoints.items()},
        "servedModelPackages": {name: package.as_output() for name, package in sorted(served_packages.items())},
        "alertTopicArns": alerting.topic_arns,
    }
    # The trail that records the account (ours or the organisation's); the bucket only when it is ours.
    if audit.trail_arn is not None:
        outputs["auditTrailArn"] = audit.trail_arn
    if audit.trail_bucket_name is not None:
        outputs["auditBucketName"] = audit.trail_bucket_name
    if roles.mlflow_user_policy_arn is not None:
        outputs["mlflowUserPolicyArn"] = roles.mlflow_user_policy_arn
    if tracking.vpc_endpoint_id is not None:
        outputs["mlflowVpcEndpointId"] = tracking.vpc_endpoint_id
    if k8s_models is not None:
        outputs["servingServiceUrls"] = k8s_models.service_urls
    if monitoring is not None:
        outputs["monitoringDashboardName"] = monitoring.dashboard_name
        outputs["monitoringRoleArn"] = monitoring.role_arn
        outputs["driftAlarmArns"] = monitoring.drift_alarm_arns
        outputs["driftScheduleNames"] = monitoring.drift_schedule_names  # the drift metrics' MonitoringSchedule
        for name, arns in monitoring.alarm_arns.items():
            outputs["alarmArns"].setdefault(name, []).extend(arns)
    if retraining is not None:
        outputs["retrainingRuleNames"] = retraining.rule_names
    if budget is not None:
        outputs["budgetName"] = budget.budget_name
    if observability is not None:
        outputs["prometheusRemoteWriteUrl"] = observability.remote_write_url
        outputs["grafanaEndpoint"] = observability.grafana_endpoint
    if ci.provider != "none":
        outputs["ciPreviewRoleArn"] = roles.ci_preview_role_arn
        outputs["ciDeployRoleArn"] = roles.ci_deploy_role_arn
    return outputs


def _monitoring(config: PlatformConfig, ctx: StackContext, opts: pulumi.ResourceOptions,
                endpoints: dict[str, ServingEndpoint], artifacts: ArtifactStore, kms: Kms, network: Network,
                alerting: Alerting, training: TrainingCompute) -> Monitoring:
    """Drift jobs (or Model Monitor), alarms and the dashboard for every SageMaker endpoint (and the pipelines)."""
    settings = config.monitoring
    monitored = []
    for model in config.models:
        if model.name not in endpoints:
            continue
        per_model, endpoint = settings.for_model(model.name), endpoints[model.name]
        captured = resolve_model(config.serving, model).captures_data
        monitored.append(MonitoredModel(
            name=model.name,
            endpoint_name=endpoint.endpoint_name,
            variant_names=endpoint.variant_names,
            data_capture_s3_uri=(artifacts.models_bucket_name.apply(lambda bucket, n=model.name: data_capture_uri(bucket, n))
                                 if captured else None),
            drift_features=per_model.drift_features,
            baseline_s3_uri=per_model.baseline_s3_uri,
            min_invocations=per_model.min_invocations,
            monitor=per_model.enabled,
            model_quality=ModelQuality(**per_model.model_quality.model_dump()) if per_model.model_quality else None,
        ))
    return Monitoring(
        "monitoring",
        MonitoringArgs(
            context=ctx,
            models=monitored,
            models_bucket_name=artifacts.models_bucket_name,
            data_key_arn=kms.data_key_arn,
            subnet_ids=network.training_subnet_ids,
            security_group_id=network.workload_security_group_id,
            alarm_topics=alerting.routes,
            schedule_expression=settings.schedule_expression,
            instance_type=settings.instance_type,
            instance_count=settings.instance_count,
            volume_size_gb=settings.volume_size_gb,
            max_runtime_seconds=settings.max_runtime_seconds,
            prefix=settings.prefix,
            alarms=AlarmThresholds(**settings.alarms.model_dump()),
            dashboard=settings.dashboard,
            pipeline_names=[training.pipeline_name],
            permissions_boundary_arn=config.iam.permissions_boundary_arn,
            engine=settings.engine,
            # processing engine: the drift module runs from the training image
            drift_image_uri=pulumi.Output.concat(training.training_repository_url, ":", settings.image_tag),
            logs_key_arn=kms.logs_key_arn,
            processing_log_group=settings.processing_log_group,
            log_retention_days=settings.log_retention_days,
            protect=config.protect_stateful,
            retain_on_delete=config.retain_on_delete,
        ),
        opts,
    )


def _retraining(config: PlatformConfig, ctx: StackContext, opts: pulumi.ResourceOptions, monitoring: Monitoring,
                alerting: Alerting, training: TrainingCompute) -> Retraining | None:
    """Drift alarms start the training pipeline, for the models that opted in."""
    settings = config.retraining
    models = [
        RetrainedModel(name=name, drift_alarm_arn=arn, pipeline_arn=training.pipeline_arn,
                       parameters=settings.parameters_for(name), pipeline_definition=training.pipeline_definition)
        for name, arn in sorted(monitoring.drift_alarm_arns.items()) if settings.enabled_for(name)
    ]
    if not models:
        return None
    return Retraining(
        "retraining",
        RetrainingArgs(
            context=ctx,
            models=models,
            min_period_hours=settings.min_period_hours,
            model_parameter_name=settings.model_parameter_name,
            notify_topic_arn=alerting.topic_for("retraining"),
            operations_topic_arn=alerting.topic_for("operations"),
            permissions_boundary_arn=config.iam.permissions_boundary_arn,
        ),
        opts,
    )
