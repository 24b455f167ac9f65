"""The Pulumi ESC environments in esc/ (one per stack, imported by the stack files' `environment:`).

Checks that each definition is what ESC reads (``imports``/``values``; an ``fn::open::aws-login``
OIDC block with a role ARN and a session name AWS accepts; the AWS variables mapped to the login's
outputs), that every ``${...}`` reference resolves inside the environment, that every value that
reaches an alert endpoint is an ``fn::secret``, and that the ``pulumiConfig`` it passes is config the
stack really has: merged into the stack file (the stack file's own keys winning, as with Pulumi), it
passes the config model and previews with the subscriptions in the plan. The offline loader
ignores a stack file's top-level ``environment:`` as Pulumi's stack file schema allows it.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.stacks import of_type, plan_for, preview_document

from mlops_blueprint.config import AWS_KEYS, PROJECT, parse_config, raw_stack_config
from mlops_blueprint.preview import load_stack_file, stack_file

REPO = Path(__file__).resolve().parents[1]
ESC_DIR = REPO / "esc"
STACKS = sorted(p.name.split(".")[1] for p in (REPO / "stacks").glob("Pulumi.*.yaml"))

# What ESC's aws-login provider returns (docs: esc/providers/login/aws-login), and how the AWS SDKs
# name each one in the environment.
AWS_LOGIN_OUTPUTS = {"accessKeyId": "AWS_ACCESS_KEY_ID", "secretAccessKey": "AWS_SECRET_ACCESS_KEY",
                     "sessionToken": "AWS_SESSION_TOKEN"}
ROLE_ARN = re.compile(r"^arn:aws(-cn|-us-gov)?:iam::\d{12}:role/[\w+=,.@/-]{1,64}$")
SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")  # sts:AssumeRoleWithWebIdentity RoleSessionName
DURATION = re.compile(r"^(\d+h)?(\d+m)?(\d+s)?$")
INTERPOLATION = re.compile(r"\$\{([^}]+)\}")


def esc_file(stack: str) -> Path:
    return ESC_DIR / f"{PROJECT}-{stack}.yaml"


def definition(stack: str) -> dict[str, Any]:
    return yaml.safe_load(esc_file(stack).read_text(encoding="utf-8"))


def _walk(node: Any, path: tuple[str, ...] = ()) -> Any:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, path + (str(key),))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, path + (str(i),))


def _lookup(values: dict[str, Any], reference: str) -> Any:
    """What ``${reference}`` points at (``a.b[0].c``), through ``fn::open::aws-login`` outputs."""
    node: Any = values
    parts = re.findall(r"[^.\[\]]+", reference)
    for i, part in enumerate(parts):
        if isinstance(node, dict) and "fn::open::aws-login" in node:
            assert parts[i:] and parts[i] in AWS_LOGIN_OUTPUTS and len(parts) == i + 1, \
                f"${{{reference}}}: aws-login returns only {sorted(AWS_LOGIN_OUTPUTS)}"
            return {"fn::open::aws-login": part}
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise AssertionError(f"${{{reference}}} does not resolve: no {part!r}")
    return node


def evaluate(values: dict[str, Any], node: Any, *, secret: Any = None) -> Any:
    """``node`` with references replaced: ``fn::secret`` by its plaintext (or by ``secret``, as the
    engine's placeholder for an encrypted value), dynamic outputs by a marker."""
    if isinstance(node, dict):
        if set(node) == {"fn::secret"}:
            return node["fn::secret"] if secret is None else secret
        if "fn::open::aws-login" in node:
            return f"<aws-login {node['fn::open::aws-login']}>"
        return {k: evaluate(values, v, secret=secret) for k, v in node.items()}
    if isinstance(node, list):
        return [evaluate(values, v, secret=secret) for v in node]
    if isinstance(node, str):
        whole = INTERPOLATION.fullmatch(node)
        if whole:
            return evaluate(values, _lookup(values, whole.group(1)), secret=secret)
        return INTERPOLATION.sub(lambda m: str(evaluate(values, _lookup(values, m.group(1)), secret=secret)), node)
    return node


def stack_document_with_esc(stack: str, *, secret: Any = None) -> dict[str, Any]:
    """The stack file as Pulumi sees it with the environment imported: its ``pulumiConfig`` under
    the file's own ``config`` (which wins), and the ``environment:`` import itself."""
    document = yaml.safe_load(stack_file(stack).read_text(encoding="utf-8"))
    values = definition(stack)["values"]
    esc_config = evaluate(values, values["pulumiConfig"], secret=secret)
    document["config"] = {**esc_config, **document["config"]}
    document["environment"] = [f"{PROJECT}/{stack}"]
    return document


def _engine_config(config: dict[str, Any]) -> dict[str, str]:
    """The flat map the engine hands the program (structured values as JSON text)."""
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}


# -- the definitions --------------------------------------------------------------------------------


def test_one_environment_per_stack_each_imported_by_its_stack_file():
    assert sorted(p.name for p in ESC_DIR.glob("*.yaml")) == sorted(esc_file(s).name for s in STACKS)
    for stack in STACKS:
        text = stack_file(stack).read_text(encoding="utf-8")
        # The import is a commented example (uncommented it needs the environment in Pulumi Cloud).
        example = re.search(r"^# environment:\n#   - (\S+)$", text, flags=re.MULTILINE)
        assert example and example.group(1) == f"{PROJECT}/{stack}", stack
        assert f"esc/{esc_file(stack).name}" in text
        assert f"pulumi env init <org>/{PROJECT}/{stack} --file esc/{esc_file(stack).name}" in esc_file(stack).read_text()


