"""The pod and container settings every Kubernetes workload of the platform runs with.

Used by the self-hosted tracking server and by Kubernetes serving, so both get the same
hardening: non-root, read-only root filesystem, no privilege escalation, all capabilities
dropped, the runtime's default seccomp profile, requests and limits, and HTTP probes.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi_kubernetes as k8s

# A fixed, unprivileged uid/gid (images that declare USER root still run as this).
RUN_AS_USER = 10001


def pod_security_context() -> k8s.core.v1.PodSecurityContextArgs:
    return k8s.core.v1.PodSecurityContextArgs(
        run_as_non_root=True,
        run_as_user=RUN_AS_USER,
        run_as_group=RUN_AS_USER,
        fs_group=RUN_AS_USER,
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
    )


def container_security_context() -> k8s.core.v1.SecurityContextArgs:
    return k8s.core.v1.SecurityContextArgs(
        run_as_non_root=True,
        read_only_root_filesystem=True,
        allow_privilege_escalation=False,
        privileged=False,
        capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
    )


@dataclass(frozen=True)
class ResourceSizes:
    """Requests and limits of one container (Kubernetes quantities, e.g. "500m", "1Gi")."""

    cpu_request: str = "250m"
    memory_request: str = "512Mi"
    cpu_limit: str = "1"
    memory_limit: str = "1Gi"

    def requirements(self) -> k8s.core.v1.ResourceRequirementsArgs:
        return k8s.core.v1.ResourceRequirementsArgs(
            requests={"cpu": self.cpu_request, "memory": self.memory_request},
            limits={"cpu": self.cpu_limit, "memory": self.memory_limit},
        )


def http_probe(path: str, port: int, *, initial_delay_seconds: int = 10, period_seconds: int = 10) -> k8s.core.v1.ProbeArgs:
    return k8s.core.v1.ProbeArgs(
        http_get=k8s.core.v1.HTTPGetActionArgs(path=path, port=port),
        initial_delay_seconds=initial_delay_seconds,
        period_seconds=period_seconds,
        timeout_seconds=5,
        failure_threshold=3,
    )


def scratch_volume(name: str = "tmp") -> tuple[k8s.core.v1.VolumeArgs, k8s.core.v1.VolumeMountArgs]:
    """A writable emptyDir at /tmp: the root filesystem is read-only, most servers still need /tmp."""
    return (
        k8s.core.v1.VolumeArgs(name=name, empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="1Gi")),
        k8s.core.v1.VolumeMountArgs(name=name, mount_path="/tmp"),
    )
