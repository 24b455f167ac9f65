"""The platform's one typed config model, read from the stack's Pulumi config.

Stack files (``stacks/Pulumi.<env>.yaml``) hold keys under the project namespace
(``mlops-platform:owner``, ``mlops-platform:network``, ...) plus ``aws:region``. Each environment
has defaults (:data:`ENVIRONMENT_DEFAULTS`); the stack file overrides them. Every problem is
reported at once, naming the config key and what would be valid, and is raised before the program
registers a single resource.

:class:`PlatformConfig` composes the sections: each component's settings (``network``, ``kms``,
``artifacts``, ``audit``, ``iam`` from ``components/<component>_settings.py``), the existing cluster
(``kubernetes``) from :mod:`mlops_blueprint.kubernetes_config`, the others from their ``*_config``
modules; what a valid AWS id, ARN or S3 URI is, from :mod:`mlops_blueprint.validation`.
"""

from __future__ import annotations

import argparse
import difflib
import json
from collections.abc import Mapping
from typing import Any, Literal

from pulumi.errors import RunError
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from mlops_blueprint.components.artifact_store_settings import ArtifactStoreSettings
from mlops_blueprint.components.audit_trail_settings import AuditTrailSettings
from mlops_blueprint.components.kms_settings import KmsSettings
from mlops_blueprint.components.network_settings import NetworkSettings
from mlops_blueprint.components.platform_roles_settings import PlatformRolesSettings
from mlops_blueprint.kubernetes_config import KubernetesConfig
from mlops_blueprint.config_base import LOG_RETENTION_DAYS, RetentionDays, Section  # noqa: F401  (re-exported)
from mlops_blueprint.components.alerting_settings import AlertingSettings
from mlops_blueprint.components.cost_guardrails_settings import CostGuardrailsSettings
from mlops_blueprint.components.monitoring.checks import alarm_name_problems
from mlops_blueprint.components.monitoring.settings import MonitoringSettings
from mlops_blueprint.components.observability_settings import ObservabilitySettings
from mlops_blueprint.components.feature_store_settings import FeatureStoreSettings
from mlops_blueprint.components.retraining_settings import RetrainingSettings
from mlops_blueprint.monitoring_config import (
    ALERTS_DEFAULTS, BUDGET_DEFAULTS, MONITORING_DEFAULTS, OBSERVABILITY_DEFAULTS, RETRAINING_DEFAULTS,
    monitoring_problems,
)
from mlops_blueprint.components.llm_settings import llm_image_problems
from mlops_blueprint.components.serving_endpoint_settings import SERVING_DEFAULTS, ServingEndpointSettings
from mlops_blueprint.components.training_compute_settings import TRAINING_DEFAULTS, TrainingComputeSettings
from mlops_blueprint.components.served_model_settings import (
    ServedModelSettings, model_data_problems, registry_problems, resolve_model, serving_problems,
)
from mlops_blueprint.components.tracking_server_settings import TRACKING_DEFAULTS, TrackingServerSettings
from mlops_blueprint.tracking_config import tracking_problems
from mlops_blueprint.validation import ACCOUNT_ID, REGION, arn_account  # noqa: F401  (re-exported)

PROJECT = "mlops-platform"
ENVIRONMENTS = ("dev", "staging", "prod")
Environment = Literal["dev", "staging", "prod"]


class ConfigError(RunError, ValueError):
    """Invalid stack config; ``problems`` has one line per bad key.

    A ``RunError``, so ``pulumi up`` prints the message without a stack trace (the Python language
    host logs a RunError's text and fails the update; any other exception is logged with its
    traceback).
    """

    header = "invalid stack config"

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(f"{self.header}:\n" + "\n".join(f"  - {p}" for p in problems))


class BuildError(ConfigError):
    """A component refused its arguments while the program was building resources (the config
    passed validation, but a value the component checks, or one known only at run time such as
    the account, is wrong). Same exit code and clean reporting as :class:`ConfigError`."""

    header = "the program stopped while building resources"


