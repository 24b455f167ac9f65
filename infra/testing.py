"""Test your own Pulumi program offline, in pytest, with the platform's mocks and policy pack.

A team that composes the components (or writes any Pulumi Python program) can preview it the way
``mlops-blueprint preview --program`` does, without credentials or the Pulumi CLI, and assert on
what it would create::

    from mlops_blueprint.testing import preview_program

    def test_my_program_is_secure():
        preview = preview_program("infra/", stack="dev")
        preview.assert_no_mandatory_findings()
        [queue] = preview.of_type("aws:sqs/queue:Queue")
        assert queue["inputs"]["sqsManagedSseEnabled"] is True
        assert preview.outputs["exportsBucketName"].startswith("my-project-dev-")

or a single function, for a component of the team's own::

    from mlops_blueprint.testing import preview_function

    def test_bucket_component_is_flagged_without_encryption():
        preview = preview_function(lambda: MyBucket("data"), config={"environment": "dev"})
        assert preview.findings_for(preview.named("aws:s3/bucket:Bucket", "data"))

``preview_stack("prod", config={...})`` previews this platform's own program for one of its stacks.

Resources are the plan JSON's entries (``urn``, ``type``, ``name``, ``parent``, ``inputs`` in
camelCase as the engine receives them, ``outputs``, ``protect``, ...); findings are the policy
pack's (``policy``, ``enforcement``, ``urn``, ``message``). A preview costs a few seconds: share
one per test module (a module-scoped fixture).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlops_blueprint.config import PROJECT, ConfigError
from mlops_blueprint.mock_runtime import MOCK_ACCOUNT_ID, MockRun, run_program
from mlops_blueprint.plan import build_plan, mandatory_findings
from mlops_blueprint.policies.engine import evaluate_plan
from mlops_blueprint.preview import load_stack_file, required_boundary, run_preview, stack_file
from mlops_blueprint.program_preview import ProgramError, namespaced
from mlops_blueprint.program_preview import preview_program as _preview_directory

__all__ = ["ConfigError", "Preview", "ProgramError", "Resource", "preview_function", "preview_program",
           "preview_stack"]

Resource = dict[str, Any]
"""One entry of the plan JSON's ``resources``."""


