"""Shared fixtures: stack contexts as the stacks build them, for component tests. Also how the
suite shares out between pytest-xdist workers (``make test`` runs it with ``-n auto --dist loadfile``)."""

from __future__ import annotations

import os

import pytest

from mlops_blueprint.context import StackContext
from mlops_blueprint.gc_tuning import collect_less_often, freeze_what_is_loaded
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


# -- pytest-xdist --------------------------------------------------------------------------------

# The longest modules (mostly one module-scoped sandbox, server pair or checkov run), longest first:
# started first, they run beside the many short modules instead of being left for last on one worker.
LONGEST_FIRST = (
    "tests/pipelines/test_sandbox_lifecycle.py",
    "tests/check/test_check.py",
    "tests/test_mlflow_local.py",
    "tests/pipelines/test_sandbox_processes.py",
    "tests/pipelines/test_registry_ownership.py",
    "tests/pipelines/test_leftovers.py",
    "tests/test_config_properties.py",
)
# Long modules without module- or session-scoped fixtures: each test is a unit of its own, handed out
# last, so that both workers finish together.
SPLIT_BY_TEST = (
    "tests/test_resource_types.py",
    "tests/test_system_endpoint_updates.py",
)


def _module(nodeid: str) -> str:
    return nodeid.split("::")[0]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``--dist loadfile``, as ``make test`` runs it, with the modules of SPLIT_BY_TEST split by test.
    A module is one unit of work, so that its module-scoped fixtures (a sandbox, a moto server)
    start once, on one worker. (xdist_group marks cannot express this: xdist 3.8 does not apply them
    under pytest 9.2, pytest-dev/pytest-xdist#1386.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return nodeid if _module(nodeid) in SPLIT_BY_TEST else _module(nodeid)

    return ModuleScheduling(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On xdist's workers: the longest modules first, the tests of SPLIT_BY_TEST last. The units of
    work are handed out in collection order (``make test`` passes ``--no-loadscope-reorder``)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return

    def rank(item: pytest.Item) -> int:
        module = _module(item.nodeid)
        if module in LONGEST_FIRST:
            return LONGEST_FIRST.index(module)
        return len(LONGEST_FIRST) + (module in SPLIT_BY_TEST)

    items.sort(key=rank)  # stable: each module keeps its own order, every worker the same one


@pytest.fixture(scope="session", autouse=True)
def _previews_shared_between_workers(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Each stack variant of support.stacks is previewed once per run, whichever worker asks first.
    The folder is the run's temporary root, which every worker of the run has in common."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        from support import stacks

        stacks.SHARED_DIR = tmp_path_factory.getbasetemp().parent / "stack-previews"


# -- garbage collection --------------------------------------------------------------------------

def pytest_collection_finish(session: pytest.Session) -> None:
    """Every module the suite imports lives for the whole run: frozen after collection, the collector
    leaves them alone, and it runs less often (mlops_blueprint.gc_tuning says why)."""
    freeze_what_is_loaded()
    collect_less_often()


@pytest.hookimpl(tryfirst=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """What the tests left behind is freed with the process: freezing it spares pytest's last
    collections (it collects repeatedly at exit, looking for errors in finalizers) a walk over it."""
    freeze_what_is_loaded()
