"""K8sServing: hardened model servers on the cluster with IRSA, autoscaling and disruption budgets,
deployed only through the provider the stack hands down."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest
from pydantic import ValidationError

from mlops_blueprint.components.irsa import ServiceAccountTrust
from mlops_blueprint.components.k8s_serving_settings import K8sServingSettings
from mlops_blueprint.components.k8s_serving import (
    IRSA_ANNOTATION,
    SERVING_SERVICE_ACCOUNT,
    K8sServing,
    K8sServingArgs,
)
from mlops_blueprint.context import StackContext
from mlops_blueprint.mock_runtime import MOCK_ACCOUNT_ID, MockRun, Registration, run_program
from mlops_blueprint.plan import build_plan
from mlops_blueprint.policies.engine import evaluate_plan
from mlops_blueprint.components.served_model_settings import ServedModelSettings

COMPONENT = "mlops:serving:K8sServing"
NAMESPACE = "kubernetes:core/v1:Namespace"
ACCOUNT = "kubernetes:core/v1:ServiceAccount"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE = "kubernetes:core/v1:Service"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
WORKLOADS = (NAMESPACE, ACCOUNT, DEPLOYMENT, SERVICE, HPA, PDB)

ROLE = f"arn:aws:iam::{MOCK_ACCOUNT_ID}:role/mlops-platform-dev-serving"
OIDC = f"arn:aws:iam::{MOCK_ACCOUNT_ID}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE"
MODELS = [
    ServedModelSettings.model_validate({"name": "churn", "image": "inference:1.4.2",
                                "modelDataUrl": "s3://models-bucket/churn/model.tar.gz",
                                "environment": {"LOG_LEVEL": "info"}}),
    ServedModelSettings.model_validate({"name": "fraud", "image": "inference:2.0.0",
                                "modelDataUrl": "s3://models-bucket/fraud/model.tar.gz"}),
]


def kubernetes_serving(**overrides: Any) -> K8sServingSettings:
    """``serving.kubernetes`` as the stack file would set it (camelCase keys)."""
    return K8sServingSettings.model_validate(overrides)


def build(ctx: StackContext, settings: K8sServingSettings | None = None, models: list[ServedModelSettings] | None = None,
          via: str = "providers") -> MockRun:
    """K8sServing with a Kubernetes provider handed down the way ``via`` says."""

    def program() -> None:
        provider = k8s.Provider("cluster", kubeconfig="{}")
        if via == "parent":
            parent = pulumi.ComponentResource("test:index:Stack", "platform", None,
                                              pulumi.ResourceOptions(providers={"kubernetes": provider}))
            opts = pulumi.ResourceOptions(parent=parent)
        else:
            opts = pulumi.ResourceOptions(providers={"kubernetes": provider})
        serving_component = K8sServing("serving", K8sServingArgs(
            context=ctx, models=models or MODELS, settings=settings or kubernetes_serving(), serving_role_arn=ROLE), opts)
        pulumi.export("serviceUrls", serving_component.service_urls)
        pulumi.export("namespace", serving_component.namespace)

    return run_program(program, stack=ctx.environment, project="mlops-platform")


def of(run: MockRun, type_: str, name: str) -> Registration:
    return run.named(type_, f"serving-{name}")


def pod_spec(run: MockRun, model: str) -> dict[str, Any]:
    return of(run, DEPLOYMENT, model).inputs["spec"]["template"]["spec"]


@pytest.mark.parametrize("via", ["providers", "parent"])
def test_every_object_uses_the_handed_down_provider(dev_context, via):
    run = build(dev_context, via=via)
    [provider] = run.of_type("pulumi:providers:kubernetes")
    objects = [r for r in run.registrations if r.type in WORKLOADS]
    assert len(objects) == 2 + 4 * len(MODELS)
    assert all(r.provider and r.provider.startswith(provider.urn + "::") for r in objects)


def test_one_namespace_and_service_account_with_the_serving_role(dev_context):
    run = build(dev_context)
    [namespace] = run.of_type(NAMESPACE)
    assert namespace.inputs["metadata"]["name"] == "model-serving"
    assert namespace.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    [account] = run.of_type(ACCOUNT)
    metadata = account.inputs["metadata"]
    assert metadata["annotations"] == {IRSA_ANNOTATION: ROLE}
    assert (metadata["namespace"], metadata["name"]) == ("model-serving", SERVING_SERVICE_ACCOUNT)
    # The serving role's trust (PlatformRoles.serving_service_account) names exactly this account.
    trust = ServiceAccountTrust(OIDC, metadata["namespace"], metadata["name"])
    assert trust.subject == "system:serviceaccount:model-serving:model-server"
    for model in MODELS:
        assert pod_spec(run, model.name)["serviceAccountName"] == SERVING_SERVICE_ACCOUNT


def test_an_existing_namespace_is_used_not_created(dev_context):
    run = build(dev_context, kubernetes_serving(namespace="ml-team", createNamespace=False))
    assert run.of_type(NAMESPACE) == []
    assert {r.inputs["metadata"]["namespace"] for r in run.registrations if r.type in WORKLOADS} == {"ml-team"}
    assert run.outputs["serviceUrls"]["churn"] == "http://churn.ml-team.svc.cluster.local:80"


def test_deployments_are_hardened_with_probes_limits_and_the_ecr_image(dev_context):
    run = build(dev_context, kubernetes_serving(resources={"cpuLimit": "4", "memoryLimit": "8Gi"}))
    pod = pod_spec(run, "churn")
    [container] = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                            "privileged": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True}
    assert container["image"] == f"{MOCK_ACCOUNT_ID}.dkr.ecr.us-east-1.amazonaws.com/mlops-platform-dev-inference:1.4.2"
    assert container["resources"]["limits"] == {"cpu": "4", "memory": "8Gi"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/ping", "port": 8080}
    assert container["livenessProbe"]["httpGet"] == {"path": "/ping", "port": 8080}
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["MODEL_DATA_URL"] == "s3://models-bucket/churn/model.tar.gz" and env["LOG_LEVEL"] == "info"
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert mounts == {"/tmp", "/opt/ml/model"}  # writable scratch, read-only root
    deployment = of(run, DEPLOYMENT, "churn").inputs["spec"]
    assert "replicas" not in deployment  # the HPA owns the count
    assert deployment["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    k8s_findings = [f for f in evaluate_plan(build_plan(run)) if f["enforcement"] == "mandatory"]
    assert k8s_findings == []


def test_service_hpa_and_pdb_select_the_models_pods(dev_context):
    run = build(dev_context, kubernetes_serving(replicas=3, maxReplicas=9, targetCpuUtilizationPercent=60))
    for model in MODELS:
        pod_labels = of(run, DEPLOYMENT, model.name).inputs["spec"]["template"]["metadata"]["labels"]
        service = of(run, SERVICE, model.name).inputs["spec"]
        assert service["selector"] == pod_labels and service["type"] == "ClusterIP"
        assert service["ports"] == [{"name": "http", "port": 80, "targetPort": "http"}]
        hpa = of(run, HPA, model.name).inputs["spec"]
        assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": model.name}
        assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 9)
        assert hpa["metrics"][0]["resource"] == {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}
        pdb = of(run, PDB, model.name).inputs["spec"]
        assert pdb["selector"]["matchLabels"] == pod_labels and pdb["maxUnavailable"] == 1
    other = of(run, DEPLOYMENT, "fraud").inputs["spec"]["template"]["metadata"]["labels"]
    assert of(run, SERVICE, "churn").inputs["spec"]["selector"] != other  # no cross-model traffic


@pytest.mark.parametrize("kwargs, message", [
    ({"settings": {"replicas": 2}}, "settings: expected a K8sServingSettings, got dict"),
    ({"models": []}, "models: expected at least one model"),
    ({"models": [MODELS[0], MODELS[0]]}, "duplicate model names churn"),
    ({"models": [ServedModelSettings.model_validate({**MODELS[0].model_dump(by_alias=True),
                                             "variants": [{"name": "a"}, {"name": "b"}]})]},
     "serves one variant per model"),
    ({"serving_role_arn": ""}, "serving_role_arn: required"),
    ({"no_provider": True}, "no kubernetes provider"),
])
def test_bad_args_raise_before_registration(dev_context, kwargs, message):
    no_provider = kwargs.pop("no_provider", False)
    values: dict[str, Any] = {"models": MODELS, "settings": kubernetes_serving(), "serving_role_arn": ROLE, **kwargs}

    def program() -> None:
        opts = None if no_provider else pulumi.ResourceOptions(providers={"kubernetes": k8s.Provider("cluster", kubeconfig="{}")})
        K8sServing("serving", K8sServingArgs(context=dev_context, **values), opts)

    run = run_program(program, stack="dev", project="mlops-platform", capture_errors=True)
    assert isinstance(run.error, ValueError) and message in str(run.error), run.error
    assert [r for r in run.registrations if r.type == COMPONENT or r.type in WORKLOADS] == []


@pytest.mark.parametrize("values, message", [
    ({"replicas": 3, "maxReplicas": 2}, "maxReplicas (2) must be at least replicas (3)"),
    ({"namespace": "Model_Serving"}, "String should match pattern"),
    ({"resources": {"cpuRequest": "3"}}, "cpuRequest 3 exceeds cpuLimit 2"),
    ({"replica": 2}, "Extra inputs are not permitted"),
])
def test_settings_reject(values, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        K8sServingSettings.model_validate(values)


def test_resources_keep_the_model_server_defaults_when_one_key_is_set():
    # 1500m fits under the model server's 2-CPU limit, not under the generic container default of 1.
    resources = K8sServingSettings.model_validate({"resources": {"cpuRequest": "1500m"}}).resources
    assert (resources.cpu_request, resources.memory_request, resources.cpu_limit, resources.memory_limit) == (
        "1500m", "1Gi", "2", "2Gi")


@pytest.mark.parametrize("module", ["mlops_blueprint.components.served_model_settings",
                                    "mlops_blueprint.components.serving_endpoint_settings"])
def test_the_models_config_and_the_serving_settings_can_be_imported_first(module):
    # served_model_settings imports the serving settings, whose package imports the serving components:
    # those must not need it while it is half imported.
    result = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def test_a_created_namespace_gets_every_pod_security_label_and_network_policies(dev_context):
    run = build(dev_context)
    [namespace] = run.of_type(NAMESPACE)
    labels = namespace.inputs["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert (labels[f"pod-security.kubernetes.io/{mode}"], labels[f"pod-security.kubernetes.io/{mode}-version"]) == (
            "restricted", "latest")
    [provider] = run.of_type("pulumi:providers:kubernetes")
    policies = {r.inputs["metadata"]["name"]: r for r in run.of_type(NETWORK_POLICY)}
    assert set(policies) == {"default-deny", "model-server"}
    for policy in policies.values():
        assert policy.inputs["metadata"]["namespace"] == "model-serving"
        assert namespace.urn in policy.dependencies and policy.provider.startswith(provider.urn + "::")
    assert policies["default-deny"].inputs["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    spec = policies["model-server"].inputs["spec"]
    # Selects every model's pods (the Deployments' pod labels include it).
    assert spec["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "model-server"}}
    for model in MODELS:
        pod_labels = of(run, DEPLOYMENT, model.name).inputs["spec"]["template"]["metadata"]["labels"]
        assert spec["podSelector"]["matchLabels"].items() <= pod_labels.items()
    [ingress] = spec["ingress"]
    assert ingress["ports"] == [{"port": 8080, "protocol": "TCP"}]  # the container port the Service targets
    assert ingress["from"] == [
        {"podSelector": {}},
        {"namespaceSelector": {}, "podSelector": {"matchLabels": {"mlops-platform/model-client": "true"}}},
    ]
    # DNS, then HTTPS for STS (IRSA) and S3 (model artifacts); nothing else leaves the pods.
    egress = {tuple(sorted((p["protocol"], p["port"]) for p in rule["ports"])): rule["to"] for rule in spec["egress"]}
    assert egress == {
        (("TCP", 53), ("UDP", 53)): [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}],
        (("TCP", 443),): [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
    }


def test_a_given_namespace_gets_no_network_policies(dev_context):
    run = build(dev_context, kubernetes_serving(namespace="ml-team", createNamespace=False))
    assert run.of_type(NETWORK_POLICY) == []
