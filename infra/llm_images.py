"""The AWS Deep Learning Container image that serves an open LLM, by container, version and region.

The registry account differs by region (``763104351884`` in most, others in e.g. ``ap-east-1``,
``me-south-1`` and the China regions) and the tag encodes the framework, CUDA and OS versions. This
module keeps no table of its own: it reads the image data that the SageMaker Python SDK ships and
AWS maintains with every DLC release (``sagemaker-core``'s ``image_uri_config/huggingface-llm.json``
for Hugging Face TGI, ``djl-lmi.json`` for LMI), and builds the URI the way the SDK's
``image_uris.retrieve`` does: ``<account>.dkr.<ecr host>/<repository>:<tag>``. The JSON files are
read from the installed distribution, without importing the SDK (which is heavy and installs import
hooks). ``sagemaker-core`` comes with the ``[llm]`` extra.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import metadata
from typing import Any

# Config name -> the SDK's image_uri_config file (its "framework").
CONTAINERS: dict[str, str] = {"tgi": "huggingface-llm", "lmi": "djl-lmi"}
# Pinned so that a newer sagemaker-core never changes a deployed image by itself: the newest
# versions its data held when these were chosen. A model's llm.version overrides them.
DEFAULT_VERSIONS: dict[str, str] = {"tgi": "3.3.6", "lmi": "0.36.0"}
DISTRIBUTION = "sagemaker-core"
_DATA_DIR = "sagemaker/core/image_uri_config"
INSTALL_HINT = "pip install 'mlops-blueprint[llm]' (it brings sagemaker-core, whose data names the images)"


class ImageDataUnavailable(LookupError):
    """sagemaker-core (the image data) is not installed."""


@dataclass(frozen=True)
class LlmImage:
    account: str
    region: str
    repository: str
    tag: str
    host: str

    @property
    def uri(self) -> str:
        return f"{self.account}.dkr.{self.host}/{self.repository}:{self.tag}"

    def repository_arn(self, partition: str) -> str:
        return f"arn:{partition}:ecr:{self.region}:{self.account}:repository/{self.repository}"


@functools.cache
def _config(container: str) -> dict[str, Any]:
    """The inference section of the SDK's image data for ``container``."""
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise ImageDataUnavailable(f"the LLM image data is not installed; {INSTALL_HINT}") from None
    path = dist.locate_file(f"{_DATA_DIR}/{CONTAINERS[container]}.json")
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise ImageDataUnavailable(f"{DISTRIBUTION} {dist.version} has no {_DATA_DIR}/{CONTAINERS[container]}.json; "
                                   f"{INSTALL_HINT}") from None
    return document.get("inference", document)


def data_version() -> str | None:
    """The installed sagemaker-core version (None: not installed)."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None


def versions(container: str) -> list[str]:
    """Full versions of ``container`` the installed data knows, and their aliases (e.g. 3.3)."""
    config = _config(container)
    return [*config["versions"], *config.get("version_aliases", {})]


@functools.cache
def _ecr_host(region: str) -> str:
    """ECR's host name in ``region`` from botocore's endpoint data (as the SDK does): the China and
    isolated partitions have their own DNS suffixes."""
    import botocore.loaders
    import botocore.regions

    resolver = botocore.regions.EndpointResolver(botocore.loaders.create_loader().load_data("endpoints"))
    endpoint = resolver.construct_endpoint("ecr", region)
    return endpoint["hostname"] if endpoint else f"ecr.{region}.amazonaws.com"


def llm_image(container: str, version: str | None, region: str) -> LlmImage:
    """The image of ``container`` at ``version`` (default :data:`DEFAULT_VERSIONS`) in ``region``.

    Raises :class:`ImageDataUnavailable` without sagemaker-core, ``ValueError`` (saying what would be
    valid) for an unknown container, version or a region without the image."""
    if container not in CONTAINERS:
        raise ValueError(f"{container!r} is not an LLM container; expected one of {', '.join(CONTAINERS)}")
    config = _config(container)
    wanted = version or DEFAULT_VERSIONS[container]
    full = config.get("version_aliases", {}).get(wanted, wanted)
    if full not in config["versions"]:
        raise ValueError(f"{container} version {wanted!r} is not in the image data (sagemaker-core {data_version()}); "
                         f"expected one of {', '.join(versions(container))}")
    entry = config["versions"][full]
    registries: dict[str, str] = entry["registries"]
    if region not in registries:
        raise ValueError(f"{container} {full} has no image in {region}; it is published in "
                         f"{', '.join(sorted(registries))}")
    # The SDK's tag: tag_prefix[-processor][-py_version][-container_version]; TGI images are GPU-only.
    processors = config.get("processors") or entry.get("processors") or []
    processor = "gpu" if "gpu" in processors else None
    py_version = (entry.get("py_versions") or [None])[0]
    container_version = (entry.get("container_version") or {}).get(processor or "")
    tag = "-".join(p for p in (entry.get("tag_prefix", full), processor, py_version, container_version) if p)
    return LlmImage(account=registries[region], region=region, repository=entry["repository"], tag=tag,
                    host=_ecr_host(region))
