"""The CI roles of PlatformRoles (built from ci_trust): who may assume them through OIDC (GitHub,
GitLab, Jenkins, Pulumi ESC) and what a preview or a deploy may do, checked on the policy JSON."""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase

import pytest

from support.platform_roles import (
    ACCOUNT, ATTACHMENT, BOUNDARY, CI_ROLES, DATA_PLANE_READS, GITHUB, GITHUB_OIDC, GITLAB, JENKINS, OIDC,
    POLICY, PULUMI, ROLE, SAGEMAKER_ROLES, STATE, WRITE_ACTIONS, as_list, build, granting, policies_of,
    resources_for, role, role_arn, statements, trust,
)


# -- CI roles ------------------------------------------------------------------------------------


def test_no_ci_roles_or_provider_without_ci(dev_context):
    run = build(dev_context, ci_repository="acme/ignored")
    assert {r.name for r in run.of_type(ROLE)} == {f"roles-{p}" for p in SAGEMAKER_ROLES}
    assert not run.of_type(OIDC) and not run.of_type(POLICY) and not run.of_type(ATTACHMENT)
    assert set(run.outputs["none"]) == {"ci_preview_role_arn", "ci_deploy_role_arn", "oidc_provider_arn"}
    assert set(run.outputs["role_arns"]) == set(SAGEMAKER_ROLES)
    assert run.outputs["training"] == role_arn(run, "training")


def test_github_trust_preview_any_ref_deploy_only_the_stacks_environment(dev_context):
    run = build(dev_context, **GITHUB)
    (provider,) = run.of_type(OIDC)
    assert provider.inputs["url"] == "https://token.actions.githubusercontent.com"
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    host = "token.actions.githubusercontent.com"
    subjects = {}
    for purpose in CI_ROLES:
        (s,) = trust(run, purpose)["Statement"]
        assert s["Effect"] == "Allow" and s["Action"] == ["sts:AssumeRoleWithWebIdentity"]
        assert s["Principal"] == {"Federated": provider.outputs["arn"]}
        assert s["Condition"]["StringEquals"][f"{host}:aud"] == "sts.amazonaws.com"
        subjects[purpose] = s["Condition"]
    assert subjects["ci-preview"]["StringLike"] == {f"{host}:sub": "repo:acme/ml-platform:*"}
    # Deploy jobs run in the GitHub environment named after the stack; its protection rules apply.
    assert subjects["ci-deploy"]["StringEquals"][f"{host}:sub"] == "repo:acme/ml-platform:environment:dev"
    assert "StringLike" not in subjects["ci-deploy"]

    preview = subjects["ci-preview"]["StringLike"][f"{host}:sub"]
    for token_sub in ("repo:acme/ml-platform:pull_request", "repo:acme/ml-platform:ref:refs/heads/feature-x"):
        assert fnmatchcase(token_sub, preview)
    for foreign in ("repo:acme/ml-platform-fork:pull_request", "repo:evil/ml-platform:pull_request"):
        assert not fnmatchcase(foreign, preview)
    assert set(run.outputs["role_arns"]) == {*SAGEMAKER_ROLES, *CI_ROLES}
    assert run.outputs["ci_deploy"] == role_arn(run, "ci-deploy") and run.outputs["none"] == []


def test_gitlab_trust_uses_the_gitlab_url_as_issuer_and_audience(dev_context):
    run = build(dev_context, **GITLAB)
    (provider,) = run.of_type(OIDC)
    assert provider.inputs["url"] == "https://gitlab.example.com"
    assert provider.inputs["clientIdLists"] == ["https://gitlab.example.com"]
    preview = trust(run, "ci-preview")["Statement"][0]["Condition"]
    deploy = trust(run, "ci-deploy")["Statement"][0]["Condition"]
    assert preview["StringEquals"] == {"gitlab.example.com:aud": "https://gitlab.example.com"}
    assert preview["StringLike"] == {"gitlab.example.com:sub": "project_path:acme/ml/platform:ref_type:branch:ref:*"}
    assert deploy["StringEquals"] == {
        "gitlab.example.com:aud": "https://gitlab.example.com",
        "gitlab.example.com:sub": "project_path:acme/ml/platform:ref_type:branch:ref:main",
    }
    assert not fnmatchcase("project_path:acme/ml/platform:ref_type:tag:ref:v1", preview["StringLike"]["gitlab.example.com:sub"])




PIPELINE = "https://ci.example.com/job/platform/job/mlops-blueprint"
ESC = "pulumi:environments:org:acme:env:mlops-platform"


