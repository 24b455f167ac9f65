"""The small price table behind ``mlops-blueprint cost``: us-east-1 on-demand list prices, in USD.

**Approximations.** The figures are AWS's public us-east-1 on-demand list prices as of
:data:`PRICES_AS_OF`, rounded, without free tiers, savings plans, reserved capacity, taxes or
data transfer. They were compiled by hand (this project runs offline and does not call the AWS
Price List API), so check the AWS Pricing Calculator before quoting a figure. Other regions
cost more or less; the estimate says which region the stack is in, but prices it as us-east-1.

Everything the plan cannot tell (how much data sits in a bucket, how many log bytes arrive, how
long a monitoring run takes) is an **assumption**, listed in :data:`ASSUMPTIONS` with its value and
printed under every estimate. Only what runs whether anyone uses the platform or not is in the
monthly figure ("idle cost"): training jobs, inference requests on serverless variants and
pipeline runs are usage, priced by their own services per use.
"""

from __future__ import annotations

from typing import Any

PRICES_AS_OF = "2025-06"
PRICE_REGION = "us-east-1"
CURRENCY = "USD"
HOURS_PER_MONTH = 730  # AWS pricing's month

# SageMaker ml.* instances, per instance-hour: real-time inference hosting (the same figures are
# used for Model Monitor processing jobs, whose prices match for these families).
SAGEMAKER_INSTANCE_HOUR: dict[str, float] = {
    "ml.t2.medium": 0.056, "ml.t2.large": 0.111, "ml.t2.xlarge": 0.223,
    "ml.t3.medium": 0.050, "ml.t3.large": 0.100, "ml.t3.xlarge": 0.200,
    "ml.m5.large": 0.115, "ml.m5.xlarge": 0.230, "ml.m5.2xlarge": 0.461, "ml.m5.4xlarge": 0.922,
    "ml.c5.large": 0.102, "ml.c5.xlarge": 0.204, "ml.c5.2xlarge": 0.408,
    "ml.r5.large": 0.151, "ml.r5.xlarge": 0.302,
    "ml.g4dn.xlarge": 0.736, "ml.g5.xlarge": 1.408,
    # GPU types for LLMs (models[].llm); ml.g6/g6e are not listed yet, so they show as unpriced.
    "ml.g4dn.2xlarge": 0.94, "ml.g4dn.12xlarge": 4.89,
    "ml.g5.2xlarge": 1.515, "ml.g5.4xlarge": 2.03, "ml.g5.8xlarge": 3.06, "ml.g5.12xlarge": 7.09,
    "ml.g5.16xlarge": 5.12, "ml.g5.24xlarge": 10.18, "ml.g5.48xlarge": 20.36,
    "ml.p4d.24xlarge": 37.688,
}
# SageMaker managed MLflow tracking servers, per hour (the serverless MLflow App has no hourly charge).
MLFLOW_TRACKING_SERVER_HOUR: dict[str, float] = {"Small": 0.60, "Medium": 1.40, "Large": 2.70}
# RDS for PostgreSQL, single-AZ, per instance-hour (Multi-AZ: twice, instance and storage).
RDS_POSTGRES_INSTANCE_HOUR: dict[str, float] = {
    "db.t4g.micro": 0.016, "db.t4g.small": 0.032, "db.t4g.medium": 0.065, "db.t4g.large": 0.129,
    "db.m7g.large": 0.168, "db.m6g.large": 0.159, "db.r7g.large": 0.239,
}
RDS_GP3_GB_MONTH = 0.115
INTERFACE_ENDPOINT_AZ_HOUR = 0.01     # per VPC interface endpoint, per AZ (subnet) it is in
NAT_GATEWAY_HOUR = 0.045              # none in this platform: listed for brought-in VPCs' plans
KMS_KEY_MONTH = 1.00                  # per customer-managed key (requests not counted)
CLOUDWATCH_ALARM_METRIC_MONTH = 0.10  # per standard-resolution metric an alarm evaluates
CLOUDWATCH_HIGH_RES_ALARM_METRIC_MONTH = 0.30
CLOUDWATCH_DASHBOARD_MONTH = 3.00
CLOUDWATCH_LOGS_INGEST_GB = 0.50
CLOUDWATCH_LOGS_STORAGE_GB_MONTH = 0.03
S3_STANDARD_GB_MONTH = 0.023
CLOUDTRAIL_DATA_EVENTS_PER_100K = 0.10  # the first copy of management events is free
SECRETS_MANAGER_SECRET_MONTH = 0.40
ECR_STORAGE_GB_MONTH = 0.10
AMP_INGEST_PER_10M_SAMPLES = 0.90
AMP_STORAGE_GB_MONTH = 0.03
GRAFANA_EDITOR_MONTH = 9.00
GRAFANA_VIEWER_MONTH = 5.00

# What the plan cannot say, with the value the estimate uses. Keys are printed as they are.
ASSUMPTIONS: dict[str, Any] = {
    "S3 GB stored, by bucket purpose": {"datasets": 50, "models": 20, "access-logs": 2, "audit": 2, "other": 5},
    "CloudWatch Logs GB ingested per log group per month (and kept one month)": 1,
    "CloudTrail data events per month (when data events are on)": 1_000_000,
    "billable minutes per Model Monitor run": 10,
    "billable minutes per drift (processing) job run": 10,
    "data capture GB per model per month at 100% sampling": 10,
    "ECR GB stored per repository": 5,
    "AMP samples ingested per month": 50_000_000,
    "AMP GB stored": 5,
    "Grafana editors / viewers": (1, 2),
    "endpoint instances": "initial instance count (autoscaling minimum), always on",
}


def s3_gb(purpose: str) -> float:
    table = ASSUMPTIONS["S3 GB stored, by bucket purpose"]
    return float(table.get(purpose, table["other"]))
