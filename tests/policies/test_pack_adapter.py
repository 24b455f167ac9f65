"""The pulumi_policy adapter: one policy per rule, and the same verdicts as the offline engine.

The validate callbacks are called with the argument objects pulumi_policy's analyzer builds
(props wrapped in its unknown-checking proxy); no PolicyPack is constructed (that starts a server).
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_BOOLEAN_VALUE, UNKNOWN_STRING_VALUE, unknown_checking_proxy

from mlops_blueprint.policies import pack_adapter
from mlops_blueprint.policies.engine import evaluate
from mlops_blueprint.policies.model import context_factory
from mlops_blueprint.policies.pack_adapter import PACK_NAME, build_policies, default_environment, plain
from mlops_blueprint.policies.rules import ALL_RULES, RULES_BY_NAME
from support.policies import bucket_set, view

TAGS = {"project": "p", "owner": "o", "cost-center": "c", "data-classification": "internal"}


def options(protect: bool = False, parent: str | None = None) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], parent)


def provider(environment: str = "dev") -> PolicyProviderResource:
    props = {"region": "us-east-1", "defaultTags": json.dumps({"tags": {**TAGS, "environment": environment}})}
    return PolicyProviderResource("pulumi:providers:aws", unknown_checking_proxy(props),
                                  "urn:pulumi:dev::p::pulumi:providers:aws::default", "default")


def resource_args(type_: str, name: str, props: dict[str, Any], *, config: dict | None = None,
                  environment: str = "dev", protect: bool = False) -> ResourceValidationArgs:
    return ResourceValidationArgs(type_, unknown_checking_proxy(props), f"urn:pulumi:dev::p::{type_}::{name}", name,
                                  options(protect), provider(environment), config)


def validate(policy: Any, args: Any) -> list[tuple[str, str | None]]:
    reported: list[tuple[str, str | None]] = []
    result = policy.validate(args, lambda message, urn=None: reported.append((message, urn)))
    assert result is None  # synchronous: nothing for the analyzer to await
    return reported


def policy_named(name: str, **kwargs: Any) -> Any:
    return next(p for p in build_policies(**kwargs) if p.name == name)


def test_one_policy_per_rule_with_the_same_name_kind_description_and_level() -> None:
    policies = build_policies()
    assert [p.name for p in policies] == [r.name for r in ALL_RULES]
    for policy, rule in zip(policies, ALL_RULES):
        expected_kind = StackValidationPolicy if rule.is_stack_rule else ResourceValidationPolicy
        assert isinstance(policy, expected_kind), rule.name
        assert policy.description == rule.description
        assert policy.enforcement_level == {"mandatory": EnforcementLevel.MANDATORY,
                                            "advisory": EnforcementLevel.ADVISORY}[rule.enforcement]


def test_only_the_boundary_policy_is_configurable() -> None:
    configurable = {p.name: p.config_schema.properties for p in build_policies() if p.config_schema}
    assert configurable == {"iam-role-permissions-boundary": {
        "permissionsBoundaryArn": {"type": "string", "description": "ARN every role must use"}}}


def test_pack_name_is_valid_for_pulumi() -> None:
    assert PACK_NAME == "mlops-platform-guardrails"


def test_resource_policy_reports_what_the_engine_reports() -> None:
    props = {"enableKeyRotation": False, "tags": {"component": "kms"}}
    reported = validate(policy_named("kms-key-rotation"), resource_args("aws:kms/key:Key", "data-key", props))
    offline = evaluate([view("aws:kms/key:Key", "data-key", props)], context_factory("dev"),
                       rules=[RULES_BY_NAME["kms-key-rotation"]])
    assert reported == [(offline[0].message, None)]
    assert reported == [("KMS key 'data-key' must set enableKeyRotation=true", None)]


def test_resource_policy_ignores_other_types() -> None:
    assert validate(policy_named("kms-key-rotation"), resource_args("aws:s3/bucket:Bucket", "b", {})) == []


def test_a_simple_fake_with_only_the_read_attributes_is_enough() -> None:
    args = SimpleNamespace(resource_type="aws:ecr/repository:Repository", name="trainer", urn="urn:x",
                           props={"imageTagMutability": "MUTABLE"}, opts=SimpleNamespace(protect=False, parent=None),
                           provider=None, get_config=dict)
    assert validate(policy_named("ecr-immutable-tags"), args) == [
        ('ECR repository \'trainer\' has imageTagMutability "MUTABLE"; set it to "IMMUTABLE"', None)]


def test_unknown_values_during_preview_neither_raise_nor_report() -> None:
    args = resource_args("aws:ecr/repository:Repository", "trainer",
                         {"imageScanningConfiguration": {"scanOnPush": UNKNOWN_BOOLEAN_VALUE}})
    assert validate(policy_named("ecr-scan-on-push"), args) == []


def test_environment_comes_from_the_provider_default_tags() -> None:
    bucket = {"bucket": "b", "forceDestroy": True}
    policy = policy_named("s3-no-force-destroy-in-prod")
    assert validate(policy, resource_args("aws:s3/bucket:Bucket", "b", bucket, environment="dev")) == []
    assert len(validate(policy, resource_args("aws:s3/bucket:Bucket", "b", bucket, environment="prod"))) == 1


def test_protect_is_read_and_retain_on_delete_is_not_guessed() -> None:
    policy = policy_named("prod-stateful-protection")
    assert validate(policy, resource_args("aws:kms/key:Key", "k", {}, environment="prod", protect=True)) == []
    assert [m for m, _ in validate(policy, resource_args("aws:kms/key:Key", "k", {}, environment="prod"))] == [
        "Key 'k' is stateful and must set protect=True and retain_on_delete=True in prod (missing: protect)"]


def test_boundary_comes_from_policy_config_or_the_build_argument() -> None:
    boundary = "arn:aws:iam::123456789012:policy/b"
    role = {"assumeRolePolicy": "{}"}
    assert validate(policy_named("iam-role-permissions-boundary"), resource_args("aws:iam/role:Role", "r", role)) == []
    from_config = resource_args("aws:iam/role:Role", "r", role, config={"permissionsBoundaryArn": boundary})
    expected = [(f"role 'r' must use permissions boundary {boundary} (has none)", None)]
    assert validate(policy_named("iam-role-permissions-boundary"), from_config) == expected
    from_build = policy_named("iam-role-permissions-boundary", permissions_boundary_arn=boundary)
    assert validate(from_build, resource_args("aws:iam/role:Role", "r", role)) == expected


def stack_resource(v: Any, *, parent: PolicyResource | None = None) -> PolicyResource:
    return PolicyResource(v.type, unknown_checking_proxy(dict(v.props)), v.urn, v.name, options(v.protect),
                          provider(), parent, [], {})


def test_stack_policy_reports_with_the_offending_urn() -> None:
    views = [v for v in bucket_set("models", log_to=None) if v.type != "aws:s3/bucketVersioning:BucketVersioning"]
    resources = [stack_resource(v) for v in views]
    resources.append(PolicyResource("pulumi:pulumi:Stack", unknown_checking_proxy({}), "urn:stack", "p-dev",
                                    options(), None, None, [], {}))
    reported = validate(policy_named("s3-versioning-enabled"), StackValidationArgs(resources))
    bucket = views[0]
    assert reported == [("bucket 'models' has no BucketVersioning with status Enabled (none found)", bucket.urn)]


def test_stack_policy_matches_unknown_references_through_property_dependencies() -> None:
    views = bucket_set("models", log_to=None)
    resources = [stack_resource(v) for v in views]
    bucket = resources[0]
    versioning = next(r for r in resources if r.resource_type == "aws:s3/bucketVersioning:BucketVersioning")
    versioning.props = unknown_checking_proxy({"bucket": UNKNOWN_STRING_VALUE,
                                               "versioningConfiguration": {"status": "Enabled"}})
    policy = policy_named("s3-versioning-enabled")
    assert len(validate(policy, StackValidationArgs(resources))) == 1
    versioning.property_dependencies = {"bucket": [bucket]}
    versioning.parent = bucket
    assert validate(policy, StackValidationArgs(resources)) == []


def test_plain_unwraps_proxies_and_marks_unknowns() -> None:
    proxied = unknown_checking_proxy({"a": [{"b": UNKNOWN_STRING_VALUE}], "c": 1})
    result = plain(proxied)
    assert type(result) is dict and type(result["a"]) is list
    assert repr(result) == "{'a': [{'b': UNKNOWN}], 'c': 1}"


@pytest.mark.parametrize(("stack", "expected"), [("dev", "dev"), ("acme/mlops-platform/staging", "staging"),
                                                 ("", "prod")])
def test_default_environment_is_the_stack_name_else_prod(monkeypatch: pytest.MonkeyPatch, stack: str,
                                                          expected: str) -> None:
    monkeypatch.setenv("PULUMI_STACK", stack)
    assert default_environment() == expected


def test_importing_the_pack_entry_point_does_not_start_a_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """policies/__main__.py builds the PolicyPack only when run as a program."""
    import runpy
    from pathlib import Path

    started: list[str] = []
    monkeypatch.setattr("pulumi_policy.PolicyPack", lambda *a, **k: started.append(k["name"]))
    main = Path(pack_adapter.__file__).with_name("__main__.py")
    runpy.run_path(str(main), run_name="imported")
    assert started == []
    runpy.run_path(str(main), run_name="__main__")
    assert started == [PACK_NAME]