class PlatformConfig(Section):
    """Everything one stack of the platform is built from."""

    environment: Environment = Field(description="dev, staging or prod")
    region: str = Field(description="the AWS region (config key aws:region), e.g. us-east-1")
    allowed_account_ids: list[str] = Field(
        default_factory=list, max_length=100,
        description="the accounts the stack may deploy to (config key aws:allowedAccountIds); "
                    "the first is the offline preview's account")
    owner: str = Field(min_length=1, max_length=128, pattern=r"^[\w .:/=+@-]+$", description="team that owns the stack")
    cost_center: str = Field(min_length=1, max_length=128, pattern=r"^[\w .:/=+@-]+$", description="cost center to bill")
    data_classification: Literal["public", "internal", "confidential", "restricted"] = "confidential"
    account_wide_names: Literal["regional", "legacy"] = Field(
        default="regional",
        description="regional: IAM roles and policies, dashboards, budgets and the trail carry the region, so "
                    "stacks of one environment in two regions of an account never collide; legacy: the names "
                    "of stacks created before (keeps their roles, and so their MLflow servers, in place)")
    protect_stateful: bool = Field(default=False, description="protect buckets, keys, log groups from deletion")
    retain_on_delete: bool = Field(default=False, description="keep stateful resources in AWS when removed from the stack")
    network: NetworkSettings = Field(default_factory=NetworkSettings)
    kms: KmsSettings = Field(default_factory=KmsSettings)
    artifacts: ArtifactStoreSettings = Field(default_factory=ArtifactStoreSettings)
    audit: AuditTrailSettings = Field(default_factory=AuditTrailSettings)
    iam: PlatformRolesSettings = Field(default_factory=PlatformRolesSettings)
    kubernetes: KubernetesConfig | None = None
    tracking: TrackingServerSettings = Field(default_factory=TrackingServerSettings)
    training: TrainingComputeSettings = Field(default_factory=TrainingComputeSettings)
    serving: ServingEndpointSettings = Field(default_factory=ServingEndpointSettings)
    models: list[ServedModelSettings] = Field(default_factory=list, description="the models to serve, one endpoint each")
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings)
    alerts: AlertingSettings = Field(default_factory=AlertingSettings)
    retraining: RetrainingSettings = Field(default_factory=RetrainingSettings)
    budget: CostGuardrailsSettings = Field(default_factory=CostGuardrailsSettings)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)
    feature_store: FeatureStoreSettings = Field(default_factory=FeatureStoreSettings)

    @field_validator("allowed_account_ids", mode="before")
    @classmethod
    def _account_ids(cls, value: Any) -> Any:
        if isinstance(value, (str, int)):  # one account given as a scalar
            value = [value]
        if isinstance(value, list):
            bad = [v for v in value if not (isinstance(v, str) and ACCOUNT_ID.fullmatch(v))]
            if bad:
                raise ValueError(f"{', '.join(map(repr, bad))} is not an AWS account id; expected 12 digits "
                                 "as a quoted string, e.g. [\"123456789012\"]")
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not REGION.fullmatch(value):
            raise ValueError(f"{value!r} is not an AWS region; expected e.g. us-east-1, eu-west-2")
        return value

    @model_validator(mode="after")
    def _prod_guardrails(self) -> PlatformConfig:
        if self.environment == "prod":
            if self.artifacts.force_destroy:
                raise ValueError("artifacts.forceDestroy must be false in prod")
            if not (self.protect_stateful and self.retain_on_delete):
                raise ValueError("protectStateful and retainOnDelete must be true in prod")
            if self.audit.trail == "none" and self.audit.existing_trail_arn is None:
                raise ValueError("audit.trail 'none' leaves prod without an audit trail; use 'create', or 'existing' "
                                 "with audit.existingTrailArn (or name the trail that records this account there)")
        return self

    @model_validator(mode="after")
    def _across_sections(self) -> PlatformConfig:
        """Checks that span sections (a backend needs the cluster; monitored models must be served)."""
        has_cluster = self.kubernetes is not None
        problems = tracking_problems(self.tracking, has_cluster, environment=self.environment)
        problems += serving_problems(self.serving, self.models, has_cluster, environment=self.environment)
        problems += registry_problems(self.models, self.tracking.model_families)
        problems += model_data_problems(self.models, project=PROJECT, environment=self.environment,
                                        region=self.region)
        problems += llm_image_problems(self.models, self.region)
        problems += self._cluster_network_problems()
        if not problems:  # resolving models needs valid serving settings
            captured = [m.name for m in self.models if resolve_model(self.serving, m).captures_data]
            problems += monitoring_problems(self.monitoring, self.retraining, [m.name for m in self.models], captured)
            if self.serving.backend == "sagemaker":  # monitoring alarms are per SageMaker variant
                problems += alarm_name_problems([(m.name, [v.name for v in m.variants]) for m in self.models])
            problems += self._retraining_parameter_problems()
        if problems:
            raise ValueError("; ".join(problems))
        return self


    def _cluster_network_problems(self) -> list[str]:
        """The self-hosted tracking server's database lives in the stack's database subnets and
        admits the cluster's node security group: the cluster must be in that VPC. A cluster that
        exists before the stack cannot be in a VPC the stack creates (and security group rules do
        not reach across VPCs without peering, which the stack does not set up). Model serving on
        the cluster needs no such path: it reaches S3 through IRSA and the public AWS endpoints."""
        if self.tracking.backend != "kubernetes" or self.kubernetes is None or self.network.mode != "create":
            return []
        return ["network.mode: the kubernetes tracking backend puts its database in the stack's VPC and admits "
                "kubernetes.nodeSecurityGroupId, but mode 'create' makes a new VPC that the existing cluster is "
                "not in; set network.mode: existing (network.existing: the cluster's VPC and private subnets) or "
                "shared (a stack that exports the cluster's VPC), or use a sagemaker-* tracking backend"]

    def _retraining_parameter_problems(self) -> list[str]:
        """What StartPipelineExecution would refuse when a drift alarm starts the training pipeline:
        the check the Retraining component makes once the definition is rendered, made here on a
        definition built from this config, so the error names the key before anything exists."""
        retrained = [m.name for m in self.models if self.retraining.enabled_for(m.name)]
        if not retrained:
            return []
        from mlops_blueprint.components.retraining import pipeline_parameter_problems
        from mlops_blueprint.components.sagemaker_pipeline import PipelineSpec, build_definition

        # Only the declared parameters matter here, and they depend on the training config alone.
        spec = PipelineSpec(pipeline_name="p", training_role_arn="r", datasets_bucket="d", models_bucket="m",
                            kms_key_arn="k", training_repository_url="t", inference_repository_url="i",
                            model_package_group_name="g", subnet_ids=(), security_group_ids=(), training=self.training)
        definition = build_definition(spec)
        return [f"retraining.models.{name}.parameters: {problem} (the drift alarm starts the training pipeline "
                "with these)"
                for name in retrained
                for problem in pipeline_parameter_problems(definition, self.retraining.parameters_for(name))]


