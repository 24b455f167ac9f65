"""ECR: images are scanned on push and a tag, once pushed, always names the same image."""

from __future__ import annotations

from mlops_blueprint.policies.model import Rule
from mlops_blueprint.policies.rules._helpers import ECR_REPOSITORY, requires, rule

_NOUN = "ECR repository"

RULES: tuple[Rule, ...] = (
    rule("ecr-scan-on-push", "ECR repositories scan every pushed image for vulnerabilities.",
         requires("imageScanningConfiguration.scanOnPush", noun=_NOUN), ECR_REPOSITORY),
    rule("ecr-immutable-tags", "ECR repositories use imageTagMutability IMMUTABLE (the default is MUTABLE).",
         requires("imageTagMutability", "IMMUTABLE", noun=_NOUN, quote_value=True), ECR_REPOSITORY),
)
