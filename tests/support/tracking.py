"""A TrackingServer wired as the platform stack wires it, run under the mock runtime: for tests.

Shared by the tracking tests through ``tests/support`` (on pytest's path). :func:`run_tracking` builds the real Kms, Network, ArtifactStore
and PlatformRoles, an AWS provider with the stack's default tags and a Kubernetes provider, and the
TrackingServer under test, and exports everything a test needs to match references.

The mock runtime itself computes the attributes AWS would (an RDS instance's address, port and
managed password secret; a tracking server's URL), so tests can assert on the values built from them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from unittest import mock

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pulumi.runtime import rpc

from mlops_blueprint.components.artifact_store import ArtifactStore, ArtifactStoreArgs
from mlops_blueprint.components.artifact_store_settings import ArtifactStoreSettings
from mlops_blueprint.components.kms import Kms, KmsArgs
from mlops_blueprint.components.network import Network, NetworkArgs
from mlops_blueprint.components.platform_roles import MlflowAccess, PlatformRoles, PlatformRolesArgs
from mlops_blueprint.components.tracking_server import (
    TrackingEndpointArgs,
    TrackingServer,
    tracking_server_args,
    tracking_service_account,
)
from mlops_blueprint.components.tracking_server_settings import TRACKING_DEFAULTS, TrackingServerSettings
from mlops_blueprint.config import deep_merge
from mlops_blueprint.context import StackContext
from mlops_blueprint.mock_runtime import MOCK_ACCOUNT_ID, MockRun, RecordingMonitor, run_program
from mlops_blueprint.naming import Naming
from mlops_blueprint.tags import Tagging

PROJECT = "mlops-platform"
RDS_INSTANCE = "aws:rds/instance:Instance"
TRACKING_SERVER = "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer"
CLUSTER_OIDC = f"arn:aws:iam::{MOCK_ACCOUNT_ID}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
NODE_SECURITY_GROUP = "sg-0a1b2c3d4e5f60718"


def context(environment: str = "dev", region: str = "us-east-1") -> StackContext:
    return StackContext(
        naming=Naming(project=PROJECT, environment=environment, account_id=MOCK_ACCOUNT_ID, region=region),
        tagging=Tagging(project=PROJECT, environment=environment, owner="ml-platform",
                        cost_center="cc-1234", data_classification="confidential"),
    )


def tracking_settings(environment: str, **overrides: Any) -> TrackingServerSettings:
    """The environment's tracking defaults with ``overrides`` (camelCase keys) on top."""
    return TrackingServerSettings.model_validate(deep_merge(TRACKING_DEFAULTS[environment], overrides))


@dataclass
class TrackingRun:
    """One run: the registrations, the stack outputs, and the tracking component's urn."""

    run: MockRun
    environment: str
    backend: str
    outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def component(self) -> Any:
        [component] = [r for r in self.run.registrations if r.type == "mlops:tracking:TrackingServer"]
        return component

    def descendants(self, urn: str | None = None) -> list[Any]:
        """Every registration below ``urn`` (default: the tracking component)."""
        root = urn or self.component.urn
        found, frontier = [], [root]
        while frontier:
            children = [r for r in self.run.registrations if r.parent in frontier]
            found += children
            frontier = [c.urn for c in children]
        return found


