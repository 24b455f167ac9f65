"""TrackingServerSettings, the ``tracking`` config section: defaults per environment, validation
naming the key, the checks the platform model delegates to ``tracking_problems``, and that the
component's args hold wiring only."""

from __future__ import annotations

import dataclasses

import pytest
from pydantic import BaseModel, ValidationError

from mlops_blueprint.components.tracking_kubernetes import KubernetesTrackingArgs
from mlops_blueprint.components.tracking_server import TrackingServerArgs
from mlops_blueprint.components.tracking_server_settings import (
    TRACKING_DEFAULTS,
    TrackingServerSettings,
    mlflow_minor_version,
)
from mlops_blueprint.config import ConfigError, PlatformConfig, parse_config
from mlops_blueprint.tracking_config import tracking_problems



def errors(values: dict) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        TrackingServerSettings.model_validate(values)
    return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in caught.value.errors()]


def test_the_config_section_is_the_components_settings_and_args_copy_none_of_it():
    assert PlatformConfig.model_fields["tracking"].annotation is TrackingServerSettings
    def values(model: type[BaseModel]) -> set[str]:  # the settable values, nested sections included
        found: set[str] = set()
        for name, info in model.model_fields.items():
            nested = info.annotation if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel) else None
            found |= values(nested) if nested else {name}
        return found

    settings = values(TrackingServerSettings)
    assert {"backend", "mlflow_version", "namespace", "replicas", "instance_class", "memory_limit"} <= settings
    for args in (TrackingServerArgs, KubernetesTrackingArgs):
        copied = {f.name for f in dataclasses.fields(args)} & settings
        assert copied == set(), f"{args.__name__} repeats settings {copied}"


def test_environment_defaults():
    dev, staging, prod = (TrackingServerSettings.model_validate(TRACKING_DEFAULTS[env]) for env in ("dev", "staging", "prod"))
    assert dev.backend == "sagemaker-serverless"
    assert (staging.backend, staging.size) == ("sagemaker-managed", "Small")
    assert (prod.backend, prod.size) == ("sagemaker-managed", "Medium")
    assert prod.kubernetes.database.multi_az and prod.kubernetes.database.deletion_protection
    assert not prod.kubernetes.database.skip_final_snapshot
    assert dev.kubernetes.database.skip_final_snapshot and not dev.kubernetes.database.deletion_protection
    assert all(c.artifact_prefix == "mlflow" and c.maintenance_window == "Sun:03:00" for c in (dev, staging, prod))
    # Every environment's defaults satisfy prod's rules where they must.
    prod_k8s = prod.model_copy(update={"backend": "kubernetes", "mlflow_version": "3.5.0"})
    assert tracking_problems(prod_k8s, True, environment="prod") == []


def test_keys_are_camel_case_and_unknown_keys_are_rejected():
    config = TrackingServerSettings.model_validate({
        "backend": "kubernetes", "mlflowVersion": "3.5.1", "artifactPrefix": "teams/ml/mlflow",
        "maintenanceWindow": "SAT:22:15", "modelFamilies": ["churn", "fraud-v2"],
        "kubernetes": {"namespace": "ml-tracking", "maxReplicas": 5, "resources": {"memoryLimit": "3Gi"},
                       "database": {"instanceClass": "db.r7g.large", "allocatedStorage": 100, "multiAz": True,
                                    "backupRetentionDays": 14}},
    })
    assert config.maintenance_window == "Sat:22:15"
    assert config.kubernetes.max_replicas == 5 and config.kubernetes.resources.memory_limit == "3Gi"
    assert config.kubernetes.database.instance_class == "db.r7g.large"
    assert config.kubernetes_image == "ghcr.io/mlflow/mlflow:v3.5.1-full"
    assert errors({"bakend": "kubernetes"}) == ["bakend: Extra inputs are not permitted"]


def test_version_is_validated_and_sagemaker_gets_major_minor():
    assert mlflow_minor_version("3.0.1") == mlflow_minor_version("3.0.2") == "3.0"
    assert TrackingServerSettings(mlflow_version="2.16.2").sagemaker_mlflow_version == "2.16"
    assert TrackingServerSettings(mlflow_version="3.1").sagemaker_mlflow_version == "3.1"
    [message] = errors({"mlflowVersion": "3"})
    assert message.startswith("mlflowVersion:") and "major.minor" in message
    [message] = errors({"mlflowVersion": 3.10})  # YAML's unquoted 3.10 is the float 3.1
    assert "quote the version" in message


