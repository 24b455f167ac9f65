"""TrackingServer, kubernetes backend: RDS PostgreSQL, IRSA, the hardened Deployment and its
neighbours, and the password that never reaches Pulumi.

The mock runtime gives the RDS instance the address and managed-password secret AWS would compute,
so the values built from them can be checked; ``recorded_raw_inputs`` reveals
secret inputs (the plan masks them) so the no-password checks see everything the engine gets.
"""

from __future__ import annotations

import functools
import json
import os
import re
import stat
import subprocess
import sys
import time
from dataclasses import replace
from typing import Any

import boto3
import pytest

from mlops_blueprint.components.tracking_kubernetes import (
    DB_CREDENTIALS_SCRIPT,
    backend_store_uri,
    rds_windows,
)
from support.tracking import (
    CLUSTER_OIDC,
    NODE_SECURITY_GROUP,
    TrackingRun,
    moto_endpoint,
    recorded_raw_inputs,
    run_tracking,
)
from mlops_blueprint.plan import build_plan
from mlops_blueprint.policies.engine import evaluate_plan

RDS = "aws:rds/instance:Instance"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
SUBNET_GROUP = "aws:rds/subnetGroup:SubnetGroup"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
KEY = "aws:kms/key:Key"
NAMESPACE = "kubernetes:core/v1:Namespace"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
SECRET = "kubernetes:core/v1:Secret"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE = "kubernetes:core/v1:Service"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
VERSION = "3.5.1"


@functools.lru_cache(maxsize=None)
def recorded(environment: str) -> tuple[TrackingRun, dict[str, dict[str, Any]]]:
    with recorded_raw_inputs() as raw:
        run = run_tracking(environment, config={"backend": "kubernetes", "mlflowVersion": VERSION, "modelFamilies": ["churn"]})
    return run, dict(raw)


def tracking(environment: str = "prod") -> TrackingRun:
    return recorded(environment)[0]


def only(run: TrackingRun, type_: str) -> Any:
    [registration] = [r for r in run.descendants() if r.type == type_]
    return registration


def pod(run: TrackingRun) -> dict[str, Any]:
    return only(run, DEPLOYMENT).inputs["spec"]["template"]["spec"]


def containers(run: TrackingRun) -> dict[str, dict[str, Any]]:
    spec = pod(run)
    return {c["name"]: c for c in [*spec.get("initContainers", []), *spec["containers"]]}


# -- the database ----------------------------------------------------------------------------------


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_database_is_encrypted_with_the_platform_key_private_and_in_the_database_subnets(environment):
    run = tracking(environment)
    db = only(run, RDS)
    data_key = run.run.named(KEY, "kms-data")
    sg = only(run, SG)
    assert db.parent == run.component.urn
    assert db.inputs["engine"] == "postgres" and db.inputs["engineVersion"] == "16"
    assert db.inputs["storageEncrypted"] is True
    assert db.inputs["kmsKeyId"] == data_key.outputs["arn"] == run.outputs["dataKeyArn"]
    assert data_key.urn in db.property_dependencies["kmsKeyId"]
    assert db.inputs["publiclyAccessible"] is False
    assert db.inputs["dbSubnetGroupName"] == run.outputs["dbSubnetGroupName"]
    assert db.property_dependencies["dbSubnetGroupName"] == [run.run.named(SUBNET_GROUP, "network-db").urn]
    assert db.inputs["vpcSecurityGroupIds"] == [sg.id]
    assert db.inputs["identifier"] == f"mlops-platform-{environment}-mlflow"
    assert db.inputs["backupRetentionPeriod"] >= 1
    assert db.inputs["maintenanceWindow"] == "sun:03:00-sun:04:00" and db.inputs["backupWindow"] == "02:00-02:30"


def test_prod_database_survives_deletion_and_dev_database_does_not_cost_a_snapshot():
    prod, dev = only(tracking("prod"), RDS), only(tracking("dev"), RDS)
    assert prod.inputs["deletionProtection"] is True
    assert prod.inputs["skipFinalSnapshot"] is False
    assert prod.inputs["finalSnapshotIdentifier"] == "mlops-platform-prod-mlflow-final"
    assert prod.inputs["multiAz"] is True and prod.inputs["backupRetentionPeriod"] == 30
    assert (prod.inputs["instanceClass"], prod.inputs["allocatedStorage"]) == ("db.m7g.large", 50)  # prod config
    assert (dev.inputs["instanceClass"], dev.inputs["allocatedStorage"]) == ("db.t4g.micro", 20)
    assert (prod.protect, prod.retain_on_delete) == (True, True)
    assert dev.inputs["deletionProtection"] is False
    assert dev.inputs["skipFinalSnapshot"] is True and "finalSnapshotIdentifier" not in dev.inputs
    assert dev.inputs["multiAz"] is False
    assert (dev.protect, dev.retain_on_delete) == (False, False)