@dataclass(frozen=True)
class Preview:
    """What one offline preview would create: the plan JSON with helpers to find and assert.

    Wrap any plan (a ``--json`` file's contents, the repository's own stack plans) with
    ``Preview(plan)``; ``run`` is the raw recording when the preview ran in this process.
    """

    plan: dict[str, Any]
    run: MockRun | None = None

    # -- what the plan holds --------------------------------------------------------------------

    @property
    def project(self) -> str:
        return str(self.plan["project"])

    @property
    def stack(self) -> str:
        return str(self.plan["stack"])

    @property
    def resources(self) -> list[Resource]:
        """Every entry, sorted by urn: custom resources, components, providers and the stack."""
        return list(self.plan["resources"])

    @property
    def outputs(self) -> dict[str, Any]:
        """The stack's exports (``pulumi.export``)."""
        return dict(self.plan["outputs"])

    @property
    def findings(self) -> list[dict[str, str]]:
        """Every policy finding, advisory and mandatory."""
        return list(self.plan["findings"])

    @property
    def mandatory_findings(self) -> list[dict[str, str]]:
        """The findings that block a deployment (``preview`` exits 1 on any)."""
        return mandatory_findings(self.plan)

    # -- finding resources ------------------------------------------------------------------------

    def where(self, predicate: Callable[[Resource], bool]) -> list[Resource]:
        """The resources ``predicate`` accepts, e.g. ``where(lambda r: r["protect"])``."""
        return [r for r in self.plan["resources"] if predicate(r)]

    def of_type(self, type_: str) -> list[Resource]:
        """Resources of one type token, e.g. ``of_type("aws:s3/bucket:Bucket")`` (maybe none)."""
        return self.where(lambda r: r["type"] == type_)

    def named(self, type_: str, name: str) -> Resource:
        """The one resource of ``type_`` with logical name ``name``; ``LookupError`` listing the
        names of that type when there is none or more than one.

        >>> preview.named("aws:kms/key:Key", "kms-data")["inputs"]["enableKeyRotation"]
        True
        """
        matches = [r for r in self.of_type(type_) if r["name"] == name]
        if len(matches) != 1:
            known = sorted({r["name"] for r in self.of_type(type_)})
            raise LookupError(f"expected one {type_} named {name!r}, found {len(matches)} "
                              f"({type_} names: {', '.join(known) or 'none'})")
        return matches[0]

    def by_urn(self, urn: str) -> Resource:
        """The resource with this urn; ``LookupError`` if the plan has none."""
        for resource in self.plan["resources"]:
            if resource["urn"] == urn:
                return resource
        raise LookupError(f"no resource with urn {urn!r}")

    def component(self, name: str, type_: str | None = None) -> Resource:
        """The component resource (``custom: false``) with logical name ``name`` (and ``type_``,
        e.g. ``"mlops:storage:ArtifactStore"``, when names repeat)."""
        matches = self.where(lambda r: not r["custom"] and r["name"] == name and type_ in (None, r["type"])
                             and r["type"] != "pulumi:pulumi:Stack")
        if len(matches) != 1:
            known = sorted({r["name"] for r in self.where(lambda r: not r["custom"])})
            raise LookupError(f"expected one component named {name!r}, found {len(matches)} "
                              f"(components: {', '.join(known) or 'none'})")
        return matches[0]

    def _urn_of(self, parent: Resource | str) -> str:
        if isinstance(parent, dict):
            return str(parent["urn"])
        return parent if parent.startswith("urn:") else str(self.component(parent)["urn"])

    def children_of(self, parent: Resource | str, type_: str | None = None) -> list[Resource]:
        """Direct children of ``parent`` (a resource, a urn or a component's logical name),
        optionally of one type."""
        urn = self._urn_of(parent)
        return self.where(lambda r: r["parent"] == urn and type_ in (None, r["type"]))

    def in_component(self, parent: Resource | str, type_: str | None = None) -> list[Resource]:
        """Every resource below ``parent`` (children, their children, ...), optionally of one type:
        ``in_component("artifacts", "aws:s3/bucket:Bucket")``."""
        below: set[str] = {self._urn_of(parent)}
        found: list[Resource] = []
        grew = True
        while grew:  # the plan is sorted by urn, not by depth: walk until nothing new is found
            grew = False
            for resource in self.plan["resources"]:
                if resource["parent"] in below and resource["urn"] not in below:
                    below.add(resource["urn"])
                    found.append(resource)
                    grew = True
        return sorted((r for r in found if type_ in (None, r["type"])), key=lambda r: r["urn"])

    def top_level(self) -> list[Resource]:
        """The resources and components the program created directly (children of the stack)."""
        stacks = {r["urn"] for r in self.of_type("pulumi:pulumi:Stack")}
        return self.where(lambda r: r["parent"] in stacks)

    def findings_for(self, resource: Resource | str, policy: str | None = None) -> list[dict[str, str]]:
        """Findings on one resource (or urn), optionally of one policy."""
        urn = resource["urn"] if isinstance(resource, dict) else resource
        return [f for f in self.plan["findings"] if f["urn"] == urn and policy in (None, f["policy"])]

    # -- assertions -------------------------------------------------------------------------------

    def assert_no_mandatory_findings(self) -> None:
        """Fail with every blocking finding listed (policy, resource name, message)."""
        blocking = self.mandatory_findings
        if blocking:
            names = {r["urn"]: r["name"] for r in self.plan["resources"]}
            lines = [f"  {f['policy']} on {names.get(f['urn'], f['urn'])}: {f['message']}" for f in blocking]
            raise AssertionError(f"{len(blocking)} mandatory policy findings:\n" + "\n".join(lines))

    def assert_flagged(self, resource: Resource | str, policy: str) -> None:
        """Fail unless the pack reports ``policy`` on ``resource``."""
        if not self.findings_for(resource, policy):
            urn = resource["urn"] if isinstance(resource, dict) else resource
            found = sorted({f["policy"] for f in self.findings_for(resource)})
            raise AssertionError(f"expected a {policy!r} finding on {urn}; its findings: {', '.join(found) or 'none'}")


