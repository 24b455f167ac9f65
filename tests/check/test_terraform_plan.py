"""The Pulumi plan -> Terraform plan mapping checkov reads: a tested table."""

import pytest
from support.stacks import of_type, plan_for

from mlops_blueprint.check.terraform_plan import address_names, attribute_name, terraform_type, to_terraform_plan


@pytest.mark.parametrize(
    ("token", "tf_type"),
    [
        ("aws:s3/bucket:Bucket", "aws_s3_bucket"),
        ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "aws_s3_bucket_public_access_block"),
        ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
         "aws_s3_bucket_server_side_encryption_configuration"),
        ("aws:ec2/vpc:Vpc", "aws_vpc"),  # ec2 resources carry no module prefix in Terraform
        ("aws:ec2/flowLog:FlowLog", "aws_flow_log"),
        ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws_vpc_security_group_ingress_rule"),
        ("aws:cloudtrail/trail:Trail", "aws_cloudtrail"),
        ("aws:rds/instance:Instance", "aws_db_instance"),
        ("aws:iam/openIdConnectProvider:OpenIdConnectProvider", "aws_iam_openid_connect_provider"),
        ("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "aws_sagemaker_endpoint_configuration"),
        ("aws:cloudwatch/logGroup:LogGroup", "aws_cloudwatch_log_group"),
        ("aws:amp/workspace:Workspace", "aws_prometheus_workspace"),
    ],
)
def test_type_tokens_map_to_terraform_types(token, tf_type):
    assert terraform_type(token) == tf_type


@pytest.mark.parametrize(
    ("key", "attribute"),
    [
        ("applyServerSideEncryptionByDefault", "apply_server_side_encryption_by_default"),
        ("kmsMasterKeyId", "kms_master_key_id"),
        ("rules", "rule"),  # Pulumi pluralises Terraform's repeated blocks
        ("noncurrentVersionTransitions", "noncurrent_version_transition"),
        ("eventSelectors", "event_selector"),
        ("productionVariants", "production_variants"),
        ("blockPublicAcls", "block_public_acls"),
    ],
)
def test_attribute_names(key, attribute):
    assert attribute_name(key) == attribute


def test_export_keeps_values_and_draws_references_from_property_dependencies():
    plan = plan_for("dev")
    tf = to_terraform_plan(plan)
    addresses = address_names(plan)
    assert len(set(addresses.values())) == len(addresses)
    by_address = {r["address"]: r for r in tf["planned_values"]["root_module"]["resources"]}
    config = {r["address"]: r for r in tf["configuration"]["root_module"]["resources"]}
    [sse] = [r for r in of_type(plan, "aws:s3/bucketServerSideEncryptionConfiguration:"
                                          "BucketServerSideEncryptionConfiguration") if "models" in r["name"]]
    values = by_address[addresses[sse["urn"]]]["values"]
    assert values["rule"][0]["apply_server_side_encryption_by_default"]["sse_algorithm"] == "aws:kms"
    # The bucket argument is a reference to the bucket resource, as Terraform records it.
    [bucket_urn] = sse["propertyDependencies"]["bucket"]
    refs = config[addresses[sse["urn"]]]["expressions"]["bucket"]["references"]
    assert refs == [f"{addresses[bucket_urn]}.id", addresses[bucket_urn]]
    assert values["bucket"] is None
    assert {r["change"]["actions"][0] for r in tf["resource_changes"]} == {"create"}
