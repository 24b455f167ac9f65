"""Every rule of the policy pack, one area per module; ``ALL_RULES`` is sorted by name."""

from __future__ import annotations

from mlops_blueprint.policies.model import Rule
from mlops_blueprint.policies.rules import (
    cloudtrail,
    ecr,
    iam,
    kms,
    kubernetes,
    protection,
    rds,
    s3,
    sagemaker,
    tags,
)

_MODULES = (cloudtrail, ecr, iam, kms, kubernetes, protection, rds, s3, sagemaker, tags)

ALL_RULES: tuple[Rule, ...] = tuple(sorted((r for m in _MODULES for r in m.RULES), key=lambda r: r.name))

_names = [r.name for r in ALL_RULES]
if len(set(_names)) != len(_names):
    raise ValueError(f"duplicate rule names: {sorted(n for n in _names if _names.count(n) > 1)}")

RULES_BY_NAME: dict[str, Rule] = {r.name: r for r in ALL_RULES}

__all__ = ["ALL_RULES", "RULES_BY_NAME"]