def test_database_accepts_postgres_from_the_cluster_nodes_only():
    run = tracking()
    sg = only(run, SG)
    rules = [r for r in run.run.registrations if r.type in (INGRESS, EGRESS) and r.inputs.get("securityGroupId") == sg.id]
    [ingress] = rules  # and no egress rule at all
    assert ingress.type == INGRESS and ingress.parent == run.component.urn
    assert ingress.inputs["referencedSecurityGroupId"] == NODE_SECURITY_GROUP
    assert (ingress.inputs["ipProtocol"], ingress.inputs["fromPort"], ingress.inputs["toPort"]) == ("tcp", 5432, 5432)
    assert not any(k in ingress.inputs for k in ("cidrIpv4", "cidrIpv6", "prefixListId"))
    assert sg.inputs["vpcId"] == run.run.named("aws:ec2/vpc:Vpc", "network-vpc").id


def test_master_password_is_generated_by_rds_and_never_an_input_anywhere():
    for environment in ("dev", "prod"):
        run, raw = recorded(environment)
        db = only(run, RDS)
        assert db.inputs["manageMasterUserPassword"] is True
        assert db.inputs["masterUserSecretKmsKeyId"] == run.outputs["dataKeyArn"]
        assert raw[db.urn]["manageMasterUserPassword"] is True
        for urn, inputs in raw.items():  # every input the engine gets, secrets revealed
            for path, key, value in _walk(inputs):
                if "password" in key.lower():
                    assert (key, value) == ("manageMasterUserPassword", True), f"{urn} {path}"
                if isinstance(value, str):
                    assert not re.search(r"\w+://[^/\s:@]+:[^/\s@]+@", value), f"credentials in a URI at {urn} {path}"


def test_backend_store_secret_holds_a_passwordless_uri_and_the_managed_secret_arn():
    run, raw = recorded("prod")
    secret = only(run, SECRET)
    db = only(run, RDS)
    assert secret.inputs["stringData"] == "[secret]"  # Pulumi keeps the whole Secret encrypted in state
    data = raw[secret.urn]["stringData"]
    address = f"{db.inputs['identifier']}.cmock0example.us-east-1.rds.amazonaws.com"
    assert data["backend-store-uri"] == f"postgresql://mlflow@{address}:5432/mlflow?sslmode=require"
    assert data["db-secret-arn"].startswith("arn:aws:secretsmanager:us-east-1:")
    assert data["db-secret-arn"] == db.outputs["masterUserSecrets"][0]["secretArn"]
    assert db.urn in secret.property_dependencies["stringData"]
    assert secret.inputs["metadata"]["namespace"] == "mlflow"


def test_without_computed_outputs_the_backend_still_previews():
    """A real `pulumi preview` knows no RDS address or secret yet: values built from them stay unknown,
    not made up, and the program still previews."""
    from unittest import mock

    from mlops_blueprint import mock_runtime

    computed = mock_runtime._computed_outputs

    def unknown_until_created(type_, *args, **kwargs):
        outputs = computed(type_, *args, **kwargs)
        if type_ == RDS:
            for key in ("address", "port", "masterUserSecrets"):
                outputs.pop(key, None)
        return outputs

    with mock.patch.object(mock_runtime, "_computed_outputs", unknown_until_created):
        run = run_tracking("dev", config={"backend": "kubernetes", "mlflowVersion": VERSION})
    assert run.run.error is None
    policy = only(run, ROLE_POLICY)
    assert "policy" not in policy.inputs  # unknown until RDS reports the secret
    assert [f for f in evaluate_plan(build_plan(run.run)) if f["enforcement"] == "mandatory"] == []
    assert only(run, DEPLOYMENT).inputs["spec"]["template"]["spec"]["containers"]


