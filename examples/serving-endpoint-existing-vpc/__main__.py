"""One SageMaker endpoint serving two variants of a model (A/B), in a VPC you already have.

What a platform team writes to put a model behind an endpoint: the keys, the models bucket the
artifacts live in (and requests are captured to), the serving role, the workload security group in
the given private subnets, and a ServingEndpoint whose two variants split the traffic by weight.
The environment's serving defaults (instance types, blue/green deployment with rollback alarms,
data capture, autoscaling) come from the package; the stack's `serving` section overrides them.
"""

import pulumi

from mlops_blueprint.components.artifact_store import ArtifactStore, ArtifactStoreArgs
from mlops_blueprint.components.kms import Kms, KmsArgs
from mlops_blueprint.components.network import Network, NetworkArgs
from mlops_blueprint.components.network_settings import ExistingVpc, NetworkSettings
from mlops_blueprint.components.platform_roles import PlatformRoles, PlatformRolesArgs
from mlops_blueprint.components.serving_endpoint import ServingEndpoint, ServingEndpointArgs
from mlops_blueprint.components.serving_endpoint_settings import SERVING_DEFAULTS, ServingEndpointSettings
from mlops_blueprint.components.served_model_settings import ServedModelSettings
from mlops_blueprint.team_program import team_program, validated

# environment, owner, costCenter, dataClassification and aws:region: tags, provider, account context.
program = team_program()
ctx, opts, stateful = program.ctx, program.opts, program.stateful  # stateful: protected and retained in prod
existing_vpc = program.section("existingVpc", ExistingVpc, required=True)
# The environment's serving defaults, with the stack's `serving` section on top.
serving = program.section("serving", ServingEndpointSettings, defaults=SERVING_DEFAULTS)
# Artifacts are keys in this stack's models bucket: the serving role may read no other bucket.
models_bucket = ctx.naming.bucket("models")


def in_models_bucket(entry: dict) -> dict:
    """A model or variant entry with its artifacts key as the s3:// URI the component takes."""
    key = entry.get("modelDataUrl")
    return {**entry, "modelDataUrl": f"s3://{models_bucket}/{key}"} if key else entry


model_entry = in_models_bucket(program.config.require_object("model"))
model = validated(f"{program.project}:model", ServedModelSettings,
                  {**model_entry, "variants": [in_models_bucket(v) for v in model_entry.get("variants", [])]})

kms = Kms("kms", KmsArgs(context=ctx, **stateful), opts)
network = Network("network", NetworkArgs(context=ctx, logs_kms_key_arn=kms.logs_key_arn,
                                         settings=NetworkSettings(mode="existing", existing=existing_vpc)), opts)
artifacts = ArtifactStore("artifacts", ArtifactStoreArgs(context=ctx, kms_key_arn=kms.data_key_arn, **stateful), opts)
roles = PlatformRoles(
    "roles",
    PlatformRolesArgs(context=ctx, data_key_arn=kms.data_key_arn, logs_key_arn=kms.logs_key_arn,
                      datasets_bucket_arn=artifacts.datasets_bucket_arn, models_bucket_arn=artifacts.models_bucket_arn),
    opts,
)
endpoint = ServingEndpoint(
    model.name,
    ServingEndpointArgs(
        context=ctx,
        model=model,
        settings=serving,
        execution_role_arn=roles.serving_role_arn,
        subnet_ids=network.serving_subnet_ids,
        security_group_ids=[network.workload_security_group_id],
        models_bucket_name=artifacts.models_bucket_name,
        kms_key_arn=kms.data_key_arn,
        execution_role_policies=roles.depends_on("serving"),  # SageMaker checks the role can read the model
    ),
    opts,
)

pulumi.export("endpointName", endpoint.endpoint_name)
pulumi.export("variantNames", endpoint.variant_names)
pulumi.export("servingRoleArn", roles.serving_role_arn)
pulumi.export("modelsBucketName", artifacts.models_bucket_name)
pulumi.export("dataKeyArn", kms.data_key_arn)
