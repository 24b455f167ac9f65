"""Shared fixtures: stack contexts as the stacks build them, for component tests."""

from __future__ import annotations

import pytest

from mlops_blueprint.context import StackContext
from mlops_blueprint.mock_runtime import MOCK_ACCOUNT_ID
from mlops_blueprint.naming import Naming
from mlops_blueprint.tags import Tagging


def make_context(environment: str = "dev", region: str = "us-east-1") -> StackContext:
    return StackContext(
        naming=Naming(project="mlops-platform", environment=environment, account_id=MOCK_ACCOUNT_ID, region=region),
        tagging=Tagging(project="mlops-platform", environment=environment, owner="ml-platform",
                        cost_center="cc-1234", data_classification="confidential"),
    )


@pytest.fixture
def dev_context() -> StackContext:
    return make_context("dev")


@pytest.fixture
def prod_context() -> StackContext:
    return make_context("prod")


@pytest.fixture
def context_for():
    """``context_for("staging", region="eu-west-1")`` for tests that need other environments."""
    return make_context
