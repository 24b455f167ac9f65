"""The installed package: every public component exported, no test helper shipped."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pulumi

import mlops_blueprint.components as components


def _component_classes() -> set[type]:
    found: set[type] = set()
    for module_info in pkgutil.walk_packages(components.__path__, prefix=f"{components.__name__}."):
        module = importlib.import_module(module_info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if (issubclass(value, pulumi.ComponentResource) and value is not pulumi.ComponentResource
                    and value.__module__ == module.__name__ and not value.__name__.startswith("_")):
                found.add(value)
    return found


def test_every_component_and_its_args_are_exported():
    classes = _component_classes()
    assert len(classes) >= 16  # the stack's components; a new one must be exported too
    for cls in classes:
        assert getattr(components, cls.__name__, None) is cls, f"{cls.__name__} is not exported"
        assert cls.__name__ in components.__all__
        args = f"{cls.__name__}Args"
        assert args in components.__all__, f"{args} is not exported"
        assert getattr(components, args).__module__.startswith(components.__name__)


def test_no_test_helper_ships_in_the_package():
    """Test builders live in tests/support (on pytest's path), never in the installed package."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    shipped = [p for folder in ("infra", "components", "pipelines", "policies", "stacks")
               for p in (root / folder).rglob("*.py")]
    assert shipped
    # mlops_blueprint.testing is the public API for teams' own test suites: shipped on purpose,
    # and, like the rest of the package, it needs no test framework.
    public_testing_api = root / "infra" / "testing.py"
    offenders = [str(p.relative_to(root)) for p in shipped
                 if ("testing" in p.stem and p != public_testing_api) or "import pytest" in p.read_text()
                 or "unittest import mock" in p.read_text()]
    assert offenders == []