def test_an_own_subnet_group_is_made_when_the_network_has_none():
    subnets = ("subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2")
    base = run_tracking("dev", config={"backend": "kubernetes", "mlflowVersion": VERSION})
    k = _kubernetes_args(base)
    run = run_tracking("dev", config={"backend": "kubernetes", "mlflowVersion": VERSION},
                       args_override={"kubernetes": replace(k, db_subnet_group_name=None, database_subnet_ids=subnets)})
    group = only(run, SUBNET_GROUP)
    assert group.inputs["subnetIds"] == list(subnets)
    assert group.inputs["name"] == "mlops-platform-dev-mlflow-db"
    assert only(run, RDS).inputs["dbSubnetGroupName"] == "mlops-platform-dev-mlflow-db"
    assert only(run, RDS).property_dependencies["dbSubnetGroupName"] == [group.urn]


def _kubernetes_args(run: TrackingRun):
    from mlops_blueprint.components.tracking_kubernetes import KubernetesTrackingArgs

    return KubernetesTrackingArgs(vpc_id="vpc-0123456789abcdef0", vpc_cidr="10.10.0.0/16",
                                  node_security_group_id=NODE_SECURITY_GROUP, data_key_arn=run.outputs["dataKeyArn"],
                                  db_subnet_group_name=run.outputs["dbSubnetGroupName"])


# -- IAM -------------------------------------------------------------------------------------------


