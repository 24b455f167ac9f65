"""The Jenkinsfile only runs what the project has, with the same stages as the other CI templates.

A small Groovy reader (comments, the four string forms, braces) turns the declarative pipeline into
a tree of blocks; the checks then read the stages, their ``when``/``input``/``matrix`` directives and
every ``sh`` step (also inside the helper functions a stage calls), and run the shell steps through
the same shell reader as tests/test_ci_templates.py: every ``make`` target exists, every
``mlops-blueprint`` command line is accepted by the real CLI parser, every ``pulumi`` call is one
the deploy flow expects, and no AWS key is referenced anywhere. When npm-groovy-lint (CodeNarc,
offline; needs Node and Java) is installed, the file must also compile without an error.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from support.ci_templates import (
    DEPLOY_ORDER, REPO, STACKS, calls_named, checked_cli_subcommands, checked_make_targets, github_workflows,
    gitlab_jobs, plans_written_by_make_preview, simple_commands,
)


JENKINSFILE = REPO / "Jenkinsfile"
PR_STAGES = ["preview", "check", "diff", "cloud-preview"]
DEPLOY_STAGES = [f"deploy-{stack}" for stack in DEPLOY_ORDER]

# -- a small Groovy reader ------------------------------------------------------------------------


@dataclass
class Str:
    """A string literal: its value (escapes applied) and whether Groovy interpolates it (``"``)."""

    value: str
    interpolated: bool


Token = str | Str


@dataclass
class Block:
    """``head { body }``: the tokens before the brace (since the last statement) and what is inside."""

    head: list[Token]
    body: list[Token | Block] = field(default_factory=list)

    @property
    def words(self) -> list[str]:
        return [t for t in self.head if isinstance(t, str)]

    @property
    def name(self) -> str:
        """The block's keyword or method: ``stage``, ``matrix``, ``def deploy`` -> ``deploy``."""
        words = [w for w in self.words if re.fullmatch(r"\w+", w)]
        if len(words) >= 2 and words[0] in ("def", "String", "void", "boolean"):
            return words[1]
        return words[0] if words else ""

    @property
    def label(self) -> str | None:
        """The first string of the head: a stage's name."""
        return next((t.value for t in self.head if isinstance(t, Str)), None)

    def blocks(self, name: str | None = None) -> Iterator[Block]:
        """Direct child blocks (named ``name``)."""
        for item in self.body:
            if isinstance(item, Block) and (name is None or item.name == name):
                yield item

    def walk(self) -> Iterator[Block]:
        yield self
        for child in self.blocks():
            yield from child.walk()

    def tokens(self) -> Iterator[Token]:
        """Every token of the block, nested blocks included, in order."""
        yield from self.head
        for item in self.body:
            if isinstance(item, Block):
                yield from item.tokens()
            else:
                yield item

    def child(self, name: str) -> Block:
        found = list(self.blocks(name))
        assert len(found) == 1, f"expected one `{name} {{...}}` in `{' '.join(self.words)}`, found {len(found)}"
        return found[0]


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "\\": "\\", "'": "'", '"': '"', "$": "$", "\n": ""}


def _unescape(raw: str) -> str:
    """Groovy's escapes (a backslash before a newline joins the lines, in every string form)."""
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), raw, flags=re.DOTALL)


def groovy_tokens(text: str) -> list[Token]:
    """Words, punctuation, string literals and statement ends (``;`` for a newline outside parentheses)."""
    tokens: list[Token] = []
    i, depth = 0, 0
    while i < len(text):
        c = text[i]
        if text.startswith("//", i):
            i = text.find("\n", i) if "\n" in text[i:] else len(text)
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            assert end >= 0, "unterminated /* comment"
            i = end + 2
        elif text.startswith(("'''", '"""'), i):
            quote = text[i:i + 3]
            end = text.find(quote, i + 3)
            while end >= 0 and text[end - 1] == "\\":
                end = text.find(quote, end + 1)
            assert end >= 0, f"unterminated {quote} string at offset {i}"
            tokens.append(Str(_unescape(text[i + 3:end]), quote == '"""'))
            i = end + 3
        elif c in "'\"":
            match = re.compile(rf"{c}((?:\\.|[^{c}\\\n])*){c}").match(text, i)
            assert match, f"unterminated {c} string at offset {i}: {text[i:i + 40]!r}"
            tokens.append(Str(_unescape(match.group(1)), c == '"'))
            i = match.end()
        elif c == "\n":
            if depth == 0:
                tokens.append(";")
            i += 1
        elif c.isspace():
            i += 1
        else:
            match = re.compile(r"\w+|\?\.|\?:|<<|\+=|==|!=|&&|\|\||\S").match(text, i)
            word = match.group(0)
            depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(word, 0)
            tokens.append(word)
            i = match.end()
    return tokens


