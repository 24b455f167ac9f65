"""The local stand-in for an LLM endpoint: weights staged from an S3 prefix (moto), served over TGI's
routes by a tiny text model with the environment the stack gives the container."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlops_blueprint.config import parse_config
from mlops_blueprint.pipelines.errors import InputError
from mlops_blueprint.pipelines.llm_local import MODEL_FILE, LocalTextServer, stage_weights, write_tiny_model
from mlops_blueprint.components.served_model_settings import resolve_model

BUCKET = "mlops-platform-dev-models-123456789012-us-east-1"
WEIGHTS = f"s3://{BUCKET}/llm/tiny/"
TEXT = "the cat sat on the mat. "


def post(url: str, body: Any) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - 127.0.0.1
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def staged(tmp_path: Path) -> Path:
    """A tiny model uploaded under the weights prefix, then staged as SageMaker would."""
    write_tiny_model(TEXT, tmp_path / "built")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.upload_file(str(tmp_path / "built" / MODEL_FILE), BUCKET, f"llm/tiny/{MODEL_FILE}")
        s3.put_object(Bucket=BUCKET, Key="llm/tiny/tokenizer/vocab.txt", Body=b"t\nh\ne\n")
        s3.put_object(Bucket=BUCKET, Key="llm/other/ignored.json", Body=b"{}")
        written = stage_weights(s3, WEIGHTS, tmp_path / "opt-ml-model")
    model_dir = tmp_path / "opt-ml-model"
    assert sorted(p.relative_to(model_dir).as_posix() for p in written) == [MODEL_FILE, "tokenizer/vocab.txt"]
    return model_dir


def container_env(model_dir: Path) -> dict[str, str]:
    """The environment the stack gives the model's container, /opt/ml/model mapped to ``model_dir``."""
    config = parse_config({"environment": "dev", "region": "us-east-1", "owner": "o", "costCenter": "c", "models": [
        {"name": "chat", "llm": {"container": "tgi", "weightsS3Uri": WEIGHTS}, "variants": [{"instanceType": "ml.g5.xlarge"}]}]})
    env = resolve_model(config.serving, config.models[0]).environment
    assert env["HF_MODEL_ID"] == "/opt/ml/model"
    return {**env, "HF_MODEL_ID": str(model_dir)}


def test_the_staged_model_answers_tgi_generate_and_sagemaker_invocations(staged: Path) -> None:
    with LocalTextServer(container_env(staged)) as server:
        with urllib.request.urlopen(f"{server.url}/ping", timeout=10) as response:  # noqa: S310
            assert response.status == 200
        status, body = post(f"{server.url}/generate", {"inputs": "the c", "parameters": {"max_new_tokens": 4}})
        # Greedy bigrams of TEXT: c->a; a->t (3 of 3); t->' ' (2, tied with h: the smaller wins); ' '->c
        # (c, m, o, s, t once each).
        assert (status, body) == (200, {"generated_text": "at c"})
        status, body = post(f"{server.url}/invocations", {"inputs": "the c", "parameters": {"max_new_tokens": 4}})
        assert (status, body) == (200, [{"generated_text": "at c"}])


def test_bad_requests_are_422_with_the_reason(staged: Path) -> None:
    with LocalTextServer(container_env(staged)) as server:
        status, body = post(f"{server.url}/generate", {"inputs": "x", "parameters": {"max_new_tokens": 0}})
        assert status == 422 and "max_new_tokens" in body["error"]
        status, body = post(f"{server.url}/generate", {"prompt": "x"})
        assert status == 422 and "inputs" in body["error"]


def test_an_empty_prefix_or_a_missing_model_is_an_input_error(tmp_path: Path) -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        with pytest.raises(InputError, match="no objects under"):
            stage_weights(s3, WEIGHTS, tmp_path)
        with pytest.raises(InputError, match="not an S3 prefix"):
            stage_weights(s3, f"s3://{BUCKET}/llm/tiny/model.tar.gz", tmp_path)
    with pytest.raises(InputError, match="HF_MODEL_ID"):
        LocalTextServer({"HF_MODEL_ID": str(tmp_path)})


# -- the sandbox's --llm step: the dev stack's llm entry, served locally ------------------------------


