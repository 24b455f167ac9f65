"""Walking a plan: its custom resources and the values inside their inputs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

UNKNOWN = "[unknown]"  # how the mock runtime records a value only known after apply


def custom_resources(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Resources a provider creates (components, the stack and provider refs left out)."""
    for resource in plan["resources"]:
        if resource.get("custom") and not resource["type"].startswith("pulumi:"):
            yield resource


def is_known(value: Any) -> bool:
    return isinstance(value, str) and UNKNOWN not in value


def policy_documents(resource: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every IAM policy document in a resource's inputs, with where it is (``policy``,
    ``inlinePolicies[0].policy``, ``assumeRolePolicy``...): JSON strings or objects holding ``Statement``."""
    yield from _documents(resource.get("inputs", {}), "")


def _documents(value: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(value, str) and value.lstrip().startswith("{") and "Statement" in value:
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return
    if isinstance(value, dict):
        if "Statement" in value:
            yield path or "(inputs)", value
            return
        for key, child in value.items():
            yield from _documents(child, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _documents(child, f"{path}[{i}]")


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = document.get("Statement", [])
    return [found] if isinstance(found, dict) else [s for s in found if isinstance(s, dict)]


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
