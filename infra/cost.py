"""``mlops-blueprint cost --stack ENV``: the monthly cost of a plan, per component, from the price table.

:func:`estimate` reads a plan (``run_preview(env).plan``, or a plan JSON file) and prices every
resource that costs money while the platform sits idle, with :mod:`.prices` and its stated
assumptions: instance-hours of endpoints, the tracking server and Model Monitor runs, RDS, interface
endpoints per AZ-hour, NAT gateways, KMS keys, S3 storage, CloudTrail data events, CloudWatch
alarms/dashboards/logs, ECR, Secrets Manager, Prometheus/Grafana. Lines are grouped by the
top-level component that owns the resource (``network``, ``kms``, ``monitoring``, ...). A resource
the table has no price for (an unknown instance type) is listed as unpriced, never guessed.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from mlops_blueprint import prices
from mlops_blueprint.cli_targets import add_target_options
from mlops_blueprint.config import add_account_option
from mlops_blueprint.components.monitoring.settings import schedule_hours, schedule_problem

STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass(frozen=True)
class CostLine:
    """One priced item: ``quantity`` ``unit`` at ``unit_price`` USD each, per month."""

    component: str
    resource: str                      # the resource's logical name
    item: str                          # what is charged, e.g. "ml.m5.large x 2 (variant AllTraffic)"
    quantity: float
    unit: str                          # "instance-hours", "AZ-hours", "GB-months", "keys", ...
    unit_price: float | None           # None: not in the price table (unpriced)
    note: str | None = None
    model: str | None = None           # the served model it is for (instances, captured data, drift jobs)

    @property
    def monthly(self) -> float | None:
        return None if self.unit_price is None else round(self.quantity * self.unit_price, 4)


@dataclass
class CostReport:
    stack: str
    region: str | None
    lines: list[CostLine] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def priced(self) -> list[CostLine]:
        return [line for line in self.lines if line.unit_price is not None]

    @property
    def unpriced(self) -> list[CostLine]:
        return [line for line in self.lines if line.unit_price is None]

    @property
    def total(self) -> float:
        return round(sum(line.monthly or 0.0 for line in self.lines), 2)

    def by_component(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for line in self.lines:
            totals[line.component] = totals.get(line.component, 0.0) + (line.monthly or 0.0)
        return {component: round(value, 2) for component, value in sorted(totals.items())}

    def by_model(self) -> dict[str, float]:
        """What each served model costs: its instances, its captured data and its drift jobs."""
        totals: dict[str, float] = {}
        for line in self.lines:
            if line.model:
                totals[line.model] = totals.get(line.model, 0.0) + (line.monthly or 0.0)
        return {model: round(value, 2) for model, value in sorted(totals.items())}

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "region": self.region,
            "currency": prices.CURRENCY,
            "pricesAsOf": prices.PRICES_AS_OF,
            "priceRegion": prices.PRICE_REGION,
            "monthlyTotal": self.total,
            "components": self.by_component(),
            "models": self.by_model(),
            "lines": [{**asdict(line), "monthly": line.monthly} for line in self.lines],
            "assumptions": {k: v for k, v in prices.ASSUMPTIONS.items()},
            "notes": self.notes,
        }


# -- reading the plan ------------------------------------------------------------------------------------


def _components(resources: Iterable[Mapping[str, Any]]) -> Callable[[Mapping[str, Any]], str]:
    """A resource -> the name of the top-level component above it (``stack`` for none)."""
    by_urn = {r["urn"]: r for r in resources}

    def owner(resource: Mapping[str, Any]) -> str:
        top: Mapping[str, Any] | None = None
        current = by_urn.get(resource.get("parent") or "")
        while current is not None and current["type"] != STACK_TYPE:
            top = current
            current = by_urn.get(current.get("parent") or "")
        if top is None:
            return resource["name"] if not resource.get("custom") else "stack"
        return str(top["name"])

    return owner


def _job_definitions(resources: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Monitoring job definitions by name -> ``{"InstanceType", "InstanceCount"}``: the Pulumi
    DataQualityJobDefinitions and the ones inside CloudFormation stacks (model quality)."""
    found: dict[str, Mapping[str, Any]] = {}
    for resource in resources:
        inputs = resource.get("inputs") or {}
        if resource["type"] == "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition":
            cluster = (inputs.get("jobResources") or {}).get("clusterConfig") or {}
            outputs = ((inputs.get("dataQualityJobOutputConfig") or {}).get("monitoringOutputs") or {})
            outputs = outputs[0] if isinstance(outputs, list) and outputs else outputs
            found[str(inputs.get("name"))] = {"InstanceType": cluster.get("instanceType"),
                                              "InstanceCount": cluster.get("instanceCount", 1),
                                              "Model": _report_model(((outputs or {}).get("s3Output") or {}).get("s3Uri"))}
        elif resource["type"] == "aws:cloudformation/stack:Stack":
            try:
                template = json.loads(inputs.get("templateBody") or "{}")
            except (TypeError, ValueError):
                continue
            for body in (template.get("Resources") or {}).values():
                properties = body.get("Properties") or {}
                if str(body.get("Type", "")).startswith("AWS::SageMaker::") and "JobResources" in properties:
                    cluster = properties["JobResources"].get("ClusterConfig") or {}
                    outputs = next(iter(properties.get(next((k for k in properties if k.endswith("JobOutputConfig")), ""),
                                                       {}).get("MonitoringOutputs") or []), {})
                    found[str(properties.get("JobDefinitionName"))] = {
                        **cluster, "Model": _report_model((outputs.get("S3Output") or {}).get("S3Uri"))}
    return found


