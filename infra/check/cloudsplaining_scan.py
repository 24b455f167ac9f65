"""cloudsplaining over every role of a plan: its inline policies and the managed policies of the plan
attached to it, judged together as the role would hold them."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from mlops_blueprint.preflight.findings import CheckResult
from mlops_blueprint.preflight.plan_walk import custom_resources, policy_documents, statements

# cloudsplaining's risk categories, each a property of its PolicyDocument.
RISKS: dict[str, str] = {
    "privilege-escalation": "allows_privilege_escalation",
    "data-exfiltration": "allows_data_exfiltration_actions",
    "resource-exposure": "permissions_management_without_constraints",
    "credentials-exposure": "credentials_exposure",
}
_ROLE, _INLINE, _MANAGED, _ATTACH = ("aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy",
                                     "aws:iam/policy:Policy", "aws:iam/rolePolicyAttachment:RolePolicyAttachment")


def role_policies(plan: dict[str, Any]) -> dict[str, tuple[dict[str, Any], list[dict[str, Any]]]]:
    """role urn -> (role, the statements it holds), matched through the plan's dependencies."""
    resources = list(custom_resources(plan))
    roles = {r["urn"]: r for r in resources if r["type"] == _ROLE}
    managed = {r["urn"]: r for r in resources if r["type"] == _MANAGED}
    held: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for urn, role in roles.items():
        for path, document in policy_documents(role):
            if path != "assumeRolePolicy":  # trust, not permissions
                held[urn].extend(statements(document))
    for resource in resources:
        deps = resource.get("propertyDependencies") or {}
        targets = [u for u in deps.get("role", []) if u in roles]
        if resource["type"] == _INLINE:
            for urn in targets:
                held[urn].extend(s for _, d in policy_documents(resource) for s in statements(d))
        elif resource["type"] == _ATTACH:
            for policy_urn in (u for u in deps.get("policyArn", []) if u in managed):
                for urn in targets:
                    held[urn].extend(s for _, d in policy_documents(managed[policy_urn]) for s in statements(d))
    return {urn: (roles[urn], held[urn]) for urn in roles}


def scan_roles(plan: dict[str, Any]) -> list[CheckResult]:
    from cloudsplaining.scan.policy_document import PolicyDocument

    results = []
    for urn, (role, held) in role_policies(plan).items():
        document = PolicyDocument({"Version": "2012-10-17", "Statement": held})
        name = role.get("inputs", {}).get("name") or role["name"]
        for risk, attribute in RISKS.items():
            found = getattr(document, attribute)
            message = ""
            if found:
                shown = [x if isinstance(x, str) else json.dumps(x, sort_keys=True) for x in found]
                message = f"role {name}: {risk}: {', '.join(shown)}"
            results.append(CheckResult(risk, urn, not found, message, name))
    return results
