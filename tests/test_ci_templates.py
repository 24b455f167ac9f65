"""The CI templates (.github/workflows/*.yml, .gitlab-ci.yml) only run what the project has.

Parses the three files and checks: the jobs and their triggers; every `make <target>` they call
exists in the Makefile; every `mlops-blueprint ...` command line is accepted by the real CLI
parser; the paths they use exist or are what `make preview` writes; prod deploys wait for an
approval; jobs that reach AWS get OIDC tokens and nothing more than they need.
"""

from __future__ import annotations

import copy
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_blueprint.cli import build_parser

REPO = Path(__file__).resolve().parents[1]
GITHUB_CI = REPO / ".github" / "workflows" / "ci.yml"
GITHUB_DEPLOY = REPO / ".github" / "workflows" / "deploy.yml"
GITLAB_CI = REPO / ".gitlab-ci.yml"
STACKS = sorted(p.name.split(".")[1] for p in (REPO / "stacks").glob("Pulumi.*.yaml"))
DEPLOY_ORDER = ["dev", "staging", "prod"]

# pulumi/actions@v6 inputs (action.yml); a misspelt input is silently ignored by GitHub.
PULUMI_ACTION_INPUTS = {
    "command", "stack-name", "work-dir", "cloud-url", "comment-on-pr", "comment-on-pr-number",
    "comment-on-summary", "github-token", "secrets-provider", "parallel", "message", "config-map",
    "expect-no-changes", "diff", "replace", "target", "target-dependents", "policyPacks",
    "policyPackConfigs", "refresh", "upsert", "remove", "edit-pr-comment", "color", "exclude-protected",
    "plan", "suppress-outputs", "suppress-progress", "always-include-summary", "pulumi-version",
    "pulumi-version-file",
}
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


def commands_named(name: str) -> list[tuple[str, list[str]]]:
    """``(where, argv after the program)`` for each call of ``name`` (any path, or python -m)."""
    found = []
    for where, text in all_scripts():
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


# -- both systems ---------------------------------------------------------------------------------


def test_the_three_files_parse_and_the_shell_reader_finds_commands():
    for path in (GITHUB_CI, GITHUB_DEPLOY, GITLAB_CI):
        assert isinstance(load_yaml(path), dict), path
    assert commands_named("make") and commands_named("mlops-blueprint")


def test_every_make_target_called_exists_in_the_makefile():
    defined = makefile_targets()
    assert {"test", "preview", "preview-all", "snapshots"} <= defined
    called = commands_named("make")
    used: set[str] = set()
    for where, argv in called:
        targets = make_targets_called(argv)
        assert targets, f"{where}: `make {' '.join(argv)}` relies on the default target; name it"
        missing = set(targets) - defined
        assert not missing, f"{where}: make {' '.join(argv)}: no such target {sorted(missing)} in the Makefile"
        used.update(targets)
    assert {"test", "preview"} <= used


def test_every_mlops_blueprint_command_is_accepted_by_the_cli_parser():
    parser = build_parser()
    calls = commands_named("mlops-blueprint")
    subcommands = set()
    for where, argv in calls:
        try:
            args = parser.parse_args(argv)
        except SystemExit:
            pytest.fail(f"{where}: `mlops-blueprint {' '.join(argv)}` is rejected by mlops_blueprint.cli")
        subcommands.add(args.command)
        if args.command == "diff":
            assert args.format == "markdown", f"{where}: the PR/MR comment needs --format markdown"
    assert "diff" in subcommands


def test_the_plan_paths_used_are_the_ones_make_preview_writes():
    referenced = set()
    for _, text in all_scripts():
        referenced.update(re.findall(r"build/plan-[^\s\"'/]*\.json", text))
    for name, workflow in github_workflows().items():
        for job in workflow["jobs"].values():
            for step in job.get("steps", []):
                if str(step.get("uses", "")).startswith("actions/upload-artifact"):
                    for text in expand_github(str(step["with"]["path"]), job):
                        referenced.update(re.findall(r"build/plan-[^\s\"'/]*\.json", text))
    for job in gitlab_jobs().values():
        for path in (job.get("artifacts") or {}).get("paths") or []:
            for stack in gitlab_stack_values(job):
                expanded = path if stack is None else path.replace("$STACK", stack)
                referenced.update(re.findall(r"build/plan-[^\s\"'/]*\.json", expanded))
    assert referenced
    written = set().union(*(plans_written_by_make_preview(stack) for stack in STACKS))
    checked = set()
    for path in referenced:
        for stack in STACKS:  # shell loops over the stacks: each expansion must be written
            expanded = path.replace("${stack}", stack).replace("$stack", stack)
            assert "$" not in expanded, f"cannot expand {path}"
            assert expanded in written, f"{expanded} is not written by `make preview` (it writes {sorted(written)})"
            checked.add(expanded)
    assert checked == written


