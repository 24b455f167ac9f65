"""Kms: two rotated customer-managed keys whose policies say exactly who may use them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pulumi
import pytest

from mlops_blueprint.components.kms import Kms, KmsArgs
from mlops_blueprint.components.kms_settings import KmsSettings
from mlops_blueprint.context import StackContext
from mlops_blueprint.mock_runtime import MOCK_ACCOUNT_ID, MockRun, Registration, run_program

KEY = "aws:kms/key:Key"
ALIAS = "aws:kms/alias:Alias"
COMPONENT = "mlops:security:Kms"
ADMIN = f"arn:aws:iam::{MOCK_ACCOUNT_ID}:role/key-admin"


def build(ctx: StackContext, *, admins: Callable[[], list[Any]] = list, **kwargs: Any) -> MockRun:
    """Run a Kms under mocks; ``admins`` builds admin ARNs inside the program (Outputs need its loop)."""

    def program() -> None:
        kms = Kms("kms", KmsArgs(context=ctx, admin_principal_arns=admins(), **kwargs))
        pulumi.export("dataKeyArn", kms.data_key_arn)
        pulumi.export("dataKeyId", kms.data_key_id)
        pulumi.export("logsKeyArn", kms.logs_key_arn)
        pulumi.export("dataKeyUrn", kms.data_key.urn)
        pulumi.export("logsKeyUrn", kms.logs_key.urn)

    return run_program(program, stack=ctx.environment, project="mlops-platform", region=ctx.region)


def policy(key: Registration) -> dict[str, Any]:
    return json.loads(key.inputs["policy"])


def statements(key: Registration) -> list[dict[str, Any]]:
    return policy(key)["Statement"]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def is_anyone(principal: Any) -> bool:
    if principal == "*":
        return True
    return isinstance(principal, dict) and "*" in as_list(principal.get("AWS", []))


def with_action(key: Registration, action: str) -> list[dict[str, Any]]:
    return [s for s in statements(key) if action in as_list(s["Action"])]


def test_two_symmetric_keys_rotated_with_the_configured_deletion_window(dev_context: StackContext) -> None:
    run = build(dev_context, settings=KmsSettings(deletion_window_days=7))
    keys = run.of_type(KEY)
    assert sorted(k.name for k in keys) == ["kms-data", "kms-logs"]
    for key in keys:
        assert key.inputs["enableKeyRotation"] is True
        assert key.inputs["deletionWindowInDays"] == 7
        assert key.inputs["keyUsage"] == "ENCRYPT_DECRYPT"
        assert key.inputs["customerMasterKeySpec"] == "SYMMETRIC_DEFAULT"
        assert key.inputs.get("multiRegion") in (None, False)
        assert key.inputs["description"]
        assert key.inputs["tags"] == {"component": "kms", "Name": f"mlops-platform-dev-{key.name.removeprefix('kms-')}"}


def test_keys_are_protected_and_retained_when_asked_aliases_never(prod_context: StackContext) -> None:
    run = build(prod_context, protect=True, retain_on_delete=True)
    assert [(k.protect, k.retain_on_delete) for k in run.of_type(KEY)] == [(True, True), (True, True)]
    assert [(a.protect, a.retain_on_delete) for a in run.of_type(ALIAS)] == [(False, False), (False, False)]


def test_keys_are_not_protected_by_default(dev_context: StackContext) -> None:
    run = build(dev_context)
    assert all(not r.protect and not r.retain_on_delete for r in run.registrations)
    assert all(k.inputs["deletionWindowInDays"] == 30 for k in run.of_type(KEY))


def test_aliases_come_from_naming_and_target_their_keys(dev_context: StackContext) -> None:
    run = build(dev_context)
    for purpose in ("data", "logs"):
        key = run.named(KEY, f"kms-{purpose}")
        alias = run.named(ALIAS, f"kms-{purpose}")
        assert alias.inputs["name"] == dev_context.naming.kms_alias(purpose) == f"alias/mlops-platform-dev-{purpose}"
        assert alias.inputs["targetKeyId"] == key.outputs["keyId"]


def test_every_child_is_parented_to_the_component(dev_context: StackContext) -> None:
    run = build(dev_context)
    component = run.of_type(COMPONENT)
    assert len(component) == 1
    children = run.children(component[0].urn)
    assert sorted((c.type, c.name) for c in children) == sorted(
        [(KEY, "kms-data"), (KEY, "kms-logs"), (ALIAS, "kms-data"), (ALIAS, "kms-logs")]
    )
    assert len(run.registrations) == len(children) + 2  # + the component + the stack


def test_public_attributes_are_the_keys_arns_and_ids(dev_context: StackContext) -> None:
    run = build(dev_context)
    data, logs = run.named(KEY, "kms-data"), run.named(KEY, "kms-logs")
    assert run.outputs["dataKeyArn"] == data.outputs["arn"]
    assert run.outputs["dataKeyId"] == data.outputs["keyId"]
    assert run.outputs["logsKeyArn"] == logs.outputs["arn"]
    assert run.outputs["dataKeyArn"] != run.outputs["logsKeyArn"]
    assert (run.outputs["dataKeyUrn"], run.outputs["logsKeyUrn"]) == (data.urn, logs.urn)


def test_key_policies_delegate_to_the_account_root_and_never_open_to_anyone(dev_context: StackContext) -> None:
    run = build(dev_context)
    for key in run.of_type(KEY):
        doc = policy(key)
        assert doc["Version"] == "2012-10-17"
        root = [s for s in doc["Statement"] if s["Principal"] == {"AWS": f"arn:aws:iam::{MOCK_ACCOUNT_ID}:root"}]
        assert len(root) == 1 and root[0]["Action"] == ["kms:*"] and root[0]["Effect"] == "Allow"
        assert all(s["Effect"] == "Allow" for s in doc["Statement"])
        for s in doc["Statement"]:
            if is_anyone(s["Principal"]):
                # Every wildcard principal is pinned to this account.
                assert s.get("Condition"), s["Sid"]
                assert s["Condition"]["StringEquals"]["kms:CallerAccount"] == MOCK_ACCOUNT_ID, s["Sid"]


def test_logs_key_lets_cloudwatch_logs_of_this_region_and_account_use_it(context_for: Any) -> None:
    ctx = context_for("staging", region="eu-west-1")
    logs_key = build(ctx).named(KEY, "kms-logs")
    service = [s for s in statements(logs_key) if s["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}]
    assert len(service) == 1
    assert set(service[0]["Action"]) == {
        "kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*",
    }
    assert service[0]["Condition"] == {
        "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:eu-west-1:{MOCK_ACCOUNT_ID}:log-group:*"}
    }


def test_logs_key_lets_cloudtrail_encrypt_and_the_account_read_trail_logs(dev_context: StackContext) -> None:
    logs_key = build(dev_context).named(KEY, "kms-logs")
    trail_arns = f"arn:aws:cloudtrail:*:{MOCK_ACCOUNT_ID}:trail/*"
    cloudtrail = [s for s in statements(logs_key) if s["Principal"] == {"Service": "cloudtrail.amazonaws.com"}]
    encrypt = [s for s in cloudtrail if "kms:GenerateDataKey*" in s["Action"]]
    assert len(encrypt) == 1
    assert encrypt[0]["Action"] == ["kms:GenerateDataKey*"]
    assert encrypt[0]["Condition"]["StringLike"] == {"kms:EncryptionContext:aws:cloudtrail:arn": trail_arns}
    assert encrypt[0]["Condition"]["StringEquals"] == {"aws:SourceAccount": MOCK_ACCOUNT_ID}
    describe = [s for s in cloudtrail if s["Action"] == ["kms:DescribeKey"]]
    assert len(describe) == 1 and describe[0]["Condition"]["StringEquals"] == {"aws:SourceAccount": MOCK_ACCOUNT_ID}
    # CloudTrail may not decrypt anything.
    assert not any("kms:Decrypt" in s["Action"] for s in cloudtrail)

    decrypt = [s for s in with_action(logs_key, "kms:Decrypt") if is_anyone(s["Principal"])]
    assert len(decrypt) == 1
    assert set(decrypt[0]["Action"]) == {"kms:Decrypt", "kms:ReEncryptFrom"}
    assert decrypt[0]["Condition"] == {
        "StringEquals": {"kms:CallerAccount": MOCK_ACCOUNT_ID},
        "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": trail_arns},
    }


def test_data_key_is_usable_in_the_account_only_through_s3_and_sagemaker(dev_context: StackContext) -> None:
    data_key = build(dev_context).named(KEY, "kms-data")
    via = {"s3.us-east-1.amazonaws.com", "sagemaker.us-east-1.amazonaws.com"}
    non_root = [s for s in statements(data_key) if s["Sid"] != "EnableIamPolicies"]
    assert non_root, "the data key needs service statements"
    for s in non_root:
        assert is_anyone(s["Principal"]), f"{s['Sid']}: no service principal may use the data key directly"
        equals = s["Condition"]["StringEquals"]
        assert equals["kms:CallerAccount"] == MOCK_ACCOUNT_ID
        assert set(as_list(equals["kms:ViaService"])) == via
    use = with_action(data_key, "kms:Decrypt")
    assert len(use) == 1 and "kms:GenerateDataKey*" in use[0]["Action"] and "kms:*" not in use[0]["Action"]
    grants = with_action(data_key, "kms:CreateGrant")
    assert len(grants) == 1
    assert grants[0]["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}
    # Log services belong on the logs key, not here.
    assert "logs." not in data_key.inputs["policy"] and "cloudtrail" not in data_key.inputs["policy"]


def test_admin_principals_may_manage_but_not_use_the_keys(dev_context: StackContext) -> None:
    # One plain ARN, one Output (as another component's role ARN would be).
    run = build(dev_context, admins=lambda: [ADMIN, pulumi.Output.from_input(ADMIN.replace("key-admin", "sec"))])
    for key in run.of_type(KEY):
        admins = [s for s in statements(key) if isinstance(s["Principal"], dict) and s["Principal"].get("AWS") not in
                  (None, "*", f"arn:aws:iam::{MOCK_ACCOUNT_ID}:root")]
        assert len(admins) == 1
        assert sorted(admins[0]["Principal"]["AWS"]) == sorted([ADMIN, ADMIN.replace("key-admin", "sec")])
        actions = set(admins[0]["Action"])
        assert {"kms:ScheduleKeyDeletion", "kms:Put*", "kms:Disable*"} <= actions
        assert not actions & {"kms:*", "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"}


def test_no_admin_statement_without_admins(dev_context: StackContext) -> None:
    for key in build(dev_context).of_type(KEY):
        assert not with_action(key, "kms:ScheduleKeyDeletion")


@pytest.mark.parametrize(("days", "limit"), [(0, "greater than or equal to 7"), (6, "greater than or equal to 7"),
                                           (31, "less than or equal to 30"), (365, "less than or equal to 30")])
def test_bad_deletion_window_is_rejected_before_anything_is_registered(dev_context: StackContext, days: int,
                                                                       limit: str) -> None:
    caught: list[ValueError] = []

    def program() -> None:
        with pytest.raises(ValueError) as excinfo:
            Kms("kms", KmsArgs(context=dev_context, settings=KmsSettings(deletion_window_days=days)))
        caught.append(excinfo.value)

    run = run_program(program, stack="dev", project="mlops-platform")
    assert "deletion_window_days" in str(caught[0]) and limit in str(caught[0])
    assert [r.type for r in run.registrations] == ["pulumi:pulumi:Stack"]


def test_logs_key_lets_only_the_alert_publishers_use_it_through_sns(dev_context) -> None:
    from mlops_blueprint.components.kms import logs_key_policy

    statements = {s["Sid"]: s for s in logs_key_policy(dev_context)["Statement"]}
    for service in ("cloudwatch", "events", "budgets"):
        grant = statements[f"{service.capitalize()}PublishToEncryptedTopics"]
        assert grant["Principal"] == {"Service": f"{service}.amazonaws.com"}
        assert grant["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
        assert grant["Condition"]["StringEqualsIfExists"] == {"kms:ViaService": "sns.us-east-1.amazonaws.com"}
    assert statements["CloudwatchPublishToEncryptedTopics"]["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"
