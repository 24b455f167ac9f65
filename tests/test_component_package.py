"""The `mlops` component package: its schema is derived from the components' typed args, lists
every public component with its inputs (required ones marked) and outputs, is a valid Pulumi schema,
and is what the plugin serves; the Pulumi YAML example uses only what the schema has, and previews.

Everything runs offline: the schema comes from the SDK's analyzer, called directly.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from functools import cache
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
import yaml
from pulumi.errors import InputPropertyError
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.experimental.util import camel_case

from mlops_blueprint import package
from mlops_blueprint.mock_runtime import MOCK_ACCOUNT_ID, run_program
from mlops_blueprint.plan import build_plan
from mlops_blueprint.policies.engine import evaluate_plan

REPO = Path(__file__).resolve().parents[1]
PROVIDER_DIR = REPO / "provider"
YAML_EXAMPLE = REPO / "examples" / "yaml-program" / "Pulumi.yaml"
TOKEN = re.compile(r"^mlops:index:[A-Z][A-Za-z0-9]*$")
PROPERTY = re.compile(r"^[a-z][A-Za-z0-9]*$")
PRIMITIVES = {"string", "integer", "number", "boolean", "array", "object"}
INTERPOLATION = re.compile(r"^\$\{([^}]+)\}$")


@cache
def schema() -> dict[str, Any]:
    return package.schema()


def resource(component: type) -> dict[str, Any]:
    return schema()["resources"][f"mlops:index:{component.__name__}"]


def wireable_fields(args: type) -> list[dataclasses.Field]:
    omitted = {field for owner, field in package.omitted_fields() if owner == args.__qualname__}
    return [f for f in dataclasses.fields(args) if f.init and f.name not in omitted]


# -- what the schema lists ----------------------------------------------------------------------


def test_every_public_component_is_a_resource_of_the_package_and_nothing_else_is():
    import mlops_blueprint.components as components

    public = {n for n in components.__all__ if inspect.isclass(getattr(components, n))
              and issubclass(getattr(components, n), pulumi.ComponentResource)}
    assert len(public) >= 10
    assert set(schema()["resources"]) == {f"mlops:index:{n}" for n in public}
    assert all(r["isComponent"] is True for r in schema()["resources"].values())
    assert schema()["name"] == package.PACKAGE


@pytest.mark.parametrize("component", package.public_components(), ids=lambda c: c.__name__)
def test_inputs_are_the_args_fields_with_the_required_ones_marked(component):
    args = package.args_type(component)
    fields = wireable_fields(args)
    spec = resource(component)
    assert set(spec["inputProperties"]) == {camel_case(f.name) for f in fields}
    required = {camel_case(f.name) for f in fields
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    assert set(spec["requiredInputs"]) == required
    # Only Python-only values (callables, resource objects) with a default may be left out.
    left_out = [f for f in dataclasses.fields(args) if f.init and f not in fields]
    assert all(f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
               for f in left_out), left_out


@pytest.mark.parametrize("component", package.public_components(), ids=lambda c: c.__name__)
def test_outputs_are_the_components_output_attributes(component):
    spec = resource(component)
    assert spec["properties"], f"{component.__name__} exposes no outputs"
    hints = inspect.get_annotations(component)
    outputs = {camel_case(name) for name, hint in hints.items()
               if not name.startswith("_") and "Output[" in str(hint) and "Resource" not in str(hint)}
    assert outputs <= set(spec["properties"]), outputs - set(spec["properties"])


def test_the_stack_context_is_the_naming_and_tagging_inputs_without_account_or_partition():
    context = schema()["types"]["mlops:index:StackContext"]
    assert {"project", "environment", "region", "owner", "costCenter", "dataClassification"} <= set(context["required"])
    assert not {"accountId", "partition", "naming", "tagging"} & set(context["properties"])


def test_nested_settings_and_choices_become_object_types_and_enums():
    types = schema()["types"]
    endpoint = resource(next(c for c in package.public_components() if c.__name__ == "ServingEndpoint"))
    model = endpoint["inputProperties"]["model"]["$ref"].removeprefix("#/types/")
    assert types[model]["type"] == "object" and "name" in types[model]["required"]
    # ``int | Literal["latest-approved"]``: either may be sent, the settings model checks which.
    assert types[model]["properties"]["modelPackageVersion"]["$ref"] == "pulumi.json#/Any"
    # The pydantic settings are an object type with the models' camelCase keys; Literal choices are enums.
    trail = resource(next(c for c in package.public_components() if c.__name__ == "AuditTrail"))
    settings = types[trail["inputProperties"]["settings"]["$ref"].removeprefix("#/types/")]
    assert {"objectLock", "logRetentionDays"} <= set(settings["properties"])
    assert "settings" not in trail["requiredInputs"]  # every setting has a default
    choice = types[settings["properties"]["trail"]["$ref"].removeprefix("#/types/")]
    assert {v["value"] for v in choice["enum"]} == {"create", "existing", "none"}


def test_property_descriptions_are_the_settings_field_descriptions():
    from mlops_blueprint.components.tracking_server_settings import TrackingServerSettings

    settings = schema()["types"]["mlops:index:TrackingServerSettings"]["properties"]
    described = {camel_case(n): f.description for n, f in TrackingServerSettings.model_fields.items() if f.description}
    assert described and {n: settings[n].get("description") for n in described} == described


# -- a valid schema -------------------------------------------------------------------------------


def _properties(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []

    def walk(where: str, prop: dict[str, Any]) -> None:
        found.append((where, prop))
        for nested in ("items", "additionalProperties"):
            if nested in prop:
                walk(f"{where}.{nested}", prop[nested])

    for token, res in spec["resources"].items():
        for group in ("inputProperties", "properties"):
            for name, prop in res[group].items():
                walk(f"{token}.{name}", prop)
    for token, typ in spec["types"].items():
        for name, prop in (typ.get("properties") or {}).items():
            walk(f"{token}.{name}", prop)
    return found


def test_names_types_and_references_are_valid_schema():
    spec = schema()
    assert re.match(r"^[a-z][a-z0-9-]*$", spec["name"]) and spec["version"]
    for token in [*spec["resources"], *spec["types"]]:
        assert TOKEN.match(token), token
    for token, res in spec["resources"].items():
        assert all(PROPERTY.match(n) for n in [*res["inputProperties"], *res["properties"]]), token
        assert set(res["requiredInputs"]) <= set(res["inputProperties"]), token
        assert set(res["required"]) <= set(res["properties"]), token
    for token, typ in spec["types"].items():
        if typ.get("enum"):
            assert typ["type"] == "string" and all(v["value"] for v in typ["enum"]), token
            assert len({v["name"] for v in typ["enum"]}) == len(typ["enum"]), token
        else:
            assert typ["type"] == "object" and typ["properties"], token
            assert set(typ.get("required") or ()) <= set(typ["properties"]), token
            assert all(PROPERTY.match(n) for n in typ["properties"]), token
    referenced = set()
    for where, prop in _properties(spec):
        if "$ref" in prop:
            ref = prop["$ref"]
            assert ref == "pulumi.json#/Any" or ref.removeprefix("#/types/") in spec["types"], (where, ref)
            referenced.add(ref.removeprefix("#/types/"))
        else:
            assert prop.get("type") in PRIMITIVES, where
            assert prop["type"] != "array" or "items" in prop, where
    assert set(spec["types"]) <= referenced, "a type nothing uses"


def test_the_plugin_serves_exactly_this_schema():
    import json

    manifest = yaml.safe_load((PROVIDER_DIR / "PulumiPlugin.yaml").read_text())
    assert manifest["runtime"]["name"] == "python"
    entry = (PROVIDER_DIR / "__main__.py").read_text()
    assert "from mlops_blueprint.package import serve" in entry
    assert json.loads(provider().schema) == schema()


@dataclasses.dataclass(frozen=True)
class HookArgs:
    on_create: Any
    callback: type[pulumi.Resource]


class Hook(pulumi.ComponentResource):
    def __init__(self, name: str, args: HookArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("test:index:Hook", name, None, opts)


def test_a_required_field_that_cannot_cross_the_wire_is_refused_with_its_name():
    with pytest.raises(package.NotWireable, match="HookArgs.callback is required"):
        package._Deriver().component(Hook)


# -- construction, as the plugin does it --------------------------------------------------------


@cache
def provider() -> ComponentProvider:
    return ComponentProvider(list(package.wire_components()), package.PACKAGE, version=package.version())


def construct(token: str, name: str, inputs: dict[str, Any],
              opts: pulumi.ResourceOptions | None = None) -> pulumi.ComponentResource:
    """What the plugin's construct does: map schema names to Python names, build the component."""
    component_name = token.rsplit(":", 1)[-1]
    definition = provider()._component_defs[component_name]
    mapped = provider().map_inputs(inputs, definition)
    return provider()._components[component_name](name, mapped, opts)


