"""What every component needs to know about the stack it is built in."""

from __future__ import annotations

from dataclasses import dataclass

from mlops_blueprint.naming import Naming
from mlops_blueprint.tags import Tagging


@dataclass(frozen=True)
class StackContext:
    """Account, region, names and tags of one stack; passed to components as a typed arg."""

    naming: Naming
    tagging: Tagging
    partition: str = "aws"

    @property
    def account_id(self) -> str:
        return self.naming.account_id

    @property
    def region(self) -> str:
        return self.naming.region

    @property
    def environment(self) -> str:
        return self.naming.environment

    def arn(self, service: str, resource: str, *, regional: bool = True, account: bool = True) -> str:
        """An ARN in this stack's partition/region/account, e.g. for IAM conditions."""
        region = self.region if regional else ""
        account_id = self.account_id if account else ""
        return f"arn:{self.partition}:{service}:{region}:{account_id}:{resource}"

    @property
    def account_root_arn(self) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:root"

    def service_principal(self, service: str) -> str:
        """``<service>.amazonaws.com``; China partitions use a different suffix."""
        suffix = "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com"
        return f"{service}.{suffix}"