def _report_model(uri: Any) -> str | None:
    """``s3://<models>/<prefix>/<model>/data-quality`` (Monitoring's report location) -> model."""
    parts = str(uri or "").rstrip("/").split("/")
    return parts[-2] if len(parts) >= 5 and parts[-1] in ("data-quality", "model-quality") else None


def _hourly(table: Mapping[str, float], key: Any) -> float | None:
    return table.get(key) if isinstance(key, str) else None


def _s3_purpose(bucket_name: str) -> str:
    for purpose in ("access-logs", "datasets", "models", "audit"):
        if f"-{purpose}" in bucket_name:
            return purpose
    return "other"


def _data_events(trail_inputs: Mapping[str, Any]) -> bool:
    for selector in trail_inputs.get("advancedEventSelectors") or []:
        for field_selector in selector.get("fieldSelectors") or []:
            if field_selector.get("field") == "eventCategory" and "Data" in (field_selector.get("equals") or []):
                return True
    return any(s.get("dataResources") for s in trail_inputs.get("eventSelectors") or [])


def _alarm_metrics(inputs: Mapping[str, Any]) -> tuple[int, bool]:
    """(metrics the alarm evaluates, high resolution?)"""
    queries = inputs.get("metricQueries") or []
    if queries:
        metrics = [q for q in queries if q.get("metric")]
        high = any((q.get("metric") or {}).get("period", 60) < 60 for q in metrics)
        return max(len(metrics), 1), high
    return 1, (inputs.get("period") or 60) < 60


