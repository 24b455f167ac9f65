"""Physical names against each service's length and character rules, and their uniqueness.

The rules are ``naming.NameKind``'s (the ones names are built with), mapped here to the type
tokens and input properties that carry a physical name; a name set by hand, or a rule drifting
from the builder, shows up here before the service refuses it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from mlops_blueprint.naming import NameKind, NameRule
from mlops_blueprint.preflight.findings import PreflightReport
from mlops_blueprint.preflight.plan_walk import custom_resources, is_known

NAME_LIMITS = "name-limits"
NAME_UNIQUE = "name-unique"

# Services whose rules naming.py does not need (names there fit GENERIC's charset) but whose
# length limit is tighter than GENERIC's 255.
EVENTBRIDGE_RULE = NameRule(64, re.compile(r"[^A-Za-z0-9._-]"))  # events PutRule: [\.\-_A-Za-z0-9]+, 64
STEP_FUNCTIONS = NameRule(80, re.compile(r"[^A-Za-z0-9_-]"))  # states CreateStateMachine: 1-80
SNS_TOPIC = NameRule(256, re.compile(r"[^A-Za-z0-9_-]"))  # 1-256 of letters, digits, _ and -
DASHBOARD = NameRule(255, re.compile(r"[^A-Za-z0-9_-]"))  # A-Z, a-z, 0-9, "-", "_"
SCHEDULE = NameRule(64, re.compile(r"[^A-Za-z0-9._-]"))  # scheduler CreateSchedule: [0-9a-zA-Z-_.]+, 1-64
CFN_STACK = NameRule(128, re.compile(r"[^A-Za-z0-9-]"))  # CreateStack: [a-zA-Z][-a-zA-Z0-9]*, 128
PRINTABLE_256 = NameRule(256, re.compile(r"[\x00-\x1f\x7f]"))  # PutScalingPolicy: \p{Print}+, 1-256
METRIC_FILTER = NameRule(512, re.compile(r"[:*]"))  # PutMetricFilter: [^:*]*, 1-512


@dataclass(frozen=True)
class NameSpec:
    """Where a type keeps its physical name, the rule it obeys, and within what it must be unique."""

    prop: str
    rule: NameRule
    min_length: int = 1
    strip_prefix: str = ""  # e.g. "alias/": the rule covers what follows
    scope_prop: str | None = None  # unique per value of this input (e.g. an inline policy per role)


_SAGEMAKER = NameKind.SAGEMAKER.value
NAME_SPECS: dict[str, NameSpec] = {
    "aws:s3/bucket:Bucket": NameSpec("bucket", NameKind.S3_BUCKET.value, min_length=3),
    "aws:iam/role:Role": NameSpec("name", NameKind.IAM_ROLE.value),
    "aws:iam/policy:Policy": NameSpec("name", NameKind.IAM_POLICY.value),
    "aws:iam/rolePolicy:RolePolicy": NameSpec("name", NameKind.IAM_POLICY.value, scope_prop="role"),
    "aws:cloudtrail/trail:Trail": NameSpec("name", NameKind.CLOUDTRAIL.value, min_length=3),
    "aws:cloudwatch/logGroup:LogGroup": NameSpec("name", NameKind.LOG_GROUP.value),
    "aws:kms/alias:Alias": NameSpec("name", NameKind.KMS_ALIAS.value, strip_prefix="alias/"),
    "aws:ecr/repository:Repository": NameSpec("name", NameKind.ECR_REPOSITORY.value, min_length=2),
    "aws:rds/instance:Instance": NameSpec("identifier", NameKind.RDS.value),
    "aws:rds/subnetGroup:SubnetGroup": NameSpec("name", NameKind.RDS.value),
    "aws:sagemaker/endpoint:Endpoint": NameSpec("name", _SAGEMAKER),
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": NameSpec("name", _SAGEMAKER),
    "aws:sagemaker/model:Model": NameSpec("name", _SAGEMAKER),
    "aws:sagemaker/pipeline:Pipeline": NameSpec("pipelineName", _SAGEMAKER),
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": NameSpec("modelPackageGroupName", _SAGEMAKER),
    "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer": NameSpec("trackingServerName", _SAGEMAKER),
    "aws:sagemaker/mlflowApp:MlflowApp": NameSpec("name", _SAGEMAKER),
    "aws:sagemaker/monitoringSchedule:MonitoringSchedule": NameSpec("name", _SAGEMAKER),
    "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition": NameSpec("name", _SAGEMAKER),
    "aws:ec2/securityGroup:SecurityGroup": NameSpec("name", NameKind.GENERIC.value, scope_prop="vpcId"),
    "aws:sns/topic:Topic": NameSpec("name", SNS_TOPIC),
    "aws:cloudwatch/eventRule:EventRule": NameSpec("name", EVENTBRIDGE_RULE),
    "aws:sfn/stateMachine:StateMachine": NameSpec("name", STEP_FUNCTIONS),
    "aws:cloudwatch/dashboard:Dashboard": NameSpec("dashboardName", DASHBOARD),
    "aws:cloudwatch/metricAlarm:MetricAlarm": NameSpec("name", NameRule(255, re.compile(r"[\x00-\x1f]"))),
    "aws:budgets/budget:Budget": NameSpec("name", NameRule(100, re.compile(r"[:\\]"))),
    "aws:scheduler/schedule:Schedule": NameSpec("name", SCHEDULE, scope_prop="groupName"),
    "aws:cloudformation/stack:Stack": NameSpec("name", CFN_STACK),
    "aws:appautoscaling/policy:Policy": NameSpec("name", PRINTABLE_256, scope_prop="resourceId"),
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": NameSpec("name", METRIC_FILTER, scope_prop="logGroupName"),
}


def name_problem(name: str, spec: NameSpec) -> str | None:
    """Why ``name`` breaks ``spec``'s rule, or None."""
    if spec.strip_prefix:
        if not name.startswith(spec.strip_prefix):
            return f"must start with {spec.strip_prefix!r}"
        name = name[len(spec.strip_prefix):]
    rule = spec.rule
    if not spec.min_length <= len(name) <= rule.max_length:
        return f"is {len(name)} characters; the service takes {spec.min_length}-{rule.max_length}"
    bad = sorted(set(rule.invalid_chars.findall(name)))
    if bad:
        return f"has characters the service refuses: {' '.join(map(repr, bad))}"
    if rule.lowercase and name != name.lower():
        return "must be lower case"
    return None


def check_names(plan: dict[str, Any], report: PreflightReport) -> None:
    seen: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for resource in custom_resources(plan):
        spec = NAME_SPECS.get(resource["type"])
        name = resource.get("inputs", {}).get(spec.prop) if spec else None
        if not spec or not is_known(name):
            continue  # auto-named or only known after apply
        problem = name_problem(name, spec)
        report.add(NAME_LIMITS, resource["urn"], f"{spec.prop} {name!r} {problem}" if problem else None, spec.prop)
        scope = str(resource["inputs"].get(spec.scope_prop, "")) if spec.scope_prop else ""
        seen[(resource["type"], scope, name)].append(resource["urn"])
    for (type_, _scope, name), urns in seen.items():
        clash = f"{type_} name {name!r} is used by {len(urns)} resources: {', '.join(urns)}" if len(urns) > 1 else None
        report.add(NAME_UNIQUE, urns[0], clash, NAME_SPECS[type_].prop)
