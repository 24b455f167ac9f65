"""An S3 bucket's lifecycle: what the days mean, what S3 accepts, and the rules they become.

Pure values (no resources), so that :class:`~.s3_bucket.SecureBucket` and the settings of the
components that own buckets (:mod:`.artifact_store_settings`) check a lifecycle one way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# S3 rejects noncurrent transitions to STANDARD_IA before 30 days, and objects must stay in
# STANDARD_IA for 30 days before a lifecycle rule may move them on to GLACIER.
MIN_DAYS_TO_IA = 30
MIN_DAYS_IN_IA = 30


@dataclass(frozen=True)
class Lifecycle:
    """Lifecycle days for one bucket (validated by :func:`lifecycle_problems`)."""

    noncurrent_days_to_ia: int = 30
    noncurrent_days_to_glacier: int = 90
    noncurrent_expiration_days: int = 365
    abort_incomplete_upload_days: int = 7
    # Logs only: current objects expire after this many days (None keeps them).
    current_expiration_days: int | None = None


def lifecycle_problems(lifecycle: Lifecycle, *, names: dict[str, str] | None = None) -> list[str]:
    """Why S3 would reject (or we would regret) ``lifecycle``; ``names`` maps field -> arg name."""
    n = {field: field for field in Lifecycle.__dataclass_fields__} | dict(names or {})
    ia, glacier, expire = (lifecycle.noncurrent_days_to_ia, lifecycle.noncurrent_days_to_glacier,
                           lifecycle.noncurrent_expiration_days)
    problems: list[str] = []
    if ia < MIN_DAYS_TO_IA:
        problems.append(f"{n['noncurrent_days_to_ia']} is {ia}; S3 needs >= {MIN_DAYS_TO_IA} days before STANDARD_IA")
    if not ia < glacier < expire:
        problems.append(
            f"lifecycle days must increase: {n['noncurrent_days_to_ia']} < {n['noncurrent_days_to_glacier']} < "
            f"{n['noncurrent_expiration_days']} (got {ia}, {glacier}, {expire})"
        )
    elif glacier - ia < MIN_DAYS_IN_IA:
        problems.append(
            f"{n['noncurrent_days_to_glacier']} ({glacier}) must be at least {MIN_DAYS_IN_IA} days after "
            f"{n['noncurrent_days_to_ia']} ({ia}): S3 keeps objects in STANDARD_IA for {MIN_DAYS_IN_IA} days"
        )
    if lifecycle.abort_incomplete_upload_days < 1:
        problems.append(f"{n['abort_incomplete_upload_days']} must be >= 1 (got {lifecycle.abort_incomplete_upload_days})")
    if lifecycle.current_expiration_days is not None and lifecycle.current_expiration_days < 1:
        problems.append(f"{n['current_expiration_days']} must be >= 1 (got {lifecycle.current_expiration_days})")
    return problems


def lifecycle_rules(lifecycle: Lifecycle) -> list[dict[str, Any]]:
    """Rules for the whole bucket (empty-prefix filter: v7 warns when a rule has no filter)."""
    whole_bucket = {"prefix": ""}
    rules: list[dict[str, Any]] = [
        {
            "id": "abort-incomplete-multipart-uploads",
            "status": "Enabled",
            "filter": whole_bucket,
            "abort_incomplete_multipart_upload": {"days_after_initiation": lifecycle.abort_incomplete_upload_days},
        },
        {
            "id": "noncurrent-versions",
            "status": "Enabled",
            "filter": whole_bucket,
            "noncurrent_version_transitions": [
                {"noncurrent_days": lifecycle.noncurrent_days_to_ia, "storage_class": "STANDARD_IA"},
                {"noncurrent_days": lifecycle.noncurrent_days_to_glacier, "storage_class": "GLACIER"},
            ],
            "noncurrent_version_expiration": {"noncurrent_days": lifecycle.noncurrent_expiration_days},
        },
    ]
    if lifecycle.current_expiration_days is not None:
        rules.append({
            "id": "expire-current-objects",
            "status": "Enabled",
            "filter": whole_bucket,
            "expiration": {"days": lifecycle.current_expiration_days},
        })
    return rules