# Per-environment defaults, under the stack file's values. The README's environment table is
# generated from this mapping, so the documentation cannot drift from the code.
ENVIRONMENT_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {
        "protectStateful": False,
        "retainOnDelete": False,
        # Idle cost: interface endpoints bill per AZ-hour, so dev keeps the ones SageMaker needs in one AZ.
        "network": {"cidr": "10.10.0.0/16", "azCount": 2, "flowLogRetentionDays": 14, "endpointAzCount": 1,
                    "interfaceEndpoints": ["sagemaker.api", "sagemaker.runtime", "sts", "ecr.api", "ecr.dkr", "logs"]},
        "kms": {"deletionWindowDays": 7},
        "artifacts": {"forceDestroy": True, "noncurrentDaysToGlacier": 60, "noncurrentExpirationDays": 90,
                      "accessLogExpirationDays": 90},
        "audit": {"objectLock": False, "logRetentionDays": 30},
    },
    "staging": {
        "protectStateful": False,
        "retainOnDelete": True,
        "network": {"cidr": "10.20.0.0/16", "azCount": 2, "flowLogRetentionDays": 90},
        "kms": {"deletionWindowDays": 14},
        "artifacts": {"forceDestroy": False, "noncurrentExpirationDays": 365},
        "audit": {"objectLock": False, "logRetentionDays": 90},
    },
    "prod": {
        "protectStateful": True,
        "retainOnDelete": True,
        "network": {"cidr": "10.30.0.0/16", "azCount": 3, "flowLogRetentionDays": 365},
        "kms": {"deletionWindowDays": 30},
        "artifacts": {"forceDestroy": False, "noncurrentExpirationDays": 730, "accessLogExpirationDays": 730},
        "audit": {"objectLock": True, "objectLockDays": 365, "logRetentionDays": 365},
    },
}


