"""The component graph (``render_mermaid``): the dev stack's edges, determinism, and the drawing rules."""

from __future__ import annotations

import copy
import re

import pytest
from support.stacks import plan_for

from mlops_blueprint.mermaid import component_edges, node_id, render_mermaid
from mlops_blueprint.preview import run_preview

EDGE = re.compile(r"^\s+(\w+) --> (\w+)$")
NODE = re.compile(r'^\s+(\w+)\["([^"]*)"\]$')
SUBGRAPH = re.compile(r'^\s+subgraph (\w+)\["([^"]*)"\]$')

# Who references whom in the dev stack, and through what (see stacks/platform.py):
DEV_EDGES = [
    ("alerting", "kms"),       # alert topics encrypted with the logs key
    ("artifacts", "kms"),      # datasets/models buckets: SSE-KMS and bucket policy with the data key
    ("audit", "artifacts"),    # trail bucket logs to the access-log bucket; data events on datasets/models
    ("audit", "kms"),          # trail, its bucket and log group use the logs key
    ("cost", "alerting"),      # the budget notifies the budget topic
    ("monitoring", "training"),  # the dashboard shows the training pipeline (dev serves no model yet)
    ("network", "kms"),        # flow-log group encrypted with the logs key
    ("roles", "artifacts"),    # role policies scoped to the datasets/models buckets
    ("roles", "kms"),          # role policies grant the data key
    ("roles", "network"),      # MLflow grants for jobs hold only from this VPC (aws:SourceVpc)
    ("roles", "tracking"),     # MLflow grants name this stack's tracking resource
    ("tracking", "artifacts"),  # MLflow artifacts in the models bucket
    ("tracking", "network"),   # the SageMaker MLflow interface endpoint in the private subnets
    ("tracking", "roles"),     # the tracking role
    ("training", "artifacts"),  # pipeline reads datasets, writes models
    ("training", "kms"),       # ECR and job volumes with the data key
    ("training", "network"),   # jobs in the training subnets with the workload security group
    ("training", "roles"),     # training and pipelines roles
    ("training", "tracking"),  # the pipeline registers into the tracking server's model package group
]


@pytest.fixture(scope="module")
def dev_plan() -> dict:
    return plan_for("dev")


@pytest.fixture(scope="module")
def dev_mermaid(dev_plan) -> str:
    return render_mermaid(dev_plan)


def edges_of(text: str) -> list[tuple[str, str]]:
    return [m.groups() for line in text.splitlines() if (m := EDGE.match(line))]


def test_dev_edges_are_exactly_the_cross_component_references(dev_plan, dev_mermaid):
    assert component_edges(dev_plan) == DEV_EDGES
    assert edges_of(dev_mermaid) == DEV_EDGES  # ids equal names here: no sanitising needed


def test_dev_draws_one_node_per_top_level_component_and_nests_secure_buckets(dev_mermaid):
    lines = dev_mermaid.splitlines()
    assert lines[0] == "flowchart LR"
    nodes = {m.group(1): m.group(2) for line in lines if (m := NODE.match(line))}
    subgraphs = {m.group(1): m.group(2) for line in lines if (m := SUBGRAPH.match(line))}
    top = {**{k: v for k, v in nodes.items() if "__" not in k}, **subgraphs}
    assert sorted(top) == ["alerting", "artifacts", "audit", "cost", "kms", "monitoring", "network", "roles",
                           "tracking", "training"]
    assert top["kms"].startswith("kms<br/>mlops:security:Kms<br/>")
    assert top["artifacts"].startswith("artifacts<br/>mlops:storage:ArtifactStore<br/>")
    assert top["roles"].startswith("roles<br/>mlops:iam:PlatformRoles<br/>")
    assert top["network"].startswith("network<br/>mlops:network:Network<br/>")
    assert top["audit"].startswith("audit<br/>mlops:audit:AuditTrail<br/>")
    # ArtifactStore and AuditTrail hold SecureBucket components: drawn inside their subgraph.
    nested = sorted(k for k in nodes if "__" in k)
    assert nested == ["artifacts__artifacts_datasets", "artifacts__artifacts_logs", "artifacts__artifacts_models",
                      "audit__audit_bucket"]
    assert all("mlops:storage:SecureBucket" in nodes[k] for k in nested)
    assert dev_mermaid.count("subgraph ") == dev_mermaid.count("\n    end\n") == 2
    # Custom resources and the provider are not nodes of their own.
    assert "aws:" not in dev_mermaid and "pulumi:providers" not in dev_mermaid


