"""Retrain on a drift signal: train a challenger, register it, promote it only if it beats the champion.

1. read the drift signal (:mod:`.drift`); no drift: nothing to do (exit 0);
2. train on the dataset's current version (the run is tagged with the trigger and the drifting
   features) and register the result as the ``challenger`` (model package pending approval);
3. the metric gate: challenger and champion scored on the challenger's holdout. A losing
   challenger is rejected (package ``Rejected``) and the step fails with exit 1 — the endpoint was
   never touched and keeps serving its configuration;
4. a winning challenger goes out as a canary at ``canary_weight`` next to the champion, then (unless
   ``promote=False``) takes all traffic and becomes the ``champion``.
   On an endpoint the stack declares (Pulumi-owned) there is no canary from here: unless
   ``promote=False`` the winner's package is approved, and the deploy workflow's ``pulumi up``
   rolls it out (with the endpoint's own blue/green canary).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlops_blueprint.pipelines.context import PipelineContext
from mlops_blueprint.pipelines.deploy import (
    CANARY,
    DEFAULT_CANARY_WEIGHT,
    STAGE_TAG,
    DeployResult,
    PromoteResult,
    deploy,
    endpoint_state,
    promote,
)
from mlops_blueprint.pipelines.drift import DriftSignal, check_alarm, with_report
from mlops_blueprint.pipelines.errors import GateFailed, InputError, PipelineError
from mlops_blueprint.pipelines.registry import GateResult, RegisterResult, evaluate_gate, register, reject
from mlops_blueprint.pipelines.train import DEFAULT_METRIC, TrainResult, check_metric, train


@dataclass(frozen=True)
class RetrainResult:
    signal: DriftSignal
    train: TrainResult | None = None
    register: RegisterResult | None = None
    gate: GateResult | None = None
    canary: DeployResult | None = None
    promotion: PromoteResult | None = None
    endpoint_config_before: str | None = None
    endpoint_config_after: str | None = None

    @property
    def promoted(self) -> bool:
        return self.promotion is not None


def retrain(ctx: PipelineContext, signal: DriftSignal, *, dataset_key: str | None = None,
            data_version: str | None = None, params: dict[str, Any] | None = None, metric: str = DEFAULT_METRIC,
            min_improvement: float = 0.0, canary_weight: float = DEFAULT_CANARY_WEIGHT, promote_after: bool = True,
            image: str | None = None) -> RetrainResult:
    check_metric(metric)
    check_alarm(signal, ctx)
    if not signal.drifted:
        return RetrainResult(signal)
    before = endpoint_state(ctx)
    if before is not None and before.tags.get(STAGE_TAG) == CANARY:
        raise InputError(f"endpoint {before.name} is running a canary ({before.config_name} {before.weights}); "
                         "promote it or roll it back before retraining")
    if before is not None and before.status != "InService":
        raise PipelineError(f"endpoint {before.name} is {before.status}, not InService; nothing was changed")
    signal = with_report(signal, ctx)
    config_before = before.config_name if before else None
    tags = {"trigger": "drift", "drift.signal": signal.kind, "drift.source": signal.source[:500],
            "drift.features": ",".join(signal.features)[:500]}
    trained = train(ctx, dataset_key=dataset_key, data_version=data_version, params=params, tags=tags)
    registered = register(ctx, trained.run_id, image=image, metric=metric)
    gate = evaluate_gate(ctx, registered.version, metric=metric, min_improvement=min_improvement)
    if not gate.passed:
        reject(ctx, registered.version, f"metric gate failed: {gate.reason}")
        after = endpoint_state(ctx)
        result = RetrainResult(signal, trained, registered, gate, endpoint_config_before=config_before,
                               endpoint_config_after=after.config_name if after else None)
        where = f"endpoint {ctx.endpoint_name} stays on {config_before}" if config_before else "nothing was deployed"
        raise GateFailed(f"challenger not promoted — {gate.reason}; model package rejected, {where}", result=result)
    if ctx.pulumi_owned:  # the registry only: an approval, which the deploy workflow rolls out
        canary = None
        promotion = promote(ctx, registered.version, gate=gate) if promote_after else None
    else:
        canary = deploy(ctx, registered.version, canary_weight=canary_weight) if before is not None else None
        promotion = promote(ctx, registered.version, gate=gate) if (promote_after or before is None) else None
    after = endpoint_state(ctx)
    return RetrainResult(signal, trained, registered, gate, canary, promotion, config_before,
                         after.config_name if after else None)