CONTEXT = {"project": "yaml-program", "environment": "dev", "region": "us-east-1", "owner": "ml-platform",
           "costCenter": "ml-rnd", "dataClassification": "confidential"}


def test_a_missing_required_input_is_refused_with_its_name():
    with pytest.raises(InputPropertyError, match="kmsKeyArn"):
        run_program(lambda: construct("mlops:index:ArtifactStore", "artifacts", {"context": CONTEXT}),
                    stack="dev", project="yaml-program")


def test_a_bad_setting_is_refused_with_its_key_before_anything_is_created():
    run = run_program(lambda: construct("mlops:index:Kms", "kms", {"context": CONTEXT, "settings": {"deletionWindowDays": 3}}),
                      stack="dev", project="yaml-program", capture_errors=True)
    assert run.error is not None and "deletionWindowDays" in str(run.error)
    assert [r for r in run.registrations if r.custom and not r.type.startswith("pulumi:")] == []


def test_a_wire_component_builds_the_python_component_as_its_child():
    def program() -> None:
        kms = construct("mlops:index:Kms", "kms", {"context": CONTEXT, "settings": {"deletionWindowDays": 7}})
        pulumi.export("dataKeyArn", kms.data_key_arn)

    run = run_program(program, stack="dev", project="yaml-program")
    wire = run.named("mlops:index:Kms", "kms")
    python = run.named("mlops:security:Kms", "kms")
    assert python.parent == wire.urn
    key = run.named("aws:kms/key:Key", "kms-data")
    assert key.parent == python.urn and key.inputs["deletionWindowInDays"] == 7
    # The account comes from the credentials (the mocks' caller identity), not from the program.
    assert MOCK_ACCOUNT_ID in key.inputs["policy"]
    assert run.outputs["dataKeyArn"] == key.outputs["arn"]


