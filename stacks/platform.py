"""Wire the components into one platform stack. Components own resources; this owns the wiring.

Every environment runs this same function: dev, staging and prod differ only through config.
``build`` reads top-down, each layer a function returning a small bundle the next one takes:
deployment (config, account, providers) -> foundation (keys, network, buckets, audit, roles,
alert topics) -> ML (tracking, training, serving) -> operations (monitoring, retraining, budget,
observability) -> outputs (checked against the schema in outputs.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from mlops_blueprint.components.alerting import Alerting, AlertingArgs
from mlops_blueprint.components.artifact_store import ArtifactStore, ArtifactStoreArgs
from mlops_blueprint.components.audit_trail import AuditTrail, AuditTrailArgs, trail_bucket_name
from mlops_blueprint.components.irsa import ServiceAccountTrust
from mlops_blueprint.components.k8s_serving import SERVING_SERVICE_ACCOUNT, K8sServing, K8sServingArgs
from mlops_blueprint.components.kms import Kms, KmsArgs
from mlops_blueprint.components.cost_guardrails import CostGuardrails, CostGuardrailsArgs
from mlops_blueprint.components.feature_store import FeatureStore, FeatureStoreArgs
from mlops_blueprint.components.monitoring import MonitoredModel, Monitoring, MonitoringArgs
from mlops_blueprint.components.network import Network, NetworkArgs
from mlops_blueprint.components.observability import Observability, ObservabilityArgs
from mlops_blueprint.components.platform_roles import MlflowAccess, PlatformRoles, PlatformRolesArgs
from mlops_blueprint.components.retraining import RetrainedModel, Retraining, RetrainingArgs
from mlops_blueprint.components.s3_bucket import bucket_arn
from mlops_blueprint.components.serving_endpoint import ServingEndpoint, ServingEndpointArgs, data_capture_uri
from mlops_blueprint.components.tracking_server import (
    TrackingEndpointArgs, TrackingServer, tracking_server_args, tracking_service_account,
)
from mlops_blueprint.components.training_compute import TrainingCompute, TrainingComputeArgs
from mlops_blueprint.config import PlatformConfig
from mlops_blueprint.outputs import Out, stack_outputs
from mlops_blueprint.components.served_model_settings import resolve_model
from mlops_blueprint.stacks.deployment import Deployment, resolve_deployment, shared_network
from mlops_blueprint.components.tracking_server_settings import mlflow_endpoint_needed


@dataclass(frozen=True)
class Foundation:
    """Keys, network, buckets, audit, roles and the alert topics everything else pages."""

    kms: Kms
    network: Network
    artifacts: ArtifactStore
    audit: AuditTrail
    roles: PlatformRoles
    alerting: Alerting


@dataclass(frozen=True)
class MachineLearning:
    """Tracking, training, serving and the feature store (off by default)."""

    tracking: TrackingServer
    training: TrainingCompute
    endpoints: dict[str, ServingEndpoint]
    k8s_models: K8sServing | None
    feature_store: FeatureStore | None


@dataclass(frozen=True)
class Operations:
    """Monitoring, retraining, budget and observability (each but monitoring optional)."""

    monitoring: Monitoring
    retraining: Retraining | None
    budget: CostGuardrails | None
    observability: Observability | None


def build(config: PlatformConfig) -> dict[str, Any]:
    """Create the platform for ``config``; returns the stack outputs (camelCase names, see outputs.py)."""
    deployment = resolve_deployment(config)
    foundation = _foundation(deployment)
    ml = _machine_learning(deployment, foundation)
    operations = _operations(deployment, foundation, ml)
    return _outputs(deployment, foundation, ml, operations)


# -- foundation -----------------------------------------------------------------------------------

def _foundation(d: Deployment) -> Foundation:
    config, ctx, opts, stateful, boundary = d.config, d.ctx, d.opts, d.stateful, d.boundary
    kms = Kms("kms", KmsArgs(context=ctx, settings=config.kms, **stateful), opts)
    network = Network(
        "network",
        NetworkArgs(context=ctx, logs_kms_key_arn=kms.logs_key_arn, shared_network=shared_network(config),
                    permissions_boundary_arn=boundary, settings=config.network, **stateful),
        opts,
    )
    # The trail bucket logs to the artifact store's log bucket, which only accepts the sources it names.
    trail_bucket = (bucket_arn(ctx, trail_bucket_name(ctx)),) if config.audit.trail == "create" else ()
    artifacts = ArtifactStore(
        "artifacts",
        ArtifactStoreArgs(context=ctx, kms_key_arn=kms.data_key_arn, access_log_source_bucket_arns=trail_bucket,
                          settings=config.artifacts, **stateful),
        opts,
    )
    audit = AuditTrail(
        "audit",
        AuditTrailArgs(
            context=ctx,
            kms_key_arn=kms.logs_key_arn,
            access_log_bucket_name=artifacts.logs_bucket_name,
            data_event_bucket_arns=(artifacts.datasets_bucket_arn, artifacts.models_bucket_arn),
            force_destroy=config.artifacts.force_destroy,
            permissions_boundary_arn=boundary,
            settings=config.audit,
            **stateful,
        ),
        opts,
    )
    tracking_config, serving_config = config.tracking, config.serving
    roles = PlatformRoles(
        "roles",
        PlatformRolesArgs(
            context=ctx,
            data_key_arn=kms.data_key_arn,
            logs_key_arn=kms.logs_key_arn,
            datasets_bucket_arn=artifacts.datasets_bucket_arn,
            models_bucket_arn=artifacts.models_bucket_arn,
            settings=config.iam,
            tracking_artifact_prefix=tracking_config.artifact_prefix,
            tracking_service_account=(
                tracking_service_account(config.kubernetes.oidc_provider_arn, tracking_config.kubernetes.namespace)
                if d.k8s_tracking else None
            ),
            serving_service_account=(
                ServiceAccountTrust(config.kubernetes.oidc_provider_arn, serving_config.kubernetes.namespace,
                                    SERVING_SERVICE_ACCOUNT)
                if d.k8s_serving else None
            ),
        ),
        opts,
    )
    alerting = Alerting(
        "alerting",
        AlertingArgs(
            context=ctx,
            kms_key_arn=kms.logs_key_arn,
            settings=config.alerts,
        ),
        opts,
    )
    return Foundation(kms=kms, network=network, artifacts=artifacts, audit=audit, roles=roles, alerting=alerting)


# -- ML: tracking, training, serving --------------------------------------------------------------

def _machine_learning(d: Deployment, f: Foundation) -> MachineLearning:
    config, ctx, opts = d.config, d.ctx, d.opts
    kms, network, artifacts, roles = f.kms, f.network, f.artifacts, f.roles
    tracking_config, serving_config = config.tracking, config.serving
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
            **d.stateful,
        ),
        d.cluster_opts if d.k8s_tracking else opts,
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
            settings=config.training,
            model_package_group_name=tracking.model_package_group_names[families[0]] if families else None,
            mlflow_tracking_arn=tracking.tracking_server_arn,  # None for kubernetes: jobs cannot reach it
            role_policies=roles.depends_on("pipelines", "training"),
            force_delete=config.artifacts.force_destroy,
            **d.stateful,
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
                    settings=serving_config,
                    execution_role_arn=roles.serving_role_arn,
                    subnet_ids=network.serving_subnet_ids,
                    security_group_ids=[network.workload_security_group_id],
                    models_bucket_name=artifacts.models_bucket_name,
                    kms_key_arn=kms.data_key_arn,
                    alarm_actions=[f.alerting.topic_for("errors")],  # a rollback pages someone
                    execution_role_policies=roles.depends_on("serving"),
                ),
                opts,
            )
    k8s_models = (
        K8sServing("model-serving", K8sServingArgs(context=ctx, models=config.models,
                                                   serving_role_arn=roles.serving_role_arn,
                                                   settings=serving_config.kubernetes), d.cluster_opts)
        if d.k8s_serving else None
    )
    feature_store = (
        FeatureStore("feature-store", FeatureStoreArgs(
            context=ctx, datasets_bucket_name=artifacts.datasets_bucket_name, data_key_arn=kms.data_key_arn,
            permissions_boundary_arn=d.boundary, settings=config.feature_store, **d.stateful), opts)
        if config.feature_store.enabled else None
    )
    return MachineLearning(tracking=tracking, training=training, endpoints=endpoints, k8s_models=k8s_models,
                           feature_store=feature_store)


# -- operations: monitoring, retraining, budget, observability ------------------------------------

def _operations(d: Deployment, f: Foundation, ml: MachineLearning) -> Operations:
    config, ctx, opts = d.config, d.ctx, d.opts
    monitoring = _monitoring(d, f, ml)
    retraining = _retraining(d, f, ml, monitoring)
    budget = (
        CostGuardrails(
            "cost",
            CostGuardrailsArgs(
                context=ctx,
                topic_arn=f.alerting.topic_for("budget"),
                settings=config.budget,
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
                settings=observed,
                key_deletion_window_days=config.kms.deletion_window_days,
                permissions_boundary_arn=d.boundary,
                **d.stateful,
            ),
            opts,
        )
        if observed.prometheus or observed.grafana else None
    )
    return Operations(monitoring=monitoring, retraining=retraining, budget=budget, observability=observability)


def _monitoring(d: Deployment, f: Foundation, ml: MachineLearning) -> Monitoring:
    """Drift jobs (or Model Monitor), alarms and the dashboard for every SageMaker endpoint (and the pipelines)."""
    config, artifacts, kms, network, training = d.config, f.artifacts, f.kms, f.network, ml.training
    settings = config.monitoring
    monitored = []
    for model in config.models:
        if model.name not in ml.endpoints:
            continue
        endpoint = ml.endpoints[model.name]
        captured = resolve_model(config.serving, model).captures_data
        monitored.append(MonitoredModel(
            name=model.name,
            endpoint_name=endpoint.endpoint_name,
            variant_names=endpoint.variant_names,
            data_capture_s3_uri=(artifacts.models_bucket_name.apply(lambda bucket, n=model.name: data_capture_uri(bucket, n))
                                 if captured else None),
        ))
    return Monitoring(
        "monitoring",
        MonitoringArgs(
            context=d.ctx,
            models=monitored,
            models_bucket_name=artifacts.models_bucket_name,
            data_key_arn=kms.data_key_arn,
            subnet_ids=network.training_subnet_ids,
            security_group_id=network.workload_security_group_id,
            alarm_topics=f.alerting.routes,
            pipeline_names=[training.pipeline_name],
            permissions_boundary_arn=config.iam.permissions_boundary_arn,
            # processing engine: the drift module runs from the training image
            drift_image_uri=pulumi.Output.concat(training.training_repository_url, ":", settings.image_tag),
            logs_key_arn=kms.logs_key_arn,
            protect=config.protect_stateful,
            retain_on_delete=config.retain_on_delete,
            settings=settings,
        ),
        d.opts,
    )


def _retraining(d: Deployment, f: Foundation, ml: MachineLearning, monitoring: Monitoring) -> Retraining | None:
    """Drift alarms start the training pipeline, for the models that opted in."""
    settings, training = d.config.retraining, ml.training
    models = [
        RetrainedModel(name=name, drift_alarm_arn=arn, pipeline_arn=training.pipeline_arn,
                       pipeline_definition=training.pipeline_definition)
        for name, arn in sorted(monitoring.drift_alarm_arns.items()) if settings.enabled_for(name)
    ]
    if not models:
        return None
    return Retraining(
        "retraining",
        RetrainingArgs(
            context=d.ctx,
            models=models,
            notify_topic_arn=f.alerting.topic_for("retraining"),
            operations_topic_arn=f.alerting.topic_for("operations"),
            permissions_boundary_arn=d.boundary,
            settings=settings,
        ),
        d.opts,
    )


# -- outputs (named and typed in outputs.py) ------------------------------------------------------

def _outputs(d: Deployment, f: Foundation, ml: MachineLearning, ops: Operations) -> dict[str, Any]:
    config, kms, network, artifacts, roles = d.config, f.kms, f.network, f.artifacts, f.roles
    tracking, training, endpoints = ml.tracking, ml.training, ml.endpoints
    outputs: dict[str, Any] = {
        Out.ENVIRONMENT: config.environment,
        Out.REGION: config.region,
        Out.ACCOUNT_ID: d.ctx.account_id,
        Out.DATA_KEY_ARN: kms.data_key_arn,
        Out.LOGS_KEY_ARN: kms.logs_key_arn,
        Out.VPC_ID: network.vpc_id,
        Out.VPC_CIDR: network.vpc_cidr,
        Out.TRAINING_SUBNET_IDS: network.training_subnet_ids,
        Out.SERVING_SUBNET_IDS: network.serving_subnet_ids,
        Out.DATABASE_SUBNET_IDS: network.database_subnet_ids,
        Out.WORKLOAD_SECURITY_GROUP_ID: network.workload_security_group_id,
        Out.MODELS_BUCKET_NAME: artifacts.models_bucket_name,
        Out.DATASETS_BUCKET_NAME: artifacts.datasets_bucket_name,
        Out.ACCESS_LOGS_BUCKET_NAME: artifacts.logs_bucket_name,
        Out.TRAINING_ROLE_ARN: roles.training_role_arn,
        Out.SERVING_ROLE_ARN: roles.serving_role_arn,
        Out.TRACKING_ROLE_ARN: roles.tracking_role_arn,
        Out.PIPELINES_ROLE_ARN: roles.pipelines_role_arn,
        Out.TRACKING_BACKEND: tracking.backend,
        Out.TRACKING_URI: tracking.tracking_uri,
        Out.TRACKING_SERVER_URL: tracking.tracking_server_url,
        Out.TRACKING_SERVER_ARN: tracking.tracking_server_arn,
        Out.MLFLOW_ARTIFACT_URI: tracking.mlflow_artifact_uri,
        Out.MODEL_PACKAGE_GROUP_NAMES: tracking.model_package_group_names,
        Out.ECR_REPOSITORY_URLS: training.repository_urls,
        Out.PIPELINE_ARN: training.pipeline_arn,
        Out.PIPELINE_NAME: training.pipeline_name,
        Out.ENDPOINT_NAMES: {name: e.endpoint_name for name, e in endpoints.items()},
        Out.ENDPOINT_ARNS: {name: e.endpoint_arn for name, e in endpoints.items()},
        # What `mlops-blueprint verify` compares the live endpoints with.
        Out.ENDPOINT_CONFIG_NAMES: {name: e.endpoint_config_name for name, e in endpoints.items()},
        Out.ENDPOINT_VARIANT_WEIGHTS: {m.name: {v.name: v.weight for v in resolve_model(config.serving, m).variants}
                                       for m in config.models if m.name in endpoints},
        Out.ALARM_ARNS: {name: [a.arn for a in e.alarms] for name, e in endpoints.items()},
        Out.SERVED_MODEL_PACKAGES: {name: package.as_output() for name, package in sorted(d.served_packages.items())},
        Out.ALERT_TOPIC_ARNS: f.alerting.topic_arns,
        Out.MONITORING_DASHBOARD_NAME: ops.monitoring.dashboard_name,
        Out.MONITORING_ROLE_ARN: ops.monitoring.role_arn,
        Out.DRIFT_ALARM_ARNS: ops.monitoring.drift_alarm_arns,
        Out.DRIFT_SCHEDULE_NAMES: ops.monitoring.drift_schedule_names,  # the drift metrics' MonitoringSchedule
    }
    for name, arns in ops.monitoring.alarm_arns.items():
        outputs[Out.ALARM_ARNS].setdefault(name, []).extend(arns)
    # The trail that records the account (ours or the organisation's); the bucket only when it is ours.
    optional = {
        Out.AUDIT_TRAIL_ARN: f.audit.trail_arn,
        Out.AUDIT_BUCKET_NAME: f.audit.trail_bucket_name,
        Out.MLFLOW_USER_POLICY_ARN: roles.mlflow_user_policy_arn,
        Out.MLFLOW_VPC_ENDPOINT_ID: tracking.vpc_endpoint_id,
        Out.SERVING_SERVICE_URLS: ml.k8s_models.service_urls if ml.k8s_models else None,
        Out.RETRAINING_RULE_NAMES: ops.retraining.rule_names if ops.retraining else None,
        Out.BUDGET_NAME: ops.budget.budget_name if ops.budget else None,
    }
    outputs.update({name: value for name, value in optional.items() if value is not None})
    if ops.observability is not None:
        outputs[Out.PROMETHEUS_REMOTE_WRITE_URL] = ops.observability.remote_write_url
        outputs[Out.GRAFANA_ENDPOINT] = ops.observability.grafana_endpoint
    if config.iam.ci.provider != "none":
        outputs[Out.CI_PREVIEW_ROLE_ARN] = roles.ci_preview_role_arn
        outputs[Out.CI_DEPLOY_ROLE_ARN] = roles.ci_deploy_role_arn
    return stack_outputs(outputs)
