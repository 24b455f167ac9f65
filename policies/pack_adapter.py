"""Adapts the rules to pulumi_policy, for ``pulumi preview --policy-pack policies/``.

Importing this module is side-effect free: it builds policy objects but never a ``PolicyPack``
(whose constructor starts a gRPC server and blocks); ``policies/__main__.py`` does that.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationPolicy,
    StackValidationPolicy,
)
from pulumi_policy.proxy import _DictProxy, _ListProxy

from mlops_blueprint.policies.model import (
    ContextFor,
    ResourceView,
    Rule,
    context_factory,
    normalize,
)
from mlops_blueprint.policies.rules import ALL_RULES
from mlops_blueprint.policies.rules.iam import BOUNDARY_CONFIG_KEY

PACK_NAME = "mlops-platform-guardrails"
FALLBACK_ENVIRONMENT = "prod"
"""Environment of a resource with no ``environment`` tag when the stack name is unknown too: the
strictest, so an untagged resource never slips past a prod-only rule."""

_LEVELS = {"mandatory": EnforcementLevel.MANDATORY, "advisory": EnforcementLevel.ADVISORY}


class _Options(Protocol):
    protect: bool
    parent: str | None


class _Provider(Protocol):
    props: Mapping[str, Any]


class ResourceLike(Protocol):
    """The fields ``ResourceValidationArgs`` and ``PolicyResource`` share, as the adapter reads them."""

    resource_type: str
    props: Mapping[str, Any]
    urn: str
    name: str
    opts: _Options
    provider: _Provider | None


class ResourceArgs(ResourceLike, Protocol):
    """What the adapter reads of ``pulumi_policy.ResourceValidationArgs``."""

    def get_config(self) -> Mapping[str, Any]: ...


class StackResource(ResourceLike, Protocol):
    """What the adapter reads of ``pulumi_policy.PolicyResource``."""

    parent: Any
    dependencies: Sequence[Any]
    property_dependencies: Mapping[str, Sequence[Any]]


class StackArgs(Protocol):
    """What the adapter reads of ``pulumi_policy.StackValidationArgs``."""

    resources: Sequence[StackResource]

    def get_config(self) -> Mapping[str, Any]: ...


def plain(value: Any) -> Any:
    """pulumi_policy's unknown-checking proxies as plain data, unknowns as ``UNKNOWN``.

    Reading a proxy item that is unknown raises; unwrapping first lets a rule skip just the
    unknown value instead of the whole policy failing during preview.
    """

    def unwrap(v: Any) -> Any:
        if isinstance(v, (_DictProxy, _ListProxy)):
            v = v["__target"]
        if isinstance(v, Mapping):
            return {k: unwrap(v[k]) for k in v}
        if isinstance(v, list):
            return [unwrap(x) for x in v]
        return v

    return normalize(unwrap(value))


def default_environment() -> str:
    """The stack name (``org/project/dev`` -> ``dev``) the CLI passes to analyzers, else prod."""
    stack = os.environ.get("PULUMI_STACK", "")
    return stack.rsplit("/", 1)[-1] or FALLBACK_ENVIRONMENT


def view_from_args(args: ResourceLike) -> ResourceView:
    """A view of the resource under validation (the protocol does not report retainOnDelete)."""
    return ResourceView(
        urn=args.urn,
        type=args.resource_type,
        name=args.name,
        props=plain(args.props),
        protect=bool(args.opts.protect),
        retain_on_delete=None,
        parent=args.opts.parent or None,
        provider_props=plain(args.provider.props) if args.provider is not None else {},
    )


def view_from_stack_resource(resource: StackResource) -> ResourceView:
    """A view of one ``PolicyResource`` of a stack validation, with its graph edges as URNs."""
    return replace(
        view_from_args(resource),
        parent=resource.parent.urn if resource.parent is not None else None,
        dependencies=tuple(d.urn for d in resource.dependencies),
        property_dependencies={
            key: tuple(d.urn for d in deps) for key, deps in resource.property_dependencies.items()
        },
    )


@dataclass(frozen=True)
class _Validator:
    """The ``validate`` callbacks of ``rule``'s policy: :meth:`resource` or :meth:`stack`."""

    rule: Rule
    permissions_boundary_arn: str | None

    def _contexts(self, args: ResourceArgs | StackArgs) -> ContextFor:
        """Each resource's context: its ``environment`` tag (else the stack's) and the boundary that
        the pack's config names (else ``permissions_boundary_arn``)."""
        configured = args.get_config().get(BOUNDARY_CONFIG_KEY)
        boundary = configured if isinstance(configured, str) and configured else self.permissions_boundary_arn
        return context_factory(default_environment(), boundary)

    def resource(self, args: ResourceArgs, report_violation: ReportViolation) -> None:
        """Runs ``rule.check`` (ResourceValidationPolicy)."""
        assert self.rule.check is not None
        if self.rule.applies_to(args.resource_type):
            view = view_from_args(args)
            for message in self.rule.check(view, self._contexts(args)(view)):
                report_violation(message, None)

    def stack(self, args: StackArgs, report_violation: ReportViolation) -> None:
        """Runs ``rule.check_stack`` (StackValidationPolicy) over every resource but pulumi's own."""
        assert self.rule.check_stack is not None
        views = [view_from_stack_resource(r) for r in args.resources if not r.resource_type.startswith("pulumi:")]
        for urn, message in self.rule.check_stack(views, self._contexts(args)):
            report_violation(message, urn)


def to_policy(rule: Rule, permissions_boundary_arn: str | None = None) -> Policy:
    """The pulumi_policy policy for ``rule``: same name, description and enforcement."""
    schema = (
        PolicyConfigSchema(properties={k: dict(v) for k, v in rule.config_schema.items()})
        if rule.config_schema
        else None
    )
    common: dict[str, Any] = {
        "name": rule.name,
        "description": rule.description,
        "enforcement_level": _LEVELS[rule.enforcement],
        "config_schema": schema,
    }
    validator = _Validator(rule, permissions_boundary_arn)
    if rule.check_stack is not None:
        return StackValidationPolicy(validate=validator.stack, **common)
    return ResourceValidationPolicy(validate=validator.resource, **common)


def build_policies(
    permissions_boundary_arn: str | None = None, rules: Sequence[Rule] = ALL_RULES
) -> list[Policy]:
    """One pulumi_policy policy per rule, in rule order; safe to call without a running engine."""
    return [to_policy(rule, permissions_boundary_arn) for rule in rules]
