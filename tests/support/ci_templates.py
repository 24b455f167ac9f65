"""Reading the CI templates (GitHub Actions, GitLab CI, the Jenkinsfile's shell steps) and what
they call: the YAML loaders with GitHub's matrix and GitLab's ``extends`` resolved, a small shell
reader that splits scripts into simple commands, and the Makefile's targets.

Shared by tests/test_ci_templates.py and tests/test_jenkinsfile.py.
"""

from __future__ import annotations

import copy
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_blueprint.cli import build_parser

REPO = Path(__file__).resolve().parents[2]
GITHUB_CI = REPO / ".github" / "workflows" / "ci.yml"
GITHUB_DEPLOY = REPO / ".github" / "workflows" / "deploy.yml"
GITLAB_CI = REPO / ".gitlab-ci.yml"
STACKS = sorted(p.name.split(".")[1] for p in (REPO / "stacks").glob("Pulumi.*.yaml"))
DEPLOY_ORDER = ["dev", "staging", "prod"]

GITHUB_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


# -- loading --------------------------------------------------------------------------------------


def load_yaml(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    """``on:`` (YAML 1.1 reads the bare key as ``True``)."""
    on = workflow.get("on", workflow.get(True))
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return on


def github_workflows() -> dict[str, dict[str, Any]]:
    return {p.name: load_yaml(p) for p in (GITHUB_CI, GITHUB_DEPLOY)}


def matrix_values(job: dict[str, Any], key: str = "stack") -> list[str]:
    matrix = (job.get("strategy") or {}).get("matrix") or {}
    values = list(matrix.get(key) or [])
    values += [entry[key] for entry in matrix.get("include") or [] if key in entry]
    return values


def expand_github(text: str, job: dict[str, Any]) -> list[str]:
    """``text`` once per matrix stack (or once), expressions replaced by their value or ``EXPR``."""
    stacks = matrix_values(job) or [None]
    out = []
    for stack in stacks:
        def value(m: re.Match[str]) -> str:
            return stack if stack and m.group(1) == "matrix.stack" else "EXPR"
        out.append(GITHUB_EXPRESSION.sub(value, text))
    return out


def github_scripts() -> Iterator[tuple[str, str]]:
    """``(where, shell text)`` of every ``run:`` step, per matrix stack."""
    for name, workflow in github_workflows().items():
        for job_name, job in workflow["jobs"].items():
            for step in job.get("steps", []):
                if "run" in step:
                    for text in expand_github(step["run"], job):
                        yield f"{name}:{job_name}", text


def gitlab() -> dict[str, Any]:
    return load_yaml(GITLAB_CI)


GITLAB_GLOBAL_KEYS = {"workflow", "stages", "default", "variables", "include", "image", "services", "cache",
                      "before_script", "after_script"}


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """GitLab's ``extends``: hashes merge deeply, everything else is replaced."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def gitlab_jobs(include_hidden: bool = False) -> dict[str, dict[str, Any]]:
    ci = gitlab()

    def resolve(name: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
        assert name not in seen, f"extends cycle: {seen + (name,)}"
        job = ci[name]
        parents = job.get("extends") or []
        parents = [parents] if isinstance(parents, str) else parents
        merged: dict[str, Any] = {}
        for parent in parents:
            assert parent in ci, f"{name} extends unknown {parent!r}"
            merged = _merge(merged, resolve(parent, seen + (name,)))
        return _merge(merged, {k: v for k, v in job.items() if k != "extends"})

    return {name: resolve(name) for name, value in ci.items()
            if name not in GITLAB_GLOBAL_KEYS and isinstance(value, dict)
            and (include_hidden or not name.startswith("."))}


def gitlab_stack_values(job: dict[str, Any]) -> list[str | None]:
    values: list[str | None] = []
    for entry in ((job.get("parallel") or {}).get("matrix") or []) if isinstance(job.get("parallel"), dict) else []:
        stack = entry.get("STACK")
        values += stack if isinstance(stack, list) else [stack]
    if (job.get("variables") or {}).get("STACK"):
        values.append(job["variables"]["STACK"])
    return values or [None]


def gitlab_scripts() -> Iterator[tuple[str, str]]:
    for name, job in gitlab_jobs().items():
        for key in ("before_script", "script", "after_script"):
            entries = job.get(key) or []
            for entry in [entries] if isinstance(entries, str) else entries:
                for stack in gitlab_stack_values(job):
                    text = entry if stack is None else re.sub(r"\$\{?STACK\}?", stack, entry)
                    yield f".gitlab-ci.yml:{name}", text


def all_scripts() -> list[tuple[str, str]]:
    return [*github_scripts(), *gitlab_scripts()]


# -- a small shell reader -------------------------------------------------------------------------

_SEPARATORS = {";", "&&", "||", "|", "&", "(", ")", "{", "}", ";;", "|&", "\n"}
_KEYWORDS = {"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "time", "exec"}
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)(\w+)\1")


def _logical_lines(text: str) -> Iterator[str]:
    """Lines with ``\\``-continuations joined and heredoc bodies left out."""
    lines = text.replace("\\\n", " ").splitlines()
    terminator = None
    for line in lines:
        if terminator is not None:
            if line.strip() == terminator:
                terminator = None
            continue
        match = _HEREDOC.search(line)
        if match:
            terminator = match.group(2)
        yield line


def simple_commands(text: str) -> Iterator[list[str]]:
    """Each simple command of a shell script as argv (redirections, keywords and ``VAR=`` prefixes dropped)."""
    for line in _logical_lines(text):
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        try:
            tokens = list(lexer)
        except ValueError as exc:
            raise AssertionError(f"cannot read shell line {line!r}: {exc}") from None
        command: list[str] = []
        skip_next = False
        for token in tokens + [";"]:
            if skip_next:
                skip_next = False
                continue
            if token in _SEPARATORS or set(token) <= set(";&|()"):
                if command:
                    yield command
                command = []
            elif set(token) <= set("<>&"):  # a redirection: its target follows
                if command and command[-1].isdigit():
                    command.pop()
                skip_next = True
            elif not command and (token in _KEYWORDS or re.fullmatch(r"[A-Za-z_]\w*=.*", token)):
                continue
            else:
                command.append(token)


def calls_named(name: str, scripts: Iterable[tuple[str, str]]) -> list[tuple[str, list[str]]]:
    """``(where, argv after the program)`` for each call of ``name`` in ``(where, shell text)`` scripts
    (the program by any path; ``mlops-blueprint`` also as ``python -m mlops_blueprint.cli``)."""
    found = []
    for where, text in scripts:
        for argv in simple_commands(text):
            if Path(argv[0]).name == name:
                found.append((where, argv[1:]))
            elif name == "mlops-blueprint" and Path(argv[0]).name.startswith("python") and argv[1:3] == ["-m", "mlops_blueprint.cli"]:
                found.append((where, argv[3:]))
    return found


def make_targets_called(argv: list[str]) -> list[str]:
    targets, args = [], iter(argv)
    for token in args:
        if token in ("-C", "-f", "--directory", "--file", "-I", "-o", "-W"):
            next(args, None)
        elif token.startswith("-") or "=" in token:
            continue
        else:
            targets.append(token)
    return targets


def checked_make_targets(calls: list[tuple[str, list[str]]]) -> set[str]:
    """The Makefile targets that ``calls`` (``(where, argv)`` of each ``make``) run; fails on a call
    that relies on the default target or names a target the Makefile does not define."""
    defined = makefile_targets()
    used: set[str] = set()
    for where, argv in calls:
        targets = make_targets_called(argv)
        assert targets, f"{where}: `make {' '.join(argv)}` relies on the default target; name it"
        missing = set(targets) - defined
        assert not missing, f"{where}: make {' '.join(argv)}: no such target {sorted(missing)} in the Makefile"
        used.update(targets)
    return used


def makefile_targets() -> set[str]:
    targets: set[str] = set()
    for line in (REPO / "Makefile").read_text(encoding="utf-8").splitlines():
        if line.startswith(("\t", "#")) or not line.strip():
            continue
        match = re.match(r"^([^:=#]+?)\s*::?(?!=)(.*)$", line)
        if not match or "=" in match.group(1):
            continue
        names, rest = match.group(1).split(), match.group(2)
        if names == [".PHONY"]:
            targets.update(rest.split())
        else:
            targets.update(n for n in names if "$" not in n and not n.startswith("."))
    return targets


def make_dry_run(*args: str) -> str:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    result = subprocess.run(["make", "-n", "-s", *args], cwd=REPO, capture_output=True, text=True, check=True)
    return result.stdout


def plans_written_by_make_preview(stack: str) -> set[str]:
    """The ``--json`` paths ``make preview STACK=<stack>`` passes to the CLI (checked by the parser too)."""
    paths = set()
    for argv in simple_commands(make_dry_run("preview", f"STACK={stack}")):
        if Path(argv[0]).name == "mlops-blueprint":
            args = build_parser().parse_args(argv[1:])
            assert args.command == "preview" and args.stack == stack
            if args.json:
                paths.add(args.json)
    assert paths, "make preview writes no plan"
    return paths


def parsed_cli_calls(calls: Iterable[tuple[str, list[str]]]) -> list[tuple[str, Any]]:
    """``(where, parsed args)`` for each ``mlops-blueprint`` call; a call the CLI rejects fails the test."""
    from mlops_blueprint.cli import build_parser

    parser, parsed = build_parser(), []
    for where, argv in calls:
        try:
            parsed.append((where, parser.parse_args(argv)))
        except SystemExit:
            pytest.fail(f"{where}: `mlops-blueprint {' '.join(argv)}` is rejected by mlops_blueprint.cli")
    return parsed


def checked_cli_subcommands(calls: Iterable[tuple[str, list[str]]]) -> set[str]:
    """The ``mlops-blueprint`` subcommands that ``calls`` run: each call must parse, and a ``diff``
    must ask for ``--format markdown`` (what the PR/MR comments are)."""
    subcommands = set()
    for where, args in parsed_cli_calls(calls):
        subcommands.add(args.command)
        if args.command == "diff":
            assert args.format == "markdown", f"{where}: the PR/MR comment needs --format markdown"
    return subcommands
