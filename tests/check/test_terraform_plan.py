"""The Pulumi plan -> Terraform plan mapping checkov reads: a tested table."""

import pytest
from support.stacks import of_type, plan_for

from mlops_blueprint.check.terraform_plan import address_names, attribute_name, terraform_type, to_terraform_plan


@pytest.mark.parametrize(
    ("convert", "pulumi", "terraform"),
    [
        # type tokens
        (terraform_type, "aws:s3/bucket:Bucket", "aws_s3_bucket"),
        (terraform_type, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "aws_s3_bucket_public_access_block"),
        (terraform_type, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
         "aws_s3_bucket_server_side_encryption_configuration"),
        (terraform_type, "aws:ec2/vpc:Vpc", "aws_vpc"),  # ec2 resources carry no module prefix in Terraform
        (terraform_type, "aws:ec2/flowLog:FlowLog", "aws_flow_log"),
        (terraform_type, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
         "aws_vpc_security_group_ingress_rule"),
        (terraform_type, "aws:cloudtrail/trail:Trail", "aws_cloudtrail"),
        (terraform_type, "aws:rds/instance:Instance", "aws_db_instance"),
        (terraform_type, "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "aws_iam_openid_connect_provider"),
        (terraform_type, "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
         "aws_sagemaker_endpoint_configuration"),
        (terraform_type, "aws:cloudwatch/logGroup:LogGroup", "aws_cloudwatch_log_group"),
        (terraform_type, "aws:amp/workspace:Workspace", "aws_prometheus_workspace"),
        # input keys
        (attribute_name, "applyServerSideEncryptionByDefault", "apply_server_side_encryption_by_default"),
        (attribute_name, "kmsMasterKeyId", "kms_master_key_id"),
        (attribute_name, "rules", "rule"),  # Pulumi pluralises Terraform's repeated blocks
        (attribute_name, "noncurrentVersionTransitions", "noncurrent_version_transition"),
        (attribute_name, "eventSelectors", "event_selector"),
        (attribute_name, "productionVariants", "production_variants"),
        (attribute_name, "blockPublicAcls", "block_public_acls"),
    ],
    ids=lambda value: getattr(value, "__name__", None),
)
def test_pulumi_names_map_to_terraform_names(convert, pulumi, terraform):
    assert convert(pulumi) == terraform


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
