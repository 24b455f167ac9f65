"""Running one component in a test: its args from one set of keywords (settings and wiring), and
its public attributes as stack outputs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import pulumi
from pydantic import BaseModel

from mlops_blueprint.context import StackContext
from mlops_blueprint.mock_runtime import MockRun, run_program

S = TypeVar("S", bound=BaseModel)


def split_settings(settings_type: type[S], values: Mapping[str, Any]) -> tuple[S, dict[str, Any]]:
    """``values`` as the settings of ``settings_type`` (the keys that are its fields, validated now)
    and the rest, the component's wiring."""
    fields = settings_type.model_fields
    settings = settings_type(**{key: value for key, value in values.items() if key in fields})
    return settings, {key: value for key, value in values.items() if key not in fields}


def args_with_settings(args_type: Callable[..., Any], settings_type: type[BaseModel], **values: Any) -> Any:
    """``args_type(settings=..., **wiring)`` from keywords of both kinds (see :func:`split_settings`)."""
    settings, wiring = split_settings(settings_type, values)
    return args_type(settings=settings, **wiring)


def run_component(ctx: StackContext, make: Callable[[], Any], outputs: Mapping[str, str]) -> MockRun:
    """Run ``make()`` under mocks in ``ctx``'s stack and export its attributes (output -> attribute)."""

    def program() -> None:
        component = make()
        for output, attribute in outputs.items():
            pulumi.export(output, getattr(component, attribute))

    return run_program(program, stack=ctx.environment, project="mlops-platform", region=ctx.region)


def ancestors(run: MockRun, urn: str) -> list[str]:
    """The URNs of the parents of ``urn``, nearest first, up to the stack."""
    chain: list[str] = []
    parent = run.by_urn(urn).parent
    while parent is not None:
        chain.append(parent)
        parent = run.by_urn(parent).parent
    return chain
