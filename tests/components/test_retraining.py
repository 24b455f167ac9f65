"""Retraining: the drift signal starts this stack's pipeline through a role that may do nothing
else, per model, at most once per period (the rule switches itself off for the cooldown)."""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase
from typing import Any

import boto3
import pulumi
import pytest
from moto import mock_aws
from moto.events.models import EventPattern

from mlops_blueprint.components.retraining import (
    RetrainedModel,
    Retraining,
    RetrainingArgs,
    cooldown_definition,
    drift_event,
    drift_event_pattern,
    pipeline_parameters,
)
from mlops_blueprint.components.retraining_settings import RetrainingSettings
from mlops_blueprint.config import deep_merge
from mlops_blueprint.context import StackContext
from mlops_blueprint.mock_runtime import MOCK_ACCOUNT_ID, MockRun, Registration, run_program
from support.components import run_component

ACCOUNT = MOCK_ACCOUNT_ID
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
PIPELINE = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:pipeline/mlops-platform-dev-training"
OTHER_PIPELINE = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:pipeline/mlops-platform-dev-other"
INFO = f"arn:aws:sns:us-east-1:{ACCOUNT}:mlops-platform-dev-alerts-info"
CRITICAL = f"arn:aws:sns:us-east-1:{ACCOUNT}:mlops-platform-dev-alerts-critical"


def drift_alarm(model: str) -> str:
    return f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:mlops-platform-dev-{model}-drift"


def churn(**overrides: Any) -> RetrainedModel:
    return RetrainedModel(**{"name": "churn", "drift_alarm_arn": drift_alarm("churn"), "pipeline_arn": PIPELINE,
                             **overrides})


def settings(**values: Any) -> RetrainingSettings:
    """Retraining on, churn with the parameters its pipeline needs; ``values`` (stack-file keys) on top."""
    base = {"enabled": True, "models": {"churn": {"parameters": {"TrainingImageTag": "1.4.2",
                                                                 "InferenceImageTag": "1.4.2"}}}}
    return RetrainingSettings.model_validate(deep_merge(base, values))


def args(ctx: StackContext, models: list[RetrainedModel], settings_values: dict[str, Any] | None = None,
         **kwargs: Any) -> RetrainingArgs:
    return RetrainingArgs(context=ctx, models=models, settings=settings(**(settings_values or {})), **kwargs)


def build(ctx: StackContext, models: list[RetrainedModel], settings_values: dict[str, Any] | None = None,
          **kwargs: Any) -> MockRun:
    built = args(ctx, models, settings_values, **kwargs)
    return run_component(ctx, lambda: Retraining("retraining", built),
                         {"ruleNames": "rule_names", "cooldown": "cooldown_state_machine_arn"})


def target(run: MockRun, model: str, kind: str) -> dict[str, Any]:
    return run.named(TARGET, f"retraining-{model}-{kind}").inputs


def role_by_arn(run: MockRun, arn: str) -> Registration:
    return next(r for r in run.of_type(ROLE) if r.outputs["arn"] == arn)


def policies_of(run: MockRun, role: Registration) -> list[dict[str, Any]]:
    return [json.loads(p.inputs["policy"]) for p in run.of_type(ROLE_POLICY) if p.inputs["role"] == role.inputs["name"]]


