"""An LLM endpoint on this machine, the way SageMaker runs ``models[].llm`` (for the sandbox and tests).

What SageMaker does, step by step, on a laptop and without downloads:

1. **Weights from an S3 prefix.** :func:`stage_weights` copies every object under
   ``llm.weightsS3Uri`` into a local model directory, as they are (``S3Prefix``,
   ``CompressionType: None``): SageMaker's copy to ``/opt/ml/model``.
2. **A TGI-compatible server.** :class:`LocalTextServer` answers TGI's routes on 127.0.0.1:
   ``GET /health`` and ``/ping`` (SageMaker's health check), ``POST /generate``
   (``{"inputs", "parameters": {"max_new_tokens"}}`` -> ``{"generated_text"}``) and
   ``POST /invocations`` (what SageMaker forwards; TGI answers it with a one-element list). It reads
   the model from ``HF_MODEL_ID``, the directory the container is pointed at.
3. **A tiny text model.** Not a transformer: a character bigram table (``bigram.json``) that
   :func:`write_tiny_model` builds from any text. Generation is greedy, so answers are
   deterministic and tests can check them. Real weights (safetensors) are served by the real
   containers on GPUs; this stands in for them where there is neither a GPU nor a Hub.
"""

from __future__ import annotations

import json
import threading
from collections import Counter, defaultdict
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from typing import Any

from mlops_blueprint.pipelines.errors import InputError
from mlops_blueprint.validation import S3_URI

MODEL_FILE = "bigram.json"
DEFAULT_MAX_NEW_TOKENS = 20
MAX_NEW_TOKENS_LIMIT = 1024


# -- 1. weights from an S3 prefix -----------------------------------------------------------------


def stage_weights(s3: Any, weights_s3_uri: str, model_dir: Path) -> list[Path]:
    """Copy every object under ``weights_s3_uri`` (``s3://bucket/prefix/``) to ``model_dir``, keeping
    the relative paths; the files written. ``s3`` is a boto3 S3 client (AWS or moto)."""
    match = S3_URI.fullmatch(weights_s3_uri)
    if not match or not weights_s3_uri.endswith("/"):
        raise InputError(f"{weights_s3_uri!r} is not an S3 prefix; expected s3://<bucket>/<prefix>/")
    bucket, prefix = match.group("bucket"), match.group("key") or ""
    written = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            relative = PurePosixPath(item["Key"][len(prefix):])
            if not relative.parts or ".." in relative.parts:
                continue  # the prefix's own marker, or a key that would leave the model directory
            target = model_dir.joinpath(*relative.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, item["Key"], str(target))
            written.append(target)
    if not written:
        raise InputError(f"no objects under {weights_s3_uri}; upload the model's files there first")
    return written


# -- 3. a tiny text model ---------------------------------------------------------------------------


def write_tiny_model(text: str, model_dir: Path) -> Path:
    """A character bigram model of ``text`` in ``model_dir`` (the "weights" the server loads)."""
    if len(text) < 2:
        raise InputError("a tiny model needs a text of at least two characters")
    following: dict[str, Counter[str]] = defaultdict(Counter)
    for current, after in zip(text, text[1:]):
        following[current][after] += 1
    model_dir.mkdir(parents=True, exist_ok=True)
    path = model_dir / MODEL_FILE
    path.write_text(json.dumps({"format": "char-bigram", "next": {c: dict(n) for c, n in following.items()}},
                               sort_keys=True))
    return path


class TinyTextModel:
    def __init__(self, model_dir: Path) -> None:
        path = Path(model_dir) / MODEL_FILE
        if not path.is_file():
            raise InputError(f"{model_dir} holds no {MODEL_FILE}; stage the model's files there (HF_MODEL_ID)")
        table = json.loads(path.read_text())["next"]
        # Greedy: the most frequent next character, ties broken by the character (deterministic).
        self.best = {c: min(n.items(), key=lambda kv: (-kv[1], kv[0]))[0] for c, n in table.items()}

    def generate(self, prompt: str, max_new_tokens: int) -> str:
        out: list[str] = []
        current = prompt[-1] if prompt else next(iter(sorted(self.best)))
        for _ in range(max_new_tokens):
            if current not in self.best:
                break
            current = self.best[current]
            out.append(current)
        return "".join(out)


# -- 2. a TGI-compatible server ---------------------------------------------------------------------


def _request(body: Any) -> tuple[str, int]:
    if not isinstance(body, Mapping) or not isinstance(body.get("inputs"), str):
        raise InputError('expected {"inputs": "<prompt>", "parameters": {"max_new_tokens": N}}')
    parameters = body.get("parameters") or {}
    tokens = parameters.get("max_new_tokens", DEFAULT_MAX_NEW_TOKENS)
    if not isinstance(tokens, int) or isinstance(tokens, bool) or not 1 <= tokens <= MAX_NEW_TOKENS_LIMIT:
        raise InputError(f"parameters.max_new_tokens must be an integer from 1 to {MAX_NEW_TOKENS_LIMIT}")
    return body["inputs"], tokens


class LocalTextServer:
    """TGI's HTTP API over :class:`TinyTextModel`, on 127.0.0.1 (a free port unless given)."""

    def __init__(self, env: Mapping[str, str], port: int = 0) -> None:
        model_dir = env.get("HF_MODEL_ID")
        if not model_dir:
            raise InputError("HF_MODEL_ID is not set; point it at the staged model directory (/opt/ml/model)")
        self.model = TinyTextModel(Path(model_dir))
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        model = self.model

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet, like a container's stdout
                return

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if self.path in ("/health", "/ping"):
                    self._send(200, {})
                else:
                    self._send(404, {"error": f"no route {self.path}"})

            def do_POST(self) -> None:  # noqa: N802
                if self.path not in ("/generate", "/invocations"):
                    self._send(404, {"error": f"no route {self.path}"})
                    return
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                    prompt, tokens = _request(json.loads(self.rfile.read(length) or b"null"))
                except (InputError, ValueError) as exc:
                    self._send(422, {"error": str(exc), "error_type": "validation"})
                    return
                answer = {"generated_text": model.generate(prompt, tokens)}
                self._send(200, answer if self.path == "/generate" else [answer])

        return Handler

    def start(self) -> LocalTextServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-llm", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> LocalTextServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