def test_policy_pack_and_project_paths_exist():
    texts = [text for _, text in all_scripts()]
    for name, workflow in github_workflows().items():
        for job in workflow["jobs"].values():
            for step in job.get("steps", []):
                if str(step.get("uses", "")).startswith("pulumi/actions"):
                    inputs = step["with"]
                    assert (REPO / inputs["policyPacks"] / "PulumiPolicy.yaml").is_file()
                    assert (REPO / inputs.get("work-dir", "./") / "Pulumi.yaml").is_file()
    for text in texts:
        for pack in re.findall(r"--policy-pack\s+(\S+)", text):
            assert (REPO / pack / "PulumiPolicy.yaml").is_file(), pack


def test_stacks_named_in_ci_are_the_repository_stacks():
    for name, workflow in github_workflows().items():
        for job_name, job in workflow["jobs"].items():
            if matrix_values(job):
                assert sorted(matrix_values(job)) == STACKS, f"{name}:{job_name}"
            for step in job.get("steps", []):
                if str(step.get("uses", "")).startswith("pulumi/actions"):
                    for stack in expand_github(step["with"]["stack-name"], job):
                        assert (REPO / "stacks" / f"Pulumi.{stack}.yaml").is_file(), f"{name}:{job_name}: {stack}"
    for name, job in gitlab_jobs().items():
        stacks = [s for s in gitlab_stack_values(job) if s is not None]
        assert all((REPO / "stacks" / f"Pulumi.{s}.yaml").is_file() for s in stacks), name
    assert sorted(gitlab()["variables"]["STACKS"].split()) == STACKS
    assert sorted(github_workflows()["ci.yml"]["jobs"]["diff"]["env"]["STACKS"].split()) == STACKS


# -- GitHub Actions -------------------------------------------------------------------------------


def test_github_ci_runs_on_pull_requests_with_the_four_jobs():
    workflow = load_yaml(GITHUB_CI)
    assert "pull_request" in triggers(workflow)
    jobs = workflow["jobs"]
    assert {"test", "preview", "diff", "cloud-preview"} <= set(jobs)
    assert any(step.get("run") == "make test" for step in jobs["test"]["steps"])
    python = [s["with"]["python-version"] for j in jobs.values() for s in j.get("steps", [])
              if str(s.get("uses", "")).startswith("actions/setup-python")]
    assert python and all(v in ("3.11", "${{ env.PYTHON_VERSION }}") for v in python)
    assert workflow["env"]["PYTHON_VERSION"] == "3.11"
    # Least privilege: the workflow reads; only the jobs that need more get more.
    assert workflow["permissions"] == {"contents": "read"}


def test_github_preview_job_previews_every_stack_and_keeps_the_plans():
    job = load_yaml(GITHUB_CI)["jobs"]["preview"]
    assert sorted(matrix_values(job)) == STACKS
    runs = [s["run"] for s in job["steps"] if "run" in s]
    assert any("make preview STACK=${{ matrix.stack }}" in r for r in runs)
    uploads = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    assert uploads and uploads[0]["with"]["path"] == "build/plan-${{ matrix.stack }}.json"