def test_nested_settings_cross_the_wire_into_the_pydantic_models():
    bucket = f"yaml-program-dev-models-{MOCK_ACCOUNT_ID}-us-east-1"
    model = {"name": "churn", "image": "inference:1.4.2", "modelDataUrl": f"s3://{bucket}/churn/1.4.2/model.tar.gz",
             "variants": [{"name": "champion", "weight": 0.9},
                          {"name": "challenger", "weight": 0.1, "image": "inference:1.5.0",
                           "modelDataUrl": f"s3://{bucket}/churn/1.5.0/model.tar.gz"}]}

    def program() -> None:
        endpoint = construct("mlops:index:ServingEndpoint", "churn", {
            "context": CONTEXT, "model": model, "modelsBucketName": bucket,
            "settings": {"instanceType": "ml.m5.large", "dataCapturePercent": 50,
                         "deployment": {"strategy": "all-at-once"}},
            "executionRoleArn": f"arn:aws:iam::{MOCK_ACCOUNT_ID}:role/serving",
            "subnetIds": ["subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"],
            "securityGroupIds": ["sg-0a1b2c3d4e5f60718"],
            "kmsKeyArn": f"arn:aws:kms:us-east-1:{MOCK_ACCOUNT_ID}:key/data",
        })
        pulumi.export("variantNames", endpoint.variant_names)

    run = run_program(program, stack="dev", project="yaml-program")
    (config,) = run.of_type("aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    variants = [(v["variantName"], v["initialVariantWeight"], v["instanceType"])
                for v in config.inputs["productionVariants"]]
    assert variants == [("champion", 0.9, "ml.m5.large"), ("challenger", 0.1, "ml.m5.large")]
    assert config.inputs["dataCaptureConfig"]["initialSamplingPercentage"] == 50
    assert run.outputs["variantNames"] == ["champion", "challenger"]


# -- the Pulumi YAML example ----------------------------------------------------------------------


def yaml_program() -> dict[str, Any]:
    return yaml.safe_load(YAML_EXAMPLE.read_text(encoding="utf-8"))


