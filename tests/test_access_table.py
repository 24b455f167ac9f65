"""Who may do what (infra/access_table.py): the table holds for every stack and backend, evaluated
by moto's access-control engine against the plan's IAM documents; the conditional cases moto does
not evaluate by itself (tags, source VPC, permissions boundary) are given the request context that
decides them."""

from __future__ import annotations

import json

import pytest
from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.iam.policy_conditions import CONDITION_OPERATIONS
from support.stacks import VARIANTS, of_type, plan_for, preview_with

from mlops_blueprint.access_table import (
    MLFLOW_VERBS, PERSONAS, RESOURCE_KINDS, ROWS, Principal, Row, Stack, evaluate, evaluate_plan, markdown,
    required_personas,
)
from mlops_blueprint.policy_documents import document, statement

BUCKET = "arn:aws:s3:::bucket"
OBJECT = f"{BUCKET}/key"


# One variant per stack of the account (environment x region); evaluate_plan drops the plan's own.
STACKS_OF_THE_ACCOUNT = ("dev", "staging", "prod", "prod-system-eu")


def _others(variant: str) -> list[dict]:
    return [plan_for(v) for v in STACKS_OF_THE_ACCOUNT if v != variant]


def _failures(results) -> list[str]:
    return [r.explain() for r in results if not r.passed]


# -- the table over every stack and variant --------------------------------------------------------


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_access_table_holds(variant):
    results = list(evaluate_plan(plan_for(variant), _others(variant)))
    assert results, "no row applied"
    failures = _failures(results)
    assert not failures, f"{len(failures)} of {len(results)} checks fail:\n" + "\n".join(failures)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_persona_the_stack_creates_is_in_the_table(variant):
    plan = plan_for(variant)
    evaluated = {r.row.persona for r in evaluate_plan(plan, _others(variant))}
    assert required_personas(plan) <= evaluated
    if plan["outputs"].get("driftAlarmArns"):  # monitored and retrained (the system variants)
        assert {"monitoring", "retraining"} <= evaluated


ACCEPTANCE = {"dev": "sagemaker-serverless", "staging": "sagemaker-managed", "prod": "sagemaker-managed",
              "dev-kubernetes": "kubernetes"}


@pytest.mark.parametrize("variant", sorted(ACCEPTANCE))
def test_training_and_pipelines_use_this_stacks_mlflow_and_not_anothers(variant):
    """Issue 11's acceptance: log a run and register a model here; denied on another stack's."""
    plan = plan_for(variant)
    assert Stack(plan).backend == ACCEPTANCE[variant]
    rows = [r for r in ROWS if r.persona in ("training", "pipelines")
            and (r.action in ("mlflow:LogRun", "mlflow:RegisterModel") or r.resource.endswith("model-package"))
            and r.network != "outside-vpc"]
    results = list(evaluate_plan(plan, _others(variant), rows=rows))
    own = [r for r in results if not r.row.other_stack]
    other = [r for r in results if r.row.other_stack]
    if ACCEPTANCE[variant] == "kubernetes":
        # In-cluster MLflow takes no IAM call; what IAM governs is the registry serving reads.
        assert {r.action for r in own} == {"sagemaker:CreateModelPackage"}
    else:
        spelled = {a for verb in ("mlflow:LogRun", "mlflow:RegisterModel") for a in MLFLOW_VERBS[verb][ACCEPTANCE[variant]]}
        assert spelled <= {r.action for r in own if r.principal.endswith("-training")}
        assert spelled <= {r.action for r in own if r.principal.endswith("-pipelines")}
    assert other, "no other stack to be denied on"
    failures = _failures(results)
    assert not failures, "\n".join(failures)


def test_another_stacks_resources_are_another_stacks():
    """'Another stack' is another environment or region of the account, never a config variant of
    the same stack (dev and dev-gitlab are one stack)."""
    dev = Stack(plan_for("dev"))
    others = {Stack(plan_for(v)).key for v in STACKS_OF_THE_ACCOUNT} - {dev.key}
    assert ("123456789012", "prod", "eu-west-1") in others and ("123456789012", "staging", "us-east-1") in others
    assert Stack(plan_for("dev-gitlab")).key == dev.key


