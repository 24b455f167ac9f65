"""Wire the components into one platform stack. Components own resources; this owns the wiring.

Every environment runs this same function: dev, staging and prod differ only through config.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_blueprint.components.artifact_store import ArtifactStore, ArtifactStoreArgs
from mlops_blueprint.components.audit_trail import AuditTrail, AuditTrailArgs, trail_bucket_name
from mlops_blueprint.components.kms import Kms, KmsArgs
from mlops_blueprint.components.network import ExistingNetwork, Network, NetworkArgs
from mlops_blueprint.components.platform_roles import PlatformRoles, PlatformRolesArgs
from mlops_blueprint.components.s3_bucket import bucket_arn
from mlops_blueprint.config import PROJECT, PlatformConfig
from mlops_blueprint.context import StackContext
from mlops_blueprint.naming import Naming
from mlops_blueprint.providers import aws_provider
from mlops_blueprint.tags import Tagging


def _tagging(config: PlatformConfig) -> Tagging:
    return Tagging(
        project=PROJECT,
        environment=config.environment,
        owner=config.owner,
        cost_center=config.cost_center,
        data_classification=config.data_classification,
    )


def _context(config: PlatformConfig, tagging: Tagging, provider: aws.Provider) -> StackContext:
    """Account and partition come from the credentials in use, so names and ARNs are this account's."""
    invoke = pulumi.InvokeOptions(provider=provider)
    account_id = aws.get_caller_identity(opts=invoke).account_id
    partition = aws.get_partition(opts=invoke).partition
    naming = Naming(project=PROJECT, environment=config.environment, account_id=account_id, region=config.region)
    return StackContext(naming=naming, tagging=tagging, partition=partition)


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


def build(config: PlatformConfig) -> dict[str, Any]:
    """Create the platform for ``config``; returns the stack outputs (camelCase names)."""
    tagging = _tagging(config)
    provider = aws_provider(config.region, tagging)
    ctx = _context(config, tagging, provider)
    opts = pulumi.ResourceOptions(providers={"aws": provider})
    stateful = {"protect": config.protect_stateful, "retain_on_delete": config.retain_on_delete}

    kms = Kms("kms", KmsArgs(context=ctx, deletion_window_days=config.kms.deletion_window_days, **stateful), opts)
    network = Network(
        "network",
        NetworkArgs(
            context=ctx,
            cidr=config.network.cidr,
            az_count=config.network.az_count,
            interface_endpoints=tuple(config.network.interface_endpoints),
            flow_log_retention_days=config.network.flow_log_retention_days,
            logs_kms_key_arn=kms.logs_key_arn,
            existing=config.network.existing or _shared_network(config),
            permissions_boundary_arn=config.iam.permissions_boundary_arn,
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
            data_event_bucket_arns=(artifacts.datasets_bucket_arn, artifacts.models_bucket_arn) if config.audit.data_events else (),
            object_lock=config.audit.object_lock,
            object_lock_days=config.audit.object_lock_days,
            log_retention_days=config.audit.log_retention_days,
            force_destroy=config.artifacts.force_destroy,
            permissions_boundary_arn=config.iam.permissions_boundary_arn,
            **stateful,
        ),
        opts,
    )
    ci = config.iam.ci
    roles = PlatformRoles(
        "roles",
        PlatformRolesArgs(
            context=ctx,
            data_key_arn=kms.data_key_arn,
            logs_key_arn=kms.logs_key_arn,
            datasets_bucket_arn=artifacts.datasets_bucket_arn,
            models_bucket_arn=artifacts.models_bucket_arn,
            permissions_boundary_arn=config.iam.permissions_boundary_arn,
            ci_provider=ci.provider,
            ci_repository=ci.repository,
            ci_deploy_branch=ci.deploy_branch,
            ci_oidc_provider_arn=ci.oidc_provider_arn,
            gitlab_url=ci.gitlab_url,
        ),
        opts,
    )

    outputs: dict[str, Any] = {
        "environment": config.environment,
        "region": config.region,
        "accountId": ctx.account_id,
        "dataKeyArn": kms.data_key_arn,
        "logsKeyArn": kms.logs_key_arn,
        "vpcId": network.vpc_id,
        "vpcCidr": network.vpc_cidr,
        "databaseSubnetIds": network.database_subnet_ids,
        "trainingSubnetIds": network.training_subnet_ids,
        "servingSubnetIds": network.serving_subnet_ids,
        "workloadSecurityGroupId": network.workload_security_group_id,
        "artifactBucketName": artifacts.models_bucket_name,
        "datasetsBucketName": artifacts.datasets_bucket_name,
        "accessLogsBucketName": artifacts.logs_bucket_name,
        "auditTrailArn": audit.trail_arn,
        "auditBucketName": audit.trail_bucket_name,
        "trainingRoleArn": roles.training_role_arn,
        "servingRoleArn": roles.serving_role_arn,
        "trackingRoleArn": roles.tracking_role_arn,
        "pipelinesRoleArn": roles.pipelines_role_arn,
    }
    if ci.provider != "none":
        outputs["ciPreviewRoleArn"] = roles.ci_preview_role_arn
        outputs["ciDeployRoleArn"] = roles.ci_deploy_role_arn
    return outputs