def preview_program(path: str | os.PathLike[str], stack: str | None = None, *,
                    config: Mapping[str, Any] | None = None, config_file: str | os.PathLike[str] | None = None,
                    policy_config: Mapping[str, Any] | None = None, account_id: str | None = None) -> Preview:
    """Preview the Pulumi program in directory ``path`` as ``pulumi preview -s <stack>`` would
    run it (its ``Pulumi.yaml``, ``Pulumi.<stack>.yaml`` and entry point), under the mocks.

    ``stack``: default the program's only stack file. ``config`` overrides single keys (a key
    without ``namespace:`` belongs to the program's project; dicts and lists are passed as JSON,
    as the engine does). ``config_file``: another stack file of the same shape. ``policy_config``:
    as ``pulumi preview --policy-pack-config`` takes it. Raises ``ConfigError`` for a bad
    directory or stack file and :class:`ProgramError` (naming the file and line) when the program
    raises; the original exception is its ``__cause__``.

    >>> preview = preview_program("examples/team-platform", stack="dev", config={"environment": "prod"})
    >>> all(b["protect"] for b in preview.of_type("aws:s3/bucket:Bucket"))
    True
    """
    result = _preview_directory(path, stack, config_file=Path(config_file) if config_file else None,
                                config=config, policy_config=policy_config, account_id=account_id)
    return Preview(plan=result.plan, run=result.run)


def preview_function(fn: Callable[[], Any], *, config: Mapping[str, Any] | None = None, project: str = "test",
                     stack: str = "dev", region: str | None = None, account_id: str = MOCK_ACCOUNT_ID,
                     policy_config: Mapping[str, Any] | None = None) -> Preview:
    """Run ``fn`` as a Pulumi program of ``project``/``stack`` under the mocks and preview it.

    ``config`` as for :func:`preview_program` (keys without a namespace belong to ``project``);
    ``region`` defaults to ``aws:region`` in ``config``, else us-east-1. Whatever ``fn`` raises
    propagates unchanged (after the runtime has settled), so ``pytest.raises`` works.

    >>> def program():
    ...     pulumi.export("greeting", pulumi.Config().require("greeting"))
    >>> preview_function(program, config={"greeting": "hi"}).outputs
    {'greeting': 'hi'}
    """
    values = {namespaced(project, str(k)): v for k, v in (config or {}).items()}
    run = run_program(fn, stack=stack, project=project, config=values, region=region, account_id=account_id)
    plan = build_plan(run)
    plan["findings"] = evaluate_plan(plan, permissions_boundary_arn=required_boundary(dict(policy_config or {}), None))
    return Preview(plan=plan, run=run)


def preview_stack(stack: str, *, config: Mapping[str, Any] | None = None,
                  config_file: str | os.PathLike[str] | None = None, policy_config: Mapping[str, Any] | None = None,
                  account_id: str | None = None) -> Preview:
    """Preview the platform's own program for ``stack`` (dev, staging, prod), as ``mlops-blueprint
    preview --stack`` does: the shipped stack file (or ``config_file``) with ``config`` overriding
    single keys (without a namespace: the platform's, e.g. ``{"models": [...]}``). Invalid config
    raises :class:`ConfigError` naming the key, before anything is registered.

    >>> preview_stack("dev", config={"tracking": {"backend": "sagemaker-managed", "mlflowVersion": "3.0"}})
    """
    values = load_stack_file(Path(config_file) if config_file else stack_file(stack))
    values.update({namespaced(PROJECT, str(k)): v for k, v in (config or {}).items()})
    # run_preview reads files, as the CLI does: the merged stack file and the policy config go to a scratch folder.
    with tempfile.TemporaryDirectory() as scratch:
        merged = Path(scratch) / f"Pulumi.{stack}.yaml"
        merged.write_text(yaml.safe_dump({"config": values}), encoding="utf-8")
        policies: Path | None = None
        if policy_config:
            policies = Path(scratch) / "policy-config.json"
            policies.write_text(json.dumps(dict(policy_config)), encoding="utf-8")
        result = run_preview(stack, merged, policies, account_id=account_id)
    return Preview(plan=result.plan, run=result.run)
