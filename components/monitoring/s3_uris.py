"""S3 URIs as the monitoring role's policy scopes them (validated by the shared config check)."""

from __future__ import annotations

from mlops_blueprint.context import StackContext
from mlops_blueprint.validation import s3_location_problem


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/a/b/`` -> ``("bucket", "a/b")``; a bare ``s3://bucket`` has the key ``""``."""
    if s3_location_problem(uri) is not None:
        raise ValueError(f"{uri!r} is not an S3 URI")
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key.strip("/")


def s3_prefix_arn(ctx: StackContext, uri: str) -> tuple[str, str, str]:
    """``(bucket arn, object arn pattern, list prefix)`` for everything under ``uri``."""
    bucket, key = split_s3_uri(uri)
    bucket_arn = ctx.arn("s3", bucket, regional=False, account=False)
    prefix = f"{key}/" if key else ""
    return bucket_arn, f"{bucket_arn}/{prefix}*", f"{prefix}*"
