"""Small pieces several rule files need: type tokens, value tests, policy JSON, rule constructors,
one-input checks, bucket matching."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

from mlops_blueprint.policies.model import (
    ContextFor,
    Enforcement,
    PolicyContext,
    ResourceCheck,
    ResourceView,
    Rule,
    StackCheck,
    is_unknown,
)

# Type tokens used by more than one rule file (exact pulumi-aws v7 tokens). Which types are stateful
# or taggable comes from mlops_blueprint.resource_types.
S3_BUCKET: Final = "aws:s3/bucket:Bucket"
S3_BUCKET_LOGGING: Final = "aws:s3/bucketLogging:BucketLogging"
KMS_KEY: Final = "aws:kms/key:Key"
RDS_INSTANCE: Final = "aws:rds/instance:Instance"
RDS_CLUSTER: Final = "aws:rds/cluster:Cluster"
ECR_REPOSITORY: Final = "aws:ecr/repository:Repository"
IAM_ROLE: Final = "aws:iam/role:Role"


def short_type(type_token: str) -> str:
    """``aws:s3/bucketVersioning:BucketVersioning`` -> ``BucketVersioning`` (for messages)."""
    return type_token.rsplit(":", 1)[-1]


def show(value: Any) -> str:
    """A value for a message, JSON-spelled as in the plan: ``unset``, ``true``, ``"Disabled"``."""
    return "unset" if value is None else json.dumps(value)


def differs(value: Any, expected: Any) -> bool:
    """True when ``value`` is known and not ``expected`` (missing counts as not expected)."""
    return not is_unknown(value) and value != expected


def is_set(value: Any) -> bool:
    """A non-empty value; an unknown value counts as set (it will be, after the deployment)."""
    return is_unknown(value) or value not in (None, "", [], {})


def as_list(value: Any) -> list[Any]:
    """IAM's "string or list of strings" as a list."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def statements(document: Any) -> list[dict[str, Any]]:
    """The statements of an IAM policy document given as JSON text or a dict.

    Unknown or unparsable documents yield no statements: a rule cannot judge what it cannot read.
    """
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return []
    if not isinstance(document, dict):
        return []
    return [s for s in as_list(document.get("Statement")) if isinstance(s, dict)]


def rule(
    name: str,
    description: str,
    check: ResourceCheck,
    *types: str,
    enforcement: Enforcement = "mandatory",
    config_schema: Mapping[str, Mapping[str, Any]] | None = None,
) -> Rule:
    """A per-resource rule on ``types`` (most rules are mandatory)."""
    return Rule(name=name, description=description, enforcement=enforcement, check=check, resource_types=types,
                config_schema=config_schema)


def stack_rule(name: str, description: str, check: StackCheck, enforcement: Enforcement = "mandatory") -> Rule:
    """A cross-resource rule."""
    return Rule(name=name, description=description, enforcement=enforcement, check_stack=check)


Noun = str | Callable[[ResourceView], str]
"""How a message names the kind of resource: ``"trail"``, or a function of the resource."""


def _subject(noun: Noun, resource: ResourceView) -> str:
    return f"{noun(resource) if callable(noun) else noun} '{resource.name}'"


def requires(
    path: str,
    expected: Any = True,
    *,
    noun: Noun,
    why: str = "",
    unset: Any = None,
    environments: Sequence[str] | None = None,
    quote_value: bool = False,
) -> ResourceCheck:
    """A check: the input at dotted ``path`` equals ``expected`` (an unknown value passes).

    ``unset`` is what AWS assumes when the input is missing (None: nothing secure). With
    ``environments`` the check applies only there and the message says where. The message is
    "<noun> 'x' must set <path>=<expected>[ in <env>][ (<why>)]", or with ``quote_value``
    "<noun> 'x' has <path> <value>; set it to <expected>[ (<why>)]".
    """
    steps = path.split(".")
    reason = f" ({why})" if why else ""

    def check(resource: ResourceView, ctx: PolicyContext) -> list[str]:
        if environments is not None and ctx.environment not in environments:
            return []
        value = resource.prop(*steps)
        if not differs(unset if value is None else value, expected):
            return []
        if quote_value:
            return [f"{_subject(noun, resource)} has {path} {show(value)}; set it to {show(expected)}{reason}"]
        where = f" in {ctx.environment}" if environments is not None else ""
        return [f"{_subject(noun, resource)} must set {path}={show(expected)}{where}{reason}"]

    return check


