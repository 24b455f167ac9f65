"""FeatureStore: feature groups with their offline store in the datasets bucket, encrypted with the
data key, written by a role that may touch only that prefix; bad input refused before anything exists."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlops_blueprint.components.feature_store import FeatureStore, FeatureStoreArgs
from mlops_blueprint.components.feature_store_settings import FeatureStoreSettings
from mlops_blueprint.config import ConfigError, parse_config, raw_stack_config
from mlops_blueprint.context import StackContext
from mlops_blueprint.mock_runtime import MOCK_ACCOUNT_ID, MockRun, run_program
from support.components import run_component
from support.stacks import feature_store, stack_document

GROUP = "aws:sagemaker/featureGroup:FeatureGroup"
ROLE, ROLE_POLICY = "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"
DATA_KEY = f"arn:aws:kms:us-east-1:{MOCK_ACCOUNT_ID}:key/data"


def bucket(env: str = "dev") -> str:
    return f"mlops-platform-{env}-datasets-{MOCK_ACCOUNT_ID}-us-east-1"


def build(ctx: StackContext, settings: dict[str, Any] | None = None, **wiring: Any) -> MockRun:
    """The component with ``settings`` as the stack file gives them (the system variant's groups unless set)."""
    args = FeatureStoreArgs(context=ctx, datasets_bucket_name=bucket(ctx.environment), data_key_arn=DATA_KEY,
                            settings=FeatureStoreSettings.model_validate(settings or feature_store()), **wiring)
    return run_component(ctx, lambda: FeatureStore("feature-store", args),
                         {"names": "feature_group_names", "roleArn": "role_arn", "uri": "offline_store_uri"})


def parse(section: dict[str, Any]) -> Any:
    """The dev stack's config with ``section`` as its featureStore."""
    return parse_config({"environment": "dev", "region": "us-east-1", "owner": "o", "costCenter": "c",
                         "featureStore": section})


def groups(run: MockRun) -> dict[str, dict[str, Any]]:
    return {r.inputs["featureGroupName"]: r.inputs for r in run.of_type(GROUP)}


def role_statements(run: MockRun) -> dict[str, dict[str, Any]]:
    [policy] = run.of_type(ROLE_POLICY)
    return {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}


def test_offline_store_is_in_the_datasets_bucket_under_the_prefix_encrypted_with_the_data_key(dev_context):
    run = build(dev_context)
    found = groups(run)
    assert sorted(found) == ["mlops-platform-dev-customers", "mlops-platform-dev-transactions"]
    for inputs in found.values():
        offline = inputs["offlineStoreConfig"]
        assert offline["s3StorageConfig"] == {"s3Uri": f"s3://{bucket()}/feature-store", "kmsKeyId": DATA_KEY}
        assert offline["disableGlueTableCreation"] is False  # the variant asks for Glue tables
    assert run.outputs["uri"] == f"s3://{bucket()}/feature-store"


def test_online_store_only_where_asked_and_encrypted_with_the_data_key(dev_context):
    found = groups(build(dev_context))
    assert found["mlops-platform-dev-customers"]["onlineStoreConfig"] == {
        "enableOnlineStore": True, "securityConfig": {"kmsKeyId": DATA_KEY}}
    assert "onlineStoreConfig" not in found["mlops-platform-dev-transactions"]


def test_features_record_identifier_and_event_time_as_declared(dev_context):
    customers = groups(build(dev_context))["mlops-platform-dev-customers"]
    assert customers["recordIdentifierFeatureName"] == "customer_id"
    assert customers["eventTimeFeatureName"] == "event_time"
    assert [(f["featureName"], f["featureType"]) for f in customers["featureDefinitions"]] == [
        ("customer_id", "String"), ("event_time", "Fractional"), ("tenure", "Integral"), ("charges", "Fractional")]


def test_role_may_write_only_under_the_prefix_and_use_only_the_data_key(dev_context):
    run = build(dev_context, {**feature_store(), "offlinePrefix": "teams/ml/features"})
    [role] = run.of_type(ROLE)
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "sagemaker.amazonaws.com"}]
    assert trust[0]["Condition"] == {"StringEquals": {"aws:SourceAccount": MOCK_ACCOUNT_ID}}
    assert role.inputs["name"] == "mlops-platform-dev-us-east-1-feature-store"
    statements = role_statements(run)
    store = f"arn:aws:s3:::{bucket()}/teams/ml/features"
    assert statements["WriteOfflineStore"]["Resource"] == [f"{store}/*"]
    assert statements["ReadOfflineStoreManifests"]["Resource"] == [f"{store}/*/metadata/*"]
    assert statements["EncryptWithDataKey"]["Resource"] == [DATA_KEY]
    everything = [a for s in statements.values() for a in s["Action"]]
    resources = [r for s in statements.values() for r in s["Resource"]]
    assert "*" not in resources and not any(a.endswith(":*") for a in everything)
    assert not any(a.startswith(("s3:Delete", "kms:Create", "iam:")) for a in everything)
    assert all(g["roleArn"] == run.outputs["roleArn"] for g in groups(run).values())


