"""Kubernetes workloads: containers run as non-root, read-only, unescalated and bounded, and every
pod meets the ``restricted`` Pod Security Standard, which the platform's namespaces enforce (a pod
that fails it would be admitted by the engine's preview but rejected by the cluster)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlops_blueprint.policies.model import PolicyContext, ResourceCheck, ResourceView, Rule, is_unknown
from mlops_blueprint.policies.rules._helpers import differs, rule, short_type

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


# The restricted Pod Security Standard (kubernetes.io/docs/concepts/security/pod-security-standards).
RESTRICTED_VOLUME_TYPES = frozenset({"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                                     "persistentVolumeClaim", "projected", "secret"})
_SAFE_SYSCTLS = frozenset({"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
                           "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                           "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                           "net.ipv4.tcp_keepalive_probes"})


def _pod_or_container(pod: dict[str, Any], container: dict[str, Any], key: str) -> Any:
    own = _security(container, key)
    return own if own is not None else _security(pod, key)


def restricted_problems(pod: dict[str, Any]) -> list[str]:
    """Where a pod spec (camelCase, as the engine receives it) breaks the restricted Pod Security
    Standard; unknown values pass (they are checked when known)."""
    problems = [f"must not set {key}=true" for key in ("hostNetwork", "hostPID", "hostIPC") if pod.get(key) is True]
    for volume in pod.get("volumes") or []:
        kinds = set(volume) - {"name"} if isinstance(volume, dict) else set()
        if kinds - RESTRICTED_VOLUME_TYPES:
            problems.append(f"volume '{volume.get('name', '?')}' is of type {', '.join(sorted(kinds))}; "
                            f"allowed: {', '.join(sorted(RESTRICTED_VOLUME_TYPES))}")
    sysctls = _security(pod, "sysctls")
    for sysctl in sysctls if isinstance(sysctls, list) else []:
        if isinstance(sysctl, dict) and sysctl.get("name") not in _SAFE_SYSCTLS:
            problems.append(f"sysctl '{sysctl.get('name')}' is not in the safe set")
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for container in pod.get(key) or []:
            if not isinstance(container, dict):
                continue
            where = f"container '{container.get('name', '?')}'"
            problems += [f"{where} {problem}" for problem in _restricted_container(pod, container)]
    return problems


def _restricted_container(pod: dict[str, Any], container: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    if _security(container, "privileged") is True:
        problems.append("must not be privileged")
    if differs(_security(container, "allowPrivilegeEscalation"), False):
        problems.append("must set securityContext.allowPrivilegeEscalation=false")
    if differs(_pod_or_container(pod, container, "runAsNonRoot"), True):
        problems.append("must set securityContext.runAsNonRoot=true (on the container or the pod)")
    if _pod_or_container(pod, container, "runAsUser") == 0:
        problems.append("must not run as uid 0 (runAsUser)")
    seccomp = _pod_or_container(pod, container, "seccompProfile")
    seccomp_type = seccomp.get("type") if isinstance(seccomp, dict) else seccomp
    if not is_unknown(seccomp_type) and seccomp_type not in ("RuntimeDefault", "Localhost"):
        problems.append("must set securityContext.seccompProfile.type to RuntimeDefault or Localhost")
    capabilities = _security(container, "capabilities")
    if not is_unknown(capabilities):
        capabilities = capabilities if isinstance(capabilities, dict) else {}
        dropped, added = capabilities.get("drop") or [], capabilities.get("add") or []
        if not is_unknown(dropped) and "ALL" not in dropped:
            problems.append("must drop ALL capabilities (securityContext.capabilities.drop)")
        if not is_unknown(added) and set(added) - {"NET_BIND_SERVICE"}:
            problems.append(f"may add only NET_BIND_SERVICE, not {', '.join(sorted(set(added) - {'NET_BIND_SERVICE'}))}")
    if any(isinstance(port, dict) and port.get("hostPort") for port in container.get("ports") or []):
        problems.append("must not use hostPort")
    return problems


def _restricted(resource: ResourceView, ctx: PolicyContext) -> list[str]:
    pod = resource.prop(*POD_SPEC_PATHS[resource.type])
    if not isinstance(pod, dict):
        return []
    return [f"{short_type(resource.type)} '{resource.name}' {problem} (restricted Pod Security Standard)"
            for problem in restricted_problems(pod)]


RULES: tuple[Rule, ...] = (
    rule("k8s-run-as-non-root", "Workload containers run as non-root (runAsNonRoot on the container or pod).",
         _each_container(_non_root), *WORKLOAD_TYPES),
    rule("k8s-read-only-root-filesystem", "Workload containers mount their root filesystem read-only.",
         _each_container(_read_only_root), *WORKLOAD_TYPES),
    rule("k8s-no-privilege-escalation",
         "Workload containers set allowPrivilegeEscalation false (Kubernetes defaults to allowing it).",
         _each_container(_no_escalation), *WORKLOAD_TYPES),
    rule("k8s-resource-limits",
         "Workload containers declare cpu and memory limits, so one pod cannot starve a node.",
         _each_container(_limits), *WORKLOAD_TYPES),
    rule("k8s-pod-security-restricted",
         "Workload pods meet the restricted Pod Security Standard that the platform's namespaces enforce.",
         _restricted, *WORKLOAD_TYPES),
)
