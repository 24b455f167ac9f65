"""The registry's foundation types: S3, KMS, EC2/VPC and IAM (see :mod:`mlops_blueprint.resource_types`)."""

from __future__ import annotations

from typing import Any

from mlops_blueprint.resource_type_model import Arn, Parent, ResourceType
from mlops_blueprint.resource_type_model import provider_source as _src

# S3 per-setting resources (v7): all authorized on the bucket, replaced when the bucket changes.
_ON_BUCKET = Parent("bucket", "aws:s3/bucket:Bucket")


def _s3_setting(token: str, put: str, read: str, source: str, delete: str | None = None,
                replace_on: tuple[str, ...] = ("bucket", "expectedBucketOwner")) -> ResourceType:
    """S3 deletes most settings through Delete* APIs that IAM authorizes with the Put* action
    (e.g. DeleteBucketOwnershipControls needs s3:PutBucketOwnershipControls)."""
    return ResourceType(token, "name", create=(put,), update=(put,), delete=(delete or put,), read=(read,),
                        replace_on=replace_on, arn=_ON_BUCKET, source=source)


_EC2_TAGS = ("ec2:CreateTags", "ec2:DeleteTags")
_SG = Arn("ec2", "security-group", {"SecurityGroupId": "$id"})
_ON_SG = Parent("securityGroupId", "aws:ec2/securityGroup:SecurityGroup")
_SG_RULE = Arn("ec2", "security-group-rule", {"SecurityGroupRuleId": "$id"})
_ON_ROLE = Parent("role", "aws:iam/role:Role")


#: What changing a security group's inline rules calls.
_SG_RULE_CHANGES = ("ec2:AuthorizeSecurityGroupEgress", "ec2:AuthorizeSecurityGroupIngress",
                    "ec2:RevokeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress")


def _ec2(token: str, *, create: tuple[str, ...], **spec: Any) -> ResourceType:
    """An EC2 type with random ids: tag-fenced, so tagged at creation (ec2:CreateTags) and through
    EC2's tag actions."""
    return ResourceType(token, "tag", create=tuple(sorted((*create, "ec2:CreateTags"))), tag=_EC2_TAGS,
                        taggable=True, **spec)


def _sg_rule(direction: str, source: str) -> ResourceType:
    """``aws:vpc/securityGroup<direction>Rule``: authorized on its group, tagged on its own ARN; the
    ingress and egress types differ only in the direction their EC2 actions name."""
    return ResourceType(
        f"aws:vpc/securityGroup{direction}Rule:SecurityGroup{direction}Rule", "tag",
        create=(f"ec2:AuthorizeSecurityGroup{direction}",),
        update=("ec2:ModifySecurityGroupRules", f"ec2:UpdateSecurityGroupRuleDescriptions{direction}"),
        delete=(f"ec2:RevokeSecurityGroup{direction}",), tag=_EC2_TAGS, read=("ec2:DescribeSecurityGroupRules",),
        taggable=True, replace_on=("securityGroupId",), arn=_ON_SG, tag_arn=_SG_RULE, source=source,
    )


