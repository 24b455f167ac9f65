"""Environment-dependent and structural details of the KMS, CloudTrail, SageMaker, RDS, ECR,
Kubernetes, tags and protection rules."""

from __future__ import annotations

import json

import pytest

from mlops_blueprint.policies.model import UNKNOWN
from support.policies import TAGS, run, view

KEY = "aws:kms/key:Key"
TRAIL = "aws:cloudtrail/trail:Trail"
ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
DB = "aws:rds/instance:Instance"
REPO = "aws:ecr/repository:Repository"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


# --- KMS ---------------------------------------------------------------------------------------

def test_asymmetric_keys_are_exempt_from_rotation() -> None:
    key = view(KEY, "signing", {"customerMasterKeySpec": "ECC_NIST_P256", "keyUsage": "SIGN_VERIFY"})
    assert run("kms-key-rotation", [key]) == []


def test_explicit_symmetric_key_without_rotation_is_reported() -> None:
    key = view(KEY, "data", {"customerMasterKeySpec": "SYMMETRIC_DEFAULT", "enableKeyRotation": False})
    assert [f.message for f in run("kms-key-rotation", [key])] == [
        "KMS key 'data' must set enableKeyRotation=true"]


@pytest.mark.parametrize(("environment", "props"), [
    ("dev", {"deletionWindowInDays": 7.0}),
    ("prod", {}),  # unset: AWS's default of 30 days
    ("prod", {"deletionWindowInDays": UNKNOWN}),
])
def test_deletion_window_passes(environment: str, props: dict) -> None:
    assert run("kms-prod-deletion-window", [view(KEY, "k", props)], environment=environment) == []


# --- CloudTrail ----------------------------------------------------------------------------------

def test_trail_without_any_settings_fails_three_rules_but_not_global_events() -> None:
    trail = view(TRAIL, "audit", {"s3BucketName": "audit"})
    failing = [name for name in ("cloudtrail-multi-region", "cloudtrail-log-file-validation",
                                 "cloudtrail-global-service-events", "cloudtrail-kms-encrypted")
               if run(name, [trail])]
    assert failing == ["cloudtrail-multi-region", "cloudtrail-log-file-validation", "cloudtrail-kms-encrypted"]


def test_unknown_kms_key_counts_as_set() -> None:
    assert run("cloudtrail-kms-encrypted", [view(TRAIL, "audit", {"kmsKeyId": UNKNOWN})]) == []


# --- SageMaker -----------------------------------------------------------------------------------

def test_data_capture_is_not_required_in_dev() -> None:
    assert run("sagemaker-endpoint-data-capture", [view(ENDPOINT_CONFIG, "c", {})], environment="dev") == []


def test_data_capture_missing_in_prod_is_reported() -> None:
    findings = run("sagemaker-endpoint-data-capture", [view(ENDPOINT_CONFIG, "serving", {})], environment="prod")
    assert [f.message.split(" (")[0] for f in findings] == [
        "endpoint configuration 'serving' must set dataCaptureConfig.enableCapture=true in prod"]


def test_environment_comes_from_the_resource_tags() -> None:
    """A prod-tagged resource is judged as prod even when the evaluation's default is dev."""
    config = view(ENDPOINT_CONFIG, "serving", {"tags": {"environment": "prod"}})
    assert len(run("sagemaker-endpoint-data-capture", [config], environment="dev")) == 1


# --- RDS -----------------------------------------------------------------------------------------

def test_public_cluster_instance_is_reported() -> None:
    findings = run("rds-not-publicly-accessible", [view(CLUSTER_INSTANCE, "features-1", {"publiclyAccessible": True})])
    assert [f.message.split(";")[0] for f in findings] == [
        "RDS ClusterInstance 'features-1' sets publiclyAccessible=true"]


def test_deletion_protection_is_not_required_outside_prod() -> None:
    assert run("rds-prod-deletion-protection", [view(DB, "db", {})], environment="staging") == []


# --- ECR -----------------------------------------------------------------------------------------

def test_missing_scanning_configuration_is_reported() -> None:
    assert len(run("ecr-scan-on-push", [view(REPO, "trainer", {"imageTagMutability": "IMMUTABLE"})])) == 1


def test_immutable_with_exclusions_is_not_immutable() -> None:
    assert len(run("ecr-immutable-tags", [view(REPO, "trainer", {"imageTagMutability": "IMMUTABLE_WITH_EXCLUSION"})])) == 1


# --- Kubernetes ----------------------------------------------------------------------------------

def pod(containers: list[dict], security_context: dict | None = None, init: list[dict] | None = None) -> dict:
    spec: dict = {"containers": containers}
    if security_context is not None:
        spec["securityContext"] = security_context
    if init:
        spec["initContainers"] = init
    return spec


