"""Consistent hardening across whole stacks: every namespace the stack creates enforces the
restricted Pod Security Standard and isolates its pods with NetworkPolicies; the audit trail is
created, the organisation's, or none, and the policy pack agrees with each choice it allows."""

from __future__ import annotations

import json

import pytest
from support.stacks import ORG_TRAIL, VARIANTS, of_type, plan_for, preview_with

from mlops_blueprint.config import ConfigError, parse_config
from mlops_blueprint.policies.rules.kubernetes import POD_SPEC_PATHS, restricted_problems

NAMESPACE = "kubernetes:core/v1:Namespace"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
TRAIL = "aws:cloudtrail/trail:Trail"
KUBERNETES_VARIANTS = sorted(
    name for name, (_, overrides, _) in VARIANTS.items()
    if "kubernetes" in {overrides.get("tracking", {}).get("backend"), overrides.get("serving", {}).get("backend")})


def test_the_catalogue_has_kubernetes_variants():
    assert {"dev-kubernetes", "staging-kubernetes-shared"} <= set(KUBERNETES_VARIANTS)


@pytest.mark.parametrize("variant", KUBERNETES_VARIANTS)
def test_every_created_namespace_enforces_restricted_and_denies_by_default(variant):
    plan = plan_for(variant)
    namespaces = {r["inputs"]["metadata"]["name"]: r["inputs"]["metadata"]["labels"] for r in of_type(plan, NAMESPACE)}
    assert namespaces, "a kubernetes variant creates at least one namespace"
    policies: dict[str, list[dict]] = {}
    for policy in of_type(plan, NETWORK_POLICY):
        policies.setdefault(policy["inputs"]["metadata"]["namespace"], []).append(policy["inputs"]["spec"])
    for name, labels in namespaces.items():
        for mode in ("enforce", "audit", "warn"):
            assert labels.get(f"pod-security.kubernetes.io/{mode}") == "restricted", (name, mode)
        specs = policies.get(name, [])
        # A default deny for every pod, and an allowance for the workload's own pods.
        assert {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]} in specs, name
        assert any(spec["podSelector"].get("matchLabels") and spec.get("ingress") for spec in specs), name
    assert set(policies) <= set(namespaces)  # no policy lands in a namespace the stack does not own


@pytest.mark.parametrize("variant", KUBERNETES_VARIANTS)
def test_every_pod_the_stack_deploys_meets_restricted(variant):
    plan = plan_for(variant)
    workloads = [r for r in plan["resources"] if r["type"] in POD_SPEC_PATHS]
    assert workloads
    for workload in workloads:
        pod = workload["inputs"]
        for step in POD_SPEC_PATHS[workload["type"]]:
            pod = pod[step]
        assert restricted_problems(pod) == [], workload["name"]
    assert [f for f in plan["findings"] if f["policy"] == "k8s-pod-security-restricted"] == []


def test_the_organisation_trail_replaces_ours():
    plan = plan_for("staging-org-trail")
    assert of_type(plan, TRAIL) == []
    assert [r for r in plan["resources"] if "audit-trail" in r["name"]] == []  # no bucket, log group or role
    assert plan["outputs"]["auditTrailArn"] == ORG_TRAIL
    assert "auditBucketName" not in plan["outputs"]
    assert [f for f in plan["findings"] if f["enforcement"] == "mandatory"] == []


def test_the_default_creates_our_trail_and_names_its_bucket():
    plan = plan_for("staging")
    [trail] = of_type(plan, TRAIL)
    assert trail["inputs"]["isMultiRegionTrail"] is True
    assert plan["outputs"]["auditBucketName"] == trail["inputs"]["s3BucketName"]


def test_prod_may_rely_on_the_organisation_trail_and_the_pack_agrees():
    result = preview_with("prod", audit={"trail": "existing", "existingTrailArn": ORG_TRAIL})
    assert of_type(result.plan, TRAIL) == []
    assert result.plan["outputs"]["auditTrailArn"] == ORG_TRAIL
    assert result.mandatory_findings == []


def test_no_trail_is_allowed_outside_prod():
    result = preview_with("dev", audit={"trail": "none"})
    assert of_type(result.plan, TRAIL) == [] and "auditTrailArn" not in result.plan["outputs"]
    assert result.mandatory_findings == []


