"""Config: per-environment defaults and every kind of bad input, named by key."""

from __future__ import annotations

import pytest

from mlops_blueprint.config import ENVIRONMENT_DEFAULTS, ConfigError, account_problems, parse_config, raw_stack_config

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


def test_jenkins_and_pulumi_ci_trust_are_configured_by_their_keys():
    [message] = problems({**BASE, "iam": {"ci": {"provider": "jenkins", "repository": "mlops-blueprint"}}})
    assert message.startswith("mlops-platform:iam.ci:") and "iam.ci.jenkinsUrl is required" in message
    [message] = problems({**BASE, "iam": {"ci": {"provider": "jenkins", "repository": "mlops-blueprint",
                                                 "jenkinsUrl": "ci.example.com"}}})
    assert message.startswith("mlops-platform:iam.ci.jenkinsUrl:")
    ci = parse_config({**BASE, "iam": {"ci": {"provider": "pulumi", "repository": "acme/mlops-platform"}}}).iam.ci
    assert ci.issuer == "api.pulumi.com/oidc"


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


# -- the account: aws:allowedAccountIds, and what only the account can tell ----------------------

ACCOUNT, OTHER = "111122223333", "999988887777"


def test_allowed_account_ids_are_read_from_the_engine_map_and_validated():
    values = raw_stack_config({"aws:allowedAccountIds": f'["{ACCOUNT}"]', "mlops-platform:owner": "o"}, "dev")
    assert values["allowedAccountIds"] == [ACCOUNT]
    assert parse_config({**BASE, "allowedAccountIds": [ACCOUNT]}).allowed_account_ids == [ACCOUNT]
    [problem] = problems({**BASE, "allowedAccountIds": ["1234"]})
    assert problem.startswith("aws:allowedAccountIds: '1234' is not an AWS account id")


def test_account_problems_name_the_key_and_both_accounts():
    config = parse_config({**BASE, "allowedAccountIds": [ACCOUNT],
                           "iam": {"permissionsBoundaryArn": f"arn:aws:iam::{OTHER}:policy/boundary"}})
    [problem] = account_problems(config, ACCOUNT)
    assert problem.startswith("mlops-platform:iam.permissionsBoundaryArn: ")
    assert f"is in account {OTHER}, not the stack's account {ACCOUNT}" in problem
    assert account_problems(config, OTHER) == [
        f"aws:allowedAccountIds: the stack would run in account {OTHER}, which is not one of {ACCOUNT}; use "
        "credentials (or --account-id) of an allowed account, or add it"]


def test_aws_managed_boundaries_are_in_every_account():
    config = parse_config({**BASE, "iam": {"permissionsBoundaryArn": "arn:aws:iam::aws:policy/PowerUserAccess"}})
    assert account_problems(config, ACCOUNT) == []


def test_oidc_providers_must_be_in_the_roles_account():
    provider = f"arn:aws:iam::{OTHER}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"
    config = parse_config({**BASE, "network": EXISTING, "kubernetes": {
        "oidcProviderArn": provider, "nodeSecurityGroupId": "sg-0123456789abcdef0"},
        "tracking": {"backend": "kubernetes", "mlflowVersion": "3.5.1"},
        "iam": {"ci": {"provider": "github", "repository": "o/r",
                       "oidcProviderArn": f"arn:aws:iam::{OTHER}:oidc-provider/token.actions.githubusercontent.com"}}})
    keys = [p.split(": ", 1)[0] for p in account_problems(config, ACCOUNT)]
    assert keys == ["mlops-platform:iam.ci.oidcProviderArn", "mlops-platform:kubernetes.oidcProviderArn"]
    assert account_problems(config, OTHER) == []


# -- what the provider or the network would refuse ------------------------------------------------

EXISTING = {"mode": "existing", "existing": {"vpcId": "vpc-0123456789abcdef0", "vpcCidr": "10.40.0.0/16",
                                             "privateSubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]}}
CLUSTER = {"oidcProviderArn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC",
           "nodeSecurityGroupId": "sg-0123456789abcdef0"}


@pytest.mark.parametrize("timeout", [599, 14401, 28800])
def test_blue_green_timeout_stays_within_what_the_provider_accepts(timeout):
    [problem] = problems({**BASE, "serving": {"deployment": {"maximumExecutionTimeoutSeconds": timeout}}})
    assert problem.startswith("mlops-platform:serving.deployment.maximumExecutionTimeoutSeconds: ")
    assert ("600" if timeout < 600 else "14400") in problem
    assert parse_config({**BASE, "serving": {"deployment": {"maximumExecutionTimeoutSeconds": 14400}}})


def test_an_existing_cluster_cannot_reach_a_vpc_the_stack_creates():
    tracking = {"backend": "kubernetes", "mlflowVersion": "3.5.1"}
    [problem] = problems({**BASE, "kubernetes": CLUSTER, "tracking": tracking})
    assert "network.mode: the kubernetes tracking backend" in problem and "existing" in problem
    assert parse_config({**BASE, "kubernetes": CLUSTER, "tracking": tracking, "network": EXISTING})
    shared = {"mode": "shared", "sharedStack": "acme/net/prod"}
    assert parse_config({**BASE, "kubernetes": CLUSTER, "tracking": tracking, "network": shared})


def test_retraining_must_send_the_parameters_the_pipeline_requires():
    model = {"name": "churn", "image": "inference:1.4.2",
             "modelDataUrl": "s3://mlops-platform-dev-models-123456789012-us-east-1/churn/model.tar.gz"}
    values = {**BASE, "models": [model], "serving": {"dataCapturePercent": 20},
              "monitoring": {"models": {"churn": {"driftFeatures": ["tenure"]}}},
              "retraining": {"enabled": True, "models": {"churn": {"parameters": {"TrainingImageTag": "1.4.2"}}}}}
    [problem] = problems(values)
    assert "retraining.models.churn.parameters: 'InferenceImageTag' has no default and must be sent" in problem
    values["retraining"]["models"]["churn"]["parameters"]["InferenceImageTag"] = "1.4.2"
    assert parse_config(values).retraining.parameters_for("churn") == {"TrainingImageTag": "1.4.2",
                                                                       "InferenceImageTag": "1.4.2"}


def test_rollback_alarms_evaluate_at_most_one_day():
    [problem] = problems({**BASE, "serving": {"deployment": {"alarms": {"periodSeconds": 3600, "evaluationPeriods": 25}}}})
    assert problem.startswith("mlops-platform:serving.deployment.alarms: periodSeconds x evaluationPeriods is 90000 s")
    assert parse_config({**BASE, "serving": {"deployment": {"alarms": {"periodSeconds": 3600, "evaluationPeriods": 24}}}})


def test_retraining_cooldown_fits_one_step_functions_execution():
    [problem] = problems({**BASE, "retraining": {"minPeriodHours": 8760}})
    assert problem.startswith("mlops-platform:retraining.minPeriodHours") and "8759" in problem
