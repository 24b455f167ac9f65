"""The shared value checks (mlops_blueprint.validation) and the one args-error format."""

from __future__ import annotations

import pytest

from mlops_blueprint import monitoring_config
from mlops_blueprint.validation import (
    arn_account, iam_policy_arn_problem, invalid_args_error, oidc_provider_arn_problem, raise_invalid_args,
    s3_bucket_of, s3_location_problem, s3_object_uri_problem, trail_arn_problem,
)


@pytest.mark.parametrize(("uri", "is_object", "is_location"), [
    ("s3://models/churn/model.tar.gz", True, True),
    ("s3://models/prefix/", True, True),
    ("s3://models", False, True),             # a bucket is a location, not an object
    ("s3://models/", False, True),
    ("s3://models/with space", False, False),
    ("s3://Models/key", False, False),        # bucket names are lowercase
    ("s3://ab/key", False, False),            # at least 3 characters
    ("https://models/key", False, False),
    (None, False, False),
])
def test_object_uris_need_a_key_and_locations_do_not(uri: object, is_object: bool, is_location: bool) -> None:
    assert (s3_object_uri_problem(uri) is None) is is_object  # type: ignore[arg-type]
    assert (s3_location_problem(uri) is None) is is_location  # type: ignore[arg-type]
    assert s3_bucket_of(uri) == ("models" if is_object else None)


def test_the_monitoring_config_keeps_its_old_name_with_its_old_meaning() -> None:
    # monitoring's baseline/ground truth are prefixes (a model's modelDataUrl is an object).
    assert monitoring_config.s3_uri_problem is s3_location_problem


def test_args_errors_list_every_problem_under_the_args_type() -> None:
    error = invalid_args_error("NetworkArgs", ["az_count: 1 is below 2", "cidr: not private"])
    assert str(error) == "invalid NetworkArgs:\n  - az_count: 1 is below 2\n  - cidr: not private"
    with pytest.raises(ValueError, match=r"^invalid SecureBucketArgs for 'logs':\n  - force_destroy and protect$"):
        raise_invalid_args("SecureBucketArgs", ["force_destroy and protect"], subject=repr("logs"))
    raise_invalid_args("NetworkArgs", [])  # no problems: no error


@pytest.mark.parametrize(("check", "good", "bad"), [
    (iam_policy_arn_problem, "arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::123456789012:role/x"),
    (trail_arn_problem, "arn:aws:cloudtrail:eu-west-1:123456789012:trail/org-trail",
     "arn:aws:cloudtrail:eu-west-1:123456789012:trail/x"),
    (oidc_provider_arn_problem, "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com",
     "arn:aws:iam::aws:oidc-provider/x"),
])
def test_arn_checks(check, good: str, bad: str) -> None:
    assert check(good) is None
    assert bad in check(bad)


def test_arn_account() -> None:
    assert arn_account("arn:aws:iam::123456789012:role/x") == "123456789012"
    assert arn_account("arn:aws:iam::aws:policy/ReadOnlyAccess") == "aws"
    assert arn_account("not-an-arn") is None
