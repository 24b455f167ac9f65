"""Tests for the plan diff (mlops_blueprint.diff) and its renderings (mlops_blueprint.diff_render).

Plans are built in the test with small helpers that produce the plan-JSON shape documented in
ARCHITECTURE.md ("Plan JSON"), so each test shows exactly which input differs.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from mlops_blueprint.diff import (
    ABSENT,
    REPLACEMENT_PROPERTIES,
    SECRET_SIG_KEY,
    SECRET_SIG_VALUE,
    PlanDiff,
    PlanFileError,
    ResourceChange,
    diff_plans,
    load_plan,
    stackless_key,
)
from mlops_blueprint.diff_render import render_json, render_markdown, render_text

PROJECT = "mlops-platform"
STACK_TYPE = "pulumi:pulumi:Stack"

# --------------------------------------------------------------------------------------------
# Plan builders
# --------------------------------------------------------------------------------------------


def make_urn(stack: str, qualified_type: str, name: str) -> str:
    return f"urn:pulumi:{stack}::{PROJECT}::{qualified_type}::{name}"


def stack_resource(stack: str) -> dict[str, Any]:
    name = f"{PROJECT}-{stack}"
    return resource_entry(stack, STACK_TYPE, name, custom=False, parent=None, _qualified=STACK_TYPE)


def resource_entry(
    stack: str,
    type_: str,
    name: str,
    inputs: dict[str, Any] | None = None,
    *,
    parent: dict[str, Any] | None | str = "stack",
    custom: bool = True,
    protect: bool = False,
    retain: bool = False,
    _qualified: str | None = None,
) -> dict[str, Any]:
    """One plan resource. ``parent`` is another entry (its URN's type chain is extended, as the
    engine does), ``"stack"`` for a top-level resource, or None for the Stack itself."""
    if _qualified is not None:
        qualified, parent_urn = _qualified, None
    elif parent == "stack":
        qualified, parent_urn = type_, stack_resource(stack)["urn"]
    else:
        assert isinstance(parent, dict)
        parent_qualified = parent["urn"].split("::")[2]
        qualified, parent_urn = f"{parent_qualified}${type_}", parent["urn"]
    return {
        "urn": make_urn(stack, qualified, name),
        "type": type_,
        "name": name,
        "id": f"{name}-id" if custom else "",
        "custom": custom,
        "parent": parent_urn,
        "dependencies": [],
        "propertyDependencies": {},
        "provider": None,
        "protect": protect,
        "retainOnDelete": retain,
        "deleteBeforeReplace": False,
        "inputs": copy.deepcopy(inputs or {}),
        "outputs": {},
    }


def make_plan(
    stack: str,
    resources: list[dict[str, Any]],
    outputs: dict[str, Any] | None = None,
    findings: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    all_resources = [stack_resource(stack), *resources]
    return {
        "stack": stack,
        "project": PROJECT,
        "resources": sorted(all_resources, key=lambda r: r["urn"]),
        "outputs": outputs or {},
        "findings": findings or [],
    }


def find(plan: dict[str, Any], name: str) -> dict[str, Any]:
    """The resource called ``name`` (to tweak a copy of a plan)."""
    (res,) = [r for r in plan["resources"] if r["name"] == name]
    return res


def platform(stack: str = "dev", *, protect: bool = False, force_destroy: bool = True) -> dict[str, Any]:
    """A small but realistic plan: KMS, an artifact store, a serving endpoint, one finding."""
    key_arn = "arn:aws:kms:eu-west-1:123456789012:key/kms-data"

    def component(type_: str, name: str) -> dict[str, Any]:
        return resource_entry(stack, type_, name, custom=False)

    def child(parent: dict[str, Any], type_: str, name: str, inputs: dict[str, Any], **options: Any) -> dict[str, Any]:
        return resource_entry(stack, type_, name, inputs, parent=parent, **options)

    kms = component("mlops:security:Kms", "kms")
    key = child(kms, "aws:kms/key:Key", "kms-data", {
        "customerMasterKeySpec": "SYMMETRIC_DEFAULT", "keyUsage": "ENCRYPT_DECRYPT", "enableKeyRotation": True,
        "deletionWindowInDays": 30, "tags": {"owner": "ml-platform", "environment": stack},
    }, protect=protect)
    store = component("mlops:storage:ArtifactStore", "artifacts")
    models = child(store, "aws:s3/bucket:Bucket", "artifacts-models", {
        "bucket": "mlops-models",
        "forceDestroy": force_destroy,
        "serverSideEncryptionConfiguration": {"rules": [{
            "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key_arn},
            "bucketKeyEnabled": True,
        }]},
        "tags": {"owner": "ml-platform", "environment": stack},
    }, protect=protect)
    deny_plain_http = {"Effect": "Deny", "Action": "s3:*", "Principal": "*",
                       "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    policy = child(models, "aws:s3/bucketPolicy:BucketPolicy", "artifacts-models-tls", {
        "bucket": "mlops-models", "policy": json.dumps({"Version": "2012-10-17", "Statement": [deny_plain_http]}),
    })
    serving = component("mlops:serving:ServingEndpoint", "serving")
    model = child(serving, "aws:sagemaker/model:Model", "serving-model", {
        "executionRoleArn": "arn:aws:iam::123456789012:role/serving",
        "primaryContainer": {"image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/model:1.0",
                             "modelDataUrl": "s3://mlops-models/model.tar.gz"},
        "tags": {"owner": "ml-platform"},
    })
    endpoint_config = child(serving, "aws:sagemaker/endpointConfiguration:EndpointConfiguration", "serving-config", {
        "kmsKeyArn": key_arn,
        "productionVariants": [{"variantName": "primary", "modelName": "serving-model-1",
                                "instanceType": "ml.m5.large", "initialInstanceCount": 1}],
        "tags": {"owner": "ml-platform"},
    })
    return make_plan(
        stack,
        [kms, key, store, models, policy, serving, model, endpoint_config],
        outputs={"artifactBucketName": "mlops-models", "endpointName": "serving"},
        findings=[{"policy": "sagemaker-endpoint-kms", "enforcement": "advisory", "urn": endpoint_config["urn"],
                   "message": "endpoint config should use a customer managed key"}],
    )

def db_plan(inputs: dict[str, Any], outputs: dict[str, Any] | None = None) -> dict[str, Any]:
    """A dev plan of one top-level RDS instance, ``mlflow-db``, with ``inputs``."""
    return make_plan("dev", [resource_entry("dev", "aws:rds/instance:Instance", "mlflow-db", inputs)], outputs)


def only_change(diff: PlanDiff) -> ResourceChange:
    """The single resource change of a diff (fails the test if there is not exactly one)."""
    changes = diff.changes
    assert len(changes) == 1, [(c.op, c.name) for c in changes]
    return changes[0]


# --------------------------------------------------------------------------------------------
# Detection
# --------------------------------------------------------------------------------------------


def test_identical_plans_have_no_changes_in_every_rendering() -> None:
    diff = diff_plans(platform(), platform())
    assert diff.is_empty
    assert diff.counts == {"create": 0, "update": 0, "replace": 0, "delete": 0}
    assert "No changes." in render_markdown(diff, "main", "pr")
    assert "No changes." in render_text(diff, "main", "pr")
    assert json.loads(render_json(diff))["counts"] == diff.counts


def test_create_and_delete_detected_with_component_and_urn() -> None:
    base = platform()
    head = copy.deepcopy(base)
    store = find(head, "artifacts")
    logs = resource_entry("dev", "aws:s3/bucket:Bucket", "artifacts-logs", {"bucket": "mlops-logs"}, parent=store)
    head["resources"].append(logs)
    head["resources"] = [r for r in head["resources"] if r["name"] != "artifacts-models-tls"]

    diff = diff_plans(base, head)

    assert [(c.name, c.component, c.urn) for c in diff.creates] == [
        ("artifacts-logs", "ArtifactStore artifacts", logs["urn"])
    ]
    assert [(c.name, c.type, c.component) for c in diff.deletes] == [
        ("artifacts-models-tls", "aws:s3/bucketPolicy:BucketPolicy", "ArtifactStore artifacts")
    ]
    # delete keeps base's urn; nothing else changed
    assert diff.deletes[0].urn == find(base, "artifacts-models-tls")["urn"]
    assert diff.updates == [] and diff.replaces == []
    assert diff.counts == {"create": 1, "update": 0, "replace": 0, "delete": 1}


def test_update_reports_exact_nested_paths_and_values() -> None:
    base = platform()
    head = copy.deepcopy(base)
    inputs = find(head, "artifacts-models")["inputs"]
    inputs["serverSideEncryptionConfiguration"]["rules"][0]["applyServerSideEncryptionByDefault"][
        "sseAlgorithm"
    ] = "AES256"
    inputs["tags"]["owner"] = "data-science"
    inputs["tags"]["costCenter"] = "cc-42"  # added key
    del inputs["tags"]["environment"]  # removed key

    change = only_change(diff_plans(base, head))

    assert change.op == "update"
    assert change.changed_paths == [
        "serverSideEncryptionConfiguration.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm",
        "tags.costCenter",
        "tags.environment",
        "tags.owner",
    ]
    assert change.replace_paths == []
    assert change.before_after[
        "serverSideEncryptionConfiguration.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm"
    ] == ("aws:kms", "AES256")
    assert change.before_after["tags.costCenter"] == (ABSENT, "cc-42")
    assert change.before_after["tags.environment"] == ("dev", ABSENT)
    assert change.after["tags.owner"] == "data-science"
    assert change.component == "ArtifactStore artifacts"


def test_list_elements_compared_index_wise_and_length_changes_are_paths() -> None:
    base = platform()
    head = copy.deepcopy(base)
    rules = find(head, "artifacts-models")["inputs"]["serverSideEncryptionConfiguration"]["rules"]
    rules[0]["bucketKeyEnabled"] = False
    rules.append({"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}})

    change = only_change(diff_plans(base, head))

    assert change.changed_paths == [
        "serverSideEncryptionConfiguration.rules[0].bucketKeyEnabled",
        "serverSideEncryptionConfiguration.rules[1]",
    ]
    assert change.before_after["serverSideEncryptionConfiguration.rules[1]"] == (
        ABSENT,
        {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}},
    )


def test_json_policy_strings_are_diffed_structurally() -> None:
    base = platform()
    head = copy.deepcopy(base)
    res = find(head, "artifacts-models-tls")
    doc = json.loads(res["inputs"]["policy"])
    doc["Statement"][0]["Action"] = ["s3:GetObject", "s3:PutObject"]
    res["inputs"]["policy"] = json.dumps(doc)

    change = only_change(diff_plans(base, head))

    assert change.op == "update"
    assert change.changed_paths == ["policy.Statement[0].Action"]
    assert change.before_after["policy.Statement[0].Action"] == ("s3:*", ["s3:GetObject", "s3:PutObject"])


def test_protect_and_retain_changes_are_updates_with_option_paths() -> None:
    base = platform()
    head = copy.deepcopy(base)
    find(head, "kms-data")["protect"] = True
    find(head, "kms-data")["retainOnDelete"] = True

    change = only_change(diff_plans(base, head))

    assert (change.op, change.name) == ("update", "kms-data")
    assert change.changed_paths == ["(protect)", "(retainOnDelete)"]
    assert change.before_after["(protect)"] == (False, True)
    assert change.protected is True


def test_bool_and_int_are_not_confused() -> None:
    base = platform()
    head = copy.deepcopy(base)
    find(base, "kms-data")["inputs"]["enableKeyRotation"] = 1
    find(head, "kms-data")["inputs"]["enableKeyRotation"] = True

    assert only_change(diff_plans(base, head)).changed_paths == ["enableKeyRotation"]


# --------------------------------------------------------------------------------------------
# Replacement
# --------------------------------------------------------------------------------------------


def test_bucket_rename_is_a_replace() -> None:
    base = platform()
    head = copy.deepcopy(base)
    find(head, "artifacts-models")["inputs"]["bucket"] = "mlops-models-v2"
    find(head, "artifacts-models")["inputs"]["tags"]["owner"] = "someone"

    change = only_change(diff_plans(base, head))

    assert change.op == "replace"
    assert change.changed_paths == ["bucket", "tags.owner"]
    assert change.replace_paths == ["bucket"]


def test_rds_engine_change_is_a_replace_but_instance_class_is_not() -> None:
    def db(engine: str, instance_class: str) -> dict[str, Any]:
        return db_plan({"engine": engine, "engineVersion": "16.3", "instanceClass": instance_class,
                        "storageEncrypted": True, "username": "mlflow"})

    engine_change = only_change(diff_plans(db("postgres", "db.t4g.micro"), db("mysql", "db.t4g.micro")))
    assert (engine_change.op, engine_change.replace_paths) == ("replace", ["engine"])
    assert engine_change.component == "(stack)"

    class_change = only_change(diff_plans(db("postgres", "db.t4g.micro"), db("postgres", "db.t4g.small")))
    assert (class_change.op, class_change.changed_paths) == ("update", ["instanceClass"])


def test_kms_key_spec_change_is_a_replace_but_rotation_is_not() -> None:
    base = platform()
    head = copy.deepcopy(base)
    find(head, "kms-data")["inputs"]["customerMasterKeySpec"] = "RSA_2048"
    find(head, "kms-data")["inputs"]["enableKeyRotation"] = False

    change = only_change(diff_plans(base, head))

    assert change.op == "replace"
    assert change.changed_paths == ["customerMasterKeySpec", "enableKeyRotation"]
    assert change.replace_paths == ["customerMasterKeySpec"]
    assert change.component == "Kms kms"


def test_endpoint_configuration_variant_change_and_model_image_change_are_replaces() -> None:
    base = platform()
    head = copy.deepcopy(base)
    # A new image means a new Model; the endpoint config then points at the new model name.
    find(head, "serving-model")["inputs"]["primaryContainer"]["image"] = (
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/model:2.0"
    )
    find(head, "serving-config")["inputs"]["productionVariants"][0]["modelName"] = "serving-model-2"

    diff = diff_plans(base, head)

    assert diff.updates == []
    by_name = {c.name: c for c in diff.replaces}
    assert set(by_name) == {"serving-config", "serving-model"}
    assert by_name["serving-config"].replace_paths == ["productionVariants[0].modelName"]
    assert by_name["serving-model"].replace_paths == ["primaryContainer.image"]
    assert by_name["serving-model"].component == "ServingEndpoint serving"


def test_endpoint_configuration_tag_change_is_only_an_update() -> None:
    base = platform()
    head = copy.deepcopy(base)
    find(head, "serving-config")["inputs"]["tags"]["owner"] = "serving-team"

    change = only_change(diff_plans(base, head))

    assert (change.op, change.changed_paths, change.replace_paths) == ("update", ["tags.owner"], [])


def test_bucket_policy_moving_to_another_bucket_is_a_replace() -> None:
    assert REPLACEMENT_PROPERTIES["aws:s3/bucketPolicy:BucketPolicy"] == ("bucket",)
    base = platform()
    head = copy.deepcopy(base)
    find(head, "artifacts-models-tls")["inputs"]["bucket"] = "mlops-models-v2"

    assert only_change(diff_plans(base, head)).replace_paths == ["bucket"]


def test_physical_name_rule_for_types_outside_the_table() -> None:
    queue = "aws:sqs/queue:Queue"
    assert queue not in REPLACEMENT_PROPERTIES

    def plan(name: str, delay: int) -> dict[str, Any]:
        return make_plan("dev", [resource_entry("dev", queue, "jobs", {"name": name, "delaySeconds": delay})])

    assert only_change(diff_plans(plan("jobs", 0), plan("jobs-v2", 0))).replace_paths == ["name"]
    assert only_change(diff_plans(plan("jobs", 0), plan("jobs", 5))).op == "update"


def test_nested_force_new_block_replaces_but_its_siblings_update() -> None:
    """terraform-provider-aws marks deploymentConfig.autoRollbackConfiguration of an endpoint ForceNew."""
    def endpoint(alarms: list[str], wait: int) -> dict[str, Any]:
        config = {"autoRollbackConfiguration": {"alarms": [{"alarmName": a} for a in alarms]},
                  "blueGreenUpdatePolicy": {"terminationWaitInSeconds": wait}}
        return make_plan("dev", [resource_entry("dev", "aws:sagemaker/endpoint:Endpoint", "serving-endpoint",
                                                {"name": "churn", "deploymentConfig": config})])

    rollback = only_change(diff_plans(endpoint(["a"], 0), endpoint(["a", "b"], 0)))
    assert (rollback.op, rollback.replace_paths) == (
        "replace", ["deploymentConfig.autoRollbackConfiguration.alarms[1]"])
    wait = only_change(diff_plans(endpoint(["a"], 0), endpoint(["a"], 300)))
    assert (wait.op, wait.replace_paths) == ("update", [])


def test_component_is_the_top_level_component_under_the_stack() -> None:
    outer = resource_entry("dev", "mlops:serving:ServingEndpoint", "serving", custom=False)
    inner = resource_entry("dev", "mlops:monitoring:Alarms", "serving-alarms", custom=False, parent=outer)
    alarm = resource_entry(
        "dev", "aws:cloudwatch/metricAlarm:MetricAlarm", "serving-5xx", {"threshold": 1}, parent=inner
    )
    loose = resource_entry("dev", "aws:iam/role:Role", "ci", {"name": "ci", "maxSessionDuration": 3600})
    base = make_plan("dev", [outer, inner, alarm, loose])
    head = copy.deepcopy(base)
    find(head, "serving-5xx")["inputs"]["threshold"] = 5
    find(head, "ci")["inputs"]["maxSessionDuration"] = 7200

    diff = diff_plans(base, head)

    assert [(c.name, c.component) for c in diff.changes] == [
        ("ci", "(stack)"),
        ("serving-5xx", "ServingEndpoint serving"),
    ]


def test_same_key_with_different_type_is_delete_plus_create() -> None:
    base = platform()
    head = copy.deepcopy(base)
    find(head, "artifacts-models-tls")["type"] = "aws:s3/bucketPolicyV2:BucketPolicy"

    diff = diff_plans(base, head)

    assert [c.type for c in diff.deletes] == ["aws:s3/bucketPolicy:BucketPolicy"]
    assert [c.type for c in diff.creates] == ["aws:s3/bucketPolicyV2:BucketPolicy"]
    assert diff.updates == [] and diff.replaces == []


# --------------------------------------------------------------------------------------------
# Dangers
# --------------------------------------------------------------------------------------------


def test_protected_delete_and_replace_are_dangers_at_the_top_of_the_markdown() -> None:
    base = platform(protect=True)
    head = copy.deepcopy(base)
    head["resources"] = [r for r in head["resources"] if r["name"] != "artifacts-models"]
    find(head, "kms-data")["inputs"]["keyUsage"] = "SIGN_VERIFY"

    diff = diff_plans(base, head)

    assert diff.dangers == [
        "DELETE of protected aws:s3/bucket:Bucket 'artifacts-models' — "
        "`pulumi up` will fail until protect is lifted",
        "REPLACE of protected aws:kms/key:Key 'kms-data' (forced by `keyUsage`) — "
        "`pulumi up` will fail until protect is lifted",
    ]
    md = render_markdown(diff, "main", "pr")
    danger_at = md.index("### ⚠️ Dangerous changes")
    assert danger_at < md.index("### ArtifactStore artifacts")
    assert danger_at < md.index("### Kms kms")
    assert md.index("**+0 to create") < danger_at
    assert "- 🛑 DELETE of protected aws:s3/bucket:Bucket 'artifacts-models'" in md
    assert "!! DELETE of protected aws:s3/bucket:Bucket 'artifacts-models'" in render_text(diff)
    assert json.loads(render_json(diff))["dangers"] == diff.dangers


def test_unprotected_stateful_replace_is_a_data_loss_warning_not_a_danger() -> None:
    base = platform(protect=False)
    head = copy.deepcopy(base)
    find(head, "artifacts-models")["inputs"]["bucket"] = "mlops-models-v2"

    diff = diff_plans(base, head)

    assert diff.dangers == []
    assert len(diff.warnings) == 1
    assert diff.warnings[0].startswith("REPLACE of aws:s3/bucket:Bucket 'artifacts-models' (forced by `bucket`)")
    assert "### ⚠️ Dangerous changes" in render_markdown(diff)


def test_no_danger_section_for_harmless_changes() -> None:
    base = platform(protect=True)
    head = copy.deepcopy(base)
    find(head, "artifacts-models")["inputs"]["tags"]["owner"] = "x"

    diff = diff_plans(base, head)

    assert diff.dangers == [] and diff.warnings == []
    assert "Dangerous" not in render_markdown(diff)


# --------------------------------------------------------------------------------------------
# Cross-stack
# --------------------------------------------------------------------------------------------


def test_dev_vs_prod_matches_by_stackless_key() -> None:
    dev = platform("dev", protect=False, force_destroy=True)
    prod = platform("dev", protect=False, force_destroy=True)
    # Same code, prod stack: URNs carry "prod"; prod differs only in forceDestroy and protect.
    prod_text = json.dumps(prod).replace("urn:pulumi:dev::", "urn:pulumi:prod::")
    prod = json.loads(prod_text)
    prod["stack"] = "prod"
    find(prod, "artifacts-models")["inputs"]["forceDestroy"] = False
    find(prod, "artifacts-models")["protect"] = True

    diff = diff_plans(dev, prod)

    assert diff.creates == [] and diff.deletes == [] and diff.replaces == []
    change = only_change(diff)
    assert change.op == "update"
    assert change.urn.startswith("urn:pulumi:prod::")
    assert change.key == stackless_key(find(dev, "artifacts-models")["urn"])
    assert change.changed_paths == ["(protect)", "forceDestroy"]
    assert change.before_after == {"(protect)": (False, True), "forceDestroy": (True, False)}
    # The finding (same policy, same stack-less resource, same message) is not "new".
    assert diff.findings_added == [] and diff.findings_resolved == []
    assert (diff.base_stack, diff.head_stack) == ("dev", "prod")


def test_stackless_key() -> None:
    urn = "urn:pulumi:dev::mlops-platform::mlops:storage:ArtifactStore$aws:s3/bucket:Bucket::artifacts-models"
    assert stackless_key(urn) == "mlops-platform::mlops:storage:ArtifactStore$aws:s3/bucket:Bucket::artifacts-models"
    assert stackless_key(urn.replace(":dev::", ":prod::")) == stackless_key(urn)


# --------------------------------------------------------------------------------------------
# Outputs and findings
# --------------------------------------------------------------------------------------------


def test_output_changes_and_findings_added_resolved() -> None:
    base = platform()
    head = copy.deepcopy(base)
    head["outputs"]["artifactBucketName"] = "mlops-models-v2"
    del head["outputs"]["endpointName"]
    head["outputs"]["trackingServerUrl"] = "https://mlflow.example"
    head["findings"] = [
        {"policy": "s3-sse-kms", "enforcement": "mandatory", "urn": find(head, "artifacts-models")["urn"],
         "message": "bucket must use SSE-KMS"}
    ]

    diff = diff_plans(base, head)

    assert [(o.name, o.kind, o.before, o.after) for o in diff.output_changes] == [
        ("artifactBucketName", "changed", "mlops-models", "mlops-models-v2"),
        ("endpointName", "removed", "serving", ABSENT),
        ("trackingServerUrl", "added", ABSENT, "https://mlflow.example"),
    ]
    assert [f.policy for f in diff.findings_added] == ["s3-sse-kms"]
    assert [f.policy for f in diff.findings_resolved] == ["sagemaker-endpoint-kms"]
    assert not diff.has_resource_changes and not diff.is_empty

    md = render_markdown(diff, "main", "pr")
    assert "| changed | `artifactBucketName` | `mlops-models` | `mlops-models-v2` |" in md
    assert "| removed | `endpointName` | `serving` | `(none)` |" in md
    assert (
        "- ❌ `s3-sse-kms` (mandatory) on `aws:s3/bucket:Bucket` `artifacts-models`: bucket must use SSE-KMS"
        in md
    )
    assert "- ✅ `sagemaker-endpoint-kms` (advisory)" in md
    assert "**+0 to create · ~0 to update · ±0 to replace · -0 to delete**" in md


# --------------------------------------------------------------------------------------------
# Secrets
# --------------------------------------------------------------------------------------------

PLAINTEXT_OLD = "hunter2-old-db-password"
PLAINTEXT_NEW = "correct-horse-battery-staple"


def secret(value: Any) -> dict[str, Any]:
    return {SECRET_SIG_KEY: SECRET_SIG_VALUE, "value": value}


def test_secrets_are_never_rendered() -> None:
    def db(password: str, env_token: str) -> dict[str, Any]:
        return db_plan({"engine": "postgres", "instanceClass": "db.t4g.micro", "password": secret(password),
                        "parameters": {"nested": secret({"token": env_token})}},
                       outputs={"dbPassword": secret(password)})

    diff = diff_plans(db(PLAINTEXT_OLD, "tok-old-123"), db(PLAINTEXT_NEW, "tok-new-456"))

    change = only_change(diff)
    assert change.op == "update"
    assert change.changed_paths == ["parameters.nested", "password"]  # no path inside a secret
    assert change.before_after["password"] == ("[secret]", "[secret]")
    assert [(o.name, o.before, o.after) for o in diff.output_changes] == [("dbPassword", "[secret]", "[secret]")]
    renderings = [render_markdown(diff, "a", "b"), render_text(diff, "a", "b"), render_json(diff)]
    for text in renderings:
        for plaintext in (PLAINTEXT_OLD, PLAINTEXT_NEW, "tok-old-123", "tok-new-456", SECRET_SIG_VALUE):
            assert plaintext not in text
        assert "[secret]" in text


def test_unchanged_secret_is_not_a_change_and_secret_added_under_new_key_is_redacted() -> None:
    base = make_plan("dev", [resource_entry("dev", "aws:iam/role:Role", "r", {"name": "r", "pw": secret("same")})])
    head = copy.deepcopy(base)
    assert diff_plans(base, head).is_empty

    find(head, "r")["inputs"]["extra"] = {"apiKey": secret(PLAINTEXT_NEW)}
    change = only_change(diff_plans(base, head))
    assert change.before_after == {"extra": (ABSENT, {"apiKey": "[secret]"})}
    assert PLAINTEXT_NEW not in render_markdown(diff_plans(base, head)) + render_json(diff_plans(base, head))


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


def _mixed_diff() -> PlanDiff:
    base = platform()
    head = copy.deepcopy(base)
    store = find(head, "artifacts")
    head["resources"].append(
        resource_entry("dev", "aws:s3/bucket:Bucket", "artifacts-logs", {"bucket": "mlops-logs"}, parent=store)
    )
    find(head, "artifacts-models")["inputs"]["tags"]["owner"] = "data-science"
    find(head, "kms-data")["inputs"]["customerMasterKeySpec"] = "RSA_4096"
    head["resources"] = [r for r in head["resources"] if r["name"] != "artifacts-models-tls"]
    return diff_plans(base, head)


def test_markdown_counts_line_and_component_grouping() -> None:
    md = render_markdown(_mixed_diff(), "main", "feature/x")

    assert md.startswith("## Infrastructure diff: `main` → `feature/x`\n")
    assert "**+1 to create · ~1 to update · ±1 to replace · -1 to delete**" in md
    artifacts = md.index("### ArtifactStore artifacts")
    kms = md.index("### Kms kms")
    assert artifacts < kms  # sections sorted by component
    artifacts_section = md[artifacts:kms]
    assert "| op | type | name | changed properties |" in artifacts_section
    assert "| + create | `aws:s3/bucket:Bucket` | `artifacts-logs` | — |" in artifacts_section
    assert (
        "| ~ update | `aws:s3/bucket:Bucket` | `artifacts-models` | "
        "`tags.owner`: `ml-platform` → `data-science` |" in artifacts_section
    )
    assert "| - delete | `aws:s3/bucketPolicy:BucketPolicy` | `artifacts-models-tls` | — |" in artifacts_section
    # rows within a component: type, then name
    assert artifacts_section.index("`artifacts-logs`") < artifacts_section.index("`artifacts-models`")
    assert (
        "| ± replace | `aws:kms/key:Key` | `kms-data` | "
        "`customerMasterKeySpec`: `SYMMETRIC_DEFAULT` → `RSA_4096` **(forces replacement)** |" in md
    )


def test_markdown_truncates_long_values_and_escapes_pipes() -> None:
    base = make_plan("dev", [resource_entry("dev", "aws:ssm/parameter:Parameter", "p", {"value": "a"})])
    head = copy.deepcopy(base)
    find(head, "p")["inputs"]["value"] = "x|" * 100

    md = render_markdown(diff_plans(base, head))

    row = next(line for line in md.splitlines() if line.startswith("| ~ update"))
    after_span = row.split("→", 1)[1].strip().removesuffix("|").strip()
    assert after_span.startswith("`x\\|x\\|") and after_span.endswith("x\\|`")  # pipes escaped
    shown = after_span.strip("`").replace("\\|", "|")
    assert len(shown) == 60 and shown[29] == "…"  # 60 characters: both ends kept, ellipsis in the middle
    assert len(re.findall(r"(?<!\\)\|", row)) == 5  # still exactly four cells


def test_text_rendering_uses_prefixes_and_lists_paths() -> None:
    text = render_text(_mixed_diff(), "main", "pr")

    assert text.startswith("Infrastructure diff: main -> pr\n+1 to create, ~1 to update, ±1 to replace, -1 to delete\n")
    assert "ArtifactStore artifacts\n  + aws:s3/bucket:Bucket artifacts-logs\n" in text
    assert "  ~ aws:s3/bucket:Bucket artifacts-models\n      tags.owner: ml-platform -> data-science\n" in text
    assert "  - aws:s3/bucketPolicy:BucketPolicy artifacts-models-tls\n" in text
    assert "      customerMasterKeySpec: SYMMETRIC_DEFAULT -> RSA_4096  (forces replacement)\n" in text


def test_json_rendering_is_stable_and_complete() -> None:
    diff = _mixed_diff()
    out = render_json(diff)

    assert out == render_json(_mixed_diff())  # deterministic
    doc = json.loads(out)
    assert list(doc) == sorted(doc)
    assert doc["counts"] == {"create": 1, "delete": 1, "replace": 1, "update": 1}
    (update,) = doc["updates"]
    assert update["values"] == {"tags.owner": {"after": "data-science", "before": "ml-platform"}}
    (create,) = doc["creates"]
    assert (create["name"], create["component"]) == ("artifacts-logs", "ArtifactStore artifacts")
    assert doc["replaces"][0]["replacePaths"] == ["customerMasterKeySpec"]


# --------------------------------------------------------------------------------------------
# load_plan
# --------------------------------------------------------------------------------------------


def test_load_plan_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(platform()), encoding="utf-8")
    assert load_plan(path) == platform()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "no such file"),
        ("{not json", "invalid JSON at line 1"),
        ('{"stack": "dev"}', 'missing "resources"'),
        ("[1, 2]", "top level is a JSON array"),
        ('{"resources": {}}', '"resources" is a JSON object'),
        ('{"resources": [{"type": "aws:s3/bucket:Bucket"}]}', 'resources[0] has no "urn"'),
    ],
)
def test_load_plan_errors_name_the_path(tmp_path: Path, content: str | None, problem: str) -> None:
    path = tmp_path / "base-plan.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")

    with pytest.raises(PlanFileError) as info:
        load_plan(path)

    assert str(path) in str(info.value)
    assert problem in str(info.value)
    assert info.value.path == str(path)
