"""One registry of the resource types the platform's components register (AWS and Kubernetes).

For each Pulumi type token: the IAM actions the engine calls to create, update, delete and tag a
resource of that type (and the reads a refresh needs), whether deleting it loses data, whether it
takes tags, which inputs force its replacement, how the CI deploy role fences it, and which ARN IAM
authorizes its actions on. Everything else derives from here:

- the CI deploy policy (:mod:`mlops_blueprint.components.ci_trust`),
- the prod protection rule and the taggable list of the policy pack,
- the plan diff's stateful types and replacement table (:mod:`mlops_blueprint.diff`).

**Replacement inputs** are the ForceNew (or ``RequiresReplace``) attributes of the resource in
``hashicorp/terraform-provider-aws``, which pulumi-aws v7 is bridged from, renamed to the camelCase
inputs the engine receives. Each entry's ``source`` names the file and commit of the provider
that was read (``internal/service/<svc>/<resource>.go``; the search index holds one revision
per file, so commits differ between entries, and an older revision may lack a newer attribute:
the entry says so where the table keeps one it could not confirm). Nested ForceNew blocks are
dotted paths (list indexes ignored): ``deploymentConfig.autoRollbackConfiguration``. ``"*"`` means every input except tags (the
resource has no update but tags). Kubernetes objects are replaced when their name or namespace
changes.

**Fences** say how the CI deploy role may touch the type:

- ``name``: ARNs carry the resource's name, so writes are scoped to ``<project>-<environment>-*``;
- ``tag``: ARNs carry random ids; created only with this stack's ``project``/``environment`` tags
  (``aws:RequestTag``) and changed only while they carry them (``aws:ResourceTag``);
- ``region``: neither names nor tag conditions are usable; scoped to the stack's region;
- ``iam``: roles and policies, under the permissions boundary (see ``ci_trust``);
- ``admin``: never CI's (the CI roles' own trust anchor);
- ``cluster``: Kubernetes objects, authorized by the cluster's RBAC, not IAM.

To add a type: append a :class:`ResourceType` to ``_TYPES`` with its actions (check each name in
the IAM catalogue: ``tests/test_resource_types.py`` does), its ARN as the service authorization
reference spells it (:class:`Arn`, or :class:`Parent` for sub-resources authorized on another
resource), its fence, and its ForceNew inputs read from the provider source with the commit.
The CI policy, protection rule, taggable list and diff pick it up; the tests walk every plan and
fail on a type missing here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

__all__ = [
    "OPERATIONS",
    "RESOURCE_TYPES",
    "Arn",
    "Fence",
    "Parent",
    "ResourceType",
    "UnknownResourceType",
    "actions_of",
    "lookup",
    "of_fence",
    "replacement_inputs",
    "stateful_types",
    "taggable_types",
]

Fence = Literal["name", "tag", "region", "iam", "admin", "cluster"]
Operation = Literal["create", "update", "delete", "tag"]
OPERATIONS: Final[tuple[Operation, ...]] = ("create", "update", "delete", "tag")

#: The provider repository every ``source`` refers to.
PROVIDER_REPOSITORY: Final = "hashicorp/terraform-provider-aws"


@dataclass(frozen=True)
class Arn:
    """The resource's own ARN, as the IAM service authorization reference spells it.

    ``service``/``resource`` is a resource-type key of that reference (e.g. ``sagemaker`` /
    ``endpoint``); ``values`` fills its ``${...}`` placeholders from the resource: an input name,
    ``"$id"`` for the physical id, ``(input, prefix)`` to drop a prefix (``alias/``, ``https://``),
    or ``"input#a.b.c"`` for a value inside an input that holds a JSON document.
    """

    service: str
    resource: str
    values: Mapping[str, str | tuple[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Parent:
    """A sub-resource: IAM authorizes its actions on the ``token`` resource its ``input`` refers to."""

    input: str
    token: str


@dataclass(frozen=True)
class ResourceType:
    token: str
    fence: Fence
    create: tuple[str, ...] = ()
    update: tuple[str, ...] = ()
    delete: tuple[str, ...] = ()
    tag: tuple[str, ...] = ()
    read: tuple[str, ...] = ()
    stateful: bool = False
    taggable: bool = False
    replace_on: tuple[str, ...] = ()
    arn: Arn | Parent | None = None
    #: Where a sub-resource's own tags live, when it has any (tagged right after it is created).
    tag_arn: Arn | None = None
    #: ARNs of the actions of other services, by service prefix (resources a service creates with
    #: the caller's credentials, such as a CloudFormation template's).
    other_arns: Mapping[str, Arn] = field(default_factory=dict)
    source: str = ""

    def actions(self, *operations: Operation) -> tuple[str, ...]:
        """Write actions of the given operations (all four when none are given), sorted, unique."""
        wanted = operations or OPERATIONS
        return tuple(sorted({a for op in wanted for a in getattr(self, op)}))

    @property
    def all_actions(self) -> tuple[str, ...]:
        return tuple(sorted({*self.actions(), *self.read}))


class UnknownResourceType(KeyError):
    """A type token the registry does not know; the message says how to add it."""

    def __init__(self, token: str) -> None:
        super().__init__(
            f"{token} is not in mlops_blueprint.resource_types: add a ResourceType (actions, ARN, fence, "
            "ForceNew inputs from the provider source) so the CI policy, protection and diff know it"
        )


def _src(path: str, commit: str) -> str:
    return f"{PROVIDER_REPOSITORY}@{commit[:12]}:internal/service/{path}"



# S3 per-setting resources (v7): all authorized on the bucket, replaced when the bucket changes.
_ON_BUCKET = Parent("bucket", "aws:s3/bucket:Bucket")


def _s3_setting(token: str, put: str, read: str, source: str, delete: str | None = None,
                replace_on: tuple[str, ...] = ("bucket", "expectedBucketOwner")) -> ResourceType:
    """S3 deletes most settings through Delete* APIs that IAM authorizes with the Put* action
    (e.g. DeleteBucketOwnershipControls needs s3:PutBucketOwnershipControls)."""
    return ResourceType(token, "name", create=(put,), update=(put,), delete=(delete or put,), read=(read,),
                        replace_on=replace_on, arn=_ON_BUCKET, source=source)


_SAGEMAKER_TAGS = ("sagemaker:AddTags", "sagemaker:DeleteTags")
_SAGEMAKER_READ = ("sagemaker:ListTags",)
_EC2_TAGS = ("ec2:CreateTags", "ec2:DeleteTags")
_SG = Arn("ec2", "security-group", {"SecurityGroupId": "$id"})
_ON_SG = Parent("securityGroupId", "aws:ec2/securityGroup:SecurityGroup")
_SG_RULE = Arn("ec2", "security-group-rule", {"SecurityGroupRuleId": "$id"})
_ON_ROLE = Parent("role", "aws:iam/role:Role")
_K8S_REPLACE = ("metadata.name", "metadata.namespace")

_TYPES: tuple[ResourceType, ...] = (
    # -- S3 ---------------------------------------------------------------------------------------
    ResourceType(
        "aws:s3/bucket:Bucket", "name",
        create=("s3:CreateBucket", "s3:PutBucketTagging"), delete=("s3:DeleteBucket",),
        tag=("s3:PutBucketTagging",), read=("s3:GetBucketTagging", "s3:ListBucket"),
        stateful=True, taggable=True, replace_on=("bucket", "bucketPrefix", "bucketNamespace", "objectLockEnabled"),
        arn=Arn("s3", "bucket", {"BucketName": "bucket"}),
        # The stored revision predates object_lock_enabled and bucket_namespace: those two are
        # carried from the earlier hand-kept table.
        source=_src("s3/bucket.go", "0070bcd12c952f14c5434a6f351ef7b6fa791226"),
    ),
    _s3_setting("aws:s3/bucketVersioning:BucketVersioning", "s3:PutBucketVersioning", "s3:GetBucketVersioning",
                _src("s3/bucket_versioning.go", "01c08000ddb14181b5bd19201d8fca311dc570e4")),
    _s3_setting("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                "s3:PutEncryptionConfiguration", "s3:GetEncryptionConfiguration",
                _src("s3/bucket_server_side_encryption_configuration.go", "01606926a0c0ab9174aec440f976a48b0baee722")),
    _s3_setting("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock",
                "s3:GetBucketPublicAccessBlock", _src("s3/bucket_public_access_block.go",
                                                      "01606926a0c0ab9174aec440f976a48b0baee722"), replace_on=("bucket",)),
    _s3_setting("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "s3:PutBucketOwnershipControls",
                "s3:GetBucketOwnershipControls", _src("s3/bucket_ownership_controls.go",
                                                      "01c08000ddb14181b5bd19201d8fca311dc570e4"), replace_on=("bucket",)),
    _s3_setting("aws:s3/bucketPolicy:BucketPolicy", "s3:PutBucketPolicy", "s3:GetBucketPolicy",
                _src("s3/bucket_policy.go", "0073593e7d6993ba482409f4dc35438daaa79bb3"),
                delete="s3:DeleteBucketPolicy", replace_on=("bucket",)),
    _s3_setting("aws:s3/bucketLogging:BucketLogging", "s3:PutBucketLogging", "s3:GetBucketLogging",
                _src("s3/bucket_logging.go", "01f431114674c27cf790fafb67ac274bf8f765e1")),
    _s3_setting("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                "s3:PutLifecycleConfiguration", "s3:GetLifecycleConfiguration",
                _src("s3/bucket_lifecycle_configuration.go", "01606926a0c0ab9174aec440f976a48b0baee722")),
    _s3_setting("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
                "s3:PutBucketObjectLockConfiguration", "s3:GetBucketObjectLockConfiguration",
                _src("s3/bucket_object_lock_configuration.go", "01c08000ddb14181b5bd19201d8fca311dc570e4"),
                replace_on=("bucket", "expectedBucketOwner", "objectLockEnabled")),
    # -- KMS ---------------------------------------------------------------------------------------
    ResourceType(
        "aws:kms/key:Key", "tag",
        create=("kms:CreateKey", "kms:TagResource"),
        update=("kms:DisableKeyRotation", "kms:EnableKeyRotation", "kms:PutKeyPolicy", "kms:UpdateKeyDescription"),
        delete=("kms:ScheduleKeyDeletion",), tag=("kms:TagResource", "kms:UntagResource"),
        read=("kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags"),
        stateful=True, taggable=True,
        replace_on=("customKeyStoreId", "customerMasterKeySpec", "keyUsage", "multiRegion", "xksKeyId"),
        arn=Arn("kms", "key", {"KeyId": "$id"}), source=_src("kms/key.go", "00a35305dc1b297a6fcdecdfbba33f1e63c3da39"),
    ),
    ResourceType(
        "aws:kms/alias:Alias", "name",
        create=("kms:CreateAlias",), update=("kms:UpdateAlias",), delete=("kms:DeleteAlias",),
        read=("kms:ListAliases",), replace_on=("name", "namePrefix"),
        arn=Arn("kms", "alias", {"Alias": ("name", "alias/")}),
        source=_src("kms/alias.go", "01c08000ddb14181b5bd19201d8fca311dc570e4"),
    ),
    # -- EC2 / VPC (random ids: tag fence) -----------------------------------------------------------
    ResourceType(
        "aws:ec2/vpc:Vpc", "tag",
        create=("ec2:CreateTags", "ec2:CreateVpc"), update=("ec2:ModifyVpcAttribute",), delete=("ec2:DeleteVpc",),
        tag=_EC2_TAGS, read=("ec2:DescribeVpcAttribute", "ec2:DescribeVpcs"),
        taggable=True, replace_on=("cidrBlock", "ipv4IpamPoolId", "ipv4NetmaskLength"),
        arn=Arn("ec2", "vpc", {"VpcId": "$id"}), source=_src("ec2/vpc_.go", "00081ce41cc691433ac19bf42227cdabffd0454d"),
    ),
    ResourceType(
        "aws:ec2/subnet:Subnet", "tag",
        create=("ec2:CreateSubnet", "ec2:CreateTags"), update=("ec2:ModifySubnetAttribute",),
        delete=("ec2:DeleteSubnet",), tag=_EC2_TAGS, read=("ec2:DescribeSubnets",), taggable=True,
        replace_on=("availabilityZone", "availabilityZoneId", "cidrBlock", "ipv4IpamPoolId", "ipv4NetmaskLength",
                    "ipv6IpamPoolId", "ipv6Native", "ipv6NetmaskLength", "outpostArn", "vpcId"),
        arn=Arn("ec2", "subnet", {"SubnetId": "$id"}),
        source=_src("ec2/vpc_subnet.go", "00cda125a19d31754cb0d073cf551264c57955cb"),
    ),
    ResourceType(
        "aws:ec2/securityGroup:SecurityGroup", "tag",
        # The provider revokes AWS's default allow-all egress right after CreateSecurityGroup.
        create=("ec2:CreateSecurityGroup", "ec2:CreateTags"),
        update=("ec2:AuthorizeSecurityGroupEgress", "ec2:AuthorizeSecurityGroupIngress",
                "ec2:RevokeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress"),
        delete=("ec2:DeleteSecurityGroup",), tag=_EC2_TAGS, read=("ec2:DescribeSecurityGroups",), taggable=True,
        replace_on=("description", "name", "namePrefix", "vpcId"), arn=_SG,
        source=_src("ec2/vpc_security_group.go", "01606926a0c0ab9174aec440f976a48b0baee722"),
    ),
    ResourceType(
        # Adopts the VPC's default group: strips its rules and tags it (no create, no delete).
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "tag",
        create=("ec2:CreateTags", "ec2:RevokeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress"),
        update=("ec2:AuthorizeSecurityGroupEgress", "ec2:AuthorizeSecurityGroupIngress",
                "ec2:RevokeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress"),
        tag=_EC2_TAGS, read=("ec2:DescribeSecurityGroups",), taggable=True, replace_on=("vpcId",), arn=_SG,
        source=_src("ec2/vpc_default_security_group.go", "01f431114674c27cf790fafb67ac274bf8f765e1"),
    ),
    ResourceType(
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "tag",
        create=("ec2:AuthorizeSecurityGroupIngress",),
        update=("ec2:ModifySecurityGroupRules", "ec2:UpdateSecurityGroupRuleDescriptionsIngress"),
        delete=("ec2:RevokeSecurityGroupIngress",), tag=_EC2_TAGS, read=("ec2:DescribeSecurityGroupRules",),
        taggable=True, replace_on=("securityGroupId",), arn=_ON_SG, tag_arn=_SG_RULE,
        source=_src("ec2/vpc_security_group_ingress_rule.go", "00a322094b4b9ade8a81b244345dbcf4b52ee8d6"),
    ),
    ResourceType(
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "tag",
        create=("ec2:AuthorizeSecurityGroupEgress",),
        update=("ec2:ModifySecurityGroupRules", "ec2:UpdateSecurityGroupRuleDescriptionsEgress"),
        delete=("ec2:RevokeSecurityGroupEgress",), tag=_EC2_TAGS, read=("ec2:DescribeSecurityGroupRules",),
        taggable=True, replace_on=("securityGroupId",), arn=_ON_SG, tag_arn=_SG_RULE,
        # The egress rule shares the ingress rule's schema (resourceSecurityGroupRule).
        source=_src("ec2/vpc_security_group_egress_rule.go", "050ac11163cab8cdae5936a7f40b0e528ff780df"),
    ),
    ResourceType(
        "aws:ec2/routeTable:RouteTable", "tag",
        create=("ec2:CreateRouteTable", "ec2:CreateTags"), update=("ec2:CreateRoute", "ec2:DeleteRoute", "ec2:ReplaceRoute"),
        delete=("ec2:DeleteRouteTable",), tag=_EC2_TAGS, read=("ec2:DescribeRouteTables",), taggable=True,
        replace_on=("vpcId",), arn=Arn("ec2", "route-table", {"RouteTableId": "$id"}),
        source=_src("ec2/vpc_route_table.go", "022092419b7cda11527df3c6b51cbfe1876c1722"),
    ),
    ResourceType(
        "aws:ec2/routeTableAssociation:RouteTableAssociation", "tag",
        create=("ec2:AssociateRouteTable",), update=("ec2:ReplaceRouteTableAssociation",),
        delete=("ec2:DisassociateRouteTable",), read=("ec2:DescribeRouteTables",),
        replace_on=("gatewayId", "subnetId"), arn=Parent("routeTableId", "aws:ec2/routeTable:RouteTable"),
        source=_src("ec2/vpc_route_table_association.go", "0be71beb458ad8875e0acc5c91519c0ceeb214aa"),
    ),
    ResourceType(
        "aws:ec2/vpcEndpoint:VpcEndpoint", "tag",
        create=("ec2:CreateTags", "ec2:CreateVpcEndpoint"), update=("ec2:ModifyVpcEndpoint",),
        delete=("ec2:DeleteVpcEndpoints",), tag=_EC2_TAGS, read=("ec2:DescribePrefixLists", "ec2:DescribeVpcEndpoints"),
        taggable=True,
        replace_on=("dnsOptions.privateDnsPreference", "dnsOptions.privateDnsSpecifiedDomains",
                    "resourceConfigurationArn", "serviceName", "serviceNetworkArn", "serviceRegion",
                    "vpcEndpointType", "vpcId"),
        arn=Arn("ec2", "vpc-endpoint", {"VpcEndpointId": "$id"}),
        source=_src("ec2/vpc_endpoint.go", "008db85aad5e56627b1eecab8830464a282552ed"),
    ),
    ResourceType(
        "aws:ec2/flowLog:FlowLog", "tag",
        create=("ec2:CreateFlowLogs", "ec2:CreateTags"), delete=("ec2:DeleteFlowLogs",), tag=_EC2_TAGS,
        read=("ec2:DescribeFlowLogs",), taggable=True,
        replace_on=("deliverCrossAccountRole", "destinationOptions", "eniId", "iamRoleArn", "logDestination",
                    "logDestinationType", "logFormat", "maxAggregationInterval", "regionalNatGatewayId",
                    "subnetId", "trafficType", "transitGatewayAttachmentId", "transitGatewayId", "vpcId"),
        arn=Arn("ec2", "vpc-flow-log", {"VpcFlowLogId": "$id"}),
        source=_src("ec2/vpc_flow_log.go", "00a35305dc1b297a6fcdecdfbba33f1e63c3da39"),
    ),
    # -- IAM --------------------------------------------------------------------------------------
    ResourceType(
        "aws:iam/role:Role", "iam",
        create=("iam:CreateRole", "iam:TagRole"),
        update=("iam:DeleteRolePermissionsBoundary", "iam:PutRolePermissionsBoundary", "iam:UpdateAssumeRolePolicy",
                "iam:UpdateRole", "iam:UpdateRoleDescription"),
        delete=("iam:DeleteRole",), tag=("iam:TagRole", "iam:UntagRole"),
        read=("iam:GetRole", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole", "iam:ListRolePolicies"),
        taggable=True, replace_on=("name", "namePrefix", "path"),
        arn=Arn("iam", "role", {"RoleNameWithPath": "name"}),
        source=_src("iam/role.go", "0040ea6911af00bea2cca6dbb14e86829826ad8e"),
    ),
    ResourceType(
        "aws:iam/rolePolicy:RolePolicy", "iam",
        create=("iam:PutRolePolicy",), update=("iam:PutRolePolicy",), delete=("iam:DeleteRolePolicy",),
        read=("iam:GetRolePolicy",), replace_on=("name", "namePrefix", "role"), arn=_ON_ROLE,
        source=_src("iam/role_policy.go", "02f97af85f89a04e8ed89f5e8b64a9a67f3cfe07"),
    ),
    ResourceType(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "iam",
        create=("iam:AttachRolePolicy",), delete=("iam:DetachRolePolicy",), read=("iam:ListAttachedRolePolicies",),
        replace_on=("policyArn", "role"), arn=_ON_ROLE,
        source=_src("iam/role_policy_attachment.go", "04c79849dbe7fbe76c3054b364357bcdaade9ac5"),
    ),
    ResourceType(
        "aws:iam/policy:Policy", "iam",
        create=("iam:CreatePolicy", "iam:TagPolicy"),
        # Updates add a version, make it the default and prune the oldest (at most five).
        update=("iam:CreatePolicyVersion", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion"),
        delete=("iam:DeletePolicy", "iam:DeletePolicyVersion"), tag=("iam:TagPolicy", "iam:UntagPolicy"),
        read=("iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyVersions"),
        taggable=True, replace_on=("description", "name", "namePrefix", "path"),
        arn=Arn("iam", "policy", {"PolicyNameWithPath": "name"}),
        source=_src("iam/policy.go", "01ccd9a2d118a3e81a9649759bf14303526dc9e6"),
    ),
    ResourceType(
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "admin",
        create=("iam:CreateOpenIDConnectProvider", "iam:TagOpenIDConnectProvider"),
        update=("iam:AddClientIDToOpenIDConnectProvider", "iam:RemoveClientIDFromOpenIDConnectProvider",
                "iam:UpdateOpenIDConnectProviderThumbprint"),
        delete=("iam:DeleteOpenIDConnectProvider",),
        tag=("iam:TagOpenIDConnectProvider", "iam:UntagOpenIDConnectProvider"),
        read=("iam:GetOpenIDConnectProvider",), taggable=True, replace_on=("url",),
        arn=Arn("iam", "oidc-provider", {"OidcProviderName": ("url", "https://")}),
        source=_src("iam/openid_connect_provider.go", "01606926a0c0ab9174aec440f976a48b0baee722"),
    ),
    # -- Logs, metrics, events, notifications ------------------------------------------------------
    ResourceType(
        "aws:cloudwatch/logGroup:LogGroup", "name",
        create=("logs:CreateLogGroup", "logs:PutLogGroupDeletionProtection", "logs:PutRetentionPolicy",
                "logs:TagResource"),
        update=("logs:AssociateKmsKey", "logs:DeleteRetentionPolicy", "logs:DisassociateKmsKey",
                "logs:PutLogGroupDeletionProtection", "logs:PutRetentionPolicy"),
        delete=("logs:DeleteLogGroup",), tag=("logs:TagResource", "logs:UntagResource"),
        read=("logs:DescribeLogGroups", "logs:ListTagsForResource"),
        stateful=True, taggable=True, replace_on=("logGroupClass", "name", "namePrefix"),
        arn=Arn("logs", "log-group", {"LogGroupName": "name"}),
        source=_src("logs/group.go", "0073593e7d6993ba482409f4dc35438daaa79bb3"),
    ),
    ResourceType(
        # The processing drift engine's metrics: lines of the drift jobs' logs.
        "aws:cloudwatch/logMetricFilter:LogMetricFilter", "name",
        create=("logs:PutMetricFilter",), update=("logs:PutMetricFilter",), delete=("logs:DeleteMetricFilter",),
        read=("logs:DescribeMetricFilters",), replace_on=("logGroupName", "name"),
        arn=Parent("logGroupName", "aws:cloudwatch/logGroup:LogGroup"),
        source=_src("logs/metric_filter.go", "0f14e6f61f915a586756281ad21fd57e25f57daf"),
    ),
    ResourceType(
        # Schedules take no tags (their groups do); the target's role is passed (iam:PassRole, ci_trust).
        "aws:scheduler/schedule:Schedule", "name",
        create=("scheduler:CreateSchedule",), update=("scheduler:UpdateSchedule",), delete=("scheduler:DeleteSchedule",),
        read=("scheduler:GetSchedule",), replace_on=("groupName", "name", "namePrefix"),
        arn=Arn("scheduler", "schedule", {"GroupName": "groupName", "ScheduleName": "name"}),
        source=_src("scheduler/schedule.go", "02f524b9e9cc109457eeba63867c83e70af99455"),
    ),
    ResourceType(
        "aws:cloudwatch/metricAlarm:MetricAlarm", "name",
        create=("cloudwatch:PutMetricAlarm", "cloudwatch:TagResource"), update=("cloudwatch:PutMetricAlarm",),
        delete=("cloudwatch:DeleteAlarms",), tag=("cloudwatch:TagResource", "cloudwatch:UntagResource"),
        read=("cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"), taggable=True,
        replace_on=("name",),  # alarm_name
        arn=Arn("cloudwatch", "alarm", {"AlarmName": "name"}),
        source=_src("cloudwatch/metric_alarm.go", "055611a654738da73e7b1e2b5d2b7672c6d4d531"),
    ),
    ResourceType(
        "aws:cloudwatch/dashboard:Dashboard", "name",
        create=("cloudwatch:PutDashboard",), update=("cloudwatch:PutDashboard",), delete=("cloudwatch:DeleteDashboards",),
        read=("cloudwatch:GetDashboard",), replace_on=("dashboardName",),
        arn=Arn("cloudwatch", "dashboard", {"DashboardName": "dashboardName"}),
        source=_src("cloudwatch/dashboard.go", "0620f2a6a126dfcbc4aecbc9a117b0fbea1656ff"),
    ),
    ResourceType(
        "aws:cloudwatch/eventRule:EventRule", "name",
        create=("events:PutRule", "events:TagResource"), update=("events:PutRule",), delete=("events:DeleteRule",),
        tag=("events:TagResource", "events:UntagResource"), read=("events:DescribeRule", "events:ListTagsForResource"),
        taggable=True, replace_on=("eventBusName", "name", "namePrefix"),
        arn=Arn("events", "rule-on-default-event-bus", {"RuleName": "name"}),
        source=_src("events/rule.go", "0cdab4ae09a963535e03dde0bff4784afe8e3517"),
    ),
    ResourceType(
        "aws:cloudwatch/eventTarget:EventTarget", "name",
        create=("events:PutTargets",), update=("events:PutTargets",), delete=("events:RemoveTargets",),
        read=("events:ListTargetsByRule",), replace_on=("eventBusName", "rule", "targetId"),
        arn=Parent("rule", "aws:cloudwatch/eventRule:EventRule"),
        source=_src("events/target.go", "0762c41e2027fcd3cb8340d3e6886c6975fc0a59"),
    ),
    ResourceType(
        "aws:sns/topic:Topic", "name",
        create=("sns:CreateTopic", "sns:SetTopicAttributes", "sns:TagResource"), update=("sns:SetTopicAttributes",),
        delete=("sns:DeleteTopic",), tag=("sns:TagResource", "sns:UntagResource"),
        read=("sns:GetTopicAttributes", "sns:ListTagsForResource"), taggable=True,
        replace_on=("fifoTopic", "name", "namePrefix"), arn=Arn("sns", "topic", {"TopicName": "name"}),
        source=_src("sns/topic.go", "00a35305dc1b297a6fcdecdfbba33f1e63c3da39"),
    ),
    ResourceType(
        "aws:sns/topicPolicy:TopicPolicy", "name",
        create=("sns:SetTopicAttributes",), update=("sns:SetTopicAttributes",), delete=("sns:SetTopicAttributes",),
        read=("sns:GetTopicAttributes",), replace_on=("arn",), arn=Parent("arn", "aws:sns/topic:Topic"),
        source=_src("sns/topic_policy.go", "00a35305dc1b297a6fcdecdfbba33f1e63c3da39"),
    ),
    ResourceType(
        "aws:sns/topicSubscription:TopicSubscription", "name",
        create=("sns:Subscribe",), update=("sns:SetSubscriptionAttributes",), delete=("sns:Unsubscribe",),
        read=("sns:GetSubscriptionAttributes",), replace_on=("endpoint", "protocol", "topic"),
        arn=Parent("topic", "aws:sns/topic:Topic"),
        source=_src("sns/topic_subscription.go", "04a2e6e5bc625ec85ea8c678219b483fc674877e"),
    ),
    ResourceType(
        "aws:budgets/budget:Budget", "name",
        create=("budgets:ModifyBudget",), update=("budgets:ModifyBudget",), delete=("budgets:ModifyBudget",),
        tag=("budgets:TagResource", "budgets:UntagResource"), read=("budgets:ViewBudget",), taggable=True,
        replace_on=("accountId", "name", "namePrefix"), arn=Arn("budgets", "budget", {"BudgetName": "name"}),
        source=_src("budgets/budget.go", "01d5888a070712729f1d55bb0918d299a3d2a140"),
    ),
    ResourceType(
        # Turning the audit trail off (DeleteTrail, StopLogging) stays an administrator's decision.
        "aws:cloudtrail/trail:Trail", "name",
        create=("cloudtrail:AddTags", "cloudtrail:CreateTrail", "cloudtrail:PutEventSelectors",
                "cloudtrail:PutInsightSelectors", "cloudtrail:StartLogging"),
        update=("cloudtrail:PutEventSelectors", "cloudtrail:PutInsightSelectors", "cloudtrail:StartLogging",
                "cloudtrail:StopLogging", "cloudtrail:UpdateTrail"),
        delete=("cloudtrail:DeleteTrail",), tag=("cloudtrail:AddTags", "cloudtrail:RemoveTags"),
        read=("cloudtrail:GetEventSelectors", "cloudtrail:GetTrail", "cloudtrail:GetTrailStatus", "cloudtrail:ListTags"),
        taggable=True, replace_on=("name",), arn=Arn("cloudtrail", "trail", {"TrailName": "name"}),
        source=_src("cloudtrail/trail.go", "0a9af16a978467b3f82b89fa32e83c06ca152652"),
    ),
    # -- Containers, databases, secrets ------------------------------------------------------------
    ResourceType(
        "aws:ecr/repository:Repository", "name",
        create=("ecr:CreateRepository", "ecr:TagResource"),
        update=("ecr:PutImageScanningConfiguration", "ecr:PutImageTagMutability"),
        delete=("ecr:DeleteRepository",), tag=("ecr:TagResource", "ecr:UntagResource"),
        read=("ecr:DescribeRepositories", "ecr:ListTagsForResource"), stateful=True, taggable=True,
        replace_on=("encryptionConfigurations", "name"), arn=Arn("ecr", "repository", {"RepositoryName": "name"}),
        source=_src("ecr/repository.go", "0072eea2d6046230a1fb7717741c17fd2122175e"),
    ),
    ResourceType(
        # No update: a new policy text replaces the resource.
        "aws:ecr/lifecyclePolicy:LifecyclePolicy", "name",
        create=("ecr:PutLifecyclePolicy",), delete=("ecr:DeleteLifecyclePolicy",),
        read=("ecr:GetLifecyclePolicy",), replace_on=("policy", "repository"),
        arn=Parent("repository", "aws:ecr/repository:Repository"),
        source=_src("ecr/lifecycle_policy.go", "00a35305dc1b297a6fcdecdfbba33f1e63c3da39"),
    ),
    ResourceType(
        "aws:rds/instance:Instance", "name",
        create=("rds:AddTagsToResource", "rds:CreateDBInstance"),
        update=("rds:ModifyDBInstance", "rds:RebootDBInstance"), delete=("rds:DeleteDBInstance",),
        tag=("rds:AddTagsToResource", "rds:RemoveTagsFromResource"),
        read=("rds:DescribeDBInstances", "rds:ListTagsForResource"), stateful=True, taggable=True,
        replace_on=("availabilityZone", "characterSetName", "customIamInstanceProfile", "dbName", "engine",
                    "identifier", "identifierPrefix", "kmsKeyId", "ncharCharacterSetName", "restoreToPointInTime",
                    "s3Import", "snapshotIdentifier", "storageEncrypted", "timezone", "username"),
        arn=Arn("rds", "db", {"DbInstanceName": "identifier"}),
        source=_src("rds/instance.go", "00e4b23838859616dd0ebc9d1fd9364c0f6bff22"),
    ),
    ResourceType(
        "aws:rds/subnetGroup:SubnetGroup", "name",
        create=("rds:AddTagsToResource", "rds:CreateDBSubnetGroup"), update=("rds:ModifyDBSubnetGroup",),
        delete=("rds:DeleteDBSubnetGroup",), tag=("rds:AddTagsToResource", "rds:RemoveTagsFromResource"),
        read=("rds:DescribeDBSubnetGroups",), taggable=True, replace_on=("name", "namePrefix"),
        arn=Arn("rds", "subgrp", {"SubnetGroupName": "name"}),
        source=_src("rds/subnet_group.go", "01c08000ddb14181b5bd19201d8fca311dc570e4"),
    ),
    # -- SageMaker ---------------------------------------------------------------------------------
    ResourceType(
        "aws:sagemaker/endpoint:Endpoint", "name",
        create=("sagemaker:AddTags", "sagemaker:CreateEndpoint"), update=("sagemaker:UpdateEndpoint",),
        delete=("sagemaker:DeleteEndpoint",), tag=_SAGEMAKER_TAGS,
        read=("sagemaker:DescribeEndpoint", *_SAGEMAKER_READ), taggable=True,
        replace_on=("deploymentConfig.autoRollbackConfiguration", "name"),
        arn=Arn("sagemaker", "endpoint", {"EndpointName": "name"}),
        source=_src("sagemaker/endpoint.go", "033616433b62eecd21bf862855f43202b7500c2f"),
    ),
    ResourceType(
        "aws:sagemaker/endpointConfiguration:EndpointConfiguration", "name",
        create=("sagemaker:AddTags", "sagemaker:CreateEndpointConfig"), delete=("sagemaker:DeleteEndpointConfig",),
        tag=_SAGEMAKER_TAGS, read=("sagemaker:DescribeEndpointConfig", *_SAGEMAKER_READ), taggable=True,
        replace_on=("*",), arn=Arn("sagemaker", "endpoint-config", {"EndpointConfigName": "name"}),
        source=_src("sagemaker/endpoint_configuration.go", "050ac11163cab8cdae5936a7f40b0e528ff780df"),
    ),
    ResourceType(
        "aws:sagemaker/model:Model", "name",
        create=("sagemaker:AddTags", "sagemaker:CreateModel"), delete=("sagemaker:DeleteModel",), tag=_SAGEMAKER_TAGS,
        read=("sagemaker:DescribeModel", *_SAGEMAKER_READ), taggable=True, replace_on=("*",),
        arn=Arn("sagemaker", "model", {"ModelName": "name"}),
        source=_src("sagemaker/model.go", "0cafd6b50f8e41065a3537744e2985d5bdce7d59"),
    ),
    ResourceType(
        "aws:sagemaker/modelPackageGroup:ModelPackageGroup", "name",
        create=("sagemaker:AddTags", "sagemaker:CreateModelPackageGroup"),
        delete=("sagemaker:DeleteModelPackageGroup",), tag=_SAGEMAKER_TAGS,
        read=("sagemaker:DescribeModelPackageGroup", *_SAGEMAKER_READ), stateful=True, taggable=True,
        replace_on=("modelPackageGroupDescription", "modelPackageGroupName"),
        arn=Arn("sagemaker", "model-package-group", {"ModelPackageGroupName": "modelPackageGroupName"}),
        source=_src("sagemaker/model_package_group.go", "050ac11163cab8cdae5936a7f40b0e528ff780df"),
    ),
    ResourceType(
        "aws:sagemaker/monitoringSchedule:MonitoringSchedule", "name",
        create=("sagemaker:AddTags", "sagemaker:CreateMonitoringSchedule"),
        update=("sagemaker:UpdateMonitoringSchedule",), delete=("sagemaker:DeleteMonitoringSchedule",),
        tag=_SAGEMAKER_TAGS, read=("sagemaker:DescribeMonitoringSchedule", *_SAGEMAKER_READ), taggable=True,
        replace_on=("name",), arn=Arn("sagemaker", "monitoring-schedule", {"MonitoringScheduleName": "name"}),
        source=_src("sagemaker/monitoring_schedule.go", "04a2e6e5bc625ec85ea8c678219b483fc674877e"),
    ),
    ResourceType(
        # Job definitions cannot be updated: every input but roleArn (and tags) is ForceNew.
        "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition", "name",
        create=("sagemaker:AddTags", "sagemaker:CreateDataQualityJobDefinition"),
        delete=("sagemaker:DeleteDataQualityJobDefinition",), tag=_SAGEMAKER_TAGS,
        read=("sagemaker:DescribeDataQualityJobDefinition", *_SAGEMAKER_READ), taggable=True,
        replace_on=("dataQualityAppSpecification", "dataQualityBaselineConfig", "dataQualityJobInput",
                    "dataQualityJobOutputConfig", "jobResources", "name", "networkConfig", "stoppingCondition"),
        arn=Arn("sagemaker", "data-quality-job-definition", {"DataQualityJobDefinitionName": "name"}),
        source=_src("sagemaker/data_quality_job_definition.go", "0105d2191ae7e43ba37ba011b916843eddf361ed"),
    ),
    ResourceType(
        "aws:sagemaker/pipeline:Pipeline", "name",
        create=("sagemaker:AddTags", "sagemaker:CreatePipeline"), update=("sagemaker:UpdatePipeline",),
        delete=("sagemaker:DeletePipeline",), tag=_SAGEMAKER_TAGS,
        read=("sagemaker:DescribePipeline", *_SAGEMAKER_READ), taggable=True, replace_on=("pipelineName",),
        arn=Arn("sagemaker", "pipeline", {"PipelineName": "pipelineName"}),
        source=_src("sagemaker/pipeline.go", "1a3007b2a118bde6571cfba0c0c0c915e4c67483"),
    ),
    ResourceType(
        "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer", "name",
        create=("sagemaker:AddTags", "sagemaker:CreateMlflowTrackingServer"),
        update=("sagemaker:UpdateMlflowTrackingServer",), delete=("sagemaker:DeleteMlflowTrackingServer",),
        tag=_SAGEMAKER_TAGS, read=("sagemaker:DescribeMlflowTrackingServer", *_SAGEMAKER_READ),
        stateful=True, taggable=True, replace_on=("mlflowVersion", "roleArn", "trackingServerName"),
        arn=Arn("sagemaker", "mlflow-tracking-server", {"MlflowTrackingServerName": "trackingServerName"}),
        source=_src("sagemaker/mlflow_tracking_server.go", "07eed3b0ddd7e6809a9599d7ab9f08848a8e51cf"),
    ),
    ResourceType(
        # ARNs carry a generated app id, not the name: fenced by tags. The name is updatable.
        "aws:sagemaker/mlflowApp:MlflowApp", "tag",
        create=("sagemaker:AddTags", "sagemaker:CreateMlflowApp"), update=("sagemaker:UpdateMlflowApp",),
        delete=("sagemaker:DeleteMlflowApp",), tag=_SAGEMAKER_TAGS,
        read=("sagemaker:DescribeMlflowApp", *_SAGEMAKER_READ), stateful=True, taggable=True, replace_on=("roleArn",),
        arn=Arn("sagemaker", "mlflow-app", {"MLflowAppId": "$id"}),
        source=_src("sagemaker/mlflow_app.go", "09ee0d1e63ab8b54f46537ef7b5f9c7539dc81eb"),
    ),
    # -- Serving autoscaling, retraining, monitoring -----------------------------------------------
    ResourceType(
        # Scalable targets have no usable name or tag condition on every call: region fence.
        "aws:appautoscaling/target:Target", "region",
        create=("application-autoscaling:RegisterScalableTarget", "application-autoscaling:TagResource"),
        update=("application-autoscaling:RegisterScalableTarget",),
        delete=("application-autoscaling:DeregisterScalableTarget",),
        tag=("application-autoscaling:TagResource", "application-autoscaling:UntagResource"),
        read=("application-autoscaling:DescribeScalableTargets", "application-autoscaling:ListTagsForResource"),
        taggable=True, replace_on=("resourceId", "scalableDimension", "serviceNamespace"),
        arn=Arn("application-autoscaling", "ScalableTarget", {"ResourceId": "$id"}),
        source=_src("appautoscaling/target.go", "0105d2191ae7e43ba37ba011b916843eddf361ed"),
    ),
    ResourceType(
        "aws:appautoscaling/policy:Policy", "region",
        create=("application-autoscaling:PutScalingPolicy",), update=("application-autoscaling:PutScalingPolicy",),
        delete=("application-autoscaling:DeleteScalingPolicy",), read=("application-autoscaling:DescribeScalingPolicies",),
        replace_on=("name", "resourceId", "scalableDimension", "serviceNamespace"),
        arn=Parent("resourceId", "aws:appautoscaling/target:Target"),
        source=_src("appautoscaling/policy.go", "048320e88399c508ae6481be5d8ef6fd6f71a9f6"),
    ),
    ResourceType(
        "aws:sfn/stateMachine:StateMachine", "name",
        create=("states:CreateStateMachine", "states:TagResource"), update=("states:UpdateStateMachine",),
        delete=("states:DeleteStateMachine",), tag=("states:TagResource", "states:UntagResource"),
        read=("states:DescribeStateMachine", "states:ListStateMachineVersions", "states:ListTagsForResource"),
        taggable=True, replace_on=("name", "namePrefix", "type"),
        arn=Arn("states", "statemachine", {"StateMachineName": "name"}),
        source=_src("sfn/state_machine.go", "01f431114674c27cf790fafb67ac274bf8f765e1"),
    ),
    ResourceType(
        # CloudFormation creates the template's resources with the deployer's credentials; the
        # platform's only template holds a SageMaker model-quality job definition (pulumi-aws has
        # none), replaced under a new content-derived name when it changes.
        "aws:cloudformation/stack:Stack", "name",
        create=("cloudformation:CreateStack", "cloudformation:TagResource", "sagemaker:AddTags",
                "sagemaker:CreateModelQualityJobDefinition"),
        update=("cloudformation:UpdateStack", "sagemaker:AddTags", "sagemaker:CreateModelQualityJobDefinition",
                "sagemaker:DeleteModelQualityJobDefinition"),
        delete=("cloudformation:DeleteStack", "sagemaker:DeleteModelQualityJobDefinition"),
        tag=("cloudformation:TagResource", "cloudformation:UntagResource"),
        read=("cloudformation:DescribeStacks", "cloudformation:GetTemplate",
              "sagemaker:DescribeModelQualityJobDefinition"), taggable=True,
        replace_on=("disableRollback", "name", "onFailure", "timeoutInMinutes"),
        arn=Arn("cloudformation", "stack", {"StackName": "name", "Id": "$id"}),
        other_arns={"sagemaker": Arn("sagemaker", "model-quality-job-definition", {
            "ModelQualityJobDefinitionName": "templateBody#Resources.ModelQualityJobDefinition.Properties.JobDefinitionName"})},
        source=_src("cloudformation/stack.go", "01606926a0c0ab9174aec440f976a48b0baee722"),
    ),
    # -- Optional Prometheus / Grafana (ids are generated: tag fence) -------------------------------
    ResourceType(
        "aws:amp/workspace:Workspace", "tag",
        create=("aps:CreateWorkspace", "aps:TagResource"),
        update=("aps:CreateLoggingConfiguration", "aps:DeleteLoggingConfiguration",
                "aps:UpdateLoggingConfiguration", "aps:UpdateWorkspaceAlias"),
        delete=("aps:DeleteWorkspace",), tag=("aps:TagResource", "aps:UntagResource"),
        read=("aps:DescribeLoggingConfiguration", "aps:DescribeWorkspace", "aps:ListTagsForResource"),
        stateful=True, taggable=True, replace_on=("kmsKeyArn",),  # and alias once set cannot be unset
        arn=Arn("aps", "workspace", {"WorkspaceId": "$id"}),
        source=_src("amp/workspace.go", "0620f2a6a126dfcbc4aecbc9a117b0fbea1656ff"),
    ),
    ResourceType(
        "aws:grafana/workspace:Workspace", "tag",
        create=("grafana:CreateWorkspace", "grafana:TagResource"),
        update=("grafana:UpdateWorkspace", "grafana:UpdateWorkspaceConfiguration"),
        delete=("grafana:DeleteWorkspace",), tag=("grafana:TagResource", "grafana:UntagResource"),
        read=("grafana:DescribeWorkspace", "grafana:DescribeWorkspaceConfiguration", "grafana:ListTagsForResource"),
        taggable=True, replace_on=("authenticationProviders", "kmsKeyId"),
        arn=Arn("grafana", "workspace", {"ResourceId": "$id"}),
        source=_src("grafana/workspace.go", "00a35305dc1b297a6fcdecdfbba33f1e63c3da39"),
    ),
    # -- Kubernetes (cluster RBAC, not IAM) --------------------------------------------------------
    *(
        ResourceType(token, "cluster", replace_on=_K8S_REPLACE, source="pulumi-kubernetes: name and namespace identify an object")
        for token in (
            "kubernetes:apps/v1:Deployment",
            "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
            "kubernetes:core/v1:Namespace",
            "kubernetes:core/v1:Secret",
            "kubernetes:core/v1:Service",
            "kubernetes:core/v1:ServiceAccount",
            "kubernetes:networking.k8s.io/v1:NetworkPolicy",
            "kubernetes:policy/v1:PodDisruptionBudget",
        )
    ),
)

RESOURCE_TYPES: Final[Mapping[str, ResourceType]] = {t.token: t for t in _TYPES}
if len(RESOURCE_TYPES) != len(_TYPES):  # pragma: no cover - a duplicate entry is a programming error
    raise RuntimeError("duplicate type token in resource_types._TYPES")


def lookup(token: str) -> ResourceType:
    """The registry entry of ``token``; :class:`UnknownResourceType` (a KeyError) says how to add one."""
    try:
        return RESOURCE_TYPES[token]
    except KeyError:
        raise UnknownResourceType(token) from None


def of_fence(*fences: Fence) -> tuple[ResourceType, ...]:
    return tuple(t for t in _TYPES if t.fence in fences)


def stateful_types() -> frozenset[str]:
    """Types whose deletion or replacement loses data."""
    return frozenset(t.token for t in _TYPES if t.stateful)


def taggable_types() -> frozenset[str]:
    """AWS types that take tags (the provider's default tags apply to them)."""
    return frozenset(t.token for t in _TYPES if t.taggable)


def replacement_inputs(prefix: str = "") -> dict[str, tuple[str, ...]]:
    """Type token -> inputs (or nested dotted paths) whose change replaces the resource."""
    return {t.token: t.replace_on for t in _TYPES if t.token.startswith(prefix) and t.replace_on}


def actions_of(types: Iterable[ResourceType], *operations: Operation) -> tuple[str, ...]:
    return tuple(sorted({a for t in types for a in t.actions(*operations)}))