def test_no_glue_permissions_and_no_glue_tables_unless_asked(dev_context):
    run = build(dev_context, {**feature_store(), "glueCatalog": False})
    assert "UpdateFeatureStoreTables" not in role_statements(run)
    assert all(g["offlineStoreConfig"]["disableGlueTableCreation"] is True for g in groups(run).values())


def test_glue_permissions_are_feature_store_tables_of_this_region_and_account(dev_context):
    glue = role_statements(build(dev_context))["UpdateFeatureStoreTables"]
    assert glue["Action"] == ["glue:GetTable", "glue:UpdateTable"]
    assert all(r.startswith(f"arn:aws:glue:us-east-1:{MOCK_ACCOUNT_ID}:") for r in glue["Resource"])


def test_groups_are_parented_tagged_protected_and_wait_for_the_role_policy(prod_context):
    run = build(prod_context, protect=True, retain_on_delete=True)
    [component] = run.of_type("mlops:ml:FeatureStore")
    [policy] = run.of_type(ROLE_POLICY)
    for group in run.of_type(GROUP):
        assert group.parent == component.urn
        assert group.protect and group.retain_on_delete
        assert policy.urn in group.dependencies
        assert group.inputs["tags"] == {"component": "feature-store", "Name": group.inputs["featureGroupName"]}
    assert all(r.parent == component.urn for r in run.registrations if r.custom)


def test_group_names_stay_within_create_feature_group_limits(context_for):
    ctx = context_for("staging", region="ap-southeast-2")
    longest = {**feature_store(), "groups": [{**feature_store()["groups"][0], "name": "g" * 40}]}
    [name] = groups(build(ctx, longest))
    assert len(name) <= 64 and name.startswith("mlops-platform-staging-")
    assert name.replace("-", "").isalnum() and not name.endswith("-")


@pytest.mark.parametrize(("change", "key"), [
    ({"eventTime": "tenure"}, "eventTime: feature 'tenure' is Integral"),
    ({"recordIdentifier": "nope"}, "recordIdentifier: 'nope' is not one of the group's features"),
    ({"name": "Customers"}, "name"),
    ({"features": [{"name": "customer_id", "type": "String"}, {"name": "event_time", "type": "String"},
                   {"name": "write_time", "type": "String"}]}, "write_time is reserved"),
    ({"features": [{"name": "customer_id", "type": "Text"}]}, "type"),
])
def test_bad_group_is_refused_naming_the_key(change: dict[str, Any], key: str):
    store = feature_store()
    bad = {**store, "groups": [{**store["groups"][0], **change}]}
    with pytest.raises(ConfigError) as raised:
        parse(bad)
    assert "mlops-platform:featureStore.groups[0]" in str(raised.value) and key in str(raised.value)


def test_repeated_features_and_groups_are_refused_naming_the_key():
    store = feature_store()
    customers = store["groups"][0]
    repeated_feature = {**store, "groups": [{**customers, "features": [*customers["features"], customers["features"][2]]}]}
    with pytest.raises(ConfigError, match=r"featureStore.groups\[0\]: features: tenure declared more than once"):
        parse(repeated_feature)
    with pytest.raises(ConfigError, match=r"featureStore: groups: customers declared more than once"):
        parse({**store, "groups": [customers, customers]})


def test_enabled_without_groups_is_refused_naming_the_key():
    with pytest.raises(ConfigError, match=r"featureStore: groups: enabled, but no feature group is declared"):
        parse({"enabled": True})


def test_bad_args_are_refused_before_anything_registers(dev_context):
    args = FeatureStoreArgs(context=dev_context, datasets_bucket_name=bucket(), data_key_arn="not-a-key",
                            settings=FeatureStoreSettings())
    run = run_program(lambda: FeatureStore("feature-store", args), stack="dev", project="mlops-platform",
                      capture_errors=True)
    assert isinstance(run.error, ValueError)
    assert "invalid FeatureStoreArgs for 'feature-store'" in str(run.error)
    assert "settings.groups: no feature group declared" in str(run.error)
    assert "data_key_arn: 'not-a-key' is not a KMS key ARN" in str(run.error)
    assert [r.type for r in run.registrations] == ["pulumi:pulumi:Stack"]  # the stack, nothing of ours


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_off_by_default_so_the_shipped_stacks_have_no_feature_store(env: str):
    config = parse_config(raw_stack_config(stack_document(env, {})["config"], env))
    assert config.feature_store.enabled is False and config.feature_store.groups == []
