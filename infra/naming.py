"""Physical resource names: one place, within each AWS service's length and charset limits.

Every name starts with ``<project>-<environment>`` so that stacks never collide, and a name that
would exceed its service's limit is cut and suffixed with a short hash of the full name, so two
long names that share a prefix stay distinct and the same input always gives the same name.

Names an account holds once for all regions (IAM roles and managed policies, CloudWatch
dashboards, budgets, multi-region trails) also carry the region, right after the prefix
(``<project>-<environment>-<region>-...``): two stacks of one environment in two regions of one
account would otherwise take the same name, and the second stack's create fails (IAM, budgets) or
silently overwrites the first stack's (``PutDashboard`` is an upsert).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True)
class NameRule:
    """What one AWS service accepts as a name."""

    max_length: int
    invalid_chars: re.Pattern[str]
    lowercase: bool = False
    # One name per account for all regions: the name carries the region (see Naming.name).
    account_global: bool = False


class NameKind(Enum):
    """Kinds of physical names, each with the limits its service enforces."""

    # S3: 3-63 chars, lowercase letters, digits, hyphens (no dots: they break TLS virtual hosting).
    S3_BUCKET = NameRule(63, re.compile(r"[^a-z0-9-]"), lowercase=True)
    # IAM role names: 64 chars of [\w+=,.@-]; IAM is global, so account-wide.
    IAM_ROLE = NameRule(64, re.compile(r"[^A-Za-z0-9+=,.@_-]"), account_global=True)
    # IAM policy names: 128 chars, same charset as roles; account-wide (managed policies; an
    # inline policy's name is per role, where the region is harmless).
    IAM_POLICY = NameRule(128, re.compile(r"[^A-Za-z0-9+=,.@_-]"), account_global=True)
    # CloudTrail: 3-128 chars of letters, digits, periods, underscores, hyphens. A multi-region
    # trail has a shadow of the same name in every region, so its name is account-wide.
    CLOUDTRAIL = NameRule(128, re.compile(r"[^A-Za-z0-9._-]"), account_global=True)
    # CloudWatch dashboards: 255 chars of [A-Za-z0-9_-]; dashboards are global, not regional.
    DASHBOARD = NameRule(255, re.compile(r"[^A-Za-z0-9_-]"), account_global=True)
    # AWS Budgets: 100 chars, unique in the account (no ':' or '\\'; kept to [\w.-] here).
    BUDGET = NameRule(100, re.compile(r"[^A-Za-z0-9._-]"), account_global=True)
    # SageMaker resources (endpoints, models, tracking servers, pipelines): 63 chars [a-zA-Z0-9-].
    SAGEMAKER = NameRule(63, re.compile(r"[^A-Za-z0-9-]"))
    # CloudWatch log groups: 512 chars of [\w./#-].
    LOG_GROUP = NameRule(512, re.compile(r"[^A-Za-z0-9_./#-]"))
    # KMS alias body (after "alias/"): 250 chars of [\w/-].
    KMS_ALIAS = NameRule(250, re.compile(r"[^A-Za-z0-9/_-]"))
    # ECR repositories: 256 chars, lowercase.
    ECR_REPOSITORY = NameRule(256, re.compile(r"[^a-z0-9._/-]"), lowercase=True)
    # RDS identifiers: 63 chars, lowercase letters, digits, hyphens.
    RDS = NameRule(63, re.compile(r"[^a-z0-9-]"), lowercase=True)
    # Anything else that takes a free-form name (security groups, SNS topics, ...).
    GENERIC = NameRule(255, re.compile(r"[^A-Za-z0-9._-]"))


_HASH_LENGTH = 8


def fit(raw: str, kind: NameKind) -> str:
    """Sanitise ``raw`` for ``kind`` and shorten it deterministically when it is too long."""
    rule = kind.value
    name = raw.lower() if rule.lowercase else raw
    name = rule.invalid_chars.sub("-", name)
    name = re.sub(r"-{2,}", "-", name).strip("-")
    if len(name) <= rule.max_length:
        return name
    digest = hashlib.sha256(raw.encode()).hexdigest()[:_HASH_LENGTH]
    head = name[: rule.max_length - _HASH_LENGTH - 1].rstrip("-")
    return f"{head}-{digest}"


@dataclass(frozen=True)
class Naming:
    """Names for one stack: ``<project>-<environment>-<parts...>``.

    ``account_id`` and ``region`` make S3 bucket names globally unique without random suffixes,
    so plans stay deterministic and a bucket's name says whose it is.
    """

    project: str
    environment: str
    account_id: str
    region: str
    # False: account-wide names without the region, as stacks created before regional names have
    # them (renaming their roles would replace every resource created with a role, MLflow included).
    regional_account_names: bool = True

    @property
    def prefix(self) -> str:
        return f"{self.project}-{self.environment}"

    @property
    def global_prefix(self) -> str:
        """``<project>-<environment>-<region>``: how this stack's account-wide names start, for
        ARN patterns such as ``role/<global_prefix>-*`` (``prefix`` alone also matches the same
        environment's stacks in other regions). With ``regional_account_names`` off: ``prefix``."""
        return f"{self.prefix}-{self.region}" if self.regional_account_names else self.prefix

    def name(self, *parts: str, kind: NameKind = NameKind.GENERIC) -> str:
        """A physical name for ``parts`` within ``kind``'s limits; with the region when ``kind``
        is account-wide (cut names keep it: the hash replaces the end, never the prefix)."""
        head = self.global_prefix if kind.value.account_global else self.prefix
        return fit("-".join((head, *parts)), kind)

    def bucket(self, purpose: str) -> str:
        """A globally unique S3 bucket name: the account and region keep it ours."""
        suffix = f"-{self.account_id}-{self.region}"
        head = fit(f"{self.prefix}-{purpose}", NameKind.S3_BUCKET)
        room = NameKind.S3_BUCKET.value.max_length - len(suffix)
        if len(head) > room:
            digest = hashlib.sha256(head.encode()).hexdigest()[:_HASH_LENGTH]
            head = f"{head[: room - _HASH_LENGTH - 1].rstrip('-')}-{digest}"
        return f"{head}{suffix}"

    def role(self, purpose: str) -> str:
        """An IAM role name (account-wide: with the region)."""
        return self.name(purpose, kind=NameKind.IAM_ROLE)

    def managed_policy(self, purpose: str) -> str:
        """An IAM managed policy name (account-wide: with the region)."""
        return self.name(purpose, kind=NameKind.IAM_POLICY)

    def dashboard(self, purpose: str) -> str:
        """A CloudWatch dashboard name (dashboards are global: with the region)."""
        return self.name(purpose, kind=NameKind.DASHBOARD)

    def budget(self, purpose: str) -> str:
        """An AWS Budgets budget name (unique in the account: with the region)."""
        return self.name(purpose, kind=NameKind.BUDGET)

    def kms_alias(self, purpose: str) -> str:
        return "alias/" + self.name(purpose, kind=NameKind.KMS_ALIAS)

    def log_group(self, *parts: str) -> str:
        """Log groups read as paths: ``/<project>/<environment>/<parts>``."""
        return fit("/" + "/".join((self.project, self.environment, *parts)), NameKind.LOG_GROUP)
