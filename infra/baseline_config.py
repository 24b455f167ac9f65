"""The baseline config sections: ``network``, ``kms``, ``artifacts``, ``audit``, ``iam`` and ``kubernetes``.

The foundation every environment has; :class:`mlops_blueprint.config.PlatformConfig` composes them
with the ML and operations sections (stack file keys are documented there and in the README).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from mlops_blueprint.config_base import RetentionDays, Section, checked
from mlops_blueprint.validation import (
    SECURITY_GROUP_ID, SUBNET_ID, VPC_ID, iam_policy_arn_problem, oidc_provider_arn_problem, trail_arn_problem,
)


# Interface endpoints the private subnets need to reach AWS without a NAT gateway.
INTERFACE_ENDPOINT_SERVICES = (
    "sagemaker.api",
    "sagemaker.runtime",
    "sts",
    "ecr.api",
    "ecr.dkr",
    "logs",
    "monitoring",
    "kms",
    "secretsmanager",
)

# ARN field types that carry their own check (mlops_blueprint.validation).
IamPolicyArn = Annotated[str, checked(iam_policy_arn_problem)]
TrailArn = Annotated[str, checked(trail_arn_problem)]
OidcProviderArn = Annotated[str, checked(oidc_provider_arn_problem)]


class ExistingVpc(Section):
    """A VPC the platform should use instead of creating one."""

    vpc_id: str = Field(pattern=VPC_ID, description="id of the VPC, e.g. vpc-0abc12345def67890")
    vpc_cidr: str = Field(description="the VPC's IPv4 CIDR, used for endpoint security groups")
    private_subnet_ids: list[str] = Field(min_length=2, description="two or more private subnet ids in different AZs")
    database_subnet_ids: list[str] = Field(default_factory=list, description="subnets for databases (default: the private subnets)")

    @field_validator("private_subnet_ids", "database_subnet_ids")
    @classmethod
    def _subnet_ids(cls, ids: list[str]) -> list[str]:
        for subnet_id in ids:
            if not re.fullmatch(SUBNET_ID, subnet_id):
                raise ValueError(f"{subnet_id!r} is not a subnet id (expected subnet-0abc12345def67890)")
        return ids

    @field_validator("vpc_cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        return str(_ipv4_network(value))


def _ipv4_network(value: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a valid IPv4 CIDR ({exc}); expected e.g. 10.20.0.0/16") from exc


class NetworkConfig(Section):
    """The VPC: created (default) or brought by the user — never both."""

    mode: Literal["create", "existing", "shared"] = "create"
    cidr: str = Field(default="10.0.0.0/16", description="VPC CIDR, a private /16 to /24")
    az_count: int = Field(default=2, ge=2, le=4, description="availability zones (2 to 4)")
    interface_endpoints: list[str] = Field(default_factory=lambda: list(INTERFACE_ENDPOINT_SERVICES))
    endpoint_az_count: int | None = Field(default=None, ge=1, le=4,
                                          description="AZs holding the interface endpoints (unset: every AZ)")
    flow_log_retention_days: RetentionDays = 30
    existing: ExistingVpc | None = None
    shared_stack: str | None = Field(
        default=None, pattern=r"^[\w.-]+(/[\w.-]+){0,2}$",
        description="stack whose outputs (vpcId, vpcCidr, trainingSubnetIds, databaseSubnetIds) provide the VPC, e.g. acme/mlops-platform/shared",
    )

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        network = _ipv4_network(value)
        if not network.is_private:
            raise ValueError(f"{value!r} is not a private range; use 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16")
        if not 16 <= network.prefixlen <= 24:
            raise ValueError(f"{value!r} has prefix /{network.prefixlen}; expected /16 to /24")
        return str(network)

    @field_validator("interface_endpoints")
    @classmethod
    def _endpoints(cls, services: list[str]) -> list[str]:
        for service in services:
            if service not in INTERFACE_ENDPOINT_SERVICES:
                raise ValueError(f"{service!r} is not a supported endpoint; expected any of {', '.join(INTERFACE_ENDPOINT_SERVICES)}")
        return sorted(set(services))

    @model_validator(mode="after")
    def _one_source(self) -> NetworkConfig:
        if self.mode == "existing" and self.existing is None:
            raise ValueError("mode 'existing' needs network.existing (vpcId, vpcCidr, privateSubnetIds)")
        if self.mode == "shared" and not self.shared_stack:
            raise ValueError("mode 'shared' needs network.sharedStack (e.g. acme/mlops-platform/shared)")
        if self.mode != "existing" and self.existing is not None:
            raise ValueError(f"network.existing is set but mode is {self.mode!r}; set mode: existing or remove existing")
        if self.endpoint_az_count is not None and self.endpoint_az_count > self.az_count:
            raise ValueError(f"network.endpointAzCount ({self.endpoint_az_count}) exceeds network.azCount ({self.az_count})")
        if self.mode != "shared" and self.shared_stack:
            raise ValueError(f"network.sharedStack is set but mode is {self.mode!r}; set mode: shared or remove sharedStack")
        return self


class KmsConfig(Section):
    """Customer-managed keys."""

    deletion_window_days: int = Field(default=30, ge=7, le=30, description="days a deleted key can be recovered (7 to 30)")


class ArtifactsConfig(Section):
    """S3 buckets for datasets, models and access logs."""

    noncurrent_days_to_ia: int = Field(default=30, ge=30, description="days before noncurrent versions move to STANDARD_IA (S3 needs >= 30)")
    noncurrent_days_to_glacier: int = Field(default=90, ge=31)
    noncurrent_expiration_days: int = Field(default=365, ge=32)
    abort_incomplete_upload_days: int = Field(default=7, ge=1, le=30)
    access_log_expiration_days: int = Field(default=365, ge=1)
    force_destroy: bool = Field(default=False, description="allow deleting non-empty buckets (never in prod)")

    @model_validator(mode="after")
    def _lifecycle(self) -> ArtifactsConfig:
        # The component's own check, so config and component can never disagree on what S3 accepts.
        from mlops_blueprint.components.s3_bucket import Lifecycle, lifecycle_problems

        lifecycle = Lifecycle(self.noncurrent_days_to_ia, self.noncurrent_days_to_glacier,
                              self.noncurrent_expiration_days, self.abort_incomplete_upload_days)
        names = {name: field.alias or name for name, field in type(self).model_fields.items()}
        problems = lifecycle_problems(lifecycle, names=names)
        if problems:
            raise ValueError("; ".join(problems))
        return self


class AuditConfig(Section):
    """CloudTrail and its log bucket."""

    object_lock: bool = Field(default=False, description="WORM-protect trail logs (S3 Object Lock, governance mode)")
    object_lock_days: int = Field(default=365, ge=1, le=36500)
    log_retention_days: RetentionDays = 90
    data_events: bool = Field(default=True, description="record S3 object-level events on the artifact buckets")
    trail: Literal["create", "existing", "none"] = Field(
        default="create", description="create a multi-region trail, use an existing (organisation) trail, or none")
    existing_trail_arn: TrailArn | None = Field(
        default=None, description="the trail that records this account (with trail: existing, or none in prod)")

    @model_validator(mode="after")
    def _trail_choice(self) -> AuditConfig:
        if self.trail == "existing" and self.existing_trail_arn is None:
            raise ValueError("audit.trail is 'existing': set audit.existingTrailArn to that trail's ARN")
        if self.trail == "create" and self.existing_trail_arn is not None:
            raise ValueError("audit.existingTrailArn is set but audit.trail is 'create'; "
                             "use trail: existing to rely on that trail instead of creating one")
        return self


class CiConfig(Section):
    """Trust for CI pipelines through OIDC: short-lived credentials, no stored keys."""

    provider: Literal["none", "github", "gitlab"] = "none"
    repository: str | None = Field(default=None, description="org/repo (GitHub) or group/project (GitLab)")
    deploy_branch: str = Field(default="main", pattern=r"^[\w./-]+$")
    oidc_provider_arn: OidcProviderArn | None = Field(default=None, description="an existing IAM OIDC provider; created when unset")
    gitlab_url: str = Field(default="https://gitlab.com", pattern=r"^https://[\w.-]+$")

    @field_validator("repository")
    @classmethod
    def _repository(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[\w.-]+(/[\w.-]+)+", value):
            raise ValueError(f"{value!r} is not a repository path; expected org/repo")
        return value

    @model_validator(mode="after")
    def _needs_repository(self) -> CiConfig:
        if self.provider != "none" and not self.repository:
            raise ValueError(f"iam.ci.repository is required when iam.ci.provider is {self.provider!r}")
        return self


class IamConfig(Section):
    """Roles and their guardrails."""

    permissions_boundary_arn: IamPolicyArn | None = Field(default=None, description="managed policy ARN applied as every role's boundary")
    ci: CiConfig = Field(default_factory=CiConfig)


class KubernetesConfig(Section):
    """An existing cluster for the ``kubernetes`` backends (self-hosted tracking, serving)."""

    kubeconfig: str | None = Field(default=None, description="path to a kubeconfig file; unset: the ambient KUBECONFIG")
    context: str | None = Field(default=None, description="kubeconfig context to use")
    oidc_provider_arn: OidcProviderArn = Field(description="the cluster's IAM OIDC provider, for IRSA")
    node_security_group_id: str = Field(pattern=SECURITY_GROUP_ID,
                                        description="security group of the cluster's nodes/pods (may reach the database)")
