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
