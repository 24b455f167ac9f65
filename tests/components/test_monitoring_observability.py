"""Observability (optional AMP + Managed Grafana): off by default, encrypted and scoped when on."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlops_blueprint.components.observability import Observability, ObservabilityArgs, remote_write_url
from mlops_blueprint.components.observability_settings import ObservabilitySettings
from mlops_blueprint.context import StackContext
from mlops_blueprint.mock_runtime import MOCK_ACCOUNT_ID, MockRun
from mlops_blueprint.monitoring_config import OBSERVABILITY_DEFAULTS
from support.components import run_component

ACCOUNT = MOCK_ACCOUNT_ID
AMP = "aws:amp/workspace:Workspace"
GRAFANA = "aws:grafana/workspace:Workspace"
KEY = "aws:kms/key:Key"


def build(ctx: StackContext, settings: dict[str, Any], **kwargs: Any) -> MockRun:
    """The component with ``settings`` as the stack file gives them (camelCase keys) and the wiring ``kwargs``."""
    args = ObservabilityArgs(context=ctx, settings=ObservabilitySettings.model_validate(settings), **kwargs)
    return run_component(ctx, lambda: Observability("observability", args), {
        "remoteWriteUrl": "remote_write_url", "remoteWritePolicyArn": "remote_write_policy_arn",
        "workspaceId": "prometheus_workspace_id"})


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_off_by_default_in_every_environment(context_for: Any, env: str) -> None:
    run = build(context_for(env), OBSERVABILITY_DEFAULTS[env])
    assert [r.type for r in run.registrations if r.custom] == []


def test_prometheus_workspace_is_encrypted_with_a_rotated_key_of_its_own(dev_context: StackContext) -> None:
    run = build(dev_context, {"prometheus": True})
    [workspace] = run.of_type(AMP)
    [key] = run.of_type(KEY)
    assert workspace.inputs["kmsKeyArn"] == key.outputs["arn"]
    assert key.inputs["enableKeyRotation"] is True
    statements = json.loads(key.inputs["policy"])["Statement"]
    [use] = [s for s in statements if s["Sid"] == "UseViaPrometheusAndGrafana"]
    assert use["Condition"]["StringEquals"]["kms:ViaService"] == ["aps.us-east-1.amazonaws.com",
                                                                 "grafana.us-east-1.amazonaws.com"]
    assert use["Condition"]["StringEquals"]["kms:CallerAccount"] == ACCOUNT


def test_kubernetes_side_gets_a_remote_write_url_and_a_policy_for_this_workspace_only(dev_context: StackContext) -> None:
    run = build(dev_context, {"prometheus": True})
    [workspace] = run.of_type(AMP)
    assert run.outputs["remoteWriteUrl"] == remote_write_url("us-east-1", workspace.id) \
        == f"https://aps-workspaces.us-east-1.amazonaws.com/workspaces/{workspace.id}/api/v1/remote_write"
    [policy] = run.of_type("aws:iam/policy:Policy")
    assert run.outputs["remoteWritePolicyArn"] == policy.outputs["arn"]
    [statement] = json.loads(policy.inputs["policy"])["Statement"]
    assert statement["Action"] == ["aps:RemoteWrite"] and statement["Resource"] == [workspace.outputs["arn"]]


def test_grafana_authenticates_users_and_reads_through_a_scoped_role(dev_context: StackContext) -> None:
    run = build(dev_context, {"prometheus": True, "grafana": True, "grafanaAuthentication": "SAML"})
    [grafana] = run.of_type(GRAFANA)
    [workspace] = run.of_type(AMP)
    inputs = grafana.inputs
    assert inputs["authenticationProviders"] == ["SAML"]
    assert (inputs["accountAccessType"], inputs["permissionType"]) == ("CURRENT_ACCOUNT", "CUSTOMER_MANAGED")
    assert sorted(inputs["dataSources"]) == ["CLOUDWATCH", "PROMETHEUS"]
    assert inputs["kmsKeyId"] == run.of_type(KEY)[0].outputs["arn"]
    role = run.named("aws:iam/role:Role", "observability-grafana")
    assert inputs["roleArn"] == role.outputs["arn"]
    [trust] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "grafana.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    policy = json.loads(run.named("aws:iam/rolePolicy:RolePolicy", "observability-grafana").inputs["policy"])
    [query] = [s for s in policy["Statement"] if s["Sid"] == "QueryPrometheus"]
    assert query["Resource"] == [workspace.outputs["arn"]]
    assert not any(a.startswith("aps:RemoteWrite") for s in policy["Statement"] for a in s["Action"])


def test_stateful_parts_are_protected_when_asked(prod_context: StackContext) -> None:
    run = build(prod_context, {"prometheus": True}, protect=True, retain_on_delete=True)
    for registration in run.of_type(AMP) + run.of_type(KEY):
        assert (registration.protect, registration.retain_on_delete) == (True, True)


def test_a_given_key_is_used_instead_of_creating_one(dev_context: StackContext) -> None:
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/shared"
    run = build(dev_context, {"prometheus": True}, kms_key_arn=key)
    assert run.of_type(KEY) == []
    assert run.of_type(AMP)[0].inputs["kmsKeyArn"] == key


def test_unknown_authentication_is_rejected_when_the_settings_are_built() -> None:
    with pytest.raises(ValueError, match=r"grafanaAuthentication\n  Input should be 'AWS_SSO' or 'SAML'"):
        ObservabilitySettings.model_validate({"grafana": True, "grafanaAuthentication": "LDAP"})


def test_a_key_deletion_window_aws_refuses_is_rejected_before_anything_is_registered(dev_context: StackContext) -> None:
    args = ObservabilityArgs(context=dev_context, settings=ObservabilitySettings(prometheus=True),
                             key_deletion_window_days=45)
    with pytest.raises(ValueError, match="key_deletion_window_days: 45 is outside 7..30"):
        Observability("observability", args)
