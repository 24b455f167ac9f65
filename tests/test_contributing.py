"""What CONTRIBUTING.md's checklist for adding a component promises, checked: exports, settings next
to the component, no component importing the stack config, every config section a component's
settings (or a stated stack-level one), a test module per component, and a checklist that names
only tests that exist."""

from __future__ import annotations

import ast
import dataclasses
import functools
import importlib
import inspect
import pkgutil
import re
from pathlib import Path
from types import ModuleType

import pulumi
import pytest
from pydantic import BaseModel

import mlops_blueprint.components as components
from mlops_blueprint.config import PlatformConfig
from mlops_blueprint.resource_types import taggable_types
from support.stacks import VARIANTS, plan_for

REPO = Path(__file__).resolve().parents[1]
COMPONENTS = REPO / "components"
CONTRIBUTING = REPO / "CONTRIBUTING.md"

# PlatformConfig sections that belong to the stack, not to one component, and why.
STACK_LEVEL_SECTIONS = {
    "kubernetes": "the existing cluster: tracking and serving both run on it, and stack-level checks "
                  "(the cluster must be in the stack's VPC) read it with the network section",
    "models": "the models to serve: read by serving, monitoring, retraining and the stack outputs, one "
              "entry per model rather than one component's arguments",
}
# Components whose args take another component's settings, and why.
SHARED_SETTINGS = {
    "DriftJobs": ("MonitoringSettings", "the drift jobs are part of monitoring; the monitoring section configures them"),
}
# Components tested through the components that build them, and the test modules that do.
TESTED_THROUGH = {
    "s3_bucket": ("test_artifact_store.py", "test_audit_trail.py"),  # SecureBucket: every bucket of the stack
    "observability": ("test_monitoring_observability.py",),  # Prometheus/Grafana, beside the monitoring tests
}


def _modules() -> list[ModuleType]:
    return [importlib.import_module(info.name)
            for info in pkgutil.walk_packages(components.__path__, prefix=f"{components.__name__}.")]


@functools.cache
def component_classes() -> frozenset[type]:
    """Every ComponentResource defined in the package (public: no leading underscore)."""
    return frozenset(value for module in _modules() for _, value in inspect.getmembers(module, inspect.isclass)
            if issubclass(value, pulumi.ComponentResource) and value is not pulumi.ComponentResource
            and value.__module__ == module.__name__ and not value.__name__.startswith("_"))


def home(cls: type) -> str:
    """The module (``kms``) or package (``monitoring``) a component lives in, under components/."""
    return cls.__module__.removeprefix(f"{components.__name__}.").split(".")[0]


def settings_field(args: type) -> dataclasses.Field | None:
    return {f.name: f for f in dataclasses.fields(args)}.get("settings")


def test_every_component_and_its_args_are_exported() -> None:
    classes = component_classes()
    assert len(classes) >= 17  # the stack's components; a new one must be exported too
    for cls in classes:
        assert getattr(components, cls.__name__, None) is cls, f"{cls.__name__} is not exported"
        assert cls.__name__ in components.__all__
        args = f"{cls.__name__}Args"
        assert args in components.__all__, f"{args} is not exported"
        assert getattr(components, args).__module__.startswith(components.__name__)
        assert dataclasses.is_dataclass(getattr(components, args)), f"{args} is not a (typed) dataclass"


@pytest.mark.parametrize("cls", sorted(component_classes(), key=lambda c: c.__name__), ids=lambda c: c.__name__)
def test_settings_sit_next_to_their_component_and_are_its_args_settings(cls: type) -> None:
    args = getattr(components, f"{cls.__name__}Args")
    field = settings_field(args)
    if field is None:
        return  # no user settings (a building block such as SecureBucket)
    expected, _ = SHARED_SETTINGS.get(cls.__name__, (f"{cls.__name__}Settings", ""))
    settings = getattr(components, expected, None)
    assert settings is not None and expected in components.__all__, f"{expected} is not exported"
    assert str(field.type) == expected, f"{args.__name__}.settings is {field.type}, expected {expected}"
    assert issubclass(settings, BaseModel)
    if cls.__name__ not in SHARED_SETTINGS:
        assert field.default_factory is settings, f"{args.__name__}.settings: field(default_factory={expected})"
        package = cls.__module__.rsplit(".", 1)[0]
        beside = {f"{cls.__module__}_settings", f"{package}.settings"}
        assert settings.__module__ in beside, f"{expected} is in {settings.__module__}, not next to {cls.__module__}"


def test_shared_settings_are_still_shared() -> None:
    for name, (settings, _) in SHARED_SETTINGS.items():
        assert str(settings_field(getattr(components, f"{name}Args")).type) == settings, name


def _config_imports(path: Path) -> set[str]:
    """The config modules ``path`` imports (anywhere, TYPE_CHECKING and function bodies included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        if isinstance(node, ast.ImportFrom) and node.module == "mlops_blueprint":
            names = [f"mlops_blueprint.{a.name}" for a in node.names]
        found |= {n for n in names if n == "mlops_blueprint.config" or re.fullmatch(r"mlops_blueprint\.\w+_config", n)}
    return found


def test_components_and_settings_never_import_the_stack_config() -> None:
    """The dependency points one way: infra/config.py composes the components' settings."""
    offenders = {str(p.relative_to(REPO)): sorted(_config_imports(p)) for p in sorted(COMPONENTS.rglob("*.py"))}
    offenders = {path: found for path, found in offenders.items() if found}
    assert offenders == {}