def test_resource_counts_add_up(dev_plan, dev_mermaid):
    custom = sum(1 for r in dev_plan["resources"] if r["custom"] and not r["type"].startswith("pulumi:providers:"))
    counts = [int(n) for n in re.findall(r'^    (?:subgraph )?\w+\["[^"]*<br/>(\d+) resources?"\]', dev_mermaid, re.M)]
    assert sum(counts) == custom


def test_same_plan_gives_the_same_text(dev_plan, dev_mermaid):
    again = render_mermaid(run_preview("dev").plan)
    assert again == dev_mermaid
    shuffled = copy.deepcopy(dev_plan)
    shuffled["resources"].reverse()
    for resource in shuffled["resources"]:
        resource["dependencies"] = list(reversed(resource["dependencies"]))
    assert render_mermaid(shuffled) == dev_mermaid


# -- drawing rules on hand-made plans -------------------------------------------------------------

STACK = "urn:pulumi:s::p::pulumi:pulumi:Stack::p-s"
PROVIDER = "urn:pulumi:s::p::pulumi:providers:aws::aws"


def _urn(type_: str, name: str) -> str:
    return f"urn:pulumi:s::p::{type_}::{name}"


def _res(type_: str, name: str, parent: str | None = STACK, *, custom: bool = True,
         deps: tuple[str, ...] = (), prop_deps: dict | None = None) -> dict:
    return {"urn": _urn(type_, name), "type": type_, "name": name, "custom": custom, "parent": parent,
            "dependencies": list(deps), "propertyDependencies": prop_deps or {}, "provider": None}


def _plan(*resources: dict) -> dict:
    stack = {"urn": STACK, "type": "pulumi:pulumi:Stack", "name": "p-s", "custom": False, "parent": None,
             "dependencies": [], "propertyDependencies": {}, "provider": None}
    provider = {"urn": PROVIDER, "type": "pulumi:providers:aws", "name": "aws", "custom": True, "parent": STACK,
                "dependencies": [], "propertyDependencies": {}, "provider": None}
    return {"project": "p", "stack": "s", "resources": [stack, provider, *resources], "outputs": {}, "findings": []}


def test_edges_are_deduplicated_and_skip_providers_self_references_and_unknown_urns():
    key_c = _res("x:k:Keys", "keys", custom=False)
    key = _res("aws:kms/key:Key", "key", key_c["urn"])
    store_c = _res("x:s:Store", "store", custom=False)
    nested = _res("x:s:Bucket", "inner", store_c["urn"], custom=False)
    b1 = _res("aws:s3/bucket:Bucket", "b1", nested["urn"], deps=(key["urn"], PROVIDER), prop_deps={"k": [key["urn"]]})
    b2 = _res("aws:s3/bucket:Bucket", "b2", store_c["urn"], deps=(b1["urn"], key["urn"], "urn:gone"))
    plan = _plan(key_c, key, store_c, nested, b1, b2)
    assert component_edges(plan) == [("store", "keys")]
    text = render_mermaid(plan)
    assert edges_of(text) == [("store", "keys")]
    assert "subgraph store[" in text and "store__inner[" in text


def test_node_ids_are_sanitised_unique_and_never_keywords():
    assert node_id("my-component.v2") == "my_component_v2"
    assert node_id("end") == "n_end" and node_id("Subgraph") == "n_Subgraph" and node_id("2fa") == "n_2fa"
    a = _res("x:a:A", "data-store", custom=False)
    b = _res("x:b:B", "data.store", custom=False)
    e = _res("x:e:E", "end", custom=False)
    child = _res("aws:s3/bucket:Bucket", "bucket", a["urn"], deps=(_urn("x:e:E", "end"),))
    text = render_mermaid(_plan(a, b, e, child))
    ids = re.findall(r'^    (\w+)\[', text, re.M)
    assert ids == ["data_store", "data_store_2", "n_end"]
    assert edges_of(text) == [("data_store", "n_end")]
    assert '"data-store<br/>x:a:A<br/>1 resource"' in text


def test_labels_escape_quotes_and_brackets_and_top_level_resources_are_drawn():
    weird = _res("x:w:W", 'say "hi" [now]', custom=False)
    loose = _res("aws:sns/topic:Topic", "alerts", deps=(weird["urn"],))
    text = render_mermaid(_plan(weird, loose))
    assert "say #quot;hi#quot; #91;now#93;" in text
    assert 'alerts("alerts<br/>aws:sns/topic:Topic")' in text
    assert edges_of(text) == [("alerts", "say__hi___now_")]
