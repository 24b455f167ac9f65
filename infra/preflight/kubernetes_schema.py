"""Kubernetes objects of a plan against the Kubernetes OpenAPI schema of a stated version.

``kubernetes-validate`` ships the schemas offline; strict mode refuses fields the API server
would drop (a misspelt ``securityContext`` key is a setting that silently never applies).
"""

from __future__ import annotations

from typing import Any

from mlops_blueprint.mock_runtime import SECRET_PLACEHOLDER
from mlops_blueprint.preflight.findings import PreflightReport
from mlops_blueprint.preflight.plan_walk import UNKNOWN, custom_resources

K8S_SCHEMA = "k8s-schema"
# The Kubernetes version the objects are checked against (EKS standard support, late 2026).
KUBERNETES_VERSION = "1.33.0"


def _manifest(value: Any) -> Any:
    """Inputs with values only known after apply replaced by a string, secrets (whose shape the
    plan does not record) left out: the schema checks the rest."""
    if isinstance(value, dict):
        return {k: _manifest(v) for k, v in value.items() if v != SECRET_PLACEHOLDER}
    if isinstance(value, list):
        return [_manifest(v) for v in value]
    return "unknown" if value == UNKNOWN else value


def check_kubernetes(plan: dict[str, Any], report: PreflightReport, version: str = KUBERNETES_VERSION) -> None:
    objects = [r for r in custom_resources(plan)
               if r["type"].startswith("kubernetes:") and not r["type"].startswith("kubernetes:helm.sh")]
    if not objects:
        return
    import kubernetes_validate  # the [check] extra: only needed when the plan has Kubernetes objects

    report.stated["kubernetes schema"] = f"Kubernetes {version} (kubernetes-validate)"
    for resource in objects:
        manifest = _manifest(resource.get("inputs", {}))
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
            failure = None
        except kubernetes_validate.ValidationError as exc:
            path = "/".join(str(p) for p in exc.path) or "(object)"
            failure = f"{manifest.get('kind')} {path}: {exc.message} (Kubernetes {version} schema)"
        except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as exc:
            failure = f"no Kubernetes {version} schema for {resource['type']}: {exc}"
        report.add(K8S_SCHEMA, resource["urn"], failure, resource["type"])