def _references(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [r for v in value.values() for r in _references(v)]
    if isinstance(value, list):
        return [r for v in value for r in _references(v)]
    match = INTERPOLATION.match(value) if isinstance(value, str) else None
    return [match.group(1)] if match else []


def test_yaml_example_uses_only_types_inputs_and_outputs_of_the_schema():
    program = yaml_program()
    assert program["runtime"] == "yaml" and program["packages"]["mlops"] == "../../provider"
    assert (YAML_EXAMPLE.parent / program["packages"]["mlops"] / "PulumiPlugin.yaml").is_file()
    resources = program["resources"]
    components = {name: res for name, res in resources.items() if res["type"].startswith("mlops:")}
    assert len(components) >= 3
    for name, res in components.items():
        spec = schema()["resources"].get(res["type"])
        assert spec, f"{name}: {res['type']} is not in the schema"
        assert set(res["properties"]) <= set(spec["inputProperties"]), (name, set(res["properties"]) - set(spec["inputProperties"]))
        assert set(spec["requiredInputs"]) <= set(res["properties"]), (name, set(spec["requiredInputs"]) - set(res["properties"]))
    context = schema()["types"]["mlops:index:StackContext"]
    assert set(program["variables"]["context"]) <= set(context["properties"])
    assert set(context["required"]) <= set(program["variables"]["context"])
    for ref in _references([r["properties"] for r in resources.values()]) + _references(program["outputs"]):
        head, _, attribute = ref.partition(".")
        if head in components:
            assert attribute in schema()["resources"][components[head]["type"]]["properties"], ref
        elif head in program["variables"]:
            assert not attribute or attribute in program["variables"][head], ref
        else:
            assert head in program["config"] or head == "pulumi", ref


def _run_yaml(program: dict[str, Any], stack: str) -> None:
    """Evaluate the YAML program's whole-value interpolations and construct its resources in
    dependency order, as the YAML runtime and the plugin would (an ``aws`` provider included)."""
    stack_file = YAML_EXAMPLE.parent / f"Pulumi.{stack}.yaml"
    overrides = yaml.safe_load(stack_file.read_text())["config"] if stack_file.is_file() else {}
    config = {k: overrides.get(f"{program['name']}:{k}", v["default"]) for k, v in program.get("config", {}).items()}
    built: dict[str, pulumi.Resource] = {}
    variables: dict[str, Any] = {}

    def resolve(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        match = INTERPOLATION.match(value) if isinstance(value, str) else None
        if not match:
            return value
        head, _, attribute = match.group(1).partition(".")
        if head == "pulumi":
            return {"project": program["name"], "stack": stack}[attribute]
        if head in built and attribute:
            definition = provider()._component_defs[type(built[head]).__name__]
            return getattr(built[head], definition.outputs_mapping[attribute])
        if head in built:
            return built[head]
        if head in variables:
            return variables[head][attribute] if attribute else variables[head]
        return config[head]

    for name, value in program.get("variables", {}).items():
        variables[name] = resolve(value)
    pending = dict(program["resources"])
    while pending:
        ready = [n for n, r in pending.items()
                 if all(ref.split(".")[0] not in pending for ref in _references([r.get("properties"), r.get("options")]))]
        assert ready, f"a dependency cycle among {sorted(pending)}"
        for name in ready:
            res = pending.pop(name)
            properties = resolve(res.get("properties", {}))
            if res["type"] == "pulumi:providers:aws":
                built[name] = aws.Provider(name, **{re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower(): v for k, v in properties.items()})
                continue
            opts = pulumi.ResourceOptions(**resolve(res.get("options", {})))
            built[name] = construct(res["type"], name, properties, opts)
    for name, value in program.get("outputs", {}).items():
        pulumi.export(name, resolve(value))


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_yaml_example_previews_with_no_mandatory_policy_finding(stack):
    program = yaml_program()
    run = run_program(lambda: _run_yaml(program, stack), stack=stack, project=program["name"])
    assert run.error is None
    plan = build_plan(run)
    assert [f for f in evaluate_plan(plan) if f["enforcement"] == "mandatory"] == []
    assert set(plan["outputs"]) == set(program["outputs"])
    assert all(v not in (None, "") for v in plan["outputs"].values())
    wire = {r.urn: r.type for r in run.registrations if r.type.startswith("mlops:index:")}
    assert sorted(wire.values()) == sorted(r["type"] for r in program["resources"].values() if r["type"] in wire.values())
    python = {wire[r.parent]: r.type for r in run.registrations if r.parent in wire}
    assert python == {"mlops:index:Kms": "mlops:security:Kms", "mlops:index:ArtifactStore": "mlops:storage:ArtifactStore",
                      "mlops:index:PlatformRoles": "mlops:iam:PlatformRoles"}
    stateful = run.of_type("aws:s3/bucket:Bucket") + run.of_type("aws:kms/key:Key")
    assert stateful and all(r.protect is (stack == "prod") for r in stateful)
    (models,) = [r for r in run.of_type("aws:s3/bucket:Bucket") if r.name == "artifacts-models"]
    assert plan["outputs"]["modelsBucketName"] == models.inputs["bucket"]
