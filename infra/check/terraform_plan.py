"""A Pulumi plan in the Terraform-plan JSON shape (``terraform show -json``) that checkov reads.

pulumi-aws is bridged from the Terraform AWS provider, so a resource maps one to one: the type
token names the Terraform type, inputs are the arguments in camelCase, list blocks that Pulumi
pluralised get their Terraform (singular) name back, and references between resources come from
the plan's ``propertyDependencies`` (as Terraform's ``configuration`` block would carry them), so
checkov's graph checks see which bucket a policy or a public access block belongs to.
"""

from __future__ import annotations

import re
from typing import Any

from mlops_blueprint.preflight.plan_walk import UNKNOWN, custom_resources

# Type tokens whose Terraform name does not follow from the token (module + kind in snake_case).
TYPE_EXCEPTIONS: dict[str, str] = {
    "aws:cloudtrail/trail:Trail": "aws_cloudtrail",
    "aws:rds/instance:Instance": "aws_db_instance",
    "aws:rds/subnetGroup:SubnetGroup": "aws_db_subnet_group",
    "aws:rds/parameterGroup:ParameterGroup": "aws_db_parameter_group",
    "aws:amp/workspace:Workspace": "aws_prometheus_workspace",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": "aws_iam_openid_connect_provider",
}
# Pulumi modules whose Terraform resources carry no module prefix (aws:ec2/vpc:Vpc is aws_vpc).
UNPREFIXED_MODULES = {"ec2"}

# Terraform list blocks that Pulumi names in the plural (MaxItems > 1), Pulumi name -> Terraform.
BLOCK_NAMES: dict[str, str] = {
    "rules": "rule",
    "transitions": "transition",
    "noncurrentVersionTransitions": "noncurrent_version_transition",
    "noncurrentVersionExpirations": "noncurrent_version_expiration",
    "eventSelectors": "event_selector",
    "advancedEventSelectors": "advanced_event_selector",
    "fieldSelectors": "field_selector",
    "dataResources": "data_resource",
    "insightSelectors": "insight_selector",
    "inlinePolicies": "inline_policy",
    "ingress": "ingress",
    "egress": "egress",
    "productionVariants": "production_variants",  # the same in both
    "containers": "container",
    "notifications": "notification",
    "subscribers": "subscriber",
    "dimensions": "dimensions",
    "metricQueries": "metric_query",
    "encryptionConfigurations": "encryption_configuration",
    "dnsEntries": "dns_entry",
    "targets": "target",
}

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
# Inputs whose keys are data (tags, labels), not schema: left as they are.
_DATA_MAPS = {"tags", "tagsAll", "variables", "environment", "labels", "annotations", "parameters"}


def terraform_type(type_token: str) -> str:
    """``aws:s3/bucketPolicy:BucketPolicy`` -> ``aws_s3_bucket_policy``."""
    if type_token in TYPE_EXCEPTIONS:
        return TYPE_EXCEPTIONS[type_token]
    package, module_path, kind = (type_token.split(":") + ["", ""])[:3]
    module = module_path.split("/")[0]
    parts = [package] if module in UNPREFIXED_MODULES else [package, module]
    return "_".join(parts + [snake(kind)])


def snake(name: str) -> str:
    """``applyServerSideEncryptionByDefault`` -> ``apply_server_side_encryption_by_default``."""
    return _CAMEL.sub("_", name).lower()


def attribute_name(key: str) -> str:
    return BLOCK_NAMES.get(key) or snake(key)


def terraform_values(value: Any, key: str | None = None) -> Any:
    """Inputs as Terraform attribute values: snake_case keys, singular block names, no unknowns."""
    if isinstance(value, dict):
        if key in _DATA_MAPS:
            return {k: v for k, v in value.items() if v != UNKNOWN}
        return {attribute_name(k): terraform_values(v, k) for k, v in value.items() if v != UNKNOWN}
    if isinstance(value, list):
        return [terraform_values(v, key) for v in value if v != UNKNOWN]
    return value


def _aws_resources(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in custom_resources(plan) if r["type"].startswith("aws:")]


def address_names(plan: dict[str, Any]) -> dict[str, str]:
    """urn -> ``type.name``, unique (Pulumi names are unique per parent, Terraform's per type)."""
    addresses: dict[str, str] = {}
    taken: set[str] = set()
    for resource in _aws_resources(plan):
        base = f"{terraform_type(resource['type'])}.{re.sub(r'[^A-Za-z0-9_-]', '_', resource['name'])}"
        address, n = base, 1
        while address in taken:
            n += 1
            address = f"{base}_{n}"
        taken.add(address)
        addresses[resource["urn"]] = address
    return addresses


def to_terraform_plan(plan: dict[str, Any]) -> dict[str, Any]:
    """The plan as Terraform's JSON plan: every custom AWS resource planned for creation."""
    addresses = address_names(plan)
    planned, changes, configuration = [], [], []
    for resource in _aws_resources(plan):
        address = addresses[resource["urn"]]
        tf_type, name = address.split(".", 1)
        values = terraform_values(resource.get("inputs", {}))
        expressions: dict[str, Any] = {}
        for prop, urns in (resource.get("propertyDependencies") or {}).items():
            targets = [addresses[u] for u in urns if u in addresses]
            if not targets or "." in prop:
                continue
            attribute = attribute_name(prop)
            # As Terraform records `bucket = aws_s3_bucket.models.id`: checkov draws the graph
            # edge from the reference, which it uses where the value itself is not given.
            if isinstance(values.get(attribute), str):
                values[attribute] = None
            expressions[attribute] = {"references": [ref for t in targets for ref in (f"{t}.id", t)]}
        common = {"address": address, "mode": "managed", "type": tf_type, "name": name,
                  "provider_name": "registry.terraform.io/hashicorp/aws"}
        planned.append({**common, "schema_version": 0, "values": values, "sensitive_values": {}})
        changes.append({**common, "change": {"actions": ["create"], "before": None, "after": values,
                                             "after_unknown": {}, "before_sensitive": False,
                                             "after_sensitive": {}}})
        configuration.append({"address": address, "mode": "managed", "type": tf_type, "name": name,
                              "provider_config_key": "aws", "expressions": expressions})
    return {
        "format_version": "1.2",
        "terraform_version": "1.9.0",
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        "configuration": {"provider_config": {"aws": {"name": "aws", "full_name": "registry.terraform.io/hashicorp/aws"}},
                          "root_module": {"resources": configuration}},
    }
