"""The registry's ML and operations types: logs, metrics, events, containers, databases, SageMaker,
autoscaling, Step Functions, Prometheus/Grafana and Kubernetes (see :mod:`mlops_blueprint.resource_types`)."""

from __future__ import annotations

from typing import Any

from mlops_blueprint.resource_type_model import Arn, Fence, Parent, ResourceType
from mlops_blueprint.resource_type_model import provider_source as _src

_K8S_REPLACE = ("metadata.name", "metadata.namespace")

TagApi = tuple[str, str, str]
"""A service's tag actions: (tag, untag, list tags)."""
_SAGEMAKER_TAG_API: TagApi = ("sagemaker:AddTags", "sagemaker:DeleteTags", "sagemaker:ListTags")


def _standard_tags(service: str) -> TagApi:
    """The tag actions most services share: ``TagResource``, ``UntagResource``, ``ListTagsForResource``."""
    return (f"{service}:TagResource", f"{service}:UntagResource", f"{service}:ListTagsForResource")


def _tagged(tags: TagApi, token: str, fence: Fence, *, create: tuple[str, ...], read: tuple[str, ...] = (),
            **spec: Any) -> ResourceType:
    """A taggable type whose service tags through ``tags``: it tags at creation (so the tag
    condition of a ``tag`` fence holds), tags and untags later, and a refresh lists the tags."""
    tag, untag, list_tags = tags
    return ResourceType(token, fence, create=tuple(sorted({*create, tag})), tag=(tag, untag),
                        read=tuple(sorted({*read, list_tags})), taggable=True, **spec)


