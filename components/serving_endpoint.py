"""One model served on a SageMaker endpoint that updates safely.

Per model (``models:`` in config): a SageMaker ``Model`` per distinct container of its variants, an
``EndpointConfiguration`` with the weighted production variants (A/B tests, canary variants), the
``Endpoint`` with a blue/green deployment policy, CloudWatch alarms that roll a deployment back,
and, for instance-backed variants with autoscaling, an Application Auto Scaling target and a
target-tracking policy.

**Why updates work.** SageMaker models and endpoint configurations are immutable: every change
replaces them. Both are therefore named ``<prefix>-<model>[-config]-<hash>`` where the hash is
taken over every input that defines them (not tags), and replaced create-before-delete (Pulumi's
default; never ``delete_before_replace``). A changed image gives a new model name, hence a new
configuration name; the endpoint, whose name never changes, is *updated* to the new
configuration (blue/green, traffic shifted canary/linear/all-at-once, rolled back if an alarm
fires), and only then is the old configuration deleted. A fixed configuration name would make the
replacement fail with "Cannot create already existing endpoint configuration"; a random one
would churn on every preview.

**Why changing the variants updates in place.** The provider (terraform-provider-aws
``aws_sagemaker_endpoint``) marks ``deployment_config.auto_rollback_configuration`` ForceNew and
takes at most 10 alarms there. The rollback alarms are therefore two per *endpoint*, with stable
names: the sum of ``Invocation5XXErrors`` and the maximum of ``ModelLatency`` over the variants
(CloudWatch metric math, at most 10 metrics: the variant limit). Adding, removing or renaming a
variant changes the alarms' queries (updated in place) and the endpoint configuration, never the
alarm list. SageMaker's deployment guardrails (blue/green traffic shifting) need the new
configuration to keep the old variant names, and the provider sends the endpoint's whole
``DeploymentConfig`` with every ``UpdateEndpoint``; a change of the variant set is therefore
deployed with ``deployment.guardrails: false`` (no blue/green policy: all traffic at once, the
rollback alarms stay), and the offline diff says so when it sees the variant set change.

**Secure by default.** Instance-backed variants run in the serving subnets behind the workload
security group, with network isolation, the serving role, and ML storage encrypted with the data
key. Requests/responses are captured to ``s3://<models bucket>/data-capture/<model>/`` with the
data key at the configured sampling percentage. Two AWS rules shape the exceptions:

* instance types with NVMe instance storage (``ml.g5``, ``ml.m5d``, ...) encrypt it in hardware and
  SageMaker rejects a ``KmsKeyId`` for them, so their configurations carry none;
* serverless variants (opt-in, dev only) support no VPC, network isolation, ``KmsKeyId``, data
  capture or second variant; they are deployed without them and the policy pack says so.

**Autoscaling and updates.** Changing the *model* of an autoscaled variant updates in place.
Changing its *instance type*, or removing it, fails in SageMaker while the variant is a scalable
target: deploy once with the variant's ``autoscaling`` removed, then with the new type.

**Open LLMs** (``model.llm``): the region's TGI or LMI image (:mod:`mlops_blueprint.llm_images`),
pulled with an inline grant on exactly that repository of AWS's registry; the weights as an
uncompressed S3 prefix (``ModelDataSource``); GPU variants with start-up and download timeouts; and
autoscaling on concurrent requests per model instead of invocations (:mod:`mlops_blueprint.components.llm_settings`).

The names and the defining inputs that the hashes are taken over are built in :mod:`.serving_inputs`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from mlops_blueprint.validation import invalid_args_error, raise_invalid_args, s3_bucket_of
from mlops_blueprint.components.arg_checks import id_list_problems
# Names and defining inputs live in serving_inputs; re-exported here, where callers have always found them.
from mlops_blueprint.components.serving_inputs import (  # noqa: F401
    CAPTURE_CONTENT_TYPES,
    CONCURRENCY_METRIC,
    DATA_CAPTURE_PREFIX,
    DIGEST_LENGTH,
    ENDPOINT_NAMESPACE,
    INVOCATIONS_METRIC,
    ROLLBACK_ALARM,
    SCALABLE_DIMENSION,
    TRAFFIC_ROUTING,
    content_digest,
    data_capture_uri,
    endpoint_configuration_inputs,
    endpoint_name,
    model_inputs,
    rollback_alarm_name,
    rollback_queries,
    scaling_resource_id,
    variant_inputs,
    WEIGHTS_COMPRESSION,
    WEIGHTS_DATA_TYPE,
)
from mlops_blueprint.context import StackContext
from mlops_blueprint.components.llm_settings import llm_image_problems
from mlops_blueprint.llm_images import LlmImage, llm_image
from mlops_blueprint.policy_documents import document, render, statement
from mlops_blueprint.naming import NameKind
from mlops_blueprint.components.serving_endpoint_settings import MICROSECONDS_PER_MS, ServingEndpointSettings
from mlops_blueprint.sagemaker_values import resolve_image

if TYPE_CHECKING:  # the models list and its resolved reading (served_model_settings imports the serving settings)
    from mlops_blueprint.components.served_model_settings import ServedModelSettings, ResolvedModel, ResolvedVariant

COMPONENT = "serving"


# -- args -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServingEndpointArgs:
    """One model of ``models:`` with the ``serving:`` defaults, and this stack's role, network, bucket, key."""

    context: StackContext
    model: ServedModelSettings
    execution_role_arn: pulumi.Input[str]            # PlatformRoles.serving_role_arn
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]          # Network.serving_subnet_ids
    security_group_ids: pulumi.Input[Sequence[pulumi.Input[str]]]  # (Network.workload_security_group_id,)
    models_bucket_name: pulumi.Input[str]            # ArtifactStore.models_bucket_name: data capture
    kms_key_arn: pulumi.Input[str]                   # Kms.data_key_arn: ML storage and captured data
    settings: ServingEndpointSettings = field(default_factory=ServingEndpointSettings)  # config.serving
    alarm_actions: Sequence[pulumi.Input[str]] = ()  # e.g. an SNS topic for rollback alarms
    # What grants the execution role its permissions (PlatformRoles.depends_on("serving")): CreateModel
    # checks that the role can read the model data, so models are created after these.
    execution_role_policies: Sequence[pulumi.Resource] = ()


