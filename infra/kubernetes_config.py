"""The ``kubernetes`` section: an existing cluster, shared by the Kubernetes backends (self-hosted
tracking, serving). Stack-level rather than a component's: the stack builds the Kubernetes provider
from it and checks it against the tracking and serving sections (:mod:`mlops_blueprint.config`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from mlops_blueprint.config_base import Section, checked
from mlops_blueprint.validation import SECURITY_GROUP_ID, oidc_provider_arn_problem


class KubernetesConfig(Section):
    """An existing cluster for the ``kubernetes`` backends (self-hosted tracking, serving)."""

    kubeconfig: str | None = Field(default=None, description="path to a kubeconfig file; unset: the ambient KUBECONFIG")
    context: str | None = Field(default=None, description="kubeconfig context to use")
    oidc_provider_arn: Annotated[str, checked(oidc_provider_arn_problem)] = Field(
        description="the cluster's IAM OIDC provider, for IRSA")
    node_security_group_id: str = Field(pattern=SECURITY_GROUP_ID,
                                        description="security group of the cluster's nodes/pods (may reach the database)")