@pytest.mark.parametrize(("values", "key", "fragment"), [
    ({"backend": "ecs"}, "backend", "sagemaker-serverless"),
    ({"size": "XL"}, "size", "'Small', 'Medium' or 'Large'"),
    ({"maintenanceWindow": "Sunday:03:00"}, "maintenanceWindow", "Day:HH:MM"),
    ({"maintenanceWindow": "Sun:25:00"}, "maintenanceWindow", "Day:HH:MM"),
    ({"artifactPrefix": "mlflow/"}, "artifactPrefix", "without leading or trailing '/'"),
    ({"artifactPrefix": "MLflow"}, "artifactPrefix", "lowercase"),
    ({"modelFamilies": ["Churn"]}, "modelFamilies", "not a model family name"),
    ({"modelFamilies": ["x" * 41]}, "modelFamilies", "1 to 40"),
    ({"modelFamilies": ["a", "a"]}, "modelFamilies", "duplicate model families: a"),
    ({"kubernetes": {"namespace": "ML"}}, "kubernetes.namespace", "pattern"),
    ({"kubernetes": {"replicas": 3, "maxReplicas": 2}}, "kubernetes", "maxReplicas (2) must be at least replicas (3)"),
    ({"kubernetes": {"resources": {"cpuRequest": "2", "cpuLimit": "1"}}}, "kubernetes.resources", "exceeds cpuLimit"),
    ({"kubernetes": {"resources": {"memoryLimit": "lots"}}}, "kubernetes.resources.memoryLimit", "memory quantity"),
    ({"kubernetes": {"database": {"backupRetentionDays": 0}}}, "kubernetes.database.backupRetentionDays", "greater than or equal to 1"),
    ({"kubernetes": {"database": {"allocatedStorage": 10}}}, "kubernetes.database.allocatedStorage", "greater than or equal to 20"),
    ({"kubernetes": {"database": {"instanceClass": "m5.large"}}}, "kubernetes.database.instanceClass", "pattern"),
    ({"kubernetes": {"database": {"engineVersion": "9.6"}}}, "kubernetes.database.engineVersion", "pattern"),
    ({"kubernetes": {"credentialsRefreshSeconds": 5}}, "kubernetes.credentialsRefreshSeconds", "greater than or equal to 30"),
    ({"kubernetes": {"workers": 17}}, "kubernetes.workers", "less than or equal to 16"),
    ({"kubernetes": {"image": "mlflow:"}}, "kubernetes.image", "not an image reference"),
    ({"kubernetes": {"jobExecution": True}}, "kubernetes", "jobExecution: true needs resources.memoryLimit of at least 4Gi"),
    ({"kubernetes": {"jobExecution": True, "resources": {"memoryLimit": "3Gi"}}}, "kubernetes", "it is 3Gi"),
])
def test_bad_values_name_their_key(values, key, fragment):
    messages = errors(values)
    assert any(m.startswith(f"{key}:") and fragment in m for m in messages), messages


def test_kubernetes_backend_needs_a_released_image():
    [message] = errors({"backend": "kubernetes"})  # mlflowVersion "3.0", no image
    assert "mlflowVersion '3.0' names no patch release" in message and "set kubernetes.image" in message
    pinned = TrackingServerSettings.model_validate({"backend": "kubernetes", "kubernetes": {"image": "registry.example/mlflow:3.0.1"}})
    assert pinned.kubernetes_image == "registry.example/mlflow:3.0.1"
    released = TrackingServerSettings.model_validate({"backend": "kubernetes", "mlflowVersion": "3.5.0"})
    assert released.kubernetes_image == "ghcr.io/mlflow/mlflow:v3.5.0-full"
    # The SageMaker backends take major.minor: no image, no patch needed.
    assert TrackingServerSettings(mlflow_version="3.0").backend == "sagemaker-serverless"


def test_stack_config_names_the_tracking_key_of_a_settings_problem():
    base = {"environment": "dev", "region": "us-east-1", "owner": "ml", "costCenter": "cc-1"}
    with pytest.raises(ConfigError) as caught:
        parse_config({**base, "tracking": {"kubernetes": {"database": {"allocatedStorage": 10}}, "mlflowVersion": 3.1}})
    problems = caught.value.problems
    assert any(p.startswith("mlops-platform:tracking.kubernetes.database.allocatedStorage:") for p in problems), problems
    assert any(p.startswith("mlops-platform:tracking.mlflowVersion:") and "quote the version" in p for p in problems)


def test_kubernetes_backend_needs_the_cluster_section():
    config = TrackingServerSettings.model_validate({"backend": "kubernetes", "mlflowVersion": "3.5.0"})
    assert tracking_problems(config, has_kubernetes_cluster=False) == [
        "tracking.backend is 'kubernetes' but the kubernetes section (kubeconfig/context, oidcProviderArn, "
        "nodeSecurityGroupId) is not set; add it or pick a sagemaker-* backend"]
    assert tracking_problems(config, has_kubernetes_cluster=True) == []
    # The sagemaker backends need none.
    assert tracking_problems(TrackingServerSettings(), has_kubernetes_cluster=False, environment="prod") == []


def test_prod_rules_for_the_self_hosted_database():
    loose = TrackingServerSettings.model_validate({
        "backend": "kubernetes", "mlflowVersion": "3.5.0",
        "kubernetes": {"database": {"deletionProtection": False, "skipFinalSnapshot": True, "multiAz": False}},
    })
    assert tracking_problems(loose, True, environment="prod") == [
        "tracking.kubernetes.database.deletionProtection must be true in prod",
        "tracking.kubernetes.database.skipFinalSnapshot must be false in prod",
        "tracking.kubernetes.database.multiAz must be true in prod",
    ]
    assert tracking_problems(loose, True, environment="dev") == []
