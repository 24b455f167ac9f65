"""AuditTrail under the mock runtime: trail settings, delivery permissions, bucket guardrails."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from mlops_blueprint.components.artifact_store import ArtifactStore, ArtifactStoreArgs
from mlops_blueprint.components.audit_trail import AuditTrail, AuditTrailArgs, trail_bucket_name
from mlops_blueprint.components.audit_trail_settings import AuditTrailSettings
from mlops_blueprint.components.s3_bucket import bucket_arn
from mlops_blueprint.context import StackContext
from mlops_blueprint.mock_runtime import MOCK_ACCOUNT_ID, MockRun, Registration, run_program
from mlops_blueprint.naming import NameKind
from support.components import ancestors, args_with_settings, run_component
from support.s3 import BUCKET, LOGGING, OBJECT_LOCK, OWNERSHIP, VERSIONING
from support.s3 import BUCKET_POLICY as POLICY
from support.s3 import ENCRYPTION as SSE
from support.s3 import PUBLIC_ACCESS_BLOCK as PAB

LOGS_KEY = f"arn:aws:kms:us-east-1:{MOCK_ACCOUNT_ID}:key/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
DATA_KEY = f"arn:aws:kms:us-east-1:{MOCK_ACCOUNT_ID}:key/11111111-2222-3333-4444-555555555555"
DATA_BUCKETS = ("arn:aws:s3:::team-datasets", "arn:aws:s3:::team-models")

TRAIL = "aws:cloudtrail/trail:Trail"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
COMPONENT = "mlops:audit:AuditTrail"


OUTPUTS = {"trailArn": "trail_arn", "trailBucketName": "trail_bucket_name", "logGroupName": "log_group_name",
           "logGroupArn": "log_group_arn"}


def trail_args(ctx: StackContext, **overrides: Any) -> AuditTrailArgs:
    return args_with_settings(AuditTrailArgs, AuditTrailSettings, context=ctx, kms_key_arn=LOGS_KEY, **overrides)


def build(ctx: StackContext, **overrides: Any) -> MockRun:
    return run_component(ctx, lambda: AuditTrail("audit", trail_args(ctx, **overrides)), OUTPUTS)


def only(run: MockRun, type_: str) -> Registration:
    [reg] = run.of_type(type_)
    return reg


def setting(run: MockRun, type_: str, bucket_name: str) -> Registration:
    matches = [r for r in run.of_type(type_) if r.inputs.get("bucket") == bucket_name]
    assert len(matches) == 1, f"expected one {type_} for {bucket_name}, found {len(matches)}"
    return matches[0]


def trail_arn(ctx: StackContext) -> str:
    name = ctx.naming.name("trail", kind=NameKind.CLOUDTRAIL)
    return f"arn:aws:cloudtrail:{ctx.region}:{ctx.account_id}:trail/{name}"


@pytest.fixture
def dev_run(dev_context: StackContext) -> MockRun:
    return build(dev_context, data_event_bucket_arns=list(DATA_BUCKETS), log_retention_days=30)


def test_trail_is_multi_region_validated_and_kms_encrypted(dev_run: MockRun, dev_context: StackContext) -> None:
    trail = only(dev_run, TRAIL).inputs
    assert trail["isMultiRegionTrail"] is True
    assert trail["includeGlobalServiceEvents"] is True
    assert trail["enableLogFileValidation"] is True
    assert trail["kmsKeyId"] == LOGS_KEY
    assert trail["name"] == dev_context.naming.name("trail", kind=NameKind.CLOUDTRAIL)
    assert trail["s3BucketName"] == trail_bucket_name(dev_context)
    assert trail["tags"]["component"] == "audit-trail"


def test_trail_arn_used_in_the_bucket_policy_is_the_trails_real_arn(dev_run: MockRun, dev_context: StackContext) -> None:
    trail = only(dev_run, TRAIL)
    assert trail.outputs["arn"] == trail_arn(dev_context)
    assert dev_run.outputs["trailArn"] == trail_arn(dev_context)


def test_trail_delivers_to_its_log_group_through_its_role(dev_run: MockRun, dev_context: StackContext) -> None:
    trail = only(dev_run, TRAIL)
    log_group = only(dev_run, LOG_GROUP)
    role = only(dev_run, ROLE)
    assert trail.inputs["cloudWatchLogsGroupArn"] == f"{log_group.outputs['arn']}:*"
    assert trail.inputs["cloudWatchLogsRoleArn"] == role.outputs["arn"]
    assert log_group.inputs["name"] == dev_context.naming.log_group("cloudtrail")
    assert log_group.inputs["kmsKeyId"] == LOGS_KEY
    assert log_group.inputs["retentionInDays"] == 30
    assert log_group.inputs["deletionProtectionEnabled"] is False
    assert dev_run.outputs["logGroupArn"] == log_group.outputs["arn"]
    assert dev_run.outputs["logGroupName"] == dev_context.naming.log_group("cloudtrail")


def test_role_is_trusted_only_by_cloudtrail_of_this_account(dev_run: MockRun) -> None:
    trust = json.loads(only(dev_run, ROLE).inputs["assumeRolePolicy"])
    [stmt] = trust["Statement"]
    assert stmt["Effect"] == "Allow"
    assert stmt["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert stmt["Action"] == ["sts:AssumeRole"]
    assert stmt["Condition"] == {"StringEquals": {"aws:SourceAccount": MOCK_ACCOUNT_ID}}


def test_role_policy_is_scoped_to_the_log_groups_streams(dev_run: MockRun) -> None:
    role_policy = only(dev_run, ROLE_POLICY)
    log_group_arn = only(dev_run, LOG_GROUP).outputs["arn"]
    [stmt] = json.loads(role_policy.inputs["policy"])["Statement"]
    assert stmt["Effect"] == "Allow"
    assert stmt["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert stmt["Resource"] == [f"{log_group_arn}:log-stream:*"]
    assert only(dev_run, ROLE).urn in role_policy.property_dependencies["role"]


def test_bucket_policy_grants_cloudtrail_only_for_this_trail(dev_run: MockRun, dev_context: StackContext) -> None:
    name = trail_bucket_name(dev_context)
    arn = bucket_arn(dev_context, name)
    policy = json.loads(setting(dev_run, POLICY, name).inputs["policy"])
    grants = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert all(s["Principal"] == {"Service": "cloudtrail.amazonaws.com"} for s in grants)
    by_action = {tuple(s["Action"]): s for s in grants}
    assert set(by_action) == {("s3:GetBucketAcl",), ("s3:PutObject",)}
    acl, write = by_action[("s3:GetBucketAcl",)], by_action[("s3:PutObject",)]
    assert acl["Resource"] == [arn]
    assert acl["Condition"] == {"StringEquals": {"aws:SourceArn": trail_arn(dev_context)}}
    assert write["Resource"] == [f"{arn}/AWSLogs/{MOCK_ACCOUNT_ID}/*"]
    assert write["Condition"] == {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control",
                                                   "aws:SourceArn": trail_arn(dev_context)}}


def test_trail_bucket_is_a_secure_kms_bucket(dev_run: MockRun, dev_context: StackContext) -> None:
    name = trail_bucket_name(dev_context)
    arn = bucket_arn(dev_context, name)
    assert setting(dev_run, VERSIONING, name).inputs["versioningConfiguration"] == {"status": "Enabled"}
    [rule] = setting(dev_run, SSE, name).inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": LOGS_KEY}
    assert rule["bucketKeyEnabled"] is True
    pab = setting(dev_run, PAB, name).inputs
    assert all(pab[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    assert setting(dev_run, OWNERSHIP, name).inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    policy = json.loads(setting(dev_run, POLICY, name).inputs["policy"])
    [tls] = [s for s in policy["Statement"] if s.get("Condition", {}).get("Bool") == {"aws:SecureTransport": "false"}]
    assert tls["Effect"] == "Deny" and sorted(tls["Resource"]) == sorted([arn, f"{arn}/*"])
    # CloudTrail writes with the trail's key, which is the key the policy insists on.
    [key] = [s for s in policy["Statement"] if s.get("Sid") == "DenyOtherKmsKey"]
    assert key["Condition"]["StringNotEquals"] == {"s3:x-amz-server-side-encryption-aws-kms-key-id": LOGS_KEY}


def test_no_object_lock_unless_asked(dev_run: MockRun) -> None:
    assert dev_run.of_type(OBJECT_LOCK) == []
    assert "objectLockEnabled" not in only(dev_run, BUCKET).inputs


def test_object_lock_is_governance_with_the_configured_days(dev_context: StackContext) -> None:
    run = build(dev_context, object_lock=True, object_lock_days=400)
    name = trail_bucket_name(dev_context)
    assert only(run, BUCKET).inputs["objectLockEnabled"] is True  # only possible at creation
    lock = setting(run, OBJECT_LOCK, name)
    assert lock.inputs["rule"] == {"defaultRetention": {"mode": "GOVERNANCE", "days": 400}}
    assert setting(run, VERSIONING, name).urn in lock.dependencies


def test_data_events_select_exactly_the_given_buckets(dev_run: MockRun) -> None:
    selectors = {s["name"]: s["fieldSelectors"] for s in only(dev_run, TRAIL).inputs["advancedEventSelectors"]}
    assert selectors["management-events"] == [{"field": "eventCategory", "equals": ["Management"]}]
    data = {f["field"]: f for f in selectors["s3-data-events"]}
    assert data["eventCategory"]["equals"] == ["Data"]
    assert data["resources.type"]["equals"] == ["AWS::S3::Object"]
    assert data["resources.ARN"]["startsWiths"] == [f"{arn}/" for arn in DATA_BUCKETS]
    assert set(data) == {"eventCategory", "resources.type", "resources.ARN"}
    assert len(selectors) == 2


@pytest.mark.parametrize("overrides", [{}, {"data_events": False, "data_event_bucket_arns": list(DATA_BUCKETS)}])
def test_without_data_buckets_only_management_events_are_recorded(dev_context: StackContext,
                                                                  overrides: dict[str, Any]) -> None:
    run = build(dev_context, **overrides)
    selectors = only(run, TRAIL).inputs["advancedEventSelectors"]
    assert selectors == [{"name": "management-events", "fieldSelectors": [{"field": "eventCategory", "equals": ["Management"]}]}]


def test_trail_is_created_after_its_bucket_policy_and_role_policy(dev_run: MockRun, dev_context: StackContext) -> None:
    trail = only(dev_run, TRAIL)
    assert setting(dev_run, POLICY, trail_bucket_name(dev_context)).urn in trail.dependencies
    assert only(dev_run, ROLE_POLICY).urn in trail.dependencies


def test_every_child_leads_to_the_component(dev_run: MockRun) -> None:
    component = dev_run.named(COMPONENT, "audit")
    owned = [r for r in dev_run.registrations if r.urn != component.urn and r.type != "pulumi:pulumi:Stack"]
    # SecureBucket, its bucket + 6 settings (no access logging, no object lock here), log group,
    # role, role policy, trail.
    assert len(owned) == 12
    for reg in owned:
        assert component.urn in ancestors(dev_run, reg.urn), reg.urn


def test_prod_protects_and_retains_stateful_resources(prod_context: StackContext) -> None:
    run = build(prod_context, protect=True, retain_on_delete=True, object_lock=True, log_retention_days=365)
    bucket = only(run, BUCKET)
    assert (bucket.protect, bucket.retain_on_delete, bucket.inputs["forceDestroy"]) == (True, True, False)
    log_group = only(run, LOG_GROUP)
    assert (log_group.protect, log_group.retain_on_delete) == (True, True)
    assert log_group.inputs["deletionProtectionEnabled"] is True
    assert log_group.inputs["retentionInDays"] == 365
    assert only(run, TRAIL).inputs["name"].startswith("mlops-platform-prod-")


def test_dev_force_destroy_reaches_the_trail_bucket(dev_context: StackContext) -> None:
    assert only(build(dev_context, force_destroy=True), BUCKET).inputs["forceDestroy"] is True
    assert only(build(dev_context), BUCKET).inputs["forceDestroy"] is False


def test_composed_with_the_artifact_store(dev_context: StackContext) -> None:
    """The stack's wiring: the store's buckets are traced, the trail bucket logs to the store."""
    ctx = dev_context

    def program() -> None:
        store = ArtifactStore("artifacts", ArtifactStoreArgs(
            context=ctx, kms_key_arn=DATA_KEY,
            access_log_source_bucket_arns=[bucket_arn(ctx, trail_bucket_name(ctx))],
        ))
        AuditTrail("audit", AuditTrailArgs(
            context=ctx, kms_key_arn=LOGS_KEY, access_log_bucket_name=store.logs_bucket_name,
            data_event_bucket_arns=[store.datasets_bucket_arn, store.models_bucket_arn],
        ))

    run = run_program(program, stack="dev", project="mlops-platform")
    name = trail_bucket_name(ctx)
    logging = setting(run, LOGGING, name)
    assert logging.inputs["targetBucket"] == ctx.naming.bucket("access-logs")
    assert logging.inputs["targetPrefix"] == f"{name}/"
    logs_policy = json.loads(setting(run, POLICY, ctx.naming.bucket("access-logs")).inputs["policy"])
    [grant] = [s for s in logs_policy["Statement"] if s["Effect"] == "Allow"]
    assert bucket_arn(ctx, name) in grant["Condition"]["ArnLike"]["aws:SourceArn"]
    [data] = [s for s in only(run, TRAIL).inputs["advancedEventSelectors"] if s["name"] == "s3-data-events"]
    [arns] = [f["startsWiths"] for f in data["fieldSelectors"] if f["field"] == "resources.ARN"]
    assert arns == [f"{bucket_arn(ctx, ctx.naming.bucket(p))}/" for p in ("datasets", "models")]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"protect": True, "force_destroy": True}, "force_destroy and protect"),
        ({"log_retention_days": 100}, r"log_retention_days\n.*CloudWatch Logs retention must be one of"),
        ({"object_lock": True, "object_lock_days": 0}, r"object_lock_days\n.*greater than or equal to 1"),
    ],
)
def test_bad_args_raise_before_anything_is_registered(dev_context: StackContext, overrides: dict[str, Any], message: str) -> None:
    def program() -> None:
        with pytest.raises(ValueError, match=message):
            AuditTrail("audit", trail_args(dev_context, **overrides))

    run = run_program(program, stack="dev", project="mlops-platform")
    assert [r.type for r in run.registrations] == ["pulumi:pulumi:Stack"]


ORG_TRAIL = "arn:aws:cloudtrail:us-east-1:111122223333:trail/organization-trail"


@pytest.fixture
def warnings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    said: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *args, **kwargs: said.append(message))
    return said


@pytest.mark.parametrize("choice", ["existing", "none"])
def test_relying_on_another_trail_creates_nothing(dev_context: StackContext, warnings: list[str], choice: str) -> None:
    run = build(dev_context, trail=choice, existing_trail_arn=ORG_TRAIL, data_event_bucket_arns=DATA_BUCKETS)
    [component] = run.of_type(COMPONENT)
    assert [r for r in run.registrations if r.parent == component.urn] == []
    assert run.outputs["trailArn"] == ORG_TRAIL
    # Exports of None are dropped: no bucket or log group of ours to name.
    assert not {"trailBucketName", "logGroupName", "logGroupArn"} & set(run.outputs)
    # The selectors cannot be added to an organisation trail from a member account: say so, once.
    [warning] = warnings
    assert f"audit.trail is {choice!r}" in warning and ORG_TRAIL in warning and "audit.dataEvents" in warning


def test_no_warning_when_the_platform_needs_no_data_events(dev_context: StackContext, warnings: list[str]) -> None:
    build(dev_context, trail="existing", existing_trail_arn=ORG_TRAIL)
    assert warnings == []


def test_none_without_a_named_trail_has_no_trail_arn(dev_context: StackContext) -> None:
    run = build(dev_context, trail="none")
    assert "trailArn" not in run.outputs
    assert sorted(r.type for r in run.registrations) == [COMPONENT, "pulumi:pulumi:Stack"]


@pytest.mark.parametrize(("overrides", "message"), [
    ({"trail": "existing"}, "audit.trail is 'existing': set audit.existingTrailArn"),
    ({"existing_trail_arn": ORG_TRAIL}, "audit.existingTrailArn is set but audit.trail is 'create'"),
    ({"trail": "organisation"}, r"trail\n.*Input should be 'create', 'existing' or 'none'"),
    ({"trail": "existing", "existing_trail_arn": "arn:aws:iam::111122223333:role/trail"}, "existing_trail_arn"),
])
def test_trail_choice_is_checked_before_registration(dev_context: StackContext, overrides: dict[str, Any],
                                                     message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build(dev_context, **overrides)
