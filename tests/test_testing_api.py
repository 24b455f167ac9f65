"""mlops_blueprint.testing, as a team's own pytest suite would use it: on a program directory
(examples/team-platform) and on plain functions. The example is previewed once per module."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pytest

from mlops_blueprint import testing
from mlops_blueprint.testing import ConfigError, Preview, ProgramError, preview_function, preview_program, preview_stack

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "team-platform"
BUCKET, QUEUE = "aws:s3/bucket:Bucket", "aws:sqs/queue:Queue"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"


@pytest.fixture(scope="module")
def team() -> Preview:
    return preview_program(EXAMPLE, stack="dev")


def plain_bucket(kms: bool = False) -> None:
    """A bucket written by hand, SSE-S3 (or SSE-KMS) only: no versioning, logging or TLS policy."""
    bucket = aws.s3.Bucket("raw", bucket="raw-bucket")
    aws.s3.BucketServerSideEncryptionConfiguration(
        "raw-encryption", bucket=bucket.bucket,
        rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms" if kms else "AES256"},
                "bucket_key_enabled": kms}])
    pulumi.export("bucket", bucket.bucket)


# -- a program directory -------------------------------------------------------------------------


def test_preview_program_returns_plan_resources_outputs_and_findings(team):
    assert (team.project, team.stack) == ("team-platform", "dev")
    assert team.resources == team.plan["resources"] and len(team.resources) > 30
    assert team.outputs["datasetEventsQueueArn"] == team.named(QUEUE, "dataset-events")["outputs"]["arn"]
    assert team.mandatory_findings == [] and team.findings == team.plan["findings"]
    team.assert_no_mandatory_findings()
    assert team.run is not None and team.run.error is None


def test_find_resources_by_type_name_and_component(team):
    assert {q["name"] for q in team.of_type(QUEUE)} == {"dataset-events", "dataset-events-dlq"}
    assert team.of_type("aws:ec2/vpc:Vpc") == []
    # Everything below a component, by its logical name: the artifact store's three buckets.
    assert [b["name"] for b in team.in_component("artifacts", BUCKET)] == [
        "artifacts-datasets", "artifacts-logs", "artifacts-models"]
    assert team.children_of("artifacts", BUCKET) == []  # its buckets sit one level down, in SecureBuckets
    exports = team.component("exports", "mlops:storage:SecureBucket")
    children = team.children_of(exports)
    assert {r["type"] for r in children} >= {BUCKET, SSE} and children == team.children_of(exports["urn"])
    top = {r["name"] for r in team.top_level()}
    assert {"kms", "artifacts", "exports", "dataset-events"} <= top and "artifacts-datasets" not in top
    protected = team.where(lambda r: r["protect"])
    assert protected == []  # dev: nothing protected


def test_lookups_that_miss_say_what_exists(team):
    with pytest.raises(LookupError, match="found 0 .*dataset-events, dataset-events-dlq"):
        team.named(QUEUE, "events")
    with pytest.raises(LookupError, match="components: .*artifacts"):
        team.component("nosuch")
    with pytest.raises(LookupError):
        team.by_urn("urn:pulumi:dev::team-platform::nosuch")


def test_config_overrides_reach_the_program_in_its_namespace():
    prod = preview_program(EXAMPLE, config={"environment": "prod", "team-platform:eventRetentionDays": 2})
    assert prod.stack == "dev"  # the only stack file; the override makes it a prod environment
    assert all(b["protect"] and b["retainOnDelete"] for b in prod.of_type(BUCKET))
    assert prod.named(QUEUE, "dataset-events")["inputs"]["messageRetentionSeconds"] == 2 * 86400


def test_a_program_that_refuses_its_config_raises_program_error_naming_file_and_key():
    with pytest.raises(ProgramError) as caught:
        preview_program(EXAMPLE, stack="dev", config={"eventRetentionDays": 0})
    message = str(caught.value)
    assert "team-platform/__main__.py:" in message and "team-platform:eventRetentionDays is 0" in message
    assert isinstance(caught.value.__cause__, pulumi.RunError)  # the program's own exception, kept
    with pytest.raises(ConfigError, match="Pulumi.qa.yaml: no such stack file"):
        preview_program(EXAMPLE, stack="qa")


def test_preview_wraps_any_plan_json(team, tmp_path):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(team.plan))
    loaded = Preview(json.loads(path.read_text()))
    assert loaded.run is None
    assert loaded.in_component("exports") == team.in_component("exports")
    assert loaded.named(QUEUE, "dataset-events") == team.named(QUEUE, "dataset-events")


# -- a function -------------------------------------------------------------------------------------


def test_preview_function_flags_a_hand_written_bucket():
    preview = preview_function(plain_bucket)
    bucket = preview.named(BUCKET, "raw")
    preview.assert_flagged(bucket, "s3-sse-kms")
    assert {f["policy"] for f in preview.findings_for(bucket)} >= {
        "s3-sse-kms", "s3-versioning-enabled", "s3-public-access-block", "s3-tls-only"}
    with pytest.raises(AssertionError, match=r"(?s)mandatory policy findings:\n.*s3-sse-kms on raw"):
        preview.assert_no_mandatory_findings()
    with pytest.raises(AssertionError, match="expected a 'rds-encrypted' finding"):
        preview.assert_flagged(bucket, "rds-encrypted")
    assert preview.outputs == {"bucket": "raw-bucket"}


def test_preview_function_reports_what_changes_with_the_code():
    kms = preview_function(lambda: plain_bucket(kms=True))
    bucket = kms.named(BUCKET, "raw")
    assert kms.findings_for(bucket, "s3-sse-kms") == [] and kms.findings_for(bucket, "s3-versioning-enabled")


def test_preview_function_config_project_stack_and_region():
    def program() -> None:
        config = pulumi.Config()
        pulumi.export("greeting", config.require("greeting"))
        pulumi.export("limits", config.require_object("limits"))
        pulumi.export("where", f"{pulumi.get_project()}/{pulumi.get_stack()}")
        pulumi.export("region", aws.get_region().region)

    preview = preview_function(program, project="demo", stack="qa",
                               config={"greeting": "hi", "demo:limits": {"cpu": 2}, "aws:region": "eu-west-1"})
    assert preview.outputs == {"greeting": "hi", "limits": {"cpu": 2}, "where": "demo/qa", "region": "eu-west-1"}
    assert (preview.project, preview.stack) == ("demo", "qa")


def test_policy_config_demands_a_permissions_boundary():
    def program() -> None:
        aws.iam.Role("job", assume_role_policy='{"Version": "2012-10-17", "Statement": []}')

    boundary = {"iam-role-permissions-boundary": {"permissionsBoundaryArn": "arn:aws:iam::123456789012:policy/org"}}
    demanded = preview_function(program, policy_config=boundary)
    role = demanded.named("aws:iam/role:Role", "job")
    demanded.assert_flagged(role, "iam-role-permissions-boundary")
    assert preview_function(program).findings_for(role["urn"], "iam-role-permissions-boundary") == []


def test_preview_function_lets_the_program_exception_through():
    def program() -> None:
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        preview_function(program)


# -- the platform's own stacks -------------------------------------------------------------------------


def test_preview_stack_overrides_platform_keys_and_refuses_bad_ones():
    preview = preview_stack("dev", config={"owner": "feature-team"})
    (provider,) = [p for p in preview.of_type("pulumi:providers:aws") if p["name"] == "aws"]
    assert json.loads(provider["inputs"]["defaultTags"])["tags"]["owner"] == "feature-team"
    preview.assert_no_mandatory_findings()
    assert preview.in_component(preview.component("artifacts", "mlops:storage:ArtifactStore"), BUCKET)
    with pytest.raises(ConfigError, match="environment"):
        preview_stack("dev", config={"environment": "qa"})


def test_the_module_is_public_and_documented():
    assert set(testing.__all__) == {"ConfigError", "Preview", "ProgramError", "Resource", "preview_function",
                                    "preview_program", "preview_stack"}
    for name in ("Preview", "preview_function", "preview_program", "preview_stack"):
        assert ">>>" in (getattr(testing, name).__doc__ or "") or name == "Preview"
    for method in ("of_type", "named", "children_of", "in_component", "assert_no_mandatory_findings"):
        assert getattr(Preview, method).__doc__
