"""KMS keys and an artifact store for ML workloads that run in a VPC you already have.

What a platform team writes when the network belongs to someone else: the Network component in
"existing" mode creates no VPC, subnets or endpoints, only the security group the workloads
(SageMaker training jobs, endpoints, a tracking server) use inside the given private subnets.
"""

import pulumi

from mlops_blueprint.components.artifact_store import ArtifactStore, ArtifactStoreArgs
from mlops_blueprint.components.kms import Kms, KmsArgs
from mlops_blueprint.components.network import Network, NetworkArgs
from mlops_blueprint.config import ExistingVpc
from mlops_blueprint.providers import account_context, aws_provider
from mlops_blueprint.tags import Tagging

config = pulumi.Config()
project = pulumi.get_project()
environment = config.require("environment")  # dev, staging or prod
region = pulumi.Config("aws").require("region")
# Validated by the package's own model: bad ids fail here, before anything is created.
try:
    existing_vpc = ExistingVpc.model_validate(config.require_object("existingVpc"))
except ValueError as exc:  # pydantic's ValidationError: one line per bad field
    raise pulumi.RunError(f"invalid config {project}:existingVpc: {exc}") from None
prod = environment == "prod"

tagging = Tagging(
    project=project,
    environment=environment,
    owner=config.require("owner"),
    cost_center=config.require("costCenter"),
    data_classification=config.get("dataClassification") or "confidential",
)
# Every resource gets the mandatory tags through the provider's default tags; names and ARNs use
# the account the credentials reach.
provider = aws_provider(region, tagging)
ctx = account_context(provider, region, tagging)
opts = pulumi.ResourceOptions(providers={"aws": provider})
stateful = {"protect": prod, "retain_on_delete": prod}  # keys and buckets survive mistakes in prod

kms = Kms("kms", KmsArgs(context=ctx, deletion_window_days=30 if prod else 7, **stateful), opts)
network = Network(
    "network",
    NetworkArgs(context=ctx, logs_kms_key_arn=kms.logs_key_arn, existing=existing_vpc),
    opts,
)
artifacts = ArtifactStore("artifacts", ArtifactStoreArgs(context=ctx, kms_key_arn=kms.data_key_arn, **stateful), opts)

pulumi.export("dataKeyArn", kms.data_key_arn)
pulumi.export("artifactBucketName", artifacts.models_bucket_name)
pulumi.export("datasetsBucketName", artifacts.datasets_bucket_name)
pulumi.export("accessLogsBucketName", artifacts.logs_bucket_name)
pulumi.export("vpcId", network.vpc_id)
pulumi.export("trainingSubnetIds", network.training_subnet_ids)
pulumi.export("workloadSecurityGroupId", network.workload_security_group_id)
