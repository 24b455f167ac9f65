"""The rule catalog: complete, well-formed, and naming only type tokens the SDKs really register."""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

from mlops_blueprint.policies.model import ANY_TYPE, Rule
from mlops_blueprint.policies.rules import ALL_RULES
from mlops_blueprint.policies.rules.s3 import (
    BUCKET_POLICY,
    ENCRYPTION,
    OWNERSHIP_CONTROLS,
    PUBLIC_ACCESS_BLOCK,
    VERSIONING,
)
from mlops_blueprint.policies.rules._helpers import S3_BUCKET_LOGGING
from mlops_blueprint.policies.rules.tags import TAGGABLE_TYPES

S3_SETTING_TYPES = (VERSIONING, ENCRYPTION, PUBLIC_ACCESS_BLOCK, BUCKET_POLICY, OWNERSHIP_CONTROLS, S3_BUCKET_LOGGING)


def sdk_class(token: str) -> type:
    """The SDK class for ``token``: ``aws:s3/bucket:Bucket`` -> ``pulumi_aws.s3.Bucket``,
    ``kubernetes:apps/v1:Deployment`` -> ``pulumi_kubernetes.apps.v1.Deployment``."""
    package, module, kind = token.split(":")
    if package == "aws":
        path = "pulumi_aws." + {"lambda": "lambda_"}.get(module.split("/")[0], module.split("/")[0])
    else:
        path = "pulumi_kubernetes." + module.replace("/", ".")
    return getattr(importlib.import_module(path), kind)


def all_rule_types() -> list[str]:
    return sorted({t for r in ALL_RULES for t in r.resource_types if r.resource_types != ANY_TYPE})


def test_at_least_24_rules_sorted_unique_and_described() -> None:
    names = [r.name for r in ALL_RULES]
    assert len(ALL_RULES) >= 24
    assert names == sorted(names) and len(set(names)) == len(names)
    for rule in ALL_RULES:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name)
        assert rule.enforcement in ("mandatory", "advisory")
        assert len(rule.description) > 20 and rule.description.endswith(".")


def test_rule_definition_is_validated() -> None:
    def check(resource, ctx):  # noqa: ANN001, ANN202
        return []

    with pytest.raises(ValueError, match="kebab-case"):
        Rule("S3_Rule", "d.", "mandatory", check=check, resource_types=("aws:s3/bucket:Bucket",))
    with pytest.raises(ValueError, match="exactly one"):
        Rule("r", "d.", "mandatory")
    with pytest.raises(ValueError, match="needs resource_types"):
        Rule("r", "d.", "mandatory", check=check)
    with pytest.raises(ValueError, match="enforcement"):
        Rule("r", "d.", "blocking", check=check, resource_types=ANY_TYPE)  # type: ignore[arg-type]


@pytest.mark.parametrize("token", sorted({*all_rule_types(), *TAGGABLE_TYPES, *S3_SETTING_TYPES}))
def test_type_token_is_registered_by_the_sdk(token: str) -> None:
    cls = sdk_class(token)
    assert f"'{token}'" in inspect.getsource(cls)


@pytest.mark.parametrize("token", sorted(TAGGABLE_TYPES))
def test_taggable_types_have_a_tags_input(token: str) -> None:
    assert isinstance(getattr(sdk_class(token), "tags", None), property)


@pytest.mark.parametrize("token", S3_SETTING_TYPES)
def test_v7_bucket_settings_have_no_tags_input(token: str) -> None:
    assert getattr(sdk_class(token), "tags", None) is None
