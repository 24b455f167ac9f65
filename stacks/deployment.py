"""What every layer of the stack needs: the resolved config, the account context and the providers.

:func:`resolve_deployment` runs before any component registers: a registry-backed model that
cannot be resolved, or an account the config does not allow, fails here with nothing half-made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from mlops_blueprint.components.network import ExistingNetwork
from mlops_blueprint.config import PROJECT, PlatformConfig, require_account
from mlops_blueprint.context import StackContext
from mlops_blueprint.model_registry import resolve_models
from mlops_blueprint.outputs import Out
from mlops_blueprint.providers import account_context, aws_provider
from mlops_blueprint.tags import Tagging


@dataclass(frozen=True)
class Deployment:
    """What every layer needs: the resolved config, the account context and the providers."""

    config: PlatformConfig
    ctx: StackContext
    opts: pulumi.ResourceOptions
    cluster_opts: pulumi.ResourceOptions       # with the Kubernetes provider when one is used, else ``opts``
    served_packages: dict[str, Any]            # registry-backed model -> the package it serves now
    k8s_tracking: bool                         # MLflow runs on the cluster
    k8s_serving: bool                          # the models are served on the cluster

    @property
    def stateful(self) -> dict[str, bool]:
        return {"protect": self.config.protect_stateful, "retain_on_delete": self.config.retain_on_delete}

    @property
    def boundary(self) -> str | None:
        return self.config.iam.permissions_boundary_arn


def resolve_deployment(config: PlatformConfig) -> Deployment:
    """The config with registry-backed models resolved, the account context and the providers."""
    # Registry-backed models serve the package the registry names now; a model that cannot be
    # resolved is a config error, raised before anything registers.
    models, served_packages = resolve_models(config)
    config = config.model_copy(update={"models": models})
    tagging = _tagging(config)
    provider = aws_provider(config.region, tagging, allowed_account_ids=config.allowed_account_ids)
    ctx = account_context(provider, config.region, tagging,
                          regional_account_names=config.account_wide_names == "regional")
    require_account(config, ctx.account_id)  # what only the account can tell (boundary, OIDC providers)
    opts = pulumi.ResourceOptions(providers={"aws": provider})
    cluster = _cluster_provider(config)
    cluster_opts = pulumi.ResourceOptions(providers={"aws": provider, "kubernetes": cluster}) if cluster else opts
    cluster_used = config.kubernetes is not None
    return Deployment(config=config, ctx=ctx, opts=opts, cluster_opts=cluster_opts, served_packages=served_packages,
                      k8s_tracking=cluster_used and config.tracking.backend == "kubernetes",
                      k8s_serving=cluster_used and config.serving.backend == "kubernetes" and bool(config.models))


def _tagging(config: PlatformConfig) -> Tagging:
    return Tagging(
        project=PROJECT,
        environment=config.environment,
        owner=config.owner,
        cost_center=config.cost_center,
        data_classification=config.data_classification,
    )


def shared_network(config: PlatformConfig) -> ExistingNetwork | None:
    """With ``network.mode: shared`` the VPC comes from another stack's outputs (e.g. a shared
    network stack of this same program, in this or a networking account)."""
    if config.network.mode != "shared":
        return None
    shared = pulumi.StackReference(config.network.shared_stack)
    return ExistingNetwork(
        vpc_id=shared.require_output(Out.VPC_ID),
        vpc_cidr=shared.require_output(Out.VPC_CIDR),
        private_subnet_ids=shared.require_output(Out.TRAINING_SUBNET_IDS),
        database_subnet_ids=shared.require_output(Out.DATABASE_SUBNET_IDS),
    )


def _cluster_provider(config: PlatformConfig) -> k8s.Provider | None:
    """One Kubernetes provider for every Kubernetes backend (tracking, serving), only when one is used."""
    uses_cluster = config.tracking.backend == "kubernetes" or (config.serving.backend == "kubernetes" and config.models)
    if not uses_cluster or config.kubernetes is None:  # config validation requires the cluster when used
        return None
    return k8s.Provider("kubernetes", kubeconfig=config.kubernetes.kubeconfig, context=config.kubernetes.context)