def _lines_for(resource: Mapping[str, Any], component: str, jobs: Mapping[str, Mapping[str, Any]]) -> list[CostLine]:
    """The cost lines of one resource (none for what is free or usage-priced)."""
    t, name, inputs = resource["type"], resource["name"], resource.get("inputs") or {}
    hours = prices.HOURS_PER_MONTH
    line = lambda *a, **k: CostLine(component, name, *a, **k)  # noqa: E731

    if t == "aws:sagemaker/endpointConfiguration:EndpointConfiguration":
        model = _served_model(inputs, component)
        result = []
        for variant in [*(inputs.get("productionVariants") or []), *(inputs.get("shadowProductionVariants") or [])]:
            label = variant.get("variantName", "?")
            if variant.get("serverlessConfig"):
                result.append(line(f"serverless variant {label}", 0, "requests", 0.0,
                                   note="billed per request and GB-second: $0 idle", model=model))
                continue
            count = variant.get("initialInstanceCount") or 1
            instance = variant.get("instanceType")
            result.append(line(f"{instance} x {count} (variant {label})", count * hours, "instance-hours",
                               _hourly(prices.SAGEMAKER_INSTANCE_HOUR, instance), model=model))
        capture = inputs.get("dataCaptureConfig") or {}
        if capture.get("enableCapture", True) and capture.get("destinationS3Uri"):
            percent = float(capture.get("initialSamplingPercentage") or 0)
            gb = prices.ASSUMPTIONS["data capture GB per model per month at 100% sampling"] * percent / 100
            result.append(line(f"captured requests, {percent:g}% sampled (assumed volume, one month kept)", gb,
                               "GB-months", prices.S3_STANDARD_GB_MONTH, model=model))
        return result
    if t == "aws:scheduler/schedule:Schedule" and str((inputs.get("target") or {}).get("arn", "")).endswith(
            ":sagemaker:createProcessingJob"):
        return _processing_schedule(inputs, line)
    if t == "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer":
        size = inputs.get("trackingServerSize") or "Small"
        return [line(f"MLflow tracking server ({size})", hours, "server-hours",
                     _hourly(prices.MLFLOW_TRACKING_SERVER_HOUR, size))]
    if t == "aws:sagemaker/mlflowApp:MlflowApp":
        return [line("MLflow App (serverless)", 0, "hours", 0.0, note="no hourly charge")]
    if t == "aws:rds/instance:Instance":
        copies = 2 if inputs.get("multiAz") else 1
        klass = inputs.get("instanceClass")
        storage = float(inputs.get("allocatedStorage") or 20)
        az = " Multi-AZ" if copies == 2 else ""
        return [
            line(f"{klass}{az}", copies * hours, "instance-hours", _hourly(prices.RDS_POSTGRES_INSTANCE_HOUR, klass)),
            line(f"gp3 storage{az}", copies * storage, "GB-months", prices.RDS_GP3_GB_MONTH),
        ]
    if t == "aws:ec2/vpcEndpoint:VpcEndpoint" and inputs.get("vpcEndpointType") == "Interface":
        azs = len(inputs.get("subnetIds") or []) or 1
        service = str(inputs.get("serviceName", "")).rsplit(".", 1)[-1] if inputs.get("serviceName") else name
        return [line(f"interface endpoint {inputs.get('serviceName', service)} in {azs} AZ(s)", azs * hours,
                     "AZ-hours", prices.INTERFACE_ENDPOINT_AZ_HOUR)]
    if t == "aws:ec2/natGateway:NatGateway":
        return [line("NAT gateway", hours, "hours", prices.NAT_GATEWAY_HOUR, note="plus $0.045/GB processed")]
    if t == "aws:kms/key:Key":
        return [line("customer-managed KMS key", 1, "keys", prices.KMS_KEY_MONTH)]
    if t == "aws:s3/bucket:Bucket":
        bucket = str(inputs.get("bucket") or name)
        purpose = _s3_purpose(bucket)
        return [line(f"S3 Standard, {purpose} (assumed)", prices.s3_gb(purpose), "GB-months", prices.S3_STANDARD_GB_MONTH)]
    if t == "aws:cloudtrail/trail:Trail" and _data_events(inputs):
        events = prices.ASSUMPTIONS["CloudTrail data events per month (when data events are on)"]
        return [line("CloudTrail S3 data events (assumed volume)", events / 100_000, "100k events",
                     prices.CLOUDTRAIL_DATA_EVENTS_PER_100K)]
    if t == "aws:cloudwatch/logGroup:LogGroup":
        gb = prices.ASSUMPTIONS["CloudWatch Logs GB ingested per log group per month (and kept one month)"]
        return [line("log ingestion (assumed)", gb, "GB", prices.CLOUDWATCH_LOGS_INGEST_GB),
                line("log storage (assumed)", gb, "GB-months", prices.CLOUDWATCH_LOGS_STORAGE_GB_MONTH)]
    if t == "aws:cloudwatch/metricAlarm:MetricAlarm":
        metrics, high = _alarm_metrics(inputs)
        price = prices.CLOUDWATCH_HIGH_RES_ALARM_METRIC_MONTH if high else prices.CLOUDWATCH_ALARM_METRIC_MONTH
        return [line(f"alarm ({metrics} metric{'s' if metrics > 1 else ''})", metrics, "alarm metrics", price)]
    if t == "aws:cloudwatch/dashboard:Dashboard":
        return [line("CloudWatch dashboard", 1, "dashboards", prices.CLOUDWATCH_DASHBOARD_MONTH)]
    if t == "aws:secretsmanager/secret:Secret":
        return [line("Secrets Manager secret", 1, "secrets", prices.SECRETS_MANAGER_SECRET_MONTH)]
    if t == "aws:ecr/repository:Repository":
        return [line("ECR storage (assumed)", prices.ASSUMPTIONS["ECR GB stored per repository"], "GB-months",
                     prices.ECR_STORAGE_GB_MONTH)]
    if t == "aws:sagemaker/monitoringSchedule:MonitoringSchedule":
        config = inputs.get("monitoringScheduleConfig") or {}
        expression = (config.get("scheduleConfig") or {}).get("scheduleExpression")
        job = jobs.get(str(config.get("monitoringJobDefinitionName"))) or {}
        instance, count = job.get("InstanceType"), job.get("InstanceCount") or 1
        if not isinstance(expression, str) or schedule_problem(expression):
            return [line(f"Model Monitor runs ({expression!r})", 0, "instance-hours", None,
                         note="schedule not understood")]
        runs = schedule_runs_per_month(expression)
        minutes = prices.ASSUMPTIONS["billable minutes per Model Monitor run"]
        return [line(f"Model Monitor {config.get('monitoringType', '')}: {runs:g} runs x {minutes} min on "
                     f"{instance} x {count}", runs * minutes / 60 * count, "instance-hours",
                     _hourly(prices.SAGEMAKER_INSTANCE_HOUR, instance), model=job.get("Model"))]
    if t == "aws:amp/workspace:Workspace":
        samples = prices.ASSUMPTIONS["AMP samples ingested per month"]
        gb = prices.ASSUMPTIONS["AMP GB stored"]
        return [line("Prometheus ingestion (assumed)", samples / 10_000_000, "10M samples", prices.AMP_INGEST_PER_10M_SAMPLES),
                line("Prometheus storage (assumed)", gb, "GB-months", prices.AMP_STORAGE_GB_MONTH)]
    if t == "aws:grafana/workspace:Workspace":
        editors, viewers = prices.ASSUMPTIONS["Grafana editors / viewers"]
        return [line("Grafana editors (assumed)", editors, "users", prices.GRAFANA_EDITOR_MONTH),
                line("Grafana viewers (assumed)", viewers, "users", prices.GRAFANA_VIEWER_MONTH)]
    return []


