"""CloudTrail: one trail sees every region and global service, tamper-evident and encrypted.

The rules check the trails a stack creates (``audit.trail: create``, every environment). With
``audit.trail: existing`` (the organisation's trail) or ``none`` the stack holds no trail and
these rules have nothing to check: a trail outside the stack is invisible to a policy pack, so
the stack config is the guard there (it refuses ``none`` in prod unless the trail that records
the account is named in ``audit.existingTrailArn``)."""

from __future__ import annotations

from mlops_blueprint.policies.model import PolicyContext, ResourceCheck, ResourceView, Rule
from mlops_blueprint.policies.rules._helpers import is_set

TRAIL = "aws:cloudtrail/trail:Trail"


def _flag(prop: str, default: bool) -> ResourceCheck:
    """The trail's boolean ``prop`` must be true; ``default`` is what AWS assumes when unset."""

    def check(resource: ResourceView, ctx: PolicyContext) -> list[str]:
        value = resource.props.get(prop)
        if value is False or (value is None and not default):
            return [f"trail '{resource.name}' must set {prop}=true"]
        return []

    return check


def _kms(resource: ResourceView, ctx: PolicyContext) -> list[str]:
    if is_set(resource.props.get("kmsKeyId")):
        return []
    return [f"trail '{resource.name}' has no kmsKeyId; encrypt its logs with a customer KMS key"]


RULES: tuple[Rule, ...] = (
    Rule(
        name="cloudtrail-multi-region",
        description="Trails record every region (isMultiRegionTrail), so activity elsewhere is not missed.",
        enforcement="mandatory",
        check=_flag("isMultiRegionTrail", default=False),
        resource_types=(TRAIL,),
    ),
    Rule(
        name="cloudtrail-log-file-validation",
        description="Trails write digest files (enableLogFileValidation), so tampering is detectable.",
        enforcement="mandatory",
        check=_flag("enableLogFileValidation", default=False),
        resource_types=(TRAIL,),
    ),
    Rule(
        name="cloudtrail-global-service-events",
        description="Trails include global service events (IAM, STS), where most privilege changes happen.",
        enforcement="mandatory",
        check=_flag("includeGlobalServiceEvents", default=True),
        resource_types=(TRAIL,),
    ),
    Rule(
        name="cloudtrail-kms-encrypted",
        description="Trails encrypt their log files with a customer-managed KMS key (kmsKeyId).",
        enforcement="mandatory",
        check=_kms,
        resource_types=(TRAIL,),
    ),
)
