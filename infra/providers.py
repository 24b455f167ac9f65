"""The AWS provider every stack (and every program composing the components) should use.

Its ``default_tags`` carry the stack-wide mandatory tags to every taggable resource; pass it to
the top-level components with ``pulumi.ResourceOptions(providers={"aws": provider})`` and their
children inherit it.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from mlops_blueprint.tags import Tagging


def aws_provider(region: str, tagging: Tagging, name: str = "aws", opts: pulumi.ResourceOptions | None = None) -> aws.Provider:
    return aws.Provider(name, region=region, default_tags={"tags": tagging.default_tags()}, opts=opts)
