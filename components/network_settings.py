"""What a user sets for the platform's network: the ``network`` section of the stack config."""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from mlops_blueprint.config_base import RetentionDays, Section
from mlops_blueprint.validation import SUBNET_ID, VPC_ID

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
# Availability zones a created VPC spans (the subnet layout reserves MAX_AZS slots per tier).
MIN_AZS, MAX_AZS = 2, 4


def _ipv4_network(value: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a valid IPv4 CIDR ({exc}); expected e.g. 10.20.0.0/16") from exc


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


class NetworkSettings(Section):
    """The VPC: created (default) or brought by the user — never both."""

    mode: Literal["create", "existing", "shared"] = "create"
    cidr: str = Field(default="10.0.0.0/16", description="VPC CIDR, a private /16 to /24")
    az_count: int = Field(default=2, ge=MIN_AZS, le=MAX_AZS, description="availability zones (2 to 4)")
    interface_endpoints: list[str] = Field(default_factory=lambda: list(INTERFACE_ENDPOINT_SERVICES))
    endpoint_az_count: int | None = Field(default=None, ge=1, le=MAX_AZS,
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
        # /24 is the smallest: each tier's MAX_AZS subnets of at least a /28 (AWS's smallest).
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
    def _one_source(self) -> NetworkSettings:
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
