"""Serve a registered model version on this machine, the way its SageMaker container would.

``mlflow models serve -m models:/<name>/<version> --env-manager local`` in its own process group on
127.0.0.1 and a free port: it downloads the version through the tracking server and answers
``POST /invocations`` (MLflow's scoring protocol, the same as MLflow's SageMaker image). The
sandbox's predictions come from here — never from moto, which has no data plane.
"""

from __future__ import annotations

import json
import sys
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlops_blueprint.pipelines.errors import PipelineError
from mlops_blueprint.pipelines.processes import ManagedProcess, free_port, http_ok

PREDICT_TIMEOUT_SECONDS = 30.0


class LocalModelServer:
    def __init__(self, model_uri: str, *, env: Mapping[str, str], log_path: Path) -> None:
        self.model_uri, self.env, self.log_path = model_uri, dict(env), log_path
        self.port: int | None = None
        self.process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120.0, attempts: int = 2) -> LocalModelServer:
        for attempt in range(1, attempts + 1):
            self.port = free_port()
            argv = [sys.executable, "-m", "mlflow", "models", "serve", "-m", self.model_uri, "--env-manager", "local",
                    "-h", "127.0.0.1", "-p", str(self.port), "--workers", "1"]
            self.process = ManagedProcess(f"model server for {self.model_uri}", argv, env=self.env,
                                          log_path=self.log_path, ready=lambda: http_ok(f"{self.url}/ping"))
            self.process.start()
            try:
                self.process.wait_ready(timeout)
                return self
            except PipelineError:
                if attempt == attempts:
                    raise
        return self

    def predict(self, frame: Any) -> list[Any]:
        payload = json.dumps({"dataframe_split": json.loads(frame.to_json(orient="split", index=False))}).encode()
        request = urllib.request.Request(f"{self.url}/invocations", data=payload, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=PREDICT_TIMEOUT_SECONDS) as response:  # noqa: S310
                body = json.loads(response.read())
        except OSError as exc:
            raise PipelineError(f"the model server at {self.url} did not answer: {exc}") from None
        return list(body["predictions"] if isinstance(body, dict) else body)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
