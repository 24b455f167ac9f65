"""Deploy, promote and roll back a model: through the registry, or on an endpoint the pipelines own.

**One owner per endpoint.** An endpoint the stack declares (``models:``; stack output
``endpointNames``) is Pulumi's: nothing here updates it. On such an endpoint :func:`promote` and
:func:`rollback` change the SageMaker model registry only — promote approves the challenger's
package (after the metric gate), rollback rejects the current champion's package and re-approves
the previous one — and the deploy workflow's ``pulumi up`` rolls the endpoint to the newest
Approved package (``models[].modelPackageGroup``, see :mod:`mlops_blueprint.model_registry`).
:func:`deploy` refuses such an endpoint (exit 2) and says what to do instead. That registry-only
path is :mod:`.deploy_registry`.

The rest of this module manages an endpoint the stack does **not** declare (``--endpoint-name``;
the sandbox's), where the pipelines are the only owner.

Every change is a **new endpoint configuration** (unique name) followed by ``UpdateEndpoint`` (or
``CreateEndpoint`` the first time); configurations are never edited, so going back is switching to
an older one. Variants are named after MLflow versions (``v3``) and their models are created from
the version's approved model package, in the serving subnets, with network isolation, the serving
role, and the data key on the configuration. A new configuration inherits KMS key, data capture
and instance settings from the endpoint's current one (what the platform set up), and carries its
own history as tags:

=========================== =====================================================================
``mlops:stage``             ``stable`` (one version takes all traffic) or ``canary`` (champion +
                            challenger at ``--canary-weight``)
``mlops:rollback-to``       the stable configuration that served before this deployment began
``mlops:champion-version``  the MLflow version that is champion in this configuration
``mlops:challenger-version`` the canary's version (canary configurations only)
=========================== =====================================================================

* :func:`deploy` — first deployment: a stable configuration (the version becomes ``champion``);
  afterwards: a canary (champion ``1 - w``, challenger ``w``).
* :func:`promote` — the metric gate (:func:`~.registry.evaluate_gate`) first; only if it passes,
  a stable configuration with the challenger alone, and the ``champion`` alias moves.
* :func:`rollback` — back to the configuration in ``mlops:rollback-to``; aliases follow.

Nothing is half-deployed: all inputs are checked before the first change; if a step fails before
the endpoint update, what was created (models, configuration, approval) is undone; if SageMaker
rejects the update, the endpoint keeps serving its previous configuration.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from mlops_blueprint.outputs import Out
from mlops_blueprint.pipelines.context import PipelineContext
# Pulumi-owned endpoints: the registry-only path; its public names stay importable from here.
from mlops_blueprint.pipelines.deploy_registry import (  # noqa: F401
    PREVIOUS_CHAMPION_TAG,
    RegistryChange,
    approve_in_registry,
    approved_packages,
    pulumi_owned_refusal,
    rollback_in_registry,
    set_version_status,
)
from mlops_blueprint.pipelines.errors import GateFailed, InputError, PipelineError
from mlops_blueprint.pipelines.registry import (
    APPROVED,
    CHALLENGER,
    CHAMPION,
    GateResult,
    alias_version,
    evaluate_gate,
    package_arn,
    package_status,
    resolve_version,
    set_package_status,
)
from mlops_blueprint.pipelines.train import DEFAULT_METRIC

STAGE_TAG, ROLLBACK_TAG = "mlops:stage", "mlops:rollback-to"
CHAMPION_TAG, CHALLENGER_TAG = "mlops:champion-version", "mlops:challenger-version"
STABLE, CANARY = "stable", "canary"
DEFAULT_CANARY_WEIGHT = 0.1
DEFAULT_INSTANCE_TYPE, DEFAULT_INSTANCE_COUNT = "ml.m5.large", 1


@dataclass(frozen=True)
class EndpointState:
    name: str
    status: str
    config_name: str
    variants: list[dict[str, Any]]
    config: dict[str, Any]
    tags: dict[str, str]
    failure_reason: str = ""
    has_deployment_config: bool = False   # the endpoint was made with blue/green rules (ServingEndpoint)

    @property
    def weights(self) -> dict[str, float]:
        return {v["VariantName"]: float(v.get("CurrentWeight", v.get("DesiredWeight", 0.0))) for v in self.variants}


@dataclass(frozen=True)
class DeployResult:
    endpoint: str
    config_name: str
    previous_config: str | None
    stage: str
    weights: dict[str, float]
    champion_version: str
    challenger_version: str | None
    created_endpoint: bool
    models: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PromoteResult:
    gate: GateResult
    deploy: DeployResult | None       # None: the endpoint is Pulumi's; see ``registry``
    registry: RegistryChange | None = None


@dataclass(frozen=True)
class RollbackResult:
    endpoint: str
    from_config: str
    to_config: str
    champion_version: str
    weights: dict[str, float]


def variant_name(version: str) -> str:
    return f"v{version}"


def _is_version_variant(variant: str) -> bool:
    return variant.startswith("v") and variant[1:].isdigit()


def _tags(pairs: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in pairs or []}


def _not_found(exc: Exception) -> bool:
    return "Could not find" in str(exc) or "does not exist" in str(exc)


def endpoint_state(ctx: PipelineContext) -> EndpointState | None:
    from botocore.exceptions import ClientError

    sm, name = ctx.sagemaker, ctx.endpoint_name
    try:
        endpoint = sm.describe_endpoint(EndpointName=name)
    except ClientError as exc:
        if _not_found(exc):
            return None
        raise
    config = sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    tags = _tags(sm.list_tags(ResourceArn=config["EndpointConfigArn"]).get("Tags"))
    return EndpointState(name, endpoint["EndpointStatus"], endpoint["EndpointConfigName"],
                         endpoint.get("ProductionVariants", []), config, tags, endpoint.get("FailureReason") or "",
                         bool(endpoint.get("LastDeploymentConfig")))


def wait_in_service(ctx: PipelineContext, config_name: str) -> EndpointState:
    """Until the endpoint is InService on ``config_name`` (bounded by ``ctx.wait_seconds``)."""
    deadline = time.monotonic() + ctx.wait_seconds
    while True:
        state = endpoint_state(ctx)
        if state is None:
            raise PipelineError(f"endpoint {ctx.endpoint_name} disappeared while waiting for it")
        if state.status == "InService" and state.config_name == config_name:
            return state
        if state.status in ("Failed", "UpdateRollbackFailed", "OutOfService"):
            raise PipelineError(f"endpoint {state.name} is {state.status}: {state.failure_reason}")
        if state.status == "InService" and state.failure_reason:
            raise PipelineError(f"SageMaker rejected configuration {config_name}: {state.failure_reason}; "
                                f"endpoint {state.name} still serves {state.config_name}")
        if time.monotonic() > deadline:
            raise PipelineError(f"endpoint {state.name} is still {state.status} after {ctx.wait_seconds:g} s "
                                f"(waiting for {config_name}); check it with `aws sagemaker describe-endpoint`")
        time.sleep(ctx.poll_seconds)


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S") + secrets.token_hex(2)


def roll_out(ctx: PipelineContext, plan: list[tuple[str, float]], stage: str, *, champion: str,
             challenger: str | None = None, instance_type: str | None = None,
             instance_count: int | None = None) -> DeployResult:
    """Make a new endpoint configuration serving ``plan`` — (variant, weight) pairs; a variant the
    endpoint serves keeps its model, a new one (``v<version>``) is made from the version's package —
    and switch the endpoint to it."""
    from botocore.exceptions import ClientError

    sm, endpoint = ctx.sagemaker, ctx.endpoint_name
    # -- inputs, before any change
    role = ctx.outputs.require(Out.SERVING_ROLE_ARN, "the execution role of SageMaker models")
    subnets = ctx.outputs.require(Out.SERVING_SUBNET_IDS, "the VPC config of SageMaker models")
    security_group = ctx.outputs.require(Out.WORKLOAD_SECURITY_GROUP_ID, "the VPC config of SageMaker models")
    data_key = ctx.outputs.require(Out.DATA_KEY_ARN, "the endpoint configuration's KMS key")
    bucket = ctx.outputs.require(Out.MODELS_BUCKET_NAME, "data capture")
    state = endpoint_state(ctx)
    if state is not None and state.status != "InService":
        raise PipelineError(f"endpoint {endpoint} is {state.status}, not InService; nothing was changed — "
                            "wait for it, then run the step again")
    current = {v["VariantName"]: v for v in (state.config["ProductionVariants"] if state else [])}
    packages = {variant: package_arn(ctx, variant[1:]) for variant, _ in plan if variant not in current}
    template = next(iter(current.values()), {})
    settings = {"InstanceType": instance_type or template.get("InstanceType", DEFAULT_INSTANCE_TYPE),
                "InitialInstanceCount": instance_count or template.get("InitialInstanceCount", DEFAULT_INSTANCE_COUNT)}
    if state is None:
        rollback_to = None
    elif state.tags.get(STAGE_TAG) == CANARY:
        rollback_to = state.tags.get(ROLLBACK_TAG)
    else:
        rollback_to = state.config_name

    stamp = _stamp()
    undo: list[Callable[[], Any]] = []
    issued = False
    created_models: list[str] = []
    try:
        variants = []
        for name, weight in plan:
            version = name[1:]
            if name in current:  # already served: keep its model and instance settings
                existing = current[name]
                variants.append({**{k: v for k, v in existing.items() if k != "InitialVariantWeight"},
                                 "InitialVariantWeight": weight})
                continue
            arn = packages[name]
            before = package_status(ctx, arn)
            if before != APPROVED:
                set_package_status(ctx, arn, APPROVED, f"approved for deployment to {endpoint} ({stage})")
                undo.append(lambda arn=arn, before=before: set_package_status(
                    ctx, arn, before, "deployment did not complete; approval withdrawn"))
            model_name = ctx.resource_name(endpoint, name, stamp)
            sm.create_model(ModelName=model_name, ExecutionRoleArn=role,
                            PrimaryContainer={"ModelPackageName": arn},
                            VpcConfig={"SecurityGroupIds": [security_group], "Subnets": list(subnets)},
                            EnableNetworkIsolation=True,
                            Tags=[{"Key": "mlflow:registered-model", "Value": ctx.registered_model_name},
                                  {"Key": "mlflow:version", "Value": version}])
            undo.append(lambda m=model_name: sm.delete_model(ModelName=m))
            created_models.append(model_name)
            variants.append({"VariantName": name, "ModelName": model_name, "InitialVariantWeight": weight,
                             **(settings if not template.get("ServerlessConfig")
                                else {"ServerlessConfig": template["ServerlessConfig"]})})
        config_name = ctx.resource_name(endpoint, stamp)
        tags = {STAGE_TAG: stage, CHAMPION_TAG: champion, "mlflow:registered-model": ctx.registered_model_name}
        if rollback_to:
            tags[ROLLBACK_TAG] = rollback_to
        if challenger:
            tags[CHALLENGER_TAG] = challenger
        extra: dict[str, Any] = {}
        if state is not None:
            for key in ("KmsKeyId", "DataCaptureConfig", "AsyncInferenceConfig"):
                if state.config.get(key):
                    extra[key] = state.config[key]
        else:
            extra = {"KmsKeyId": data_key, "DataCaptureConfig": {
                "EnableCapture": True, "InitialSamplingPercentage": 100, "KmsKeyId": data_key,
                "DestinationS3Uri": f"s3://{bucket}/data-capture/{ctx.model}",
                "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]}}
        sm.create_endpoint_config(EndpointConfigName=config_name, ProductionVariants=variants,
                                  Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())], **extra)
        undo.append(lambda: sm.delete_endpoint_config(EndpointConfigName=config_name))
        issued = True
        if state is None:
            sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config_name,
                               Tags=[{"Key": "mlflow:registered-model", "Value": ctx.registered_model_name}])
        else:
            # Keep the platform's blue/green traffic shifting and alarm rollback for this update too.
            retain = {"RetainDeploymentConfig": True} if state.has_deployment_config else {}
            sm.update_endpoint(EndpointName=endpoint, EndpointConfigName=config_name, **retain)
        final = wait_in_service(ctx, config_name)
    except BaseException as exc:
        message = _undo(ctx, undo, state, issued)
        if isinstance(exc, ClientError):
            raise PipelineError(f"{exc.response.get('Error', {}).get('Message', exc)}; {message}") from exc
        if isinstance(exc, PipelineError):
            raise PipelineError(f"{exc}; {message}", result=exc.result) from exc
        raise
    return DeployResult(endpoint, config_name, state.config_name if state else None, stage, final.weights,
                        champion, challenger, state is None, created_models)


def _undo(ctx: PipelineContext, undo: list[Callable[[], Any]], before: EndpointState | None, issued: bool) -> str:
    """Remove what a failed roll-out created, unless the endpoint may still be moving to it."""
    if issued:
        now = endpoint_state(ctx)
        safe = (now is None) if before is None else (now is not None and now.status == "InService"
                                                      and now.config_name == before.config_name)
        if not safe:
            where = f"{now.status} on {now.config_name}" if now else "absent"
            return (f"the endpoint is {where}; the new configuration and models were kept — check the endpoint, "
                    "then run `mlops-blueprint pipeline rollback` if needed")
    for action in reversed(undo):
        try:
            action()
        except Exception:  # noqa: BLE001 - best effort: report what stays below
            pass
    if before is None:
        return "nothing was deployed (what this step created was removed)"
    return f"the endpoint still serves {before.config_name} (what this step created was removed)"


# -- the steps -----------------------------------------------------------------------------------------

def deploy(ctx: PipelineContext, version: str | None = None, *, canary_weight: float = DEFAULT_CANARY_WEIGHT,
           instance_type: str | None = None, instance_count: int | None = None) -> DeployResult:
    """First deployment: stable. Afterwards: a canary of ``version`` at ``canary_weight`` next to the
    champion (``canary_weight`` 1 replaces the champion at once)."""
    if not 0 < canary_weight <= 1:
        raise InputError(f"--canary-weight {canary_weight}: expected a weight in (0, 1]")
    if ctx.pulumi_owned:
        raise pulumi_owned_refusal(ctx, version)
    version = resolve_version(ctx, version, CHALLENGER)
    state = endpoint_state(ctx)
    champion = alias_version(ctx, CHAMPION)
    if state is not None and variant_name(version) in state.weights:
        raise InputError(f"{ctx.registered_model_name} v{version} is already served by {state.name} "
                         f"({state.config_name}); promote it or roll back")
    if state is not None and state.tags.get(STAGE_TAG) == CANARY:
        raise InputError(f"endpoint {state.name} is running a canary of v{state.tags.get(CHALLENGER_TAG)} "
                         f"({state.config_name}); promote it or roll back before deploying another version")
    name = ctx.registered_model_name
    if state is None or canary_weight >= 1:
        result = roll_out(ctx, [(variant_name(version), 1.0)], STABLE, champion=version,
                          instance_type=instance_type, instance_count=instance_count)
        if champion and champion != version:
            set_version_status(ctx, champion, "retired")
        ctx.mlflow_client.set_registered_model_alias(name, CHAMPION, version)
        if alias_version(ctx, CHALLENGER) == version:
            ctx.mlflow_client.delete_registered_model_alias(name, CHALLENGER)
        set_version_status(ctx, version, "serving")
        return result
    total = sum(state.weights.values()) or 1.0
    plan = [(variant, round(weight / total * (1 - canary_weight), 6)) for variant, weight in state.weights.items()]
    plan.append((variant_name(version), round(canary_weight, 6)))
    result = roll_out(ctx, plan, CANARY, champion=champion or state.tags.get(CHAMPION_TAG, ""), challenger=version,
                      instance_type=instance_type, instance_count=instance_count)
    ctx.mlflow_client.set_registered_model_alias(name, CHALLENGER, version)
    set_version_status(ctx, version, "canary")
    return result


def promote(ctx: PipelineContext, version: str | None = None, *, metric: str = DEFAULT_METRIC,
            min_improvement: float = 0.0, min_metric: float | None = None,
            gate: GateResult | None = None) -> PromoteResult:
    """Make ``version`` (default: the challenger) the champion — only if it passes the metric gate.
    On a Pulumi-owned endpoint only its package's approval (and the aliases) change."""
    version = resolve_version(ctx, version, CHALLENGER)
    if ctx.pulumi_owned:
        package_arn(ctx, version)
        if gate is None or gate.challenger_version != version:
            gate = evaluate_gate(ctx, version, metric=metric, min_improvement=min_improvement, min_metric=min_metric)
        if not gate.passed:
            raise GateFailed(f"metric gate failed: {gate.reason}; not promoted, the registry is unchanged", result=gate)
        return PromoteResult(gate, None, approve_in_registry(ctx, version, gate))
    state = endpoint_state(ctx)
    if state is not None and state.status != "InService":
        raise PipelineError(f"endpoint {state.name} is {state.status}, not InService; nothing was changed")
    package_arn(ctx, version)
    if gate is None or gate.challenger_version != version:
        gate = evaluate_gate(ctx, version, metric=metric, min_improvement=min_improvement, min_metric=min_metric)
    if not gate.passed:
        if state is None:
            where = "nothing was deployed"
        elif state.tags.get(STAGE_TAG) == CANARY and state.tags.get(CHALLENGER_TAG) == version:
            where = (f"endpoint {state.name} still runs the canary {state.config_name} {state.weights}; "
                     "remove it with `mlops-blueprint pipeline rollback`")
        else:
            where = f"endpoint {state.name} stays on {state.config_name} {state.weights}"
        raise GateFailed(f"metric gate failed: {gate.reason}; not promoted, {where}", result=gate)
    previous = alias_version(ctx, CHAMPION)
    result = roll_out(ctx, [(variant_name(version), 1.0)], STABLE, champion=version)
    name = ctx.registered_model_name
    ctx.mlflow_client.set_registered_model_alias(name, CHAMPION, version)
    if alias_version(ctx, CHALLENGER) == version:
        ctx.mlflow_client.delete_registered_model_alias(name, CHALLENGER)
    set_version_status(ctx, version, "serving")
    if previous and previous != version:
        set_version_status(ctx, previous, "retired")
    return PromoteResult(gate, result)


