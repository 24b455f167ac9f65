"""The installed package ships no test helper."""

from __future__ import annotations

# Every public component, its args and its settings are exported: tests/test_contributing.py
# (test_every_component_and_its_args_are_exported and the settings checks beside it).


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
