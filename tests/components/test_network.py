"""Network: a private-only VPC reachable through endpoints, or the user's own VPC."""

from __future__ import annotations

import ipaddress
import json
from itertools import combinations
from typing import Any

import pulumi
import pytest

from mlops_blueprint.components.network import ExistingNetwork, Network, NetworkArgs, subnet_cidrs
from mlops_blueprint.components.network_settings import INTERFACE_ENDPOINT_SERVICES, ExistingVpc, NetworkSettings
from mlops_blueprint.context import StackContext
from mlops_blueprint.mock_runtime import MOCK_ACCOUNT_ID, MockRun, Registration, run_program
from support.components import split_settings

COMPONENT = "mlops:network:Network"
VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
RTA = "aws:ec2/routeTableAssociation:RouteTableAssociation"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
SG = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
DB_GROUP = "aws:rds/subnetGroup:SubnetGroup"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"

LOGS_KEY = f"arn:aws:kms:us-east-1:{MOCK_ACCOUNT_ID}:key/logs-key"
EXISTING = ExistingVpc(
    vpc_id="vpc-0abc12345def67890",
    vpc_cidr="172.31.0.0/16",
    private_subnet_ids=["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
)
OUTPUTS = (
    "vpc_id", "vpc_cidr", "training_subnet_ids", "serving_subnet_ids", "database_subnet_ids",
    "db_subnet_group_name", "workload_security_group_id", "endpoint_security_group_id",
)


def build(ctx: StackContext, **kwargs: Any) -> MockRun:
    """Run one Network under mocks and export every public attribute under its own name; keyword
    arguments that are settings (``existing`` implies mode existing) go to :class:`NetworkSettings`."""
    if "existing" in kwargs:
        kwargs.setdefault("mode", "existing")
    settings, wiring = split_settings(NetworkSettings, kwargs)

    def program() -> None:
        network = Network("net", NetworkArgs(context=ctx, logs_kms_key_arn=LOGS_KEY, settings=settings, **wiring))
        for attribute in OUTPUTS:
            pulumi.export(attribute, getattr(network, attribute))
        # The engine drops None exports; record which attributes were None.
        pulumi.export("none", [a for a in OUTPUTS if getattr(network, a) is None])

    return run_program(program, stack=ctx.environment, project="mlops-platform", region=ctx.region)


def subnets_by_tier(run: MockRun) -> dict[str, list[Registration]]:
    tiers: dict[str, list[Registration]] = {"training": [], "serving": [], "database": []}
    for subnet in run.of_type(SUBNET):
        tier = subnet.name.split("-")[1]
        tiers[tier].append(subnet)
    return tiers


def ids(registrations: list[Registration]) -> set[str]:
    return {r.id for r in registrations if r.id}


def sg_named(run: MockRun, name: str) -> Registration:
    return run.named(SG, name)


def rules_of(run: MockRun, type_: str, sg: Registration) -> list[Registration]:
    return [r for r in run.of_type(type_) if r.inputs["securityGroupId"] == sg.id]


# -- create mode --------------------------------------------------------------------------------


@pytest.mark.parametrize("az_count", [2, 3, 4])
def test_three_private_tiers_per_az_inside_the_vpc_cidr(dev_context: StackContext, az_count: int) -> None:
    run = build(dev_context, cidr="10.10.0.0/16", az_count=az_count)
    vpc = run.of_type(VPC)
    assert len(vpc) == 1
    assert vpc[0].inputs["cidrBlock"] == "10.10.0.0/16"
    assert vpc[0].inputs["enableDnsSupport"] is True and vpc[0].inputs["enableDnsHostnames"] is True

    subnets = run.of_type(SUBNET)
    assert len(subnets) == 3 * az_count
    network = ipaddress.IPv4Network("10.10.0.0/16")
    cidrs = [ipaddress.IPv4Network(s.inputs["cidrBlock"]) for s in subnets]
    assert all(c.subnet_of(network) for c in cidrs)
    assert not any(a.overlaps(b) for a, b in combinations(cidrs, 2))
    for subnet in subnets:
        assert subnet.inputs["mapPublicIpOnLaunch"] is False
        assert subnet.inputs["vpcId"] == vpc[0].id
    for tier, members in subnets_by_tier(run).items():
        zones = [s.inputs["availabilityZone"] for s in members]
        assert len(members) == az_count, tier
        assert len(set(zones)) == az_count, tier
        assert set(zones) == {f"us-east-1{letter}" for letter in "abcd"[:az_count]}


def test_subnet_cidrs_are_stable_when_an_az_is_added() -> None:
    two, three = subnet_cidrs("10.0.0.0/16", 2), subnet_cidrs("10.0.0.0/16", 3)
    for tier in ("training", "serving", "database"):
        assert three[tier][:2] == two[tier]
    assert subnet_cidrs("10.0.0.0/24", 4)["database"][-1] == "10.0.0.176/28"


def test_no_path_to_or_from_the_internet(dev_context: StackContext) -> None:
    run = build(dev_context)
    types = {r.type for r in run.registrations}
    for forbidden in (
        "aws:ec2/internetGateway:InternetGateway",
        "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway",
        "aws:ec2/natGateway:NatGateway",
        "aws:ec2/eip:Eip",
        "aws:ec2/route:Route",
    ):
        assert forbidden not in types
    assert all(not rt.inputs.get("routes") for rt in run.of_type(ROUTE_TABLE))
    for rule in run.of_type(INGRESS) + run.of_type(EGRESS):
        assert rule.inputs.get("cidrIpv4") not in ("0.0.0.0/0",), rule.name
        assert "cidrIpv6" not in rule.inputs, rule.name
    for sg in run.of_type(SG):
        # Rules live in their own resources; nothing inline could slip a 0.0.0.0/0 in.
        assert not sg.inputs.get("ingress") and not sg.inputs.get("egress"), sg.name


def test_default_security_group_is_stripped_of_all_rules(dev_context: StackContext) -> None:
    run = build(dev_context)
    default = run.of_type(DEFAULT_SG)
    assert len(default) == 1
    assert default[0].inputs["vpcId"] == run.of_type(VPC)[0].id
    assert not default[0].inputs.get("ingress") and not default[0].inputs.get("egress")


def test_one_private_route_table_per_az_with_the_s3_gateway_on_all_of_them(dev_context: StackContext) -> None:
    run = build(dev_context, az_count=3)
    tables = run.of_type(ROUTE_TABLE)
    assert len(tables) == 3
    # Each subnet is associated exactly once, with the route table of its own AZ.
    associations = {a.inputs["subnetId"]: a.inputs["routeTableId"] for a in run.of_type(RTA)}
    assert len(run.of_type(RTA)) == len(associations) == 9
    table_by_id = {t.id: t for t in tables}
    for subnet in run.of_type(SUBNET):
        table = table_by_id[associations[subnet.id]]
        assert table.name.endswith(subnet.inputs["availabilityZone"].removeprefix("us-east-1"))

    gateways = [e for e in run.of_type(ENDPOINT) if e.inputs["vpcEndpointType"] == "Gateway"]
    assert len(gateways) == 1
    assert gateways[0].inputs["serviceName"] == "com.amazonaws.us-east-1.s3"
    assert set(gateways[0].inputs["routeTableIds"]) == ids(tables)


@pytest.mark.parametrize("services", [list(INTERFACE_ENDPOINT_SERVICES), ["sts", "logs", "sagemaker.runtime"]])
def test_interface_endpoints_are_private_in_the_serving_subnets(context_for: Any, services: list[str]) -> None:
    ctx = context_for("staging", region="eu-west-1")
    run = build(ctx, interface_endpoints=services)
    interfaces = [e for e in run.of_type(ENDPOINT) if e.inputs["vpcEndpointType"] == "Interface"]
    assert sorted(e.inputs["serviceName"] for e in interfaces) == sorted(f"com.amazonaws.eu-west-1.{s}" for s in services)
    serving = ids(subnets_by_tier(run)["serving"])
    endpoint_sg = sg_named(run, "net-endpoints")
    for endpoint in interfaces:
        assert endpoint.inputs["privateDnsEnabled"] is True
        assert set(endpoint.inputs["subnetIds"]) == serving
        assert endpoint.inputs["securityGroupIds"] == [endpoint_sg.id]
        assert endpoint.inputs["vpcId"] == run.of_type(VPC)[0].id


def test_endpoint_security_group_allows_https_from_the_vpc_only(dev_context: StackContext) -> None:
    run = build(dev_context, cidr="10.10.0.0/16")
    endpoint_sg = sg_named(run, "net-endpoints")
    ingress = rules_of(run, INGRESS, endpoint_sg)
    assert [(r.inputs["ipProtocol"], r.inputs["fromPort"], r.inputs["toPort"], r.inputs["cidrIpv4"]) for r in ingress] == [
        ("tcp", 443, 443, "10.10.0.0/16")
    ]
    assert rules_of(run, EGRESS, endpoint_sg) == []


def test_workload_security_group_talks_to_itself_and_https_to_the_vpc_and_s3(dev_context: StackContext) -> None:
    run = build(dev_context, cidr="10.10.0.0/16")
    workload = sg_named(run, "net-workload")
    assert workload.inputs["vpcId"] == run.of_type(VPC)[0].id
    ingress = rules_of(run, INGRESS, workload)
    assert len(ingress) == 1
    assert ingress[0].inputs["referencedSecurityGroupId"] == workload.id
    assert "cidrIpv4" not in ingress[0].inputs and "prefixListId" not in ingress[0].inputs

    egress = rules_of(run, EGRESS, workload)
    s3 = next(e for e in run.of_type(ENDPOINT) if e.inputs["vpcEndpointType"] == "Gateway")
    targets = set()
    for rule in egress:
        if rule.inputs.get("referencedSecurityGroupId") == workload.id:
            targets.add("self")
            continue
        assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == ("tcp", 443, 443)
        targets.add(rule.inputs.get("cidrIpv4") or rule.inputs.get("prefixListId"))
    assert targets == {"self", "10.10.0.0/16", s3.outputs["prefixListId"]}
    assert len(egress) == 3


def test_db_subnet_group_spans_the_database_subnets(dev_context: StackContext) -> None:
    run = build(dev_context, az_count=3)
    groups = run.of_type(DB_GROUP)
    assert len(groups) == 1
    assert set(groups[0].inputs["subnetIds"]) == ids(subnets_by_tier(run)["database"])
    assert groups[0].inputs["name"] == "mlops-platform-dev-db"
    assert run.outputs["db_subnet_group_name"] == "mlops-platform-dev-db"


def test_flow_logs_capture_all_traffic_into_an_encrypted_log_group(dev_context: StackContext) -> None:
    run = build(dev_context, flow_log_retention_days=14)
    (flow_log,), (log_group,), (role,) = run.of_type(FLOW_LOG), run.of_type(LOG_GROUP), run.of_type(ROLE)
    assert flow_log.inputs["trafficType"] == "ALL"
    assert flow_log.inputs["vpcId"] == run.of_type(VPC)[0].id
    assert flow_log.inputs["logDestinationType"] == "cloud-watch-logs"
    assert flow_log.inputs["logDestination"] == log_group.outputs["arn"]
    assert flow_log.inputs["iamRoleArn"] == role.outputs["arn"]
    assert log_group.inputs["name"] == dev_context.naming.log_group("vpc-flow-logs") == "/mlops-platform/dev/vpc-flow-logs"
    assert log_group.inputs["kmsKeyId"] == LOGS_KEY
    assert log_group.inputs["retentionInDays"] == 14
    # The flow log waits for its role's permissions.
    assert run.named(ROLE_POLICY, "net-flow-logs").urn in flow_log.dependencies


def test_flow_log_role_is_trusted_by_flow_logs_of_this_account_and_writes_only_its_group(dev_context: StackContext) -> None:
    run = build(dev_context)
    (role,), (policy,), (log_group,) = run.of_type(ROLE), run.of_type(ROLE_POLICY), run.of_type(LOG_GROUP)
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Action"] == ["sts:AssumeRole"]
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": MOCK_ACCOUNT_ID}
    assert role.inputs["name"] == dev_context.naming.role("vpc-flow-logs")

    assert policy.inputs["role"] == role.id
    statements = json.loads(policy.inputs["policy"])["Statement"]
    assert statements == [
        {
            "Sid": statements[0]["Sid"],
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            "Resource": [f"{log_group.outputs['arn']}:*"],
        }
    ]


@pytest.mark.parametrize("stateful", [True, False])
def test_only_the_flow_log_group_is_protected_and_retained(prod_context: StackContext, stateful: bool) -> None:
    run = build(prod_context, protect=stateful, retain_on_delete=stateful)
    (log_group,) = run.of_type(LOG_GROUP)
    assert (log_group.protect, log_group.retain_on_delete) == (stateful, stateful)
    others = [r for r in run.registrations if r.urn != log_group.urn]
    assert not any(r.protect or r.retain_on_delete for r in others)


def test_every_child_is_parented_to_the_component(dev_context: StackContext) -> None:
    run = build(dev_context)
    (component,) = run.of_type(COMPONENT)
    resources = [r for r in run.registrations if r.custom and not r.type.startswith("pulumi:")]
    assert resources
    assert all(r.parent == component.urn for r in resources)


def test_public_attributes_point_at_the_created_resources(dev_context: StackContext) -> None:
    run = build(dev_context, cidr="10.10.0.0/16")
    tiers = subnets_by_tier(run)
    assert run.outputs["vpc_id"] == run.of_type(VPC)[0].id
    assert run.outputs["vpc_cidr"] == "10.10.0.0/16"
    for tier in ("training", "serving", "database"):
        assert run.outputs[f"{tier}_subnet_ids"] == [s.id for s in sorted(tiers[tier], key=lambda s: s.inputs["availabilityZone"])]
    assert run.outputs["workload_security_group_id"] == sg_named(run, "net-workload").id
    assert run.outputs["endpoint_security_group_id"] == sg_named(run, "net-endpoints").id
    assert run.outputs["none"] == []


# -- bring your own VPC -------------------------------------------------------------------------


def test_existing_vpc_creates_only_the_workload_security_group(dev_context: StackContext) -> None:
    run = build(dev_context, existing=EXISTING)
    for absent in (VPC, SUBNET, ROUTE_TABLE, RTA, ENDPOINT, DEFAULT_SG, DB_GROUP, FLOW_LOG, LOG_GROUP, ROLE, ROLE_POLICY):
        assert run.of_type(absent) == [], absent
    (workload,) = run.of_type(SG)
    assert workload.inputs["vpcId"] == EXISTING.vpc_id
    egress_cidrs = {r.inputs.get("cidrIpv4") for r in rules_of(run, EGRESS, workload)} - {None}
    assert egress_cidrs == {"172.31.0.0/16"}
    # S3 through the region's managed prefix list (looked up, since the gateway endpoint is the user's).
    egress_prefix_lists = {r.inputs.get("prefixListId") for r in rules_of(run, EGRESS, workload)} - {None}
    assert egress_prefix_lists == {"pl-63a5400a"}
    assert all(r.inputs.get("referencedSecurityGroupId") == workload.id for r in rules_of(run, INGRESS, workload))

    private = EXISTING.private_subnet_ids
    assert run.outputs["vpc_id"] == EXISTING.vpc_id
    assert run.outputs["vpc_cidr"] == EXISTING.vpc_cidr
    assert run.outputs["training_subnet_ids"] == private
    assert run.outputs["serving_subnet_ids"] == private
    assert run.outputs["database_subnet_ids"] == private
    assert run.outputs["none"] == ["db_subnet_group_name", "endpoint_security_group_id"]
    assert run.outputs["workload_security_group_id"] == workload.id


def test_existing_vpc_with_database_subnets_gets_a_db_subnet_group(dev_context: StackContext) -> None:
    database = ["subnet-0cccccccccccccccc", "subnet-0dddddddddddddddd"]
    run = build(dev_context, existing=EXISTING.model_copy(update={"database_subnet_ids": database}))
    (group,) = run.of_type(DB_GROUP)
    assert group.inputs["subnetIds"] == database
    assert run.outputs["database_subnet_ids"] == database
    assert run.outputs["db_subnet_group_name"] == group.inputs["name"]
    assert run.of_type(VPC) == [] and run.of_type(SUBNET) == []


# -- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "names"),
    [
        ({"az_count": 1}, ["az_count", "greater than or equal to 2"]),
        ({"az_count": 5}, ["az_count", "less than or equal to 4"]),
        ({"cidr": "10.0.0.0/25"}, ["cidr", "/16 to /24"]),
        ({"cidr": "10.0.0.0/12"}, ["cidr", "/16 to /24"]),
        ({"cidr": "not-a-cidr"}, ["cidr", "10.20.0.0/16"]),
        ({"cidr": "10.0.0.1/16"}, ["cidr", "host bits set"]),
        ({"cidr": "8.8.0.0/16"}, ["cidr", "private"]),
        ({"interface_endpoints": ["sts", "s3"]}, ["interface_endpoints", "'s3'", "sagemaker.api"]),
        ({"interface_endpoints": "sts"}, ["interface_endpoints", "valid list"]),
        ({"flow_log_retention_days": 10}, ["flow_log_retention_days", "365"]),
        ({"az_count": 3, "endpoint_az_count": 4}, ["endpointAzCount (4) exceeds network.azCount (3)"]),
        ({"existing": EXISTING}, ["mode is 'create'"]),
        ({"mode": "existing"}, ["needs network.existing"]),
        ({"mode": "shared"}, ["needs network.sharedStack"]),
    ],
)
def test_bad_settings_are_rejected_naming_the_key(values: dict[str, Any], names: list[str]) -> None:
    """The settings check themselves when built: a Network never sees values AWS would refuse."""
    with pytest.raises(ValueError) as excinfo:
        NetworkSettings(**values)
    message = str(excinfo.value)
    for name in names:
        assert name in message


