"""The CI templates (.github/workflows/*.yml, .gitlab-ci.yml) only run what the project has.

Parses the three files and checks: the jobs and their triggers; every `make <target>` they call
exists in the Makefile; every `mlops-blueprint ...` command line is accepted by the real CLI
parser; the paths they use exist or are what `make preview` writes; prod deploys wait for an
approval; jobs that reach AWS get OIDC tokens and nothing more than they need.
"""

from __future__ import annotations

import json
import re
from typing import Any

from support.ci_templates import (
    DEPLOY_ORDER, GITHUB_CI, GITHUB_DEPLOY, GITLAB_CI, REPO, STACKS, all_scripts, calls_named,
    checked_cli_subcommands, checked_make_targets, expand_github, github_workflows, gitlab, gitlab_jobs,
    gitlab_stack_values, load_yaml, make_targets_called, makefile_targets, matrix_values,
    plans_written_by_make_preview, simple_commands, triggers,
)


# pulumi/actions@v6 inputs (action.yml); a misspelt input is silently ignored by GitHub.
PULUMI_ACTION_INPUTS = {
    "command", "stack-name", "work-dir", "cloud-url", "comment-on-pr", "comment-on-pr-number",
    "comment-on-summary", "github-token", "secrets-provider", "parallel", "message", "config-map",
    "expect-no-changes", "diff", "replace", "target", "target-dependents", "policyPacks",
    "policyPackConfigs", "refresh", "upsert", "remove", "edit-pr-comment", "color", "exclude-protected",
    "plan", "suppress-outputs", "suppress-progress", "always-include-summary", "pulumi-version",
    "pulumi-version-file",
}

def commands_named(name: str) -> list[tuple[str, list[str]]]:
    """``(where, argv after the program)`` for each call of ``name`` (any path, or python -m)."""
    return calls_named(name, all_scripts())


# -- both systems ---------------------------------------------------------------------------------


def test_the_three_files_parse_and_the_shell_reader_finds_commands():
    for path in (GITHUB_CI, GITHUB_DEPLOY, GITLAB_CI):
        assert isinstance(load_yaml(path), dict), path
    assert commands_named("make") and commands_named("mlops-blueprint")


def test_every_make_target_called_exists_in_the_makefile():
    assert {"test", "preview", "preview-all", "snapshots"} <= makefile_targets()
    assert {"test", "preview"} <= checked_make_targets(commands_named("make"))


def test_every_mlops_blueprint_command_is_accepted_by_the_cli_parser():
    assert "diff" in checked_cli_subcommands(commands_named("mlops-blueprint"))


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
        needs = {(n if isinstance(n, str) else n["job"]) for n in deploys[after][1]["needs"]}
        assert {deploys[before][0], "test"} <= needs, f"{after} must wait for {before} and the tests"
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


# -- model approvals roll out through the deploy workflows ---------------------------------------------


class _Context(dict):
    """An expression context: missing keys and attributes read as None (null), as in GitHub/GitLab."""

    def __getattr__(self, name: str) -> Any:
        value = self.get(name)
        return _Context(value) if isinstance(value, dict) else value


def github_if(expression: str, **contexts: Any) -> bool:
    """A deploy job's ``if:`` under ``contexts`` (github, inputs, vars, and the status functions):
    the operators used there (==, &&, ||, !, parentheses) in Python's spelling."""
    text = expression.strip().removeprefix("${{").removesuffix("}}")
    assert re.fullmatch(r"[\w.' ()=!&|-]+", text), f"unexpected syntax in {expression!r}"
    text = text.replace("&&", " and ").replace("||", " or ").replace("!=", " <> ")
    text = re.sub(r"!(?!=)", " not ", text).replace(" <> ", " != ")
    namespace = {name: _Context(value) if isinstance(value, dict) else value for name, value in contexts.items()}
    return bool(eval(text, {"__builtins__": {}}, namespace))  # noqa: S307 - the repository's own file