def price_resource(type_: str, inputs: Mapping[str, Any], name: str = "", component: str = "") -> list[CostLine]:
    """The cost lines of one resource described plan-style (type token, camelCase inputs): how
    ``leftovers`` prices what it finds live with the same table and rules as the estimate."""
    return _lines_for({"type": type_, "name": name, "inputs": dict(inputs)}, component, {})


def _served_model(inputs: Mapping[str, Any], component: str) -> str | None:
    """The model an endpoint configuration serves: the last segment of its capture destination
    (``s3://<models>/data-capture/<model>``), else its component's name (``serving-<model>``)."""
    destination = str((inputs.get("dataCaptureConfig") or {}).get("destinationS3Uri") or "")
    if "/data-capture/" in destination:
        return destination.rstrip("/").rsplit("/", 1)[-1]
    return component.removeprefix("serving-") if component.startswith("serving-") else None


def schedule_runs_per_month(expression: str) -> float:
    """Runs of a monitoring schedule in an average month of :data:`prices.HOURS_PER_MONTH` hours."""
    start, every = schedule_hours(expression)
    return len(range(start, 24, every)) * prices.HOURS_PER_MONTH / 24


def _processing_schedule(inputs: Mapping[str, Any], line: Callable[..., CostLine]) -> list[CostLine]:
    """A drift job without Model Monitor: an EventBridge Scheduler schedule whose universal target
    starts a SageMaker Processing job (``aws-sdk:sagemaker:createProcessingJob``); the request is
    the target's ``input`` JSON, its ``Environment.DRIFT_MODEL`` names the model."""
    expression = inputs.get("scheduleExpression")
    try:
        request = json.loads((inputs.get("target") or {}).get("input") or "{}")
    except (TypeError, ValueError):
        request = {}
    cluster = ((request.get("ProcessingResources") or {}).get("ClusterConfig")) or {}
    instance, count = cluster.get("InstanceType"), cluster.get("InstanceCount") or 1
    model = (request.get("Environment") or {}).get("DRIFT_MODEL")
    if not isinstance(expression, str) or schedule_problem(expression):
        return [line(f"drift job runs ({expression!r})", 0, "instance-hours", None, note="schedule not understood",
                     model=model)]
    runs = schedule_runs_per_month(expression)
    minutes = prices.ASSUMPTIONS["billable minutes per drift (processing) job run"]
    return [line(f"drift job: {runs:g} runs x {minutes} min on {instance} x {count}", runs * minutes / 60 * count,
                 "instance-hours", _hourly(prices.SAGEMAKER_INSTANCE_HOUR, instance), model=model)]


def estimate(plan: Mapping[str, Any]) -> CostReport:
    """The monthly idle cost of ``plan`` (the plan JSON's shape), per component."""
    resources = [r for r in plan.get("resources") or [] if r.get("custom") and not str(r["type"]).startswith("pulumi:")]
    everything = list(plan.get("resources") or [])
    owner = _components(everything)
    jobs = _job_definitions(resources)
    region = next((r.get("inputs", {}).get("region") for r in everything
                   if str(r.get("type", "")).startswith("pulumi:providers:aws")), None)
    report = CostReport(stack=str(plan.get("stack") or ""), region=region)
    for resource in resources:
        report.lines += _lines_for(resource, owner(resource), jobs)
    report.lines.sort(key=lambda line: (line.component, line.resource, line.item))
    if region and region != prices.PRICE_REGION:
        report.notes.append(f"the stack is in {region}; prices are {prices.PRICE_REGION}'s")
    if any(r["type"].startswith("kubernetes:") for r in everything):
        report.notes.append("Kubernetes workloads run on your cluster: their nodes are not in this estimate")
    for line in report.unpriced:
        report.notes.append(f"no price for {line.item} ({line.resource}): not in the total")
    return report


