"""An audited artifact store: every read and write of a dataset or model lands in CloudTrail.

KMS keys, the datasets/models buckets, a multi-region CloudTrail with S3 data events on both
buckets (trail files encrypted with the logs key, in their own bucket, access-logged to the store's
log bucket), and the SageMaker execution roles scoped to exactly these buckets and the data key.
"""

import pulumi

from mlops_blueprint.components.artifact_store import ArtifactStore, ArtifactStoreArgs
from mlops_blueprint.components.audit_trail import AuditTrail, AuditTrailArgs, trail_bucket_name
from mlops_blueprint.components.kms import Kms, KmsArgs
from mlops_blueprint.components.platform_roles import PlatformRoles, PlatformRolesArgs
from mlops_blueprint.components.s3_bucket import bucket_arn
from mlops_blueprint.providers import account_context, aws_provider
from mlops_blueprint.tags import Tagging

config = pulumi.Config()
project = pulumi.get_project()
environment = config.require("environment")  # dev, staging or prod
region = pulumi.Config("aws").require("region")
boundary = config.get("permissionsBoundaryArn")
prod = environment == "prod"

tagging = Tagging(
    project=project,
    environment=environment,
    owner=config.require("owner"),
    cost_center=config.require("costCenter"),
    data_classification=config.get("dataClassification") or "confidential",
)
# Every resource gets the mandatory tags through the provider's default tags; names and ARNs use
# the account the credentials reach.
provider = aws_provider(region, tagging)
ctx = account_context(provider, region, tagging)
opts = pulumi.ResourceOptions(providers={"aws": provider})
stateful = {"protect": prod, "retain_on_delete": prod}  # keys, buckets and logs survive mistakes in prod

kms = Kms("kms", KmsArgs(context=ctx, deletion_window_days=30 if prod else 7, **stateful), opts)
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
        object_lock=prod,  # WORM trail files in prod
        log_retention_days=config.get_int("auditLogRetentionDays") or 90,
        permissions_boundary_arn=boundary,
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
        permissions_boundary_arn=boundary,
    ),
    opts,
)

pulumi.export("dataKeyArn", kms.data_key_arn)
pulumi.export("logsKeyArn", kms.logs_key_arn)
pulumi.export("artifactBucketName", artifacts.models_bucket_name)
pulumi.export("datasetsBucketName", artifacts.datasets_bucket_name)
pulumi.export("auditTrailArn", audit.trail_arn)
pulumi.export("auditBucketName", audit.trail_bucket_name)
pulumi.export("trainingRoleArn", roles.training_role_arn)
pulumi.export("servingRoleArn", roles.serving_role_arn)
pulumi.export("trackingRoleArn", roles.tracking_role_arn)
pulumi.export("pipelinesRoleArn", roles.pipelines_role_arn)
