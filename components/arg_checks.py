"""Checks of component args shared by several components (each returns problem lines naming the arg)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi


def id_list_problems(args: Any, *names: str) -> list[str]:
    """Each named arg must be a non-empty list of ids, or one Output of a list (e.g. a shared
    network's subnet ids from a StackReference, known only when the program runs)."""
    problems = []
    for name in names:
        value = getattr(args, name)
        if isinstance(value, pulumi.Output):
            continue
        if isinstance(value, str) or not isinstance(value, Sequence) or not value:
            problems.append(f"{name}: expected a non-empty list of ids, got {value!r}")
    return problems


def type_problems(args: Any, **expected: type) -> list[str]:
    """Each named arg must be an instance of its type, e.g. ``context=StackContext, settings=KmsSettings``."""
    return [f"{name}: expected a {kind.__name__}, got {type(getattr(args, name)).__name__}"
            for name, kind in expected.items() if not isinstance(getattr(args, name), kind)]