def _validate(args: ServingEndpointArgs) -> ResolvedModel:
    """Every problem at once, each naming the arg and what would be valid; the resolved model."""
    # Imported here: served_model_settings imports the serving settings from this package.
    from mlops_blueprint.components.served_model_settings import ServedModelSettings, model_problems, resolve_model

    problems: list[str] = []
    if not isinstance(args.context, StackContext):
        raise invalid_args_error("ServingEndpointArgs", [f"context: expected a StackContext, got {type(args.context).__name__}"])
    if not isinstance(args.model, ServedModelSettings) or not isinstance(args.settings, ServingEndpointSettings):
        raise invalid_args_error("ServingEndpointArgs",
                                 ["model/settings: expected a ServedModelSettings and a ServingEndpointSettings"])
    if args.settings.backend != "sagemaker":
        problems.append(f"serving.backend is {args.settings.backend!r}; SageMaker endpoints need 'sagemaker' "
                        "(K8sServing serves the kubernetes backend)")
    problems += model_problems(args.settings, args.model, environment=args.context.environment)
    problems += llm_image_problems([args.model], args.context.region)
    problems += id_list_problems(args, "subnet_ids", "security_group_ids")
    for arg in ("execution_role_arn", "models_bucket_name", "kms_key_arn"):
        if getattr(args, arg) in (None, ""):
            problems.append(f"{arg}: required")
    if isinstance(args.models_bucket_name, str):
        problems += model_data_problems(args.model, args.models_bucket_name)
    _raise_problems(args.model, problems)
    return resolve_model(args.settings, args.model)


def _raise_problems(model: ServedModelSettings, problems: list[str]) -> None:
    raise_invalid_args("ServingEndpointArgs", problems, subject=f"model {model.name!r}")


