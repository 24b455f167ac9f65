"""The access table as data: who (``PERSONAS``) must or must not make which call (``ROWS``) on what
(``RESOURCE_KINDS``). :mod:`mlops_blueprint.access_table` evaluates it against a plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# MLflow calls as each tracking backend authorizes them. The Kubernetes server is reached over
# HTTP inside the cluster and proxies artifacts (--serve-artifacts): no IAM call to check.
MLFLOW_VERBS: dict[str, dict[str, tuple[str, ...]]] = {
    "mlflow:LogRun": {
        "sagemaker-managed": ("sagemaker-mlflow:CreateExperiment", "sagemaker-mlflow:CreateRun",
                              "sagemaker-mlflow:LogBatch", "sagemaker-mlflow:UpdateRun"),
        "sagemaker-serverless": ("sagemaker:CallMlflowAppApi",),
        "kubernetes": (),
    },
    "mlflow:RegisterModel": {
        "sagemaker-managed": ("sagemaker-mlflow:CreateRegisteredModel", "sagemaker-mlflow:CreateModelVersion"),
        "sagemaker-serverless": ("sagemaker:CallMlflowAppApi",),
        "kubernetes": (),
    },
    "mlflow:OpenUi": {
        "sagemaker-managed": ("sagemaker:CreatePresignedMlflowTrackingServerUrl",),
        "sagemaker-serverless": ("sagemaker:CreatePresignedMlflowAppUrl",),
        "kubernetes": (),
    },
}

# Request context for calls that arrive through this stack's VPC endpoint, or from elsewhere.
THROUGH_VPC = "through-vpc"
OUTSIDE_VPC = "outside-vpc"


@dataclass(frozen=True)
class Row:
    """One line of the table: ``persona`` must (``expected``) or must not make ``action`` on ``resource``."""

    persona: str
    action: str            # an IAM action, or an MLFLOW_VERBS key
    resource: str          # a RESOURCE_KINDS key; "other:<kind>" is the same resource of another stack
    expected: bool
    why: str
    context: Mapping[str, str] = field(default_factory=dict)  # request context; THROUGH_VPC/OUTSIDE_VPC resolved per plan
    network: str | None = None  # THROUGH_VPC or OUTSIDE_VPC: adds aws:SourceVpce / aws:SourceVpc

    @property
    def other_stack(self) -> bool:
        return self.resource.startswith("other:")

    @property
    def kind(self) -> str:
        return self.resource.removeprefix("other:")


PERSONAS: dict[str, str] = {
    "training": "SageMaker training jobs (role `training`)",
    "pipelines": "SageMaker Pipelines executions (role `pipelines`)",
    "serving": "SageMaker endpoints (role `serving`)",
    "tracking": "the MLflow server: SageMaker's, or the in-cluster one through IRSA (role `tracking`)",
    "monitoring": "drift jobs (the role output as `monitoringRoleArn`), with monitoring on",
    "retraining": "EventBridge starting a retraining pipeline (roles `retrain-<model>`), with retraining on",
    "ci-preview": "CI previews, any branch (role `ci-preview`), with CI on",
    "ci-deploy": "CI deploys, deploy branch (role `ci-deploy`), with CI on",
    "mlflow-users": "people and notebooks (the MLflow users managed policy, a stack output)",
}

_T, _F = True, False
ROWS: tuple[Row, ...] = (
    # training jobs
    Row("training", "s3:GetObject", "datasets-object", _T, "reads training data"),
    Row("training", "s3:ListBucket", "datasets-bucket", _T, "lists training data"),
    Row("training", "s3:PutObject", "models-object", _T, "writes model artifacts"),
    Row("training", "kms:Decrypt", "data-key", _T, "decrypts data with the stack's key"),
    Row("training", "mlflow:LogRun", "tracking", _T, "logs a run", network=THROUGH_VPC),
    Row("training", "mlflow:RegisterModel", "tracking", _T, "registers a model", network=THROUGH_VPC),
    Row("training", "mlflow:LogRun", "tracking", _F, "logs a run from outside the VPC", network=OUTSIDE_VPC),
    Row("training", "s3:PutObject", "audit-object", _F, "writes to the audit bucket"),
    Row("training", "s3:GetObject", "other:datasets-object", _F, "reads another stack's data"),
    Row("training", "s3:PutObject", "other:models-object", _F, "writes another stack's models"),
    Row("training", "mlflow:LogRun", "other:tracking", _F, "logs a run on another stack's MLflow", network=THROUGH_VPC),
    Row("training", "mlflow:RegisterModel", "other:tracking", _F, "registers on another stack's MLflow",
        network=THROUGH_VPC),
    # pipelines
    Row("pipelines", "mlflow:LogRun", "tracking", _T, "logs a run", network=THROUGH_VPC),
    Row("pipelines", "mlflow:RegisterModel", "tracking", _T, "registers a model", network=THROUGH_VPC),
    Row("pipelines", "sagemaker:CreateModelPackage", "model-package", _T, "registers into the stack's package group"),
    Row("pipelines", "sagemaker:CreateTrainingJob", "training-job", _T, "starts the stack's training jobs"),
    Row("pipelines", "sagemaker:CreateTrainingJob", "pipeline-training-job", _T,
        "starts a Pipelines-named job tagged as this stack's", context={"aws:RequestTag/environment": "{environment}",
                                                                    "aws:RequestTag/project": "{project}"}),
    Row("pipelines", "sagemaker:CreateTrainingJob", "pipeline-training-job", _F,
        "starts a Pipelines-named job tagged as another environment's",
        context={"aws:RequestTag/environment": "other-environment", "aws:RequestTag/project": "{project}"}),
    Row("pipelines", "iam:PassRole", "training-role", _T, "passes the training role to SageMaker",
        context={"iam:PassedToService": "sagemaker.amazonaws.com"}),
    Row("pipelines", "iam:PassRole", "training-role", _F, "passes the training role to another service",
        context={"iam:PassedToService": "ec2.amazonaws.com"}),
    # SageMaker Pipelines calls MLflow from the service side, not through the VPC (platform_roles).
    Row("pipelines", "mlflow:LogRun", "tracking", _T, "logs a run from SageMaker's side (outside the VPC)",
        network=OUTSIDE_VPC),
    Row("pipelines", "s3:PutObject", "audit-object", _F, "writes to the audit bucket"),
    Row("pipelines", "mlflow:LogRun", "other:tracking", _F, "logs a run on another stack's MLflow", network=THROUGH_VPC),
    Row("pipelines", "mlflow:RegisterModel", "other:tracking", _F, "registers on another stack's MLflow",
        network=THROUGH_VPC),
    Row("pipelines", "sagemaker:CreateModelPackage", "other:model-package", _F, "registers into another stack's group"),
    Row("pipelines", "iam:PassRole", "other:training-role", _F, "passes another stack's training role",
        context={"iam:PassedToService": "sagemaker.amazonaws.com"}),
    # serving
    Row("serving", "s3:GetObject", "models-object", _T, "reads model artifacts"),
    Row("serving", "s3:PutObject", "data-capture-object", _T, "writes captured requests"),
    Row("serving", "kms:Decrypt", "data-key", _T, "decrypts model artifacts"),
    Row("serving", "s3:GetObject", "datasets-object", _F, "reads datasets"),
    Row("serving", "s3:PutObject", "models-object", _F, "overwrites model artifacts"),
    Row("serving", "s3:GetObject", "other:models-object", _F, "reads another stack's models"),
    # tracking server
    Row("tracking", "s3:PutObject", "mlflow-artifact", _T, "stores MLflow artifacts"),
    Row("tracking", "s3:GetObject", "mlflow-artifact", _T, "serves MLflow artifacts"),
    Row("tracking", "s3:GetObject", "datasets-object", _F, "reads datasets"),
    Row("tracking", "s3:PutObject", "models-object", _F, "writes outside the MLflow prefix"),
    Row("tracking", "s3:PutObject", "other:mlflow-artifact", _F, "writes another stack's MLflow artifacts"),
    # monitoring
    Row("monitoring", "s3:GetObject", "data-capture-object", _T, "reads captured requests"),
    Row("monitoring", "s3:GetObject", "datasets-object", _F, "reads datasets"),
    Row("monitoring", "s3:PutObject", "models-object", _F, "writes model artifacts"),
    Row("monitoring", "s3:GetObject", "other:data-capture-object", _F, "reads another stack's captured requests"),
    # retraining
    Row("retraining", "sagemaker:StartPipelineExecution", "training-pipeline", _T, "starts the training pipeline"),
    Row("retraining", "s3:GetObject", "datasets-object", _F, "reads datasets"),
    Row("retraining", "sagemaker:StartPipelineExecution", "other:training-pipeline", _F,
        "starts another stack's pipeline"),
    # CI preview: reads metadata, writes nothing, reads no data
    Row("ci-preview", "iam:GetRole", "training-role", _T, "reads role configuration"),
    Row("ci-preview", "s3:GetBucketPolicy", "models-bucket", _T, "reads bucket configuration"),
    Row("ci-preview", "s3:PutObject", "models-object", _F, "writes an object"),
    Row("ci-preview", "s3:PutBucketPolicy", "models-bucket", _F, "changes a bucket"),
    Row("ci-preview", "s3:GetObject", "datasets-object", _F, "reads data"),
    Row("ci-preview", "iam:PutRolePolicy", "training-role", _F, "changes a role"),
    Row("ci-preview", "iam:CreateRole", "new-role", _F, "creates a role"),
    Row("ci-preview", "sagemaker:UpdateEndpoint", "endpoint", _F, "changes an endpoint"),
    Row("ci-preview", "sagemaker:DeleteModelPackageGroup", "model-package-group", _F, "deletes a package group"),
    Row("ci-preview", "mlflow:LogRun", "tracking", _F, "writes to MLflow", network=OUTSIDE_VPC),
    # CI deploy: this stack's resources by name or tag, nothing of another stack's, no data
    Row("ci-deploy", "s3:PutBucketPolicy", "models-bucket", _T, "changes the stack's buckets"),
    Row("ci-deploy", "iam:PutRolePolicy", "training-role", _T, "changes the stack's roles",
        context={"iam:PermissionsBoundary": "{boundary}"}),
    Row("ci-deploy", "sagemaker:UpdateEndpoint", "endpoint", _T, "rolls out the stack's endpoints"),
    Row("ci-deploy", "sagemaker:CreateModelPackageGroup", "model-package-group", _T, "creates package groups"),
    # Pipeline steps run by CI log to MLflow from hosted runners, outside the VPC.
    Row("ci-deploy", "mlflow:LogRun", "tracking", _T, "logs a run from a pipeline step", network=OUTSIDE_VPC),
    Row("ci-deploy", "s3:GetObject", "datasets-object", _F, "reads data"),
    Row("ci-deploy", "mlflow:LogRun", "other:tracking", _F, "logs a run on another stack's MLflow",
        network=OUTSIDE_VPC),
    Row("ci-deploy", "iam:PutRolePolicy", "ci-deploy-role", _F, "widens its own permissions",
        context={"iam:PermissionsBoundary": "{boundary}"}),
    Row("ci-deploy", "sts:AssumeRole", "training-role", _F, "becomes a role it manages"),
    Row("ci-deploy", "s3:PutBucketPolicy", "other:models-bucket", _F, "changes another stack's bucket"),
    Row("ci-deploy", "iam:PutRolePolicy", "other:training-role", _F, "changes another stack's role",
        context={"iam:PermissionsBoundary": "{boundary}"}),
    Row("ci-deploy", "sagemaker:UpdateEndpoint", "other:endpoint", _F, "changes another stack's endpoint"),
    # people and notebooks
    Row("mlflow-users", "mlflow:LogRun", "tracking", _T, "log runs", network=THROUGH_VPC),
    Row("mlflow-users", "mlflow:RegisterModel", "tracking", _T, "register models", network=THROUGH_VPC),
    Row("mlflow-users", "mlflow:OpenUi", "tracking", _T, "open the MLflow UI", network=THROUGH_VPC),
    Row("mlflow-users", "mlflow:LogRun", "other:tracking", _F, "log runs on another stack's MLflow", network=THROUGH_VPC),
    Row("mlflow-users", "mlflow:OpenUi", "other:tracking", _F, "open another stack's MLflow UI", network=THROUGH_VPC),
    Row("mlflow-users", "s3:GetObject", "datasets-object", _F, "read datasets directly"),
)

RESOURCE_KINDS: dict[str, str] = {
    "datasets-object": "an object in the datasets bucket",
    "datasets-bucket": "the datasets bucket",
    "models-object": "an object in the models bucket (outside its MLflow and data-capture prefixes)",
    "models-bucket": "the models bucket",
    "data-capture-object": "a captured request in the models bucket",
    "mlflow-artifact": "an object under the MLflow artifact prefix",
    "audit-object": "a log file in the audit trail bucket",
    "data-key": "the data KMS key",
    "tracking": "the MLflow tracking server (managed) or app (serverless)",
    "model-package-group": "a model package group",
    "model-package": "a model package (version) in a model package group",
    "training-job": "a training job named for the stack",
    "pipeline-training-job": "a training job SageMaker Pipelines names (pipelines-...)",
    "training-pipeline": "the training pipeline",
    "training-role": "the training role",
    "ci-deploy-role": "the CI deploy role",
    "new-role": "a new role named for the stack",
    "endpoint": "an endpoint named for the stack",
}