def github_deploys_that_run(event: str, payload: dict[str, Any] | None = None,
                            inputs: dict[str, Any] | None = None) -> list[str]:
    """Which deploy jobs run (in order) for ``event``, when every job that runs succeeds."""
    jobs = load_yaml(GITHUB_DEPLOY)["jobs"]
    ran: list[str] = []
    for stack in DEPLOY_ORDER:
        job = jobs[f"deploy-{stack}"]
        needs = job["needs"] if isinstance(job["needs"], list) else [job["needs"]]
        skipped_need = any(n != "test" and n.removeprefix("deploy-") not in ran for n in needs)
        condition = job.get("if", "success()").strip().removeprefix("${{").removesuffix("}}")
        if not re.search(r"\b(success|failure|cancelled|always)\(\)", condition):
            condition = f"success() && ({condition})"  # GitHub adds it when no status function is named
        runs = github_if(condition, github={"event_name": event, "event": {"client_payload": payload or {}}},
                         inputs=inputs or {}, vars={"DEPLOY_ENABLED": "true"},
                         success=lambda skipped=skipped_need: not skipped, failure=lambda: False,
                         cancelled=lambda: False, always=lambda: True)
        if runs:
            ran.append(stack)
    return ran


def test_github_an_approval_deploys_only_its_stack():
    on = triggers(load_yaml(GITHUB_DEPLOY))
    assert on["repository_dispatch"]["types"] == ["model-approved"]
    assert sorted(on["workflow_dispatch"]["inputs"]["stack"]["options"]) == STACKS
    assert github_deploys_that_run("push") == DEPLOY_ORDER
    for stack in DEPLOY_ORDER:
        assert github_deploys_that_run("repository_dispatch", payload={"stack": stack}) == [stack]
        assert github_deploys_that_run("workflow_dispatch", inputs={"stack": stack}) == [stack]
    assert github_deploys_that_run("repository_dispatch", payload={"stack": "qa"}) == []
    # The payload is compared, never put into a command or an action input.
    for job in load_yaml(GITHUB_DEPLOY)["jobs"].values():
        for step in job.get("steps", []):
            assert "client_payload" not in json.dumps(step) and "inputs.stack" not in json.dumps(step)
    text = GITHUB_DEPLOY.read_text()
    assert "SageMaker Model Package State Change" in text and "model-approved" in text


def gitlab_rule_matches(rule: str, variables: dict[str, str]) -> bool:
    """A GitLab ``rules:if`` (==, &&, ||, parentheses, null, $VAR) under ``variables``."""
    assert re.fullmatch(r"[\w$ ()=!&|\"-]+", rule), f"unexpected syntax in {rule!r}"
    text = re.sub(r"\$(\w+)", lambda m: f"v.get({m.group(1)!r})", rule)
    text = text.replace("&&", " and ").replace("||", " or ").replace("null", "None")
    return bool(eval(text, {"__builtins__": {}}, {"v": variables}))  # noqa: S307 - the repository's own file


def gitlab_deploys_created(variables: dict[str, str]) -> list[str]:
    jobs = gitlab_jobs()
    return [stack for stack in DEPLOY_ORDER
            if any(gitlab_rule_matches(rule["if"], variables) for rule in jobs[f"deploy-{stack}"]["rules"])]


def test_gitlab_an_approval_deploys_only_its_stack():
    main = {"CI_COMMIT_BRANCH": "main", "CI_DEFAULT_BRANCH": "main", "DEPLOY_ENABLED": "true"}
    assert gitlab_deploys_created(main) == DEPLOY_ORDER
    assert gitlab_deploys_created({**main, "DEPLOY_ENABLED": "false"}) == []
    assert gitlab_deploys_created({**main, "CI_COMMIT_BRANCH": "feature"}) == []
    for stack in DEPLOY_ORDER:
        assert gitlab_deploys_created({**main, "ROLLOUT_STACK": stack}) == [stack]
    # The tests run in a rollout pipeline too, and every deploy waits for them.
    assert any(gitlab_rule_matches(r, {**main, "ROLLOUT_STACK": "staging"}) for r in _rules_if(gitlab_jobs()["test"]))
    for stack in DEPLOY_ORDER[1:]:
        needs = gitlab_jobs()[f"deploy-{stack}"]["needs"]
        assert all(isinstance(n, dict) and n.get("optional") is True for n in needs if n["job"].startswith("deploy-"))
        assert "test" in {n["job"] for n in needs}
    assert "SageMaker Model Package State Change" in GITLAB_CI.read_text()


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
