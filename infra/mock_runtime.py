"""Run the real Pulumi program under the SDK's mock runtime and record every registration.

This is the one harness: the offline preview, the unit tests and the benchmarks all use it. It
relies on :class:`pulumi.runtime.mocks.MockMonitor` (to see parent, dependencies, provider and
options, which ``Mocks.new_resource`` is not given) and on ``run_in_stack`` (the entry point the
Python language host uses), so the program runs exactly as under ``pulumi up``, with a fresh event
loop and fresh runtime state per run. ``tests/test_mock_runtime.py`` pins those SDK internals.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime import rpc, settings
from pulumi.runtime.proto import source_pb2
from pulumi.runtime.stack import run_in_stack

MOCK_ACCOUNT_ID = "123456789012"
SECRET_PLACEHOLDER = "[secret]"

# What a referenced stack (pulumi.StackReference) exports offline: the network outputs this
# program itself exports, with placeholder ids, so a "shared" network previews without the cloud.
MOCK_SHARED_STACK_OUTPUTS: dict[str, Any] = {
    "vpcId": "vpc-0a11ed0000000000a",
    "vpcCidr": "10.0.0.0/16",
    "trainingSubnetIds": ["subnet-0a11ed0000000000a", "subnet-0a11ed0000000000b"],
    "servingSubnetIds": ["subnet-0a11ed0000000000c", "subnet-0a11ed0000000000d"],
    "databaseSubnetIds": ["subnet-0a11ed0000000000e", "subnet-0a11ed0000000000f"],
}


def mock_id(type_: str, name: str) -> str:
    """Deterministic id from type and name: the same program always gets the same ids."""
    digest = hashlib.sha256(f"{type_}::{name}".encode()).hexdigest()[:8]
    return f"{name}-{digest}"


# ARN service and resource segment where they differ from the type token (aws:<module>/<x>:<Kind>).
_ARN_SHAPES: dict[str, tuple[str, str]] = {
    "aws:cloudwatch/logGroup:LogGroup": ("logs", "log-group:{name}"),
    "aws:cloudwatch/eventRule:EventRule": ("events", "rule/{name}"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("cloudwatch", "alarm:{name}"),
    "aws:kms/alias:Alias": ("kms", "{name}"),
    "aws:sns/topic:Topic": ("sns", "{name}"),
    "aws:cloudtrail/trail:Trail": ("cloudtrail", "trail/{name}"),
    "aws:ecr/repository:Repository": ("ecr", "repository/{name}"),
    "aws:rds/instance:Instance": ("rds", "db:{name}"),
    "aws:rds/subnetGroup:SubnetGroup": ("rds", "subgrp:{name}"),
    "aws:secretsmanager/secret:Secret": ("secretsmanager", "secret:{name}"),
    "aws:sfn/stateMachine:StateMachine": ("states", "stateMachine:{name}"),
    "aws:sqs/queue:Queue": ("sqs", "{name}"),
    "aws:amp/workspace:Workspace": ("aps", "workspace/{name}"),
    "aws:grafana/workspace:Workspace": ("grafana", "/workspaces/{name}"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ("ec2", "security-group-rule/{name}"),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ("ec2", "security-group-rule/{name}"),
}
# Services whose ARNs name no region.
_GLOBAL_ARN_TYPES: dict[str, tuple[str, str]] = {
    "aws:budgets/budget:Budget": ("budgets", "budget/{name}"),
    "aws:cloudwatch/dashboard:Dashboard": ("cloudwatch", "dashboard/{name}"),
}


def _kebab(kind: str) -> str:
    return "".join(f"-{c.lower()}" if c.isupper() else c for c in kind).lstrip("-")


def mock_arn(type_: str, name: str, region: str, partition: str = "aws", account_id: str = MOCK_ACCOUNT_ID) -> str:
    """Deterministic ARN shaped like the service's, so references can be matched to resources."""
    package, module_path, kind = (type_.split(":") + ["", ""])[:3]
    service = module_path.split("/")[0] if package == "aws" else package
    if service == "s3":
        return f"arn:{partition}:s3:::{name}"
    if service == "iam":
        resource = "oidc-provider" if kind == "OpenIdConnectProvider" else _kebab(kind)
        return f"arn:{partition}:iam::{account_id}:{resource}/{name}"
    if type_ in _GLOBAL_ARN_TYPES:
        service, resource = _GLOBAL_ARN_TYPES[type_]
        return f"arn:{partition}:{service}::{account_id}:{resource.format(name=name)}"
    if type_ in _ARN_SHAPES:
        service, resource = _ARN_SHAPES[type_]
        return f"arn:{partition}:{service}:{region}:{account_id}:{resource.format(name=name)}"
    return f"arn:{partition}:{service}:{region}:{account_id}:{_kebab(kind)}/{name}"


