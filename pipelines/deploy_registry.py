"""Promote and roll back on an endpoint Pulumi owns: the SageMaker model registry is the only thing
changed (approvals, rejections, MLflow aliases and status tags); the deploy workflow's ``pulumi up``
rolls the endpoint to the newest Approved package."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlops_blueprint.pipelines.context import PipelineContext
from mlops_blueprint.pipelines.errors import InputError
from mlops_blueprint.pipelines.registry import (
    APPROVED,
    CHALLENGER,
    CHAMPION,
    REJECTED,
    STATUS_TAG,
    GateResult,
    alias_version,
    package_arn,
    package_status,
    set_package_status,
)

PREVIOUS_CHAMPION_TAG = "deployment.previous_champion"


@dataclass(frozen=True)
class RegistryChange:
    """What promote/rollback changed in the registry for a Pulumi-owned endpoint (nothing else)."""

    endpoint: str
    champion_version: str
    approved_package: str
    rejected_package: str | None
    previous_champion: str | None
    rollout: str                      # what rolls the endpoint out, for the user




def _rollout_hint(ctx: PipelineContext) -> str:
    stack = ctx.outputs.stack
    if ctx.served_package is None:
        return (f"models[{ctx.model}] of stack '{stack}' pins image + modelDataUrl, so approvals do not reach "
                f"{ctx.endpoint_name}: set models[{ctx.model}].modelPackageGroup to serve from the registry")
    return (f"the deploy workflow runs `pulumi up --stack {stack}` on an approval (or run it yourself); it rolls "
            f"{ctx.endpoint_name} to the newest Approved package of {ctx.model_package_group}")


def pulumi_owned_refusal(ctx: PipelineContext, version: str | None = None) -> InputError:
    """Why ``pipeline deploy`` does not touch a Pulumi-owned endpoint, and what to do instead."""
    target = f"v{version}" if version else "a version"
    return InputError(
        f"endpoint {ctx.endpoint_name} is owned by Pulumi: stack '{ctx.outputs.stack}' declares it "
        f"(models[{ctx.model}], stack output endpointNames), and it is never updated behind Pulumi's back. Nothing "
        f"was changed. To serve {target}: `mlops-blueprint pipeline promote"
        f"{' --version ' + version if version else ''} --model-name {ctx.model}` approves its model package "
        f"(after the metric gate); then {_rollout_hint(ctx)}. For a canary, add a weighted variant to "
        f"models[{ctx.model}]; to deploy outside the stack, pass --endpoint-name with an endpoint it does not declare.")


def approved_packages(ctx: PipelineContext) -> list[dict[str, Any]]:
    """The group's Approved packages, newest first (what ``latest-approved`` serves is the first)."""
    pages = ctx.sagemaker.get_paginator("list_model_packages").paginate(
        ModelPackageGroupName=ctx.model_package_group, ModelApprovalStatus=APPROVED,
        SortBy="CreationTime", SortOrder="Descending")
    packages = [s for page in pages for s in page.get("ModelPackageSummaryList", [])]
    return sorted(packages, key=lambda s: (s["CreationTime"], s.get("ModelPackageVersion", 0)), reverse=True)


def _served_after(ctx: PipelineContext, approve: str, reject: str | None = None) -> str:
    """The package latest-approved would serve after approving ``approve`` (and rejecting ``reject``)."""
    for summary in approved_packages(ctx):
        if summary["ModelPackageArn"] == reject:
            continue
        if summary["ModelPackageArn"] == approve:
            return approve
        newer = summary["CreationTime"] > ctx.sagemaker.describe_model_package(
            ModelPackageName=approve)["CreationTime"]
        return str(summary["ModelPackageArn"]) if newer else approve
    return approve


def approve_in_registry(ctx: PipelineContext, version: str, gate: GateResult) -> RegistryChange:
    """Promotion on a Pulumi-owned endpoint: approve ``version``'s package, move the aliases."""
    arn = package_arn(ctx, version)
    shadow = _served_after(ctx, arn)
    if shadow != arn:
        raise InputError(f"{ctx.registered_model_name} v{version} would not be served: {shadow} is a newer Approved "
                         f"package of {ctx.model_package_group}. Nothing was changed; use `mlops-blueprint pipeline "
                         f"rollback`, or pin models[{ctx.model}].modelPackageVersion")
    name = ctx.registered_model_name
    previous = alias_version(ctx, CHAMPION)
    if package_status(ctx, arn) != APPROVED:
        set_package_status(ctx, arn, APPROVED, f"promoted: {gate.reason}")
    client = ctx.mlflow_client
    if previous and previous != version:
        client.set_model_version_tag(name, version, PREVIOUS_CHAMPION_TAG, previous)
        set_version_status(ctx, previous, "superseded")
    client.set_registered_model_alias(name, CHAMPION, version)
    if alias_version(ctx, CHALLENGER) == version:
        client.delete_registered_model_alias(name, CHALLENGER)
    set_version_status(ctx, version, "approved")
    return RegistryChange(ctx.endpoint_name, version, arn, None, previous, _rollout_hint(ctx))


def rollback_in_registry(ctx: PipelineContext) -> RegistryChange:
    """Rollback on a Pulumi-owned endpoint: reject the champion's package, re-approve the previous one."""
    name, client = ctx.registered_model_name, ctx.mlflow_client
    current = alias_version(ctx, CHAMPION)
    if current is None:
        raise InputError(f"registered model {name} has no champion: nothing to roll back")
    previous = client.get_model_version(name, current).tags.get(PREVIOUS_CHAMPION_TAG)
    if not previous:
        raise InputError(f"{name} v{current} records no previous champion (tag {PREVIOUS_CHAMPION_TAG}): nothing to "
                         f"roll back to; pin models[{ctx.model}].modelPackageVersion to serve an older package")
    current_arn, previous_arn = package_arn(ctx, current), package_arn(ctx, previous)
    shadow = _served_after(ctx, previous_arn, reject=current_arn)
    if shadow != previous_arn:
        raise InputError(f"rolling back to {name} v{previous} would serve {shadow} instead (a newer Approved package "
                         f"of {ctx.model_package_group}); nothing was changed — reject that package first")
    set_package_status(ctx, current_arn, REJECTED, f"rolled back to v{previous}")
    if package_status(ctx, previous_arn) != APPROVED:
        set_package_status(ctx, previous_arn, APPROVED, f"re-approved: v{current} rolled back")
    client.set_registered_model_alias(name, CHAMPION, previous)
    set_version_status(ctx, current, "rolled-back")
    set_version_status(ctx, previous, "approved")
    return RegistryChange(ctx.endpoint_name, previous, previous_arn, current_arn, current, _rollout_hint(ctx))


def set_version_status(ctx: PipelineContext, version: str, status: str) -> None:
    ctx.mlflow_client.set_model_version_tag(ctx.registered_model_name, version, STATUS_TAG, status)