def test_the_sandbox_llm_step_serves_the_dev_stacks_llm_entry_then_stops_it(tmp_path: Path) -> None:
    import io

    from rich.console import Console

    from mlops_blueprint.outputs import Out
    from mlops_blueprint.pipelines.llm_local import TinyTextModel
    from mlops_blueprint.pipelines.processes import http_ok
    from mlops_blueprint.pipelines.sandbox import Sandbox, SandboxOptions
    from mlops_blueprint.pipelines.sandbox_steps import LLM_MAX_NEW_TOKENS, LLM_PROMPT, serve_llm
    from mlops_blueprint.pipelines.sandbox_summary import llm_row
    from support.stacks import plan_for

    # moto and the dev stack's buckets, as the sandbox starts them (no MLflow: the step needs none).
    sandbox = Sandbox(SandboxOptions(llm=True, workdir=tmp_path), Console(file=io.StringIO()))
    try:
        sandbox._start_moto()
        sandbox.outputs = dict(plan_for("dev")["outputs"])
        sandbox._provision()
        result = serve_llm(sandbox)
        bucket = sandbox.outputs[Out.MODELS_BUCKET_NAME]
        # The prefix and environment are the stack's: its SageMaker model's data source and container.
        assert result.container.weights_s3_uri == f"s3://{bucket}/llm/{result.container.model}/"
        assert result.container.environment == {"HF_MODEL_ID": "/opt/ml/model", "SM_NUM_GPUS": "1"}
        assert "huggingface-pytorch-tgi-inference" in result.container.image
        s3 = sandbox.client("s3")
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"llm/{result.container.model}/")["Contents"]
        assert sorted(f"s3://{bucket}/{o['Key']}" for o in listed) == result.uploaded == [
            f"{result.container.weights_s3_uri}{MODEL_FILE}"]
        head = s3.head_object(Bucket=bucket, Key=f"llm/{result.container.model}/{MODEL_FILE}")
        assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", sandbox.outputs[Out.DATA_KEY_ARN])
        # The answer is the staged model's, and the server keeps answering until the sandbox stops.
        expected = TinyTextModel(result.model_dir).generate(LLM_PROMPT, LLM_MAX_NEW_TOKENS)
        assert result.generated_text == expected and len(expected) == LLM_MAX_NEW_TOKENS
        assert post(f"{result.url}/invocations", result.request) == (200, [{"generated_text": expected}])
        row = Console(file=io.StringIO(), width=400, record=True)
        row.print(llm_row(result))
        text = row.export_text()
        assert result.container.weights_s3_uri in text and repr(expected) in text
    finally:
        sandbox.close()
    assert "local LLM server" in sandbox.stopped and sandbox.llm_server is None
    assert not http_ok(f"{result.url}/ping", timeout=1)


def test_the_llm_step_refuses_a_container_that_reads_its_model_elsewhere(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from mlops_blueprint.outputs import Out
    from mlops_blueprint.pipelines import sandbox_steps
    from mlops_blueprint.pipelines.errors import PipelineError
    from mlops_blueprint.pipelines.sandbox import Sandbox, SandboxOptions
    from mlops_blueprint.pipelines.sandbox_stack import LlmContainer

    monkeypatch.setattr(sandbox_steps, "preview_llm", lambda workdir, bucket: LlmContainer(
        "tiny-llm", "image", {"HF_MODEL_ID": "meta-llama/Llama-2-7b-hf"}, f"s3://{bucket}/llm/tiny-llm/"))
    sandbox = Sandbox(SandboxOptions(llm=True, workdir=tmp_path))
    sandbox.outputs = {Out.MODELS_BUCKET_NAME: BUCKET}
    with pytest.raises(PipelineError, match="meta-llama/Llama-2-7b-hf"):
        sandbox_steps.serve_llm(sandbox)
    assert sandbox.llm_server is None


def test_sandbox_llm_flag_sets_the_option_and_is_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlops_blueprint.pipelines import sandbox
    from mlops_blueprint.pipelines.cli import main

    seen: list[Any] = []
    monkeypatch.setattr(sandbox, "run", lambda options, keep_running=False: seen.append(options) or 0)
    assert main(["sandbox", "--llm"]) == 0 and main(["sandbox"]) == 0
    assert [o.llm for o in seen] == [True, False]
