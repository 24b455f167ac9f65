"""An audited artifact store: every read and write of a dataset or model lands in CloudTrail.

KMS keys, the datasets/models buckets, a multi-region CloudTrail with S3 data events on both
buckets (trail files encrypted with the logs key, in their own bucket, access-logged to the store's
log bucket), and the SageMaker execution roles scoped to exactly these buckets and the data key.
"""

import pulumi

from mlops_blueprint.components.artifact_store import ArtifactStore, ArtifactStoreArgs
from mlops_blueprint.components.audit_trail import AuditTrail, AuditTrailArgs, trail_bucket_name
from mlops_blueprint.components.audit_trail_settings import AuditTrailSettings
from mlops_blueprint.components.kms import Kms, KmsArgs
from mlops_blueprint.components.kms_settings import KmsSettings
from mlops_blueprint.components.platform_roles import PlatformRoles, PlatformRolesArgs
from mlops_blueprint.components.platform_roles_settings import PlatformRolesSettings
from mlops_blueprint.components.s3_bucket import bucket_arn
from mlops_blueprint.team_program import team_program

# environment, owner, costCenter, dataClassification and aws:region: tags, provider, account context.
program = team_program()
ctx, opts, prod = program.ctx, program.opts, program.prod
stateful = program.stateful  # keys, buckets and logs survive mistakes in prod
boundary = program.config.get("permissionsBoundaryArn")

kms = Kms("kms", KmsArgs(context=ctx, settings=KmsSettings(deletion_window_days=30 if prod else 7), **stateful), opts)
artifacts = ArtifactStore(
    "artifacts",
    ArtifactStoreArgs(
        context=ctx,
        kms_key_arn=kms.data_key_arn,
        # The trail bucket sends its access logs here too; the log bucket accepts only the sources it names.
        access_log_source_bucket_arns=(bucket_arn(ctx, trail_bucket_name(ctx)),),
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
        data_event_bucket_arns=(artifacts.datasets_bucket_arn, artifacts.models_bucket_arn),
        permissions_boundary_arn=boundary,
        # WORM trail files in prod; the settings check the retention against what CloudWatch Logs accepts.
        settings=AuditTrailSettings(object_lock=prod, log_retention_days=program.config.get_int("auditLogRetentionDays") or 90),
        **stateful,
    ),
    opts,
)
roles = PlatformRoles(
    "roles",
    PlatformRolesArgs(
        context=ctx,
        data_key_arn=kms.data_key_arn,
        logs_key_arn=kms.logs_key_arn,
        datasets_bucket_arn=artifacts.datasets_bucket_arn,
        models_bucket_arn=artifacts.models_bucket_arn,
        settings=PlatformRolesSettings(permissions_boundary_arn=boundary),
    ),
    opts,
)

pulumi.export("dataKeyArn", kms.data_key_arn)
pulumi.export("logsKeyArn", kms.logs_key_arn)
pulumi.export("modelsBucketName", artifacts.models_bucket_name)
pulumi.export("datasetsBucketName", artifacts.datasets_bucket_name)
pulumi.export("auditTrailArn", audit.trail_arn)
pulumi.export("auditBucketName", audit.trail_bucket_name)
pulumi.export("trainingRoleArn", roles.training_role_arn)
pulumi.export("servingRoleArn", roles.serving_role_arn)
pulumi.export("trackingRoleArn", roles.tracking_role_arn)
pulumi.export("pipelinesRoleArn", roles.pipelines_role_arn)
