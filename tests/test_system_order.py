"""What AWS checks against a role when it is created comes after that role's policies.

SageMaker's CreateModel checks that the execution role can read the model data, CreateMlflow*
and CreatePipeline that the service can assume and use the role, CloudTrail and VPC flow logs
that they may write through theirs, Step Functions that its role is usable, and so on. A
resource that only depends on the *role* races the role's inline policy (or managed-policy
attachment): the first ``pulumi up`` fails, or works by luck. So every resource of
:data:`CHECKED_AT_CREATE` whose inputs name a role ARN of the stack must have that role's policy
resources among its dependencies (transitively: the engine creates dependencies first). Mock ARNs
are deterministic, so an ARN in the inputs, including inside JSON documents and templates, maps to
the role resource that has it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from support.stacks import VARIANTS, plan_for

from mlops_blueprint.resource_types import RESOURCE_TYPES

ROLE = "aws:iam/role:Role"
ROLE_POLICIES = ("aws:iam/rolePolicy:RolePolicy", "aws:iam/rolePolicyAttachment:RolePolicyAttachment")

# Types AWS validates a role for when it creates them (or, for targets, when they first run right
# after creation): each must come after the role's policies. The registry says which, and why.
CHECKED_AT_CREATE = tuple(sorted(t.token for t in RESOURCE_TYPES.values() if t.role_checked_at_create))
# Types that name role ARNs without AWS using the role when they are created.
NOT_CHECKED = {
    "aws:iam/rolePolicy:RolePolicy": "a policy document names roles (iam:PassRole); nothing is created as the role",
    "kubernetes:core/v1:ServiceAccount": "IRSA: the role is assumed when a pod runs, not when the account is created",
}


def strings(value: Any) -> Iterator[str]:
    """Every string in ``value``, JSON documents (policies, templates, definitions) opened up."""
    if isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, str):
        text = value.strip()
        if text.startswith(("{", "[")):
            try:
                yield from strings(json.loads(text))
                return
            except ValueError:
                pass
        yield value


def role_policies(plan: dict[str, Any]) -> dict[str, tuple[str, set[str]]]:
    """Role ARN -> (role resource name, urns of the resources that grant it permissions)."""
    by_name = {r["inputs"].get("name"): r for r in plan["resources"] if r["type"] == ROLE}
    roles = {r["outputs"]["arn"]: (r["name"], set[str]()) for r in by_name.values() if r.get("outputs", {}).get("arn")}
    arn_of = {name: r["outputs"].get("arn") for name, r in by_name.items()}
    for resource in plan["resources"]:
        if resource["type"] in ROLE_POLICIES:
            arn = arn_of.get(resource["inputs"].get("role"))
            if arn in roles:
                roles[arn][1].add(resource["urn"])
    return roles


def dependencies(plan: dict[str, Any], urn: str) -> set[str]:
    """Everything the engine creates before ``urn`` (its dependencies, transitively)."""
    by_urn = {r["urn"]: r for r in plan["resources"]}
    seen: set[str] = set()
    todo = list(by_urn[urn].get("dependencies") or [])
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo += by_urn.get(current, {}).get("dependencies") or []
    return seen


def races(plan: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(type, resource, role) for every resource that names a role but may be created before its policies."""
    roles = role_policies(plan)
    found = []
    for resource in plan["resources"]:
        named = {arn for arn in strings(resource.get("inputs")) if arn in roles}
        if not named or not resource.get("custom") or resource["type"] == ROLE:
            continue
        before = dependencies(plan, resource["urn"])
        for arn in sorted(named):
            role, policies = roles[arn]
            if not policies <= before:
                found.append((resource["type"], resource["name"], role))
    return found


def test_every_type_that_names_a_role_is_classified() -> None:
    """A new type that takes a role says so in the registry (role_checked_at_create, with why), or is
    listed in NOT_CHECKED with why not."""
    unclassified = set()
    for variant in VARIANTS:
        plan = plan_for(variant)
        roles = role_policies(plan)
        for resource in plan["resources"]:
            if resource.get("custom") and resource["type"] != ROLE and any(s in roles for s in strings(resource.get("inputs"))):
                unclassified.add(resource["type"])
    assert unclassified - set(CHECKED_AT_CREATE) - set(NOT_CHECKED) == set()


@pytest.mark.parametrize("type_", CHECKED_AT_CREATE)
def test_created_after_its_roles_policies(type_: str) -> None:
    found = {variant: sorted((name, role) for t, name, role in races(plan_for(variant)) if t == type_)
             for variant in VARIANTS}
    assert {variant: pairs for variant, pairs in found.items() if pairs} == {}


def test_the_check_sees_a_model_that_only_waits_for_its_role() -> None:
    role = {"urn": "u:role", "type": ROLE, "name": "serving", "custom": True, "inputs": {"name": "r"},
            "outputs": {"arn": "arn:aws:iam::1:role/r"}, "dependencies": []}
    policy = {"urn": "u:policy", "type": ROLE_POLICIES[0], "name": "serving-policy", "custom": True,
              "inputs": {"role": "r"}, "dependencies": ["u:role"]}
    model = {"urn": "u:model", "type": CHECKED_AT_CREATE[0], "name": "churn", "custom": True,
             "inputs": {"executionRoleArn": "arn:aws:iam::1:role/r"}, "dependencies": ["u:role"]}
    assert races({"resources": [role, policy, model]}) == [(CHECKED_AT_CREATE[0], "churn", "serving")]
    after = {**model, "dependencies": ["u:role", "u:policy"]}
    assert races({"resources": [role, policy, after]}) == []