def run_tracking(
    environment: str = "dev",
    *,
    config: Mapping[str, Any] | None = None,
    args_override: Mapping[str, Any] | None = None,
    capture_errors: bool = False,
) -> TrackingRun:
    """The platform's foundation components plus a TrackingServer built from the environment's
    tracking defaults with ``config`` (camelCase) on top; ``args_override`` replaces fields of the
    resulting TrackingServerArgs (e.g. wiring with invalid values)."""
    ctx = context(environment)
    tracking = tracking_settings(environment, **(config or {}))
    stateful = {"protect": environment == "prod", "retain_on_delete": environment == "prod"}
    exported: dict[str, Any] = {}

    def program() -> None:
        provider = aws.Provider("aws", region=ctx.region, default_tags={"tags": ctx.tagging.default_tags()})
        cluster = k8s.Provider("cluster", kubeconfig="{}", context="test", enable_server_side_apply=True)
        opts = pulumi.ResourceOptions(providers={"aws": provider, "kubernetes": cluster})
        kms = Kms("kms", KmsArgs(context=ctx, **stateful), opts)
        network = Network("network", NetworkArgs(context=ctx, logs_kms_key_arn=kms.logs_key_arn, **stateful), opts)
        artifacts = ArtifactStore("artifacts", ArtifactStoreArgs(
            context=ctx, kms_key_arn=kms.data_key_arn,
            settings=ArtifactStoreSettings(force_destroy=environment == "dev"), **stateful), opts)
        trust = tracking_service_account(CLUSTER_OIDC, tracking.kubernetes.namespace) if tracking.backend == "kubernetes" else None
        roles = PlatformRoles("roles", PlatformRolesArgs(
            context=ctx, data_key_arn=kms.data_key_arn, logs_key_arn=kms.logs_key_arn,
            datasets_bucket_arn=artifacts.datasets_bucket_arn, models_bucket_arn=artifacts.models_bucket_arn,
            tracking_service_account=trust), opts)
        args = tracking_server_args(
            ctx, tracking, tracking_role_arn=roles.tracking_role_arn, models_bucket_name=artifacts.models_bucket_name,
            data_key_arn=kms.data_key_arn, vpc_id=network.vpc_id, vpc_cidr=network.vpc_cidr,
            db_subnet_group_name=network.db_subnet_group_name, database_subnet_ids=network.database_subnet_ids,
            node_security_group_id=NODE_SECURITY_GROUP,
            private_endpoint=TrackingEndpointArgs(network.vpc_id, network.serving_subnet_ids,
                                                  (network.workload_security_group_id,)),
            role_policies=roles.depends_on("tracking"), **stateful)
        if args_override:
            args = replace(args, **args_override)
        server = TrackingServer("tracking", args, opts)
        roles.grant_mlflow(MlflowAccess(server.backend, server.tracking_server_arn, network.vpc_id,
                                        users_vpc_only=tracking.users_vpc_only))
        for key, value in {
            "trackingUri": server.tracking_uri,
            "trackingServerUrl": server.tracking_server_url,
            "trackingServerArn": server.tracking_server_arn,
            "mlflowArtifactUri": server.mlflow_artifact_uri,
            "modelPackageGroupNames": server.model_package_group_names,
            "trackingRoleArn": roles.tracking_role_arn,
            "modelsBucketName": artifacts.models_bucket_name,
            "modelsBucketArn": artifacts.models_bucket_arn,
            "dataKeyArn": kms.data_key_arn,
            "dbSubnetGroupName": network.db_subnet_group_name,
            "vpcCidr": network.vpc_cidr,
            "databaseArn": server.database_arn,
            "vpcId": network.vpc_id,
            "workloadSecurityGroupId": network.workload_security_group_id,
            "mlflowVpcEndpointId": server.vpc_endpoint_id,
            "mlflowUserPolicyArn": roles.mlflow_user_policy_arn,
        }.items():
            pulumi.export(key, value)
        # The engine drops None exports: record which attributes were None.
        pulumi.export("none", sorted(k for k, v in {"trackingServerUrl": server.tracking_server_url,
                                                     "trackingServerArn": server.tracking_server_arn,
                                                     "databaseArn": server.database_arn}.items() if v is None))

    run = run_program(program, stack=environment, project=PROJECT, region=ctx.region, capture_errors=capture_errors)
    exported.update(run.outputs)
    return TrackingRun(run=run, environment=environment, backend=tracking.backend, outputs=exported)


@contextlib.contextmanager
def moto_endpoint() -> Iterator[str]:
    """moto's server on 127.0.0.1 (a free port) while the block runs: its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@contextlib.contextmanager
def recorded_custom_timeouts() -> Iterator[dict[str, dict[str, str]]]:
    """``{urn: {"create": ..., "update": ..., "delete": ...}}`` for every registration that sets
    custom timeouts (the harness records every other option, not this one)."""
    seen: dict[str, dict[str, str]] = {}
    original = RecordingMonitor.RegisterResource

    def register(self: RecordingMonitor, request: Any) -> Any:
        response = original(self, request)
        if request.HasField("customTimeouts"):
            timeouts = request.customTimeouts
            values = {k: getattr(timeouts, k) for k in ("create", "update", "delete") if getattr(timeouts, k)}
            if values:
                seen[response.urn] = values
        return response

    with mock.patch.object(RecordingMonitor, "RegisterResource", register):
        yield seen


def reveal(value: Any) -> Any:
    """Inputs as the program sent them, with Pulumi secrets unwrapped (tests search them too)."""
    if isinstance(value, Mapping):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return reveal(value.get("value"))
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [reveal(v) for v in value]
    return value


@contextlib.contextmanager
def recorded_raw_inputs() -> Iterator[dict[str, dict[str, Any]]]:
    """``{urn: inputs}`` with secret values revealed: the plan masks them, a test must see them
    to prove no password is among them."""
    seen: dict[str, dict[str, Any]] = {}
    original = RecordingMonitor.RegisterResource

    def register(self: RecordingMonitor, request: Any) -> Any:
        response = original(self, request)
        if request.type != "pulumi:pulumi:Stack":
            seen[response.urn] = reveal(rpc.deserialize_properties(request.object))
        return response

    with mock.patch.object(RecordingMonitor, "RegisterResource", register):
        yield seen
