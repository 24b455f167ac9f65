"""What a valid AWS id, ARN, S3 URI and Kubernetes name is, and how a component reports bad args.

One definition each, shared by the config sections (through ``config_base.checked``) and the
components' argument checks. ``*_problem`` functions return one problem line, or None when the
value is valid; :func:`raise_invalid_args` turns a component's problem lines into its error.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# -- AWS ids and ARNs -------------------------------------------------------------------------------

ACCOUNT_ID = re.compile(r"\d{12}")
# EC2 ids, anchored so they serve pydantic's ``pattern=`` and ``re.fullmatch`` alike.
VPC_ID = r"^vpc-[0-9a-f]{8,17}$"
SUBNET_ID = r"^subnet-[0-9a-f]{8,17}$"
SECURITY_GROUP_ID = r"^sg-[0-9a-f]{8,17}$"
REGION = re.compile(
    r"^(us|eu|ap|sa|ca|me|af|il|mx|cn|us-gov)-(north|south|east|west|central|northeast|northwest|southeast|southwest)-\d$"
)
# The account an ARN is in (IAM ARNs have no region): arn:<partition>:<service>:<region>:<account>:...
ARN_ACCOUNT = re.compile(r"^arn:[\w-]+:[\w-]+:[\w-]*:(?P<account>\d{12}|aws):")
IAM_POLICY_ARN = re.compile(r"^arn:aws(-cn|-us-gov)?:iam::(\d{12}|aws):policy/[\w+=,.@/-]+$")
TRAIL_ARN = re.compile(r"^arn:aws(-cn|-us-gov)?:cloudtrail:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:trail/[\w.-]{3,128}$")
OIDC_PROVIDER_ARN = re.compile(r"^arn:aws(-cn|-us-gov)?:iam::\d{12}:oidc-provider/(?P<issuer>[\w.:/-]+)$")


def _not_matching(pattern: re.Pattern[str], value: object, what: str) -> str | None:
    """``'<value>' is not <what>`` unless ``pattern`` matches all of ``value``."""
    return None if isinstance(value, str) and pattern.fullmatch(value) else f"{value!r} is not {what}"


def iam_policy_arn_problem(value: str) -> str | None:
    return _not_matching(IAM_POLICY_ARN, value, "an IAM policy ARN (arn:aws:iam::123456789012:policy/name)")


def trail_arn_problem(value: str) -> str | None:
    return _not_matching(TRAIL_ARN, value,
                         "a CloudTrail trail ARN; expected arn:aws:cloudtrail:<region>:<account>:trail/<name>")


def oidc_provider_arn_problem(value: str) -> str | None:
    return _not_matching(OIDC_PROVIDER_ARN, value,
                         "an IAM OIDC provider ARN (arn:aws:iam::123456789012:oidc-provider/...)")


def arn_account(arn: str) -> str | None:
    """The account of an ARN (``aws`` for AWS-managed policies), None when it names none."""
    match = ARN_ACCOUNT.match(arn)
    return match.group("account") if match else None


# -- S3 URIs ----------------------------------------------------------------------------------------

# s3://<bucket>[/<key>]: an object URI needs a key; a location (bucket or prefix) does not.
S3_URI = re.compile(r"s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(/(?P<key>\S*))?")


def s3_object_uri_problem(value: str) -> str | None:
    """``value`` must name one object: ``s3://<bucket>/<key>``."""
    match = S3_URI.fullmatch(value) if isinstance(value, str) else None
    if not match or not match.group("key"):
        return f"{value!r} is not an S3 object URI; expected s3://<bucket>/<key>, e.g. s3://models/churn/model.tar.gz"
    return None


def s3_location_problem(value: str) -> str | None:
    """``value`` must name a bucket or a prefix in it: ``s3://<bucket>[/<prefix>]``."""
    return _not_matching(S3_URI, value, "an S3 URI; expected s3://<bucket>/<prefix>")


# A key prefix inside a bucket: lowercase path segments, no leading or trailing '/'.
_S3_PREFIX_SEGMENT = r"[a-z0-9]([a-z0-9._-]*[a-z0-9])?"
S3_KEY_PREFIX = re.compile(rf"{_S3_PREFIX_SEGMENT}(/{_S3_PREFIX_SEGMENT})*")
S3_KEY_PREFIX_MAX_LENGTH = 200


def s3_key_prefix_problem(value: object, *, example: str) -> str | None:
    """``value`` must be a key prefix (``mlflow``, ``teams/ml/mlflow``); ``example`` ends the message."""
    if isinstance(value, str) and S3_KEY_PREFIX.fullmatch(value) and len(value) <= S3_KEY_PREFIX_MAX_LENGTH:
        return None
    return (f"{value!r} is not an S3 key prefix; expected lowercase path segments of letters, digits, "
            f"'.', '_', '-' separated by '/', without leading or trailing '/', e.g. {example}")


def s3_bucket_of(uri: object) -> str | None:
    """The bucket of an ``s3://<bucket>/<key>`` object URI; None if ``uri`` is not one."""
    if not isinstance(uri, str) or s3_object_uri_problem(uri):
        return None
    return S3_URI.fullmatch(uri).group("bucket")  # type: ignore[union-attr]


# -- Kubernetes -------------------------------------------------------------------------------------

# An RFC 1123 label: namespace, service account and other object names (at most 63 characters).
K8S_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
K8S_NAME_MAX_LENGTH = 63


# -- reporting --------------------------------------------------------------------------------------


def invalid_args_error(args_type: str, problems: Sequence[str], *, subject: str | None = None) -> ValueError:
    """``invalid <args_type>[ for <subject>]:`` then one ``  - <problem>`` line per problem."""
    where = f" for {subject}" if subject else ""
    return ValueError(f"invalid {args_type}{where}:\n" + "\n".join(f"  - {p}" for p in problems))


def raise_invalid_args(args_type: str, problems: Sequence[str], *, subject: str | None = None) -> None:
    """Raise a component's args error listing ``problems``; do nothing when there are none."""
    if problems:
        raise invalid_args_error(args_type, problems, subject=subject)
