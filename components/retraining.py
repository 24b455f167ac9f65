"""Drift-triggered retraining: the model's drift alarm starts its training pipeline, rate-limited.

Per model with retraining on (``RetrainedModel``), an EventBridge rule matches the *drift signal*
— the model's drift alarm (``Monitoring.drift_alarm_arns``) changing to ``ALARM``, i.e. the
CloudWatch event :func:`drift_event_pattern` describes — and has up to three targets:

1. **the SageMaker pipeline** (``sagemaker_pipeline_target``), started with the model's parameters
   (``RetrainingSettings.parameters_for``: its ``parameters``, e.g. the image tags to retrain with,
   plus ``<model_parameter_name>=<model>`` when the pipeline has a parameter naming the model)
   through a role that may do exactly one thing: ``sagemaker:StartPipelineExecution`` on that
   pipeline's ARN, assumable only by EventBridge for that rule. Given the pipeline's definition, the component checks the
   parameters against it (every one it sends is declared; every one without a default is sent),
   because SageMaker would only refuse the execution when drift is detected;
2. **the cooldown**: a three-state Step Functions workflow (one per environment) that disables the
   rule that fired, waits ``min_period_hours``, and enables it again. EventBridge cannot
   rate-limit, so the rule switches itself off: while it is disabled no drift event reaches the
   pipeline, which makes "at most one drift-triggered retraining per model per period" hold.
   Events arriving in the second or so before ``DisableRule`` takes effect can still get through,
   which matters only for alarms that flap within seconds. A failed cooldown (the rule could stay
   disabled) raises the ``operations`` alarm. The rule's ``state`` is then the workflow's to
   manage: Pulumi ignores changes to it;
3. optionally **the alert topic** routed for ``retraining`` (info), which receives the event.

Turning retraining off for a model (``RetrainingSettings.enabled_for``) removes its rule, role and targets.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_blueprint.components.arg_checks import type_problems
from mlops_blueprint.components.retraining_settings import RetrainingSettings
from mlops_blueprint.components.service_role import service_role
from mlops_blueprint.context import StackContext
from mlops_blueprint.naming import NameKind
from mlops_blueprint.policy_documents import document, render, statement, to_json
from mlops_blueprint.validation import raise_invalid_args

COMPONENT = "retraining"
TYPE = "mlops:monitoring:Retraining"
DEFAULT_EVENT_BUS = "default"
ALARM_STATE_CHANGE = "CloudWatch Alarm State Change"


# -- the drift signal ---------------------------------------------------------------------------------


def drift_event_pattern(drift_alarm_arn: str) -> dict[str, Any]:
    """The EventBridge pattern of the drift signal: this alarm entering ``ALARM``.

    Anything that emits an event of this shape (CloudWatch itself, or the sandbox with
    :func:`drift_event`) triggers the model's retraining.
    """
    return {
        "source": ["aws.cloudwatch"],
        "detail-type": [ALARM_STATE_CHANGE],
        "resources": [drift_alarm_arn],
        "detail": {"state": {"value": ["ALARM"]}},
    }


def drift_event(
    drift_alarm_arn: str,
    *,
    reason: str = "Threshold Crossed: feature baseline drift above the threshold",
    time: str = "2025-01-01T00:00:00Z",
    previous_state: str = "OK",
) -> dict[str, Any]:
    """A drift signal as CloudWatch sends it to EventBridge (the fields the pattern and the targets use)."""
    _, _, _, region, account, resource = drift_alarm_arn.split(":", 5)
    alarm_name = resource.removeprefix("alarm:")
    return {
        "version": "0",
        "id": "00000000-0000-0000-0000-000000000000",
        "detail-type": ALARM_STATE_CHANGE,
        "source": "aws.cloudwatch",
        "account": account,
        "time": time,
        "region": region,
        "resources": [drift_alarm_arn],
        "detail": {
            "alarmName": alarm_name,
            "state": {"value": "ALARM", "reason": reason, "timestamp": time},
            "previousState": {"value": previous_state, "reason": "", "timestamp": time},
        },
    }


def pipeline_parameters(values: Mapping[str, str]) -> list[dict[str, str]]:
    """A drift-triggered execution's parameters (``RetrainingSettings.parameters_for``) as the
    target's ``PipelineParameterList``."""
    return [{"name": k, "value": v} for k, v in sorted(values.items())]