def test_prod_refuses_no_trail_naming_the_key():
    with pytest.raises(ConfigError) as raised:
        preview_with("prod", audit={"trail": "none"})
    assert any("audit.trail 'none'" in problem and "audit.existingTrailArn" in problem
               for problem in raised.value.problems), raised.value.problems


def test_prod_accepts_no_trail_of_its_own_when_the_recording_trail_is_named():
    result = preview_with("prod", audit={"trail": "none", "existingTrailArn": ORG_TRAIL})
    assert of_type(result.plan, TRAIL) == [] and result.plan["outputs"]["auditTrailArn"] == ORG_TRAIL


CONFIG = {"environment": "dev", "region": "us-east-1", "owner": "ml-platform", "costCenter": "cc-1"}


def config_problems(audit: dict, environment: str = "dev") -> list[str]:
    with pytest.raises(ConfigError) as raised:
        parse_config({**CONFIG, "environment": environment, "audit": audit})
    return raised.value.problems


def test_trail_is_created_by_default_in_every_environment():
    for environment in ("dev", "staging", "prod"):
        audit = parse_config({**CONFIG, "environment": environment}).audit
        assert (audit.trail, audit.existing_trail_arn) == ("create", None)


@pytest.mark.parametrize(("audit", "expected"), [
    ({"trail": "existing"}, "mlops-platform:audit: audit.trail is 'existing': set audit.existingTrailArn"),
    ({"trail": "existing", "existingTrailArn": "arn:aws:s3:::audit"},
     "mlops-platform:audit.existingTrailArn: 'arn:aws:s3:::audit' is not a CloudTrail trail ARN"),
    ({"existingTrailArn": ORG_TRAIL}, "mlops-platform:audit: audit.existingTrailArn is set but audit.trail is 'create'"),
    ({"trail": "organisation"}, "mlops-platform:audit.trail: Input should be 'create', 'existing' or 'none'"),
])
def test_bad_trail_choices_name_the_key(audit, expected):
    [problem] = config_problems(audit)
    assert problem.startswith(expected), problem


# -- role ownership ---------------------------------------------------------------------------------
ROLE = "aws:iam/role:Role"
PLATFORM_ROLES = "mlops:iam:PlatformRoles"


def _top_component(plan: dict, resource: dict) -> dict:
    """The component directly under the stack that ``resource`` belongs to."""
    by_urn = {r["urn"]: r for r in plan["resources"]}
    while by_urn[resource["parent"]]["type"] != "pulumi:pulumi:Stack":
        resource = by_urn[resource["parent"]]
    return resource


@pytest.mark.parametrize("variant", ["prod-system", "staging-quality-alerts", "dev-kubernetes"])
def test_roles_follow_the_ownership_rule(variant):
    """PlatformRoles owns the roles people, CI and jobs assume across components; every other role is
    a service role that only its own component's AWS service assumes and only its own resources use."""
    plan = plan_for(variant)
    service_roles = [role for role in of_type(plan, ROLE) if _top_component(plan, role)["type"] != PLATFORM_ROLES]
    assert service_roles  # flow logs and CloudTrail delivery at least
    for role in service_roles:
        owner = _top_component(plan, role)
        trust = json.loads(role["inputs"]["assumeRolePolicy"])
        principals = [s["Principal"] for s in trust["Statement"]]
        assert all(set(p) == {"Service"} for p in principals), (role["name"], principals)
        users = [r for r in plan["resources"] if role["urn"] in r["dependencies"]]
        assert {_top_component(plan, r)["urn"] for r in users} <= {owner["urn"]}, (
            role["name"], sorted(r["name"] for r in users if _top_component(plan, r)["urn"] != owner["urn"]))


@pytest.mark.parametrize("variant", ["dev", "staging", "prod"])
def test_the_pack_accepts_the_created_trail_in_every_environment(variant):
    plan = plan_for(variant)
    [trail] = of_type(plan, TRAIL)
    assert [f for f in plan["findings"] if f["policy"].startswith("cloudtrail-")] == []
    assert plan["outputs"]["auditTrailArn"] and plan["outputs"]["auditBucketName"] == trail["inputs"]["s3BucketName"]