def _physical_name(type_: str, name: str, inputs: Mapping[str, Any]) -> str:
    """The name AWS would know the resource by: the explicit input, else the logical name."""
    for key in ("bucket", "name", "roleName", "functionName", "identifier", "trailName", "pipelineName",
                "trackingServerName", "modelPackageGroupName", "dashboardName"):
        value = inputs.get(key)
        if isinstance(value, str) and value:
            return value
    url = inputs.get("url")
    if type_ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider" and isinstance(url, str):
        return url.removeprefix("https://")
    return name


# Outputs a provider computes that programs commonly read; everything else echoes the inputs.
def _computed_outputs(type_: str, name: str, id_: str, inputs: Mapping[str, Any], region: str,
                      account_id: str = MOCK_ACCOUNT_ID) -> dict[str, Any]:
    physical = _physical_name(type_, name, inputs)
    if not type_.startswith("aws:"):
        return {}  # only AWS resources have ARNs (Kubernetes objects do not)
    outputs: dict[str, Any] = {"arn": mock_arn(type_, physical, region, account_id=account_id)}
    if type_ == "aws:s3/bucket:Bucket":
        outputs.update(bucket=physical, bucketDomainName=f"{physical}.s3.amazonaws.com",
                       bucketRegionalDomainName=f"{physical}.s3.{region}.amazonaws.com")
    elif type_ == "aws:kms/key:Key":
        outputs.update(keyId=id_, arn=mock_arn(type_, id_, region, account_id=account_id))
    elif type_ in ("aws:iam/role:Role", "aws:iam/policy:Policy", "aws:cloudwatch/logGroup:LogGroup"):
        outputs.update(name=physical)
    elif type_ == "aws:sqs/queue:Queue":
        outputs.update(url=f"https://sqs.{region}.amazonaws.com/{account_id}/{physical}")
    elif type_ == "aws:ecr/repository:Repository":
        outputs.update(repositoryUrl=f"{account_id}.dkr.ecr.{region}.amazonaws.com/{physical}", registryId=account_id)
    elif type_ == "aws:ec2/vpc:Vpc":
        outputs.update(defaultSecurityGroupId=f"sg-{id_}", mainRouteTableId=f"rtb-{id_}")
    elif type_ == "aws:ec2/vpcEndpoint:VpcEndpoint":
        outputs.update(dnsEntries=[{"dnsName": f"{id_}.{region}.vpce.amazonaws.com", "hostedZoneId": "Z000MOCK"}],
                       prefixListId=f"pl-{id_}")
    elif type_ == "aws:rds/instance:Instance":
        outputs.update(address=f"{physical}.cmock0example.{region}.rds.amazonaws.com", port=inputs.get("port") or 5432)
        if inputs.get("manageMasterUserPassword"):
            # RDS creates the master secret (named rds!<id>); policies scoped to it must be readable offline.
            secret = mock_arn("aws:secretsmanager/secret:Secret", f"rds!db-{physical}-Mock01", region, account_id=account_id)
            outputs.update(masterUserSecrets=[{"secretArn": secret, "secretStatus": "active",
                                               "kmsKeyId": inputs.get("masterUserSecretKmsKeyId")}])
    elif type_ == "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer":
        digest = hashlib.sha256(f"{account_id}/{region}/{physical}".encode()).hexdigest()[:12]
        outputs.update(trackingServerUrl=f"https://t-{digest}.{region}.experiments.sagemaker.aws")
    return outputs


class PlatformMocks(pulumi_mocks.Mocks):
    """Deterministic stand-ins for the AWS provider: ids, ARNs and the few invokes the program uses.

    ``account_id`` is the account the credentials would reach (``getCallerIdentity``) and the one
    every mock ARN is in.
    """

    def __init__(self, region: str = "us-east-1", partition: str = "aws", account_id: str = MOCK_ACCOUNT_ID) -> None:
        self.region = region
        self.partition = partition
        self.account_id = account_id

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict]:
        if args.typ.startswith("pulumi:providers:"):
            return mock_id(args.typ, args.name), dict(args.inputs)
        if args.typ == "pulumi:pulumi:StackReference":
            return args.resource_id, {"name": args.inputs.get("name"), "outputs": dict(MOCK_SHARED_STACK_OUTPUTS),
                                      "secretOutputNames": []}
        if not args.custom:
            return "", dict(args.inputs)  # components have no id or provider-computed state
        id_ = args.resource_id or mock_id(args.typ, args.name)
        outputs = {**args.inputs, **_computed_outputs(args.typ, args.name, id_, args.inputs, self.region, self.account_id)}
        return id_, outputs

    def call(self, args: pulumi_mocks.MockCallArgs) -> dict:
        token = args.token
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            account = self.account_id
            return {"accountId": account, "arn": f"arn:{self.partition}:iam::{account}:user/preview",
                    "userId": "AIDAPREVIEW", "id": account}
        if token == "aws:index/getPartition:getPartition":
            return {"partition": self.partition, "dnsSuffix": "amazonaws.com", "id": self.partition}
        if token == "aws:index/getRegion:getRegion":
            return {"region": self.region, "name": self.region, "id": self.region}
        if token == "aws:ec2/getPrefixList:getPrefixList":
            return {"id": "pl-63a5400a", "prefixListId": "pl-63a5400a", "name": f"com.amazonaws.{self.region}.s3", "cidrBlocks": []}
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = [f"{self.region}{letter}" for letter in "abcdef"]
            return {"names": names, "zoneIds": [f"use1-az{i}" for i in range(1, 7)], "id": self.region}
        raise NotImplementedError(f"the offline preview has no mock for invoke {token!r}; add one to PlatformMocks.call")


