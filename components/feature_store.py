"""SageMaker Feature Store: the feature groups declared in the ``featureStore`` section.

Every group has an offline store in the stack's datasets bucket, under ``featureStore.offlinePrefix``,
its objects encrypted with the data key; a group with ``online: true`` also has an online store
encrypted with the same key. Feature Store writes the offline store with one role of this component's
(assumed by SageMaker for this account only) that may put objects under that prefix and nowhere
else, read the store's own manifests, and use the data key; Glue permissions only when
``glueCatalog`` lets Feature Store create a table per group.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_blueprint.components.arg_checks import type_problems
from mlops_blueprint.components.feature_store_settings import FeatureGroupSettings, FeatureStoreSettings
from mlops_blueprint.components.s3_bucket import bucket_arn
from mlops_blueprint.components.service_role import service_role
from mlops_blueprint.context import StackContext
from mlops_blueprint.naming import NameKind
from mlops_blueprint.policy_documents import assume_role_policy, document, render, statement, to_json
from mlops_blueprint.validation import raise_invalid_args

COMPONENT = "feature-store"
TYPE = "mlops:ml:FeatureStore"
# Where Feature Store's offline store keeps the Glue tables it creates (AmazonSageMakerFeatureStoreAccess).
GLUE_DATABASE = "sagemaker_featurestore"


@dataclass(frozen=True)
class FeatureStoreArgs:
    """The datasets bucket and data key the stores use, and ``settings`` (the ``featureStore`` section)."""

    context: StackContext
    datasets_bucket_name: pulumi.Input[str]   # ArtifactStore.datasets_bucket_name: the offline store's bucket
    data_key_arn: pulumi.Input[str]           # Kms.data_key_arn: offline objects and the online store
    protect: bool = False                     # prod: True (an online store's records go with its group)
    retain_on_delete: bool = False
    permissions_boundary_arn: str | None = None
    settings: FeatureStoreSettings = field(default_factory=FeatureStoreSettings)

    def problems(self) -> list[str]:
        problems = type_problems(self, context=StackContext, settings=FeatureStoreSettings)
        if isinstance(self.settings, FeatureStoreSettings) and not self.settings.groups:
            problems.append("settings.groups: no feature group declared; a FeatureStore needs at least one")
        if isinstance(self.data_key_arn, str) and ":kms:" not in self.data_key_arn:
            problems.append(f"data_key_arn: {self.data_key_arn!r} is not a KMS key ARN")
        return problems


def offline_store_uri(bucket: str, prefix: str) -> str:
    return f"s3://{bucket}/{prefix}"


def role_policy(ctx: StackContext, bucket: str, key_arn: str, settings: FeatureStoreSettings) -> dict[str, Any]:
    """What Feature Store does with the role: write the offline store under its prefix (SSE-KMS with
    the data key), read its own manifests there, and, with a Glue catalog, update its tables."""
    store = f"{bucket_arn(ctx, bucket)}/{settings.offline_prefix}"
    statements = [
        statement("WriteOfflineStore", ["s3:PutObject", "s3:PutObjectAcl"], [f"{store}/*"]),
        statement("ReadOfflineStoreManifests", ["s3:GetObject"], [f"{store}/*/metadata/*"]),
        statement("CheckBucketOwnership", ["s3:GetBucketAcl"], [bucket_arn(ctx, bucket)]),
        statement("EncryptWithDataKey", ["kms:Decrypt", "kms:GenerateDataKey"], [key_arn]),
    ]
    if settings.glue_catalog:
        statements.append(statement("UpdateFeatureStoreTables", ["glue:GetTable", "glue:UpdateTable"], [
            ctx.arn("glue", "catalog"), ctx.arn("glue", f"database/{GLUE_DATABASE}"),
            ctx.arn("glue", f"table/{GLUE_DATABASE}/*"),
        ]))
    return document(*statements)


class FeatureStore(pulumi.ComponentResource):
    """One SageMaker feature group per declared group, offline in the datasets bucket, KMS-encrypted."""

    feature_group_names: dict[str, str]
    feature_group_arns: dict[str, pulumi.Output[str]]
    role_arn: pulumi.Output[str]
    offline_store_uri: pulumi.Output[str]

    def __init__(self, name: str, args: FeatureStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        raise_invalid_args("FeatureStoreArgs", args.problems(), subject=repr(name))
        super().__init__(TYPE, name, None, opts)
        ctx, settings = args.context, args.settings
        child = pulumi.ResourceOptions(parent=self)

        role = service_role(
            f"{name}-role", context=ctx, component=COMPONENT, purpose="feature-store",
            description="SageMaker Feature Store writes the offline store",
            trust=to_json(assume_role_policy(ctx.service_principal("sagemaker"), source_account=ctx.account_id)),
            permissions_boundary_arn=args.permissions_boundary_arn, opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-role",
            name=ctx.naming.name("feature-store", kind=NameKind.IAM_POLICY),
            role=role.name,
            policy=render(lambda bucket, key: role_policy(ctx, bucket, key, settings),
                          args.datasets_bucket_name, args.data_key_arn),
            opts=child,
        )
        self.role_arn = role.arn
        self.offline_store_uri = pulumi.Output.from_input(args.datasets_bucket_name).apply(
            lambda bucket: offline_store_uri(bucket, settings.offline_prefix))

        # SageMaker checks the role when the group is created, and writes with it from then on.
        stateful = pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.retain_on_delete,
                                          depends_on=[policy])
        self.feature_group_names, self.feature_group_arns = {}, {}
        for group in settings.groups:
            self._group(name, group, args, role.arn, stateful)
        self.register_outputs({"featureGroupNames": self.feature_group_names,
                               "featureGroupArns": self.feature_group_arns,
                               "roleArn": self.role_arn, "offlineStoreUri": self.offline_store_uri})

    def _group(self, name: str, group: FeatureGroupSettings, args: FeatureStoreArgs, role_arn: pulumi.Output[str],
               opts: pulumi.ResourceOptions) -> None:
        ctx, settings = args.context, args.settings
        group_name = ctx.naming.name(group.name, kind=NameKind.SAGEMAKER)
        resource = aws.sagemaker.FeatureGroup(
            f"{name}-{group.name}",
            feature_group_name=group_name,
            description=group.description,
            record_identifier_feature_name=group.record_identifier,
            event_time_feature_name=group.event_time,
            feature_definitions=[aws.sagemaker.FeatureGroupFeatureDefinitionArgs(feature_name=f.name, feature_type=f.type)
                                 for f in group.features],
            role_arn=role_arn,
            offline_store_config=aws.sagemaker.FeatureGroupOfflineStoreConfigArgs(
                s3_storage_config=aws.sagemaker.FeatureGroupOfflineStoreConfigS3StorageConfigArgs(
                    s3_uri=self.offline_store_uri, kms_key_id=args.data_key_arn),
                disable_glue_table_creation=not settings.glue_catalog,
                table_format=settings.table_format,
            ),
            online_store_config=aws.sagemaker.FeatureGroupOnlineStoreConfigArgs(
                enable_online_store=True,
                security_config=aws.sagemaker.FeatureGroupOnlineStoreConfigSecurityConfigArgs(
                    kms_key_id=args.data_key_arn),
            ) if group.online else None,
            tags=ctx.tagging.resource(COMPONENT, group_name),
            opts=opts,
        )
        self.feature_group_names[group.name] = group_name
        self.feature_group_arns[group.name] = resource.arn