def requires_set(prop: str, *, noun: Noun, fix: str) -> ResourceCheck:
    """A check: input ``prop`` is set; the message reads "<noun> 'x' has no <prop>; <fix>"."""

    def check(resource: ResourceView, ctx: PolicyContext) -> list[str]:
        return [] if is_set(resource.props.get(prop)) else [f"{_subject(noun, resource)} has no {prop}; {fix}"]

    return check


def find(resources: Iterable[ResourceView], *types: str) -> list[ResourceView]:
    return [r for r in resources if r.type in types]


class BucketIndex:
    """Matches v7's per-setting S3 resources (versioning, encryption, ...) to their buckets.

    A setting belongs to a bucket when its ``bucket`` input is the bucket's physical name or id,
    or, when that value is unknown (preview), when the input depends on exactly that bucket.
    """

    def __init__(self, resources: Sequence[ResourceView]) -> None:
        self.buckets = find(resources, S3_BUCKET)
        self._by_urn = {b.urn: b for b in self.buckets}
        self._by_ref: dict[str, ResourceView] = {}
        for bucket in self.buckets:
            for ref in (bucket.id, bucket.props.get("bucket"), bucket.props.get("id")):
                if isinstance(ref, str) and ref:
                    self._by_ref.setdefault(ref, bucket)
        self._settings: dict[tuple[str, str], list[ResourceView]] = {}
        self._log_targets: set[str] = set()
        for resource in resources:
            if resource.type.startswith("aws:s3/") and resource.type != S3_BUCKET:
                owner = self.resolve(resource, "bucket")
                if owner is not None:
                    self._settings.setdefault((owner.urn, resource.type), []).append(resource)
            if resource.type == S3_BUCKET_LOGGING:
                target = self.resolve(resource, "targetBucket")
                if target is not None:
                    self._log_targets.add(target.urn)

    def resolve(self, resource: ResourceView, key: str) -> ResourceView | None:
        """The bucket that ``resource``'s input ``key`` names, if it is in this stack."""
        value = resource.props.get(key)
        if isinstance(value, str) and value in self._by_ref:
            return self._by_ref[value]
        deps = [self._by_urn[u] for u in resource.property_dependencies.get(key, ()) if u in self._by_urn]
        return deps[0] if len(deps) == 1 else None

    def settings(self, bucket: ResourceView, setting_type: str) -> list[ResourceView]:
        return self._settings.get((bucket.urn, setting_type), [])

    def is_log_target(self, bucket: ResourceView) -> bool:
        """A bucket some BucketLogging in the stack delivers server access logs to."""
        return bucket.urn in self._log_targets

    def is_log_bucket(self, bucket: ResourceView) -> bool:
        """The access-log bucket: a BucketLogging target, or named ``...-logs``."""
        names = (bucket.name, bucket.props.get("bucket"))
        return self.is_log_target(bucket) or any(isinstance(n, str) and n.endswith("-logs") for n in names)


def each_bucket_has(
    setting_type: str,
    requirement: str,
    problems: Callable[[ResourceView], list[str]],
    exempt: Callable[[ResourceView, BucketIndex], bool] | None = None,
    log_target: tuple[str, Callable[[ResourceView], list[str]]] | None = None,
) -> StackCheck:
    """A stack check: every bucket has a ``setting_type`` resource for which ``problems`` is empty.

    The message reads "bucket 'x' has no <Setting> <requirement> (<why>)". ``log_target`` is the
    (requirement, problems) pair that replaces them for server-access-log targets, where S3
    itself imposes something else; ``exempt`` skips buckets altogether.
    """
    label = short_type(setting_type)

    def check(resources: Sequence[ResourceView], ctx_for: ContextFor) -> list[tuple[str, str]]:
        index = BucketIndex(resources)
        findings: list[tuple[str, str]] = []
        for bucket in index.buckets:
            if exempt is not None and exempt(bucket, index):
                continue
            wanted, test = (
                log_target if log_target is not None and index.is_log_target(bucket) else (requirement, problems)
            )
            found = [(s, test(s)) for s in index.settings(bucket, setting_type)]
            if any(not issues for _, issues in found):
                continue
            why = "; ".join(f"{label} '{s.name}' {i}" for s, issues in found for i in issues)
            findings.append(
                (bucket.urn, f"bucket '{bucket.name}' has no {label} {wanted} ({why or 'none found'})")
            )
        return findings

    return check