def c(name: str, **security: object) -> dict:
    return {"name": name, "image": "trainer:1", "securityContext": dict(security),
            "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}


def deployment(spec: dict) -> object:
    return view("kubernetes:apps/v1:Deployment", "trainer", {"spec": {"template": {"spec": spec}}}, provider_props={})


def test_pod_level_run_as_non_root_is_inherited() -> None:
    assert run("k8s-run-as-non-root", [deployment(pod([c("a")], {"runAsNonRoot": True}))]) == []


def test_container_can_override_pod_level_non_root() -> None:
    findings = run("k8s-run-as-non-root", [deployment(pod([c("a"), c("b", runAsNonRoot=False)], {"runAsNonRoot": True}))])
    assert [f.message.split(" must")[0] for f in findings] == ["Deployment 'trainer' container 'b'"]


def test_init_containers_are_checked_and_each_container_reported() -> None:
    spec = pod([c("main", readOnlyRootFilesystem=True), c("sidecar")], init=[c("fetch")])
    findings = run("k8s-read-only-root-filesystem", [deployment(spec)])
    assert sorted(f.message.split(" must")[0] for f in findings) == [
        "Deployment 'trainer' container 'fetch'", "Deployment 'trainer' container 'sidecar'"]


def test_cron_job_pod_spec_is_found() -> None:
    cron = view("kubernetes:batch/v1:CronJob", "retrain", {"spec": {"schedule": "0 3 * * *", "jobTemplate": {
        "spec": {"template": {"spec": pod([c("retrain", allowPrivilegeEscalation=True)])}}}}}, provider_props={})
    findings = run("k8s-no-privilege-escalation", [cron])
    assert [f.message.split(" must")[0] for f in findings] == ["CronJob 'retrain' container 'retrain'"]


def test_missing_resources_names_both_limits() -> None:
    container = {"name": "a", "image": "x"}
    findings = run("k8s-resource-limits", [deployment(pod([container]))])
    assert [f.message for f in findings] == [
        "Deployment 'trainer' container 'a' must set resources.limits.cpu and memory"]


# --- Tags ----------------------------------------------------------------------------------------

def test_default_tags_as_dict_and_own_tags_combine() -> None:
    group = view(LOG_GROUP, "logs", {"tags": {"component": "training", "environment": "dev"}},
                 provider_props={"defaultTags": {"tags": TAGS}})
    assert run("mandatory-tags", [group]) == []


def test_resource_without_tags_or_provider_lists_every_missing_tag() -> None:
    group = view(LOG_GROUP, "logs", {}, provider_props={})
    findings = run("mandatory-tags", [group])
    assert [f.message.split(";")[0] for f in findings] == [
        "LogGroup 'logs' lacks mandatory tags project, environment, component, owner, cost-center, data-classification"]


def test_empty_tag_value_counts_as_missing() -> None:
    group = view(LOG_GROUP, "logs", {"tags": {"component": "training", "owner": ""}},
                 provider_props={"defaultTags": json.dumps({"tags": {**TAGS, "environment": "dev"}})})
    assert "lacks mandatory tags owner;" in run("mandatory-tags", [group])[0].message


@pytest.mark.parametrize(("type_", "props"), [
    ("aws:s3/bucketVersioning:BucketVersioning", {"bucket": "b"}),       # no tags input in v7
    ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", {"role": "r", "policyArn": "arn"}),
    ("mlops:storage:ArtifactStore", {}),                                # component
    ("kubernetes:apps/v1:Deployment", {"spec": {}}),
])
def test_untaggable_resources_are_exempt(type_: str, props: dict) -> None:
    assert run("mandatory-tags", [view(type_, "x", props, provider_props={})]) == []


def test_unlisted_aws_type_with_a_tags_input_is_checked() -> None:
    topic = view("aws:sns/topicSubscription:Whatever", "t", {"tags": {"component": "alerts"}}, provider_props={})
    assert len(run("mandatory-tags", [topic])) == 1


# --- Protection ----------------------------------------------------------------------------------

def test_protection_is_not_required_outside_prod() -> None:
    assert run("prod-stateful-protection", [view(KEY, "k", {})], environment="staging") == []


def test_unreported_retain_on_delete_is_not_judged() -> None:
    """The live analyzer protocol does not carry retainOnDelete (None); protect still counts."""
    assert run("prod-stateful-protection", [view(KEY, "k", {}, protect=True, retain_on_delete=None)],
               environment="prod") == []
    findings = run("prod-stateful-protection", [view(KEY, "k", {}, retain_on_delete=None)], environment="prod")
    assert [f.message for f in findings] == [
        "Key 'k' is stateful and must set protect=True and retain_on_delete=True in prod (missing: protect)"]


def test_stateless_types_need_no_protection() -> None:
    assert run("prod-stateful-protection", [view("aws:iam/role:Role", "r", {})], environment="prod") == []


def test_endpoint_kms_exempts_configurations_with_any_nvme_instance_type():
    """SageMaker refuses a KmsKeyId when any variant uses an instance-store (NVMe) type ("If any of the
    models ... use nitro-based instances with local storage, do not specify a value for the KmsKeyId",
    CreateEndpointConfig); a configuration without one still needs the key."""
    from mlops_blueprint.policies.model import PolicyContext, ResourceView
    from mlops_blueprint.policies.rules.sagemaker import _endpoint_kms

    def config(*instance_types: str) -> ResourceView:
        variants = [{"variantName": f"v{i}", "instanceType": t} for i, t in enumerate(instance_types)]
        return ResourceView(urn="urn:x", type="aws:sagemaker/endpointConfiguration:EndpointConfiguration",
                            name="gpu-config", props={"productionVariants": variants})

    ctx = PolicyContext(environment="prod")
    assert _endpoint_kms(config("ml.g5.xlarge", "ml.m5d.large"), ctx) == []
    assert _endpoint_kms(config("ml.g5.xlarge", "ml.m5.large"), ctx) == []  # the advisory rule says why
    [message] = _endpoint_kms(config("ml.p3.2xlarge", "ml.m5.large"), ctx)
    assert "gpu-config" in message and "kmsKeyArn" in message