# -- conditional cases, against the plans ----------------------------------------------------------


def _one(plan, others, persona, action, resource, expected):
    rows = [r for r in ROWS if (r.persona, r.action, r.resource, r.expected) == (persona, action, resource, expected)]
    assert rows, (persona, action, resource, expected)
    return [res for res in evaluate_plan(plan, others, rows=rows)]


@pytest.mark.parametrize("variant", ["dev", "staging"])
def test_jobs_reach_mlflow_only_through_the_stacks_vpc(variant):
    """Source VPC: the training role's MLflow grant holds for calls from this stack's VPC only."""
    plan = plan_for(variant)
    inside = _one(plan, [], "training", "mlflow:LogRun", "tracking", True)
    outside = _one(plan, [], "training", "mlflow:LogRun", "tracking", False)
    assert inside and outside and all(r.passed for r in inside + outside), [r.explain() for r in inside + outside]
    assert {r.context["aws:SourceVpc"] for r in inside} == {plan["outputs"]["vpcId"]}
    # Without the context moto cannot decide it: a conditional grant is not a sure one.
    principal = Stack(plan).principals("training")[0]
    blind = evaluate(principal, inside[0].action, inside[0].resource, {"aws:RequestedRegion": "us-east-1"})
    assert not blind.allowed and blind.allowed_at_most and any("aws:Source" in u for u in blind.unchecked)


def test_pipelines_start_jobs_named_by_sagemaker_only_when_tagged_as_this_stacks():
    plan = plan_for("staging")
    ours = _one(plan, [], "pipelines", "sagemaker:CreateTrainingJob", "pipeline-training-job", True)
    theirs = _one(plan, [], "pipelines", "sagemaker:CreateTrainingJob", "pipeline-training-job", False)
    assert all(r.passed for r in ours + theirs), [r.explain() for r in ours + theirs]
    assert ours[0].context["aws:RequestTag/environment"] == "staging"
    assert theirs[0].decision.allowed_by == ()  # no statement applies to another environment's tags


BOUNDARY = "arn:aws:iam::123456789012:policy/org/ml-boundary"
# The organisation's boundary: SageMaker, MLflow, S3 objects, KMS, logs; no IAM and no bucket changes.
BOUNDARY_DOCUMENT = document(
    statement("Workloads", ["sagemaker:*", "sagemaker-mlflow:*", "s3:GetObject", "s3:PutObject", "s3:ListBucket",
                            "kms:*", "logs:*", "ecr:*", "ec2:*", "cloudwatch:*", "iam:PassRole", "iam:Get*"], "*"),
    statement("NoDataOutsideTheOrg", ["s3:PutObject"], ["arn:aws:s3:::*-audit-trail-*"], effect="Deny"),
)


@pytest.fixture(scope="module")
def bounded_prod():
    return preview_with("prod", iam={"permissionsBoundaryArn": BOUNDARY, "ci": {
        "provider": "github", "repository": "example-org/mlops-blueprint", "deployBranch": "main"}}).plan


def test_every_role_carries_the_configured_boundary(bounded_prod):
    roles = of_type(bounded_prod, "aws:iam/role:Role")
    assert roles and {r["inputs"].get("permissionsBoundary") for r in roles} == {BOUNDARY}
    with pytest.raises(LookupError, match="permissions boundary"):
        list(evaluate_plan(bounded_prod))  # the boundary's document is not in the plan: never guessed


def test_the_boundary_caps_every_role(bounded_prod):
    boundaries = {BOUNDARY: BOUNDARY_DOCUMENT}
    results = {(r.row.persona, r.action, r.row.resource, r.row.expected): r
               for r in evaluate_plan(bounded_prod, boundaries=boundaries)}
    # The identity policy allows these; the boundary takes them away.
    ci_bucket = results[("ci-deploy", "s3:PutBucketPolicy", "models-bucket", True)]
    assert not ci_bucket.passed and ci_bucket.decision.allowed_by  # allowed by identity, capped
    # ...and leaves what the workloads need.
    for key in [("training", "s3:GetObject", "datasets-object", True), ("serving", "s3:GetObject", "models-object", True)]:
        assert results[key].passed, results[key].explain()


