"""The preflight over every plan of the catalogue, and over deliberately broken ones."""

import copy
import json

import pytest
from support.stacks import VARIANTS, of_type, plan_for

from mlops_blueprint.preflight.names import NAME_SPECS, name_problem
from mlops_blueprint.preflight.run import run_preflight


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_variant_passes_the_preflight(variant):
    report = run_preflight(plan_for(variant))
    assert report.results, "the preflight checked nothing"
    assert [f.message for f in report.failures] == []


def _broken(variant="dev"):
    return copy.deepcopy(plan_for(variant))


def test_an_action_that_does_not_exist_is_reported():
    plan = _broken()
    [policy, *_] = of_type(plan, "aws:iam/rolePolicy:RolePolicy")
    document = json.loads(policy["inputs"]["policy"])
    document["Statement"][0]["Action"] = ["s3:DeleteBucketOwnershipControls"]
    policy["inputs"]["policy"] = json.dumps(document)
    [failure] = run_preflight(plan).failures
    assert failure.check == "iam-action-exists" and "s3:DeleteBucketOwnershipControls" in failure.message


def test_a_resource_of_the_wrong_type_is_reported():
    plan = _broken()
    [policy, *_] = of_type(plan, "aws:s3/bucketPolicy:BucketPolicy")
    document = json.loads(policy["inputs"]["policy"])
    document["Statement"].append({"Effect": "Allow", "Action": "s3:GetObject",
                                  "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                                  "Resource": "arn:aws:s3:::some-bucket"})  # a bucket, not its objects
    policy["inputs"]["policy"] = json.dumps(document)
    [failure] = run_preflight(plan).failures
    assert failure.check == "iam-action-resource" and "s3:GetObject accepts none" in failure.message


def test_names_beyond_the_service_limits_and_duplicates_are_reported():
    plan = _broken()
    buckets = of_type(plan, "aws:s3/bucket:Bucket")
    buckets[0]["inputs"]["bucket"] = "Upper_Case-" + "x" * 60
    buckets[1]["inputs"]["bucket"] = buckets[2]["inputs"]["bucket"]
    checks = sorted(f.check for f in run_preflight(plan).failures)
    assert checks == ["name-limits", "name-unique"]


@pytest.mark.parametrize(
    ("type_", "name", "problem"),
    [
        ("aws:iam/role:Role", "r" * 65, "65 characters"),
        ("aws:sagemaker/endpoint:Endpoint", "churn_endpoint", "'_'"),
        ("aws:kms/alias:Alias", "mlops-data", "alias/"),
        ("aws:ecr/repository:Repository", "Inference", "refuses"),
    ],
)
def test_name_rules(type_, name, problem):
    assert problem in name_problem(name, NAME_SPECS[type_])


def test_a_kubernetes_object_off_the_schema_is_reported():
    plan = _broken("dev-kubernetes")
    [deployment, *_] = of_type(plan, "kubernetes:apps/v1:Deployment")
    deployment["inputs"]["spec"]["replicas"] = "two"
    deployment["inputs"]["spec"]["template"]["spec"]["securityContxt"] = {}
    failures = run_preflight(plan).failures
    assert [f.check for f in failures] == ["k8s-schema"]
    assert "Kubernetes 1.33.0" in failures[0].message


def test_every_kind_of_policy_document_is_checked():
    plan = plan_for("prod")
    types = {r["urn"]: r["type"] for r in plan["resources"]}
    checked = {(types[r.urn], r.subject.split(" ")[0]) for r in run_preflight(plan).results
               if r.check == "iam-action-exists"}
    assert {("aws:iam/role:Role", "assumeRolePolicy"), ("aws:iam/rolePolicy:RolePolicy", "policy"),
            ("aws:iam/policy:Policy", "policy"), ("aws:s3/bucketPolicy:BucketPolicy", "policy"),
            ("aws:kms/key:Key", "policy"), ("aws:sns/topicPolicy:TopicPolicy", "policy")} <= checked
