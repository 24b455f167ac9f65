"""The monitoring jobs' IAM policy: read this stack's inputs, write reports, nothing else."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlops_blueprint.components.monitoring.s3_uris import s3_prefix_arn
from mlops_blueprint.context import StackContext
from mlops_blueprint.policy_documents import Statement, document, in_region, statement, vpc_interface_statements


def monitoring_role_policy(
    ctx: StackContext,
    data_key_arn: str,
    read_uris: Sequence[str],
    write_uris: Sequence[str],
    image_uri: str,
    *,
    publish_metrics: bool = True,
) -> dict[str, Any]:
    """Read captures, baselines and ground truth; write reports; pull the image; run in the VPC.
    ``publish_metrics=False``: no ``PutMetricData`` (an isolated drift job publishes through its logs)."""
    region_only = in_region(ctx.region)
    reads = [s3_prefix_arn(ctx, uri) for uri in read_uris]
    writes = [s3_prefix_arn(ctx, uri) for uri in write_uris]
    listing: dict[str, list[str]] = {}
    for bucket_arn, _, prefix in reads + writes:
        listing.setdefault(bucket_arn, []).append(prefix)
    statements: list[Statement] = []
    if reads:
        statements.append(statement("ReadMonitoringInputs", ["s3:GetObject"], [objects for _, objects, _ in reads]))
    if writes:
        statements.append(statement("WriteMonitoringReports", ["s3:GetObject", "s3:PutObject"],
                                    [objects for _, objects, _ in writes]))
    for i, (bucket_arn, prefixes) in enumerate(sorted(listing.items())):
        statements.append(statement(f"ListMonitoringPrefixes{i}", ["s3:ListBucket"], [bucket_arn],
                                    conditions={"StringLike": {"s3:prefix": sorted(set(prefixes))}}))
    registry, _, repository = image_uri.partition("/")
    account, region = registry.split(".")[0], registry.split(".")[3]
    repository_arn = f"arn:{ctx.partition}:ecr:{region}:{account}:repository/{repository.split(':')[0].split('@')[0]}"
    statements += [
        statement("UseDataKey", ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"], [data_key_arn]),
        # GetAuthorizationToken has no resource type: "*" within this region.
        statement("EcrLogin", ["ecr:GetAuthorizationToken"], "*", conditions=region_only),
        statement("PullAnalyzerImage", ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage",
                                        "ecr:GetDownloadUrlForLayer"], [repository_arn]),
        *vpc_interface_statements(ctx.region),
        statement("WriteProcessingLogs",
                  ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                  [ctx.arn("logs", "log-group:/aws/sagemaker/ProcessingJobs*")]),
    ]
    if publish_metrics:
        # PutMetricData has no resource type; the namespace condition keeps it to Model Monitor's.
        statements.append(statement("PublishMonitoringMetrics", ["cloudwatch:PutMetricData"], "*",
                                    conditions={"StringLike": {"cloudwatch:namespace": [
                                        "aws/sagemaker/Endpoints/*", "aws/sagemaker/ModelMonitoring/*"]}}))
    return document(*statements)