def groovy_tree(text: str) -> Block:
    """The file as nested blocks; raises on unbalanced braces."""
    root = Block(["<file>"])
    stack = [root]
    head: list[Token] = []
    for token in groovy_tokens(text):
        if token == "{":
            block = Block(head)
            stack[-1].body.append(block)
            stack.append(block)
            head = []
        elif token == "}":
            stack[-1].body.extend(head)
            head = []
            assert len(stack) > 1, "unbalanced `}`"
            stack.pop()
        elif token == ";":
            stack[-1].body.extend(head)
            head = []
        else:
            head.append(token)
    assert len(stack) == 1, f"{len(stack) - 1} unclosed `{{`"
    root.body.extend(head)
    return root


def _strings_after(tokens: list[Token], word: str) -> Iterator[Str]:
    """The string argument of each ``word '...'`` / ``word('...')`` / ``word(script: '...')`` call."""
    for i, token in enumerate(tokens):
        if token != word:
            continue
        rest = tokens[i + 1:i + 5] + [""] * 4
        if isinstance(rest[0], Str):
            yield rest[0]
        elif rest[0] == "(" and isinstance(rest[1], Str):
            yield rest[1]
        elif rest[:3] == ["(", "script", ":"] and isinstance(rest[3], Str):
            yield rest[3]


# -- the pipeline ---------------------------------------------------------------------------------


def tree() -> Block:
    return groovy_tree(JENKINSFILE.read_text(encoding="utf-8"))


def pipeline() -> Block:
    return tree().child("pipeline")


def stages() -> dict[str, Block]:
    """The pipeline's top-level stages by name, in order."""
    return {s.label: s for s in pipeline().child("stages").blocks("stage")}


def helpers() -> dict[str, Block]:
    """Functions defined next to ``pipeline { }`` (a stage may call them from its steps)."""
    return {b.name: b for b in tree().blocks() if b.words[:1] in (["def"], ["String"], ["void"])}


def stage_stacks(stage: Block) -> list[str]:
    """What ``$STACK`` is in a stage: its matrix axis values, or its ``environment { STACK = '...' }``."""
    values: list[str] = []
    for block in stage.walk():
        if block.name == "axis":
            tokens = list(block.tokens())
            assert tokens[tokens.index("name") + 1] == Str("STACK", False), "only a STACK axis is expected"
            values += [t.value for t in tokens[tokens.index("values"):] if isinstance(t, Str)]
        if block.name == "environment":
            tokens = list(block.tokens())
            for i, token in enumerate(tokens[:-2]):
                if token == "STACK" and tokens[i + 1] == "=" and isinstance(tokens[i + 2], Str):
                    values.append(tokens[i + 2].value)
    return values


def _called_helpers(stage: Block, seen: tuple[str, ...] = ()) -> list[Block]:
    tokens = list(stage.tokens())
    called = []
    for name, helper in helpers().items():
        if name not in seen and any(t == name and tokens[i + 1:i + 2] == ["("] for i, t in enumerate(tokens)):
            called += [helper, *_called_helpers(helper, seen + (name,))]
    return called


def _expand(text: str, stack: str | None) -> str:
    if stack is not None:
        text = re.sub(r"\$\{(?:env\.)?STACK\}|\$STACK\b", stack, text)
    return text


def stage_scripts(name: str, stage: Block) -> Iterator[tuple[str, str]]:
    """``(where, shell text)`` of every ``sh`` step the stage runs (its helpers' too), per stack."""
    for block in [stage, *_called_helpers(stage)]:
        for script in _strings_after(list(block.tokens()), "sh"):
            for stack in stage_stacks(stage) or [None]:
                yield f"Jenkinsfile:{name}" + (f"[{stack}]" if stack else ""), _expand(script.value, stack)


def all_jenkins_scripts() -> list[tuple[str, str]]:
    return [pair for name, stage in stages().items() for pair in stage_scripts(name, stage)]


