"""A team's own program: the platform's components plus resources the team adds itself.

The platform's KMS keys and artifact store, then what this team needs beside them: a bucket of
its own for feature exports (a SecureBucket with the data key, access-logged to the store's log
bucket) and an SQS queue, with a dead-letter queue, that receives an event for every new dataset
object. `mlops-blueprint preview --program examples/team-platform` previews it offline and runs
the policy pack over every resource, the team's own included.
"""

import pulumi
import pulumi_aws as aws

from mlops_blueprint.components.artifact_store import ArtifactStore, ArtifactStoreArgs
from mlops_blueprint.components.kms import Kms, KmsArgs
from mlops_blueprint.components.s3_bucket import SecureBucket, SecureBucketArgs, bucket_arn
from mlops_blueprint.policy_documents import document, render, statement
from mlops_blueprint.team_program import team_program

TEAM = "feature-pipeline"  # the component tag of the team's own resources
EXPORTS = "feature-exports"

retention_days = pulumi.Config().get_int("eventRetentionDays", 4)
if not 1 <= retention_days <= 14:  # SQS keeps messages 60 s to 14 days; refuse before creating anything
    raise pulumi.RunError(f"{pulumi.get_project()}:eventRetentionDays is {retention_days}; SQS accepts 1 to 14 days")
# environment, owner, costCenter, dataClassification and aws:region: tags, provider, account context.
program = team_program()
ctx, opts, stateful = program.ctx, program.opts, program.stateful
tagging = ctx.tagging

# -- the platform's components ----------------------------------------------------------------
kms = Kms("kms", KmsArgs(context=ctx, **stateful), opts)
exports_arn = bucket_arn(ctx, ctx.naming.bucket(EXPORTS))
artifacts = ArtifactStore(
    "artifacts",
    # The log bucket accepts access logs only from the buckets it names: ours is one of them.
    ArtifactStoreArgs(context=ctx, kms_key_arn=kms.data_key_arn, access_log_source_bucket_arns=(exports_arn,),
                      **stateful),
    opts,
)

# -- the team's own resources -------------------------------------------------------------------
exports = SecureBucket(
    "exports",
    SecureBucketArgs(context=ctx, purpose=EXPORTS, component=TEAM, kms_key_arn=kms.data_key_arn,
                     access_log_bucket_name=artifacts.logs_bucket_name, **stateful),
    opts,
)

# SQS-managed encryption: S3 cannot send to a queue under the data key, whose policy admits
# only S3 and SageMaker callers acting for principals of this account.
dead_letters_name = ctx.naming.name("dataset-events-dlq")
dead_letters = aws.sqs.Queue(
    "dataset-events-dlq",
    name=dead_letters_name,
    sqs_managed_sse_enabled=True,
    message_retention_seconds=14 * 86400,
    tags=tagging.resource(TEAM, dead_letters_name),
    opts=opts,
)
events_name = ctx.naming.name("dataset-events")
events = aws.sqs.Queue(
    "dataset-events",
    name=events_name,
    sqs_managed_sse_enabled=True,
    message_retention_seconds=retention_days * 86400,
    redrive_policy=pulumi.Output.json_dumps({"deadLetterTargetArn": dead_letters.arn, "maxReceiveCount": 5},
                                            sort_keys=True),
    tags=tagging.resource(TEAM, events_name),
    opts=opts,
)
# Only S3, for the datasets bucket of this account, may send (confused-deputy guard).
events_policy = aws.sqs.QueuePolicy(
    "dataset-events-policy",
    queue_url=events.url,
    policy=render(
        lambda queue_arn, datasets_arn: document(statement(
            "DatasetEventsFromS3", ["sqs:SendMessage"], [queue_arn],
            principals={"Service": ctx.service_principal("s3")},
            conditions={"ArnEquals": {"aws:SourceArn": datasets_arn},
                        "StringEquals": {"aws:SourceAccount": ctx.account_id}},
        )),
        events.arn, artifacts.datasets_bucket_arn,
    ),
    opts=opts,
)
aws.s3.BucketNotification(
    "dataset-events-notification",
    bucket=artifacts.datasets_bucket_name,
    queues=[{"queue_arn": events.arn, "events": ["s3:ObjectCreated:*"]}],
    # S3 checks that it may send to the queue when the notification is put.
    opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[events_policy])),
)

pulumi.export("dataKeyArn", kms.data_key_arn)
pulumi.export("modelsBucketName", artifacts.models_bucket_name)
pulumi.export("datasetsBucketName", artifacts.datasets_bucket_name)
pulumi.export("exportsBucketName", exports.bucket_name)
pulumi.export("datasetEventsQueueArn", events.arn)
pulumi.export("datasetEventsDeadLetterQueueArn", dead_letters.arn)
