"""Every public ComponentResource (and its args) is importable from ``mlops_blueprint.components``."""

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