def jenkins_calls(name: str) -> list[tuple[str, list[str]]]:
    return calls_named(name, all_jenkins_scripts())


# -- the reader itself ----------------------------------------------------------------------------


def test_groovy_reader_skips_comments_and_reads_each_string_form():
    text = (
        "// a { comment\n"
        "pipeline { /* } */\n"
        "  stages {\n"
        "    stage('a') { steps { sh 'make test' } }\n"
        '    stage("b") { steps { sh """\n      echo "a}" \\\\\n        x\n    """ } }\n'
        "    stage('c') { steps { sh(script: '''printf 'a\\\\n' && make preview STACK=$STACK''', label: 'x') } }\n"
        "  }\n"
        "}\n"
    )
    root = groovy_tree(text)
    stages_ = {s.label: s for s in root.child("pipeline").child("stages").blocks("stage")}
    assert list(stages_) == ["a", "b", "c"]
    scripts = {name: [s.value for s in _strings_after(list(block.tokens()), "sh")] for name, block in stages_.items()}
    assert scripts["a"] == ["make test"]
    assert scripts["b"] == ['\n      echo "a}" \\\n        x\n    ']
    assert scripts["c"] == ["printf 'a\\n' && make preview STACK=$STACK"]
    assert list(simple_commands(scripts["b"][0])) == [["echo", "a}", "x"]]
    with pytest.raises(AssertionError, match="unclosed"):
        groovy_tree("pipeline { stages {\n}")
    with pytest.raises(AssertionError, match="unterminated"):
        groovy_tree("sh '''make test\n")


# -- structure ------------------------------------------------------------------------------------


def test_the_jenkinsfile_is_a_declarative_pipeline_whose_steps_are_all_read():
    root = tree()
    assert [b.name for b in root.blocks() if b.name == "pipeline"] == ["pipeline"]
    # `agent none`: each stage takes its own agent, so the prod approval holds no executor.
    top = [t for t in pipeline().body if not isinstance(t, Block)]
    assert top[top.index("agent") + 1] == "none"
    # Every `sh` of the file is reached from a stage (none only in a helper no stage calls).
    everywhere = {s.value for s in _strings_after(list(root.tokens()), "sh")}
    reached = {s.value for stage in stages().values()
               for b in [stage, *_called_helpers(stage)] for s in _strings_after(list(b.tokens()), "sh")}
    assert everywhere and reached == everywhere
    assert jenkins_calls("make") and jenkins_calls("mlops-blueprint") and jenkins_calls("pulumi")


def test_the_stages_are_the_jobs_of_the_other_templates():
    github = {job for workflow in github_workflows().values() for job in workflow["jobs"]}
    gitlab = set(gitlab_jobs())
    names = list(stages())
    assert set(names) == github | gitlab, (
        f"Jenkins stages {sorted(names)} vs jobs {sorted(github | gitlab)}: add the missing stage to the Jenkinsfile")
    assert names == ["test", *PR_STAGES, *DEPLOY_STAGES]


def test_the_per_stack_stages_cover_every_stack():
    for name in ("preview", "check", "cloud-preview"):
        assert sorted(stage_stacks(stages()[name])) == STACKS, name
    for stack in DEPLOY_ORDER:
        assert stage_stacks(stages()[f"deploy-{stack}"]) == [stack]


def _when(stage: Block) -> list[Token]:
    return list(stage.child("when").tokens())


def test_pull_request_stages_run_on_change_requests_and_deploys_on_main_when_enabled():
    for name in PR_STAGES:
        assert "changeRequest" in _when(stages()[name]), f"{name} runs for pull requests only"
    assert "when" not in {b.name for b in stages()["test"].blocks()}, "the tests run for every build"
    for name in DEPLOY_STAGES:
        when = _when(stages()[name])
        assert when[when.index("branch") + 1] == Str("main", False), name
        i = when.index("environment")
        assert when[i + 1:i + 8] == ["name", ":", Str("DEPLOY_ENABLED", False), ",", "value", ":", Str("true", False)]
        assert "beforeAgent" in when, f"{name}: decide before taking an agent"
    cloud = _when(stages()["cloud-preview"])
    assert "AWS_PREVIEW_ROLE_ARN" in cloud, "the cloud preview only runs when a role is configured"