# -- output -----------------------------------------------------------------------------------------------


def _money(value: float | None) -> str:
    return "—" if value is None else f"${value:,.2f}"


def _unit_price(value: float | None) -> str:
    """Unit prices keep their significant digits: $0.023, $0.115, $1.00."""
    if value is None:
        return "—"
    text = f"{value:,.4f}".rstrip("0")
    return f"${text}{'0' * max(0, 2 - len(text.partition('.')[2]))}"


def render_table(report: CostReport, console: Console) -> None:
    """The estimate as a table: lines per component, subtotals, total, then the assumptions."""
    table = Table(title=f"Estimated monthly cost: stack {report.stack} ({prices.CURRENCY}, "
                        f"{prices.PRICE_REGION} list prices as of {prices.PRICES_AS_OF}, approximate)")
    table.add_column("Component")
    table.add_column("Item")
    table.add_column("Quantity", justify="right")
    table.add_column("Unit price", justify="right")
    table.add_column("Monthly", justify="right")
    subtotals = report.by_component()
    for component in subtotals:
        lines = [line for line in report.lines if line.component == component]
        for i, line in enumerate(lines):
            item = line.item + (f" [dim]({line.note})[/]" if line.note else "")
            table.add_row(component if i == 0 else "", item, f"{line.quantity:,.2f} {line.unit}",
                          _unit_price(line.unit_price), _money(line.monthly))
        table.add_row("", f"[bold]{component} subtotal[/]", "", "", f"[bold]{_money(subtotals[component])}[/]",
                      end_section=True)
    table.add_row("[bold]total[/]", "", "", "", f"[bold]{_money(report.total)}[/]")
    console.print(table)
    models = report.by_model()
    if models:
        console.print("Served models (instances per variant x count, captured data, drift jobs; in the total above):")
        for model, monthly in models.items():
            console.print(f"  - {model}: {_money(monthly)}", highlight=False)
    console.print("Assumptions:")
    for key, value in prices.ASSUMPTIONS.items():
        console.print(f"  - {key}: {value}", highlight=False)
    console.print("  - idle cost only: training jobs, pipeline runs, requests to serverless variants and data "
                  "transfer are billed per use", highlight=False)
    for note in report.notes:
        console.print(f"  - {note}", highlight=False)


def _cost(args: argparse.Namespace) -> int:
    from mlops_blueprint.config import ConfigError
    from mlops_blueprint.diff import PlanFileError, load_plan
    from mlops_blueprint.preview import run_preview

    err = Console(stderr=True)
    config_file = Path(args.config_file) if args.config_file else None
    try:
        if args.plan:
            if args.stack:
                raise ConfigError(["--stack: not with --plan (the plan file is already one stack's)"])
            plan = load_plan(args.plan)
        elif args.program:  # a team's own program, run as `preview --program` runs it
            from mlops_blueprint.program_preview import preview_program

            plan = preview_program(Path(args.program), args.stack, config_file=config_file,
                                   account_id=args.account_id).plan
        elif args.stack:
            plan = run_preview(args.stack, config_file, account_id=args.account_id).plan
        else:
            from mlops_blueprint.program_preview import STACK_OR_PROGRAM

            raise ConfigError([f"{STACK_OR_PROGRAM}, or --plan PATH (a plan JSON file)"])
    except (ConfigError, PlanFileError) as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        return 2
    report = estimate(plan)
    if args.format == "json":
        print(json.dumps(report.to_dict(), indent=2, sort_keys=True))
    else:
        render_table(report, Console())
    return 0


def add_cost_command(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``cost`` on the CLI's subparsers (``cli.build_parser``)."""
    cost = subparsers.add_parser("cost", help="estimate a stack's monthly cost from the price table")
    source = cost.add_mutually_exclusive_group()
    add_target_options(cost, program_group=source, program_help="estimate this Pulumi Python program (previewed "
                                                                "offline as `preview --program` does) instead of the platform")
    source.add_argument("--plan", metavar="PATH", help="a plan JSON file written by `preview --json` instead")
    cost.add_argument("--format", choices=("table", "json"), default="table", help="what to print (default: table)")
    add_account_option(cost)
    cost.set_defaults(handler=_cost)
    return cost