@pytest.mark.parametrize("stack", STACKS)
def test_the_definition_has_an_oidc_login_and_the_sdk_variables(stack: str):
    document = definition(stack)
    assert set(document) <= {"imports", "values"} and "values" in document
    values = document["values"]
    oidc = values["aws"]["login"]["fn::open::aws-login"]["oidc"]
    assert set(oidc) <= {"roleArn", "sessionName", "duration", "policyArns", "subjectAttributes"}
    assert ROLE_ARN.fullmatch(oidc["roleArn"]), oidc["roleArn"]
    assert SESSION_NAME.fullmatch(oidc["sessionName"]) and stack in oidc["sessionName"]
    assert DURATION.fullmatch(oidc["duration"]) and oidc["duration"]
    assert "static" not in values["aws"]["login"]["fn::open::aws-login"], "OIDC only, no stored keys"
    variables = values["environmentVariables"]
    assert variables == {name: f"${{aws.login.{output}}}" for output, name in AWS_LOGIN_OUTPUTS.items()}


@pytest.mark.parametrize("stack", STACKS)
def test_every_reference_resolves_and_no_key_is_written_down(stack: str):
    values = definition(stack)["values"]
    references = [m for _, node in _walk(values) if isinstance(node, str) for m in INTERPOLATION.findall(node)]
    assert references
    for reference in references:
        _lookup(values, reference)
    text = esc_file(stack).read_text(encoding="utf-8")
    assert not re.search(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b", text)


def test_the_login_role_is_not_one_the_stack_creates():
    """The shipped stacks' CI roles trust GitHub tokens, not Pulumi Cloud's issuer (that takes
    ``iam.ci.provider: pulumi``): ESC could not assume them, so the environment names a role of its own."""
    for stack in STACKS:
        role_names = {r["inputs"].get("name") for r in of_type(plan_for(stack), "aws:iam/role:Role")}
        role = definition(stack)["values"]["aws"]["login"]["fn::open::aws-login"]["oidc"]["roleArn"]
        assert role_names and role.rsplit("/", 1)[1] not in role_names, stack


@pytest.mark.parametrize("stack", STACKS)
def test_every_alert_endpoint_is_a_secret(stack: str):
    values = definition(stack)["values"]
    subscriptions = values["pulumiConfig"][f"{PROJECT}:alerts"]["subscriptions"]
    endpoints = [s["endpoint"] for entries in subscriptions.values() for s in entries]
    assert endpoints
    for endpoint in endpoints:
        reference = INTERPOLATION.fullmatch(str(endpoint))
        assert reference, f"{endpoint!r}: an alert endpoint is a reference to an fn::secret, never plaintext"
        target = _lookup(values, reference.group(1))
        assert isinstance(target, dict) and set(target) == {"fn::secret"}, f"${{{reference.group(1)}}} is not an fn::secret"


# -- what the stack gets ------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_the_pulumi_config_is_config_the_stack_has(stack: str):
    values = definition(stack)["values"]
    for key in values["pulumiConfig"]:
        assert key.startswith(f"{PROJECT}:") or key in AWS_KEYS.values(), f"{key}: not a key the program reads"
    document = stack_document_with_esc(stack)
    config = parse_config(raw_stack_config(_engine_config(document["config"]), stack))
    routed = {severity: [s.endpoint for s in entries] for severity, entries in config.alerts.subscriptions.items()}
    expected = evaluate(values, values["pulumiConfig"])[f"{PROJECT}:alerts"]["subscriptions"]
    assert routed == {severity: [s["endpoint"] for s in entries] for severity, entries in expected.items()}
    # As an encrypted value (what the offline loader sees of a stack file secret) it passes too.
    parse_config(raw_stack_config(_engine_config(stack_document_with_esc(stack, secret="[secret]")["config"]), stack))


def test_a_bad_key_in_the_environment_is_refused_by_name():
    document = stack_document_with_esc("dev")
    document["config"][f"{PROJECT}:alerts"] = copy.deepcopy(document["config"][f"{PROJECT}:alerts"])
    document["config"][f"{PROJECT}:alerts"]["subscriptions"]["loud"] = []
    with pytest.raises(ValueError, match=rf"{PROJECT}:alerts\.subscriptions\.loud"):
        parse_config(raw_stack_config(_engine_config(document["config"]), "dev"))


def test_the_stack_file_loader_ignores_the_environment_import(tmp_path: Path):
    for stack in STACKS:
        document = yaml.safe_load(stack_file(stack).read_text(encoding="utf-8"))
        path = tmp_path / f"Pulumi.{stack}.yaml"
        path.write_text(yaml.safe_dump({"environment": [f"{PROJECT}/{stack}"], **document}))
        assert load_stack_file(path) == load_stack_file(stack_file(stack))


def test_the_stack_previews_with_the_environment_imported():
    result = preview_document("dev", stack_document_with_esc("dev"))
    assert not result.mandatory_findings
    values = definition("dev")["values"]
    subscriptions = {(s["inputs"]["protocol"], s["inputs"]["endpoint"])
                     for s in of_type(result.plan, "aws:sns/topicSubscription:TopicSubscription")}
    # The plan masks https endpoints (an integration key is in the URL); emails stay readable.
    assert subscriptions == {("https", "[secret]"), ("email", evaluate(values, "${alerts.oncall}"))}