def test_ci_deploy_changes_roles_only_under_the_boundary(bounded_prod):
    principal = Stack(bounded_prod).principals("ci-deploy")[0]
    role = bounded_prod["outputs"]["trainingRoleArn"]
    boundaries = {BOUNDARY: document(statement("All", ["*"], "*"))}
    under = evaluate(principal, "iam:PutRolePolicy", role,
                     {"iam:PermissionsBoundary": BOUNDARY, "aws:RequestedRegion": "us-east-1"}, boundaries)
    other = evaluate(principal, "iam:PutRolePolicy", role,
                     {"iam:PermissionsBoundary": "arn:aws:iam::123456789012:policy/weaker", "aws:RequestedRegion": "us-east-1"},
                     boundaries)
    assert under.allowed
    assert not other.allowed_at_most


# -- the evaluator itself --------------------------------------------------------------------------


def _principal(*statements, boundary=None, unknown=()):
    return Principal("p", (document(*statements),), boundary, tuple(unknown))


def test_moto_evaluates_only_string_equals():
    """The limit the README states; if moto learns more operators, revisit both."""
    assert set(CONDITION_OPERATIONS) == {"StringEquals"}


def test_a_failed_condition_does_not_hide_another_allow():
    """moto answers DENIED for an Allow whose condition fails, even when another statement allows
    the call; each statement is asked separately here."""
    conditional = statement("Tagged", ["s3:GetObject"], [OBJECT], conditions={"StringEquals": {"aws:RequestTag/x": "1"}})
    plain = statement("Plain", ["s3:GetObject"], [OBJECT])
    raw = IAMPolicy(json.dumps(document(conditional, plain))).is_action_permitted("s3:GetObject", OBJECT, None,
                                                                                 {"aws:RequestTag/x": "2"})
    assert raw == PermissionResult.DENIED
    decision = evaluate(_principal(conditional, plain), "s3:GetObject", OBJECT, {"aws:RequestTag/x": "2"})
    assert decision.allowed and decision.allowed_by == ("Plain",)


def test_conditions_moto_cannot_evaluate_decide_nothing():
    like = statement("Like", ["s3:ListBucket"], [BUCKET], conditions={"StringLike": {"s3:prefix": ["a/*"]}})
    decision = evaluate(_principal(like), "s3:ListBucket", BUCKET, {"s3:prefix": "b/"})
    assert (decision.allowed, decision.allowed_at_most) == (False, True)
    deny = statement("DenyUnlessVpce", ["s3:GetObject"], "*", effect="Deny",
                     conditions={"StringNotEquals": {"aws:SourceVpce": "vpce-1"}})
    allow = statement("Read", ["s3:GetObject"], [OBJECT])
    decision = evaluate(_principal(allow, deny), "s3:GetObject", OBJECT, {"aws:SourceVpce": "vpce-1"})
    assert (decision.allowed, decision.allowed_at_most) == (False, True)
    assert decision.unchecked == ("DenyUnlessVpce: StringNotEquals aws:SourceVpce",)


def test_conditional_deny_applies_only_when_its_condition_holds():
    allow = statement("Read", ["s3:GetObject"], [OBJECT])
    deny = statement("DenyOtherEnv", ["s3:GetObject"], "*", effect="Deny",
                     conditions={"StringEquals": {"aws:ResourceTag/environment": "prod"}})
    assert evaluate(_principal(allow, deny), "s3:GetObject", OBJECT, {"aws:ResourceTag/environment": "dev"}).allowed
    denied = evaluate(_principal(allow, deny), "s3:GetObject", OBJECT, {"aws:ResourceTag/environment": "prod"})
    assert not denied.allowed_at_most and denied.denied_by == ("DenyOtherEnv",)