FOUNDATION_TYPES: tuple[ResourceType, ...] = (
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
    _ec2("aws:ec2/vpc:Vpc", create=("ec2:CreateVpc",), update=("ec2:ModifyVpcAttribute",), delete=("ec2:DeleteVpc",),
         read=("ec2:DescribeVpcAttribute", "ec2:DescribeVpcs"),
         replace_on=("cidrBlock", "ipv4IpamPoolId", "ipv4NetmaskLength"), arn=Arn("ec2", "vpc", {"VpcId": "$id"}),
         source=_src("ec2/vpc_.go", "00081ce41cc691433ac19bf42227cdabffd0454d")),
    _ec2("aws:ec2/subnet:Subnet", create=("ec2:CreateSubnet",), update=("ec2:ModifySubnetAttribute",),
         delete=("ec2:DeleteSubnet",), read=("ec2:DescribeSubnets",),
         replace_on=("availabilityZone", "availabilityZoneId", "cidrBlock", "ipv4IpamPoolId", "ipv4NetmaskLength",
                     "ipv6IpamPoolId", "ipv6Native", "ipv6NetmaskLength", "outpostArn", "vpcId"),
         arn=Arn("ec2", "subnet", {"SubnetId": "$id"}),
         source=_src("ec2/vpc_subnet.go", "00cda125a19d31754cb0d073cf551264c57955cb")),
    # The provider revokes AWS's default allow-all egress right after CreateSecurityGroup.
    _ec2("aws:ec2/securityGroup:SecurityGroup", create=("ec2:CreateSecurityGroup",), update=_SG_RULE_CHANGES,
         delete=("ec2:DeleteSecurityGroup",), read=("ec2:DescribeSecurityGroups",),
         replace_on=("description", "name", "namePrefix", "vpcId"), arn=_SG,
         source=_src("ec2/vpc_security_group.go", "01606926a0c0ab9174aec440f976a48b0baee722")),
    # Adopts the VPC's default group: strips its rules and tags it (no create, no delete).
    _ec2("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
         create=("ec2:RevokeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress"), update=_SG_RULE_CHANGES,
         read=("ec2:DescribeSecurityGroups",), replace_on=("vpcId",), arn=_SG,
         source=_src("ec2/vpc_default_security_group.go", "01f431114674c27cf790fafb67ac274bf8f765e1")),
    _sg_rule("Ingress", _src("ec2/vpc_security_group_ingress_rule.go", "00a322094b4b9ade8a81b244345dbcf4b52ee8d6")),
    # The egress rule shares the ingress rule's schema (resourceSecurityGroupRule).
    _sg_rule("Egress", _src("ec2/vpc_security_group_egress_rule.go", "050ac11163cab8cdae5936a7f40b0e528ff780df")),
    _ec2("aws:ec2/routeTable:RouteTable", create=("ec2:CreateRouteTable",),
         update=("ec2:CreateRoute", "ec2:DeleteRoute", "ec2:ReplaceRoute"), delete=("ec2:DeleteRouteTable",),
         read=("ec2:DescribeRouteTables",), replace_on=("vpcId",),
         arn=Arn("ec2", "route-table", {"RouteTableId": "$id"}),
         source=_src("ec2/vpc_route_table.go", "022092419b7cda11527df3c6b51cbfe1876c1722")),
    ResourceType(
        "aws:ec2/routeTableAssociation:RouteTableAssociation", "tag",
        create=("ec2:AssociateRouteTable",), update=("ec2:ReplaceRouteTableAssociation",),
        delete=("ec2:DisassociateRouteTable",), read=("ec2:DescribeRouteTables",),
        replace_on=("gatewayId", "subnetId"), arn=Parent("routeTableId", "aws:ec2/routeTable:RouteTable"),
        source=_src("ec2/vpc_route_table_association.go", "0be71beb458ad8875e0acc5c91519c0ceeb214aa"),
    ),
    _ec2("aws:ec2/vpcEndpoint:VpcEndpoint", create=("ec2:CreateVpcEndpoint",), update=("ec2:ModifyVpcEndpoint",),
         delete=("ec2:DeleteVpcEndpoints",), read=("ec2:DescribePrefixLists", "ec2:DescribeVpcEndpoints"),
         replace_on=("dnsOptions.privateDnsPreference", "dnsOptions.privateDnsSpecifiedDomains",
                     "resourceConfigurationArn", "serviceName", "serviceNetworkArn", "serviceRegion",
                     "vpcEndpointType", "vpcId"),
         arn=Arn("ec2", "vpc-endpoint", {"VpcEndpointId": "$id"}),
         source=_src("ec2/vpc_endpoint.go", "008db85aad5e56627b1eecab8830464a282552ed")),
    _ec2("aws:ec2/flowLog:FlowLog", create=("ec2:CreateFlowLogs",), delete=("ec2:DeleteFlowLogs",),
         read=("ec2:DescribeFlowLogs",),
         replace_on=("deliverCrossAccountRole", "destinationOptions", "eniId", "iamRoleArn", "logDestination",
                     "logDestinationType", "logFormat", "maxAggregationInterval", "regionalNatGatewayId",
                     "subnetId", "trafficType", "transitGatewayAttachmentId", "transitGatewayId", "vpcId"),
         arn=Arn("ec2", "vpc-flow-log", {"VpcFlowLogId": "$id"}),
         role_checked_at_create="CreateFlowLogs checks that the role can deliver to the log group",
         source=_src("ec2/vpc_flow_log.go", "00a35305dc1b297a6fcdecdfbba33f1e63c3da39")),
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
)