def test_pod_reads_only_its_database_secret_through_secrets_manager():
    run = tracking()
    db = only(run, RDS)
    policy_registration = only(run, ROLE_POLICY)
    assert policy_registration.inputs["role"] == run.outputs["trackingRoleArn"].rsplit("/", 1)[1]
    assert run.run.named(ROLE, "roles-tracking").urn in policy_registration.property_dependencies["role"]
    policy = json.loads(policy_registration.inputs["policy"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert set(by_sid) == {"ReadDatabaseSecret", "DecryptDatabaseSecret"}
    assert by_sid["ReadDatabaseSecret"]["Resource"] == [db.outputs["masterUserSecrets"][0]["secretArn"]]
    assert by_sid["ReadDatabaseSecret"]["Action"] == ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
    assert by_sid["DecryptDatabaseSecret"]["Resource"] == [run.outputs["dataKeyArn"]]
    assert by_sid["DecryptDatabaseSecret"]["Action"] == ["kms:Decrypt"]
    assert by_sid["DecryptDatabaseSecret"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}


def test_service_account_assumes_the_tracking_role_through_irsa():
    run = tracking()
    account = only(run, SERVICE_ACCOUNT)
    role = run.run.named(ROLE, "roles-tracking")
    annotations = account.inputs["metadata"]["annotations"]
    assert annotations["eks.amazonaws.com/role-arn"] == role.outputs["arn"] == run.outputs["trackingRoleArn"]
    assert role.urn in account.dependencies
    assert account.inputs["automountServiceAccountToken"] is False
    namespace, name = account.inputs["metadata"]["namespace"], account.inputs["metadata"]["name"]
    assert pod(run)["serviceAccountName"] == name
    # The role trusts exactly this service account of the cluster's issuer.
    trust = json.loads(role.inputs["assumeRolePolicy"])
    [irsa] = [s for s in trust["Statement"] if s["Action"] == "sts:AssumeRoleWithWebIdentity"]
    issuer = CLUSTER_OIDC.split(":oidc-provider/")[1]
    assert irsa["Principal"] == {"Federated": CLUSTER_OIDC}
    assert irsa["Condition"]["StringEquals"][f"{issuer}:sub"] == f"system:serviceaccount:{namespace}:{name}"


# -- the workload ----------------------------------------------------------------------------------


def test_every_container_is_non_root_read_only_unescalated_and_bounded():
    run = tracking()
    spec = pod(run)
    assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] == 10001
    assert spec["automountServiceAccountToken"] is False
    found = containers(run)
    assert set(found) == {"mlflow", "db-credentials", "db-credentials-refresh"}
    for name, container in found.items():
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True, name
        assert security["runAsNonRoot"] is True and security["allowPrivilegeEscalation"] is False, name
        assert security["capabilities"] == {"drop": ["ALL"]}, name
        assert set(container["resources"]["limits"]) == {"cpu", "memory"}, name
        assert set(container["resources"]["requests"]) == {"cpu", "memory"}, name
    assert found["mlflow"]["resources"] == {"requests": {"cpu": "250m", "memory": "1Gi"},
                                            "limits": {"cpu": "1", "memory": "2Gi"}}


def test_server_runs_the_official_image_with_the_exported_artifact_destination_and_probes():
    run = tracking()
    server = containers(run)["mlflow"]
    args = server["args"]
    assert server["image"] == f"ghcr.io/mlflow/mlflow:v{VERSION}-full"
    assert server["command"] == ["mlflow"] and args[0] == "server"
    assert args[args.index("--artifacts-destination") + 1] == run.outputs["mlflowArtifactUri"]
    assert "--serve-artifacts" in args
    assert args[args.index("--backend-store-uri") + 1] == "$(MLFLOW_BACKEND_STORE_URI)"
    assert args[args.index("--port") + 1] == "5000" and args[args.index("--host") + 1] == "0.0.0.0"
    hosts = args[args.index("--allowed-hosts") + 1].split(",")
    assert "mlflow.mlflow.svc.cluster.local:*" in hosts and "*" not in hosts
    env = {e["name"]: e for e in server["env"]}
    assert env["MLFLOW_BACKEND_STORE_URI"]["valueFrom"]["secretKeyRef"] == {"name": "mlflow-backend-store", "key": "backend-store-uri"}
    assert env["PGPASSFILE"]["value"] == "/var/run/mlflow-db/pgpass"
    assert env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"]["value"] == "false"  # no job runner and consumers beside it
    assert not any(k.startswith("AWS_ACCESS") or k.startswith("AWS_SECRET") for k in env)  # IRSA, never keys
    for probe in ("livenessProbe", "readinessProbe"):
        assert server[probe]["httpGet"] == {"path": "/health", "port": 5000}
    assert server["ports"] == [{"containerPort": 5000, "name": "http", "protocol": "TCP"}]
    assert only(run, DEPLOYMENT).property_dependencies["spec"] == sorted(
        [run.run.named("aws:s3/bucket:Bucket", "artifacts-models").urn, only(run, SECRET).urn])


def test_password_reaches_the_pod_only_through_a_memory_volume_refreshed_from_secrets_manager():
    run = tracking()
    spec = pod(run)
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["db-credentials"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "1Mi"}
    found = containers(run)
    init, sidecar = found["db-credentials"], found["db-credentials-refresh"]
    assert [c["name"] for c in spec["initContainers"]] == ["db-credentials"]
    for container in (init, sidecar):
        assert container["command"] == ["python", "-c", DB_CREDENTIALS_SCRIPT]
        env = {e["name"]: e for e in container["env"]}
        assert env["DB_SECRET_ARN"]["valueFrom"]["secretKeyRef"] == {"name": "mlflow-backend-store", "key": "db-secret-arn"}
        assert {"mountPath": "/var/run/mlflow-db", "name": "db-credentials"} in container["volumeMounts"]
    assert init.get("args", []) == [] and sidecar["args"] == ["--loop"]


def test_service_disruption_budget_autoscaler_and_network_policy():
    run = tracking()
    labels = only(run, DEPLOYMENT).inputs["spec"]["selector"]["matchLabels"]
    assert "replicas" not in only(run, DEPLOYMENT).inputs["spec"]  # the autoscaler owns the count
    service = only(run, SERVICE).inputs["spec"]
    assert service["type"] == "ClusterIP" and service["selector"] == labels
    assert service["ports"] == [{"name": "http", "port": 5000, "protocol": "TCP", "targetPort": "http"}]
    assert only(run, PDB).inputs["spec"] == {"maxUnavailable": 1, "selector": {"matchLabels": labels}}
    hpa = only(run, HPA).inputs["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 6)  # prod defaults
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "mlflow"}
    assert only(run, DEPLOYMENT).urn in only(run, HPA).dependencies

    policies = {r.inputs["metadata"]["name"]: r.inputs for r in run.descendants() if r.type == NETWORK_POLICY}
    assert set(policies) == {"default-deny", "mlflow"}
    # Everything else in the namespace starts isolated: all pods selected, no rule allows anything.
    assert policies["default-deny"]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    assert policies["default-deny"]["metadata"]["namespace"] == "mlflow"
    policy = policies["mlflow"]["spec"]
    assert policy["podSelector"] == {"matchLabels": labels} and policy["policyTypes"] == ["Ingress", "Egress"]
    [ingress] = policy["ingress"]
    assert ingress["ports"] == [{"port": 5000, "protocol": "TCP"}]
    assert ingress["from"] == [
        {"podSelector": {}},
        {"namespaceSelector": {}, "podSelector": {"matchLabels": {"mlops-platform/mlflow-client": "true"}}},
    ]
    egress = {tuple(sorted((p["protocol"], p["port"]) for p in rule["ports"])): rule["to"] for rule in policy["egress"]}
    assert egress[(("TCP", 53), ("UDP", 53))] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}]
    assert egress[(("TCP", 5432),)] == [{"ipBlock": {"cidr": run.outputs["vpcCidr"]}}]
    assert egress[(("TCP", 443),)] == [{"ipBlock": {"cidr": "0.0.0.0/0"}}]
    assert len(policy["egress"]) == 3