def pipeline_parameter_problems(definition: Mapping[str, Any] | str, sent: Mapping[str, str]) -> list[str]:
    """What StartPipelineExecution would refuse: parameters the pipeline does not declare, and
    declared parameters without a default that are not sent."""
    document = json.loads(definition) if isinstance(definition, str) else definition
    declared = {p["Name"]: p for p in document.get("Parameters", [])}
    problems = [f"{name!r} is not a parameter of the pipeline (parameters: {', '.join(sorted(declared)) or 'none'})"
                for name in sorted(set(sent) - set(declared))]
    problems += [f"{name!r} has no default and must be sent" for name, p in sorted(declared.items())
                 if "DefaultValue" not in p and name not in sent]
    return problems


def cooldown_definition(event_bus: str = DEFAULT_EVENT_BUS) -> dict[str, Any]:
    """Disable the rule named in the input, wait ``cooldownSeconds``, enable it again."""
    retry_fast = [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 5, "MaxAttempts": 5, "BackoffRate": 2.0}]
    retry_long = [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 30, "MaxAttempts": 10, "BackoffRate": 2.0}]
    return {
        "Comment": "Retraining cooldown: the rule that started a retraining stays disabled for the minimum period",
        "StartAt": "DisableTrigger",
        "States": {
            "DisableTrigger": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:eventbridge:disableRule",
                "Parameters": {"Name.$": "$.ruleName", "EventBusName": event_bus},
                "ResultPath": None,
                "Retry": retry_fast,
                "Next": "Cooldown",
            },
            "Cooldown": {"Type": "Wait", "SecondsPath": "$.cooldownSeconds", "Next": "EnableTrigger"},
            "EnableTrigger": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:eventbridge:enableRule",
                "Parameters": {"Name.$": "$.ruleName", "EventBusName": event_bus},
                "ResultPath": None,
                "Retry": retry_long,
                "End": True,
            },
        },
    }


# -- args -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetrainedModel:
    """One model's drift alarm and pipeline (plain Inputs from the other components); whether it is
    retrained, and with which parameters, is ``RetrainingSettings``."""

    name: str                                   # the model (churn)
    drift_alarm_arn: pulumi.Input[str]          # Monitoring.drift_alarm_arns[name]
    pipeline_arn: pulumi.Input[str]             # the training pipeline's ARN (TrainingCompute.pipeline_arn)
    # TrainingCompute.pipeline_definition (JSON text, or a dict): when given, the parameters are checked against it.
    pipeline_definition: pulumi.Input[str] | Mapping[str, Any] | None = None


@dataclass(frozen=True)
class RetrainingArgs:
    """The models' alarms and pipelines, the topics from ``Alerting.routes``, and ``settings`` (the
    ``retraining`` section: which models, their parameters, the cooldown). Like the section, the
    default settings leave retraining off: pass ``RetrainingSettings(enabled=True)`` (or per model)."""

    context: StackContext
    models: Sequence[RetrainedModel] = ()
    notify_topic_arn: pulumi.Input[str] | None = None      # Alerting.topic_for("retraining")
    operations_topic_arn: pulumi.Input[str] | None = None  # Alerting.topic_for("operations"): cooldown failures
    permissions_boundary_arn: str | None = None
    settings: RetrainingSettings = field(default_factory=RetrainingSettings)

    def retrained(self) -> list[RetrainedModel]:
        """The models retraining is on for."""
        return [m for m in self.models if self.settings.enabled_for(m.name)]

    def problems(self) -> list[str]:
        problems = type_problems(self, context=StackContext, settings=RetrainingSettings)
        if problems:
            return problems
        names = [m.name for m in self.models]
        problems = [f"models: {name!r} is listed twice" for name in sorted({n for n in names if names.count(n) > 1})]
        for model in self.retrained():
            if isinstance(model.pipeline_definition, (str, Mapping)):
                problems += [f"models[{model.name}].parameters: {p}" for p in pipeline_parameter_problems(
                    model.pipeline_definition, self.settings.parameters_for(model.name))]
        return problems


def start_pipeline_policy(pipeline_arn: str) -> dict[str, Any]:
    """The target role's only permission."""
    return document(statement("StartThisPipeline", ["sagemaker:StartPipelineExecution"], [pipeline_arn]))


def events_trust(ctx: StackContext, rule_arn: str) -> dict[str, Any]:
    """EventBridge, for this one rule of this account."""
    return document(statement(
        "TrustEventBridgeRule", ["sts:AssumeRole"], None,
        principals={"Service": ctx.service_principal("events")},
        conditions={"StringEquals": {"aws:SourceAccount": ctx.account_id}, "ArnEquals": {"aws:SourceArn": rule_arn}},
    ))