# Jenkins (oidc-provider plugin): the default subject is the job's URL, so previews from any branch
# job of the multibranch pipeline, deploys from the deploy branch's job only. Pulumi ESC's aws-login:
# audience aws:<org>, subject <ESC>/<environment>, so each stack trusts its own environment.
@pytest.mark.parametrize(("env", "values", "url", "audience", "preview", "deploy", "previewers", "foreign"), [
    ("staging", {**JENKINS, "ci_deploy_branch": "release/v2"}, "https://ci.example.com/oidc", "sts.amazonaws.com",
     f"{PIPELINE}/job/*", f"{PIPELINE}/job/release%2Fv2/",
     [f"{PIPELINE}/job/{job}/" for job in ("main", "PR-12", "feature%2Fx")],
     "https://ci.example.com/job/platform/job/other/job/main/"),
    ("prod", PULUMI, "https://api.pulumi.com/oidc", "aws:acme", f"{ESC}/*", f"{ESC}/prod",
     [f"{ESC}/dev", f"{ESC}/prod"], "pulumi:environments:org:other:env:mlops-platform/prod"),
])
def test_jenkins_and_pulumi_trust_their_issuer_audience_and_subjects(
        context_for, env, values, url, audience, preview, deploy, previewers, foreign):
    run = build(context_for(env), **values)
    (provider,) = run.of_type(OIDC)
    assert provider.inputs["url"] == url and provider.inputs["clientIdLists"] == [audience]
    issuer = url.removeprefix("https://")
    previews = trust(run, "ci-preview")["Statement"][0]["Condition"]
    assert previews == {"StringEquals": {f"{issuer}:aud": audience}, "StringLike": {f"{issuer}:sub": preview}}
    deploys = trust(run, "ci-deploy")["Statement"][0]["Condition"]
    assert deploys == {"StringEquals": {f"{issuer}:aud": audience, f"{issuer}:sub": deploy}}
    assert all(fnmatchcase(subject, preview) for subject in previewers)
    assert not fnmatchcase(foreign, preview)


def test_jenkins_with_an_alternate_issuer(dev_context):
    run = build(dev_context, **JENKINS, jenkins_issuer_url="https://keys.example.com/jenkins")
    (provider,) = run.of_type(OIDC)
    assert provider.inputs["url"] == "https://keys.example.com/jenkins"
    deploy = trust(run, "ci-deploy")["Statement"][0]["Condition"]["StringEquals"]
    # The subject is still the job's URL on Jenkins itself.
    assert deploy["keys.example.com/jenkins:sub"] == f"{PIPELINE}/job/main/"


def test_pulumi_roles_say_which_esc_environments_they_trust(context_for):
    run = build(context_for("prod"), **PULUMI)
    assert "ESC environments acme/mlops-platform/*" in role(run, "ci-preview").inputs["description"]
    assert "ESC environment acme/mlops-platform/prod" in role(run, "ci-deploy").inputs["description"]


def test_existing_oidc_provider_is_trusted_and_none_is_created(dev_context):
    run = build(dev_context, **GITHUB, ci_oidc_provider_arn=GITHUB_OIDC)
    assert not run.of_type(OIDC)
    for purpose in CI_ROLES:
        assert trust(run, purpose)["Statement"][0]["Principal"] == {"Federated": GITHUB_OIDC}


def test_github_enterprise_issuer_from_the_provider_arn_names_the_condition_keys(dev_context):
    arn = f"{GITHUB_OIDC}/acme-enterprise"
    run = build(dev_context, **GITHUB, ci_oidc_provider_arn=arn)
    condition = trust(run, "ci-deploy")["Statement"][0]["Condition"]["StringEquals"]
    assert set(condition) == {"token.actions.githubusercontent.com/acme-enterprise:aud",
                              "token.actions.githubusercontent.com/acme-enterprise:sub"}


@pytest.mark.parametrize("state", [None, STATE])
def test_ci_preview_is_read_only_and_never_reads_data(dev_context, state):
    docs = policies_of(build(dev_context, **GITHUB, state_bucket_arn=state), "ci-preview")
    for action in DATA_PLANE_READS:
        allowed = resources_for(docs, action)
        if action == "s3:GetObject" and state:
            assert allowed == {f"{STATE}/*.pulumi/*"}  # Pulumi state only
        else:
            assert not allowed, action
    for s in statements(docs):
        state_lock = s["Resource"] == [f"{STATE}/*.pulumi/locks/*"]
        for action in as_list(s["Action"]):
            verb = action.split(":", 1)[1]
            assert state_lock or re.match(r"(Describe|Get|List|View)", verb), action
    if state:
        assert resources_for(docs, "s3:PutObject") == resources_for(docs, "s3:DeleteObject") == {f"{STATE}/*.pulumi/locks/*"}
    for action in WRITE_ACTIONS[1:]:
        assert not granting(docs, action), action
    assert resources_for(docs, "s3:ListBucket") == {"arn:aws:s3:::mlops-platform-dev-*", *([STATE] if state else [])}


