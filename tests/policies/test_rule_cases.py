"""Every rule, one compliant and one violating case each (the table must cover ALL_RULES).

Each violating case names its offender and a fragment of what would be valid; the test asserts
the finding's policy, enforcement, urn and that the message names the resource.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from mlops_blueprint.policies.model import ResourceView
from mlops_blueprint.policies.rules import ALL_RULES, RULES_BY_NAME
from support.policies import (
    BUCKET,
    BUCKET_POLICY,
    ENCRYPTION,
    LOGGING,
    OWNERSHIP,
    PUBLIC_ACCESS_BLOCK,
    TAGS,
    VERSIONING,
    platform_buckets,
    run,
    view,
)

KEY = "aws:kms/key:Key"
TRAIL = "aws:cloudtrail/trail:Trail"
ROLE = "aws:iam/role:Role"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
ACCESS_KEY = "aws:iam/accessKey:AccessKey"
USER = "aws:iam/user:User"
ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
MODEL = "aws:sagemaker/model:Model"
NOTEBOOK = "aws:sagemaker/notebookInstance:NotebookInstance"
DOMAIN = "aws:sagemaker/domain:Domain"
DB = "aws:rds/instance:Instance"
CLUSTER = "aws:rds/cluster:Cluster"
REPO = "aws:ecr/repository:Repository"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"

KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd"
BOUNDARY = "arn:aws:iam::123456789012:policy/platform-boundary"
ASSUME = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


SCOPED = doc({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::models/*"})
ADMIN = doc({"Effect": "Allow", "Action": "*", "Resource": "*"})

TRAIL_OK = {"s3BucketName": "audit", "isMultiRegionTrail": True, "enableLogFileValidation": True,
            "includeGlobalServiceEvents": True, "kmsKeyId": KEY_ARN}


def trail(**changes: object) -> ResourceView:
    props = {**TRAIL_OK, **changes}
    return view(TRAIL, "audit-trail", {k: v for k, v in props.items() if v is not None})


def role(**props: object) -> ResourceView:
    return view(ROLE, "training-role", {"assumeRolePolicy": ASSUME, **props})


def container(**changes: object) -> dict:
    base: dict = {
        "name": "trainer",
        "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/trainer@sha256:abc",
        "securityContext": {"runAsNonRoot": True, "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False},
        "resources": {"limits": {"cpu": "2", "memory": "4Gi"}, "requests": {"cpu": "1", "memory": "2Gi"}},
    }
    for key, value in changes.items():
        if key in ("runAsNonRoot", "readOnlyRootFilesystem", "allowPrivilegeEscalation"):
            base["securityContext"][key] = value
        else:
            base[key] = value
    return base


def deployment(*containers: dict) -> ResourceView:
    return view(DEPLOYMENT, "trainer", {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "spec": {"selector": {"matchLabels": {"app": "trainer"}}, "template": {
            "metadata": {"labels": {"app": "trainer"}},
            "spec": {"containers": list(containers)}}}}, provider_props={})


@dataclass(frozen=True)
class Case:
    passing: list[ResourceView]
    failing: list[ResourceView]
    offender: str                 # logical name the message must quote
    expect: str                   # fragment of the message (what would be valid)
    environment: str = "dev"
    boundary: str | None = None
    offender_type: str | None = None
    extra: dict = field(default_factory=dict)


def flip(type_: str, name: str, path: str, good: object, bad: object, expect: str, **options: object) -> Case:
    """A case over one resource whose input at dotted ``path`` is ``good``, then ``bad``."""

    def resource(value: object) -> ResourceView:
        props: dict = {}
        *parents, leaf = path.split(".")
        node = props
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
        return view(type_, name, props)

    return Case([resource(good)], [resource(bad)], name, expect, **options)  # type: ignore[arg-type]


CASES: dict[str, Case] = {
    # S3 (stack rules over v7's per-setting resources)
    "s3-versioning-enabled": Case(
        platform_buckets(),
        platform_buckets(overrides={VERSIONING: None}),
        "models", "has no BucketVersioning with status Enabled (none found)"),
    "s3-sse-kms": Case(
        platform_buckets(),
        platform_buckets(overrides={ENCRYPTION: {"bucket": "mlops-platform-dev-models-123456789012-us-east-1", "rules": [
            {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]}}),
        "models", "with sseAlgorithm aws:kms and bucketKeyEnabled true"),
    "s3-public-access-block": Case(
        platform_buckets(),
        platform_buckets(overrides={PUBLIC_ACCESS_BLOCK: {
            "bucket": "mlops-platform-dev-models-123456789012-us-east-1", "blockPublicAcls": True,
            "blockPublicPolicy": False, "ignorePublicAcls": True, "restrictPublicBuckets": True}}),
        "models", "does not set blockPublicPolicy to true"),
    "s3-tls-only": Case(
        platform_buckets(),
        platform_buckets(overrides={BUCKET_POLICY: {
            "bucket": "mlops-platform-dev-models-123456789012-us-east-1", "policy": SCOPED}}),
        "models", "denying aws:SecureTransport false"),
    "s3-access-logging": Case(
        platform_buckets(),
        platform_buckets(overrides={LOGGING: None}),
        "models", "has no BucketLogging with a targetBucket"),
    "s3-ownership-enforced": Case(
        platform_buckets(),
        platform_buckets(overrides={OWNERSHIP: {
            "bucket": "mlops-platform-dev-models-123456789012-us-east-1", "rule": {"objectOwnership": "ObjectWriter"}}}),
        "models", 'has objectOwnership "ObjectWriter"'),
    "s3-no-force-destroy-in-prod": Case(
        [view(BUCKET, "models", {"bucket": "m", "forceDestroy": False})],
        [view(BUCKET, "models", {"bucket": "m", "forceDestroy": True})],
        "models", "forceDestroy=true in prod", environment="prod"),
    # KMS
    "kms-key-rotation": Case(
        [view(KEY, "platform-key", {"enableKeyRotation": True})],
        [view(KEY, "platform-key", {"description": "no rotation"})],
        "platform-key", "must set enableKeyRotation=true"),
    "kms-prod-deletion-window": Case(
        [view(KEY, "platform-key", {"enableKeyRotation": True, "deletionWindowInDays": 30.0})],
        [view(KEY, "platform-key", {"enableKeyRotation": True, "deletionWindowInDays": 7.0})],
        "platform-key", "deletionWindowInDays=7 in prod; use 30", environment="prod"),
    # CloudTrail
    "cloudtrail-multi-region": Case(
        [trail()], [trail(isMultiRegionTrail=None)], "audit-trail", "must set isMultiRegionTrail=true"),
    "cloudtrail-log-file-validation": Case(
        [trail()], [trail(enableLogFileValidation=False)], "audit-trail", "must set enableLogFileValidation=true"),
    "cloudtrail-global-service-events": Case(
        [trail(includeGlobalServiceEvents=None)], [trail(includeGlobalServiceEvents=False)],
        "audit-trail", "must set includeGlobalServiceEvents=true"),
    "cloudtrail-kms-encrypted": Case(
        [trail()], [trail(kmsKeyId=None)], "audit-trail", "has no kmsKeyId"),
    # IAM
    "iam-no-admin-wildcard": Case(
        [role(inlinePolicies=[{"name": "read-models", "policy": SCOPED}])],
        [role(inlinePolicies=[{"name": "read-models", "policy": SCOPED}, {"name": "god-mode", "policy": ADMIN}])],
        "training-role", "inline policy 'god-mode' of Role 'training-role' allows Action '*' on Resource '*'"),
    "iam-no-aws-full-access-policies": Case(
        [view(ROLE_POLICY_ATTACHMENT, "training-readonly",
              {"role": "training", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"})],
        [view(ROLE_POLICY_ATTACHMENT, "training-s3",
              {"role": "training", "policyArn": "arn:aws:iam::aws:policy/AmazonS3FullAccess"})],
        "training-s3",
        "RolePolicyAttachment 'training-s3' attaches AWS-managed policy arn:aws:iam::aws:policy/AmazonS3FullAccess"),
    "iam-role-permissions-boundary": Case(
        [role(permissionsBoundary=BOUNDARY)], [role()],
        "training-role", f"must use permissions boundary {BOUNDARY} (has none)", boundary=BOUNDARY),
    "iam-no-access-keys": Case(
        [view(USER, "ci-user", {"name": "ci"})], [view(ACCESS_KEY, "ci-key", {"user": "ci"})],
        "ci-key", "use roles"),
    # SageMaker
    "sagemaker-endpoint-kms": Case(
        [view(ENDPOINT_CONFIG, "serving-config", {"kmsKeyArn": KEY_ARN})],
        [view(ENDPOINT_CONFIG, "serving-config", {"productionVariants": [{"modelName": "m", "variantName": "v"}]})],
        "serving-config", "has no kmsKeyArn"),
    "sagemaker-endpoint-instance-store": Case(
        [view(ENDPOINT_CONFIG, "serving-config", {"kmsKeyArn": KEY_ARN, "productionVariants": [
            {"modelName": "m", "variantName": "cpu", "instanceType": "ml.m5.xlarge"}]})],
        [view(ENDPOINT_CONFIG, "serving-config", {"productionVariants": [
            {"modelName": "m", "variantName": "cpu", "instanceType": "ml.m5.xlarge"},
            {"modelName": "m", "variantName": "gpu", "instanceType": "ml.g5.xlarge"}]})],
        "serving-config", "SageMaker refuses a KmsKeyId for such a configuration; the EBS volumes of the other "
                          "variants (cpu)", environment="prod"),
    "sagemaker-serverless-dev": Case(
        [view(ENDPOINT_CONFIG, "serving-config", {"kmsKeyArn": KEY_ARN, "productionVariants": [
            {"modelName": "m", "variantName": "current", "instanceType": "ml.t2.medium"}]})],
        [view(ENDPOINT_CONFIG, "serving-config", {"productionVariants": [
            {"modelName": "m", "variantName": "current", "serverlessConfig": {"memorySizeInMb": 2048}}]})],
        "serving-config", "no VPC, network isolation, customer-managed KMS key or data capture"),
    "sagemaker-endpoint-data-capture": Case(
        [view(ENDPOINT_CONFIG, "serving-config", {"kmsKeyArn": KEY_ARN, "dataCaptureConfig": {
            "enableCapture": True, "initialSamplingPercentage": 100.0, "destinationS3Uri": "s3://capture/",
            "captureOptions": [{"captureMode": "Input"}, {"captureMode": "Output"}]}})],
        [view(ENDPOINT_CONFIG, "serving-config", {"kmsKeyArn": KEY_ARN, "dataCaptureConfig": {
            "enableCapture": False, "initialSamplingPercentage": 100.0, "destinationS3Uri": "s3://capture/",
            "captureOptions": [{"captureMode": "Input"}]}})],
        "serving-config", "must set dataCaptureConfig.enableCapture=true in staging", environment="staging"),
    "sagemaker-model-network-isolation": flip(MODEL, "churn-model", "enableNetworkIsolation", True, False,
                                              "has enableNetworkIsolation false; set it to true"),
    "sagemaker-model-vpc": Case(
        [view(MODEL, "churn-model", {"vpcConfig": {"securityGroupIds": ["sg-1"], "subnets": ["subnet-1"]}})],
        [view(MODEL, "churn-model", {"enableNetworkIsolation": True})],
        "churn-model", "has no vpcConfig"),
    "sagemaker-notebook-no-direct-internet": Case(
        [view(NOTEBOOK, "explore", {"directInternetAccess": "Disabled"})],
        [view(NOTEBOOK, "explore", {"rootAccess": "Disabled"})],
        "explore", 'has directInternetAccess unset; set it to "Disabled"'),
    "sagemaker-notebook-no-root": flip(
        NOTEBOOK, "explore", "rootAccess", "Disabled", "Enabled", 'has rootAccess "Enabled"; set it to "Disabled"'),
    "sagemaker-domain-vpc-only": flip(DOMAIN, "studio", "appNetworkAccessType", "VpcOnly", "PublicInternetOnly",
                                      'has appNetworkAccessType "PublicInternetOnly"; set it to "VpcOnly"'),
    # RDS
    "rds-storage-encrypted": Case(
        [view(DB, "mlflow-db", {"storageEncrypted": True}), view(CLUSTER, "features", {"storageEncrypted": True})],
        [view(CLUSTER, "features", {"engine": "aurora-postgresql"})],
        "features", "RDS Cluster 'features' must set storageEncrypted=true"),
    "rds-not-publicly-accessible": flip(
        DB, "mlflow-db", "publiclyAccessible", False, True, "sets publiclyAccessible=true"),
    "rds-prod-deletion-protection": flip(DB, "mlflow-db", "deletionProtection", True, False,
                                         "must set deletionProtection=true in prod", environment="prod"),
    # ECR
    "ecr-scan-on-push": flip(REPO, "trainer", "imageScanningConfiguration.scanOnPush", True, False,
                             "must set imageScanningConfiguration.scanOnPush=true"),
    "ecr-immutable-tags": flip(REPO, "trainer", "imageTagMutability", "IMMUTABLE", "MUTABLE",
                               'has imageTagMutability "MUTABLE"; set it to "IMMUTABLE"'),
    # Kubernetes
    "k8s-run-as-non-root": Case(
        [deployment(container())], [deployment(container(runAsNonRoot=False))],
        "trainer", "container 'trainer' must set securityContext.runAsNonRoot=true"),
    "k8s-read-only-root-filesystem": Case(
        [deployment(container())], [deployment(container(readOnlyRootFilesystem=False))],
        "trainer", "container 'trainer' must set securityContext.readOnlyRootFilesystem=true"),
    "k8s-no-privilege-escalation": Case(
        [deployment(container())], [deployment(container(allowPrivilegeEscalation=True))],
        "trainer", "container 'trainer' must set securityContext.allowPrivilegeEscalation=false"),
    "k8s-resource-limits": Case(
        [deployment(container())], [deployment(container(resources={"limits": {"cpu": "2"}}))],
        "trainer", "container 'trainer' must set resources.limits.memory"),
    "k8s-pod-security-restricted": Case(
        [deployment(container(securityContext={"runAsNonRoot": True, "readOnlyRootFilesystem": True,
                                               "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                               "seccompProfile": {"type": "RuntimeDefault"}}))],
        [deployment(container(securityContext={"runAsNonRoot": True, "readOnlyRootFilesystem": True,
                                               "allowPrivilegeEscalation": False,
                                               "seccompProfile": {"type": "RuntimeDefault"}}))],  # capabilities kept
        "trainer", "container 'trainer' must drop ALL capabilities"),
    # Tags
    "mandatory-tags": Case(
        [view(LOG_GROUP, "training-logs", {"retentionInDays": 365.0, "tags": {"component": "training"}},
              provider_props={"defaultTags": json.dumps({"tags": {**TAGS, "environment": "dev"}})})],
        [view(LOG_GROUP, "training-logs", {"retentionInDays": 365.0},
              provider_props={"defaultTags": json.dumps({"tags": {**TAGS, "environment": "dev"}})})],
        "training-logs", "LogGroup 'training-logs' lacks mandatory tags component;"),
    # Protection
    "prod-stateful-protection": Case(
        [view(LOG_GROUP, "training-logs", {}, protect=True, retain_on_delete=True)],
        [view(LOG_GROUP, "training-logs", {}, protect=True, retain_on_delete=False)],
        "training-logs", "must set protect=True and retain_on_delete=True in prod (missing: retain_on_delete)",
        environment="prod"),
}


def test_every_rule_has_a_case() -> None:
    assert sorted(CASES) == sorted(RULES_BY_NAME)


@pytest.mark.parametrize("name", sorted(CASES))
def test_compliant_case_passes(name: str) -> None:
    case = CASES[name]
    assert run(name, case.passing, case.environment, case.boundary) == []


@pytest.mark.parametrize("name", sorted(CASES))
def test_violating_case_is_reported(name: str) -> None:
    case = CASES[name]
    findings = run(name, case.failing, case.environment, case.boundary)
    offenders = [r for r in case.failing if r.name == case.offender]
    assert len(findings) == 1, findings
    finding = findings[0]
    assert finding.policy == name
    assert finding.enforcement == RULES_BY_NAME[name].enforcement
    assert finding.urn in {r.urn for r in offenders}
    assert f"'{case.offender}'" in finding.message
    assert case.expect in finding.message


def test_advisory_rules_are_the_intended_ones() -> None:
    advisory = sorted(r.name for r in ALL_RULES if r.enforcement == "advisory")
    assert advisory == ["kms-prod-deletion-window", "s3-ownership-enforced", "sagemaker-endpoint-instance-store",
                        "sagemaker-serverless-dev"]