# Sections with their own modules bring their own per-environment defaults.
for _env in ENVIRONMENTS:
    ENVIRONMENT_DEFAULTS[_env].update(
        tracking=TRACKING_DEFAULTS[_env],
        training=TRAINING_DEFAULTS[_env],
        serving=SERVING_DEFAULTS[_env],
        monitoring=MONITORING_DEFAULTS[_env],
        alerts=ALERTS_DEFAULTS[_env],
        retraining=RETRAINING_DEFAULTS[_env],
        budget=BUDGET_DEFAULTS[_env],
        observability=OBSERVABILITY_DEFAULTS[_env],
    )


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` on top of ``base``, nested mappings merged key by key (stack values over defaults)."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


# Keys of the aws provider's namespace the platform reads: model field -> stack-file key.
AWS_KEYS = {"region": "aws:region", "allowedAccountIds": "aws:allowedAccountIds"}


def _config_key(loc: tuple[Any, ...]) -> str:
    """``("network", "cidr")`` -> ``mlops-platform:network.cidr``; region (and the allowed accounts)
    live under ``aws:``."""
    if loc and loc[0] in AWS_KEYS:
        return AWS_KEYS[loc[0]] + "".join(f"[{part}]" for part in loc[1:])
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return f"{PROJECT}:{path}" if path else PROJECT


def _section_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that owns the key at ``loc`` (for "did you mean" hints)."""
    model: type[BaseModel] = PlatformConfig
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = next((f for n, f in model.model_fields.items() if part in (n, f.alias)), None)
        annotation = getattr(field, "annotation", None)
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        nested = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if nested is None:
            return None
        model = nested
    return model


def _describe(error: Mapping[str, Any]) -> str:
    loc = tuple(error["loc"])
    key = _config_key(loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        section = _section_at(loc)
        known = sorted(f.alias or n for n, f in section.model_fields.items()) if section else []
        hint = difflib.get_close_matches(str(loc[-1]), known, n=1)
        suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
        return f"{key}: unknown key{suggestion} (known keys here: {', '.join(known)})"
    if kind == "missing":
        section = _section_at(loc)
        field = next((f for n, f in section.model_fields.items() if loc[-1] in (n, f.alias)), None) if section else None
        what = f" ({field.description})" if field is not None and field.description else ""
        return f"{key}: required but not set{what}"
    message = str(error["msg"]).removeprefix("Value error, ")
    if "input" in error and kind not in ("value_error",) and not isinstance(error["input"], (dict, list)):
        return f"{key}: {message} (got {error['input']!r})"
    return f"{key}: {message}"


def parse_config(values: Mapping[str, Any]) -> PlatformConfig:
    """Validate raw config values (camelCase keys, project namespace stripped) into the model.

    The environment's defaults are merged under ``values`` first. Raises :class:`ConfigError`
    listing every problem.
    """
    environment = values.get("environment")
    if environment not in ENVIRONMENTS:
        if environment is None:
            raise ConfigError([f"{PROJECT}:environment: required but not set (one of {', '.join(ENVIRONMENTS)})"])
        raise ConfigError([f"{PROJECT}:environment: {environment!r} is not an environment; expected one of {', '.join(ENVIRONMENTS)}"])
    merged = deep_merge(ENVIRONMENT_DEFAULTS[environment], values)
    try:
        return PlatformConfig.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError([_describe(e) for e in exc.errors()]) from None


def _decode(value: Any) -> Any:
    """Pulumi hands structured config to programs as JSON text; scalars stay strings."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def raw_stack_config(all_config: Mapping[str, Any], stack: str) -> dict[str, Any]:
    """Pick this project's keys (and ``aws:region``) out of the engine's flat config map."""
    values: dict[str, Any] = {}
    prefix = f"{PROJECT}:"
    for key, value in all_config.items():
        if key.startswith(prefix):
            values[key[len(prefix):]] = _decode(value)
    for field_name, key in AWS_KEYS.items():
        if key in all_config:
            values[field_name] = _decode(all_config[key])
    if "environment" not in values and stack in ENVIRONMENTS:
        values["environment"] = stack
    return values


def account_problems(config: PlatformConfig, account_id: str) -> list[str]:
    """What cannot work in account ``account_id``; one line per problem, naming the full key.

    Known only once the account is: from ``aws:allowedAccountIds`` or ``--account-id`` offline,
    from the credentials under ``pulumi up``.
    """
    problems: list[str] = []
    allowed = config.allowed_account_ids
    if allowed and account_id not in allowed:
        problems.append(f"aws:allowedAccountIds: the stack would run in account {account_id}, which is not one of "
                        f"{', '.join(allowed)}; use credentials (or --account-id) of an allowed account, or add it")
    checks = (
        ("iam.permissionsBoundaryArn", config.iam.permissions_boundary_arn, ("aws",),
         "a permissions boundary must be a managed policy of the roles' own account (or AWS-managed)"),
        ("iam.ci.oidcProviderArn", config.iam.ci.oidc_provider_arn, (),
         "a role can only trust an OIDC provider of its own account; create the CI provider in this account "
         "or unset the key to let the stack create it"),
        ("kubernetes.oidcProviderArn", config.kubernetes.oidc_provider_arn if config.kubernetes else None, (),
         "IRSA roles can only trust an OIDC provider of their own account; register the cluster's issuer as an "
         "IAM OIDC provider in this account (e.g. eksctl utils associate-iam-oidc-provider) and use its ARN"),
    )
    for key, arn, also_allowed, why in checks:
        owner = arn_account(arn) if arn else None
        if owner is not None and owner != account_id and owner not in also_allowed:
            problems.append(f"{PROJECT}:{key}: {arn!r} is in account {owner}, not the stack's account {account_id}; {why}")
    # The models bucket by its exact name now (config checked its pattern for any account).
    problems += [f"{PROJECT}:{p}" for p in model_data_problems(config.models, project=PROJECT, environment=config.environment,
                                                                 region=config.region, account_id=account_id)]
    return problems


def require_account(config: PlatformConfig, account_id: str) -> None:
    """Raise :class:`ConfigError` when ``config`` cannot work in ``account_id`` (see :func:`account_problems`)."""
    problems = account_problems(config, account_id)
    if problems:
        raise ConfigError(problems)


def add_account_option(parser: argparse.ArgumentParser) -> None:
    """``--account-id`` for every command that previews a stack (preview, cost, ...); here rather
    than in preview.py so that building the CLI's parser stays cheap."""
    from mlops_blueprint.mock_runtime import MOCK_ACCOUNT_ID

    parser.add_argument("--account-id", metavar="ID",
                        help="the AWS account to preview in (every ARN uses it); default: the first of the stack "
                             f"file's aws:allowedAccountIds, else {MOCK_ACCOUNT_ID}")


def load_config() -> PlatformConfig:
    """Read and validate the running stack's config (real engine or mock runtime alike)."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    # The engine passes config to Python programs in PULUMI_CONFIG; set_all_config (used by the
    # offline preview and the automation API) fills the in-process map. Read both.
    all_config = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    return parse_config(raw_stack_config(all_config, pulumi.get_stack()))
