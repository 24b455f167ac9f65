"""What every step needs: the stack's outputs, the model, MLflow and AWS clients.

Nothing here talks to a service on construction: :meth:`PipelineContext.check_tracking` probes the
tracking server (bounded), and the AWS clients are made on first use. Imports of boto3 and mlflow
are lazy: the core install (``make preview``) has neither.
"""

from __future__ import annotations

import logging
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from mlops_blueprint.naming import NameKind, fit
from mlops_blueprint.outputs import Out
from mlops_blueprint.pipelines.errors import InputError
from mlops_blueprint.pipelines.outputs import StackOutputs

DEFAULT_MODEL = "churn"
TRACKING_PROBE_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class AwsSettings:
    """How to reach AWS. Empty: boto3's own chain (profile, role, ``AWS_ENDPOINT_URL``...).
    The sandbox passes moto's endpoint and fake credentials, so nothing can reach real AWS."""

    endpoint_url: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None


@dataclass
class PipelineContext:
    outputs: StackOutputs
    model: str = DEFAULT_MODEL
    tracking_uri: str | None = None          # --tracking-uri; default: the stack's trackingUri / trackingServerUrl
    aws: AwsSettings = field(default_factory=AwsSettings)
    wait_seconds: float = 3600.0             # bound of every wait on an endpoint
    poll_seconds: float = 15.0
    endpoint: str | None = None              # --endpoint-name: an endpoint the stack does not declare

    # -- names -----------------------------------------------------------------------------------------
    @property
    def region(self) -> str:
        return str(self.outputs.require(Out.REGION, "every AWS client"))

    @cached_property
    def registered_model_name(self) -> str:
        """The MLflow registered model is named after the model's SageMaker model package group."""
        return self.outputs.per_model(Out.MODEL_PACKAGE_GROUP_NAMES, self.model, "registering models")

    @property
    def model_package_group(self) -> str:
        return self.registered_model_name

    @cached_property
    def endpoint_name(self) -> str:
        if self.endpoint:
            return self.endpoint
        return self.outputs.per_model(Out.ENDPOINT_NAMES, self.model, "deploying to the model's endpoint")

    @property
    def pulumi_owned(self) -> bool:
        """Whether the stack declares the endpoint (``models:``; stack output ``endpointNames``): then
        Pulumi alone changes it, and the pipelines change only the model registry."""
        declared = self.outputs.get(Out.ENDPOINT_NAMES) or {}
        names = declared.values() if isinstance(declared, dict) else declared
        return self.endpoint_name in {str(n) for n in names}

    @property
    def served_package(self) -> dict[str, Any] | None:
        """The package the stack serves for this model (stack output ``servedModelPackages``), if the
        model is registry-backed; None when it pins image + modelDataUrl."""
        served = self.outputs.get(Out.SERVED_MODEL_PACKAGES) or {}
        entry = served.get(self.model) if isinstance(served, dict) else None
        return entry if isinstance(entry, dict) else None

    def resource_name(self, *parts: str) -> str:
        """A SageMaker name (models, endpoint configs): within 63 characters of [a-zA-Z0-9-]."""
        return fit("-".join(parts), NameKind.SAGEMAKER)

    # -- MLflow ----------------------------------------------------------------------------------------
    @cached_property
    def resolved_tracking_uri(self) -> str:
        if self.tracking_uri:
            return self.tracking_uri
        for name in (Out.TRACKING_URI, Out.TRACKING_SERVER_URL):
            if self.outputs.get(name):
                return str(self.outputs.get(name))
        self.outputs.require(Out.TRACKING_SERVER_URL, "MLflow tracking (or pass --tracking-uri)")
        raise AssertionError("unreachable")

    def _tracking_source(self) -> str:
        if self.tracking_uri:
            return "--tracking-uri"
        name = Out.TRACKING_URI if self.outputs.get(Out.TRACKING_URI) else Out.TRACKING_SERVER_URL
        return f"stack output '{name}' of stack '{self.outputs.stack}'"

    def check_tracking(self, timeout: float = TRACKING_PROBE_TIMEOUT_SECONDS) -> None:
        """Fail fast (InputError) when the tracking server cannot be reached; then point MLflow at it."""
        uri = self.resolved_tracking_uri
        if uri.startswith(("http://", "https://")):
            probe = uri.rstrip("/") + "/health"
            try:
                with urllib.request.urlopen(probe, timeout=timeout):  # noqa: S310 - http(s) only, checked above
                    pass
            except urllib.error.HTTPError:
                pass  # it answered: reachable (a SageMaker tracking server wants SigV4 on /health)
            except (urllib.error.URLError, OSError, ValueError) as exc:
                reason = getattr(exc, "reason", exc)
                raise InputError(f"MLflow tracking URI {uri} (from {self._tracking_source()}) is unreachable: "
                                 f"{reason}. Is the tracking server running? Nothing was changed.") from None
        self._configure_mlflow(uri)
        if not uri.startswith(("http://", "https://")):
            try:
                self.mlflow_client.search_experiments(max_results=1)
            except Exception as exc:  # noqa: BLE001 - any failure means "cannot use this tracking URI"
                raise InputError(f"MLflow tracking URI {uri} (from {self._tracking_source()}) is unreachable: "
                                 f"{exc}. Nothing was changed.") from None

    def _configure_mlflow(self, uri: str) -> None:
        import mlflow

        # Quiet clients: no telemetry, no progress bars, no run URLs on stdout (--json prints there).
        for name, value in (("MLFLOW_DISABLE_TELEMETRY", "true"), ("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false"),
                            ("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")):
            os.environ.setdefault(name, value)
        logging.getLogger("mlflow").setLevel(logging.WARNING)
        if not uri.startswith("arn:"):
            # The sagemaker-mlflow plugin's header provider expects an ARN and warns on every request.
            logging.getLogger("mlflow.tracking.request_header.registry").setLevel(logging.ERROR)
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)

    @cached_property
    def mlflow_client(self) -> Any:
        from mlflow import MlflowClient

        uri = self.resolved_tracking_uri
        return MlflowClient(tracking_uri=uri, registry_uri=uri)

    # -- AWS -------------------------------------------------------------------------------------------
    @cached_property
    def _session(self) -> Any:
        import boto3

        return boto3.session.Session(aws_access_key_id=self.aws.access_key_id,
                                     aws_secret_access_key=self.aws.secret_access_key,
                                     region_name=self.region)

    def client(self, service: str) -> Any:
        from botocore.config import Config

        config = Config(retries={"max_attempts": 5, "mode": "standard"},
                        s3={"addressing_style": "path"} if self.aws.endpoint_url else None)
        return self._session.client(service, endpoint_url=self.aws.endpoint_url, config=config)

    @cached_property
    def s3(self) -> Any:
        return self.client("s3")

    @cached_property
    def sagemaker(self) -> Any:
        return self.client("sagemaker")

    def kms_args(self) -> dict[str, str]:
        """SSE-KMS with the stack's data key: the buckets' policies refuse anything else."""
        return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": str(self.outputs.require(Out.DATA_KEY_ARN, "SSE-KMS"))}


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise InputError(f"{uri!r} is not an s3://bucket/key URI")
    bucket, key = uri[5:].split("/", 1)
    return bucket, key