def test_github_diff_job_compares_with_the_base_branch_and_posts_one_comment():
    job = load_yaml(GITHUB_CI)["jobs"]["diff"]
    assert job["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert "preview" in ([job["needs"]] if isinstance(job["needs"], str) else job["needs"])
    checkout = next(s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0  # the base commit must be in the clone
    script = "\n".join(s.get("run", "") for s in job["steps"])
    assert "git worktree add" in script and "$BASE_SHA" in script
    assert job["env"]["BASE_SHA"] == "${{ github.event.pull_request.base.sha }}"
    assert "--format markdown" in script
    comment = [s for s in job["steps"] if str(s.get("uses", "")).startswith(
        ("marocchino/sticky-pull-request-comment", "actions/github-script"))]
    assert len(comment) == 1, "exactly one step posts (and then updates) the comment"
    assert comment[0]["with"].get("header"), "a sticky comment needs a header to be found again"


def test_github_cloud_preview_runs_only_when_oidc_is_configured():
    job = load_yaml(GITHUB_CI)["jobs"]["cloud-preview"]
    assert "vars.AWS_PREVIEW_ROLE_ARN" in job["if"]
    assert job["permissions"]["id-token"] == "write"
    assert set(job["permissions"].values()) <= {"read", "write"} and job["permissions"].get("contents") == "read"
    pulumi = next(s for s in job["steps"] if str(s.get("uses", "")).startswith("pulumi/actions"))
    assert pulumi["with"]["command"] == "preview" and pulumi["with"]["policyPacks"] == "policies/"
    creds = next(s for s in job["steps"] if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials"))
    assert "role-to-assume" in creds["with"]
    assert not any(k.startswith("aws-") and "key" in k for k in creds["with"]), "OIDC only, no static keys"


def test_github_actions_are_pinned_and_pulumi_inputs_exist():
    for name, workflow in github_workflows().items():
        for job_name, job in workflow["jobs"].items():
            for step in job.get("steps", []):
                uses = step.get("uses")
                if uses is None:
                    continue
                assert re.fullmatch(r"[\w.-]+/[\w./-]+@[\w.-]+", uses), f"{name}:{job_name}: {uses}"
                if uses.startswith("pulumi/actions"):
                    unknown = set(step["with"]) - PULUMI_ACTION_INPUTS
                    assert not unknown, f"{name}:{job_name}: pulumi/actions has no input {sorted(unknown)}"
                    assert step["with"]["command"] in ("preview", "up")


def test_jobs_that_reach_aws_get_oidc_tokens():
    for name, workflow in github_workflows().items():
        for job_name, job in workflow["jobs"].items():
            uses_aws = any(str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials")
                           for s in job.get("steps", []))
            if uses_aws:
                assert (job.get("permissions") or {}).get("id-token") == "write", f"{name}:{job_name}"
            else:
                assert "id-token" not in (job.get("permissions") or {}), f"{name}:{job_name} needs no token"
    for name, job in gitlab_jobs().items():
        script = "\n".join(str(x) for k in ("before_script", "script") for x in (job.get(k) or []))
        if "assume-role-with-web-identity" in script:
            tokens = job.get("id_tokens") or {}
            assert "AWS_ID_TOKEN" in tokens and tokens["AWS_ID_TOKEN"]["aud"], name
            assert "$AWS_ID_TOKEN" in script, name


def test_github_deploy_runs_on_main_in_order_with_prod_behind_its_environment():
    workflow = load_yaml(GITHUB_DEPLOY)
    assert triggers(workflow)["push"]["branches"] == ["main"]
    assert "pull_request" not in triggers(workflow)
    jobs = workflow["jobs"]
    by_stack = {}
    for job_name, job in jobs.items():
        pulumi = [s for s in job.get("steps", []) if str(s.get("uses", "")).startswith("pulumi/actions")]
        if pulumi:
            assert pulumi[0]["with"]["command"] == "up" and pulumi[0]["with"]["policyPacks"] == "policies/"
            by_stack[pulumi[0]["with"]["stack-name"]] = job_name
    assert sorted(by_stack) == STACKS
    assert "test" in jobs and jobs[by_stack["dev"]]["needs"] in ("test", ["test"]), "nothing deploys untested code"
    # dev -> staging -> prod
    for before, after in zip(DEPLOY_ORDER, DEPLOY_ORDER[1:]):
        needs = jobs[by_stack[after]].get("needs")
        assert by_stack[before] in ([needs] if isinstance(needs, str) else needs or []), f"{after} must wait for {before}"
    for stack, job_name in by_stack.items():
        job = jobs[job_name]
        environment = job["environment"]
        assert (environment if isinstance(environment, str) else environment["name"]) == stack
        assert job["concurrency"]["group"].endswith(stack) and job["concurrency"]["cancel-in-progress"] is False
        assert job["permissions"]["id-token"] == "write"
        assert any(s.get("run") == f"make preview STACK={stack}" for s in job["steps"]), "offline policy gate first"
    # The approval itself is the prod environment's protection rule; the file must say so.
    text = GITHUB_DEPLOY.read_text()
    assert "Required reviewers" in text and "repository settings" in text


# -- GitLab CI ------------------------------------------------------------------------------------


def _rules_if(job: dict[str, Any]) -> list[str]:
    return [rule.get("if", "") for rule in job.get("rules") or []]


def test_gitlab_stages_and_merge_request_jobs():
    ci = gitlab()
    assert ci["stages"] == ["test", "preview", "diff", "deploy"]
    jobs = gitlab_jobs()
    for name in ("test", "preview", "diff"):
        assert name in jobs
        assert any('$CI_PIPELINE_SOURCE == "merge_request_event"' in r for r in _rules_if(jobs[name])), name
    assert jobs["test"]["script"] == ["make test"]
    assert jobs["test"]["stage"] == "test" and jobs["preview"]["stage"] == "preview" and jobs["diff"]["stage"] == "diff"
    assert sorted(gitlab_stack_values(jobs["preview"])) == STACKS
    kept = {path.replace("$STACK", stack) for path in jobs["preview"]["artifacts"]["paths"] for stack in STACKS}
    assert kept == set().union(*(plans_written_by_make_preview(stack) for stack in STACKS))
    assert jobs["preview"]["artifacts"]["when"] == "always"  # plans with findings are kept too
    for name, job in jobs.items():
        assert job.get("stage") in ci["stages"], name
        for need in job.get("needs") or []:
            assert (need if isinstance(need, str) else need["job"]) in jobs, f"{name} needs an unknown job"
    assert str(ci["default"]["image"]).startswith("python:3.11")


def test_gitlab_diff_posts_the_markdown_as_one_note_or_exposes_it():
    job = gitlab_jobs()["diff"]
    script = "\n".join(job["script"])
    assert "$CI_MERGE_REQUEST_DIFF_BASE_SHA" in script and "git worktree add" in script
    assert job["variables"]["GIT_DEPTH"] == 0
    assert "GITLAB_TOKEN" in script and "/notes" in script and '"PUT"' in script
    assert job["artifacts"]["expose_as"] and job["artifacts"]["paths"] == ["plans/plan-diff.md"]
    assert "plans/plan-diff.md" in script


def test_gitlab_deploys_on_the_default_branch_with_a_manual_prod():
    jobs = gitlab_jobs()
    deploys = {job["environment"]["name"]: (name, job) for name, job in jobs.items()
               if job.get("stage") == "deploy"}
    assert sorted(deploys) == STACKS
    # No `needs` on the first deploy: it waits for every earlier stage, the tests included.
    assert "needs" not in deploys["dev"][1] and any("$CI_DEFAULT_BRANCH" in r for r in _rules_if(jobs["test"]))
    for before, after in zip(DEPLOY_ORDER, DEPLOY_ORDER[1:]):
        assert deploys[before][0] in deploys[after][1]["needs"], f"{after} must wait for {before}"
    for stack, (name, job) in deploys.items():
        rules = job["rules"]
        assert rules and all("$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH" in r["if"] for r in rules), name
        assert job["resource_group"].endswith(stack), "one deployment per stack at a time"
        assert job["variables"]["STACK"] == stack
        assert "pulumi up --stack \"$STACK\" --policy-pack policies/ --yes --non-interactive" in job["script"]
        manual = job.get("when") == "manual" or all(r.get("when") == "manual" for r in rules)
        assert manual is (stack == "prod"), f"{name}: manual approval is for prod only"
    prod = deploys["prod"][1]
    assert prod.get("allow_failure") is False, "the pipeline must wait for the prod job, not skip past it"


def test_gitlab_cloud_preview_only_when_configured():
    job = gitlab_jobs()["cloud-preview"]
    assert all("$AWS_PREVIEW_ROLE_ARN" in r for r in _rules_if(job))
    assert any("--policy-pack policies/" in line and "pulumi preview" in line for line in job["script"])
    assert job["id_tokens"]["AWS_ID_TOKEN"]["aud"] == "$CI_SERVER_URL"


# -- the shell reader itself ------------------------------------------------------------------------


def test_shell_reader_splits_commands_and_drops_redirections():
    script = (
        "for s in a b; do\n"
        "  make -C \"$DIR\" preview STACK=\"$s\" > log 2>&1 || echo \"failed $?\"\n"
        "  if [ -f x ]; then FOO=1 mlops-blueprint diff a.json b.json --format markdown; fi\n"
        "done\n"
        "python - <<'PY'\nmake nonsense\nPY\n"
        "creds=$(aws sts assume-role-with-web-identity --role-arn r)  # comment\n"
    )
    commands = list(simple_commands(script))
    assert ["make", "-C", "$DIR", "preview", "STACK=$s"] in commands
    assert ["mlops-blueprint", "diff", "a.json", "b.json", "--format", "markdown"] in commands
    assert ["aws", "sts", "assume-role-with-web-identity", "--role-arn", "r"] in commands
    assert not any(c[:2] == ["make", "nonsense"] for c in commands)
    assert make_targets_called(["-C", "$DIR", "preview", "STACK=$s"]) == ["preview"]
