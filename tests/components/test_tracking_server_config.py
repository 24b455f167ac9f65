"""The ``tracking`` config section: defaults per environment, validation naming the key, and the
checks the platform model delegates to ``tracking_problems``."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mlops_blueprint.tracking_config import (
    TRACKING_DEFAULTS,
    TrackingConfig,
    mlflow_minor_version,
    tracking_problems,
)


def errors(values: dict) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        TrackingConfig.model_validate(values)
    return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in caught.value.errors()]


def test_environment_defaults():
    dev, staging, prod = (TrackingConfig.model_validate(TRACKING_DEFAULTS[env]) for env in ("dev", "staging", "prod"))
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
    config = TrackingConfig.model_validate({
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
    assert TrackingConfig(mlflow_version="2.16.2").sagemaker_mlflow_version == "2.16"
    assert TrackingConfig(mlflow_version="3.1").sagemaker_mlflow_version == "3.1"
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
])
def test_bad_values_name_their_key(values, key, fragment):
    messages = errors(values)
    assert any(m.startswith(f"{key}:") and fragment in m for m in messages), messages


def test_kubernetes_backend_needs_the_cluster_section_and_a_released_image():
    config = TrackingConfig.model_validate({"backend": "kubernetes"})  # mlflowVersion "3.0", no image
    problems = tracking_problems(config, has_kubernetes_cluster=False)
    assert len(problems) == 2
    assert problems[0].startswith("tracking.backend is 'kubernetes' but the kubernetes section")
    assert problems[1].startswith("tracking.mlflowVersion '3.0' names no patch release")
    pinned = TrackingConfig.model_validate({"backend": "kubernetes", "kubernetes": {"image": "registry.example/mlflow:3.0.1"}})
    assert tracking_problems(pinned, has_kubernetes_cluster=True) == []
    # The sagemaker backends need neither.
    assert tracking_problems(TrackingConfig(), has_kubernetes_cluster=False, environment="prod") == []


def test_prod_rules_for_the_self_hosted_database():
    loose = TrackingConfig.model_validate({
        "backend": "kubernetes", "mlflowVersion": "3.5.0",
        "kubernetes": {"database": {"deletionProtection": False, "skipFinalSnapshot": True, "multiAz": False}},
    })
    assert tracking_problems(loose, True, environment="prod") == [
        "tracking.kubernetes.database.deletionProtection must be true in prod",
        "tracking.kubernetes.database.skipFinalSnapshot must be false in prod",
        "tracking.kubernetes.database.multiAz must be true in prod",
    ]
    assert tracking_problems(loose, True, environment="dev") == []
