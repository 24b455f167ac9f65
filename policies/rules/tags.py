"""Mandatory tags on every taggable AWS resource: its own tags plus its provider's default tags.

The inputs the engine sees hold only what the program set, so "has a ``tags`` input" cannot be
read off a resource that relies on default tags alone. :data:`TAGGABLE_TYPES` therefore lists the
taggable types this platform creates (a test checks each against pulumi-aws's schema); any other
``aws:`` resource that passes a ``tags`` input is checked too. Providers and component resources
have no tags and are exempt.
"""

from __future__ import annotations

from mlops_blueprint.policies.model import (
    ANY_TYPE,
    PolicyContext,
    ResourceView,
    Rule,
    effective_tags,
    is_unknown,
)
from mlops_blueprint.policies.rules._helpers import short_type
from mlops_blueprint.tags import MANDATORY_TAG_KEYS

TAGGABLE_TYPES: frozenset[str] = frozenset(
    {
        "aws:cloudtrail/trail:Trail",
        "aws:cloudwatch/eventRule:EventRule",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "aws:ec2/eip:Eip",
        "aws:ec2/flowLog:FlowLog",
        "aws:ec2/internetGateway:InternetGateway",
        "aws:ec2/launchTemplate:LaunchTemplate",
        "aws:ec2/natGateway:NatGateway",
        "aws:ec2/routeTable:RouteTable",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ec2/subnet:Subnet",
        "aws:ec2/vpc:Vpc",
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        "aws:ecr/repository:Repository",
        "aws:eks/cluster:Cluster",
        "aws:eks/nodeGroup:NodeGroup",
        "aws:iam/instanceProfile:InstanceProfile",
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
        "aws:iam/policy:Policy",
        "aws:iam/role:Role",
        "aws:kms/key:Key",
        "aws:lambda/function:Function",
        "aws:rds/cluster:Cluster",
        "aws:rds/clusterInstance:ClusterInstance",
        "aws:rds/instance:Instance",
        "aws:rds/subnetGroup:SubnetGroup",
        "aws:s3/bucket:Bucket",
        "aws:sagemaker/domain:Domain",
        "aws:sagemaker/endpoint:Endpoint",
        "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
        "aws:sagemaker/featureGroup:FeatureGroup",
        "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition",
        "aws:sagemaker/mlflowApp:MlflowApp",
        "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer",
        "aws:sagemaker/monitoringSchedule:MonitoringSchedule",
        "aws:sagemaker/model:Model",
        "aws:sagemaker/modelPackageGroup:ModelPackageGroup",
        "aws:sagemaker/notebookInstance:NotebookInstance",
        "aws:sagemaker/pipeline:Pipeline",
        "aws:sagemaker/userProfile:UserProfile",
        "aws:secretsmanager/secret:Secret",
        "aws:sfn/stateMachine:StateMachine",
        "aws:budgets/budget:Budget",
        "aws:cloudformation/stack:Stack",
        "aws:amp/workspace:Workspace",
        "aws:grafana/workspace:Workspace",
        "aws:sns/topic:Topic",
        "aws:sqs/queue:Queue",
    }
)


def is_taggable(resource: ResourceView) -> bool:
    if not resource.type.startswith("aws:"):
        return False  # providers (pulumi:providers:aws), components, other clouds
    return resource.type in TAGGABLE_TYPES or "tags" in resource.props


def _mandatory_tags(resource: ResourceView, ctx: PolicyContext) -> list[str]:
    if not is_taggable(resource):
        return []
    if is_unknown(resource.props.get("tags")) or is_unknown(resource.provider_props.get("defaultTags")):
        return []
    tags = effective_tags(resource)
    missing = [key for key in MANDATORY_TAG_KEYS if tags.get(key) in (None, "")]
    if not missing:
        return []
    return [
        f"{short_type(resource.type)} '{resource.name}' lacks mandatory tags {', '.join(missing)}; "
        "set them in the provider's defaultTags or the resource's tags"
    ]


RULES: tuple[Rule, ...] = (
    Rule(
        name="mandatory-tags",
        description=(
            "Taggable AWS resources carry project, environment, component, owner, cost-center and "
            "data-classification (own tags or provider default tags)."
        ),
        enforcement="mandatory",
        check=_mandatory_tags,
        resource_types=ANY_TYPE,
    ),
)
