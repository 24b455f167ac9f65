"""ECR: images are scanned on push and a tag, once pushed, always names the same image."""

from __future__ import annotations

from mlops_blueprint.policies.model import PolicyContext, ResourceView, Rule
from mlops_blueprint.policies.rules._helpers import ECR_REPOSITORY, differs, show


def _scan_on_push(resource: ResourceView, ctx: PolicyContext) -> list[str]:
    if differs(resource.prop("imageScanningConfiguration", "scanOnPush"), True):
        return [f"ECR repository '{resource.name}' must set imageScanningConfiguration.scanOnPush=true"]
    return []


def _immutable_tags(resource: ResourceView, ctx: PolicyContext) -> list[str]:
    value = resource.props.get("imageTagMutability")
    if differs(value, "IMMUTABLE"):
        return [f"ECR repository '{resource.name}' has imageTagMutability {show(value)}; set it to \"IMMUTABLE\""]
    return []


RULES: tuple[Rule, ...] = (
    Rule(
        name="ecr-scan-on-push",
        description="ECR repositories scan every pushed image for vulnerabilities.",
        enforcement="mandatory",
        check=_scan_on_push,
        resource_types=(ECR_REPOSITORY,),
    ),
    Rule(
        name="ecr-immutable-tags",
        description="ECR repositories use imageTagMutability IMMUTABLE (the default is MUTABLE).",
        enforcement="mandatory",
        check=_immutable_tags,
        resource_types=(ECR_REPOSITORY,),
    ),
)