def test_ci_deploy_writes_are_scoped_to_this_stack(dev_context):
    run = build(dev_context, **GITHUB, state_bucket_arn=STATE)
    docs = policies_of(run, "ci-deploy")
    exceptions = (  # resources outside the stack's names, each for a stated reason in ci_trust
        "arn:aws:iam::aws:policy/service-role/*", f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/*",
        f"arn:aws:rds:us-east-1:{ACCOUNT}:pg:default*", f"arn:aws:rds:us-east-1:{ACCOUNT}:og:default*",
        f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:rds!*", STATE, f"{STATE}/*.pulumi/*",
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/sagemaker/ProcessingJobs",  # the drift engine's
    )
    for s in statements(docs):
        actions = as_list(s["Action"])
        if s["Resource"] == "*":
            reads_only = all(re.match(r"(Describe|Get|List|View)", a.split(":")[1]) for a in actions)
            assert reads_only or s.get("Condition"), s  # writes on "*" only behind tag/region conditions
            continue
        for resource in as_list(s["Resource"]):
            assert resource in exceptions or re.search(r"mlops-platform-dev-(us-east-1-)?\*|/mlops-platform/dev/\*", resource), resource
    role_pattern = f"arn:aws:iam::{ACCOUNT}:role/mlops-platform-dev-us-east-1-*"
    assert resources_for(docs, "iam:PassRole") == {role_pattern}
    assert resources_for(docs, "iam:CreateRole") == {role_pattern}
    assert resources_for(docs, "s3:CreateBucket") == {f"arn:aws:s3:::mlops-platform-dev-*-{ACCOUNT}-us-east-1"}
    assert resources_for(docs, "sagemaker:CreateEndpoint") == {f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:*/mlops-platform-dev-*"}
    (create_key,) = granting(docs, "kms:CreateKey")
    assert create_key["Condition"]["StringEquals"] == {"aws:RequestTag/project": "mlops-platform",
                                                       "aws:RequestTag/environment": "dev"}
    (put_key_policy,) = granting(docs, "kms:PutKeyPolicy")
    assert put_key_policy["Condition"]["StringEquals"] == {"aws:ResourceTag/project": "mlops-platform",
                                                           "aws:ResourceTag/environment": "dev"}
    for action in ("ec2:CreateVpc", "ec2:DeleteVpc"):
        (ec2,) = granting(docs, action)
        assert set(ec2["Condition"]["StringEquals"]) & {"aws:RequestTag/project", "aws:ResourceTag/project"}, action
    for action in ("s3:GetObject", "secretsmanager:GetSecretValue", "kms:Decrypt", "cloudtrail:StopLogging",
                   "cloudtrail:DeleteTrail", "kms:DisableKeyRotation", "iam:CreateOpenIDConnectProvider"):
        assert resources_for(docs, action) <= ({f"{STATE}/*.pulumi/*"} if action == "s3:GetObject" else set()), action


def test_ci_deploy_cannot_escalate_past_the_boundary(dev_context):
    run = build(dev_context, **GITHUB, permissions_boundary_arn=BOUNDARY)
    docs = policies_of(run, "ci-deploy")
    for action in ("iam:CreateRole", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy", "iam:AttachRolePolicy"):
        grants = granting(docs, action)
        assert grants, action
        for s in grants:
            assert s["Condition"]["StringEquals"]["iam:PermissionsBoundary"] == BOUNDARY, action
    (attach,) = granting(docs, "iam:AttachRolePolicy")
    assert not any(fnmatchcase("arn:aws:iam::aws:policy/AdministratorAccess", p)
                   for p in attach["Condition"]["ArnLike"]["iam:PolicyARN"])
    assert granting(docs, "iam:DeleteRolePermissionsBoundary", effect="Deny")
    assert not granting(docs, "iam:DeleteRolePermissionsBoundary")
    boundary_denies = {r for s in granting(docs, "iam:CreatePolicyVersion", effect="Deny") for r in as_list(s["Resource"])}
    assert BOUNDARY in boundary_denies


def test_ci_deploy_without_boundary_has_no_boundary_condition(dev_context):
    docs = policies_of(build(dev_context, **GITHUB), "ci-deploy")
    (create,) = granting(docs, "iam:CreateRole")
    assert "iam:PermissionsBoundary" not in json.dumps(create)


def test_ci_deploy_can_neither_change_the_ci_roles_nor_assume_other_roles(dev_context):
    run = build(dev_context, **GITHUB)
    docs = policies_of(run, "ci-deploy")
    protected = {role_arn(run, p) for p in CI_ROLES} | {p.outputs["arn"] for p in run.of_type(POLICY)}
    assert len(protected) == 4
    for action in ("iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:CreatePolicyVersion",
                   "iam:DeleteRolePolicy", "iam:TagRole"):
        denied = {r for s in granting(docs, action, effect="Deny") for r in as_list(s["Resource"])}
        assert protected <= denied, action
    # Deny wildcards must not also deny reads (preview/refresh of the CI roles themselves).
    assert not granting(docs, "iam:GetRole", effect="Deny")
    assert [s["Resource"] for s in granting(docs, "sts:AssumeRole", effect="Deny")] == ["*"]
