"""The README's generated sections match the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from mlops_blueprint.config import AWS_KEYS, PlatformConfig
from mlops_blueprint.docs import SECTIONS

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_readme_generated_section_is_current(name):
    section = re.search(rf"<!-- {name}:start -->\n(.*?)\n<!-- {name}:end -->", README, re.S)
    assert section, f"README lost its {name} markers"
    assert section.group(1) == SECTIONS[name](), "run `make docs` and commit the README"


def test_readme_documents_every_top_level_config_key():
    for name, field in PlatformConfig.model_fields.items():
        key = field.alias or name
        key = AWS_KEYS.get(key, key)  # region and the allowed accounts live under aws:
        if key != "aws:region":
            assert f"`{key}`" in README, key


def test_pulumi_yaml_declares_the_required_keys_with_types():
    declared = yaml.safe_load((REPO / "Pulumi.yaml").read_text())["config"]
    required = {f.alias or n for n, f in PlatformConfig.model_fields.items() if f.is_required()} - {"region"}
    assert set(declared) == required
    assert all(spec["type"] == "string" and spec["description"] for spec in declared.values())


def test_readme_quick_start_is_the_two_make_targets_and_ci_runs_the_test_one():
    assert "make preview" in README and "make test" in README
    ci = (REPO / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M)


def test_readme_component_example_runs_and_is_secure():
    """The 'own program' snippet is run as written, under the same harness as the stacks."""
    from mlops_blueprint.mock_runtime import run_program
    from mlops_blueprint.plan import build_plan
    from mlops_blueprint.policies.engine import evaluate_plan

    section = README.split("## Using the components in your own program", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    run = run_program(lambda: exec(compile(code, "README.md", "exec"), {}), stack="dev", project="my-ml")
    assert run.outputs["modelsBucket"] == "my-ml-dev-models-123456789012-eu-west-1"
    assert len(run.of_type("aws:s3/bucket:Bucket")) == 3
    assert [f for f in evaluate_plan(build_plan(run)) if f["enforcement"] == "mandatory"] == []




def test_readme_components_table_names_every_component_type():
    tokens_in_code = set(re.findall(r'"(mlops:[a-z]+:[A-Za-z]+)"', "\n".join(
        p.read_text() for p in (REPO / "components").rglob("*.py"))))  # monitoring is a package
    tokens_in_readme = set(re.findall(r"`(mlops:[a-z]+:[A-Za-z]+)`", README.split("## What a stack contains")[1].split("###")[0]))
    assert tokens_in_readme == tokens_in_code - {"mlops:storage:SecureBucket"}
