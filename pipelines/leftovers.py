"""``mlops-blueprint leftovers --stack ENV`` and ``mlops-blueprint pipeline cleanup``.

**leftovers** lists what still exists in the account that belongs to a stack, with each item's
monthly cost from the price table (:mod:`mlops_blueprint.prices`, priced by
:func:`mlops_blueprint.cost.price_resource`), and exits 1 if anything is left:

* **by tags** — every resource the Resource Groups Tagging API knows with the stack's tags
  ``project=mlops-platform`` and ``environment=<env>`` (the provider's default tags, so every
  taggable resource Pulumi created);
* **by name** — what the pipeline steps and SageMaker create without the stack's tags, named after
  the stack's prefix ``mlops-platform-<env>``: endpoints, endpoint configurations and models
  (``pipeline deploy``), MLflow tracking servers and MLflow Apps, log groups
  (``/aws/sagemaker/Endpoints/<prefix>...``, ``/aws/sagemaker/ProcessingJobs`` streams are not
  ours alone and are not listed) and network interfaces left by SageMaker VPC jobs (by the
  stack's security group: its id from ``--outputs``, or its name ``<prefix>-*``).

KMS keys pending deletion and S3 buckets are listed like anything else (a retained bucket is a
bill); keys pending deletion are shown but do not count as left, they go away by themselves.

The stack's identity (environment, region, prefix) comes from its stack file
(``stacks/Pulumi.<env>.yaml``) — the stack's outputs are gone after a destroy — or from
``--outputs FILE`` saved before the destroy, which also gives the VPC and security group.

**cleanup** (:func:`cleanup`) removes what the pipeline steps created and only that: SageMaker
endpoints, endpoint configurations and models named after the stack that do **not** carry the
``managed-by: pulumi`` tag (Pulumi's default tags put it on everything Pulumi creates), in
dependency order (an endpoint the stack declares is never deleted; a configuration an endpoint
uses and a model a remaining configuration uses are kept), then the log groups of endpoints that
no longer exist and detached network interfaces of the stack's security group.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mlops_blueprint.outputs import Out
from mlops_blueprint.pipelines.cli import add_report_command, report_handler
from mlops_blueprint.pipelines.errors import InputError

PROJECT = "mlops-platform"
MANAGED_BY = ("managed-by", "pulumi")
ENDPOINT_LOG_PREFIX = "/aws/sagemaker/Endpoints/"


@dataclass(frozen=True)
class StackIdentity:
    stack: str
    environment: str
    region: str
    project: str = PROJECT
    vpc_id: str | None = None
    security_group_id: str | None = None
    endpoint_names: tuple[str, ...] = ()     # the endpoints the stack declares (from --outputs)

    @property
    def prefix(self) -> str:
        return f"{self.project}-{self.environment}"


def identity_from_stack_file(stack: str, config_file: str | Path | None = None) -> StackIdentity:
    from mlops_blueprint.config import ConfigError, parse_config, raw_stack_config
    from mlops_blueprint.preview import load_stack_file, stack_file

    try:
        config = parse_config(raw_stack_config(load_stack_file(Path(config_file) if config_file else stack_file(stack)),
                                               stack))
    except ConfigError as exc:
        raise InputError(f"stack '{stack}': {exc}") from None
    return StackIdentity(stack, config.environment, config.region)


def identity_from_outputs(outputs: Any) -> StackIdentity:
    endpoints = outputs.get(Out.ENDPOINT_NAMES) or {}
    return StackIdentity(outputs.stack, str(outputs.require(Out.ENVIRONMENT, "naming the stack's resources")),
                         str(outputs.require(Out.REGION, "every AWS client")),
                         vpc_id=outputs.get(Out.VPC_ID), security_group_id=outputs.get(Out.WORKLOAD_SECURITY_GROUP_ID),
                         endpoint_names=tuple(sorted(str(v) for v in (endpoints.values()
                                                                      if isinstance(endpoints, Mapping) else endpoints))))


@dataclass(frozen=True)
class Leftover:
    kind: str                 # "sagemaker endpoint", "s3 bucket", ...
    name: str
    arn: str
    found_by: str             # "tags" | "name" | "security group"
    monthly: float | None     # USD; None: not in the price table
    counts: bool = True       # False: goes away by itself (a KMS key pending deletion)
    note: str = ""
    managed_by_pulumi: bool = False


@dataclass
class LeftoverReport:
    identity: StackIdentity
    items: list[Leftover] = field(default_factory=list)

    @property
    def left(self) -> list[Leftover]:
        return [i for i in self.items if i.counts]

    @property
    def monthly(self) -> float:
        return round(sum(i.monthly or 0.0 for i in self.left), 2)


def _tags(pairs: Iterable[Mapping[str, str]] | None) -> dict[str, str]:
    return {p["Key"]: p["Value"] for p in pairs or []}


def _total(lines: Sequence[Any]) -> float | None:
    if any(line.unit_price is None for line in lines):
        return None
    return round(sum(line.monthly or 0.0 for line in lines), 2)


class _Finder:
    """The reads behind :func:`find_leftovers`, one AWS client per service."""

    def __init__(self, identity: StackIdentity, client: Callable[[str], Any]) -> None:
        self.identity, self.client = identity, client
        self._clients: dict[str, Any] = {}

    def c(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.client(service)
        return self._clients[service]

    # -- prices ------------------------------------------------------------------------------------------
    def endpoint_cost(self, config_name: str) -> float | None:
        from mlops_blueprint.cost import price_resource

        from botocore.exceptions import ClientError

        try:
            config = self.c("sagemaker").describe_endpoint_config(EndpointConfigName=config_name)
        except ClientError:
            return None  # its configuration is gone already: not in the table, not guessed
        variants = [{"variantName": v["VariantName"], "instanceType": v.get("InstanceType"),
                     "initialInstanceCount": v.get("InitialInstanceCount"),
                     "serverlessConfig": v.get("ServerlessConfig")} for v in config.get("ProductionVariants", [])]
        return _total(price_resource("aws:sagemaker/endpointConfiguration:EndpointConfiguration",
                                     {"productionVariants": variants}))

    def price_arn(self, arn: str) -> tuple[str, str, float | None, bool, str]:
        """(kind, name, monthly, counts, note) of a tagged resource."""
        from mlops_blueprint.cost import price_resource

        service, resource = arn.split(":")[2], arn.split(":", 5)[5]
        kind_name = resource.replace(":", "/", 1).split("/", 1)
        kind, name = (kind_name[0], kind_name[1]) if len(kind_name) == 2 else (service, resource)
        label = f"{service} {kind}"
        if service == "s3":
            return "s3 bucket", resource, _total(price_resource("aws:s3/bucket:Bucket", {"bucket": resource})), True, \
                "S3 GB stored assumed by bucket purpose"
        if service == "sagemaker" and kind == "endpoint":
            live = self.c("sagemaker").describe_endpoint(EndpointName=name)
            return label, name, self.endpoint_cost(live["EndpointConfigName"]), True, "instances per variant x count"
        if service == "sagemaker" and kind == "mlflow-tracking-server":
            size = self.c("sagemaker").describe_mlflow_tracking_server(TrackingServerName=name).get("TrackingServerSize")
            return label, name, _total(price_resource("aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer",
                                                      {"trackingServerSize": size or "Small"})), True, ""
        if service == "kms" and kind == "key":
            state = self.c("kms").describe_key(KeyId=arn)["KeyMetadata"].get("KeyState")
            if state == "PendingDeletion":
                return label, name, 0.0, False, "pending deletion: goes away by itself"
            return label, name, _total(price_resource("aws:kms/key:Key", {})), True, ""
        if service == "logs":
            return "log group", name.removesuffix(":*"), _total(price_resource("aws:cloudwatch/logGroup:LogGroup", {})), \
                True, "assumed volume"
        if service == "cloudwatch" and kind == "alarm":
            return label, name, _total(price_resource("aws:cloudwatch/metricAlarm:MetricAlarm", {})), True, ""
        if service == "cloudwatch" and kind == "dashboard":
            return label, name, _total(price_resource("aws:cloudwatch/dashboard:Dashboard", {})), True, ""
        if service == "secretsmanager":
            return label, name, _total(price_resource("aws:secretsmanager/secret:Secret", {})), True, ""
        if service == "ecr":
            return label, name, _total(price_resource("aws:ecr/repository:Repository", {})), True, "assumed storage"
        if service == "ec2" and kind == "vpc-endpoint":
            described = self.c("ec2").describe_vpc_endpoints(VpcEndpointIds=[name])["VpcEndpoints"]
            inputs = {"vpcEndpointType": described[0].get("VpcEndpointType"), "serviceName": described[0].get("ServiceName"),
                      "subnetIds": described[0].get("SubnetIds", [])} if described else {}
            return label, name, _total(price_resource("aws:ec2/vpcEndpoint:VpcEndpoint", inputs)), True, ""
        if service == "ec2" and kind == "natgateway":
            return label, name, _total(price_resource("aws:ec2/natGateway:NatGateway", {})), True, ""
        if service == "rds" and kind == "db":
            db = self.c("rds").describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]
            return label, name, _total(price_resource("aws:rds/instance:Instance", {
                "instanceClass": db.get("DBInstanceClass"), "multiAz": db.get("MultiAZ"),
                "allocatedStorage": db.get("AllocatedStorage")})), True, ""
        # No idle charge in the price table (roles, policies, subnets, topics, configurations, ...).
        return label, name, 0.0, True, "no idle charge"

    # -- reads -----------------------------------------------------------------------------------------------
    def tagged(self) -> list[Leftover]:
        found = []
        paginator = self.c("resourcegroupstaggingapi").get_paginator("get_resources")
        filters = [{"Key": "project", "Values": [self.identity.project]},
                   {"Key": "environment", "Values": [self.identity.environment]}]
        for page in paginator.paginate(TagFilters=filters):
            for item in page.get("ResourceTagMappingList", []):
                arn = item["ResourceARN"]
                kind, name, monthly, counts, note = self.price_arn(arn)
                tags = _tags(item.get("Tags"))
                found.append(Leftover(kind, name, arn, "tags", monthly, counts, note,
                                      tags.get(MANAGED_BY[0]) == MANAGED_BY[1]))
        return found

    def sagemaker_by_name(self) -> list[Leftover]:
        sm, prefix, found = self.c("sagemaker"), self.identity.prefix, []
        for page in sm.get_paginator("list_endpoints").paginate(NameContains=prefix):
            for e in page.get("Endpoints", []):
                if e["EndpointName"].startswith(prefix):
                    live = sm.describe_endpoint(EndpointName=e["EndpointName"])
                    found.append(self._named("sagemaker endpoint", e["EndpointName"], e["EndpointArn"],
                                             self.endpoint_cost(live["EndpointConfigName"]), "instances per variant x count"))
        for page in sm.get_paginator("list_endpoint_configs").paginate(NameContains=prefix):
            for e in page.get("EndpointConfigs", []):
                if e["EndpointConfigName"].startswith(prefix):
                    found.append(self._named("sagemaker endpoint-config", e["EndpointConfigName"],
                                             e["EndpointConfigArn"], 0.0, "no charge; billed through its endpoint"))
        for page in sm.get_paginator("list_models").paginate(NameContains=prefix):
            for m in page.get("Models", []):
                if m["ModelName"].startswith(prefix):
                    found.append(self._named("sagemaker model", m["ModelName"], m["ModelArn"], 0.0, "no charge"))
        return found

    def mlflow_by_name(self) -> list[Leftover]:
        from botocore.exceptions import ClientError

        from mlops_blueprint.cost import price_resource

        sm, prefix, found = self.c("sagemaker"), self.identity.prefix, []
        try:
            for page in sm.get_paginator("list_mlflow_tracking_servers").paginate():
                for item in page.get("TrackingServerSummaries", []):
                    name = item["TrackingServerName"]
                    if name.startswith(prefix):
                        size = sm.describe_mlflow_tracking_server(TrackingServerName=name).get("TrackingServerSize")
                        monthly = _total(price_resource("aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer",
                                                        {"trackingServerSize": size or "Small"}))
                        found.append(self._named("sagemaker mlflow-tracking-server", name, item["TrackingServerArn"],
                                                 monthly, f"{item.get('TrackingServerStatus', '')}".strip()))
            for page in sm.get_paginator("list_mlflow_apps").paginate():
                for item in page.get("Summaries", []):
                    if item.get("Name", "").startswith(prefix):
                        found.append(self._named("sagemaker mlflow-app", item["Name"], item.get("Arn", ""), 0.0,
                                                 "no hourly charge"))
        except (ClientError, NotImplementedError) as exc:
            # An emulator (moto) without these APIs: say so rather than report "nothing left".
            if isinstance(exc, ClientError) and _code(exc) not in ("InvalidAction", "UnknownOperationException",
                                                                   "NotImplemented", "InternalFailure"):
                raise
            found.append(Leftover("sagemaker mlflow", "(not checked)", "", "name", None, False,
                                  f"this SageMaker endpoint does not answer MLflow listings ({type(exc).__name__})"))
        return found

    def log_groups(self) -> list[Leftover]:
        from mlops_blueprint.cost import price_resource

        logs, found = self.c("logs"), []
        monthly = _total(price_resource("aws:cloudwatch/logGroup:LogGroup", {}))
        for prefix in (f"{ENDPOINT_LOG_PREFIX}{self.identity.prefix}", f"/{self.identity.prefix}",
                       self.identity.prefix):
            for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=prefix):
                for group in page.get("logGroups", []):
                    found.append(self._named("log group", group["logGroupName"],
                                             group.get("arn", "").removesuffix(":*"), monthly, "assumed volume"))
        return found

    def network_interfaces(self) -> list[Leftover]:
        ec2 = self.c("ec2")
        if self.identity.security_group_id:
            groups = [self.identity.security_group_id]
        else:
            described = ec2.describe_security_groups(Filters=[{"Name": "group-name",
                                                               "Values": [f"{self.identity.prefix}-*"]}])
            groups = [g["GroupId"] for g in described.get("SecurityGroups", [])]
        if not groups:
            return []
        found = []
        for page in ec2.get_paginator("describe_network_interfaces").paginate(
                Filters=[{"Name": "group-id", "Values": groups}]):
            for eni in page.get("NetworkInterfaces", []):
                eni_id = eni["NetworkInterfaceId"]
                arn = f"arn:aws:ec2:{self.identity.region}:{eni.get('OwnerId', '')}:network-interface/{eni_id}"
                found.append(Leftover("ec2 network-interface", eni_id, arn, "security group", 0.0, True,
                                      f"{eni.get('Status', '?')}: {eni.get('Description', '')}; no charge, but it "
                                      "blocks deleting the security group and subnets"))
        return found

    def _named(self, kind: str, name: str, arn: str, monthly: float | None, note: str) -> Leftover:
        managed = False
        if arn and kind.startswith("sagemaker"):
            try:
                managed = _tags(self.c("sagemaker").list_tags(ResourceArn=arn).get("Tags")).get(MANAGED_BY[0]) == MANAGED_BY[1]
            except Exception:  # noqa: BLE001 - untaggable or gone meanwhile: treat as not Pulumi's
                managed = False
        return Leftover(kind, name, arn, "name", monthly, True, note, managed)


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", "")) or type(exc).__name__


def find_leftovers(identity: StackIdentity, client: Callable[[str], Any]) -> LeftoverReport:
    """Everything of the stack still in the account (``client``: service name -> boto3 client)."""
    from botocore.exceptions import BotoCoreError, ClientError

    finder = _Finder(identity, client)
    report = LeftoverReport(identity)
    seen: set[str] = set()
    try:
        for group in (finder.tagged(), finder.sagemaker_by_name(), finder.mlflow_by_name(), finder.log_groups(),
                      finder.network_interfaces()):
            for item in group:
                key = item.arn or f"{item.kind}/{item.name}"
                if key not in seen:
                    seen.add(key)
                    report.items.append(item)
    except ClientError as exc:
        raise InputError(f"AWS refused a read ({_code(exc)}): {exc}. Check the credentials and region "
                         f"({identity.region}).") from None
    except BotoCoreError as exc:
        raise InputError(f"cannot reach AWS: {exc}") from None
    report.items.sort(key=lambda i: (i.kind, i.name))
    return report


def render(report: LeftoverReport, console: Console) -> None:
    identity = report.identity
    table = Table(title=f"Left in {identity.region} by stack {identity.stack} (prefix {identity.prefix})")
    for column in ("Kind", "Name", "Found by", "Monthly (USD)", "Note"):
        table.add_column(column, overflow="fold", justify="right" if column.startswith("Monthly") else "left")
    for item in report.items:
        money = "—" if item.monthly is None else f"${item.monthly:,.2f}"
        note = escape(item.note)  # descriptions come from AWS: not markup
        table.add_row(item.kind, escape(item.name), item.found_by + (" (pulumi)" if item.managed_by_pulumi else ""),
                      money, note if item.counts else f"[dim]{note}[/]")
    console.print(table)
    if report.left:
        console.print(f"[bold red]{len(report.left)} resource(s) left[/], about ${report.monthly:,.2f} a month "
                      "(price table: mlops_blueprint.prices; '—' is not in the table)")
    else:
        console.print("[green]nothing of this stack is left[/]")


def _session(region: str) -> Any:
    import boto3

    return boto3.session.Session(region_name=region)


def _find(args: argparse.Namespace) -> LeftoverReport:
    if args.outputs:
        from mlops_blueprint.pipelines.outputs import outputs_from_file

        identity = identity_from_outputs(outputs_from_file(args.outputs, args.stack))
    else:
        identity = identity_from_stack_file(args.stack, args.config_file)
    return find_leftovers(identity, _session(identity.region).client)


def _payload(report: LeftoverReport) -> dict[str, Any]:
    identity = report.identity
    return {"stack": identity.stack, "prefix": identity.prefix, "region": identity.region,
            "monthly": report.monthly, "left": len(report.left), "items": report.items}


_leftovers = report_handler(_find, _payload, render, failed=lambda report: bool(report.left))


def add_leftovers_command(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``leftovers`` on the CLI's subparsers (``cli.build_parser``)."""
    cmd = add_report_command(
        subparsers, "leftovers", _leftovers,
        about="list what of a stack still exists in AWS, with its monthly cost (exit 1 if anything is left)",
        stack="stack name: dev, staging or prod",
        outputs="the stack's outputs saved before the destroy (`pulumi stack output --json > FILE`): adds its VPC "
                "and security group",
        as_json="print the items as JSON instead of a table")
    cmd.add_argument("--config-file", help="a stack file to use instead of stacks/Pulumi.<stack>.yaml")
    return cmd


