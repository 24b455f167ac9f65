"""The shared Kubernetes hardening, as the engine receives it (camelCase) and as the policy pack reads it."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import pytest

from mlops_blueprint.components.k8s_security import (
    NetworkAllowances, ResourceSizes, container_security_context, http_probe, network_policies, pod_security_context,
    pod_security_labels, scratch_volume,
)
from mlops_blueprint.mock_runtime import run_program
from mlops_blueprint.policies.engine import evaluate_plan
from mlops_blueprint.policies.rules.kubernetes import restricted_problems
from mlops_blueprint.plan import build_plan


def _deployment() -> None:
    volume, mount = scratch_volume()
    k8s.apps.v1.Deployment(
        "web",
        spec=k8s.apps.v1.DeploymentSpecArgs(
            selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"app": "web"}),
            template=k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(labels={"app": "web"}),
                spec=k8s.core.v1.PodSpecArgs(
                    security_context=pod_security_context(),
                    volumes=[volume],
                    containers=[k8s.core.v1.ContainerArgs(
                        name="web", image="example/web:1", security_context=container_security_context(),
                        resources=ResourceSizes().requirements(), liveness_probe=http_probe("/health", 8080),
                        readiness_probe=http_probe("/health", 8080), volume_mounts=[mount],
                    )],
                ),
            ),
        ),
        opts=pulumi.ResourceOptions(),
    )


def test_hardened_pod_spec_reaches_the_engine_and_passes_the_policy_pack():
    run = run_program(_deployment, stack="dev", project="mlops-platform")
    [deployment] = run.of_type("kubernetes:apps/v1:Deployment")
    pod = deployment.inputs["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                            "privileged": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True}
    assert container["resources"]["limits"] == {"cpu": "1", "memory": "1Gi"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": 8080}
    assert container["volumeMounts"] == [{"mountPath": "/tmp", "name": "tmp"}]
    k8s_findings = [f for f in evaluate_plan(build_plan(run)) if f["policy"].startswith("k8s-")]
    assert k8s_findings == []


def _hardened_pod() -> dict:
    run = run_program(_deployment, stack="dev", project="mlops-platform")
    [deployment] = run.of_type("kubernetes:apps/v1:Deployment")
    return deployment.inputs["spec"]["template"]["spec"]


def test_the_hardened_pod_spec_meets_the_restricted_pod_security_standard():
    assert restricted_problems(_hardened_pod()) == []


def _without_seccomp(pod: dict) -> None:
    del pod["securityContext"]["seccompProfile"]


def _keeps_capabilities(pod: dict) -> None:
    del pod["containers"][0]["securityContext"]["capabilities"]


@pytest.mark.parametrize(("break_it", "expected"), [
    (_without_seccomp, "seccompProfile.type to RuntimeDefault or Localhost"),
    (_keeps_capabilities, "must drop ALL capabilities"),
    (lambda pod: pod["containers"][0]["securityContext"].update(capabilities={"drop": ["ALL"], "add": ["NET_ADMIN"]}),
     "may add only NET_BIND_SERVICE, not NET_ADMIN"),
    (lambda pod: pod["containers"][0]["securityContext"].update(allowPrivilegeEscalation=True),
     "allowPrivilegeEscalation=false"),
    (lambda pod: (pod["securityContext"].pop("runAsNonRoot"), pod["containers"][0]["securityContext"].pop("runAsNonRoot")),
     "runAsNonRoot=true"),
    (lambda pod: pod["containers"][0]["securityContext"].update(runAsUser=0), "must not run as uid 0"),
    (lambda pod: pod["containers"][0]["securityContext"].update(privileged=True), "must not be privileged"),
    (lambda pod: pod.update(hostNetwork=True), "must not set hostNetwork=true"),
    (lambda pod: pod["volumes"].append({"name": "host", "hostPath": {"path": "/var/run"}}), "volume 'host' is of type hostPath"),
    (lambda pod: pod["containers"][0].update(ports=[{"containerPort": 80, "hostPort": 80}]), "must not use hostPort"),
])
def test_each_restricted_rule_is_checked(break_it, expected):
    pod = _hardened_pod()
    break_it(pod)
    problems = restricted_problems(pod)
    assert len(problems) == 1 and expected in problems[0], problems


def test_namespace_labels_enforce_audit_and_warn_restricted():
    assert pod_security_labels() == {
        "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/audit": "restricted", "pod-security.kubernetes.io/audit-version": "latest",
        "pod-security.kubernetes.io/warn": "restricted", "pod-security.kubernetes.io/warn-version": "latest",
    }


def test_network_policies_deny_by_default_and_open_only_the_allowances():
    def program() -> None:
        network_policies(
            "app", namespace="team", pod_labels={"app": "web"},
            metadata=k8s.meta.v1.ObjectMetaArgs(name="web", namespace="team", labels={"team": "ml"}),
            allow=NetworkAllowances(ports=(8080, 9090), client_label="example/web-client",
                                    tcp_egress=(("10.0.0.0/16", 5432),), https_egress=False),
            opts=pulumi.ResourceOptions(),
        )

    run = run_program(program, stack="dev", project="mlops-platform")
    policies = {r.name: r.inputs for r in run.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")}
    assert policies["app-default-deny"]["metadata"] == {"name": "default-deny", "namespace": "team", "labels": {"team": "ml"}}
    assert policies["app-default-deny"]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    spec = policies["app-network-policy"]["spec"]
    assert spec["podSelector"] == {"matchLabels": {"app": "web"}}
    assert spec["ingress"][0]["ports"] == [{"port": 8080, "protocol": "TCP"}, {"port": 9090, "protocol": "TCP"}]
    assert spec["ingress"][0]["from"][1]["podSelector"] == {"matchLabels": {"example/web-client": "true"}}
    # DNS and the named TCP destination only: no HTTPS to anywhere when it is not asked for.
    assert [rule["ports"] for rule in spec["egress"]] == [
        [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}], [{"port": 5432, "protocol": "TCP"}]]
    assert spec["egress"][1]["to"] == [{"ipBlock": {"cidr": "10.0.0.0/16"}}]
