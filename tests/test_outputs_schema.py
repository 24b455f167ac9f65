"""The stack-outputs schema (mlops_blueprint.outputs): the program exports through it, every plan
agrees with it, and the pipelines read names from it (accepting the deprecated alias)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support.stacks import ORG_TRAIL, VARIANTS, plan_for

from mlops_blueprint.outputs import ALIASES, OUTPUTS, SCHEMA, Out, lookup, stack_outputs, value_problems
from mlops_blueprint.pipelines.errors import InputError
from mlops_blueprint.pipelines.outputs import PIPELINE_READS, StackOutputs

REPO = Path(__file__).resolve().parents[1]
ALWAYS = sorted(s.name for s in OUTPUTS if s.present_when is None)


def _complete() -> dict[str, str]:
    return {spec.name: f"value-of-{spec.name}" for spec in OUTPUTS if spec.present_when is None and not spec.deprecated}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_plan_exports_the_schema_and_only_it(variant):
    outputs = plan_for(variant)["outputs"]
    assert value_problems(outputs) == []
    assert [name for name in ALWAYS if name not in outputs] == []
    # The deprecated alias carries the same bucket as the new name.
    assert outputs[Out.ARTIFACT_BUCKET_NAME] == outputs[Out.MODELS_BUCKET_NAME]
    assert outputs[Out.MODELS_BUCKET_NAME].startswith(f"mlops-platform-{VARIANTS[variant][0]}-models-")


@pytest.mark.parametrize(("variant", "present", "absent"), [
    ("dev", {Out.AUDIT_TRAIL_ARN, Out.AUDIT_BUCKET_NAME, Out.BUDGET_NAME},
     {Out.CI_PREVIEW_ROLE_ARN, Out.CI_DEPLOY_ROLE_ARN, Out.SERVING_SERVICE_URLS, Out.RETRAINING_RULE_NAMES,
      Out.PROMETHEUS_REMOTE_WRITE_URL, Out.GRAFANA_ENDPOINT, Out.TRACKING_SERVER_URL}),
    ("dev-gitlab", {Out.CI_PREVIEW_ROLE_ARN, Out.CI_DEPLOY_ROLE_ARN}, set()),
    ("staging-org-trail", {Out.AUDIT_TRAIL_ARN}, {Out.AUDIT_BUCKET_NAME}),
    ("dev-kubernetes", {Out.SERVING_SERVICE_URLS, Out.TRACKING_SERVER_URL},
     {Out.MLFLOW_USER_POLICY_ARN, Out.MLFLOW_VPC_ENDPOINT_ID, Out.TRACKING_SERVER_ARN}),
    ("staging-system", {Out.RETRAINING_RULE_NAMES, Out.MONITORING_ROLE_ARN}, {Out.SERVING_SERVICE_URLS}),
    ("prod-system", {Out.PROMETHEUS_REMOTE_WRITE_URL}, set()),  # Grafana's URL: only once the workspace exists
])
def test_conditional_outputs_follow_their_condition(variant, present, absent):
    outputs = plan_for(variant)["outputs"]
    assert all(SCHEMA[name].present_when for name in absent)  # an absent one must be documented as conditional
    assert sorted(present - set(outputs)) == []
    assert sorted(absent & set(outputs)) == []


def test_an_existing_trail_is_the_organisations():
    assert plan_for("staging-org-trail")["outputs"][Out.AUDIT_TRAIL_ARN] == ORG_TRAIL


def test_stack_outputs_refuse_unknown_missing_and_alias_names():
    with pytest.raises(ValueError, match="unknown stack output 'modelBucketName'"):
        stack_outputs({**_complete(), "modelBucketName": "x"})
    incomplete = _complete()
    del incomplete[Out.MODELS_BUCKET_NAME]
    with pytest.raises(ValueError, match="stack output 'modelsBucketName' is missing"):
        stack_outputs(incomplete)
    with pytest.raises(ValueError, match="'artifactBucketName' is an alias: set 'modelsBucketName'"):
        stack_outputs({**_complete(), Out.ARTIFACT_BUCKET_NAME: "x"})
    # A conditional output may be left out; the alias is added from the new name.
    exported = stack_outputs(_complete())
    assert exported[Out.ARTIFACT_BUCKET_NAME] == exported[Out.MODELS_BUCKET_NAME] == "value-of-modelsBucketName"
    assert Out.CI_DEPLOY_ROLE_ARN not in exported


def test_the_schema_documents_every_output():
    assert len({s.name for s in OUTPUTS}) == len(OUTPUTS)
    for spec in OUTPUTS:
        assert re.fullmatch(r"[a-z][A-Za-z]+", spec.name), spec.name
        assert spec.meaning and spec.kind in ("string", "list", "map")
    assert ALIASES == {Out.MODELS_BUCKET_NAME: Out.ARTIFACT_BUCKET_NAME}
    assert SCHEMA[Out.ARTIFACT_BUCKET_NAME].deprecated == Out.MODELS_BUCKET_NAME
    assert set(PIPELINE_READS) <= set(SCHEMA)


def test_pipelines_read_an_older_stack_that_has_only_the_old_name():
    old = StackOutputs({Out.ARTIFACT_BUCKET_NAME: "old-models", Out.REGION: "us-east-1"}, "dev", "test")
    assert old.require(Out.MODELS_BUCKET_NAME) == "old-models"
    both = StackOutputs({Out.ARTIFACT_BUCKET_NAME: "old", Out.MODELS_BUCKET_NAME: "new"}, "dev", "test")
    assert both.require(Out.MODELS_BUCKET_NAME) == "new"
    assert lookup({Out.ARTIFACT_BUCKET_NAME: "old"}, Out.DATASETS_BUCKET_NAME) is None
    with pytest.raises(InputError, match="stack output 'modelsBucketName' is missing"):
        StackOutputs({Out.REGION: "us-east-1"}, "dev", "test").require(Out.MODELS_BUCKET_NAME)


def test_pipelines_name_outputs_through_the_schema_not_string_literals():
    literal = re.compile(r"outputs(?:\.(?:require|get|per_model)\(|\[)\s*[\"'][a-z][A-Za-z]+[\"']")
    offenders = [f"{p.name}:{n}" for p in sorted((REPO / "pipelines").glob("*.py"))
                 for n, line in enumerate(p.read_text().splitlines(), 1) if literal.search(line)]
    assert offenders == []
    readers = "\n".join(p.read_text() for p in (REPO / "pipelines").glob("*.py"))
    assert '"artifactBucketName"' not in readers
