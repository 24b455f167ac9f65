"""The platform's network: a private-only VPC whose only way out is VPC endpoints.

No internet gateway, no NAT, no public subnets: SageMaker jobs, endpoints and the tracking server
reach AWS APIs through interface endpoints and S3 through the gateway endpoint. That is both the
most secure layout and the cheapest (no NAT hourly/data charges). Users who already have a VPC
bring it ("existing" mode); then only the workload security group is created in it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from mlops_blueprint.components.network_settings import MAX_AZS, ExistingVpc, NetworkSettings
from mlops_blueprint.components.security_groups import HTTPS, security_group, security_group_rule
from mlops_blueprint.components.service_role import service_role, service_trust
from mlops_blueprint.context import StackContext
from mlops_blueprint.naming import NameKind
from mlops_blueprint.policy_documents import document, render, statement
from mlops_blueprint.validation import raise_invalid_args

COMPONENT = "network"
TIERS = ("training", "serving", "database")
# Each tier gets MAX_AZS slots of 1/16 of the VPC (tier-major), whatever az_count is, so adding an
# AZ later never renumbers (and so never replaces) an existing subnet. 12 slots used, 4 spare.
SUBNET_BITS = 4


@dataclass(frozen=True)
class ExistingNetwork:
    """A VPC made elsewhere: plain ids (from settings) or Outputs (from a ``pulumi.StackReference``)."""

    vpc_id: pulumi.Input[str]
    vpc_cidr: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[Sequence[str]]
    database_subnet_ids: pulumi.Input[Sequence[str]] | None = None  # None: the private subnets

    @classmethod
    def from_settings(cls, existing: ExistingVpc) -> ExistingNetwork:
        return cls(existing.vpc_id, existing.vpc_cidr, list(existing.private_subnet_ids),
                   list(existing.database_subnet_ids) or None)


def _ids(value: pulumi.Input[Sequence[str]]) -> list[pulumi.Output[str]] | pulumi.Output[list[str]]:
    """Literal id lists stay lists of Outputs; an id list known only later stays one Output."""
    if isinstance(value, (list, tuple)):
        return [pulumi.Output.from_input(v) for v in value]
    return pulumi.Output.from_input(value)


@dataclass(frozen=True)
class NetworkArgs:
    """The logs key and the user's :class:`NetworkSettings` (the ``network`` section); with
    ``settings.mode`` shared, the VPC from another stack's outputs."""

    context: StackContext
    logs_kms_key_arn: pulumi.Input[str]     # encrypts the flow-log group (Kms.logs_key_arn)
    shared_network: ExistingNetwork | None = None  # mode shared: the VPC another stack exports
    protect: bool = False                   # the flow-log group (prod: True)
    retain_on_delete: bool = False
    permissions_boundary_arn: str | None = None  # applied to the flow-log role, as to every role
    settings: NetworkSettings = field(default_factory=NetworkSettings)

    def problems(self) -> list[str]:
        """Wiring that must agree with the settings (the settings checked themselves)."""
        if self.settings.mode == "shared" and self.shared_network is None:
            return ["shared_network: required with settings.mode 'shared' (the VPC of settings.sharedStack)"]
        if self.settings.mode != "shared" and self.shared_network is not None:
            return [f"shared_network is set but settings.mode is {self.settings.mode!r}; use mode 'shared'"]
        return []

    def existing_network(self) -> ExistingNetwork | None:
        """The VPC to use rather than create (None: create one)."""
        if self.settings.existing is not None:
            return ExistingNetwork.from_settings(self.settings.existing)
        return self.shared_network


def subnet_cidrs(cidr: str, az_count: int) -> dict[str, list[str]]:
    """``{tier: [cidr per AZ]}``: deterministic, non-overlapping, stable as az_count grows."""
    slots = list(ipaddress.IPv4Network(cidr).subnets(prefixlen_diff=SUBNET_BITS))
    return {tier: [str(slots[t * MAX_AZS + i]) for i in range(az_count)] for t, tier in enumerate(TIERS)}