@dataclass
class Registration:
    """One resource as the engine would receive it."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    provider: str | None
    protect: bool
    retain_on_delete: bool
    delete_before_replace: bool
    inputs: dict[str, Any]
    id: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)


def _jsonable(value: Any) -> Any:
    """Plain JSON for plan files: secrets masked, resources by urn, assets by description."""
    if isinstance(value, Mapping):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return SECRET_PLACEHOLDER
        return {str(k): _jsonable(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # protobuf carries every number as a double; 7 reads better than 7.0
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, pulumi.Resource):
        return getattr(value, "_mock_urn", repr(value))
    if value is rpc.UNKNOWN:
        return "[unknown]"
    return repr(value)


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that keeps what ``Mocks.new_resource`` is never shown.

    ``RegisterResource`` receives the full request (parent, dependencies, provider reference,
    protect, retainOnDelete); the stack's exports arrive through ``RegisterResourceOutputs``.
    """

    def __init__(self, mocks: pulumi_mocks.Mocks) -> None:
        super().__init__(mocks)
        self.registrations: dict[str, Registration] = {}
        self.stack_urn: str | None = None
        self.stack_outputs: dict[str, Any] = {}
        self.thread_loops: set[asyncio.AbstractEventLoop] = set()

    def _keep_this_threads_loop(self) -> None:
        """The SDK's mock monitor answers on the runtime's executor threads, and gives each thread an
        event loop that nobody closes: they are kept here, to be closed when the run ends (left to
        the garbage collector, a loop may outlive its own sockets and fail to close)."""
        with contextlib.suppress(RuntimeError):
            self.thread_loops.add(asyncio.get_event_loop_policy().get_event_loop())

    def Invoke(self, request: Any) -> Any:
        try:
            return super().Invoke(request)
        finally:
            self._keep_this_threads_loop()

    def RegisterResource(self, request: Any) -> Any:
        try:
            response = super().RegisterResource(request)
        finally:
            self._keep_this_threads_loop()
        inputs = rpc.deserialize_properties(request.object) if request.type != "pulumi:pulumi:Stack" else {}
        registration = Registration(
            urn=response.urn,
            type=request.type,
            name=request.name,
            custom=bool(request.custom),
            parent=request.parent or None,
            dependencies=sorted(set(request.dependencies)),
            property_dependencies={k: sorted(set(v.urns)) for k, v in sorted(request.propertyDependencies.items()) if v.urns},
            provider=request.provider or None,
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
            delete_before_replace=bool(request.deleteBeforeReplace),
            inputs=_jsonable(inputs),
            id=response.id or None,
        )
        if request.type == "pulumi:pulumi:Stack":
            self.stack_urn = response.urn
        else:
            state = self.resources[response.urn].state
            registration.outputs = _jsonable({k: v for k, v in state.items() if k not in inputs})
        self.registrations[response.urn] = registration
        return response

    def ReadResource(self, request: Any) -> Any:
        """Reads (``pulumi.StackReference``, ``Resource.get``) belong in the plan too."""
        try:
            response = super().ReadResource(request)
        finally:
            self._keep_this_threads_loop()
        inputs = rpc.deserialize_properties(request.properties)
        state = self.resources[response.urn].state
        self.registrations[response.urn] = Registration(
            urn=response.urn, type=request.type, name=request.name, custom=True, parent=request.parent or None,
            dependencies=sorted(set(request.dependencies)), property_dependencies={}, provider=request.provider or None,
            protect=False, retain_on_delete=False, delete_before_replace=False, inputs=_jsonable(inputs),
            id=request.id or None, outputs=_jsonable({k: v for k, v in state.items() if k not in inputs}),
        )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        if request.urn == self.stack_urn:
            outputs = _jsonable(rpc.deserialize_properties(request.outputs))
            # set_mocks finishes a root stack of its own (same urn, no outputs) whose empty
            # registration may arrive after the program's: it never replaces recorded exports.
            if outputs or not self.stack_outputs:
                self.stack_outputs = outputs
        return super().RegisterResourceOutputs(request)