def test_all_problems_are_reported_at_once() -> None:
    with pytest.raises(ValueError) as excinfo:
        NetworkSettings(az_count=9, cidr="10.0.0.0/28")
    assert "az_count" in str(excinfo.value) and "cidr" in str(excinfo.value)


SHARED = ExistingNetwork(vpc_id="vpc-0123456789abcdef0", vpc_cidr="10.40.0.0/16",
                         private_subnet_ids=["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"])


@pytest.mark.parametrize(
    ("settings", "shared", "expected"),
    [
        (NetworkSettings(mode="shared", shared_stack="acme/net/shared"), None, "shared_network: required"),
        (NetworkSettings(), SHARED, "settings.mode is 'create'"),
        (NetworkSettings(mode="existing", existing=EXISTING), SHARED, "settings.mode is 'existing'"),
    ],
)
def test_shared_network_must_agree_with_the_mode_before_anything_is_registered(
    dev_context: StackContext, settings: NetworkSettings, shared: ExistingNetwork | None, expected: str
) -> None:
    caught: list[ValueError] = []

    def program() -> None:
        with pytest.raises(ValueError) as excinfo:
            Network("net", NetworkArgs(context=dev_context, logs_kms_key_arn=LOGS_KEY, shared_network=shared,
                                       settings=settings))
        caught.append(excinfo.value)

    run = run_program(program, stack="dev", project="mlops-platform")
    assert "invalid NetworkArgs" in str(caught[0]) and expected in str(caught[0])
    assert [r.type for r in run.registrations] == ["pulumi:pulumi:Stack"]


