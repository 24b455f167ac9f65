"""What a SageMaker instance type, model name, variant name and container image reference is.

One definition each, shared by the ``training``/``serving``/``models`` config sections (as the field
types at the end) and the components that check their args.
"""

from __future__ import annotations

import re
from typing import Annotated

from mlops_blueprint.config_base import checked
from mlops_blueprint.validation import s3_object_uri_problem


# Model names end up in endpoint, model, alarm, ECR-free and Kubernetes names: lowercase DNS
# labels, no "--" (names are sanitised by collapsing hyphens, so "a--b" and "a-b" would collide).
# <project>-<environment>- is at most 23 characters, which leaves 40 of SageMaker's 63.
MODEL_NAME_MAX_LENGTH = 40
_MODEL_NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
# SageMaker's VariantName pattern, and its 63-character limit.
_VARIANT_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
_INSTANCE_TYPE = re.compile(r"ml\.[a-z0-9-]+\.(medium|large|\d*xlarge)")

# An image: a repository path, then a tag or an @sha256 digest; short (this stack's ECR) or behind
# the registry host of a full ECR URI.
_IMAGE = (r"(?P<repository>[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)"
          r"(:(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})|@(?P<digest>sha256:[a-f0-9]{64}))")
_ECR_REGISTRY = r"(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z]{2}(-gov)?-[a-z]+-\d)\.amazonaws\.com(\.cn)?/"
_ECR_IMAGE, _SHORT_IMAGE = re.compile(_ECR_REGISTRY + _IMAGE), re.compile(_IMAGE)

# Instance families whose Nitro instance store is the ML storage volume. Their storage is encrypted
# by the instance's hardware, and SageMaker rejects a KmsKeyId (endpoint configurations) or a
# VolumeKmsKeyId (training/processing) for them: "You can't request a KmsKeyId when using an
# instance type with local storage" (CreateEndpointConfig API reference).
_LOCAL_STORAGE_FAMILY = re.compile(
    r"ml\.([cmr]\d+[a-z]*d|g4dn|g5|g6e?|gr6|p3dn|p4de?|p5[a-z]*|trn1n?|trn2|x2idn|x2iedn)\..+"
)


def has_local_storage(instance_type: str) -> bool:
    """Whether ``instance_type`` keeps its ML storage on an NVMe instance store (no KMS key allowed)."""
    return bool(_LOCAL_STORAGE_FAMILY.fullmatch(instance_type))


def instance_type_problem(value: str) -> str | None:
    if not isinstance(value, str) or not _INSTANCE_TYPE.fullmatch(value):
        return f"{value!r} is not a SageMaker instance type; expected e.g. ml.m5.large or ml.g5.xlarge"
    return None


def model_name_problem(value: str) -> str | None:
    if not isinstance(value, str) or not _MODEL_NAME.fullmatch(value) or len(value) > MODEL_NAME_MAX_LENGTH:
        return (f"{value!r} is not a model name; expected 1 to {MODEL_NAME_MAX_LENGTH} lowercase letters, digits "
                "and single '-' between them, e.g. churn or fraud-v2")
    return None


def variant_name_problem(value: str) -> str | None:
    if not isinstance(value, str) or not _VARIANT_NAME.fullmatch(value):
        return (f"{value!r} is not a variant name; expected 1 to 63 letters, digits and '-', starting and "
                "ending with a letter or digit, e.g. AllTraffic or challenger")
    return None


def image_problem(value: str) -> str | None:
    """An image must be pinned: ``repository:tag`` / ``repository@sha256:...`` or a full ECR URI."""
    if not isinstance(value, str) or not (_ECR_IMAGE.fullmatch(value) or _SHORT_IMAGE.fullmatch(value)):
        return (f"{value!r} is not an image reference; expected repository:tag in this stack's ECR (e.g. "
                "inference:1.4.2) or an ECR image URI (123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:tag), "
                "with a tag or an @sha256 digest")
    match = _ECR_IMAGE.fullmatch(value) or _SHORT_IMAGE.fullmatch(value)
    assert match is not None
    repository = match.group("repository")
    if match.re is _SHORT_IMAGE and "/" in repository and "." in repository.split("/")[0]:
        return (f"{value!r} is not an image reference of this platform: it names another registry "
                f"({repository.split('/')[0]}); push the image to the stack's ECR and use repository:tag")
    if match.group("tag") == "latest":
        return (f"{value!r} uses the tag 'latest'; pin a version (repositories have immutable tags, and a "
                "changed image must be a changed reference for the endpoint to update)")
    return None


def ecr_registry(account_id: str, region: str, partition: str) -> str:
    """An account's private registry host, e.g. ``123456789012.dkr.ecr.us-east-1.amazonaws.com``."""
    suffix = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    return f"{account_id}.dkr.ecr.{region}.{suffix}"


def resolve_image(image: str, *, account_id: str, region: str, partition: str, repository_prefix: str) -> str:
    """The full ECR URI of ``image``.

    A short ``repository:tag`` names a repository of this stack: ``<prefix>-<repository>`` in this
    account's registry (``TrainingCompute`` creates ``<prefix>-training`` and ``<prefix>-inference``).
    Full ECR URIs are used as given.
    """
    problem = image_problem(image)
    if problem:
        raise ValueError(problem)
    if _ECR_IMAGE.fullmatch(image):
        return image
    match = _SHORT_IMAGE.fullmatch(image)
    assert match is not None
    reference = f":{match.group('tag')}" if match.group("tag") else f"@{match.group('digest')}"
    repository = f"{repository_prefix}-{match.group('repository')}".lower()
    return f"{ecr_registry(account_id, region, partition)}/{repository}{reference}"


# Field types that carry their own check (the *_problem functions above, shared with components).
InstanceType = Annotated[str, checked(instance_type_problem)]
ModelName = Annotated[str, checked(model_name_problem)]
VariantName = Annotated[str, checked(variant_name_problem)]
ImageRef = Annotated[str, checked(image_problem)]
S3Uri = Annotated[str, checked(s3_object_uri_problem)]
