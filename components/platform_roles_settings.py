"""What a user sets for the platform's roles: the ``iam`` section of the stack config, with CI trust
(``iam.ci``). The boundary applies to every role of the stack; the stack passes it to each component
that makes one."""

from __future__ import annotations

import re
from typing import Annotated, Literal, get_args

from pydantic import Field, field_validator, model_validator

from mlops_blueprint.config_base import Section, checked
from mlops_blueprint.validation import OIDC_PROVIDER_ARN, iam_policy_arn_problem, oidc_provider_arn_problem

CiProvider = Literal["none", "github", "gitlab", "jenkins", "pulumi"]
CI_PROVIDERS: tuple[str, ...] = get_args(CiProvider)
GITHUB_ISSUER = "token.actions.githubusercontent.com"
# Pulumi Cloud's issuer for ESC environments' aws-login (its tokens' audience: aws:<org>).
PULUMI_ISSUER = "api.pulumi.com/oidc"
# What ``repository`` names for each provider: the path its tokens' subject carries.
_REPOSITORY = {
    "github": (re.compile(r"[\w.-]+/[\w.-]+"), "org/repo"),
    "gitlab": (re.compile(r"[\w.-]+(/[\w.-]+)+"), "group[/subgroup]/project"),
    # The multibranch pipeline's full name: its branch jobs are <jenkinsUrl>/job/<folder>/job/<name>/job/<branch>/.
    "jenkins": (re.compile(r"[\w.-]+(/[\w.-]+)*"), "[folder/]pipeline, the multibranch job's full name"),
    # The ESC environments <org>/<project>/<environment>, one per stack environment.
    "pulumi": (re.compile(r"[\w.-]+/[\w.-]+"), "org/project of the ESC environments <org>/<project>/<env>"),
}
_HTTPS_URL = r"^https://[\w.-]+(:\d+)?(/[\w.~-]+)*$"

IamPolicyArn = Annotated[str, checked(iam_policy_arn_problem)]
OidcProviderArn = Annotated[str, checked(oidc_provider_arn_problem)]


class CiSettings(Section):
    """Trust for CI pipelines through OIDC: short-lived credentials, no stored keys."""

    provider: CiProvider = "none"
    repository: str | None = Field(
        default=None, description="org/repo (GitHub), group/project (GitLab), the multibranch pipeline's full name "
                                  "(Jenkins) or org/project of the ESC environments (Pulumi)")
    # No * or ?: the branch lands in an IAM condition.
    deploy_branch: str = Field(default="main", pattern=r"^[\w./-]+$")
    oidc_provider_arn: OidcProviderArn | None = Field(default=None, description="an existing IAM OIDC provider; created when unset")
    gitlab_url: str = Field(default="https://gitlab.com", pattern=r"^https://[\w.-]+$")
    jenkins_url: str | None = Field(default=None, pattern=_HTTPS_URL,
                                    description="Jenkins' root URL, e.g. https://jenkins.example.com (provider jenkins)")
    jenkins_issuer_url: str | None = Field(
        default=None, pattern=_HTTPS_URL,
        description="the OIDC issuer of Jenkins' id tokens (plugin oidc-provider); unset: <jenkinsUrl>/oidc")

    @field_validator("repository")
    @classmethod
    def _repository(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[\w.-]+(/[\w.-]+)*", value):
            raise ValueError(f"{value!r} is not a repository path; expected org/repo")
        return value

    @property
    def default_issuer(self) -> str:
        """The provider's token issuer (host[/path], no scheme), as IAM condition keys spell it."""
        if self.provider == "github":
            return GITHUB_ISSUER
        if self.provider == "pulumi":
            return PULUMI_ISSUER
        if self.provider == "jenkins":
            return (self.jenkins_issuer_url or f"{self.jenkins_url}/oidc").removeprefix("https://")
        return self.gitlab_url.removeprefix("https://")

    @property
    def issuer(self) -> str:
        """The issuer the CI roles trust: an existing provider's ARN names it exactly (e.g. a GitHub
        Enterprise issuer ``token.actions.githubusercontent.com/<enterprise>``)."""
        match = OIDC_PROVIDER_ARN.fullmatch(self.oidc_provider_arn or "")
        return match.group("issuer") if match else self.default_issuer

    @model_validator(mode="after")
    def _needs_repository(self) -> CiSettings:
        if self.provider == "none":
            return self
        if not self.repository:
            raise ValueError(f"iam.ci.repository is required when iam.ci.provider is {self.provider!r}")
        if self.provider == "jenkins" and not self.jenkins_url:
            raise ValueError("iam.ci.jenkinsUrl is required when iam.ci.provider is 'jenkins' (e.g. https://jenkins.example.com)")
        if self.provider != "jenkins" and (self.jenkins_url or self.jenkins_issuer_url):
            raise ValueError(f"iam.ci.jenkinsUrl/jenkinsIssuerUrl are set but iam.ci.provider is {self.provider!r}")
        pattern, shape = _REPOSITORY[self.provider]
        if not pattern.fullmatch(self.repository):
            raise ValueError(f"iam.ci.repository: {self.repository!r} is not a {self.provider} repository path ({shape})")
        issuer, expected = self.issuer, self.default_issuer
        if issuer != expected and not (self.provider == "github" and issuer.startswith(GITHUB_ISSUER + "/")):
            raise ValueError(f"iam.ci.oidcProviderArn: the provider is for {issuer!r}; "
                             f"{self.provider} tokens come from {expected!r}")
        return self


class PlatformRolesSettings(Section):
    """Roles and their guardrails."""

    permissions_boundary_arn: IamPolicyArn | None = Field(default=None, description="managed policy ARN applied as every role's boundary")
    ci: CiSettings = Field(default_factory=CiSettings)
