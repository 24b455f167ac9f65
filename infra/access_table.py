"""Who may do what: the access table, as data, and its evaluation against a plan's IAM documents.

``ROWS`` is the one place the table lives: each row is a persona (a role the stack creates, or the
MLflow users managed policy), a call (an IAM action, or an MLflow verb that each tracking backend
spells differently), the kind of resource it is made on, and whether it must be allowed or denied.
:func:`evaluate_plan` resolves every row to concrete ARNs of a plan (this stack's buckets, key,
tracking server or app, ..., and the same resources of *another* stack in the same account) and
asks moto's access-control engine (``moto.iam.access_control``) whether the persona's documents
allow it: the role's inline policies (``aws:iam/rolePolicy:RolePolicy``), the managed policies
attached to it (``RolePolicyAttachment``) and, when configured, its permissions boundary.

moto matches actions and resources but is not a full IAM evaluator (moto 5.2, ``IAMPolicyStatement``):

- it evaluates only ``StringEquals`` conditions (``policy_conditions.CONDITION_OPERATIONS``);
  every other operator (``StringLike``, ``ArnLike``, ``Bool``, ``Null``, ``...IfExists``) reads as
  satisfied, and so does a ``StringEquals`` key the request does not carry: without request
  context a conditional Allow reads as an unconditional Allow, a conditional Deny as an
  unconditional Deny;
- a failed condition makes it answer DENIED whatever the statement's effect, before it looks at
  the resource.

So each statement is asked two questions of moto, separately: does it match the action and the
resource (the statement without its condition), and does its condition hold for the row's request
context (the condition alone, on a catch-all statement). A condition moto cannot evaluate is
neither assumed true nor false: a row that must be allowed has to be allowed even when every such
condition fails, and a row that must be denied has to be denied even when every such condition
holds. Rows that hinge on a condition (tags, source VPC endpoint, permissions boundary) carry the
request context that makes it a ``StringEquals`` moto evaluates. Resource-based policies (bucket,
key, endpoint policies) and SCPs are not part of the evaluation.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from moto.iam.access_control import IAMPolicyStatement, PermissionResult
from moto.iam.policy_conditions import CONDITION_OPERATIONS

from mlops_blueprint.access_rows import (  # noqa: F401  (re-exported)
    MLFLOW_VERBS, OUTSIDE_VPC, PERSONAS, RESOURCE_KINDS, ROWS, THROUGH_VPC, Row,
)
from mlops_blueprint.naming import Naming
from mlops_blueprint.outputs import Out, lookup

# -- a plan's principals and resources --------------------------------------------------------------


def _resources(plan: Mapping[str, Any], type_: str) -> list[dict[str, Any]]:
    return [r for r in plan["resources"] if r["type"] == type_ and r.get("custom", True)]


def _document(text: Any) -> dict[str, Any]:
    return json.loads(text) if isinstance(text, str) else dict(text)


@dataclass(frozen=True)
class Principal:
    """Who makes a call: the policy documents that grant it, and its permissions boundary (if any)."""

    name: str
    documents: tuple[dict[str, Any], ...]
    boundary_arn: str | None = None
    # Policies whose document the preview does not know (an input unknown until deployment):
    # whatever they allow cannot be ruled out.
    unknown: tuple[str, ...] = ()


class Stack:
    """One plan seen as IAM sees it: its principals by persona, its resources by kind."""

    def __init__(self, plan: Mapping[str, Any]) -> None:
        self.plan = plan
        out = plan["outputs"]
        self.outputs = out
        self.naming = Naming(plan.get("project", "mlops-platform"), str(out["environment"]),
                             str(out["accountId"]), str(out["region"]))
        self.backend = str(out.get("trackingBackend") or "")
        self._policies = {r["outputs"].get("arn"): r for r in _resources(plan, "aws:iam/policy:Policy")}
        self._principals: dict[str, list[Principal]] = {}

    @property
    def key(self) -> tuple[str, str, str]:
        """Two plans with the same key are the same stack (another config of it), not another one."""
        return self.naming.account_id, self.naming.environment, self.naming.region

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        region = self.naming.region if regional else ""
        return f"arn:aws:{service}:{region}:{self.naming.account_id}:{resource}"

    # principals

    def principals(self, persona: str) -> list[Principal]:
        """The persona's principals in this plan (none when the stack does not create it)."""
        if persona not in self._principals:
            self._principals[persona] = self._find(persona)
        return self._principals[persona]

    def _find(self, persona: str) -> list[Principal]:
        if persona == "mlflow-users":
            return self._mlflow_users()
        if persona == "monitoring":  # the drift/monitoring jobs' role, whatever its purpose name
            arn = self.outputs.get("monitoringRoleArn")
            return [self._role(r) for r in _resources(self.plan, "aws:iam/role:Role") if arn and r["outputs"].get("arn") == arn]
        if persona == "retraining":
            prefix = self.naming.role("retrain") + "-"  # retrain-<model>, not retraining-*
            return [self._role(r) for r in _resources(self.plan, "aws:iam/role:Role")
                    if str(r["inputs"].get("name", "")).startswith(prefix)]
        names = {self.naming.role(persona)}
        return [self._role(r) for r in _resources(self.plan, "aws:iam/role:Role") if r["inputs"].get("name") in names]

    def _role(self, role: Mapping[str, Any]) -> Principal:
        handles = {role["inputs"].get("name"), role.get("id"), role["outputs"].get("name")} - {None}
        documents: list[dict[str, Any]] = []
        unknown: list[str] = []
        for inline in role["inputs"].get("inlinePolicies") or []:
            documents.append(_document(inline["policy"]))
        for policy in _resources(self.plan, "aws:iam/rolePolicy:RolePolicy"):
            if policy["inputs"].get("role") in handles:
                if "policy" in policy["inputs"]:
                    documents.append(_document(policy["inputs"]["policy"]))
                else:
                    unknown.append(str(policy["inputs"].get("name") or policy["name"]))
        attached = list(role["inputs"].get("managedPolicyArns") or [])
        attached += [a["inputs"]["policyArn"] for a in _resources(self.plan, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                     if a["inputs"].get("role") in handles]
        for arn in attached:
            if arn not in self._policies:
                raise LookupError(f"role {role['inputs'].get('name')}: attached policy {arn} is not in the plan; "
                                  "its document cannot be evaluated")
            documents.append(_document(self._policies[arn]["inputs"]["policy"]))
        return Principal(str(role["inputs"].get("name")), tuple(documents), role["inputs"].get("permissionsBoundary"),
                         tuple(unknown))

    def _mlflow_users(self) -> list[Principal]:
        """The managed policy for people and notebooks: the stack output ``...Mlflow...PolicyArn``."""
        arns = [v for k, v in self.outputs.items() if "mlflow" in k.lower() and k.endswith("PolicyArn") and v]
        return [Principal(str(self._policies[a]["inputs"].get("name")), (_document(self._policies[a]["inputs"]["policy"]),),
                          None) for a in arns if a in self._policies]

    # resources

    def tracking_arn(self) -> str | None:
        for type_ in ("aws:sagemaker/mlflowApp:MlflowApp", "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer"):
            found = _resources(self.plan, type_)
            if found:
                return str(found[0]["outputs"]["arn"])
        return None

    def mlflow_endpoint(self) -> Mapping[str, Any] | None:
        found = [r for r in _resources(self.plan, "aws:ec2/vpcEndpoint:VpcEndpoint")
                 if str(r["inputs"].get("serviceName", "")).endswith(".experiments")]
        return found[0] if found else None

    def resource(self, kind: str) -> str | None:
        """The ARN of ``kind`` in this stack, or None if the stack has no such resource."""
        out, n = self.outputs, self.naming
        s3 = lambda bucket, key="": f"arn:aws:s3:::{bucket}" + (f"/{key}" if key else "")  # noqa: E731
        groups = out.get("modelPackageGroupNames") or {}
        group = sorted(groups.values())[0] if isinstance(groups, dict) and groups else None
        mlflow_prefix = str(out.get("mlflowArtifactUri", "")).removeprefix("s3://")
        models_bucket = lookup(out, Out.MODELS_BUCKET_NAME)  # an older plan has only the alias
        kinds: dict[str, str | None] = {
            "datasets-object": s3(out["datasetsBucketName"], "raw/part-0.parquet"),
            "datasets-bucket": s3(out["datasetsBucketName"]),
            "models-object": s3(models_bucket, "churn/model.tar.gz"),
            "models-bucket": s3(models_bucket),
            "data-capture-object": self._data_capture(),
            "mlflow-artifact": f"arn:aws:s3:::{mlflow_prefix}/1/run/artifacts/model.pkl" if mlflow_prefix else None,
            "audit-object": s3(out["auditBucketName"], f"AWSLogs/{n.account_id}/CloudTrail/x.json.gz")
            if out.get("auditBucketName") else None,
            "data-key": out.get("dataKeyArn"),
            "tracking": self.tracking_arn(),
            "model-package-group": self.arn("sagemaker", f"model-package-group/{group}") if group else None,
            "model-package": self.arn("sagemaker", f"model-package/{group}/1") if group else None,
            "training-job": self.arn("sagemaker", f"training-job/{n.prefix}-train-1"),
            "pipeline-training-job": self.arn("sagemaker", "training-job/pipelines-abc123-train-xyz"),
            "training-pipeline": out.get("pipelineArn"),
            "training-role": out.get("trainingRoleArn"),
            "ci-deploy-role": out.get("ciDeployRoleArn"),
            "new-role": self.arn("iam", f"role/{n.role('new-purpose')}", regional=False),
            "endpoint": self.arn("sagemaker", f"endpoint/{n.prefix}-churn"),
        }
        if kind not in kinds:
            raise KeyError(f"unknown resource kind {kind!r}; known: {', '.join(sorted(kinds))}")
        return kinds[kind]

    def _data_capture(self) -> str | None:
        """A captured request: SageMaker writes ``<capture URI>/<endpoint>/<variant>/yyyy/mm/dd/hh/...``
        under the endpoint's capture URI (``serving_endpoint.data_capture_uri``)."""
        from mlops_blueprint.components.serving_endpoint import data_capture_uri

        names = self.outputs.get("endpointNames") or {}
        if not isinstance(names, dict) or not names:
            return None
        model = sorted(names)[0]
        uri = data_capture_uri(lookup(self.outputs, Out.MODELS_BUCKET_NAME), model).removeprefix("s3://")
        return f"arn:aws:s3:::{uri}/{names[model]}/current/2026/12/01/00/capture.jsonl"

    def context(self, row: Row, target: Stack) -> dict[str, str]:
        """The row's request context, made concrete for a call from this stack on ``target``."""
        boundary = next((p.boundary_arn for p in self.principals(row.persona) if p.boundary_arn), None)
        values = {"environment": self.naming.environment, "project": self.naming.project,
                  "boundary": boundary or "none"}
        context = {"aws:RequestedRegion": target.naming.region}
        context.update({k: v.format(**values) for k, v in row.context.items()})
        if row.network:
            endpoint = self.mlflow_endpoint()
            inside = row.network == THROUGH_VPC
            context["aws:SourceVpce"] = (endpoint["id"] if endpoint and inside else "vpce-0ffffffffffffffff")
            context["aws:SourceVpc"] = (str(self.outputs.get("vpcId")) if inside else "vpc-0ffffffffffffffff")
        return context


# -- evaluation with moto ---------------------------------------------------------------------------

_EVALUATED_OPERATORS = frozenset(CONDITION_OPERATIONS)  # what moto's condition engine implements


def _split_condition(condition: Mapping[str, Mapping[str, Any]], context: Mapping[str, str]) -> tuple[dict, list[str]]:
    """The part of ``condition`` moto evaluates for ``context``, and a description of the rest."""
    evaluated: dict[str, dict[str, Any]] = {}
    unchecked: list[str] = []
    for operator, values in condition.items():
        for key, expected in values.items():
            if operator in _EVALUATED_OPERATORS and key in context:
                evaluated.setdefault(operator, {})[key] = expected
            else:
                unchecked.append(f"{operator} {key}")
    return evaluated, unchecked


def _matches(stmt: Mapping[str, Any], action: str, resource: str) -> bool:
    """Action and resource match (moto), the condition left aside. moto knows no ``NotResource``
    (it reads a statement without ``Resource`` as a trust policy's): matched as "not in" here."""
    if "NotPrincipal" in stmt or not ("Resource" in stmt or "NotResource" in stmt):
        raise ValueError(f"statement {stmt.get('Sid')!r}: no Resource/NotResource, or a NotPrincipal: "
                         "not an identity policy statement")

    actions = tuple((k, _hashable(v)) for k, v in stmt.items() if k in ("Action", "NotAction"))
    if "NotResource" in stmt:
        return (_permitted(actions, "*", action, resource)
                and not _permitted(actions, _hashable(stmt["NotResource"]), action, resource))
    return _permitted(actions, _hashable(stmt["Resource"]), action, resource)


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


# The tables ask the same (statement, action, resource) question many times over, across rows, stacks
# and variants, and moto compiles its patterns on every call. moto permits an Allow statement when its
# Action (or NotAction) concerns the action and its Resource matches the resource, so the two halves
# are asked, and kept, apart: most statements are settled by the action alone.
def _permitted(actions: tuple[tuple[str, Any], ...], resources: Any, action: str, resource: str) -> bool:
    return _action_concerned(actions, action) and _resource_matched(resources, resource)


@functools.lru_cache(maxsize=1 << 16)
def _action_concerned(actions: tuple[tuple[str, Any], ...], action: str) -> bool:
    probe = {**{k: list(v) if isinstance(v, tuple) else v for k, v in actions}, "Effect": "Allow", "Resource": "*"}
    return IAMPolicyStatement(probe).is_action_permitted(action, "*") == PermissionResult.PERMITTED


@functools.lru_cache(maxsize=1 << 17)
def _resource_matched(resources: Any, resource: str) -> bool:
    probe = {"Action": "*", "Effect": "Allow",
             "Resource": _literal(list(resources) if isinstance(resources, tuple) else resources)}
    return IAMPolicyStatement(probe).is_action_permitted("any:Action", resource) == PermissionResult.PERMITTED


def _literal(patterns: Any) -> Any:
    """ARN patterns as moto's matcher needs them: it turns ``*`` into ``.*`` and reads the rest as a
    regular expression, so ``.``/``+`` would match more than themselves and ``?`` not one character."""
    def one(pattern: str) -> str:
        return re.escape(pattern).replace(r"\*", "*").replace(r"\?", ".")
    return one(patterns) if isinstance(patterns, str) else [one(p) for p in patterns]


def _holds(evaluated: Mapping[str, Any], context: Mapping[str, str]) -> bool:
    """Whether moto finds the (evaluable part of the) condition satisfied by ``context``."""
    if not evaluated:
        return True
    probe = {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": dict(evaluated)}
    return IAMPolicyStatement(probe).is_action_permitted("*", "*", None, dict(context)) == PermissionResult.PERMITTED


@dataclass(frozen=True)
class Decision:
    """``allowed`` if every condition moto cannot evaluate fails (for Allows) and holds (for Denies);
    ``allowed_at_most`` the other way round. They differ when only such conditions decide."""

    allowed: bool
    allowed_at_most: bool
    allowed_by: tuple[str, ...]
    denied_by: tuple[str, ...]
    unchecked: tuple[str, ...]


def _evaluate_documents(documents: Iterable[Mapping[str, Any]], action: str, resource: str,
                        context: Mapping[str, str]) -> Decision:
    allow_sure, allow_maybe, deny_sure, deny_maybe = [], [], [], []
    unchecked: list[str] = []
    for doc in documents:
        statements = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
        for stmt in statements:
            if not _matches(stmt, action, resource):
                continue
            evaluated, rest = _split_condition(stmt.get("Condition") or {}, context)
            if not _holds(evaluated, context):
                continue
            sid = str(stmt.get("Sid") or "?")
            unchecked += [f"{sid}: {r}" for r in rest]
            if stmt["Effect"] == "Deny":
                (deny_maybe if rest else deny_sure).append(sid)
            else:
                (allow_maybe if rest else allow_sure).append(sid)
    # IAM: an explicit Deny wins, then any Allow, else the implicit deny.
    allowed = bool(allow_sure) and not deny_sure and not deny_maybe
    at_most = bool(allow_sure or allow_maybe) and not deny_sure
    return Decision(allowed, at_most, tuple(allow_sure + allow_maybe), tuple(deny_sure + deny_maybe), tuple(unchecked))


def evaluate(principal: Principal, action: str, resource: str, context: Mapping[str, str],
             boundaries: Mapping[str, Mapping[str, Any]] | None = None) -> Decision:
    """The principal's identity policies, intersected with its permissions boundary if it has one."""
    identity = _evaluate_documents(principal.documents, action, resource, context)
    if principal.unknown:  # an unknown document may allow the call (or deny it)
        identity = Decision(identity.allowed, True, identity.allowed_by, identity.denied_by,
                            identity.unchecked + tuple(f"{p}: unknown at preview" for p in principal.unknown))
    if principal.boundary_arn is None:
        return identity
    if not boundaries or principal.boundary_arn not in boundaries:
        raise LookupError(f"{principal.name}: permissions boundary {principal.boundary_arn} is not in the plan; "
                          "pass its document in boundaries={arn: document}")
    bound = _evaluate_documents([boundaries[principal.boundary_arn]], action, resource, context)
    return Decision(identity.allowed and bound.allowed, identity.allowed_at_most and bound.allowed_at_most,
                    identity.allowed_by, identity.denied_by + bound.denied_by, identity.unchecked + bound.unchecked)


# -- the table against a plan -----------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    row: Row
    principal: str
    action: str
    resource: str
    context: Mapping[str, str]
    decision: Decision | None   # None: nothing to evaluate (see ``problem``)
    problem: str = ""

    @property
    def passed(self) -> bool:
        if self.decision is None:
            return False
        return self.decision.allowed if self.row.expected else not self.decision.allowed_at_most

    def explain(self) -> str:
        verb = "must" if self.row.expected else "must not"
        head = f"{self.principal} {verb} {self.action} on {self.resource} ({self.row.why})"
        if self.problem:
            return f"{head}: {self.problem}"
        d = self.decision
        assert d is not None
        if self.passed:
            return f"{head}: ok"
        if d.allowed != d.allowed_at_most:
            return f"{head}: decided only by conditions moto does not evaluate: {', '.join(d.unchecked)}"
        return f"{head}: {'allowed by ' + ', '.join(d.allowed_by) if d.allowed_at_most else 'not allowed'}" + (
            f"; denied by {', '.join(d.denied_by)}" if d.denied_by else "") + f" (context {dict(self.context)})"


def actions_for(action: str, backend: str) -> tuple[str, ...]:
    """The IAM actions a row's call stands for on ``backend``."""
    if action in MLFLOW_VERBS:
        return MLFLOW_VERBS[action][backend]
    return (action,)


def evaluate_plan(plan: Mapping[str, Any], others: Sequence[Mapping[str, Any]] = (), *,
                  rows: Sequence[Row] = ROWS,
                  boundaries: Mapping[str, Mapping[str, Any]] | None = None) -> Iterator[Result]:
    """Every applicable row of the table for ``plan``; ``other:`` rows against each plan of ``others``
    that is another stack (another environment or region) of the same account."""
    stack = Stack(plan)
    foreign = [s for s in (Stack(o) for o in others) if s.key != stack.key and s.naming.account_id == stack.naming.account_id]
    for row in rows:
        principals = stack.principals(row.persona)
        for principal in principals:
            targets = foreign if row.other_stack else [stack]
            for target in targets:
                yield from _row_results(row, principal, stack, target, boundaries)


def _row_results(row: Row, principal: Principal, stack: Stack, target: Stack,
                 boundaries: Mapping[str, Mapping[str, Any]] | None) -> Iterator[Result]:
    resource = target.resource(row.kind)
    backend = stack.backend if not row.other_stack else target.backend
    if resource is None:
        if row.kind == "tracking" and backend == "kubernetes":
            return  # in-cluster MLflow: no IAM resource
        if row.other_stack or row.kind in ("data-capture-object", "audit-object", "ci-deploy-role"):
            return  # the target stack has no such resource to reach
        yield Result(row, principal.name, row.action, row.kind, {}, None,
                     f"the plan has no {RESOURCE_KINDS[row.kind]}")
        return
    if row.other_stack and resource == stack.resource(row.kind):
        yield Result(row, principal.name, row.action, resource, {}, None,
                     f"another stack's {RESOURCE_KINDS[row.kind]} ({target.naming.prefix} in {target.naming.region}) "
                     f"has this stack's ARN {resource} in the plans, so the preview cannot tell them apart (the mock "
                     "runtime derives this ARN from the logical name: mock_runtime._physical_name lacks the "
                     "type's name input)")
        return
    context = stack.context(row, target)
    for action in actions_for(row.action, backend):
        decision = evaluate(principal, action, resource, context, boundaries)
        yield Result(row, principal.name, action, resource, context, decision)


def required_personas(plan: Mapping[str, Any]) -> set[str]:
    """Personas the plan must have: the core ones always, CI ones when CI is configured."""
    required = {"training", "pipelines", "serving", "tracking"}
    if plan["outputs"].get("trackingBackend") != "kubernetes":  # the in-cluster server: no IAM
        required.add("mlflow-users")
    if plan["outputs"].get("ciDeployRoleArn"):
        required |= {"ci-preview", "ci-deploy"}
    return required


# -- the README's table ------------------------------------------------------------------------------


def markdown() -> str:
    """The table as the README shows it: one line per row, the actions per backend."""
    lines = ["| who | may | may not | on | actions (managed / serverless / kubernetes) |",
             "| --- | --- | --- | --- | --- |"]
    for row in ROWS:
        where = RESOURCE_KINDS[row.kind] + (", **of another stack**" if row.other_stack else "")
        if row.network:
            where += ", called from the stack's VPC" if row.network == THROUGH_VPC else ", called from outside the VPC"
        if row.action in MLFLOW_VERBS:
            spelled = " / ".join(", ".join(f"`{a}`" for a in actions_for(row.action, b)) or "no IAM call"
                                 for b in ("sagemaker-managed", "sagemaker-serverless", "kubernetes"))
        else:
            spelled = f"`{row.action}`"
        context = "; ".join(f"`{k}`={v}" for k, v in row.context.items())
        if context:
            where += f" ({context})"
        cells = (row.why, "") if row.expected else ("", row.why)
        lines.append(f"| {row.persona} | {cells[0]} | {cells[1]} | {where} | {spelled} |")
    return "\n".join(lines)