def test_prod_waits_for_an_approval_and_every_stack_deploys_alone():
    for name in DEPLOY_STAGES:
        stage = stages()[name]
        has_input = any(b.name == "input" for b in stage.blocks())
        assert has_input is (name == "deploy-prod"), f"{name}: the manual approval is for prod only"
        options = list(stage.child("options").tokens())
        stack = name.removeprefix("deploy-")
        assert options[options.index("lock") + 2] == Str(f"pulumi-{stack}", False), "one deployment per stack at a time"
    prod = stages()["deploy-prod"]
    approval = list(prod.child("input").tokens())
    assert "message" in approval and "submitter" in approval
    assert "beforeInput" in _when(prod), "no approval is asked for a build that would not deploy"


def test_each_deploy_gates_offline_then_runs_up_with_the_policy_pack_then_verifies():
    for stack in DEPLOY_ORDER:
        name = f"deploy-{stack}"
        commands = [argv for _, text in stage_scripts(name, stages()[name]) for argv in simple_commands(text)]
        steps = [i for i, argv in enumerate(commands) if argv[:1] == ["make"] and argv[1:] == ["preview", f"STACK={stack}"]]
        ups = [i for i, argv in enumerate(commands) if argv[:2] == ["pulumi", "up"]]
        verifies = [i for i, argv in enumerate(commands)
                    if Path(argv[0]).name == "mlops-blueprint" and argv[1:] == ["verify", "--stack", stack]]
        assert len(steps) == len(ups) == len(verifies) == 1, f"{name}: {commands}"
        assert steps[0] < ups[0] < verifies[0], f"{name}: gate, up, verify in that order"
        up = commands[ups[0]]
        assert up[up.index("--stack") + 1] == stack and up[up.index("--policy-pack") + 1] == "policies/"
        assert "--yes" in up and "--non-interactive" in up


# -- commands -------------------------------------------------------------------------------------


def test_every_make_target_called_exists_in_the_makefile():
    assert {"test", "preview", "check"} <= checked_make_targets(jenkins_calls("make"))


def test_every_mlops_blueprint_command_is_accepted_by_the_cli_parser():
    assert {"diff", "verify"} <= checked_cli_subcommands(jenkins_calls("mlops-blueprint"))


# What the pipeline may ask of the Pulumi CLI, with the flags it may pass.
PULUMI_COMMANDS = {
    "login": set(),
    "preview": {"--stack", "--policy-pack", "--non-interactive"},
    "up": {"--stack", "--policy-pack", "--yes", "--non-interactive"},
}


def test_pulumi_is_only_asked_to_log_in_preview_and_deploy_with_the_policy_pack():
    seen = set()
    for where, argv in jenkins_calls("pulumi"):
        command, flags = argv[0], {a for a in argv[1:] if a.startswith("-")}
        assert command in PULUMI_COMMANDS, f"{where}: pulumi {command}"
        assert flags <= PULUMI_COMMANDS[command], f"{where}: pulumi {command} {sorted(flags - PULUMI_COMMANDS[command])}"
        if command != "login":
            pack = argv[argv.index("--policy-pack") + 1]
            assert (REPO / pack / "PulumiPolicy.yaml").is_file(), f"{where}: no policy pack at {pack}"
            stack = argv[argv.index("--stack") + 1]
            assert stack in STACKS, f"{where}: pulumi {command} --stack {stack}"
        seen.add((command, argv[argv.index("--stack") + 1] if "--stack" in argv else None))
    assert {("preview", s) for s in STACKS} | {("up", s) for s in STACKS} <= seen


def test_the_archived_plans_are_the_ones_make_preview_writes():
    stage = stages()["preview"]
    archived = set()
    for block in stage.walk():
        tokens = list(block.tokens())
        for i, token in enumerate(tokens[:-2]):
            if token in ("artifacts", "includes") and tokens[i + 1] == ":" and isinstance(tokens[i + 2], Str):
                archived.update(_expand(tokens[i + 2].value, stack) for stack in stage_stacks(stage))
    assert archived == set().union(*(plans_written_by_make_preview(stack) for stack in STACKS))
    # The diff reads the stashed plans of every stack.
    assert "unstash" in list(stages()["diff"].tokens())
    environment = list(pipeline().child("environment").tokens())
    stacks = environment[environment.index("STACKS") + 2]
    assert isinstance(stacks, Str) and sorted(stacks.value.split()) == STACKS, "the diff loops over every stack"


