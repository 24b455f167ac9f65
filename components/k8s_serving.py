"""Models served on the platform's Kubernetes cluster (``serving.backend: kubernetes``).

Per model: a Deployment of the inference image (from this stack's ECR, SageMaker's container
contract: ``serve`` on port 8080, ``GET /ping``), a ClusterIP Service, an autoscaling/v2
HorizontalPodAutoscaler on CPU and a PodDisruptionBudget. Shared by all models: the namespace
(created with the ``restricted`` Pod Security Standard enforced, or given) and one ServiceAccount
annotated with the serving role (IRSA), which reads model artifacts from the models bucket.

A namespace the component creates also gets a default-deny NetworkPolicy and one allowance
policy for the model servers: the container port from pods of the namespace and from pods
labelled ``mlops-platform/model-client: "true"`` in any namespace (the Service forwards to the
container port, so that is the port the policy sees); egress to DNS and HTTPS only (STS for the
IRSA token exchange, S3 for the model artifacts). A given namespace is left as its owner set it.

Pods run with the hardening every platform workload gets (:mod:`.k8s_security`): non-root,
read-only root filesystem with ``/tmp`` and ``/opt/ml/model`` as emptyDirs, no privilege
escalation, all capabilities dropped, RuntimeDefault seccomp, requests and limits, probes.

The Kubernetes provider comes from the parent's providers (``opts.providers`` / ``opts.provider``
or a parent that has one); the component refuses to fall back to the ambient kubeconfig. The
serving role must trust this service account: pass
``ServiceAccountTrust(oidc_provider_arn, namespace, SERVING_SERVICE_ACCOUNT)`` to PlatformRoles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pulumi
import pulumi_kubernetes as k8s

from mlops_blueprint.components.arg_checks import type_problems
from mlops_blueprint.components.k8s_security import (
    NetworkAllowances,
    ResourceSizes,
    container_security_context,
    cpu_autoscaler,
    http_probe,
    network_policies,
    pod_security_context,
    pod_security_labels,
    scratch_volume,
)
from mlops_blueprint.components.k8s_serving_settings import K8sServingSettings
from mlops_blueprint.context import StackContext
from mlops_blueprint.sagemaker_values import resolve_image
from mlops_blueprint.validation import raise_invalid_args

if TYPE_CHECKING:  # the models list: served_model_settings imports the serving settings, so only typing here
    from mlops_blueprint.components.served_model_settings import ServedModelSettings

SERVING_SERVICE_ACCOUNT = "model-server"
CLIENT_LABEL = "mlops-platform/model-client"  # pods with this label "true" may call the models from any namespace
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
SERVICE_PORT = 80
MODEL_DIR = "/opt/ml/model"


def labels(model: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": "model-server", "app.kubernetes.io/instance": model}


@dataclass(frozen=True)
class K8sServingArgs:
    """The models (``models:``), the serving role for IRSA and the settings (``serving.kubernetes``)."""

    context: StackContext
    models: Sequence[ServedModelSettings]
    serving_role_arn: pulumi.Input[str]       # PlatformRoles.serving_role_arn (trusting the service account)
    settings: K8sServingSettings = field(default_factory=K8sServingSettings)

    def problems(self) -> list[str]:
        """Wiring problems, one line each naming the arg (the settings validated themselves)."""
        # Imported here: served_model_settings imports the serving settings from this package.
        from mlops_blueprint.components.served_model_settings import kubernetes_model_problems

        problems = type_problems(self, context=StackContext, settings=K8sServingSettings)
        if not self.models:
            problems.append("models: expected at least one model")
        names = [m.name for m in self.models]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            problems.append(f"models: duplicate model names {', '.join(duplicates)}")
        for model in self.models:
            problems += kubernetes_model_problems(model)
        if self.serving_role_arn in (None, ""):
            problems.append("serving_role_arn: required (the IRSA role of the model servers)")
        return problems


def _has_kubernetes_provider(opts: pulumi.ResourceOptions | None) -> bool:
    if opts is None:
        return False
    if isinstance(opts.provider, pulumi.ProviderResource) and opts.provider.package == "kubernetes":
        return True
    providers = opts.providers
    if isinstance(providers, Mapping) and "kubernetes" in providers:
        return True
    if isinstance(providers, Sequence) and any(getattr(p, "package", None) == "kubernetes" for p in providers):
        return True
    parent = opts.parent
    return parent is not None and "kubernetes" in (getattr(parent, "_providers", None) or {})


def _validate(args: K8sServingArgs, opts: pulumi.ResourceOptions | None) -> None:
    problems = args.problems()
    if not _has_kubernetes_provider(opts):
        problems.append("opts: no kubernetes provider; pass the cluster's provider in opts.providers (or a parent "
                        "that has one) so the models are not deployed to whatever the ambient kubeconfig points at")
    raise_invalid_args("K8sServingArgs", problems)


class K8sServing(pulumi.ComponentResource):
    """Model servers on Kubernetes: Deployment, Service, HPA and PDB per model; IRSA for artifacts."""

    namespace: pulumi.Output[str]
    service_account_name: pulumi.Output[str]
    deployments: dict[str, k8s.apps.v1.Deployment]
    service_urls: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: K8sServingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args, opts)
        super().__init__("mlops:serving:K8sServing", name, None, opts)
        self._prefix = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        settings = args.settings

        if settings.create_namespace:
            namespace = k8s.core.v1.Namespace(
                f"{name}-namespace",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=settings.namespace, labels={
                    # Our pods meet the restricted standard; enforce it for anything else deployed here.
                    **pod_security_labels(),
                    "app.kubernetes.io/part-of": args.context.naming.project,
                }),
                opts=self._child,
            )
            self.namespace = namespace.metadata.name
        else:
            self.namespace = pulumi.Output.from_input(settings.namespace)

        account = k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=SERVING_SERVICE_ACCOUNT,
                namespace=self.namespace,
                annotations={IRSA_ANNOTATION: args.serving_role_arn},
                labels={"app.kubernetes.io/name": "model-server"},
            ),
            opts=self._child,
        )
        self.service_account_name = account.metadata.name
        # Only where the stack owns the namespace: a given one is someone else's to police.
        if settings.create_namespace:
            network_policies(
                name, namespace=self.namespace, pod_labels={"app.kubernetes.io/name": "model-server"},
                metadata=k8s.meta.v1.ObjectMetaArgs(name="model-server", namespace=self.namespace,
                                                    labels={"app.kubernetes.io/name": "model-server"}),
                allow=NetworkAllowances(ports=(settings.port,), client_label=CLIENT_LABEL),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace]),
            )

        self.deployments = {}
        self.service_urls = {}
        for model in args.models:
            self._model(model)
        self.register_outputs({
            "namespace": self.namespace,
            "serviceAccountName": self.service_account_name,
            "serviceUrls": self.service_urls,
        })

    def _model(self, model: ServedModelSettings) -> None:
        args, ctx = self._args, self._args.context
        settings = args.settings
        name, selector = model.name, labels(model.name)
        variant = model.variants[0]  # the kubernetes backend serves one variant (model_problems)
        image = resolve_image(variant.image or model.image, account_id=ctx.account_id, region=ctx.region,
                              partition=ctx.partition, repository_prefix=ctx.naming.prefix)
        metadata = k8s.meta.v1.ObjectMetaArgs(name=name, namespace=self.namespace, labels=selector)
        resources = settings.resources
        sizes = ResourceSizes(cpu_request=resources.cpu_request, memory_request=resources.memory_request,
                              cpu_limit=resources.cpu_limit, memory_limit=resources.memory_limit)
        tmp_volume, tmp_mount = scratch_volume()
        model_volume = k8s.core.v1.VolumeArgs(
            name="model", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="10Gi"))
        model_mount = k8s.core.v1.VolumeMountArgs(name="model", mount_path=MODEL_DIR)
        environment = {
            **model.environment,
            "MODEL_DATA_URL": variant.model_data_url or model.model_data_url,  # read with the IRSA role
            "SAGEMAKER_BIND_TO_PORT": str(settings.port),
            "AWS_REGION": ctx.region,
            "AWS_DEFAULT_REGION": ctx.region,
        }
        container = k8s.core.v1.ContainerArgs(
            name="model-server",
            image=image,
            args=["serve"],
            ports=[k8s.core.v1.ContainerPortArgs(name="http", container_port=settings.port)],
            env=[k8s.core.v1.EnvVarArgs(name=k, value=v) for k, v in sorted(environment.items())],
            resources=sizes.requirements(),
            readiness_probe=http_probe(settings.health_path, settings.port, initial_delay_seconds=10),
            liveness_probe=http_probe(settings.health_path, settings.port, initial_delay_seconds=60, period_seconds=20),
            security_context=container_security_context(),
            volume_mounts=[tmp_mount, model_mount],
        )
        deployment = k8s.apps.v1.Deployment(
            f"{self._prefix}-{name}",
            metadata=metadata,
            spec=k8s.apps.v1.DeploymentSpecArgs(
                # No replicas: the HPA owns the count (a fixed value would reset it on every update).
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                strategy=k8s.apps.v1.DeploymentStrategyArgs(
                    type="RollingUpdate",
                    rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(max_surge=1, max_unavailable=0),
                ),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=selector),
                    spec=k8s.core.v1.PodSpecArgs(
                        service_account_name=self.service_account_name,
                        security_context=pod_security_context(),
                        containers=[container],
                        volumes=[tmp_volume, model_volume],
                        topology_spread_constraints=[k8s.core.v1.TopologySpreadConstraintArgs(
                            max_skew=1, topology_key="topology.kubernetes.io/zone",
                            when_unsatisfiable="ScheduleAnyway",
                            label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                        )],
                    ),
                ),
            ),
            opts=self._child,
        )
        k8s.core.v1.Service(
            f"{self._prefix}-{name}",
            metadata=metadata,
            spec=k8s.core.v1.ServiceSpecArgs(
                type="ClusterIP",
                selector=selector,
                ports=[k8s.core.v1.ServicePortArgs(name="http", port=SERVICE_PORT, target_port="http")],
            ),
            opts=self._child,
        )
        cpu_autoscaler(f"{self._prefix}-{name}", metadata=metadata, deployment=deployment,
                       min_replicas=settings.replicas, max_replicas=settings.max_replicas,
                       target_cpu_percent=settings.target_cpu_utilization_percent, opts=self._child)
        k8s.policy.v1.PodDisruptionBudget(
            f"{self._prefix}-{name}",
            metadata=metadata,
            spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
                # One pod at a time: drains proceed, and with 2+ replicas the model keeps serving.
                max_unavailable=1,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
            ),
            opts=self._child,
        )
        self.deployments[name] = deployment
        self.service_urls[name] = pulumi.Output.concat(
            "http://", name, ".", self.namespace, ".svc.cluster.local:", str(SERVICE_PORT))
