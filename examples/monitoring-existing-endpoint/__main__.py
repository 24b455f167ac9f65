"""Monitoring and drift-triggered retraining for an endpoint this program does not create.

What a platform team writes when a model is already served (by another stack, a pipeline, or by
hand): the endpoint and the training pipeline are named in the stack config; this program adds
the alert topics, a bucket for baselines and reports, Model Monitor drift schedules and the
endpoint's alarms (errors, latency, drift), and the rule that starts the training pipeline when
the drift alarm fires, at most once per cooldown period.
"""

import pulumi

from mlops_blueprint.components.alerting import Alerting, AlertingArgs
from mlops_blueprint.components.artifact_store import ArtifactStore, ArtifactStoreArgs
from mlops_blueprint.components.kms import Kms, KmsArgs
from mlops_blueprint.components.monitoring import Monitoring, MonitoringArgs
from mlops_blueprint.components.monitoring.args import MonitoredModel
from mlops_blueprint.components.monitoring.settings import MonitoringSettings
from mlops_blueprint.components.network import Network, NetworkArgs
from mlops_blueprint.components.network_settings import ExistingVpc, NetworkSettings
from mlops_blueprint.components.retraining import RetrainedModel, Retraining, RetrainingArgs
from mlops_blueprint.components.retraining_settings import RetrainingSettings
from mlops_blueprint.team_program import team_program

# environment, owner, costCenter, dataClassification and aws:region: tags, provider, account context.
program = team_program()
ctx, opts, stateful = program.ctx, program.opts, program.stateful  # stateful: protected and retained in prod
existing_vpc = program.section("existingVpc", ExistingVpc, required=True)
monitoring_settings = program.section("monitoring", MonitoringSettings)
retraining_settings = program.section("retraining", RetrainingSettings)
# The served model: not created here, so it is named in config (its endpoint, variants, capture location).
endpoint = program.config.require_object("endpoint")
missing = [key for key in ("model", "endpointName", "variantNames") if key not in endpoint]
if missing:
    raise pulumi.RunError(f"{program.project}:endpoint: missing {', '.join(missing)} (expected model, endpointName, "
                          "variantNames and, for drift, dataCaptureS3Uri)")
pipeline_name = program.config.require("trainingPipelineName")  # the pipeline retraining starts

kms = Kms("kms", KmsArgs(context=ctx, **stateful), opts)
network = Network("network", NetworkArgs(context=ctx, logs_kms_key_arn=kms.logs_key_arn,
                                         settings=NetworkSettings(mode="existing", existing=existing_vpc)), opts)
# Baselines and monitoring reports are kept in this program's models bucket.
artifacts = ArtifactStore("artifacts", ArtifactStoreArgs(context=ctx, kms_key_arn=kms.data_key_arn, **stateful), opts)
alerting = Alerting("alerting", AlertingArgs(context=ctx, kms_key_arn=kms.logs_key_arn), opts)
monitoring = Monitoring(
    "monitoring",
    MonitoringArgs(
        context=ctx,
        models=[MonitoredModel(name=endpoint["model"], endpoint_name=endpoint["endpointName"],
                               variant_names=endpoint["variantNames"],
                               data_capture_s3_uri=endpoint.get("dataCaptureS3Uri"))],
        models_bucket_name=artifacts.models_bucket_name,
        data_key_arn=kms.data_key_arn,
        logs_key_arn=kms.logs_key_arn,
        subnet_ids=network.training_subnet_ids,
        security_group_id=network.workload_security_group_id,
        alarm_topics=alerting.routes,
        pipeline_names=[pipeline_name],
        settings=monitoring_settings,
        **stateful,
    ),
    opts,
)
retraining = Retraining(
    "retraining",
    RetrainingArgs(
        context=ctx,
        # The model's drift alarm starts the existing pipeline.
        models=[RetrainedModel(name=name, drift_alarm_arn=arn,
                               pipeline_arn=ctx.arn("sagemaker", f"pipeline/{pipeline_name}"))
                for name, arn in sorted(monitoring.drift_alarm_arns.items())],
        notify_topic_arn=alerting.topic_for("retraining"),
        operations_topic_arn=alerting.topic_for("operations"),
        settings=retraining_settings,
    ),
    opts,
)

pulumi.export("driftAlarmArns", monitoring.drift_alarm_arns)
pulumi.export("scheduleNames", monitoring.schedule_names)
pulumi.export("retrainingRuleNames", retraining.rule_names)
pulumi.export("alertTopicArns", alerting.topic_arns)
pulumi.export("modelsBucketName", artifacts.models_bucket_name)
