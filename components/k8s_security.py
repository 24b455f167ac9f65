"""The pod and container settings every Kubernetes workload of the platform runs with.

Used by the self-hosted tracking server and by Kubernetes serving, so both get the same
hardening: non-root, read-only root filesystem, no privilege escalation, all capabilities
dropped, the runtime's default seccomp profile, requests and limits, and HTTP probes.

Every namespace the platform creates gets the same two guards from here: the ``restricted`` Pod
Security Standard (enforced, audited and warned; the pod settings above satisfy it), and a
default-deny NetworkPolicy plus one allowance policy naming the ports, clients and egress its
workload needs (:class:`NetworkAllowances`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
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


def cpu_autoscaler(
    name: str,
    *,
    metadata: k8s.meta.v1.ObjectMetaArgs,
    deployment: k8s.apps.v1.Deployment,
    min_replicas: int,
    max_replicas: int,
    target_cpu_percent: int,
    opts: pulumi.ResourceOptions,
) -> k8s.autoscaling.v2.HorizontalPodAutoscaler:
    """An autoscaling/v2 HorizontalPodAutoscaler that owns ``deployment``'s replica count, scaling on
    average CPU utilisation (of the requests) between ``min_replicas`` and ``max_replicas``."""
    v2 = k8s.autoscaling.v2
    return v2.HorizontalPodAutoscaler(
        name,
        metadata=metadata,
        spec=v2.HorizontalPodAutoscalerSpecArgs(
            scale_target_ref=v2.CrossVersionObjectReferenceArgs(api_version="apps/v1", kind="Deployment",
                                                                name=deployment.metadata.name),
            min_replicas=min_replicas,
            max_replicas=max_replicas,
            metrics=[v2.MetricSpecArgs(type="Resource", resource=v2.ResourceMetricSourceArgs(
                name="cpu", target=v2.MetricTargetArgs(type="Utilization", average_utilization=target_cpu_percent)))],
        ),
        opts=opts,
    )


# -- namespaces: the Pod Security Standard and the network allowances every namespace gets --------

POD_SECURITY_LEVEL = "restricted"
POD_SECURITY_VERSION = "latest"
DNS_PORT, HTTPS_PORT = 53, 443


def pod_security_labels(level: str = POD_SECURITY_LEVEL, version: str = POD_SECURITY_VERSION) -> dict[str, str]:
    """Pod Security Admission labels: enforce ``level``, and audit and warn at the same level so a
    rejected pod also shows up in the audit log and in ``kubectl``'s output."""
    labels: dict[str, str] = {}
    for mode in ("enforce", "audit", "warn"):
        labels[f"pod-security.kubernetes.io/{mode}"] = level
        labels[f"pod-security.kubernetes.io/{mode}-version"] = version
    return labels


@dataclass(frozen=True)
class NetworkAllowances:
    """What a namespace's workload pods may send and receive; everything else is denied.

    Ingress: ``ports`` from pods of the same namespace and from pods labelled ``client_label: "true"``
    in any namespace. Egress: DNS to kube-system, ``tcp_egress`` as (CIDR, port) pairs, and HTTPS
    anywhere when ``https_egress`` (AWS APIs: STS for IRSA, S3, Secrets Manager; the VPC's interface
    endpoints and gateway endpoints resolve to addresses a fixed CIDR cannot list).
    """

    ports: tuple[int, ...]
    client_label: str
    tcp_egress: tuple[tuple[pulumi.Input[str], int], ...] = ()
    https_egress: bool = True


def network_policies(
    name: str,
    *,
    namespace: pulumi.Input[str],
    metadata: k8s.meta.v1.ObjectMetaArgs,
    pod_labels: dict[str, str],
    allow: NetworkAllowances,
    opts: pulumi.ResourceOptions,
) -> tuple[k8s.networking.v1.NetworkPolicy, k8s.networking.v1.NetworkPolicy]:
    """Two NetworkPolicies in ``namespace``: ``<name>-default-deny`` selects every pod and allows
    nothing (policies are additive, so anything else deployed here starts isolated), and
    ``<name>-network-policy`` opens ``allow`` for the pods with ``pod_labels``. ``metadata`` names
    the allowance policy; the deny policy takes its labels and annotations."""
    net, selector = k8s.networking.v1, k8s.meta.v1.LabelSelectorArgs
    tcp = lambda port: net.NetworkPolicyPortArgs(port=port, protocol="TCP")  # noqa: E731
    deny = net.NetworkPolicy(
        f"{name}-default-deny",
        metadata=k8s.meta.v1.ObjectMetaArgs(name="default-deny", namespace=namespace, labels=metadata.labels,
                                            annotations=metadata.annotations),
        spec=net.NetworkPolicySpecArgs(pod_selector=selector(), policy_types=["Ingress", "Egress"]),
        opts=opts,
    )
    egress = [net.NetworkPolicyEgressRuleArgs(
        to=[net.NetworkPolicyPeerArgs(namespace_selector=selector(
            match_labels={"kubernetes.io/metadata.name": "kube-system"}))],
        ports=[net.NetworkPolicyPortArgs(port=DNS_PORT, protocol="UDP"), tcp(DNS_PORT)],
    )]
    egress += [net.NetworkPolicyEgressRuleArgs(to=[net.NetworkPolicyPeerArgs(ip_block=net.IPBlockArgs(cidr=cidr))],
                                               ports=[tcp(port)]) for cidr, port in allow.tcp_egress]
    if allow.https_egress:
        egress.append(net.NetworkPolicyEgressRuleArgs(
            to=[net.NetworkPolicyPeerArgs(ip_block=net.IPBlockArgs(cidr="0.0.0.0/0"))], ports=[tcp(HTTPS_PORT)]))
    allowance = net.NetworkPolicy(
        f"{name}-network-policy",
        metadata=metadata,
        spec=net.NetworkPolicySpecArgs(
            pod_selector=selector(match_labels=pod_labels),
            policy_types=["Ingress", "Egress"],
            ingress=[net.NetworkPolicyIngressRuleArgs(
                from_=[
                    net.NetworkPolicyPeerArgs(pod_selector=selector()),  # same namespace
                    net.NetworkPolicyPeerArgs(namespace_selector=selector(),
                                              pod_selector=selector(match_labels={allow.client_label: "true"})),
                ],
                ports=[tcp(port) for port in allow.ports],
            )],
            egress=egress,
        ),
        opts=opts,
    )
    return deny, allowance