def test_not_resource_is_read_as_everything_else():
    deny = {"Sid": "DenyElsewhere", "Effect": "Deny", "Action": ["s3:*"], "NotResource": [f"{BUCKET}/*"]}
    allow = statement("All", ["s3:*"], "*")
    assert evaluate(_principal(allow, deny), "s3:GetObject", OBJECT, {}).allowed
    assert not evaluate(_principal(allow, deny), "s3:GetObject", "arn:aws:s3:::other/key", {}).allowed_at_most


def test_boundary_intersects_and_must_be_known():
    allow = statement("Write", ["s3:PutObject", "s3:GetObject"], [OBJECT])
    principal = _principal(allow, boundary="arn:aws:iam::1:policy/b")
    boundaries = {"arn:aws:iam::1:policy/b": document(statement("ReadOnly", ["s3:GetObject"], "*"))}
    assert evaluate(principal, "s3:GetObject", OBJECT, {}, boundaries).allowed
    assert not evaluate(principal, "s3:PutObject", OBJECT, {}, boundaries).allowed_at_most
    with pytest.raises(LookupError, match="boundary"):
        evaluate(principal, "s3:GetObject", OBJECT, {})


def test_a_policy_unknown_at_preview_leaves_must_not_rows_undecided():
    principal = _principal(statement("Read", ["s3:GetObject"], [OBJECT]), unknown=["db-credentials"])
    decision = evaluate(principal, "s3:PutObject", OBJECT, {})
    assert not decision.allowed and decision.allowed_at_most


# -- the table as data and as the README shows it ----------------------------------------------------


def test_rows_are_well_formed():
    keys = [(r.persona, r.action, r.resource, r.expected, r.network, tuple(sorted(r.context.items()))) for r in ROWS]
    assert len(set(keys)) == len(keys), "a row is listed twice"
    for row in ROWS:
        assert row.persona in PERSONAS and row.kind in RESOURCE_KINDS, row
        assert row.action in MLFLOW_VERBS or (":" in row.action and "*" not in row.action), row
        assert row.why, row
    for persona in PERSONAS:
        expectations = {r.expected for r in ROWS if r.persona == persona}
        assert expectations == {True, False}, f"{persona}: needs rows it must and must not do"


def test_markdown_lists_every_row():
    lines = markdown().splitlines()
    assert len(lines) == 2 + len(ROWS)
    assert any("`sagemaker:CallMlflowAppApi`" in line and "`sagemaker-mlflow:CreateRun`" in line for line in lines)


def test_row_with_an_unknown_resource_kind_is_refused():
    plan = plan_for("dev")
    with pytest.raises(KeyError, match="unknown resource kind"):
        list(evaluate_plan(plan, rows=[Row("training", "s3:GetObject", "no-such-kind", True, "x")]))


def test_arn_patterns_match_as_iam_matches_them():
    """'.' is literal and '?' one character, whatever moto's regular expressions make of them."""
    read = statement("Read", ["s3:GetObject"], ["arn:aws:s3:::my.bucket/a?c/*"])
    assert evaluate(_principal(read), "s3:GetObject", "arn:aws:s3:::my.bucket/abc/x", {}).allowed
    assert not evaluate(_principal(read), "s3:GetObject", "arn:aws:s3:::myxbucket/abc/x", {}).allowed_at_most
    assert not evaluate(_principal(read), "s3:GetObject", "arn:aws:s3:::my.bucket/c/x", {}).allowed_at_most


def test_a_wider_grant_is_caught():
    """The table fails when a role gets more than it should: training with s3:* on every bucket."""
    import copy

    plan = copy.deepcopy(plan_for("dev"))
    training = Stack(plan).naming.role("training")
    inline = [r for r in of_type(plan, "aws:iam/rolePolicy:RolePolicy") if r["inputs"]["role"] == training][0]
    doc = json.loads(inline["inputs"]["policy"])
    doc["Statement"].append(statement("TooWide", ["s3:*"], "*"))
    inline["inputs"]["policy"] = json.dumps(doc)
    failing = {(r.row.why, r.action) for r in evaluate_plan(plan, _others("dev")) if not r.passed}
    assert ("writes to the audit bucket", "s3:PutObject") in failing
    assert ("reads another stack's data", "s3:GetObject") in failing
    assert all(why.startswith(("writes", "reads")) for why, _ in failing), failing
