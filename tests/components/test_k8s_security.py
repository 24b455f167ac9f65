"""The shared Kubernetes hardening, as the engine receives it (camelCase) and as the policy pack reads it."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from mlops_blueprint.components.k8s_security import (
    ResourceSizes, container_security_context, http_probe, pod_security_context, scratch_volume,
)
from mlops_blueprint.mock_runtime import run_program
from mlops_blueprint.policies.engine import evaluate_plan
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