def test_kubernetes_objects_use_the_parents_cluster_provider_and_live_in_the_namespace():
    run = tracking()
    namespace = only(run, NAMESPACE)
    cluster = run.run.named("pulumi:providers:kubernetes", "cluster")
    aws_provider = run.run.named("pulumi:providers:aws", "aws")
    for registration in run.descendants():
        expected = cluster if registration.type.startswith("kubernetes:") else aws_provider
        assert registration.provider == f"{expected.urn}::{expected.id}", registration.name
        assert registration.parent == run.component.urn
        if registration.type.startswith("kubernetes:") and registration.type != NAMESPACE:
            assert registration.inputs["metadata"]["namespace"] == "mlflow"
            assert namespace.urn in registration.dependencies, registration.name
    assert namespace.inputs["metadata"]["name"] == "mlflow"
    labels = namespace.inputs["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
        assert labels[f"pod-security.kubernetes.io/{mode}-version"] == "latest"


def test_outputs_point_at_the_in_cluster_service():
    run = tracking()
    assert run.outputs["trackingServerUrl"] == "http://mlflow.mlflow.svc.cluster.local:5000" == run.outputs["trackingUri"]
    assert run.outputs["databaseArn"] == only(run, RDS).outputs["arn"]
    assert "trackingServerArn" in run.outputs["none"]


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_policy_pack_has_no_mandatory_findings(environment):
    findings = [f for f in evaluate_plan(build_plan(tracking(environment).run)) if f["enforcement"] == "mandatory"]
    assert findings == []


def test_policy_pack_catches_an_unprotected_prod_database():
    """The pack sees what the component sends: the check above can fail."""
    loose = run_tracking("prod", config={"backend": "kubernetes", "mlflowVersion": VERSION,
                                         "kubernetes": {"database": {"deletionProtection": False}}},
                         args_override={"protect": False})
    policies = {f["policy"] for f in evaluate_plan(build_plan(loose.run)) if f["enforcement"] == "mandatory"}
    assert {"rds-prod-deletion-protection", "prod-stateful-protection"} <= policies


# -- helpers and validation ------------------------------------------------------------------------


def test_rds_windows_follow_the_weekly_window_without_overlap():
    assert rds_windows("Sun:03:00") == ("sun:03:00-sun:04:00", "02:00-02:30")
    assert rds_windows("Sat:23:30") == ("sat:23:30-sun:00:30", "22:30-23:00")
    assert rds_windows("Mon:00:10") == ("mon:00:10-mon:01:10", "23:10-23:40")


def test_backend_store_uri_carries_no_password():
    assert backend_store_uri("db.example", 5432.0) == "postgresql://mlflow@db.example:5432/mlflow?sslmode=require"


def test_kubernetes_args_are_validated_before_anything_is_registered():
    base = tracking()
    k = _kubernetes_args(base)
    bad = replace(k, node_security_group_id="default", vpc_cidr="10.0.0.1/16", db_subnet_group_name=None,
                  database_subnet_ids=(), cluster_domain="Cluster_Local", data_key_arn=None)
    run = run_tracking("prod", config={"backend": "kubernetes", "mlflowVersion": VERSION},
                       args_override={"kubernetes": bad}, capture_errors=True)
    assert isinstance(run.run.error, ValueError)
    assert run.run.of_type("mlops:tracking:TrackingServer") == []
    message = str(run.run.error)
    for expected in ("kubernetes.node_security_group_id: 'default' is not a security group id",
                     "kubernetes.vpc_cidr: '10.0.0.1/16' is not an IPv4 CIDR",
                     "kubernetes.db_subnet_group_name: required, or give two or more database_subnet_ids",
                     "kubernetes.cluster_domain: 'Cluster_Local' is not a DNS domain",
                     "kubernetes: data_key_arn required"):
        assert expected in message


def test_config_mapping_needs_the_network_and_key_for_kubernetes():
    from mlops_blueprint.components.tracking_server import TrackingServer, tracking_server_args
    from support.tracking import context, tracking_settings

    settings = tracking_settings("dev", backend="kubernetes", mlflowVersion=VERSION)
    args = tracking_server_args(context("dev"), settings, tracking_role_arn=tracking().outputs["trackingRoleArn"].replace(
        "prod", "dev"), models_bucket_name="bucket-example")
    with pytest.raises(ValueError, match="kubernetes: vpc_id, vpc_cidr, node_security_group_id, data_key_arn required"):
        TrackingServer("t", args)  # raises before registering: no runtime needed
    assert args.kubernetes is not None and args.settings is settings
    assert (settings.kubernetes.replicas, settings.kubernetes.max_replicas) == (1, 2)  # dev's defaults


def test_settings_reach_the_workload_and_the_database():
    run = run_tracking("dev", config={"backend": "kubernetes", "mlflowVersion": "3.0", "kubernetes": {
        "image": "registry.example/mlflow:3.0.1-pg", "namespace": "ml-tracking", "workers": 3,
        "credentialsRefreshSeconds": 120, "resources": {"memoryLimit": "4Gi"}, "jobExecution": True,
        "database": {"engineVersion": "17", "allocatedStorage": 40}}})
    server = containers(run)["mlflow"]
    assert server["image"] == "registry.example/mlflow:3.0.1-pg"
    assert server["args"][server["args"].index("--workers") + 1] == "3"
    assert server["resources"]["limits"]["memory"] == "4Gi" and server["resources"]["requests"]["memory"] == "1Gi"
    assert {e["name"]: e.get("value") for e in server["env"]}["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "true"
    refresh = {e["name"]: e.get("value") for e in containers(run)["db-credentials-refresh"]["env"]}
    assert refresh["REFRESH_SECONDS"] == "120"
    assert only(run, NAMESPACE).inputs["metadata"]["name"] == "ml-tracking"
    db = only(run, RDS)
    assert (db.inputs["engineVersion"], db.inputs["allocatedStorage"]) == ("17", 40)


# -- the credentials script, for real, against moto's Secrets Manager ------------------------------


@pytest.fixture(scope="module")
def secrets_manager():
    with moto_endpoint() as endpoint:
        yield endpoint


def _walk(value: Any, path: str = "") -> list[tuple[str, str, Any]]:
    found: list[tuple[str, str, Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.append((f"{path}.{key}", str(key), item))
            found += _walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.append((f"{path}[{index}]", "", item))
            found += _walk(item, f"{path}[{index}]")
    return found


def test_credentials_script_writes_a_private_pgpass_file_and_keeps_it_current(secrets_manager, tmp_path):
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    client = boto3.client("secretsmanager", region_name="us-east-1", endpoint_url=secrets_manager, **credentials)
    arn = client.create_secret(Name="rds!db-example",
                               SecretString=json.dumps({"username": "mlflow", "password": r"p:a\ss"}))["ARN"]
    pgpass = tmp_path / "pgpass"
    # The sidecar's environment as the Deployment sets it; what the IRSA webhook would add (credentials)
    # and the endpoint are moto's; the paths are this test's.
    [sidecar] = [c for c in pod(tracking())["containers"] if c["name"] == "db-credentials-refresh"]
    env = {e["name"]: e["value"] for e in sidecar["env"] if "value" in e}
    assert {"AWS_REGION", "AWS_DEFAULT_REGION", "PGPASSFILE", "REFRESH_SECONDS"} <= set(env)
    env.update({"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "PGPASSFILE": str(pgpass),
                "DB_SECRET_ARN": arn, "REFRESH_SECONDS": "1", "AWS_ENDPOINT_URL": secrets_manager,
                "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")})

    once = subprocess.run([sys.executable, "-c", DB_CREDENTIALS_SCRIPT], env=env, capture_output=True, text=True, timeout=60)
    assert once.returncode == 0, once.stderr
    assert pgpass.read_text() == "*:*:*:mlflow:p\\:a\\\\ss\n"  # libpq escaping of ':' and '\'
    assert stat.S_IMODE(pgpass.stat().st_mode) == 0o600  # libpq ignores group/world-readable files

    loop = subprocess.Popen([sys.executable, "-c", DB_CREDENTIALS_SCRIPT, "--loop"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        client.put_secret_value(SecretId=arn, SecretString=json.dumps({"username": "mlflow", "password": "rotated"}))
        deadline = time.monotonic() + 30
        while pgpass.read_text() != "*:*:*:mlflow:rotated\n":
            assert loop.poll() is None, loop.communicate()[1]
            assert time.monotonic() < deadline, "the sidecar did not pick up the rotated password"
            time.sleep(0.2)
        assert stat.S_IMODE(pgpass.stat().st_mode) == 0o600
    finally:
        loop.kill()
        loop.wait(timeout=10)
