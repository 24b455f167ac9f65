"""What a team's own Pulumi program needs before its first component, read from its stack config.

Every program that composes the components starts the same way: its environment, tags, an AWS
provider that puts the mandatory tags on every resource, the account context names and ARNs are
built from, and whether stateful resources are protected. ``team_program()`` does that once::

    program = team_program()
    kms = Kms("kms", KmsArgs(context=program.ctx, **program.stateful), program.opts)

Config keys, in the program's own namespace: ``environment`` (dev, staging or prod; prod protects
and retains stateful resources), ``owner``, ``costCenter``, ``dataClassification`` (default
confidential); the region is ``aws:region``. A bad value fails before anything is registered.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Mapping
from typing import Any, TypeVar

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ValidationError

from mlops_blueprint.config import ENVIRONMENTS, deep_merge
from mlops_blueprint.context import StackContext
from mlops_blueprint.kubernetes_config import KubernetesConfig
from mlops_blueprint.providers import account_context, aws_provider
from mlops_blueprint.tags import Tagging

Model = TypeVar("Model", bound=BaseModel)
# The keys team_program() reads (region from the aws namespace, the others from the program's).
TEAM_PROGRAM_KEYS = ("environment", "owner", "costCenter", "dataClassification", "region")  # region: aws:region


@dataclass(frozen=True)
class TeamProgram:
    """The program's config, environment, provider options and account context."""

    config: pulumi.Config
    project: str
    environment: str
    region: str
    provider: aws.Provider
    ctx: StackContext

    @property
    def prod(self) -> bool:
        return self.environment == "prod"

    @property
    def opts(self) -> pulumi.ResourceOptions:
        """Options for the program's components: its AWS provider (default tags, region)."""
        return pulumi.ResourceOptions(providers={"aws": self.provider})

    @property
    def stateful(self) -> dict[str, bool]:
        """``protect``/``retain_on_delete`` for keys, buckets, logs and databases: on in prod."""
        return {"protect": self.prod, "retain_on_delete": self.prod}

    def cluster_opts(self, cluster: KubernetesConfig) -> pulumi.ResourceOptions:
        """Options for a component with Kubernetes resources: the AWS provider and one for ``cluster``."""
        provider = k8s.Provider("kubernetes", kubeconfig=cluster.kubeconfig, context=cluster.context)
        return pulumi.ResourceOptions(providers={"aws": self.provider, "kubernetes": provider})

    def section(self, key: str, model: type[Model], *, required: bool = False,
                defaults: Mapping[str, Mapping[str, Any]] | None = None) -> Model:
        """The config object ``key`` validated by ``model`` (a component's settings or a config
        model), on top of ``defaults[environment]`` when given (e.g. the settings' per-environment
        defaults); a bad value fails with the key and the model's message."""
        value: Any = self.config.require_object(key) if required else (self.config.get_object(key) or {})
        if defaults is not None:
            value = deep_merge(defaults[self.environment], value)
        return validated(f"{self.project}:{key}", model, value)


def validated(key: str, model: type[Model], value: Any) -> Model:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" if e["loc"] else e["msg"]
                             for e in exc.errors())
        raise pulumi.RunError(f"invalid config {key}: {problems}") from None


def team_program() -> TeamProgram:
    """Read the program's environment and tags, and build its AWS provider and account context."""
    config = pulumi.Config()
    project = pulumi.get_project()
    environment = config.require("environment")
    if environment not in ENVIRONMENTS:
        raise pulumi.RunError(f"{project}:environment: {environment!r} is not an environment; "
                              f"expected one of {', '.join(ENVIRONMENTS)}")
    region = pulumi.Config("aws").require("region")
    tagging = Tagging(
        project=project,
        environment=environment,
        owner=config.require("owner"),
        cost_center=config.require("costCenter"),
        data_classification=config.get("dataClassification") or "confidential",
    )
    # Every resource gets the mandatory tags through the provider's default tags; names and ARNs
    # use the account the credentials reach.
    provider = aws_provider(region, tagging)
    return TeamProgram(config=config, project=project, environment=environment, region=region,
                       provider=provider, ctx=account_context(provider, region, tagging))
