"""IAM roles for Kubernetes service accounts (IRSA): the trust statement, built in one place.

A pod's service account is annotated with a role ARN; EKS's OIDC issuer signs the pod's token and
STS lets exactly that ``system:serviceaccount:<namespace>:<name>`` assume the role.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mlops_blueprint.policy_documents import Statement
from mlops_blueprint.validation import K8S_NAME, OIDC_PROVIDER_ARN


@dataclass(frozen=True)
class ServiceAccountTrust:
    """Which cluster (its IAM OIDC provider) and which service account may assume a role."""

    oidc_provider_arn: str
    namespace: str
    service_account: str

    def __post_init__(self) -> None:
        if not OIDC_PROVIDER_ARN.fullmatch(self.oidc_provider_arn):
            raise ValueError(
                f"oidc_provider_arn: {self.oidc_provider_arn!r} is not an IAM OIDC provider ARN "
                "(arn:aws:iam::123456789012:oidc-provider/oidc.eks.<region>.amazonaws.com/id/<id>)"
            )
        for arg in ("namespace", "service_account"):
            value = getattr(self, arg)
            if not re.fullmatch(K8S_NAME, value):
                raise ValueError(f"{arg}: {value!r} is not a Kubernetes name (lowercase letters, digits, '-')")

    @property
    def issuer(self) -> str:
        """The issuer host/path as IAM condition keys spell it (no scheme)."""
        match = OIDC_PROVIDER_ARN.fullmatch(self.oidc_provider_arn)
        assert match is not None  # checked in __post_init__
        return match.group("issuer")

    @property
    def subject(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.service_account}"

    def statement(self) -> Statement:
        return {
            "Sid": "TrustServiceAccount",
            "Effect": "Allow",
            "Principal": {"Federated": self.oidc_provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {f"{self.issuer}:sub": self.subject, f"{self.issuer}:aud": "sts.amazonaws.com"}},
        }