PLATFORM_TYPES: tuple[ResourceType, ...] = (

    # -- Logs, metrics, events, notifications ------------------------------------------------------
    _tagged(_standard_tags("logs"), "aws:cloudwatch/logGroup:LogGroup", "name",
            create=("logs:CreateLogGroup", "logs:PutLogGroupDeletionProtection", "logs:PutRetentionPolicy"),
            update=("logs:AssociateKmsKey", "logs:DeleteRetentionPolicy", "logs:DisassociateKmsKey",
                    "logs:PutLogGroupDeletionProtection", "logs:PutRetentionPolicy"),
            delete=("logs:DeleteLogGroup",), read=("logs:DescribeLogGroups",), stateful=True,
            replace_on=("logGroupClass", "name", "namePrefix"), arn=Arn("logs", "log-group", {"LogGroupName": "name"}),
            source=_src("logs/group.go", "0073593e7d6993ba482409f4dc35438daaa79bb3")),
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
        role_checked_at_create="its first run starts processing jobs as the drift jobs' role, with the Scheduler's",
        source=_src("scheduler/schedule.go", "02f524b9e9cc109457eeba63867c83e70af99455"),
    ),
    _tagged(_standard_tags("cloudwatch"), "aws:cloudwatch/metricAlarm:MetricAlarm", "name",
            create=("cloudwatch:PutMetricAlarm",), update=("cloudwatch:PutMetricAlarm",),
            delete=("cloudwatch:DeleteAlarms",), read=("cloudwatch:DescribeAlarms",),
            replace_on=("name",),  # alarm_name
            arn=Arn("cloudwatch", "alarm", {"AlarmName": "name"}),
            source=_src("cloudwatch/metric_alarm.go", "055611a654738da73e7b1e2b5d2b7672c6d4d531")),
    ResourceType(
        "aws:cloudwatch/dashboard:Dashboard", "name",
        create=("cloudwatch:PutDashboard",), update=("cloudwatch:PutDashboard",), delete=("cloudwatch:DeleteDashboards",),
        read=("cloudwatch:GetDashboard",), replace_on=("dashboardName",),
        arn=Arn("cloudwatch", "dashboard", {"DashboardName": "dashboardName"}),
        source=_src("cloudwatch/dashboard.go", "0620f2a6a126dfcbc4aecbc9a117b0fbea1656ff"),
    ),
    _tagged(_standard_tags("events"), "aws:cloudwatch/eventRule:EventRule", "name",
            create=("events:PutRule",), update=("events:PutRule",), delete=("events:DeleteRule",),
            read=("events:DescribeRule",), replace_on=("eventBusName", "name", "namePrefix"),
            arn=Arn("events", "rule-on-default-event-bus", {"RuleName": "name"}),
            source=_src("events/rule.go", "0cdab4ae09a963535e03dde0bff4784afe8e3517")),
    ResourceType(
        "aws:cloudwatch/eventTarget:EventTarget", "name",
        create=("events:PutTargets",), update=("events:PutTargets",), delete=("events:RemoveTargets",),
        read=("events:ListTargetsByRule",), replace_on=("eventBusName", "rule", "targetId"),
        arn=Parent("rule", "aws:cloudwatch/eventRule:EventRule"),
        role_checked_at_create="the target's role is used from the rule's first run, right after creation",
        source=_src("events/target.go", "0762c41e2027fcd3cb8340d3e6886c6975fc0a59"),
    ),
    _tagged(_standard_tags("sns"), "aws:sns/topic:Topic", "name",
            create=("sns:CreateTopic", "sns:SetTopicAttributes"), update=("sns:SetTopicAttributes",),
            delete=("sns:DeleteTopic",), read=("sns:GetTopicAttributes",),
            replace_on=("fifoTopic", "name", "namePrefix"), arn=Arn("sns", "topic", {"TopicName": "name"}),
            source=_src("sns/topic.go", "00a35305dc1b297a6fcdecdfbba33f1e63c3da39")),
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
        role_checked_at_create="CreateTrail checks that the CloudWatch Logs role can write",
        source=_src("cloudtrail/trail.go", "0a9af16a978467b3f82b89fa32e83c06ca152652"),
    ),
    # -- Containers, databases, secrets ------------------------------------------------------------
    _tagged(_standard_tags("ecr"), "aws:ecr/repository:Repository", "name",
            create=("ecr:CreateRepository",), update=("ecr:PutImageScanningConfiguration", "ecr:PutImageTagMutability"),
            delete=("ecr:DeleteRepository",), read=("ecr:DescribeRepositories",), stateful=True,
            replace_on=("encryptionConfigurations", "name"), arn=Arn("ecr", "repository", {"RepositoryName": "name"}),
            source=_src("ecr/repository.go", "0072eea2d6046230a1fb7717741c17fd2122175e")),
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
    _tagged(_SAGEMAKER_TAG_API, "aws:sagemaker/endpoint:Endpoint", "name",
            create=("sagemaker:CreateEndpoint",), update=("sagemaker:UpdateEndpoint",),
            delete=("sagemaker:DeleteEndpoint",), read=("sagemaker:DescribeEndpoint",),
            replace_on=("deploymentConfig.autoRollbackConfiguration", "name"),
            arn=Arn("sagemaker", "endpoint", {"EndpointName": "name"}),
            source=_src("sagemaker/endpoint.go", "033616433b62eecd21bf862855f43202b7500c2f")),
    _tagged(_SAGEMAKER_TAG_API, "aws:sagemaker/endpointConfiguration:EndpointConfiguration", "name",
            create=("sagemaker:CreateEndpointConfig",), delete=("sagemaker:DeleteEndpointConfig",),
            read=("sagemaker:DescribeEndpointConfig",), replace_on=("*",),
            arn=Arn("sagemaker", "endpoint-config", {"EndpointConfigName": "name"}),
            source=_src("sagemaker/endpoint_configuration.go", "050ac11163cab8cdae5936a7f40b0e528ff780df")),
    _tagged(_SAGEMAKER_TAG_API, "aws:sagemaker/model:Model", "name",
            create=("sagemaker:CreateModel",), delete=("sagemaker:DeleteModel",), read=("sagemaker:DescribeModel",),
            replace_on=("*",), arn=Arn("sagemaker", "model", {"ModelName": "name"}),
            role_checked_at_create="CreateModel checks that SageMaker may assume the execution role",
            source=_src("sagemaker/model.go", "0cafd6b50f8e41065a3537744e2985d5bdce7d59")),
    _tagged(_SAGEMAKER_TAG_API, "aws:sagemaker/modelPackageGroup:ModelPackageGroup", "name",
            create=("sagemaker:CreateModelPackageGroup",), delete=("sagemaker:DeleteModelPackageGroup",),
            read=("sagemaker:DescribeModelPackageGroup",), stateful=True,
            replace_on=("modelPackageGroupDescription", "modelPackageGroupName"),
            arn=Arn("sagemaker", "model-package-group", {"ModelPackageGroupName": "modelPackageGroupName"}),
            source=_src("sagemaker/model_package_group.go", "050ac11163cab8cdae5936a7f40b0e528ff780df")),
    _tagged(_SAGEMAKER_TAG_API, "aws:sagemaker/monitoringSchedule:MonitoringSchedule", "name",
            create=("sagemaker:CreateMonitoringSchedule",), update=("sagemaker:UpdateMonitoringSchedule",),
            delete=("sagemaker:DeleteMonitoringSchedule",), read=("sagemaker:DescribeMonitoringSchedule",),
            replace_on=("name",), arn=Arn("sagemaker", "monitoring-schedule", {"MonitoringScheduleName": "name"}),
            source=_src("sagemaker/monitoring_schedule.go", "04a2e6e5bc625ec85ea8c678219b483fc674877e")),
    # Job definitions cannot be updated: every input but roleArn (and tags) is ForceNew.
    _tagged(_SAGEMAKER_TAG_API, "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition", "name",
            create=("sagemaker:CreateDataQualityJobDefinition",), delete=("sagemaker:DeleteDataQualityJobDefinition",),
            read=("sagemaker:DescribeDataQualityJobDefinition",),
            replace_on=("dataQualityAppSpecification", "dataQualityBaselineConfig", "dataQualityJobInput",
                        "dataQualityJobOutputConfig", "jobResources", "name", "networkConfig", "stoppingCondition"),
            arn=Arn("sagemaker", "data-quality-job-definition", {"DataQualityJobDefinitionName": "name"}),
            role_checked_at_create="the job definition's role is checked when it is created",
            source=_src("sagemaker/data_quality_job_definition.go", "0105d2191ae7e43ba37ba011b916843eddf361ed")),
    _tagged(_SAGEMAKER_TAG_API, "aws:sagemaker/pipeline:Pipeline", "name",
            create=("sagemaker:CreatePipeline",), update=("sagemaker:UpdatePipeline",),
            delete=("sagemaker:DeletePipeline",), read=("sagemaker:DescribePipeline",), replace_on=("pipelineName",),
            arn=Arn("sagemaker", "pipeline", {"PipelineName": "pipelineName"}),
            role_checked_at_create="CreatePipeline checks the pipeline's role",
            source=_src("sagemaker/pipeline.go", "1a3007b2a118bde6571cfba0c0c0c915e4c67483")),
    _tagged(_SAGEMAKER_TAG_API, "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer", "name",
            create=("sagemaker:CreateMlflowTrackingServer",), update=("sagemaker:UpdateMlflowTrackingServer",),
            delete=("sagemaker:DeleteMlflowTrackingServer",), read=("sagemaker:DescribeMlflowTrackingServer",),
            stateful=True, replace_on=("mlflowVersion", "roleArn", "trackingServerName"),
            arn=Arn("sagemaker", "mlflow-tracking-server", {"MlflowTrackingServerName": "trackingServerName"}),
            role_checked_at_create="the server assumes its role while it is created",
            source=_src("sagemaker/mlflow_tracking_server.go", "07eed3b0ddd7e6809a9599d7ab9f08848a8e51cf")),
    # Deleting a group deletes its online store's records (the offline store's objects stay in S3).
    # Only the online store's TTL and the throughput are updatable; every other input is ForceNew.
    _tagged(_SAGEMAKER_TAG_API, "aws:sagemaker/featureGroup:FeatureGroup", "name",
            create=("sagemaker:CreateFeatureGroup",), update=("sagemaker:UpdateFeatureGroup",),
            delete=("sagemaker:DeleteFeatureGroup",), read=("sagemaker:DescribeFeatureGroup",), stateful=True,
            replace_on=("description", "eventTimeFeatureName", "featureDefinitions", "featureGroupName",
                        "offlineStoreConfig", "onlineStoreConfig.enableOnlineStore", "onlineStoreConfig.securityConfig",
                        "onlineStoreConfig.storageType", "recordIdentifierFeatureName", "roleArn"),
            arn=Arn("sagemaker", "feature-group", {"FeatureGroupName": "featureGroupName"}),
            role_checked_at_create="CreateFeatureGroup checks the offline store's role",
            source=_src("sagemaker/feature_group.go", "00a35305dc1b297a6fcdecdfbba33f1e63c3da39")),
    # ARNs carry a generated app id, not the name: fenced by tags. The name is updatable.
    _tagged(_SAGEMAKER_TAG_API, "aws:sagemaker/mlflowApp:MlflowApp", "tag",
            create=("sagemaker:CreateMlflowApp",), update=("sagemaker:UpdateMlflowApp",),
            delete=("sagemaker:DeleteMlflowApp",), read=("sagemaker:DescribeMlflowApp",), stateful=True,
            replace_on=("roleArn",), arn=Arn("sagemaker", "mlflow-app", {"MLflowAppId": "$id"}),
            role_checked_at_create="the app assumes its role while it is created",
            source=_src("sagemaker/mlflow_app.go", "09ee0d1e63ab8b54f46537ef7b5f9c7539dc81eb")),
    # -- Serving autoscaling, retraining, monitoring -----------------------------------------------
    # Scalable targets have no usable name or tag condition on every call: region fence.
    _tagged(_standard_tags("application-autoscaling"), "aws:appautoscaling/target:Target", "region",
            create=("application-autoscaling:RegisterScalableTarget",),
            update=("application-autoscaling:RegisterScalableTarget",),
            delete=("application-autoscaling:DeregisterScalableTarget",),
            read=("application-autoscaling:DescribeScalableTargets",),
            replace_on=("resourceId", "scalableDimension", "serviceNamespace"),
            arn=Arn("application-autoscaling", "ScalableTarget", {"ResourceId": "$id"}),
            source=_src("appautoscaling/target.go", "0105d2191ae7e43ba37ba011b916843eddf361ed")),
    ResourceType(
        "aws:appautoscaling/policy:Policy", "region",
        create=("application-autoscaling:PutScalingPolicy",), update=("application-autoscaling:PutScalingPolicy",),
        delete=("application-autoscaling:DeleteScalingPolicy",), read=("application-autoscaling:DescribeScalingPolicies",),
        replace_on=("name", "resourceId", "scalableDimension", "serviceNamespace"),
        arn=Parent("resourceId", "aws:appautoscaling/target:Target"),
        source=_src("appautoscaling/policy.go", "048320e88399c508ae6481be5d8ef6fd6f71a9f6"),
    ),
    _tagged(_standard_tags("states"), "aws:sfn/stateMachine:StateMachine", "name",
            create=("states:CreateStateMachine",), update=("states:UpdateStateMachine",),
            delete=("states:DeleteStateMachine",),
            read=("states:DescribeStateMachine", "states:ListStateMachineVersions"),
            replace_on=("name", "namePrefix", "type"), arn=Arn("states", "statemachine", {"StateMachineName": "name"}),
            role_checked_at_create="CreateStateMachine checks that its role is usable",
            source=_src("sfn/state_machine.go", "01f431114674c27cf790fafb67ac274bf8f765e1")),
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
        role_checked_at_create="the template's model-quality job definition is created with its RoleArn",
        source=_src("cloudformation/stack.go", "01606926a0c0ab9174aec440f976a48b0baee722"),
    ),
    # -- Optional Prometheus / Grafana (ids are generated: tag fence) -------------------------------
    _tagged(_standard_tags("aps"), "aws:amp/workspace:Workspace", "tag",
            create=("aps:CreateWorkspace",),
            update=("aps:CreateLoggingConfiguration", "aps:DeleteLoggingConfiguration",
                    "aps:UpdateLoggingConfiguration", "aps:UpdateWorkspaceAlias"),
            delete=("aps:DeleteWorkspace",), read=("aps:DescribeLoggingConfiguration", "aps:DescribeWorkspace"),
            stateful=True, replace_on=("kmsKeyArn",),  # and alias once set cannot be unset
            arn=Arn("aps", "workspace", {"WorkspaceId": "$id"}),
            source=_src("amp/workspace.go", "0620f2a6a126dfcbc4aecbc9a117b0fbea1656ff")),
    _tagged(_standard_tags("grafana"), "aws:grafana/workspace:Workspace", "tag",
            create=("grafana:CreateWorkspace",),
            update=("grafana:UpdateWorkspace", "grafana:UpdateWorkspaceConfiguration"),
            delete=("grafana:DeleteWorkspace",),
            read=("grafana:DescribeWorkspace", "grafana:DescribeWorkspaceConfiguration"),
            replace_on=("authenticationProviders", "kmsKeyId"), arn=Arn("grafana", "workspace", {"ResourceId": "$id"}),
            role_checked_at_create="the workspace assumes its role while it is created",
            source=_src("grafana/workspace.go", "00a35305dc1b297a6fcdecdfbba33f1e63c3da39")),
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
