"""An MLflow tracking server and model registry on its own, on the backend the stack chooses.

What a platform team writes when it wants experiment tracking before (or without) training and
serving: the KMS keys, the models bucket MLflow keeps its artifacts in, the tracking role, and the
TrackingServer on one of three backends, picked by the stack's `tracking.backend`:
sagemaker-serverless (an MLflow app; Pulumi.dev.yaml), sagemaker-managed (a sized tracking server;
Pulumi.managed.yaml) or kubernetes (MLflow on your cluster with an RDS database; Pulumi.kubernetes.yaml).
Everything runs in a VPC you already have.
"""

import pulumi

from mlops_blueprint.components.artifact_store import ArtifactStore, ArtifactStoreArgs
from mlops_blueprint.components.kms import Kms, KmsArgs
from mlops_blueprint.components.network import Network, NetworkArgs
from mlops_blueprint.components.network_settings import ExistingVpc, NetworkSettings
from mlops_blueprint.components.platform_roles import MlflowAccess, PlatformRoles, PlatformRolesArgs
from mlops_blueprint.components.tracking_server import TrackingServer, tracking_server_args, tracking_service_account
from mlops_blueprint.components.tracking_server_settings import TRACKING_DEFAULTS, TrackingServerSettings
from mlops_blueprint.kubernetes_config import KubernetesConfig
from mlops_blueprint.team_program import team_program

# environment, owner, costCenter, dataClassification and aws:region: tags, provider, account context.
program = team_program()
ctx, opts, stateful = program.ctx, program.opts, program.stateful  # stateful: protected and retained in prod
# The environment's tracking defaults (database sizing, deletion protection, multi-AZ in prod) under
# the stack's `tracking` section; the component's settings model validates it before anything is created.
tracking = program.section("tracking", TrackingServerSettings, defaults=TRACKING_DEFAULTS)
existing_vpc = program.section("existingVpc", ExistingVpc, required=True)
on_cluster = tracking.backend == "kubernetes"
# The cluster MLflow runs on (kubernetes backend only): its kubeconfig, OIDC provider and node group.
cluster = program.section("kubernetes", KubernetesConfig, required=True) if on_cluster else None

kms = Kms("kms", KmsArgs(context=ctx, **stateful), opts)
network = Network("network", NetworkArgs(context=ctx, logs_kms_key_arn=kms.logs_key_arn,
                                         settings=NetworkSettings(mode="existing", existing=existing_vpc)), opts)
artifacts = ArtifactStore("artifacts", ArtifactStoreArgs(context=ctx, kms_key_arn=kms.data_key_arn, **stateful), opts)
roles = PlatformRoles(
    "roles",
    PlatformRolesArgs(
        context=ctx,
        data_key_arn=kms.data_key_arn,
        logs_key_arn=kms.logs_key_arn,
        datasets_bucket_arn=artifacts.datasets_bucket_arn,
        models_bucket_arn=artifacts.models_bucket_arn,
        tracking_artifact_prefix=tracking.artifact_prefix,
        # On the cluster, MLflow's pods assume the tracking role through IRSA.
        tracking_service_account=(tracking_service_account(cluster.oidc_provider_arn, tracking.kubernetes.namespace)
                                  if cluster else None),
    ),
    opts,
)
server = TrackingServer(
    "tracking",
    # The wiring each backend needs (the network, key and node group are used by kubernetes only).
    tracking_server_args(
        ctx,
        tracking,
        tracking_role_arn=roles.tracking_role_arn,
        models_bucket_name=artifacts.models_bucket_name,
        data_key_arn=kms.data_key_arn,
        vpc_id=network.vpc_id,
        vpc_cidr=network.vpc_cidr,
        db_subnet_group_name=network.db_subnet_group_name,
        database_subnet_ids=network.database_subnet_ids,
        node_security_group_id=cluster.node_security_group_id if cluster else None,
        role_policies=roles.depends_on("tracking"),
        **stateful,
    ),
    program.cluster_opts(cluster) if cluster else opts,
)
# The SageMaker backends are IAM-authenticated: people and jobs get access to this server only.
roles.grant_mlflow(MlflowAccess(backend=server.backend, resource_arn=server.tracking_server_arn,
                                vpc_id=network.vpc_id, users_vpc_only=tracking.users_vpc_only))

pulumi.export("trackingBackend", server.backend)
pulumi.export("trackingUri", server.tracking_uri)
pulumi.export("mlflowArtifactUri", server.mlflow_artifact_uri)
pulumi.export("modelPackageGroupNames", server.model_package_group_names)
pulumi.export("trackingRoleArn", roles.tracking_role_arn)
pulumi.export("modelsBucketName", artifacts.models_bucket_name)
pulumi.export("dataKeyArn", kms.data_key_arn)
