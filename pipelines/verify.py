"""``mlops-blueprint verify --stack ENV``: is what is live what the stack declares?

After ``pulumi up`` the engine can report an endpoint update as done although SageMaker rolled it
back on an alarm (the endpoint is ``InService`` again, on its *previous* configuration). This
command reads the stack's outputs (``pulumi stack output --json`` or ``--outputs FILE``) and, per
model in ``endpointNames``, checks against the live account (boto3):

* **endpoint** — exists and is ``InService``; no ``FailureReason`` from the last update;
* **configuration** — the endpoint's current configuration is ``endpointConfigNames[model]``
  (a rolled-back update leaves the old one);
* **weights** — the live variants and their current weights (normalised to shares of the
  traffic) match ``endpointVariantWeights[model]``;
* **alarms** — every alarm of ``alarmArns[model]`` exists and is not in ``ALARM``;
* **packages** — every model package the live variants serve is ``Approved``.

An output the stack does not export (an older stack) skips its check with a note; ``endpointNames``
and ``region`` are required. Exit codes: 0 all match, 1 a mismatch, 2 bad input (outputs missing or
unreadable, AWS unreachable or access denied).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mlops_blueprint.outputs import Out
from mlops_blueprint.pipelines.cli import add_report_command, report_handler
from mlops_blueprint.pipelines.errors import InputError

OK, MISMATCH, SKIPPED = "ok", "mismatch", "skipped"
WEIGHT_TOLERANCE = 0.005  # shares of the traffic; SageMaker keeps weights as floats


@dataclass(frozen=True)
class Check:
    model: str
    check: str
    status: str        # ok | mismatch | skipped
    declared: str
    live: str
    detail: str = ""


@dataclass
class VerifyReport:
    stack: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    @property
    def mismatches(self) -> list[Check]:
        return [c for c in self.checks if c.status == MISMATCH]

    def add(self, *args: Any, **kwargs: Any) -> None:
        self.checks.append(Check(*args, **kwargs))


def _shares(weights: Mapping[str, float]) -> dict[str, float]:
    total = sum(weights.values())
    return {k: (v / total if total else 0.0) for k, v in weights.items()}


def _fmt_weights(weights: Mapping[str, float]) -> str:
    return ", ".join(f"{k} {v:.0%}" for k, v in sorted(_shares(weights).items())) or "none"


def alarm_name(arn_or_name: str) -> str:
    return arn_or_name.split(":alarm:", 1)[1] if ":alarm:" in arn_or_name else arn_or_name


def _error_code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", "")) or type(exc).__name__


def _served_packages(sm: Any, config: Mapping[str, Any]) -> dict[str, str]:
    """Variant -> model package ARN, for the variants whose model serves a package."""
    packages = {}
    for variant in config.get("ProductionVariants", []):
        model = sm.describe_model(ModelName=variant["ModelName"])
        containers = [model.get("PrimaryContainer") or {}, *(model.get("Containers") or [])]
        for container in containers:
            if container.get("ModelPackageName"):
                packages[variant["VariantName"]] = container["ModelPackageName"]
    return packages


def _endpoint_checks(report: VerifyReport, sm: Any, model: str, endpoint: str, outputs: Any) -> None:
    from botocore.exceptions import ClientError

    try:
        live = sm.describe_endpoint(EndpointName=endpoint)
    except ClientError as exc:
        if _error_code(exc) in ("ValidationException", "ResourceNotFound"):
            report.add(model, "endpoint", MISMATCH, f"{endpoint} InService", "absent",
                       "the stack declares this endpoint; it does not exist")
            return
        raise
    status, reason = live.get("EndpointStatus", "?"), live.get("FailureReason")
    report.add(model, "endpoint", OK if status == "InService" and not reason else MISMATCH,
               f"{endpoint} InService", status,
               f"last update failed or was rolled back: {reason}" if reason else
               ("" if status == "InService" else f"the endpoint is {status}"))

    declared_config = (outputs.get(Out.ENDPOINT_CONFIG_NAMES) or {}).get(model)
    live_config = live.get("EndpointConfigName", "?")
    if declared_config:
        report.add(model, "configuration", OK if live_config == declared_config else MISMATCH, declared_config,
                   live_config, "" if live_config == declared_config else
                   "the endpoint is not on the stack's configuration (a rolled-back update leaves the previous one; "
                   "so does a `pipeline deploy` after `pulumi up`)")
    else:
        report.add(model, "configuration", SKIPPED, "—", live_config, "the stack exports no endpointConfigNames")

    declared_weights = (outputs.get(Out.ENDPOINT_VARIANT_WEIGHTS) or {}).get(model)
    live_weights = {v["VariantName"]: float(v.get("CurrentWeight", v.get("DesiredWeight", 0.0)))
                    for v in live.get("ProductionVariants", [])}
    if declared_weights:
        want, have = _shares({k: float(v) for k, v in declared_weights.items()}), _shares(live_weights)
        same = set(want) == set(have) and all(abs(want[k] - have[k]) <= WEIGHT_TOLERANCE for k in want)
        report.add(model, "weights", OK if same else MISMATCH, _fmt_weights(want), _fmt_weights(have))
    else:
        report.add(model, "weights", SKIPPED, "—", _fmt_weights(live_weights), "the stack exports no endpointVariantWeights")

    try:
        config = sm.describe_endpoint_config(EndpointConfigName=live_config)
        packages = _served_packages(sm, config)
    except ClientError as exc:
        report.add(model, "packages", MISMATCH, "Approved", _error_code(exc),
                   f"cannot read configuration {live_config} or its models")
        return
    if not packages:
        report.add(model, "packages", SKIPPED, "Approved", "—", "the variants serve images, not model packages")
    for variant, arn in sorted(packages.items()):
        try:
            state = sm.describe_model_package(ModelPackageName=arn).get("ModelApprovalStatus", "?")
        except ClientError as exc:
            state = _error_code(exc)  # a deleted package serves nothing approved
        report.add(model, f"package ({variant})", OK if state == "Approved" else MISMATCH, "Approved", state, arn)


def _alarm_checks(report: VerifyReport, cloudwatch: Any, model: str, declared: Sequence[str]) -> None:
    names = sorted({alarm_name(a) for a in declared})
    found: dict[str, Mapping[str, Any]] = {}
    for start in range(0, len(names), 100):  # DescribeAlarms takes at most 100 names
        for page in cloudwatch.get_paginator("describe_alarms").paginate(
                AlarmNames=names[start:start + 100], AlarmTypes=["MetricAlarm", "CompositeAlarm"]):
            for alarm in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]:
                found[alarm["AlarmName"]] = alarm
    for name in names:
        alarm = found.get(name)
        if alarm is None:
            report.add(model, f"alarm {name}", MISMATCH, "present, not ALARM", "absent")
        else:
            state = alarm.get("StateValue", "?")
            report.add(model, f"alarm {name}", MISMATCH if state == "ALARM" else OK, "present, not ALARM", state,
                       alarm.get("StateReason", "") if state == "ALARM" else "")


def verify(outputs: Any, session: Any, *, models: Sequence[str] | None = None) -> VerifyReport:
    """Compare the live account (``session``: a boto3 Session, or anything with ``client(name)``)
    with ``outputs`` (a :class:`~mlops_blueprint.pipelines.outputs.StackOutputs`)."""
    from botocore.exceptions import BotoCoreError, ClientError

    endpoints = outputs.require(Out.ENDPOINT_NAMES, "comparing endpoints")
    if not isinstance(endpoints, Mapping):
        raise InputError(f"stack output 'endpointNames' of stack '{outputs.stack}' is not a map of model -> endpoint")
    unknown = [m for m in models or () if m not in endpoints]
    if unknown:
        raise InputError(f"--model-name {', '.join(unknown)}: not in endpointNames "
                         f"(models: {', '.join(sorted(endpoints)) or 'none'})")
    report = VerifyReport(outputs.stack)
    try:
        sm, cloudwatch = session.client("sagemaker"), session.client("cloudwatch")
        for model in sorted(models or endpoints):
            _endpoint_checks(report, sm, model, str(endpoints[model]), outputs)
            declared = (outputs.get(Out.ALARM_ARNS) or {}).get(model)
            if declared:
                _alarm_checks(report, cloudwatch, model, list(declared))
            else:
                report.add(model, "alarms", SKIPPED, "—", "—", "the stack exports no alarmArns for this model")
    except ClientError as exc:
        code = _error_code(exc)
        raise InputError(f"AWS refused a read ({code}): {exc}. Check the credentials and region "
                         f"({outputs.get(Out.REGION)}) of stack '{outputs.stack}'.") from None
    except BotoCoreError as exc:
        raise InputError(f"cannot reach AWS: {exc}") from None
    return report


def render(report: VerifyReport, console: Console) -> None:
    table = Table(title=f"Live vs declared: stack {report.stack}")
    for column in ("Model", "Check", "Status", "Declared", "Live", "Detail"):
        table.add_column(column, overflow="fold")
    style = {OK: "green", MISMATCH: "bold red", SKIPPED: "dim"}
    for c in report.checks:
        table.add_row(*(escape(t) for t in (c.model, c.check)), f"[{style[c.status]}]{c.status}[/]",
                      *(escape(t) for t in (c.declared, c.live, c.detail)))  # AWS's texts are not markup
    console.print(table)
    if report.ok:
        console.print(f"[green]everything live matches stack {report.stack}[/]")
    else:
        console.print(f"[bold red]{len(report.mismatches)} mismatch(es)[/] between what is live and stack {report.stack}")


def session_for(outputs: Any) -> Any:
    import boto3

    return boto3.session.Session(region_name=str(outputs.require(Out.REGION, "every AWS client")))


def _verify_stack(args: argparse.Namespace) -> VerifyReport:
    from mlops_blueprint.pipelines.outputs import load_outputs

    outputs = load_outputs(args.stack, args.outputs)
    return verify(outputs, session_for(outputs), models=args.model_name or None)


_verify = report_handler(_verify_stack, lambda r: {"stack": r.stack, "ok": r.ok, "checks": r.checks}, render,
                         failed=lambda report: not report.ok)


def add_verify_command(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``verify`` on the CLI's subparsers (``cli.build_parser``)."""
    verify_cmd = add_report_command(
        subparsers, "verify", _verify,
        about="compare live endpoints, alarms and model packages with the stack's outputs (exit 1 on a mismatch)",
        stack="stack whose outputs to read: dev, staging or prod",
        outputs="stack outputs as JSON (`pulumi stack output --json --show-secrets > FILE`)",
        as_json="print the checks as JSON instead of a table")
    verify_cmd.add_argument("--model-name", action="append", help="only this model (repeatable; default: all)")
    return verify_cmd