@dataclass
class MockRun:
    """What one run of a program registered, in registration-independent order."""

    stack: str
    project: str
    registrations: list[Registration]
    outputs: dict[str, Any]
    error: BaseException | None = None

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def named(self, type_: str, name: str) -> Registration:
        matches = [r for r in self.registrations if r.type == type_ and r.name == name]
        if len(matches) != 1:
            raise KeyError(f"expected one {type_} named {name!r}, found {len(matches)}")
        return matches[0]

    def by_urn(self, urn: str) -> Registration:
        return next(r for r in self.registrations if r.urn == urn)

    def children(self, parent_urn: str) -> list[Registration]:
        return [r for r in self.registrations if r.parent == parent_urn]


def _config_value(value: Any) -> str:
    """Pulumi hands config to programs as strings, structured values as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value)


@contextlib.contextmanager
def _without_source_positions() -> Iterator[None]:
    """The SDK walks the Python stack of every registration to tell the engine where the resource was
    declared, a fifth of an offline preview's time. The recording monitor never reads it, so under the
    mocks every registration carries an empty stack trace instead. (A private SDK function:
    tests/test_mock_runtime.py pins that it exists and is restored.)"""
    real = pulumi_resource._get_stack_trace
    pulumi_resource._get_stack_trace = source_pb2.StackTrace
    try:
        yield
    finally:
        pulumi_resource._get_stack_trace = real


def _unretrieved_failures_are_not_news(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """A failure inside an apply reaches the caller once, but every output derived from it holds a
    future with the same exception that nobody retrieves. asyncio would log each when it is garbage
    collected, with a formatted traceback: noise, and on Python 3.11 formatting one parses source with
    ``ast`` from inside whatever allocation triggered the collection, which can break a ``compile``
    in progress ("AST constructor recursion depth mismatch")."""
    if context.get("message", "").startswith(("Future exception was never retrieved",
                                               "Task exception was never retrieved")):
        return
    loop.default_exception_handler(context)


def run_program(
    program: Callable[[], Any],
    *,
    stack: str,
    project: str,
    config: Mapping[str, Any] | None = None,
    region: str | None = None,
    account_id: str = MOCK_ACCOUNT_ID,
    capture_errors: bool = False,
) -> MockRun:
    """Run ``program`` as the language host would, under mocks, and return what it registered.

    ``config`` is the flat engine map (``{"mlops-platform:owner": "...", "aws:region": "..."}``);
    structured values are passed as JSON text, as the engine does. ``account_id`` is the account
    the mocks answer ``getCallerIdentity`` with and build every ARN in. Exceptions raised by the
    program propagate after the runtime has settled, or, with ``capture_errors``, are returned in
    ``MockRun.error`` beside whatever was registered before them.
    """
    config = dict(config or {})
    region = region or str(config.get("aws:region") or "us-east-1")
    mocks = PlatformMocks(region=region, account_id=account_id)
    monitor = RecordingMonitor(mocks)
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(_unretrieved_failures_are_not_news)
    asyncio.set_event_loop(loop)
    error: BaseException | None = None
    try:
        pulumi.runtime.set_all_config({k: _config_value(v) for k, v in config.items()}, [])
        pulumi_mocks.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
        # set_mocks installs a root stack for unit tests; run_in_stack makes its own, as the
        # language host does, so that exports land on it.
        settings.ROOT.set(None)
        monitor.registrations.clear()
        with _without_source_positions():
            loop.run_until_complete(run_in_stack(program))
    except Exception as exc:  # noqa: BLE001 re-raised below unless the caller asked for it
        if not capture_errors:
            raise
        error = exc
    finally:
        settings.ROOT.set(None)
        pulumi.runtime.set_all_config({}, [])
        # A program that failed inside an apply leaves tasks behind, and the SDK tracks outputs in a
        # process-wide set: cancel and forget them, or the next run awaits tasks of a closed loop.
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        with settings.SETTINGS.lock:
            settings.SETTINGS.outputs.clear()
        # Let the SDK's RPC worker threads and async generators finish before the loop goes away.
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
        asyncio.set_event_loop(None)
        loop.close()
        for thread_loop in monitor.thread_loops:  # their threads are gone with the executor
            thread_loop.close()
    registrations = sorted(monitor.registrations.values(), key=lambda r: r.urn)
    return MockRun(stack=stack, project=project, registrations=registrations, outputs=monitor.stack_outputs, error=error)

