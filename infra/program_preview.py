"""Offline preview of any Pulumi Python program: a team's own, composing the components or not.

A program directory is read as the Pulumi CLI reads it: ``Pulumi.yaml`` (``name``, ``runtime:
python``, ``main``, ``stackConfigDir`` and project-level ``config`` defaults) and
``Pulumi.<stack>.yaml``, whose keys without a namespace belong to the project. The entry point runs
as the Python language host runs it (``runpy.run_path`` of ``main``, default the directory's
``__main__.py``, with the project directory as the working directory) under the same recording
mocks as the platform's own preview (:func:`mlops_blueprint.mock_runtime.run_program`); the plan
JSON and the policy pack are the same too, so a team's own resources are judged like ours.

This is the one way a program directory is run: ``mlops-blueprint preview --program``, ``check
--program``, :mod:`mlops_blueprint.testing` and the repository's example tests all come here.
"""

from __future__ import annotations

import contextlib
import json
import os
import runpy
import sys
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import yaml

from mlops_blueprint.config import ACCOUNT_ID, BuildError, ConfigError
from mlops_blueprint.mock_runtime import MOCK_ACCOUNT_ID, MockRun, run_program
from mlops_blueprint.plan import Previewed, build_plan
from mlops_blueprint.policies.engine import evaluate_plan
from mlops_blueprint.preview import load_policy_config, load_stack_file, required_boundary

PROJECT_FILES = ("Pulumi.yaml", "Pulumi.yml")
# What `preview` and `check` say when given neither.
STACK_OR_PROGRAM = "pass --stack ENV (this repository's stacks) or --program DIR (any Pulumi Python program)"


class ProjectError(ConfigError):
    """A program directory the preview cannot run: no or a bad ``Pulumi.yaml``, another runtime."""

    header = "invalid Pulumi program"


class ProgramError(BuildError):
    """The program raised while it ran: the message names its file (and line) and the error."""

    header = "the program failed"


@dataclass(frozen=True)
class PulumiProject:
    """A Pulumi Python project directory, as ``Pulumi.yaml`` describes it."""

    directory: Path            # resolved
    project_file: Path
    name: str
    entry: Path                # what the language host hands to runpy.run_path: a directory or a .py file
    stack_config_dir: Path
    defaults: dict[str, Any]   # project-level config values (Pulumi.yaml ``config:``), namespaced

    def stack_file(self, stack: str) -> Path:
        return self.stack_config_dir / f"Pulumi.{stack}.yaml"

    def stacks(self) -> list[str]:
        """The stacks that have a config file, sorted."""
        return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in self.stack_config_dir.glob("Pulumi.*.yaml"))

    def default_stack(self) -> str:
        """The only stack with a config file; with none or several, the caller must name one."""
        stacks = self.stacks()
        if len(stacks) != 1:
            found = ", ".join(stacks) or "none"
            raise ConfigError([f"{self.stack_config_dir}: pass --stack NAME (stack files Pulumi.<stack>.yaml found: "
                               f"{found})"])
        return stacks[0]


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it: what the user typed."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _project_defaults(name: str, config: Any, project_file: str) -> dict[str, Any]:
    """Pulumi.yaml ``config:``: ``key: value`` or ``key: {type, description, default | value}``."""
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise ProjectError([f"{project_file}: config must be a mapping of key to value or {{default: ...}}"])
    defaults: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            if "value" in value or "default" in value:
                defaults[namespaced(name, str(key))] = value.get("value", value.get("default"))
        else:
            defaults[namespaced(name, str(key))] = value
    return defaults


