"""No process outlives the sandbox: on Ctrl-C, on failure, and when the sandbox itself is killed."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from mlops_blueprint.pipelines.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_TERMINATED, PipelineError
from mlops_blueprint.pipelines.processes import MARKER_ENV, ManagedProcess, processes_with_env

TAG = "MLOPS_TEST_TAG"


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def wait_until(predicate, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


class Sandbox:
    """``python -m mlops_blueprint.pipelines sandbox`` as a child, its output read line by line."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.tag = uuid.uuid4().hex
        env = {**os.environ, TAG: self.tag, "PYTHONUNBUFFERED": "1"}
        # Started as a shell starts a background job: with SIGINT ignored. Ctrl-C must still work.
        self.proc = subprocess.Popen(
            ["sh", "-c", 'trap "" INT; exec "$0" "$@"', sys.executable, "-m", "mlops_blueprint.pipelines", "sandbox",
             "--workdir", str(tmp_path / "sandbox"), *args],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line)

    def wait_for(self, text: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None and self._queue.empty():
                    return False
                continue
            self.lines.append(line)
            if text in line:
                return True
        return False

    def finish(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self.wait_for("\0", 1.0)  # drain

    def children(self) -> list[int]:
        return processes_with_env(TAG, self.tag)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


@pytest.fixture
def sandbox_process(tmp_path):
    started: list[Sandbox] = []

    def start(*args: str) -> Sandbox:
        started.append(Sandbox(tmp_path, *args))
        return started[-1]

    yield start
    for sandbox in started:  # never leave anything behind, even when an assertion failed
        sandbox.kill()
        for pid in sandbox.children():
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize(("signum", "when", "running", "exit_code", "says"), [
    (signal.SIGINT, "MLflow tracking server starting", "mlflow server", EXIT_INTERRUPTED,
     "interrupted; stopped: MLflow tracking server, moto server"),
    # SIGTERM during start-up too: the model server's own shutdown is covered by the lifecycle
    # test's sandbox (test_shutdown_leaves_nothing_running), which has it running.
    (signal.SIGTERM, "MLflow tracking server starting", "mlflow server", EXIT_TERMINATED,
     "terminated by signal 15; stopped: MLflow tracking server, moto server"),
], ids=["ctrl-c while the tracking server starts", "sigterm while the tracking server starts"])
def test_a_signal_stops_every_process(sandbox_process, signum, when, running, exit_code, says):
    sandbox = sandbox_process()
    assert sandbox.wait_for(when, 240), "".join(sandbox.lines)
    assert wait_until(lambda: any(running in command_line(pid) for pid in sandbox.children()), 30), \
        f"no {running!r} process came up"
    started_children = sandbox.children()

    sandbox.proc.send_signal(signum)
    code = sandbox.finish(timeout=60)

    output = " ".join("".join(sandbox.lines).split())
    assert code == exit_code, output
    assert says in output
    assert wait_until(lambda: not sandbox.children(), 10), f"left running: {sandbox.children()} of {started_children}"


def test_failure_stops_every_process(tmp_path, monkeypatch, capsys):
    """The command itself, in this process (the signal tests above run it as a child): the tracking
    server cannot be ready within 0.5 s, the sandbox fails and stops what it started."""
    from mlops_blueprint.pipelines.cli import main

    tag = uuid.uuid4().hex
    monkeypatch.setenv(TAG, tag)  # every child inherits it
    code = main(["sandbox", "--workdir", str(tmp_path / "sandbox"), "--startup-timeout", "0.5"])
    output = " ".join(capsys.readouterr().err.split())
    assert code == EXIT_FAILED, output
    assert "MLflow tracking server was not ready after 0.5 s" in output
    assert "stopped: MLflow tracking server, moto server" in output
    assert wait_until(lambda: not processes_with_env(TAG, tag), 10), f"left running: {processes_with_env(TAG, tag)}"


def test_early_exit_is_reported_and_the_group_stopped(tmp_path):
    marker = uuid.uuid4().hex
    env = {**os.environ, MARKER_ENV: marker}
    # The shell leaves a grandchild behind in its process group, then fails.
    process = ManagedProcess("flaky server", ["sh", "-c", "sleep 60 & echo boom; exit 3"], env=env,
                             log_path=tmp_path / "flaky.log", ready=lambda: False).start()
    with pytest.raises(PipelineError, match=r"flaky server exited with code 3 before it was ready(.|\n)*boom"):
        process.wait_ready(timeout=30)
    assert wait_until(lambda: not processes_with_env(MARKER_ENV, marker), 10)


def test_ready_timeout_stops_the_group(tmp_path):
    marker = uuid.uuid4().hex
    process = ManagedProcess("slow server", ["sleep", "60"], env={**os.environ, MARKER_ENV: marker},
                             log_path=tmp_path / "slow.log", ready=lambda: False).start()
    assert wait_until(lambda: processes_with_env(MARKER_ENV, marker), 10)
    with pytest.raises(PipelineError, match="slow server was not ready after 0.5 s"):
        process.wait_ready(timeout=0.5)
    assert wait_until(lambda: not processes_with_env(MARKER_ENV, marker), 10)


def test_children_die_with_a_killed_parent(tmp_path):
    """SIGKILL leaves no finally to run: the watchdog takes the group down."""
    marker = uuid.uuid4().hex
    script = (
        "import os, sys, time\n"
        "from pathlib import Path\n"
        "from mlops_blueprint.pipelines.processes import ManagedProcess\n"
        f"ManagedProcess('sleeper', ['sleep', '120'], env=dict(os.environ), log_path=Path({str(tmp_path)!r}) / 's.log')"
        ".start()\n"
        "print('started', flush=True)\n"
        "time.sleep(120)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, MARKER_ENV: marker},
                              stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert parent.stdout is not None and parent.stdout.readline().strip() == "started"
        assert wait_until(lambda: len(processes_with_env(MARKER_ENV, marker)) >= 3, 10)  # parent, watchdog, sleep
        parent.kill()
        parent.wait(10)
        assert wait_until(lambda: not processes_with_env(MARKER_ENV, marker), 15), processes_with_env(MARKER_ENV, marker)
    finally:
        if parent.poll() is None:
            parent.kill()
        for pid in processes_with_env(MARKER_ENV, marker):
            os.kill(pid, signal.SIGKILL)
