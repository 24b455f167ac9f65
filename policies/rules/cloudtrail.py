"""CloudTrail: one trail sees every region and global service, tamper-evident and encrypted.

The rules check the trails a stack creates (``audit.trail: create``, every environment). With
``audit.trail: existing`` (the organisation's trail) or ``none`` the stack holds no trail and
these rules have nothing to check: a trail outside the stack is invisible to a policy pack, so
the stack config is the guard there (it refuses ``none`` in prod unless the trail that records
the account is named in ``audit.existingTrailArn``)."""

from __future__ import annotations

from mlops_blueprint.policies.model import Rule
from mlops_blueprint.policies.rules._helpers import requires, requires_set, rule

TRAIL = "aws:cloudtrail/trail:Trail"

RULES: tuple[Rule, ...] = (
    # ``unset`` is what AWS assumes when the flag is missing.
    rule("cloudtrail-multi-region",
         "Trails record every region (isMultiRegionTrail), so activity elsewhere is not missed.",
         requires("isMultiRegionTrail", noun="trail", unset=False), TRAIL),
    rule("cloudtrail-log-file-validation",
         "Trails write digest files (enableLogFileValidation), so tampering is detectable.",
         requires("enableLogFileValidation", noun="trail", unset=False), TRAIL),
    rule("cloudtrail-global-service-events",
         "Trails include global service events (IAM, STS), where most privilege changes happen.",
         requires("includeGlobalServiceEvents", noun="trail", unset=True), TRAIL),
    rule("cloudtrail-kms-encrypted",
         "Trails encrypt their log files with a customer-managed KMS key (kmsKeyId).",
         requires_set("kmsKeyId", noun="trail", fix="encrypt its logs with a customer KMS key"), TRAIL),
)