def load_project(directory: str | os.PathLike[str]) -> PulumiProject:
    """Read ``directory/Pulumi.yaml``; a missing or unusable file is a :class:`ConfigError` naming it."""
    root = Path(directory)
    if not root.is_dir():
        raise ProjectError([f"{root}: no such program directory"])
    project_file = next((root / n for n in PROJECT_FILES if (root / n).is_file()), None)
    if project_file is None:
        raise ProjectError([f"{root / PROJECT_FILES[0]}: no such file; a Pulumi program directory holds a "
                           "Pulumi.yaml (name, runtime: python, optional main)"])
    shown = str(project_file)
    try:
        document = yaml.safe_load(project_file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ProjectError([f"{shown}: not valid YAML ({exc})"]) from None
    if not isinstance(document, dict):
        raise ProjectError([f"{shown}: expected a mapping with name and runtime"])
    problems: list[str] = []
    name = document.get("name")
    if not isinstance(name, str) or not name:
        problems.append(f"{shown}: name is required (the project name namespaces its config keys)")
    runtime = document.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name != "python":
        problems.append(f"{shown}: runtime is {runtime_name!r}; the offline preview runs Python programs only "
                        "(runtime: python)")
    resolved = root.resolve()
    main = document.get("main")
    entry = resolved / str(main) if main else resolved
    if runtime_name == "python":  # another runtime has no Python entry point to look for
        if entry.is_dir() and not (entry / "__main__.py").is_file():
            problems.append(f"{shown}: the entry point {_shown(entry / '__main__.py')} does not exist "
                            "(set main: to the program's directory or .py file)")
        elif not entry.is_dir() and not (entry.is_file() and entry.suffix == ".py"):
            problems.append(f"{shown}: main: {main!r} is neither a directory with __main__.py nor a .py file")
    config_dir = document.get("stackConfigDir")
    if problems:
        raise ProjectError(problems)
    assert isinstance(name, str)
    return PulumiProject(
        directory=resolved, project_file=project_file, name=name, entry=entry,
        stack_config_dir=resolved / str(config_dir) if config_dir else resolved,
        defaults=_project_defaults(name, document.get("config"), shown),
    )


def namespaced(project: str, key: str) -> str:
    """Pulumi's rule: a config key without ``namespace:`` belongs to the project."""
    return key if ":" in key else f"{project}:{key}"


def stack_config(project: PulumiProject, stack: str, config_file: Path | None = None,
                 overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The flat engine config of ``stack``: project defaults < the stack file (or ``config_file``,
    same shape) < ``overrides``; every key namespaced."""
    path = config_file or project.stack_file(stack)
    raw = load_stack_file(path, stacks_dir=project.stack_config_dir)
    config = dict(project.defaults)
    config.update({namespaced(project.name, str(k)): v for k, v in raw.items()})
    config.update({namespaced(project.name, str(k)): v for k, v in (overrides or {}).items()})
    return config


def program_account(config: Mapping[str, Any], account_id: str | None = None) -> str:
    """``account_id`` (``--account-id``), else the first of ``aws:allowedAccountIds``, else the mocks'."""
    if account_id is not None:
        if not ACCOUNT_ID.fullmatch(account_id):
            raise ConfigError([f"--account-id: {account_id!r} is not an AWS account id; expected 12 digits"])
        return account_id
    allowed = config.get("aws:allowedAccountIds")
    if isinstance(allowed, str):  # `pulumi config set` stores it as JSON text
        with contextlib.suppress(json.JSONDecodeError):
            allowed = json.loads(allowed)
    if isinstance(allowed, list) and allowed:
        first = str(allowed[0])
        if not ACCOUNT_ID.fullmatch(first):
            raise ConfigError([f"aws:allowedAccountIds: {first!r} is not an AWS account id; expected 12 digits"])
        return first
    return MOCK_ACCOUNT_ID


def _found_in(directory: Path, name: str, file: str | None) -> bool:
    """Whether module ``name`` was imported through ``directory`` on ``sys.path`` (``helpers.py``,
    ``pkg/__init__.py``), not as part of an installed package whose files happen to lie there."""
    if not file:
        return False
    relative = Path(*name.split("."))
    return Path(file).resolve() in (directory / relative.with_suffix(".py"), directory / relative / "__init__.py")


@contextlib.contextmanager
def _as_language_host(project: PulumiProject) -> Iterator[None]:
    """The project directory as working directory (the language host's ``--pwd``) and the entry's
    directory on ``sys.path``; afterwards the program's own modules are forgotten, so that the next
    program's same-named helper module is imported afresh."""
    cwd, path, modules = Path.cwd(), list(sys.path), set(sys.modules)
    search_dir = project.entry if project.entry.is_dir() else project.entry.parent
    os.chdir(project.directory)
    if project.entry.is_file():
        sys.path.insert(0, str(search_dir))  # run_path does this itself for a directory
    try:
        yield
    finally:
        os.chdir(cwd)
        sys.path[:] = path
        for name in set(sys.modules) - modules:
            if _found_in(search_dir, name, getattr(sys.modules[name], "__file__", None)):
                del sys.modules[name]


def run_project(project: PulumiProject, stack: str, config: Mapping[str, Any], *,
                account_id: str = MOCK_ACCOUNT_ID, capture_errors: bool = False) -> MockRun:
    """Run the project's entry point under the recording mocks with ``config`` (the flat map
    :func:`stack_config` returns). See :func:`~mlops_blueprint.mock_runtime.run_program` for
    ``capture_errors``."""
    with _as_language_host(project):
        return run_program(lambda: runpy.run_path(str(project.entry), run_name="__main__"),
                           stack=stack, project=project.name, config=config, account_id=account_id,
                           capture_errors=capture_errors)


def program_error(project: PulumiProject, error: BaseException) -> ConfigError:
    """``error`` as a message that names where the program stopped: its innermost frame in the
    project's files (``__main__.py:12``), else the entry point (an error inside an ``apply``)."""
    if isinstance(error, ConfigError):
        return error  # already names the key
    where = _shown(project.entry / "__main__.py" if project.entry.is_dir() else project.entry)
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if Path(frame.filename).resolve().is_relative_to(project.directory):
            where = f"{_shown(Path(frame.filename).resolve())}:{frame.lineno}"
            break
    # A RunError (config.require, a refused argument) says what is wrong; anything else is named.
    message = str(error) if isinstance(error, pulumi.RunError) else f"{type(error).__name__}: {error}"
    return ProgramError([f"{where}: {message}"])


@dataclass(frozen=True)
class ProgramPreview(Previewed):
    """One offline preview of a program directory."""

    project: PulumiProject


def preview_program(directory: str | os.PathLike[str], stack: str | None = None, *,
                    config_file: Path | None = None, config: Mapping[str, Any] | None = None,
                    policy_config_file: Path | None = None, policy_config: Mapping[str, Any] | None = None,
                    account_id: str | None = None) -> ProgramPreview:
    """Preview the program in ``directory`` for ``stack`` (default: its only stack file).

    Raises :class:`ConfigError` (nothing ran) for a bad directory, ``Pulumi.yaml``, stack file or
    policy config, and :class:`ProgramError` (naming the file and line) when the program raises.
    ``config`` overrides single keys; keys without a namespace belong to the project.
    """
    project = load_project(directory)
    stack = stack or project.default_stack()
    values = stack_config(project, stack, config_file, config)
    policies = dict(policy_config or {})
    if policy_config_file is not None:
        policies.update(load_policy_config(policy_config_file))
    account = program_account(values, account_id)
    run = run_project(project, stack, values, account_id=account, capture_errors=True)
    if run.error is not None:
        error = program_error(project, run.error)
        if error is run.error:
            raise error
        raise error from run.error
    plan = build_plan(run)
    plan["findings"] = evaluate_plan(plan, permissions_boundary_arn=required_boundary(policies, None))
    return ProgramPreview(project=project, run=run, plan=plan)