# -- pipeline cleanup ----------------------------------------------------------------------------------------

@dataclass
class CleanupResult:
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def cleanup(ctx: Any, *, dry_run: bool = False) -> CleanupResult:
    """Remove what the pipeline steps created for ``ctx``'s stack (see the module docstring)."""
    identity = identity_from_outputs(ctx.outputs)
    finder = _Finder(identity, ctx.client)
    sm, result = ctx.sagemaker, CleanupResult()
    named = finder.sagemaker_by_name()

    def remove(label: str, action: Callable[[], Any]) -> None:
        if dry_run:
            result.removed.append(label)
            return
        try:
            action()
            result.removed.append(label)
        except Exception as exc:  # noqa: BLE001 - report each failure, go on with the rest
            result.failed.append(f"{label}: {_code(exc)}")

    ours = [i for i in named if not i.managed_by_pulumi]
    result.kept += [f"{i.kind} {i.name} (managed by pulumi)" for i in named if i.managed_by_pulumi]
    endpoints = [i for i in ours if i.kind == "sagemaker endpoint"]
    gone_endpoints = set()
    for item in endpoints:
        if item.name in identity.endpoint_names:
            result.kept.append(f"{item.kind} {item.name} (declared by the stack)")
            continue
        remove(f"{item.kind} {item.name}", lambda n=item.name: sm.delete_endpoint(EndpointName=n))
        gone_endpoints.add(item.name)
    in_use_configs, in_use_models = set(), set()
    for page in sm.get_paginator("list_endpoints").paginate():
        for e in page.get("Endpoints", []):
            if e["EndpointName"] in gone_endpoints:
                continue
            config = sm.describe_endpoint(EndpointName=e["EndpointName"])["EndpointConfigName"]
            in_use_configs.add(config)
    configs = [i for i in named if i.kind == "sagemaker endpoint-config"]
    for item in configs:
        if item.name in in_use_configs or item.managed_by_pulumi:
            described = sm.describe_endpoint_config(EndpointConfigName=item.name)
            in_use_models.update(v["ModelName"] for v in described.get("ProductionVariants", []))
            if not item.managed_by_pulumi:
                result.kept.append(f"{item.kind} {item.name} (in use)")
            continue
        remove(f"{item.kind} {item.name}", lambda n=item.name: sm.delete_endpoint_config(EndpointConfigName=n))
    for item in ours:
        if item.kind != "sagemaker model":
            continue
        if item.name in in_use_models:
            result.kept.append(f"{item.kind} {item.name} (in use)")
            continue
        remove(f"{item.kind} {item.name}", lambda n=item.name: sm.delete_model(ModelName=n))
    remaining = {e["EndpointName"] for page in sm.get_paginator("list_endpoints").paginate()
                 for e in page.get("Endpoints", [])} - gone_endpoints
    logs = ctx.client("logs")
    for item in finder.log_groups():
        endpoint = item.name.removeprefix(ENDPOINT_LOG_PREFIX)
        if item.name.startswith(ENDPOINT_LOG_PREFIX) and endpoint not in remaining:
            remove(f"log group {item.name}", lambda n=item.name: logs.delete_log_group(logGroupName=n))
    ec2 = ctx.client("ec2")
    for item in finder.network_interfaces():
        if item.note.startswith("available"):
            remove(f"network interface {item.name}", lambda n=item.name: ec2.delete_network_interface(NetworkInterfaceId=n))
    return result
