"""KMS keys and an artifact store for ML workloads that run in a VPC you already have.

What a platform team writes when the network belongs to someone else: the Network component in
"existing" mode creates no VPC, subnets or endpoints, only the security group the workloads
(SageMaker training jobs, endpoints, a tracking server) use inside the given private subnets.
"""

import pulumi

from mlops_blueprint.components.artifact_store import ArtifactStore, ArtifactStoreArgs
from mlops_blueprint.components.kms import Kms, KmsArgs
from mlops_blueprint.components.kms_settings import KmsSettings
from mlops_blueprint.components.network import Network, NetworkArgs
from mlops_blueprint.components.network_settings import ExistingVpc, NetworkSettings
from mlops_blueprint.team_program import team_program

# environment, owner, costCenter, dataClassification and aws:region: tags, provider, account context.
program = team_program()
ctx, opts, stateful = program.ctx, program.opts, program.stateful  # stateful: protected and retained in prod
# Validated by the package's own model: bad ids fail here, before anything is created.
existing_vpc = program.section("existingVpc", ExistingVpc, required=True)

kms = Kms("kms", KmsArgs(context=ctx, settings=KmsSettings(deletion_window_days=30 if program.prod else 7),
                         **stateful), opts)
network = Network(
    "network",
    NetworkArgs(context=ctx, logs_kms_key_arn=kms.logs_key_arn,
                settings=NetworkSettings(mode="existing", existing=existing_vpc)),
    opts,
)
artifacts = ArtifactStore("artifacts", ArtifactStoreArgs(context=ctx, kms_key_arn=kms.data_key_arn, **stateful), opts)

pulumi.export("dataKeyArn", kms.data_key_arn)
pulumi.export("modelsBucketName", artifacts.models_bucket_name)
pulumi.export("datasetsBucketName", artifacts.datasets_bucket_name)
pulumi.export("accessLogsBucketName", artifacts.logs_bucket_name)
pulumi.export("vpcId", network.vpc_id)
pulumi.export("trainingSubnetIds", network.training_subnet_ids)
pulumi.export("workloadSecurityGroupId", network.workload_security_group_id)