class Network(pulumi.ComponentResource):
    """Private subnets in three tiers, VPC endpoints, flow logs and the workload security group."""

    vpc_id: pulumi.Output[str]
    vpc_cidr: pulumi.Output[str]
    training_subnet_ids: list[pulumi.Output[str]]
    serving_subnet_ids: list[pulumi.Output[str]]
    database_subnet_ids: list[pulumi.Output[str]]
    db_subnet_group_name: pulumi.Output[str] | None
    workload_security_group_id: pulumi.Output[str]
    endpoint_security_group_id: pulumi.Output[str] | None

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        raise_invalid_args("NetworkArgs", args.problems(), subject=repr(name))  # before anything is registered
        super().__init__("mlops:network:Network", name, None, opts)
        self._prefix = name  # logical-name prefix of children (Resource owns ._name)
        self._ctx = args.context
        self._child = pulumi.ResourceOptions(parent=self)
        self._owner: dict[str, Any] = {"context": args.context, "component": COMPONENT, "opts": self._child}
        self.db_subnet_group_name = None
        self.endpoint_security_group_id = None
        existing = args.existing_network()
        if existing is not None:
            self._use_existing(existing)
        else:
            self._create(args)
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "vpcCidr": self.vpc_cidr,
                "trainingSubnetIds": self.training_subnet_ids,
                "servingSubnetIds": self.serving_subnet_ids,
                "databaseSubnetIds": self.database_subnet_ids,
                "dbSubnetGroupName": self.db_subnet_group_name,
                "workloadSecurityGroupId": self.workload_security_group_id,
                "endpointSecurityGroupId": self.endpoint_security_group_id,
            }
        )

    def _tags(self, *parts: str) -> dict[str, str]:
        return self._ctx.tagging.resource(COMPONENT, self._ctx.naming.name(*parts))

    # -- bring your own VPC -------------------------------------------------------------------
    def _use_existing(self, existing: ExistingNetwork) -> None:
        """Expose the given ids; create only what the platform's workloads need in that VPC."""
        private = _ids(existing.private_subnet_ids)
        self.vpc_id = pulumi.Output.from_input(existing.vpc_id)
        self.vpc_cidr = pulumi.Output.from_input(existing.vpc_cidr)
        self.training_subnet_ids = private
        self.serving_subnet_ids = private
        # Without database subnets of their own, databases go in the private subnets.
        self.database_subnet_ids = private if not existing.database_subnet_ids else _ids(existing.database_subnet_ids)
        if existing.database_subnet_ids:
            self.db_subnet_group_name = self._db_subnet_group(self.database_subnet_ids)
        # The AWS-managed S3 prefix list exists in every region; look it up so workloads in a
        # brought VPC reach S3 through its gateway endpoint too.
        s3_prefix_list = aws.ec2.get_prefix_list(name=f"com.amazonaws.{self._ctx.region}.s3",
                                                 opts=pulumi.InvokeOptions(parent=self))
        self.workload_security_group_id = self._workload_security_group(self.vpc_id, self.vpc_cidr, s3_prefix_list.id)

    # -- create ---------------------------------------------------------------------------------
    def _create(self, args: NetworkArgs) -> None:
        ctx, name, child, settings = self._ctx, self._prefix, self._child, args.settings
        zones = self._zones(settings.az_count)
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=settings.cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,  # both needed for interface endpoints' private DNS
            tags=self._tags("vpc"),
            opts=child,
        )
        # The default group allows all traffic between its members; strip it so nothing relies on it.
        aws.ec2.DefaultSecurityGroup(f"{name}-default", vpc_id=vpc.id, tags=self._tags("default"), opts=child)

        route_tables = [
            aws.ec2.RouteTable(f"{name}-private-{az}", vpc_id=vpc.id, tags=self._tags("private", az), opts=child)
            for az in zones.values()
        ]
        subnets: dict[str, list[aws.ec2.Subnet]] = {}
        for tier, cidrs in subnet_cidrs(settings.cidr, settings.az_count).items():
            subnets[tier] = []
            for (zone, az), subnet_cidr, route_table in zip(zones.items(), cidrs, route_tables):
                subnet = aws.ec2.Subnet(
                    f"{name}-{tier}-{az}",
                    vpc_id=vpc.id,
                    cidr_block=subnet_cidr,
                    availability_zone=zone,
                    map_public_ip_on_launch=False,
                    tags=self._tags(tier, az),
                    opts=child,
                )
                aws.ec2.RouteTableAssociation(
                    f"{name}-{tier}-{az}", subnet_id=subnet.id, route_table_id=route_table.id, opts=child
                )
                subnets[tier].append(subnet)

        region = ctx.region
        s3 = aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=vpc.id,
            service_name=f"com.amazonaws.{region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[rt.id for rt in route_tables],
            tags=self._tags("s3"),
            opts=child,
        )

        endpoint_sg = security_group(f"{name}-endpoints", purpose="vpc-endpoints", vpc_id=vpc.id, **self._owner,
                                     description="Interface VPC endpoints: HTTPS from inside the VPC only")
        security_group_rule(f"{name}-endpoints-https-from-vpc", "ingress", purpose="endpoints-https-from-vpc",
                            security_group_id=endpoint_sg.id, description="HTTPS from the VPC", port=HTTPS,
                            cidr_ipv4=settings.cidr, **self._owner)
        # Interface endpoints bill per AZ-hour: dev keeps them in one AZ, production in every AZ.
        serving_ids = [s.id for s in subnets["serving"]][: settings.endpoint_az_count or settings.az_count]
        for service in settings.interface_endpoints:  # sorted and unique (the settings say so)
            aws.ec2.VpcEndpoint(
                f"{name}-{service.replace('.', '-')}",
                vpc_id=vpc.id,
                service_name=f"com.amazonaws.{region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=serving_ids,
                security_group_ids=[endpoint_sg.id],
                tags=self._tags("vpce", service),
                opts=child,
            )

        self._flow_logs(vpc, args)

        self.vpc_id = vpc.id
        self.vpc_cidr = vpc.cidr_block
        self.training_subnet_ids = [s.id for s in subnets["training"]]
        self.serving_subnet_ids = serving_ids
        self.database_subnet_ids = [s.id for s in subnets["database"]]
        self.db_subnet_group_name = self._db_subnet_group(self.database_subnet_ids)
        self.endpoint_security_group_id = endpoint_sg.id
        self.workload_security_group_id = self._workload_security_group(vpc.id, settings.cidr, s3.prefix_list_id)

    def _zones(self, az_count: int) -> dict[str, str]:
        """``{zone name: short suffix}`` for the first ``az_count`` standard AZs of the region."""
        result = aws.get_availability_zones(
            state="available",
            # Local and Wavelength zones lack most services (and VPC endpoints): standard AZs only.
            filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
            opts=pulumi.InvokeOptions(parent=self),
        )
        names = sorted(result.names)
        if len(names) < az_count:
            raise ValueError(
                f"az_count: {az_count} exceeds the {len(names)} available AZs in {self._ctx.region} ({', '.join(names)})"
            )
        region = self._ctx.region
        return {zone: zone.removeprefix(region) or zone for zone in names[:az_count]}

    def _db_subnet_group(self, subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]) -> pulumi.Output[str]:
        group = aws.rds.SubnetGroup(
            f"{self._prefix}-db",
            name=self._ctx.naming.name("db", kind=NameKind.RDS),
            description="Database tier: private subnets, one per AZ",
            subnet_ids=list(subnet_ids) if isinstance(subnet_ids, (list, tuple)) else subnet_ids,
            tags=self._tags("db"),
            opts=self._child,
        )
        return group.name

    def _workload_security_group(
        self, vpc_id: pulumi.Input[str], vpc_cidr: pulumi.Input[str], s3_prefix_list_id: pulumi.Input[str] | None
    ) -> pulumi.Output[str]:
        """SageMaker training/serving and the tracking server.

        Ingress only from itself (distributed training talks node to node); egress HTTPS to the
        VPC (the interface endpoints) and to S3 through the gateway endpoint. Rules are separate
        resources (the v7 recommendation) so a stack can add e.g. egress to a database's group.
        """
        name = self._prefix
        sg = security_group(f"{name}-workload", purpose="workload", vpc_id=vpc_id, **self._owner,
                            description="ML workloads: no ingress but from itself, HTTPS egress to the VPC and S3 only")
        # Each rule: (direction, purpose = logical name less the prefix, description, port, peer).
        rules: list[tuple[Literal["ingress", "egress"], str, str, int | None, dict[str, pulumi.Input[str]]]] = [
            ("ingress", "workload-from-self", "Between workload nodes (distributed training)", None,
             {"referenced_security_group_id": sg.id}),
            ("egress", "workload-to-self", "Between workload nodes (distributed training)", None,
             {"referenced_security_group_id": sg.id}),
            ("egress", "workload-https-to-vpc", "HTTPS to VPC endpoints", HTTPS, {"cidr_ipv4": vpc_cidr}),
        ]
        if s3_prefix_list_id is not None:
            rules.append(("egress", "workload-https-to-s3", "HTTPS to S3 through the gateway endpoint", HTTPS,
                          {"prefix_list_id": s3_prefix_list_id}))
        for direction, purpose, description, port, peer in rules:
            security_group_rule(f"{name}-{purpose}", direction, purpose=purpose, security_group_id=sg.id,
                                description=description, port=port, **peer, **self._owner)
        return sg.id

    def _flow_logs(self, vpc: aws.ec2.Vpc, args: NetworkArgs) -> None:
        """All traffic to a KMS-encrypted log group, through a role that can write only there."""
        ctx, name, child = self._ctx, self._prefix, self._child
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            name=ctx.naming.log_group("vpc-flow-logs"),
            retention_in_days=args.settings.flow_log_retention_days,
            kms_key_id=args.logs_kms_key_arn,
            tags=self._tags("vpc-flow-logs"),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.retain_on_delete),
        )
        # Confused-deputy guard: only flow logs of this account and region may assume the role.
        trust = service_trust(ctx, "vpc-flow-logs", sid="TrustVpcFlowLogs", source_arn=ctx.arn("ec2", "vpc-flow-log/*"))
        role = service_role(f"{name}-flow-logs", context=ctx, component=COMPONENT, purpose="vpc-flow-logs",
                            description="Delivers VPC flow logs to their CloudWatch log group", trust=trust,
                            permissions_boundary_arn=args.permissions_boundary_arn, opts=child)

        def deliver(log_group_arn: str) -> dict[str, Any]:
            actions = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
            return document(statement("DeliverFlowLogs", actions, [f"{log_group_arn}:*"]))

        policy = aws.iam.RolePolicy(
            f"{name}-flow-logs",
            name="deliver-vpc-flow-logs",
            role=role.id,
            policy=render(deliver, log_group.arn),
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{name}-flow-logs",
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            tags=self._tags("vpc-flow-logs"),
            # Without the policy in place the first deliveries fail.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