def grants(policies: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Every (action, resource) pair the policies allow."""
    pairs = []
    for policy in policies:
        for s in policy["Statement"]:
            assert s["Effect"] == "Allow"
            actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
            resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
            pairs += [(a, r) for a in actions for r in resources]
    return pairs


# -- the drift signal -------------------------------------------------------------------------------


def test_rule_matches_the_models_drift_alarm_entering_alarm_only(dev_context: StackContext) -> None:
    run = build(dev_context, [churn()])
    rule = run.named(RULE, "retraining-churn").inputs
    pattern = json.loads(rule["eventPattern"])
    assert pattern == drift_event_pattern(drift_alarm("churn"))
    matcher = EventPattern.load(rule["eventPattern"])  # moto's implementation of EventBridge matching
    assert matcher.matches_event(drift_event(drift_alarm("churn")))
    back_to_ok = drift_event(drift_alarm("churn"))
    back_to_ok["detail"]["state"]["value"] = "OK"
    assert not matcher.matches_event(back_to_ok)
    assert not matcher.matches_event(drift_event(drift_alarm("fraud")))
    latency = drift_event(f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:mlops-platform-dev-churn-current-latency")
    assert not matcher.matches_event(latency)
    assert rule["name"] == "mlops-platform-dev-churn-retrain" and rule["state"] == "ENABLED"


def test_drift_event_has_the_shape_cloudwatch_sends(dev_context: StackContext) -> None:
    event = drift_event(drift_alarm("churn"), time="2025-03-01T10:00:00Z")
    assert (event["source"], event["detail-type"]) == ("aws.cloudwatch", "CloudWatch Alarm State Change")
    assert event["account"] == ACCOUNT and event["region"] == "us-east-1"
    assert event["detail"]["alarmName"] == "mlops-platform-dev-churn-drift"
    assert event["detail"]["state"]["value"] == "ALARM" and event["detail"]["previousState"]["value"] == "OK"


def test_eventbridge_accepts_the_pattern_and_delivers_the_signal() -> None:
    """moto's EventBridge: the pattern is valid and a drift event reaches the rule's target."""
    with mock_aws():
        events, sqs = boto3.client("events", region_name="us-east-1"), boto3.client("sqs", region_name="us-east-1")
        queue = sqs.create_queue(QueueName="pipeline-stand-in")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        pattern = json.dumps(drift_event_pattern(drift_alarm("churn")))
        events.put_rule(Name="mlops-platform-dev-churn-retrain", EventPattern=pattern)
        events.put_targets(Rule="mlops-platform-dev-churn-retrain", Targets=[{"Id": "pipeline", "Arn": queue_arn}])
        for alarm_arn in (drift_alarm("churn"), drift_alarm("fraud")):
            signal = drift_event(alarm_arn)
            events.put_events(Entries=[{"Source": signal["source"], "DetailType": signal["detail-type"],
                                        "Resources": signal["resources"], "Detail": json.dumps(signal["detail"])}])
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
        assert [json.loads(m["Body"])["resources"] for m in messages] == [[drift_alarm("churn")]]


# -- the pipeline target ---------------------------------------------------------------------------------


def test_target_is_the_given_pipeline_with_the_models_parameters(dev_context: StackContext) -> None:
    run = build(dev_context, [churn()])
    pipeline = target(run, "churn", "pipeline")
    assert pipeline["arn"] == PIPELINE
    assert pipeline["rule"] == "mlops-platform-dev-churn-retrain"
    assert pipeline["sagemakerPipelineTarget"]["pipelineParameterLists"] == [
        {"name": "InferenceImageTag", "value": "1.4.2"}, {"name": "TrainingImageTag", "value": "1.4.2"}]
    assert pipeline["retryPolicy"]["maximumRetryAttempts"] == 3


def test_a_pipeline_shared_by_models_is_told_which_model(dev_context: StackContext) -> None:
    run = build(dev_context, [churn()], {"modelParameterName": "ModelName"})
    assert {"name": "ModelName", "value": "churn"} in \
        target(run, "churn", "pipeline")["sagemakerPipelineTarget"]["pipelineParameterLists"]


# What TrainingCompute's pipeline declares (components/sagemaker_pipeline.py): two tags without defaults.
DEFINITION = json.dumps({"Version": "2020-12-01", "Parameters": [
    {"Name": "InputDataUrl", "Type": "String", "DefaultValue": "s3://datasets/training/"},
    {"Name": "TrainingImageTag", "Type": "String"}, {"Name": "InferenceImageTag", "Type": "String"},
    {"Name": "QualityThreshold", "Type": "Float", "DefaultValue": 0.8}], "Steps": []})


def test_parameters_are_checked_against_the_pipeline_definition(dev_context: StackContext) -> None:
    """A parameter SageMaker would refuse fails the preview, not the first drift incident."""
    missing = RetrainingArgs(context=dev_context, models=[churn(pipeline_definition=DEFINITION)],
                             settings=RetrainingSettings.model_validate({"enabled": True, "models": {
                                 "churn": {"parameters": {"InferenceImageTag": "1.4.2"}}}}))
    with pytest.raises(ValueError, match="'TrainingImageTag' has no default and must be sent"):
        Retraining("retraining", missing)
    with pytest.raises(ValueError, match="'ModelName' is not a parameter of the pipeline"):
        Retraining("retraining", args(dev_context, [churn(pipeline_definition=json.loads(DEFINITION))],
                                      {"modelParameterName": "ModelName"}))


def test_a_rendered_definition_is_checked_when_known(dev_context: StackContext) -> None:
    """TrainingCompute's definition is an Output: the target waits for the check and then carries
    the parameters. (A failing check raises inside the apply: the deployment fails with the
    message (at `pulumi up` when the definition is unknown at preview); the mock harness cannot run
    a program that raises inside an apply and then another one, so that path is not run here.)"""
    def program() -> None:
        Retraining("retraining", args(dev_context, [churn(pipeline_definition=pulumi.Output.from_input(DEFINITION))]))

    run = run_program(program, stack="dev", project="mlops-platform")
    assert target(run, "churn", "pipeline")["sagemakerPipelineTarget"]["pipelineParameterLists"] == [
        {"name": "InferenceImageTag", "value": "1.4.2"}, {"name": "TrainingImageTag", "value": "1.4.2"}]


def test_target_role_may_only_start_that_pipeline(dev_context: StackContext) -> None:
    run = build(dev_context, [churn()])
    role = role_by_arn(run, target(run, "churn", "pipeline")["roleArn"])
    allowed = grants(policies_of(run, role))
    assert allowed == [("sagemaker:StartPipelineExecution", PIPELINE)]
    assert role.inputs.get("managedPolicyArns") in (None, [])
    assert not any(fnmatchcase(OTHER_PIPELINE, r) for _, r in allowed)
    [trust] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    assert trust["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnEquals": {"aws:SourceArn": f"arn:aws:events:us-east-1:{ACCOUNT}:rule/mlops-platform-dev-churn-retrain"},
    }
    # The trust names the rule that actually uses the role.
    assert trust["Condition"]["ArnEquals"]["aws:SourceArn"] == run.named(RULE, "retraining-churn").outputs["arn"]


def test_each_model_has_its_own_rule_and_role(dev_context: StackContext) -> None:
    fraud = RetrainedModel("fraud", drift_alarm("fraud"), OTHER_PIPELINE)
    run = build(dev_context, [churn(), fraud])
    assert run.outputs["ruleNames"] == {"churn": "mlops-platform-dev-churn-retrain", "fraud": "mlops-platform-dev-fraud-retrain"}
    churn_role = role_by_arn(run, target(run, "churn", "pipeline")["roleArn"])
    fraud_role = role_by_arn(run, target(run, "fraud", "pipeline")["roleArn"])
    assert churn_role.urn != fraud_role.urn
    assert grants(policies_of(run, fraud_role)) == [("sagemaker:StartPipelineExecution", OTHER_PIPELINE)]
    assert json.loads(run.named(RULE, "retraining-fraud").inputs["eventPattern"])["resources"] == [drift_alarm("fraud")]


def test_retraining_off_for_a_model_means_no_rule_role_or_target(dev_context: StackContext) -> None:
    run = build(dev_context, [churn(), RetrainedModel("fraud", drift_alarm("fraud"), PIPELINE)],
                {"models": {"fraud": {"enabled": False}}})
    assert [r.name for r in run.of_type(RULE)] == ["retraining-churn"]
    assert not any("fraud" in t.name for t in run.of_type(TARGET))
    assert not any("fraud" in r.inputs["name"] for r in run.of_type(ROLE))


def test_nothing_at_all_without_models(dev_context: StackContext) -> None:
    run = build(dev_context, [churn()], {"models": {"churn": {"enabled": False}}})
    assert [r.type for r in run.registrations if r.custom and not r.type.startswith("pulumi:")] == []
    run = build(dev_context, [churn()], {"enabled": False, "models": {"churn": {"enabled": None}}})
    assert [r.type for r in run.registrations if r.custom and not r.type.startswith("pulumi:")] == []


# -- the rate limit --------------------------------------------------------------------------------------


def test_the_rule_also_starts_the_cooldown_for_its_own_name_and_the_period(dev_context: StackContext) -> None:
    run = build(dev_context, [churn()], {"minPeriodHours": 72})
    cooldown = target(run, "churn", "cooldown")
    [machine] = run.of_type(STATE_MACHINE)
    assert cooldown["arn"] == machine.outputs["arn"]
    assert json.loads(cooldown["input"]) == {"model": "churn", "ruleName": "mlops-platform-dev-churn-retrain",
                                             "cooldownSeconds": 72 * 3600}
    role = role_by_arn(run, cooldown["roleArn"])
    assert grants(policies_of(run, role)) == [("states:StartExecution", machine.outputs["arn"])]


def test_cooldown_workflow_may_only_toggle_the_retraining_rules(dev_context: StackContext) -> None:
    fraud = RetrainedModel("fraud", drift_alarm("fraud"), PIPELINE)
    run = build(dev_context, [churn(), fraud])
    [machine] = run.of_type(STATE_MACHINE)
    assert machine.inputs["type"] == "STANDARD"
    assert json.loads(machine.inputs["definition"]) == cooldown_definition()
    role = role_by_arn(run, machine.inputs["roleArn"])
    rules = [run.named(RULE, f"retraining-{m}").outputs["arn"] for m in ("churn", "fraud")]
    assert sorted(grants(policies_of(run, role))) == sorted(
        (action, rule) for action in ("events:DisableRule", "events:EnableRule") for rule in rules)
    [trust] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "states.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}


def _run_workflow(definition: dict[str, Any], data: dict[str, Any], events: Any) -> list[tuple[str, Any]]:
    """Execute the workflow's states the way Step Functions would, with its AWS SDK tasks sent to
    ``events`` (a boto3 EventBridge client): enough of ASL for Task (aws-sdk), Wait and End."""
    trace: list[tuple[str, Any]] = []
    name = definition["StartAt"]
    while True:
        state = definition["States"][name]
        if state["Type"] == "Task":
            match = re.fullmatch(r"arn:aws:states:::aws-sdk:eventbridge:(\w+)", state["Resource"])
            assert match, state["Resource"]
            params = {k.removesuffix(".$"): data[v.removeprefix("$.")] if k.endswith(".$") else v
                      for k, v in state["Parameters"].items()}
            method = re.sub(r"(?<!^)(?=[A-Z])", "_", match.group(1)).lower()
            getattr(events, method)(**params)
            rule = events.describe_rule(Name=params["Name"], EventBusName=params["EventBusName"])
            trace.append((name, rule["State"]))
            assert state["ResultPath"] is None  # the input (rule name, period) flows on unchanged
        elif state["Type"] == "Wait":
            trace.append((name, data[state["SecondsPath"].removeprefix("$.")]))
        if state.get("End"):
            return trace
        name = state["Next"]


def test_cooldown_disables_the_rule_for_the_period_then_enables_it(dev_context: StackContext) -> None:
    """Run the deployed definition with the input the rule sends, against moto's EventBridge.
    (EventBridge delivers nothing to a disabled rule; moto does not model that, so the test checks
    the rule's state at each step.)"""
    run = build(dev_context, [churn()], {"minPeriodHours": 24})
    definition = json.loads(run.of_type(STATE_MACHINE)[0].inputs["definition"])
    data = json.loads(target(run, "churn", "cooldown")["input"])
    rule = run.named(RULE, "retraining-churn").inputs
    with mock_aws():
        events = boto3.client("events", region_name="us-east-1")
        events.put_rule(Name=rule["name"], EventPattern=rule["eventPattern"], State="ENABLED")
        trace = _run_workflow(definition, data, events)
    assert trace == [("DisableTrigger", "DISABLED"), ("Cooldown", 24 * 3600), ("EnableTrigger", "ENABLED")]
    # Every SDK call retries: a throttled EnableRule must not leave retraining off.
    for state in ("DisableTrigger", "EnableTrigger"):
        assert definition["States"][state]["Retry"][0]["MaxAttempts"] >= 5


def test_a_failed_cooldown_raises_the_operations_alarm(dev_context: StackContext) -> None:
    run = build(dev_context, [churn()], operations_topic_arn=CRITICAL)
    [machine] = run.of_type(STATE_MACHINE)
    [alarm] = run.of_type(ALARM)
    assert alarm.inputs["namespace"] == "AWS/States" and alarm.inputs["metricName"] == "ExecutionsFailed"
    assert alarm.inputs["dimensions"] == {"StateMachineArn": machine.outputs["arn"]}
    assert alarm.inputs["alarmActions"] == [CRITICAL]


def test_the_rule_state_belongs_to_the_cooldown_not_to_pulumi(dev_context: StackContext) -> None:
    """The rule is created enabled; afterwards the workflow toggles it, and Pulumi must not undo a
    running cooldown on the next `pulumi up`."""
    seen: list[Any] = []

    def program() -> None:
        def transform(args: pulumi.ResourceTransformationArgs) -> None:
            if args.type_ == RULE:
                seen.append(args.opts.ignore_changes)

        pulumi.runtime.register_stack_transformation(transform)
        Retraining("retraining", args(dev_context, [churn()]))

    run_program(program, stack="dev", project="mlops-platform")
    assert seen == [["state"]]


def test_notification_target_when_a_topic_is_given(dev_context: StackContext) -> None:
    run = build(dev_context, [churn()], notify_topic_arn=INFO)
    assert target(run, "churn", "notify")["arn"] == INFO
    assert "retraining-churn-notify" not in {t.name for t in build(dev_context, [churn()]).of_type(TARGET)}


# -- args --------------------------------------------------------------------------------------------------


def test_pipeline_parameters_name_the_model_when_the_pipeline_has_a_parameter_for_it() -> None:
    named = settings(modelParameterName="Model", models={"churn": {"parameters": {"Epochs": "3"}}})
    assert pipeline_parameters(named.parameters_for("churn")) == [
        {"name": "Epochs", "value": "3"}, {"name": "InferenceImageTag", "value": "1.4.2"},
        {"name": "Model", "value": "churn"}, {"name": "TrainingImageTag", "value": "1.4.2"}]
    assert pipeline_parameters({"Epochs": "3"}) == [{"name": "Epochs", "value": "3"}]


@pytest.mark.parametrize(("values", "message"), [
    ({"minPeriodHours": 0}, r"minPeriodHours\n  Input should be greater than or equal to 1"),
    ({"minPeriodHours": 9000}, r"minPeriodHours\n  Input should be less than or equal to 8759"),
    ({"modelParameterName": "ModelName", "models": {"churn": {"parameters": {"ModelName": "fraud"}}}},
     "models.churn.parameters.ModelName: the model's name, which retraining sends"),
    ({"models": {"churn": {"parameters": {"bad name": "1"}}}}, "'bad name' are not valid"),
])
def test_bad_settings_are_rejected_when_built(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        settings(**values)


def test_retraining_per_model_switch_and_parameters() -> None:
    config = RetrainingSettings.model_validate({"enabled": False, "modelParameterName": "Model", "models": {
        "churn": {"enabled": True, "parameters": {"Epochs": "3"}}, "fraud": {}}})
    assert config.enabled_for("churn") and not config.enabled_for("fraud") and not config.enabled_for("other")
    assert config.parameters_for("churn") == {"Epochs": "3", "Model": "churn"}
    assert RetrainingSettings.model_validate({"models": {"churn": {"parameters": {"TrainingImageTag": "2"}}}}) \
        .parameters_for("churn") == {"TrainingImageTag": "2"}  # no model parameter unless the pipeline has one
    on = RetrainingSettings.model_validate({"enabled": True, "models": {"fraud": {"enabled": False}}})
    assert on.enabled_for("churn") and not on.enabled_for("fraud")


def test_the_models_own_name_as_its_parameter_is_accepted() -> None:
    named = settings(modelParameterName="ModelName", models={"churn": {"parameters": {"ModelName": "churn"}}})
    assert named.parameters_for("churn")["ModelName"] == "churn"


def test_a_model_listed_twice_is_rejected_before_anything_is_registered(dev_context: StackContext) -> None:
    with pytest.raises(ValueError, match="invalid RetrainingArgs for 'retraining':\n  - models: 'churn' is listed twice"):
        Retraining("retraining", args(dev_context, [churn(), churn()]))


def test_what_runs_as_a_role_is_created_after_that_roles_policy(dev_context: StackContext) -> None:
    """Step Functions checks its role when the state machine is created, and a target's role is used
    on the first drift event right after deploy: both wait for the role's permissions."""
    run = build(dev_context, [churn()], notify_topic_arn=INFO)
    users = [*run.of_type(STATE_MACHINE), *[t for t in run.of_type(TARGET) if t.inputs.get("roleArn")]]
    assert len(users) == 3  # the cooldown machine, the pipeline and cooldown targets
    for user in users:
        role = role_by_arn(run, user.inputs["roleArn"])
        [policy] = [p for p in run.of_type(ROLE_POLICY) if p.inputs["role"] == role.inputs["name"]]
        assert policy.urn in user.dependencies, user.name