def rollback(ctx: PipelineContext) -> RollbackResult | RegistryChange:
    """Switch the endpoint back to the configuration that served before the current deployment; on a
    Pulumi-owned endpoint, the registry back to the previous champion's package."""
    from botocore.exceptions import ClientError

    if ctx.pulumi_owned:
        return rollback_in_registry(ctx)
    state = endpoint_state(ctx)
    if state is None:
        raise InputError(f"endpoint {ctx.endpoint_name} does not exist: nothing to roll back")
    if state.status != "InService":
        raise PipelineError(f"endpoint {state.name} is {state.status}, not InService; nothing was changed")
    target = state.tags.get(ROLLBACK_TAG)
    if not target:
        raise PipelineError(f"endpoint {state.name} serves {state.config_name}, its first configuration: "
                            "nothing to roll back to")
    sm = ctx.sagemaker
    try:
        config = sm.describe_endpoint_config(EndpointConfigName=target)
    except ClientError:
        raise PipelineError(f"configuration {target} to roll back to no longer exists; endpoint {state.name} "
                            f"still serves {state.config_name}") from None
    target_tags = _tags(sm.list_tags(ResourceArn=config["EndpointConfigArn"]).get("Tags"))
    try:
        retain = {"RetainDeploymentConfig": True} if state.has_deployment_config else {}
        sm.update_endpoint(EndpointName=state.name, EndpointConfigName=target, **retain)
    except ClientError as exc:
        raise PipelineError(f"UpdateEndpoint refused: {exc}; endpoint {state.name} still serves "
                            f"{state.config_name}") from None
    final = wait_in_service(ctx, target)
    champion = target_tags.get(CHAMPION_TAG, "")
    name = ctx.registered_model_name
    restored = {variant[1:] for variant in final.weights if _is_version_variant(variant)}
    for variant in state.weights:
        if _is_version_variant(variant) and variant[1:] not in restored:
            set_version_status(ctx, variant[1:], "rolled-back")
    if champion:
        ctx.mlflow_client.set_registered_model_alias(name, CHAMPION, champion)
        set_version_status(ctx, champion, "serving")
    challenger = alias_version(ctx, CHALLENGER)
    if challenger and challenger not in restored:
        ctx.mlflow_client.delete_registered_model_alias(name, CHALLENGER)
    return RollbackResult(state.name, state.config_name, target, champion, final.weights)
