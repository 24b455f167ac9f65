"""The one SageMaker control-plane call the sandbox needs that moto 5.2 lacks: ``UpdateEndpoint``.

moto implements CreateEndpoint/DescribeEndpoint/CreateEndpointConfig and the model package APIs,
but answers ``UpdateEndpoint`` with "not implemented". :func:`install` adds it to the moto server
running in this process (the sandbox's), so the pipeline code calls the very API it calls against
AWS. The emulation does what SageMaker does on success: the endpoint takes the new configuration's
variants (weights, instance counts) and data capture, and is ``InService`` again. Unknown endpoints
or configurations are ``ValidationException``s, as in SageMaker; so is updating an endpoint that
is not ``InService``. If a later moto implements the call, its implementation is kept.
:func:`uninstall` removes the addition again when the sandbox stops.
"""

from __future__ import annotations

from typing import Any


_INSTALLED: list[tuple[type, str]] = []


def install() -> None:
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.models import FakeEndpoint, SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    if "update_endpoint" in vars(SageMakerResponse):
        return

    def update_endpoint(self: SageMakerModelBackend, endpoint_name: str, endpoint_config_name: str) -> FakeEndpoint:
        endpoint = self.endpoints.get(endpoint_name)
        if endpoint is None:
            arn = FakeEndpoint.arn_formatter(endpoint_name, self.account_id, self.region_name)
            raise ValidationError(message=f"Could not find endpoint '{arn}'.")
        if endpoint.endpoint_status != "InService":
            raise ValidationError(message=f"Cannot update in-progress endpoint '{endpoint.arn}'.")
        config = self.describe_endpoint_config(endpoint_config_name)  # ValidationError if unknown
        endpoint.endpoint_config_name = endpoint_config_name
        endpoint.production_variants = endpoint._process_production_variants(config["ProductionVariants"])
        endpoint.data_capture_config = config.get("DataCaptureConfig")
        endpoint.last_modified_time = utcnow()
        endpoint.endpoint_status = "InService"
        return endpoint

    def update_endpoint_action(self: SageMakerResponse) -> Any:
        endpoint = self.sagemaker_backend.update_endpoint(
            endpoint_name=self._get_param("EndpointName"),
            endpoint_config_name=self._get_param("EndpointConfigName"),
        )
        return ActionResult({"EndpointArn": endpoint.arn})

    SageMakerModelBackend.update_endpoint = update_endpoint  # type: ignore[attr-defined]
    SageMakerResponse.update_endpoint = update_endpoint_action  # type: ignore[attr-defined]
    _INSTALLED.extend([(SageMakerModelBackend, "update_endpoint"), (SageMakerResponse, "update_endpoint")])


def uninstall() -> None:
    """Leave moto as it was (the sandbox's moto runs in-process, e.g. inside a test session)."""
    while _INSTALLED:
        owner, name = _INSTALLED.pop()
        if name in vars(owner):
            delattr(owner, name)