def test_the_import_scan_sees_every_form_of_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import mlops_blueprint.config\nfrom mlops_blueprint import serving_config\n"
                      "def f():\n    from mlops_blueprint.tracking_config import x\n"
                      "from mlops_blueprint.config_base import Section\n")
    assert _config_imports(module) == {"mlops_blueprint.config", "mlops_blueprint.serving_config",
                                       "mlops_blueprint.tracking_config"}


def _sections() -> dict[str, type]:
    """PlatformConfig field -> the model it holds (sections only; scalars are stack-wide values)."""
    found = {}
    for name, info in PlatformConfig.model_fields.items():
        for kind in (info.annotation, *getattr(info.annotation, "__args__", ())):
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                found[name] = kind
    return found


def test_every_config_section_is_a_components_settings_or_stated_stack_level() -> None:
    sections = _sections()
    assert set(STACK_LEVEL_SECTIONS) <= set(sections)  # no stale exception
    for name, model in sections.items():
        if name in STACK_LEVEL_SECTIONS:
            continue
        assert model.__module__.startswith(f"{components.__name__}."), f"{name}: {model.__name__} is not a component's"
        assert model.__name__.endswith("Settings") and model.__name__ in components.__all__, name


def test_the_stack_wires_every_component_section() -> None:
    """stacks/platform.py passes each component section to its component (``config.<section>``)."""
    source = (REPO / "stacks" / "platform.py").read_text()
    unwired = [name for name in _sections() if name not in STACK_LEVEL_SECTIONS
               and not re.search(rf"\bconfig\.{name}\b", source)]
    assert unwired == []


@pytest.mark.parametrize("module", sorted({home(c) for c in component_classes()}))
def test_each_component_has_a_test_module(module: str) -> None:
    tests = REPO / "tests" / "components"
    own = [p.name for p in tests.glob(f"test_{module}*.py") if re.fullmatch(rf"test_{module}(_\w+)?\.py", p.name)]
    through = [name for name in TESTED_THROUGH.get(module, ()) if (tests / name).exists()]
    assert own or through, f"no tests/components/test_{module}.py"


# -- the house style, in every stack variant -------------------------------------------------------


def _inside_a_component(plan: dict, resource: dict) -> bool:
    by_urn = {r["urn"]: r for r in plan["resources"]}
    parent = resource["parent"]
    while parent:
        if by_urn[parent]["type"].startswith("mlops:"):
            return True
        parent = by_urn[parent]["parent"]
    return False


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_resource_is_a_components_child_and_carries_its_component_tag(variant: str) -> None:
    """Children are parented (opts=ResourceOptions(parent=self)) and tagged with
    ``ctx.tagging.resource(COMPONENT, name)``; the stack-wide tags come from the provider."""
    plan = plan_for(variant)
    resources = [r for r in plan["resources"] if r.get("custom") and not r["type"].startswith("pulumi:")]
    assert resources
    assert [r["name"] for r in resources if not _inside_a_component(plan, r)] == []
    untagged = [r["name"] for r in resources
                if r["type"] in taggable_types() and "component" not in (r["inputs"].get("tags") or {})]
    assert untagged == []


def test_the_parent_check_sees_a_resource_left_at_the_stack() -> None:
    stack = {"urn": "s", "type": "pulumi:pulumi:Stack", "parent": None}
    component = {"urn": "c", "type": "mlops:ml:FeatureStore", "parent": "s"}
    plan = {"resources": [stack, component]}
    assert _inside_a_component(plan, {"parent": "c"}) and not _inside_a_component(plan, {"parent": "s"})


# -- CONTRIBUTING.md ----------------------------------------------------------------------------------

TEST_REFERENCE = re.compile(r"`(tests/[\w/]+\.py)(?:::(\w+))?`")


def checklist() -> list[str]:
    """The numbered items of CONTRIBUTING.md's checklist, each as one line of text."""
    text = CONTRIBUTING.read_text()
    section = text.split("## Adding a component", 1)[1].split("\n## ", 1)[0]
    items = re.split(r"\n(?=\d+\. )", "\n" + section)
    return [" ".join(item.split()) for item in items if re.match(r"\d+\. ", item)]


def _defines(path: Path, name: str) -> bool:
    return any(isinstance(n, ast.FunctionDef) and n.name == name for n in ast.walk(ast.parse(path.read_text())))


def checklist_problems(items: list[str]) -> list[str]:
    """Items that name no test, and tests named that do not exist."""
    problems = []
    for item in items:
        references = TEST_REFERENCE.findall(item)
        if not references:
            problems.append(f"names no test: {item[:70]}")
        for path, name in references:
            if not (REPO / path).exists():
                problems.append(f"{path} does not exist")
            elif name and not _defines(REPO / path, name):
                problems.append(f"{path} has no {name}")
    return problems


def test_every_checklist_item_names_a_test_that_exists() -> None:
    items = checklist()
    assert len(items) >= 8
    assert checklist_problems(items) == []


def test_the_checklist_check_catches_an_item_without_a_test_and_a_missing_test(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "CONTRIBUTING.md"
    fake.write_text("# x\n\n## Adding a component\n\n1. Do a thing,\n   `tests/test_contributing.py::no_such_test`\n"
                    "2. Another (no test).\n3. A file: `tests/no_such_file.py`\n\n## Next\n\n4. Not an item. `tests/x.py`\n")
    monkeypatch.setitem(globals(), "CONTRIBUTING", fake)
    items = checklist()
    assert len(items) == 3 and items[0] == "1. Do a thing, `tests/test_contributing.py::no_such_test`"
    assert checklist_problems(items) == ["tests/test_contributing.py has no no_such_test",
                                         "names no test: 2. Another (no test).",
                                         "tests/no_such_file.py does not exist"]