def test_shared_mode_uses_the_vpc_of_the_shared_stack(dev_context: StackContext) -> None:
    run = build(dev_context, mode="shared", shared_stack="acme/net/shared", shared_network=SHARED)
    assert run.of_type(VPC) == [] and run.of_type(SUBNET) == []
    (workload,) = run.of_type(SG)
    assert workload.inputs["vpcId"] == SHARED.vpc_id
    assert run.outputs["training_subnet_ids"] == SHARED.private_subnet_ids


def test_interface_endpoints_can_be_kept_to_fewer_azs(dev_context: StackContext) -> None:
    run = build(dev_context, az_count=3, endpoint_az_count=1, interface_endpoints=["sts", "logs"])
    serving = sorted(subnets_by_tier(run)["serving"], key=lambda s: s.inputs["availabilityZone"])
    endpoints = [e for e in run.of_type(ENDPOINT) if e.inputs["vpcEndpointType"] == "Interface"]
    assert len(endpoints) == 2 and all(e.inputs["subnetIds"] == [serving[0].id] for e in endpoints)


@pytest.mark.parametrize("existing", [False, True])
def test_every_security_group_rule_is_tagged_as_the_networks(dev_context: StackContext, existing: bool) -> None:
    """Rules are taggable resources: without the component tag the policy pack rejects them."""
    run = build(dev_context, existing=EXISTING) if existing else build(dev_context)
    rules = run.of_type(INGRESS) + run.of_type(EGRESS)
    assert rules
    for rule in rules:
        assert rule.inputs["tags"]["component"] == "network", rule.name
        assert rule.inputs["tags"]["Name"].startswith("mlops-platform-dev-"), rule.name
    assert len({rule.inputs["tags"]["Name"] for rule in rules}) == len(rules)
