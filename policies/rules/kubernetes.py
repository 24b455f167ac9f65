"""Kubernetes workloads: containers run as non-root, read-only, unescalated and bounded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlops_blueprint.policies.model import PolicyContext, ResourceCheck, ResourceView, Rule, is_unknown
from mlops_blueprint.policies.rules._helpers import differs, short_type

# Where each workload kind keeps its pod spec.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "kubernetes:core/v1:Pod": ("spec",),
}
WORKLOAD_TYPES = tuple(POD_SPEC_PATHS)
REQUIRED_LIMITS = ("cpu", "memory")

# A container test: (pod spec, container) -> what is wrong, or None.
ContainerTest = Callable[[dict[str, Any], dict[str, Any]], str | None]


def _containers(resource: ResourceView) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(pod spec, container) for every container and init container of the workload."""
    pod = resource.prop(*POD_SPEC_PATHS[resource.type])
    if not isinstance(pod, dict):
        return []
    return [
        (pod, c)
        for key in ("initContainers", "containers")
        for c in (pod.get(key) if isinstance(pod.get(key), list) else [])
        if isinstance(c, dict)
    ]


def _security(obj: dict[str, Any], key: str) -> Any:
    context = obj.get("securityContext")
    return context.get(key) if isinstance(context, dict) else None


def _each_container(test: ContainerTest) -> ResourceCheck:
    def check(resource: ResourceView, ctx: PolicyContext) -> list[str]:
        workload = f"{short_type(resource.type)} '{resource.name}'"
        return [
            f"{workload} container '{container.get('name', '?')}' {problem}"
            for pod, container in _containers(resource)
            if (problem := test(pod, container)) is not None
        ]

    return check


def _non_root(pod: dict[str, Any], container: dict[str, Any]) -> str | None:
    own, inherited = _security(container, "runAsNonRoot"), _security(pod, "runAsNonRoot")
    if own is True or is_unknown(own) or (own is None and (inherited is True or is_unknown(inherited))):
        return None
    return "must set securityContext.runAsNonRoot=true (on the container or the pod)"


def _read_only_root(pod: dict[str, Any], container: dict[str, Any]) -> str | None:
    if differs(_security(container, "readOnlyRootFilesystem"), True):
        return "must set securityContext.readOnlyRootFilesystem=true"
    return None


def _no_escalation(pod: dict[str, Any], container: dict[str, Any]) -> str | None:
    if differs(_security(container, "allowPrivilegeEscalation"), False):
        return "must set securityContext.allowPrivilegeEscalation=false"
    return None


def _limits(pod: dict[str, Any], container: dict[str, Any]) -> str | None:
    resources = container.get("resources")
    limits = resources.get("limits") if isinstance(resources, dict) else None
    if is_unknown(limits) or is_unknown(resources):
        return None
    missing = [k for k in REQUIRED_LIMITS if not isinstance(limits, dict) or limits.get(k) in (None, "")]
    return f"must set resources.limits.{' and '.join(missing)}" if missing else None


RULES: tuple[Rule, ...] = (
    Rule(
        name="k8s-run-as-non-root",
        description="Workload containers run as non-root (runAsNonRoot on the container or pod).",
        enforcement="mandatory",
        check=_each_container(_non_root),
        resource_types=WORKLOAD_TYPES,
    ),
    Rule(
        name="k8s-read-only-root-filesystem",
        description="Workload containers mount their root filesystem read-only.",
        enforcement="mandatory",
        check=_each_container(_read_only_root),
        resource_types=WORKLOAD_TYPES,
    ),
    Rule(
        name="k8s-no-privilege-escalation",
        description="Workload containers set allowPrivilegeEscalation false (Kubernetes defaults to allowing it).",
        enforcement="mandatory",
        check=_each_container(_no_escalation),
        resource_types=WORKLOAD_TYPES,
    ),
    Rule(
        name="k8s-resource-limits",
        description="Workload containers declare cpu and memory limits, so one pod cannot starve a node.",
        enforcement="mandatory",
        check=_each_container(_limits),
        resource_types=WORKLOAD_TYPES,
    ),
)
