"""Config: per-environment defaults and every kind of bad input, named by key."""

from __future__ import annotations

import pytest

from mlops_blueprint.config import ENVIRONMENT_DEFAULTS, ConfigError, parse_config, raw_stack_config

BASE = {"environment": "dev", "region": "us-east-1", "owner": "ml-platform", "costCenter": "cc-1"}


def problems(values: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(values)
    return caught.value.problems


def test_environment_defaults_differ_as_platform_teams_expect():
    dev = parse_config(BASE)
    prod = parse_config({**BASE, "environment": "prod"})
    assert (dev.protect_stateful, dev.retain_on_delete) == (False, False)
    assert (prod.protect_stateful, prod.retain_on_delete) == (True, True)
    assert dev.network.az_count == 2 and prod.network.az_count == 3
    assert dev.kms.deletion_window_days == 7 and prod.kms.deletion_window_days == 30
    assert dev.network.flow_log_retention_days < prod.network.flow_log_retention_days == 365
    assert dev.artifacts.force_destroy is True and prod.artifacts.force_destroy is False
    assert dev.audit.object_lock is False and prod.audit.object_lock is True


def test_stack_values_override_defaults_deeply():
    config = parse_config({**BASE, "network": {"azCount": 3}})
    assert config.network.az_count == 3
    assert config.network.cidr == ENVIRONMENT_DEFAULTS["dev"]["network"]["cidr"]  # sibling default kept


def test_unknown_key_suggests_the_closest_known_key():
    [message] = problems({**BASE, "netwrok": {}})
    assert message.startswith("mlops-platform:netwrok: unknown key; did you mean 'network'?")


def test_unknown_nested_key_names_its_full_path():
    [message] = problems({**BASE, "network": {"azCuont": 2}})
    assert "mlops-platform:network.azCuont: unknown key; did you mean 'azCount'?" in message


def test_wrong_type_names_key_and_value():
    [message] = problems({**BASE, "network": {"azCount": "three"}})
    assert message.startswith("mlops-platform:network.azCount:")
    assert "'three'" in message and "integer" in message


def test_out_of_range_names_the_bounds():
    [message] = problems({**BASE, "kms": {"deletionWindowDays": 3}})
    assert message.startswith("mlops-platform:kms.deletionWindowDays:")
    assert "greater than or equal to 7" in message


def test_missing_required_key_is_named_with_its_meaning():
    values = dict(BASE)
    del values["owner"]
    [message] = problems(values)
    assert message == "mlops-platform:owner: required but not set (team that owns the stack)"


def test_missing_environment_lists_the_choices():
    [message] = problems({k: v for k, v in BASE.items() if k != "environment"})
    assert "mlops-platform:environment: required" in message and "dev, staging, prod" in message


@pytest.mark.parametrize("cidr, expected", [
    ("10.0.0.0/33", "not a valid IPv4 CIDR"),
    ("10.0.0.1/16", "not a valid IPv4 CIDR"),
    ("8.8.0.0/16", "not a private range"),
    ("10.0.0.0/12", "expected /16 to /24"),
])
def test_invalid_cidr(cidr, expected):
    [message] = problems({**BASE, "network": {"cidr": cidr}})
    assert message.startswith("mlops-platform:network.cidr:") and expected in message


def test_invalid_region_is_reported_under_aws_region():
    [message] = problems({**BASE, "region": "us-middle-9x"})
    assert message.startswith("aws:region: 'us-middle-9x' is not an AWS region")


def test_invalid_arn():
    [message] = problems({**BASE, "iam": {"permissionsBoundaryArn": "arn:aws:iam::12:role/x"}})
    assert message.startswith("mlops-platform:iam.permissionsBoundaryArn:") and "IAM policy ARN" in message


def test_log_retention_must_be_a_cloudwatch_value():
    [message] = problems({**BASE, "audit": {"logRetentionDays": 13}})
    assert message.startswith("mlops-platform:audit.logRetentionDays:") and "14" in message


def test_every_problem_is_reported_at_once():
    found = problems({**BASE, "region": "x", "kms": {"deletionWindowDays": 99}, "owner": ""})
    keys = sorted(p.split(":")[0] + ":" + p.split(":")[1] for p in found)
    assert keys == ["aws:region", "mlops-platform:kms.deletionWindowDays", "mlops-platform:owner"]


def test_bring_your_own_vpc_and_create_are_exclusive():
    existing = {"vpcId": "vpc-0123456789abcdef0", "vpcCidr": "10.1.0.0/16",
                "privateSubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]}
    [message] = problems({**BASE, "network": {"existing": existing}})
    assert "mode is 'create'" in message
    config = parse_config({**BASE, "network": {"mode": "existing", "existing": existing}})
    assert config.network.existing.vpc_id == "vpc-0123456789abcdef0"


def test_prod_refuses_force_destroy_and_unprotected_state():
    [message] = problems({**BASE, "environment": "prod", "artifacts": {"forceDestroy": True}})
    assert "forceDestroy must be false in prod" in message
    [message] = problems({**BASE, "environment": "prod", "protectStateful": False})
    assert "must be true in prod" in message


def test_ci_provider_needs_a_repository():
    [message] = problems({**BASE, "iam": {"ci": {"provider": "github"}}})
    assert "iam.ci.repository is required" in message


def test_raw_stack_config_reads_engine_map():
    raw = raw_stack_config(
        {"mlops-platform:owner": "team", "mlops-platform:network": '{"azCount": 3}', "aws:region": "eu-west-1", "other:key": "x"},
        stack="prod",
    )
    assert raw == {"owner": "team", "network": {"azCount": 3}, "region": "eu-west-1", "environment": "prod"}


def test_lifecycle_days_follow_s3_rules_named_by_key():
    [message] = problems({**BASE, "artifacts": {"noncurrentDaysToIa": 30, "noncurrentDaysToGlacier": 45}})
    assert message.startswith("mlops-platform:artifacts:")
    assert "noncurrentDaysToGlacier (45) must be at least 30 days after noncurrentDaysToIa (30)" in message
