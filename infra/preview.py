"""Offline preview: run the real program for one stack under the mock runtime and build its plan.

Reads ``stacks/Pulumi.<stack>.yaml`` (or a file of the same shape), validates it with the same
config model the program uses (so bad input stops here, before anything is registered), runs
``infra/__main__.py`` exactly as the language host would, and evaluates the policy pack over the
resulting plan. Registry-backed models are resolved against a stand-in registry (``registry``),
never against AWS.
"""

from __future__ import annotations

import json
import runpy
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pulumi
import yaml

import mlops_blueprint.stacks
from mlops_blueprint.config import (
    ACCOUNT_ID, PROJECT, BuildError, ConfigError, PlatformConfig, parse_config, raw_stack_config, require_account,
)
from mlops_blueprint.mock_runtime import MOCK_ACCOUNT_ID, SECRET_PLACEHOLDER, run_program
from mlops_blueprint.model_registry import RegistrySource, offline
from mlops_blueprint.plan import Previewed, build_plan
from mlops_blueprint.policies.engine import evaluate_plan
from mlops_blueprint.policies.rules.iam import BOUNDARY_CONFIG_KEY

BOUNDARY_POLICY = "iam-role-permissions-boundary"

STACKS_DIR = Path(mlops_blueprint.stacks.__file__).resolve().parent


@dataclass(frozen=True)
class PreviewResult(Previewed):
    """A preview of one of the platform's stacks, with the config it was built from."""

    config: PlatformConfig


def stack_file(stack: str) -> Path:
    return STACKS_DIR / f"Pulumi.{stack}.yaml"


def load_stack_file(path: Path, stacks_dir: Path = STACKS_DIR) -> dict[str, Any]:
    """The flat ``config:`` map of a stack file; encrypted values become a placeholder.
    ``stacks_dir``: where the stack files the error message lists live (a program's own folder)."""
    if not path.is_file():
        known = ", ".join(sorted(p.name for p in stacks_dir.glob("Pulumi.*.yaml"))) or "none"
        raise ConfigError([f"{path}: no such stack file (stack files in {stacks_dir}: {known})"])
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML ({exc})"]) from None
    config = document.get("config", {}) if isinstance(document, dict) else None
    if not isinstance(config, dict):
        raise ConfigError([f"{path}: expected a top-level 'config:' mapping"])
    # Secrets are encrypted per stack and cannot be read offline; the program sees a placeholder.
    return {key: SECRET_PLACEHOLDER if isinstance(v, dict) and set(v) == {"secure"} else v for key, v in config.items()}


def _run_main() -> None:
    runpy.run_module("mlops_blueprint", run_name="__main__", alter_sys=False)


def load_policy_config(path: Path) -> dict[str, Any]:
    """A policy config file, the same JSON ``pulumi preview --policy-pack-config`` takes:
    ``{"<policy name>": {"<key>": value}}``."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such policy config file"]) from None
    except json.JSONDecodeError as exc:
        raise ConfigError([f"{path}: not valid JSON ({exc})"]) from None
    if not isinstance(document, dict) or not all(isinstance(v, dict) for v in document.values()):
        raise ConfigError([f"{path}: expected {{\"<policy name>\": {{\"<key>\": value}}}}"])
    return document


def _raise_clean(error: BaseException) -> None:
    """A refusal (config, component arguments, also from inside an apply) as a :class:`BuildError`
    with its message; anything else is a bug of the program and keeps its traceback."""
    if isinstance(error, ConfigError):
        raise error
    if isinstance(error, (pulumi.RunError, ValueError)):
        raise BuildError([str(error) or type(error).__name__]) from None
    raise error


def required_boundary(policy_config: dict[str, Any], config: PlatformConfig | None) -> str | None:
    """The boundary the guardrails demand: the organisation's (policy config) over the stack's own
    (``config`` is None for a team's own program, which has no platform config)."""
    demanded = policy_config.get(BOUNDARY_POLICY, {}).get(BOUNDARY_CONFIG_KEY)
    return demanded or (config.iam.permissions_boundary_arn if config else None)


def offline_account(config: PlatformConfig, account_id: str | None = None) -> str:
    """The account the offline preview runs in: ``--account-id``, else the first of the stack's
    ``aws:allowedAccountIds``, else the mock runtime's placeholder account."""
    if account_id is not None:
        if not ACCOUNT_ID.fullmatch(account_id):
            raise ConfigError([f"--account-id: {account_id!r} is not an AWS account id; expected 12 digits"])
        return account_id
    return config.allowed_account_ids[0] if config.allowed_account_ids else MOCK_ACCOUNT_ID


def run_preview(stack: str, config_file: Path | None = None, policy_config_file: Path | None = None,
                registry: RegistrySource | None = None, account_id: str | None = None) -> PreviewResult:
    """Preview ``stack``; raises :class:`ConfigError` (nothing registered) on bad config, and
    :class:`BuildError` when a component refuses its arguments while the program runs.

    ``account_id``: see :func:`offline_account`; checks that need the account run before the program.

    ``registry``: where registry-backed models (``models[].modelPackageGroup``) are resolved; by
    default a deterministic placeholder package (see :mod:`mlops_blueprint.model_registry`).
    """
    raw = load_stack_file(config_file or stack_file(stack))
    policy_config = load_policy_config(policy_config_file) if policy_config_file else {}
    config = parse_config(raw_stack_config(raw, stack))
    account = offline_account(config, account_id)
    require_account(config, account)
    # The placeholder package lives in the preview's account, like every other name.
    with offline(replace(registry or RegistrySource("placeholder"), account_id=account)):
        run = run_program(_run_main, stack=stack, project=PROJECT, config=raw, region=config.region,
                          account_id=account, capture_errors=True)
    if run.error is not None:
        _raise_clean(run.error)
    plan = build_plan(run)
    plan["findings"] = evaluate_plan(plan, permissions_boundary_arn=required_boundary(policy_config, config))
    return PreviewResult(config=config, run=run, plan=plan)