class Retraining(pulumi.ComponentResource):
    """Per model: drift rule -> pipeline (+ cooldown, + notification); one cooldown workflow."""

    rule_names: dict[str, str]
    rule_arns: dict[str, pulumi.Output[str]]
    target_role_arns: dict[str, pulumi.Output[str]]
    cooldown_state_machine_arn: pulumi.Output[str] | None

    def __init__(self, name: str, args: RetrainingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        raise_invalid_args("RetrainingArgs", args.problems(), subject=repr(name))
        super().__init__(TYPE, name, None, opts)
        self._prefix = name
        self._args = args
        self._ctx = ctx = args.context
        self._child = pulumi.ResourceOptions(parent=self)
        self.rule_names, self.rule_arns, self.target_role_arns = {}, {}, {}
        self.cooldown_state_machine_arn = None

        models = args.retrained()
        if models:
            # Rules are regional: no region in their names. SAGEMAKER's 63 [A-Za-z0-9-] fit EventBridge's 64.
            rule_names = {m.name: ctx.naming.name(m.name, "retrain", kind=NameKind.SAGEMAKER) for m in models}
            cooldown, start_cooldown_role, after_start_policy = self._cooldown(list(rule_names.values()))
            self.cooldown_state_machine_arn = cooldown.arn
            for model in models:
                self._model(model, rule_names[model.name], cooldown, start_cooldown_role, after_start_policy)

        self.register_outputs({
            "ruleNames": self.rule_names,
            "ruleArns": self.rule_arns,
            "targetRoleArns": self.target_role_arns,
            "cooldownStateMachineArn": self.cooldown_state_machine_arn,
        })

    def _role(self, purpose: str, description: str, trust: pulumi.Input[str],
              policy: pulumi.Input[str]) -> tuple[aws.iam.Role, pulumi.ResourceOptions]:
        """A role with its one inline policy, and the options for what uses the role: AWS checks the
        role when a state machine or target is created or first invoked, so they come after its policy."""
        ctx = self._ctx
        role = service_role(f"{self._prefix}-{purpose}", context=ctx, component=COMPONENT, purpose=purpose,
                            description=description, trust=trust,
                            permissions_boundary_arn=self._args.permissions_boundary_arn, opts=self._child)
        granted = aws.iam.RolePolicy(
            f"{self._prefix}-{purpose}",
            name=ctx.naming.name(purpose, kind=NameKind.IAM_POLICY),
            role=role.name,
            policy=policy,
            opts=self._child,
        )
        return role, pulumi.ResourceOptions(parent=self, depends_on=[granted])

    def _cooldown(self, rule_names: list[str]) -> tuple[aws.sfn.StateMachine, aws.iam.Role, pulumi.ResourceOptions]:
        """The workflow that switches a rule off and on, its role, and EventBridge's role to start it
        (with the options of what uses that role)."""
        ctx = self._ctx
        machine_name = ctx.naming.name("retraining-cooldown", kind=NameKind.SAGEMAKER)  # regional, <= 80 chars
        machine_arn = ctx.arn("states", f"stateMachine:{machine_name}")
        rule_arns = sorted(ctx.arn("events", f"rule/{rule}") for rule in rule_names)
        trust = document(statement(
            "TrustStepFunctions", ["sts:AssumeRole"], None,
            principals={"Service": ctx.service_principal("states")},
            conditions={"StringEquals": {"aws:SourceAccount": ctx.account_id},
                        "ArnLike": {"aws:SourceArn": machine_arn}},
        ))
        toggle = document(statement("ToggleRetrainingRules", ["events:DisableRule", "events:EnableRule"], rule_arns))
        workflow_role, after_workflow_policy = self._role(
            "retraining-cooldown", "switches retraining rules off and on (cooldown)", to_json(trust), to_json(toggle))
        machine = aws.sfn.StateMachine(
            f"{self._prefix}-cooldown",
            name=machine_name,
            role_arn=workflow_role.arn,
            type="STANDARD",  # Wait states of up to a year; express workflows stop after 5 minutes
            definition=to_json(cooldown_definition()),
            tags=ctx.tagging.resource(COMPONENT, machine_name),
            opts=after_workflow_policy,
        )
        start_trust = document(statement(
            "TrustEventBridgeRules", ["sts:AssumeRole"], None,
            principals={"Service": ctx.service_principal("events")},
            conditions={"StringEquals": {"aws:SourceAccount": ctx.account_id}, "ArnLike": {"aws:SourceArn": rule_arns}},
        ))
        start_role, after_start_policy = self._role(
            "retraining-start-cooldown", "EventBridge starts the retraining cooldown", to_json(start_trust),
            render(lambda arn: document(statement("StartCooldown", ["states:StartExecution"], [arn])), machine.arn),
        )
        if self._args.operations_topic_arn is not None:
            alarm_name = ctx.naming.name("retraining-cooldown-failed")
            aws.cloudwatch.MetricAlarm(
                f"{self._prefix}-cooldown-failed",
                name=alarm_name,
                alarm_description=(f"{ctx.naming.prefix}: a retraining cooldown failed; a retraining rule may be left "
                                   "disabled (aws events enable-rule --name <rule>)"),
                namespace="AWS/States",
                metric_name="ExecutionsFailed",
                dimensions={"StateMachineArn": machine.arn},
                statistic="Sum",
                period=300,
                evaluation_periods=1,
                comparison_operator="GreaterThanOrEqualToThreshold",
                threshold=1,
                treat_missing_data="notBreaching",
                alarm_actions=[self._args.operations_topic_arn],
                tags=ctx.tagging.resource(COMPONENT, alarm_name),
                opts=self._child,
            )
        return machine, start_role, after_start_policy

    def _model(self, model: RetrainedModel, rule_name: str, cooldown: aws.sfn.StateMachine,
               start_cooldown_role: aws.iam.Role, after_start_policy: pulumi.ResourceOptions) -> None:
        ctx, args, child = self._ctx, self._args, self._child
        rule_arn = ctx.arn("events", f"rule/{rule_name}")
        rule = aws.cloudwatch.EventRule(
            f"{self._prefix}-{model.name}",
            name=rule_name,
            description=f"{ctx.naming.prefix}: drift alarm of {model.name} -> retraining pipeline",
            event_pattern=render(lambda arn: drift_event_pattern(arn), model.drift_alarm_arn),
            state="ENABLED",
            tags=ctx.tagging.resource(COMPONENT, rule_name),
            # The cooldown workflow disables and enables the rule; that is not drift to undo.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["state"]),
        )
        role, after_role_policy = self._role(
            f"retrain-{model.name}", f"EventBridge starts the training pipeline for {model.name}",
            to_json(events_trust(ctx, rule_arn)),
            render(start_pipeline_policy, model.pipeline_arn),
        )
        listed = pipeline_parameters(args.settings.parameters_for(model.name))
        parameters: pulumi.Input[list[dict[str, str]]] = listed
        if isinstance(model.pipeline_definition, pulumi.Output):
            # Known only once TrainingCompute has rendered it: checked then (a plain definition was
            # checked up front, in RetrainingArgs.problems).
            sent = {p["name"]: p["value"] for p in listed}

            def check(definition: str, model_name: str = model.name) -> str:
                problems = pipeline_parameter_problems(definition, sent)
                if problems:
                    # Inside an apply the program cannot translate the error: a RunError is what
                    # `pulumi up` prints without a traceback (the CLI reports it as exit 2).
                    raise pulumi.RunError(f"retraining {model_name!r} would start the pipeline with parameters it refuses: "
                                     + "; ".join(problems))
                return definition

            # The check runs when the definition is known; the target waits for it.
            parameters = model.pipeline_definition.apply(check).apply(lambda _: listed)
        def target(suffix: str, target_id: str, arn: pulumi.Input[str], opts: pulumi.ResourceOptions,
                   **settings: Any) -> None:
            aws.cloudwatch.EventTarget(f"{self._prefix}-{model.name}-{suffix}", rule=rule.name, target_id=target_id,
                                       arn=arn, opts=opts, **settings)

        target("pipeline", "retraining-pipeline", model.pipeline_arn, after_role_policy, role_arn=role.arn,
               sagemaker_pipeline_target={"pipeline_parameter_lists": parameters},
               retry_policy={"maximum_retry_attempts": 3, "maximum_event_age_in_seconds": 3600})
        cooldown_input = {"model": model.name, "ruleName": rule_name,
                          "cooldownSeconds": args.settings.min_period_hours * 3600}
        target("cooldown", "retraining-cooldown", cooldown.arn, after_start_policy, role_arn=start_cooldown_role.arn,
               input=json.dumps(cooldown_input, sort_keys=True),
               retry_policy={"maximum_retry_attempts": 10, "maximum_event_age_in_seconds": 3600})
        if args.notify_topic_arn is not None:
            target("notify", "retraining-notification", args.notify_topic_arn, child)
        self.rule_names[model.name] = rule_name
        self.rule_arns[model.name] = rule.arn
        self.target_role_arns[model.name] = role.arn
