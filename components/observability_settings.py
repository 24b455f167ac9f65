"""The Observability component's settings, which are also the stack file's ``observability`` section.

Stack file keys (camelCase, under ``mlops-platform:``)::

    observability:
      prometheus: false                       # Amazon Managed Prometheus workspace
      grafana: false                          # Amazon Managed Grafana workspace
      grafanaAuthentication: AWS_SSO          # or SAML
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mlops_blueprint.config_base import Section


class ObservabilitySettings(Section):
    """Optional Prometheus/Grafana for teams that standardise on them (off by default)."""

    prometheus: bool = Field(default=False, description="Amazon Managed Service for Prometheus workspace")
    grafana: bool = Field(default=False, description="Amazon Managed Grafana workspace")
    grafana_authentication: Literal["AWS_SSO", "SAML"] = Field(
        default="AWS_SSO", description="AWS_SSO (IAM Identity Center) or SAML (configure the IdP afterwards)")