def test_the_diff_compares_with_the_target_branch():
    text = "\n".join(t for _, t in stage_scripts("diff", stages()["diff"]))
    assert "$CHANGE_TARGET" in text and "git merge-base" in text and "git worktree add" in text
    assert "plans/base" in text and "plan-diff.md" in text
    archived = [t.value for t in stages()["diff"].tokens() if isinstance(t, Str) and "plan-diff.md" in t.value]
    assert archived, "the diff is kept as an artifact"


# -- credentials ----------------------------------------------------------------------------------


def test_no_aws_key_is_stored_or_referenced():
    text = JENKINSFILE.read_text(encoding="utf-8")
    code = " ".join(t.value if isinstance(t, Str) else t for t in tree().tokens())  # comments left out
    for forbidden in ("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "aws_secret_access_key",
                      "AmazonWebServicesCredentialsBinding", "aws configure set"):
        assert forbidden not in code, f"the Jenkinsfile uses {forbidden}: use the OIDC web identity instead"
    assert not re.search(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b", text), "an access key id in the Jenkinsfile"
    # The role comes from a web identity token file bound per build, read by the AWS SDKs themselves.
    web = helpers()["withAwsWebIdentity"]
    tokens = list(web.tokens())
    i = tokens.index("file")
    assert Str("AWS_WEB_IDENTITY_TOKEN_FILE", False) in tokens[i:i + 12]
    assert any(isinstance(t, Str) and t.value.startswith("AWS_ROLE_ARN=") for t in tokens)


def test_every_pulumi_call_runs_inside_the_web_identity_block():
    def pulumi_scripts(block: Block, inside: bool) -> Iterator[tuple[str, bool]]:
        inside = inside or block.name == "withAwsWebIdentity"
        for item in block.body:
            if isinstance(item, Block):
                yield from pulumi_scripts(item, inside)
        for script in _strings_after(block.head + [t for t in block.body if not isinstance(t, Block)], "sh"):
            if any(argv[:1] == ["pulumi"] for argv in simple_commands(script.value)):
                yield script.value, inside

    found = list(pulumi_scripts(tree(), False))
    assert found and all(inside for _, inside in found), [s for s, inside in found if not inside]


def test_every_setting_read_is_documented_at_the_top():
    text = JENKINSFILE.read_text(encoding="utf-8")
    header = text[:text.index("pipeline {")]
    code = list(tree().tokens())
    settings = {code[i + 2] for i, t in enumerate(code[:-2]) if t == "env" and code[i + 1] in (".", "?.")
                and isinstance(code[i + 2], str) and re.fullmatch(r"[A-Z][A-Z0-9_]+", code[i + 2])}
    settings |= {m for t in code if isinstance(t, Str) and t.interpolated for m in re.findall(r"\benv\.([A-Z][A-Z0-9_]+)", t.value)}
    settings |= {code[i + 2].value for i, t in enumerate(code[:-2]) if t == "roleFor" and isinstance(code[i + 2], Str)}
    settings |= {code[i + 3].value for i, t in enumerate(code[:-3]) if t == "environment" and code[i + 1] == "name"}
    environment = list(pipeline().child("environment").tokens())
    defined = {t for i, t in enumerate(environment[:-1]) if isinstance(t, str) and environment[i + 1] == "="}
    builtin = {"BUILD_NUMBER", "HOME", "STACK", "CHANGE_TARGET", "WORKSPACE_TMP"} | defined
    undocumented = sorted(s for s in settings - builtin if not re.search(rf"\b{s}\b", header))
    assert settings - builtin and not undocumented, f"settings read but not listed at the top: {undocumented}"


# -- an offline linter, when installed --------------------------------------------------------------


def _groovy_lint() -> str | None:
    return os.environ.get("NPM_GROOVY_LINT") or shutil.which("npm-groovy-lint")


@pytest.mark.skipif(_groovy_lint() is None, reason="npm-groovy-lint is not installed (npm i -g npm-groovy-lint@15; "
                    "needs Java); set NPM_GROOVY_LINT to its path")
def test_npm_groovy_lint_finds_no_error(tmp_path: Path):
    result = subprocess.run([_groovy_lint(), "--noserver", "--output", "txt", "--loglevel", "error",
                             "--failon", "error", str(JENKINSFILE)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
