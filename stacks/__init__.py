"""Composition of the platform per environment; the stack files beside this module configure it."""

from mlops_blueprint.stacks.platform import build

__all__ = ["build"]
