"""Pin the SDK internals the harness relies on.

``MockMonitor`` and ``run_in_stack`` are not public API: if a Pulumi release changes them, these
tests fail first, with a clear pointer, instead of the preview silently losing data.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pytest

from mlops_blueprint.mock_runtime import MOCK_ACCOUNT_ID, SECRET_PLACEHOLDER, mock_arn, mock_id, run_program


class _Box(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlops:test:Box", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.bucket = aws.s3.Bucket(f"{name}-bucket", bucket=f"{name}-physical",
                                    opts=pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True))
        self.versioning = aws.s3.BucketVersioning(
            f"{name}-versioning", bucket=self.bucket.bucket,
            versioning_configuration={"status": "Enabled"}, opts=child)
        self.register_outputs({})


def _program():
    provider = aws.Provider("aws", region="eu-west-1", default_tags={"tags": {"project": "p"}})
    box = _Box("box", pulumi.ResourceOptions(providers={"aws": provider}))
    identity = aws.get_caller_identity(opts=pulumi.InvokeOptions(provider=provider))
    pulumi.export("bucket", box.bucket.bucket)
    pulumi.export("account", identity.account_id)
    pulumi.export("password", pulumi.Output.secret("hunter2"))
    pulumi.export("owner", pulumi.Config().require("owner"))


@pytest.fixture(scope="module")
def run():
    return run_program(_program, stack="dev", project="mlops-platform",
                       config={"mlops-platform:owner": "team-a", "aws:region": "eu-west-1"})


def test_monitor_sees_parent_dependencies_and_property_dependencies(run):
    box = run.named("mlops:test:Box", "box")
    bucket = run.named("aws:s3/bucket:Bucket", "box-bucket")
    versioning = run.named("aws:s3/bucketVersioning:BucketVersioning", "box-versioning")
    assert bucket.parent == box.urn and versioning.parent == box.urn
    assert versioning.dependencies == [bucket.urn]
    assert versioning.property_dependencies == {"bucket": [bucket.urn]}


def test_monitor_sees_options_and_inherited_provider(run):
    bucket = run.named("aws:s3/bucket:Bucket", "box-bucket")
    versioning = run.named("aws:s3/bucketVersioning:BucketVersioning", "box-versioning")
    provider = run.named("pulumi:providers:aws", "aws")
    assert (bucket.protect, bucket.retain_on_delete) == (True, True)
    assert (versioning.protect, versioning.retain_on_delete) == (False, False)
    assert bucket.provider == f"{provider.urn}::{provider.id}"  # inherited from the component
    assert '"project": "p"' in provider.inputs["defaultTags"]


def test_inputs_are_camel_case_as_the_engine_receives_them(run):
    versioning = run.named("aws:s3/bucketVersioning:BucketVersioning", "box-versioning")
    assert versioning.inputs == {"bucket": "box-physical", "versioningConfiguration": {"status": "Enabled"}}


def test_ids_and_arns_are_deterministic(run):
    bucket = run.named("aws:s3/bucket:Bucket", "box-bucket")
    assert bucket.id == mock_id("aws:s3/bucket:Bucket", "box-bucket")
    assert bucket.outputs["arn"] == mock_arn("aws:s3/bucket:Bucket", "box-physical", "eu-west-1") == "arn:aws:s3:::box-physical"
    again = run_program(_program, stack="dev", project="mlops-platform",
                        config={"mlops-platform:owner": "team-a", "aws:region": "eu-west-1"})
    assert [(r.urn, r.id, r.inputs) for r in again.registrations] == [(r.urn, r.id, r.inputs) for r in run.registrations]


def test_stack_exports_are_resolved_and_secrets_masked(run):
    assert run.outputs == {"bucket": "box-physical", "account": MOCK_ACCOUNT_ID,
                           "password": SECRET_PLACEHOLDER, "owner": "team-a"}


def test_registrations_are_sorted_by_urn(run):
    urns = [r.urn for r in run.registrations]
    assert urns == sorted(urns)
    assert run.registrations[0].type in {"mlops:test:Box", "pulumi:providers:aws", "aws:s3/bucket:Bucket",
                                         "aws:s3/bucketVersioning:BucketVersioning", "pulumi:pulumi:Stack"}


def test_program_errors_propagate_and_runtime_resets():
    def failing():
        aws.s3.Bucket("half")
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        run_program(failing, stack="dev", project="mlops-platform")
    captured = run_program(failing, stack="dev", project="mlops-platform", capture_errors=True)
    assert str(captured.error) == "boom"
    assert sorted(r.name for r in captured.registrations) == ["half", "mlops-platform-dev"]
    # The next run starts clean: a new root stack, no leftovers from the failed run.
    fresh = run_program(lambda: None, stack="dev", project="mlops-platform")
    assert [r.type for r in fresh.registrations] == ["pulumi:pulumi:Stack"]


def test_unmocked_invoke_fails_loudly():
    with pytest.raises(Exception, match="no mock for invoke"):
        run_program(lambda: aws.ec2.get_vpc(default=True), stack="dev", project="mlops-platform")


def test_whole_numbers_stay_integers_in_the_plan():
    """Protobuf carries numbers as doubles; plans and diffs must still read 7, not 7.0."""
    run = run_program(lambda: aws.kms.Key("k", deletion_window_in_days=7, description="x"),
                      stack="dev", project="mlops-platform")
    key = run.named("aws:kms/key:Key", "k")
    assert key.inputs["deletionWindowInDays"] == 7 and isinstance(key.inputs["deletionWindowInDays"], int)


def test_a_failure_inside_an_apply_does_not_poison_the_next_run(caplog):
    import gc

    def failing_apply():
        bucket = aws.s3.Bucket("b", bucket="x")
        bucket.bucket.apply(lambda _: (_ for _ in ()).throw(RuntimeError("apply failed")))
        aws.s3.BucketVersioning("v", bucket=bucket.bucket.apply(lambda n: 1 / 0 if n else n),
                                versioning_configuration={"status": "Enabled"})

    def fail_once() -> None:  # its frame (and the exception's traceback) is gone once it returns
        with pytest.raises(ZeroDivisionError):
            run_program(failing_apply, stack="dev", project="mlops-platform")

    fail_once()
    fresh = run_program(_program, stack="dev", project="mlops-platform",
                        config={"mlops-platform:owner": "team-a", "aws:region": "eu-west-1"})
    # The futures that carried the failure to other outputs (the SDK keeps them until the next run)
    # are collected without a logged traceback: formatting one from a collection that happens inside
    # compile() breaks Python 3.11's AST depth counter for that compile.
    gc.collect()
    assert [r.getMessage() for r in caplog.records if r.name == "asyncio"] == []
    assert fresh.error is None and fresh.outputs["bucket"] == "box-physical"


def test_a_run_leaves_no_event_loop_open():
    """The SDK's mock monitor gives each of the runtime's threads an event loop: closed with the run,
    not left to the collector (which may finalize a loop's sockets first, and then fail to close it)."""
    import asyncio
    import gc

    def open_loops() -> set[int]:
        return {id(o) for o in gc.get_objects() if isinstance(o, asyncio.AbstractEventLoop) and not o.is_closed()}

    gc.collect()
    gc.disable()  # what the run leaves behind stays in sight until it is counted
    try:
        before = open_loops()
        run_program(_program, stack="dev", project="mlops-platform",
                    config={"mlops-platform:owner": "team-a", "aws:region": "eu-west-1"})
        left_open = open_loops() - before
    finally:
        gc.enable()
    assert left_open == set()


def test_the_account_is_the_callers_identity_and_in_every_arn():
    other = "444455556666"
    run = run_program(_program, stack="dev", project="mlops-platform", account_id=other,
                      config={"mlops-platform:owner": "team-a", "aws:region": "eu-west-1"})
    assert run.outputs["account"] == other
    assert mock_arn("aws:iam/role:Role", "r", "eu-west-1", account_id=other) == f"arn:aws:iam::{other}:role/r"
    assert mock_arn("aws:sns/topic:Topic", "t", "eu-west-1", account_id=other) == f"arn:aws:sns:eu-west-1:{other}:t"
    assert MOCK_ACCOUNT_ID not in str([r.outputs for r in run.registrations])


@pytest.mark.parametrize(("type_", "expected"), [
    ("aws:sfn/stateMachine:StateMachine", "arn:aws:states:eu-west-1:111122223333:stateMachine:m"),
    ("aws:amp/workspace:Workspace", "arn:aws:aps:eu-west-1:111122223333:workspace/m"),
    ("aws:budgets/budget:Budget", "arn:aws:budgets::111122223333:budget/m"),
    ("aws:cloudwatch/dashboard:Dashboard", "arn:aws:cloudwatch::111122223333:dashboard/m"),
    ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "arn:aws:ec2:eu-west-1:111122223333:security-group-rule/m"),
])
def test_arns_have_the_services_own_shape(type_, expected):
    """IAM statements reference these ARNs; a wrong service prefix would match no IAM resource type."""
    assert mock_arn(type_, "m", "eu-west-1", account_id="111122223333") == expected


def test_source_positions_are_skipped_only_while_a_program_runs():
    """run_program stubs the SDK's private ``_get_stack_trace`` (the engine's source positions, which
    the recording monitor never reads). If a release renames it, the stub would silently patch
    nothing: this fails instead."""
    from pulumi.runtime import resource as sdk_resource
    from pulumi.runtime.proto import source_pb2

    real = sdk_resource._get_stack_trace
    seen: list[object] = []

    def program():
        seen.append(sdk_resource._get_stack_trace)
        aws.s3.Bucket("b")

    run = run_program(program, stack="dev", project="mlops-platform")
    assert seen == [source_pb2.StackTrace] and seen[0] is not real
    assert sdk_resource._get_stack_trace is real  # restored
    assert isinstance(real(), source_pb2.StackTrace)  # the SDK's own still has the shape the stub mimics
    assert [r.name for r in run.registrations] == ["b", "mlops-platform-dev"]