def model_data_problems(model: ServedModelSettings, models_bucket: str) -> list[str]:
    """Artifacts outside ``models_bucket``: the serving role may read only that bucket."""
    urls = [("model_data_url", model.model_data_url)]
    urls += [(f"variants[{v.name}].model_data_url", v.model_data_url) for v in model.variants]
    if model.llm is not None:
        urls.append(("llm.weights_s3_uri", model.llm.weights_s3_uri))
    problems = []
    for key, url in urls:
        bucket = s3_bucket_of(url)
        if bucket is not None and bucket != models_bucket:
            problems.append(f"model.{key}: {url!r} is outside the models bucket; the serving role may read only "
                            f"s3://{models_bucket}/<key>")
    return problems


def _checked_bucket(model: ServedModelSettings, bucket: str) -> str:
    """The exact check once an Output bucket name is known (the config checked its pattern)."""
    _raise_problems(model, model_data_problems(model, bucket))
    return bucket


# -- the component -------------------------------------------------------------------------------


class ServingEndpoint(pulumi.ComponentResource):
    """A model's SageMaker endpoint: models, configuration, endpoint, rollback alarms, autoscaling."""

    endpoint: aws.sagemaker.Endpoint
    endpoint_configuration: aws.sagemaker.EndpointConfiguration
    models: dict[str, aws.sagemaker.Model]          # by the first variant that uses the container
    alarms: list[aws.cloudwatch.MetricAlarm]
    scaling_targets: dict[str, aws.appautoscaling.Target]
    endpoint_name: pulumi.Output[str]
    endpoint_arn: pulumi.Output[str]
    endpoint_config_name: pulumi.Output[str]
    variant_names: list[str]

    def __init__(self, name: str, args: ServingEndpointArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        resolved = _validate(args)
        super().__init__("mlops:serving:ServingEndpoint", name, None, opts)
        self._prefix = name
        self._args = args
        self._resolved = resolved
        self._child = pulumi.ResourceOptions(parent=self)
        ctx = args.context
        self._endpoint_name = endpoint_name(ctx, resolved.name)
        self._tags = ctx.tagging.resource(COMPONENT, self._endpoint_name)

        model_names = self._models()
        self.endpoint_configuration = self._endpoint_configuration(model_names)
        self.alarms = self._alarms()
        self.endpoint = self._endpoint()
        self.scaling_targets = self._autoscaling()

        self.endpoint_name = self.endpoint.name
        self.endpoint_arn = self.endpoint.arn
        self.endpoint_config_name = self.endpoint_configuration.name
        self.variant_names = [v.name for v in resolved.variants]
        self.register_outputs({
            "endpointName": self.endpoint_name,
            "endpointArn": self.endpoint_arn,
            "endpointConfigName": self.endpoint_config_name,
            "variantNames": self.variant_names,
        })

    # -- models ----------------------------------------------------------------------------------

    def _models(self) -> dict[str, pulumi.Output[str]]:
        """A Model per distinct (image, model data) among the variants; variant name -> model name."""
        resolved = self._resolved
        self.models = {}
        by_container: dict[tuple[str, str], pulumi.Output[str]] = {}
        names: dict[str, pulumi.Output[str]] = {}
        for variant in resolved.variants:
            if variant.container not in by_container:
                by_container[variant.container] = self._model(variant)
            names[variant.name] = by_container[variant.container]
        return names

    def _model(self, variant: ResolvedVariant) -> pulumi.Output[str]:
        args, ctx, resolved = self._args, self._args.context, self._resolved
        llm = resolved.llm
        weights = llm.weights_s3_uri if llm else None
        pull: list[pulumi.Resource] = []
        if llm:
            dlc = llm_image(llm.container, llm.version, ctx.region)
            image = dlc.uri
            pull.append(self._image_pull_grant(dlc))
        else:
            image = resolve_image(variant.image, account_id=ctx.account_id, region=ctx.region,
                                  partition=ctx.partition, repository_prefix=ctx.naming.prefix)
        isolated = variant.serverless is None  # serverless endpoints reject VPC config and isolation
        # Whole lists: a shared network's subnet ids are one Output of a list.
        subnets, groups = pulumi.Output.from_input(args.subnet_ids), pulumi.Output.from_input(args.security_group_ids)

        def physical_name(values: list[Any]) -> str:
            role, subnet_ids, group_ids, bucket = values
            _checked_bucket(args.model, bucket)
            inputs = model_inputs(image=image, model_data_url=variant.model_data_url, environment=resolved.environment,
                                  role_arn=role, subnet_ids=subnet_ids, security_group_ids=group_ids, isolated=isolated,
                                  weights_s3_uri=weights)
            return ctx.naming.name(resolved.name, content_digest(inputs), kind=NameKind.SAGEMAKER)

        name = pulumi.Output.all(args.execution_role_arn, subnets, groups, args.models_bucket_name).apply(physical_name)
        model = aws.sagemaker.Model(
            f"{self._prefix}-{variant.name}",
            name=name,
            execution_role_arn=args.execution_role_arn,
            primary_container=aws.sagemaker.ModelPrimaryContainerArgs(
                image=image, model_data_url=variant.model_data_url, environment=resolved.environment or None,
                # An LLM's weights: the uncompressed files under the prefix (no model.tar.gz to unpack).
                model_data_source=aws.sagemaker.ModelPrimaryContainerModelDataSourceArgs(
                    s3_data_sources=[aws.sagemaker.ModelPrimaryContainerModelDataSourceS3DataSourceArgs(
                        s3_uri=weights, s3_data_type=WEIGHTS_DATA_TYPE, compression_type=WEIGHTS_COMPRESSION)],
                ) if weights else None),
            vpc_config=aws.sagemaker.ModelVpcConfigArgs(subnets=subnets, security_group_ids=groups) if isolated else None,
            enable_network_isolation=isolated,
            tags=self._tags,
            # CreateModel checks that the role may read the model data: after the role's policies.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*args.execution_role_policies, *pull]),
        )
        self.models[variant.name] = model
        return model.name

    def _image_pull_grant(self, image: LlmImage) -> aws.iam.RolePolicy:
        """The execution role pulls the LLM image from AWS's Deep Learning Containers registry (another
        account, so the platform's pull grant on this stack's repositories does not cover it)."""
        args, ctx = self._args, self._args.context
        role_name = pulumi.Output.from_input(args.execution_role_arn).apply(lambda arn: arn.rsplit("/", 1)[-1])
        return aws.iam.RolePolicy(
            f"{self._prefix}-image-pull",
            name=ctx.naming.name(self._resolved.name, "image-pull"),
            role=role_name,
            policy=render(lambda: document(statement(
                "PullLlmImage", ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                [image.repository_arn(ctx.partition)]))),
            opts=self._child,
        )

    # -- endpoint configuration -----------------------------------------------------------------

    def _endpoint_configuration(self, model_names: dict[str, pulumi.Output[str]]) -> aws.sagemaker.EndpointConfiguration:
        args, ctx, resolved = self._args, self._args.context, self._resolved
        variant_order = [v.name for v in resolved.variants]

        def physical_name(values: list[Any]) -> str:
            bucket, key, *names = values
            inputs = endpoint_configuration_inputs(resolved, dict(zip(variant_order, names)),
                                                   models_bucket=bucket, kms_key_arn=key)
            return ctx.naming.name(resolved.name, "config", content_digest(inputs), kind=NameKind.SAGEMAKER)

        name = pulumi.Output.all(args.models_bucket_name, args.kms_key_arn,
                                 *[model_names[v] for v in variant_order]).apply(physical_name)
        variants = [self._variant(v, model_names[v.name], resolved) for v in resolved.variants]
        data_capture = None
        if resolved.captures_data:
            data_capture = aws.sagemaker.EndpointConfigurationDataCaptureConfigArgs(
                enable_capture=True,
                initial_sampling_percentage=resolved.data_capture_percent,
                destination_s3_uri=pulumi.Output.from_input(args.models_bucket_name).apply(
                    lambda bucket: data_capture_uri(bucket, resolved.name)),
                kms_key_id=args.kms_key_arn,
                capture_options=[
                    aws.sagemaker.EndpointConfigurationDataCaptureConfigCaptureOptionArgs(capture_mode=mode)
                    for mode in ("Input", "Output")
                ],
                capture_content_type_header=aws.sagemaker.EndpointConfigurationDataCaptureConfigCaptureContentTypeHeaderArgs(
                    csv_content_types=CAPTURE_CONTENT_TYPES["csvContentTypes"],
                    json_content_types=CAPTURE_CONTENT_TYPES["jsonContentTypes"],
                ),
            )
        return aws.sagemaker.EndpointConfiguration(
            f"{self._prefix}-config",
            name=name,
            production_variants=variants,
            # Serverless and instance-store variants take no KmsKeyId (SageMaker rejects it).
            kms_key_arn=args.kms_key_arn if resolved.encrypts_with_kms else None,
            data_capture_config=data_capture,
            tags=self._tags,
            # Replaced on every change, the new configuration first: the endpoint moves to it, then
            # the old one is deleted. delete_before_replace would delete a configuration in use.
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=False),
        )

    @staticmethod
    def _variant(variant: ResolvedVariant, model_name: pulumi.Output[str],
                 resolved: ResolvedModel) -> aws.sagemaker.EndpointConfigurationProductionVariantArgs:
        if variant.serverless is not None:
            serverless = variant.serverless
            return aws.sagemaker.EndpointConfigurationProductionVariantArgs(
                variant_name=variant.name,
                model_name=model_name,
                initial_variant_weight=float(variant.weight),
                serverless_config=aws.sagemaker.EndpointConfigurationProductionVariantServerlessConfigArgs(
                    memory_size_in_mb=serverless.memory_size_mb,
                    max_concurrency=serverless.max_concurrency,
                    provisioned_concurrency=serverless.provisioned_concurrency,
                ),
            )
        return aws.sagemaker.EndpointConfigurationProductionVariantArgs(
            variant_name=variant.name,
            model_name=model_name,
            initial_variant_weight=float(variant.weight),
            instance_type=variant.instance_type,
            initial_instance_count=variant.initial_instance_count,
            # LLMs load gigabytes before the first ping: SageMaker's defaults would fail the deployment.
            container_startup_health_check_timeout_in_seconds=resolved.llm.startup_timeout if resolved.llm else None,
            model_data_download_timeout_in_seconds=resolved.llm.download_timeout if resolved.llm else None,
        )

    # -- rollback alarms, endpoint, autoscaling ------------------------------------------------------

    def _alarms(self) -> list[aws.cloudwatch.MetricAlarm]:
        """Two per endpoint, named the same whatever the variants: 5xx responses summed over the
        variants, and the highest variant's average model latency."""
        args, ctx, resolved = self._args, self._args.context, self._resolved
        thresholds = resolved.deployment.alarms
        variants = [v.name for v in resolved.variants]
        alarms = []
        for purpose, metric, stat, aggregate, threshold, comparison, description in (
            ("5xx", "Invocation5XXErrors", "Sum", "SUM", thresholds.invocation_5xx_count,
             "GreaterThanOrEqualToThreshold",
             f"{thresholds.invocation_5xx_count}+ 5xx responses per {thresholds.period_seconds} s (all variants)"),
            ("latency", "ModelLatency", "Average", "MAX", thresholds.model_latency_ms * MICROSECONDS_PER_MS,
             "GreaterThanThreshold", f"a variant's average model latency above {thresholds.model_latency_ms} ms"),
        ):
            alarm_name = rollback_alarm_name(ctx, resolved.name, purpose)
            alarms.append(aws.cloudwatch.MetricAlarm(
                f"{self._prefix}-rollback-{purpose}",
                name=alarm_name,
                alarm_description=f"{self._endpoint_name}: {description}; rolls back deployments",
                metric_queries=rollback_queries(self._endpoint_name, variants, metric=metric, stat=stat,
                                                aggregate=aggregate, period=thresholds.period_seconds,
                                                label=f"{metric} ({aggregate.lower()} over variants)"),
                evaluation_periods=thresholds.evaluation_periods,
                threshold=float(threshold),
                comparison_operator=comparison,
                treat_missing_data="notBreaching",  # no traffic is not an error
                alarm_actions=list(args.alarm_actions) or None,
                tags=ctx.tagging.resource(COMPONENT, alarm_name),
                opts=self._child,
            ))
        return alarms

    def _deployment_config(self) -> aws.sagemaker.EndpointDeploymentConfigArgs:
        resolved = self._resolved
        deployment = resolved.deployment
        # Serverless endpoints shift all traffic at once (model_problems rejects other strategies).
        strategy = "all-at-once" if resolved.serverless else deployment.strategy
        routing = aws.sagemaker.EndpointDeploymentConfigBlueGreenUpdatePolicyTrafficRoutingConfigurationArgs(
            type=TRAFFIC_ROUTING[strategy],
            wait_interval_in_seconds=deployment.wait_interval_seconds,
            canary_size=aws.sagemaker.EndpointDeploymentConfigBlueGreenUpdatePolicyTrafficRoutingConfigurationCanarySizeArgs(
                type="CAPACITY_PERCENT", value=deployment.canary_percent) if strategy == "canary" else None,
            linear_step_size=aws.sagemaker.EndpointDeploymentConfigBlueGreenUpdatePolicyTrafficRoutingConfigurationLinearStepSizeArgs(
                type="CAPACITY_PERCENT", value=deployment.linear_step_percent) if strategy == "linear" else None,
        )
        return aws.sagemaker.EndpointDeploymentConfigArgs(
            # guardrails: false drops only the policy (not ForceNew): SageMaker then shifts all traffic
            # at once, which a change of the variant set needs.
            blue_green_update_policy=aws.sagemaker.EndpointDeploymentConfigBlueGreenUpdatePolicyArgs(
                traffic_routing_configuration=routing,
                termination_wait_in_seconds=deployment.termination_wait_seconds,
                maximum_execution_timeout_in_seconds=deployment.maximum_execution_timeout_seconds,
            ) if deployment.guardrails else None,
            # ForceNew in the provider: the same two alarm names for the life of the endpoint.
            auto_rollback_configuration=aws.sagemaker.EndpointDeploymentConfigAutoRollbackConfigurationArgs(
                alarms=[aws.sagemaker.EndpointDeploymentConfigAutoRollbackConfigurationAlarmArgs(alarm_name=a.name)
                        for a in self.alarms],
            ),
        )

    def _endpoint(self) -> aws.sagemaker.Endpoint:
        return aws.sagemaker.Endpoint(
            f"{self._prefix}-endpoint",
            name=self._endpoint_name,
            endpoint_config_name=self.endpoint_configuration.name,
            deployment_config=self._deployment_config(),
            tags=self._tags,
            opts=self._child,
        )

    def _autoscaling(self) -> dict[str, aws.appautoscaling.Target]:
        """Target tracking on invocations per instance, per instance-backed variant that asks for it."""
        ctx, resolved = self._args.context, self._resolved
        targets = {}
        for variant in resolved.variants:
            scaling = variant.autoscaling
            if variant.serverless is not None or scaling is None:
                continue  # serverless capacity is SageMaker's to manage
            target = aws.appautoscaling.Target(
                f"{self._prefix}-{variant.name}-scaling",
                service_namespace="sagemaker",
                # From the endpoint's output: registered only once the endpoint exists.
                resource_id=self.endpoint.name.apply(lambda endpoint, v=variant.name: scaling_resource_id(endpoint, v)),
                scalable_dimension=SCALABLE_DIMENSION,
                min_capacity=scaling.min_capacity,
                max_capacity=scaling.max_capacity,
                tags=self._tags,
                opts=self._child,
            )
            # An LLM holds each request for the whole generation: scale on concurrency, not invocations.
            metric, purpose, target_value = (
                (CONCURRENCY_METRIC, "concurrency", resolved.llm.target_concurrent_requests) if resolved.llm
                else (INVOCATIONS_METRIC, "invocations", scaling.target_invocations_per_instance))
            aws.appautoscaling.Policy(
                f"{self._prefix}-{variant.name}-{purpose}",
                name=ctx.naming.name(resolved.name, variant.name, purpose),
                policy_type="TargetTrackingScaling",
                service_namespace=target.service_namespace,
                resource_id=target.resource_id,
                scalable_dimension=target.scalable_dimension,
                target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                    target_value=target_value,
                    predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                        predefined_metric_type=metric),
                    scale_in_cooldown=scaling.scale_in_cooldown_seconds,
                    scale_out_cooldown=scaling.scale_out_cooldown_seconds,
                ),
                opts=self._child,
            )
            targets[variant.name] = target
        return targets
