"""No two resources of one AWS type share a physical name within a stack, in every stack variant.

AWS upserts or refuses a second resource of a name it already holds (CloudWatch ``PutMetricAlarm``
overwrites, most ``Create*`` calls fail), so two Pulumi resources with one physical name either
fight on every deploy or break the first one. The name is read from the inputs that name the
cloud object (:data:`NAME_INPUTS`); names AWS scopes to a parent (a role's inline policy, a VPC's
security group, a scalable target's policy, a rule's target) are compared within that parent.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from support.stacks import VARIANTS, plan_for

# Inputs that are the cloud object's own name (camelCase, as the engine receives them).
NAME_INPUTS = ("name", "bucket", "identifier", "clusterIdentifier", "dashboardName", "trackingServerName",
               "pipelineName", "modelPackageGroupName", "repositoryName", "functionName", "targetId")
# Types whose name is unique only within a parent, and the inputs that identify that parent.
SCOPES: dict[str, tuple[str, ...]] = {
    "aws:iam/rolePolicy:RolePolicy": ("role",),
    "aws:ec2/securityGroup:SecurityGroup": ("vpcId",),
    "aws:appautoscaling/policy:Policy": ("serviceNamespace", "resourceId", "scalableDimension"),
    "aws:cloudwatch/eventTarget:EventTarget": ("eventBusName", "rule"),
    "aws:cloudwatch/eventRule:EventRule": ("eventBusName",),
}
# Buckets own their name; every other S3 type's ``bucket`` input names the bucket it configures.
BUCKET_TYPES = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")


def physical_name(resource: dict[str, Any]) -> tuple[str, ...] | None:
    """(scope..., name) of an AWS resource that names its cloud object; None if it names none."""
    type_, inputs = resource["type"], resource.get("inputs") or {}
    if not resource.get("custom") or not type_.startswith("aws:"):
        return None
    for key in NAME_INPUTS:
        if key == "bucket" and type_ not in BUCKET_TYPES:
            continue
        if isinstance(inputs.get(key), str) and inputs[key]:
            scope = tuple(str(inputs.get(k, "")) for k in SCOPES.get(type_, ()))
            return (*scope, inputs[key])
    return None


def duplicates(plan: dict[str, Any]) -> dict[tuple[str, tuple[str, ...]], list[str]]:
    """(type, name) -> the resources that share it, for every name taken more than once."""
    owners: dict[tuple[str, tuple[str, ...]], list[str]] = defaultdict(list)
    for resource in plan["resources"]:
        name = physical_name(resource)
        if name is not None:
            owners[(resource["type"], name)].append(resource["name"])
    return {key: sorted(names) for key, names in owners.items() if len(names) > 1}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_no_two_resources_of_a_type_share_a_physical_name(variant: str) -> None:
    plan = plan_for(variant)
    named = [r for r in plan["resources"] if physical_name(r) is not None]
    assert len(named) > 20  # the check reads names: a stack whose names it could not read would pass vacuously
    assert duplicates(plan) == {}


def test_the_check_sees_a_shared_alarm_name() -> None:
    """The collision this guards against: two alarms of one name (PutMetricAlarm overwrites)."""
    alarm = {"type": "aws:cloudwatch/metricAlarm:MetricAlarm", "custom": True, "inputs": {"name": "x-churn-5xx"}}
    policy = {"type": "aws:iam/rolePolicy:RolePolicy", "custom": True}
    plan = {"resources": [{**alarm, "name": "a"}, {**alarm, "name": "b"},
                          # the same inline policy name on two roles is two policies, not a collision
                          {**policy, "name": "p1", "inputs": {"name": "policy", "role": "r1"}},
                          {**policy, "name": "p2", "inputs": {"name": "policy", "role": "r2"}},
                          # a bucket's configuration names its bucket; it takes no name of its own
                          {"type": "aws:s3/bucketVersioning:BucketVersioning", "custom": True, "name": "v",
                           "inputs": {"bucket": "x-models"}},
                          {"type": "aws:s3/bucket:Bucket", "custom": True, "name": "b", "inputs": {"bucket": "x-models"}}]}
    assert duplicates(plan) == {("aws:cloudwatch/metricAlarm:MetricAlarm", ("x-churn-5xx",)): ["a", "b"]}


def test_serving_and_monitoring_alarms_of_a_served_monitored_model_are_distinct() -> None:
    """Serving's rollback alarms (per endpoint) and monitoring's paging alarms (per variant) both
    watch 5xx and latency; they are distinct alarms with distinct names."""
    plan = plan_for("staging-system")
    alarms = {r["inputs"]["name"]: r["parent"] for r in plan["resources"]
              if r["type"] == "aws:cloudwatch/metricAlarm:MetricAlarm"}
    serving = {n for n, parent in alarms.items() if "ServingEndpoint" in (parent or "")}
    monitoring = {n for n, parent in alarms.items() if "Monitoring" in (parent or "")}
    assert serving == {f"mlops-platform-staging-{m}-rollback.{p}" for m in ("churn", "fraud") for p in ("5xx", "latency")}
    assert {f"mlops-platform-staging-churn-{v}-5xx" for v in ("current", "candidate")} <= monitoring
