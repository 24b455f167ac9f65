"""Local processes of the sandbox: started on free ports, waited on with bounds, always stopped.

Each :class:`ManagedProcess` runs as the leader of its own process group, under a small watchdog
(:mod:`._watchdog`) that kills the group if this process dies without cleaning up. Stopping sends
SIGTERM to the whole group (servers fork workers), then SIGKILL after a grace period. Every child
carries ``MLOPS_SANDBOX_ID`` in its environment so that leftovers can be found (tests scan
``/proc`` for it). :func:`terminate_on_signals` turns SIGTERM/SIGHUP into an exception, so the same
``finally`` blocks run on Ctrl-C, on ``kill`` and on errors.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from mlops_blueprint.pipelines.errors import PipelineError, Terminated

MARKER_ENV = "MLOPS_SANDBOX_ID"
WATCHDOG = Path(__file__).with_name("_watchdog.py")
STOP_GRACE_SECONDS = 10.0


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - local http only
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


class ManagedProcess:
    """A child process group with a readiness check and a guaranteed stop."""

    def __init__(self, name: str, argv: list[str], *, env: Mapping[str, str], log_path: Path,
                 ready: Callable[[], bool] | None = None) -> None:
        self.name, self.argv, self.env, self.log_path, self._ready = name, argv, dict(env), log_path, ready
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: object | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self) -> ManagedProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self._log = log
        command = [sys.executable, str(WATCHDOG), str(os.getpid()), "--", *self.argv]
        self.proc = subprocess.Popen(command, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self, timeout: float, interval: float = 0.25) -> None:
        """Until the readiness check passes; an early exit or the timeout is a PipelineError (and a stop)."""
        deadline = time.monotonic() + timeout
        while True:
            raise_if_signalled()
            if self.proc is None:
                raise PipelineError(f"{self.name} was not started")
            code = self.proc.poll()
            if code is not None:
                self.stop()
                raise PipelineError(f"{self.name} exited with code {code} before it was ready; "
                                    f"last lines of {self.log_path}:\n{self.log_tail()}")
            if self._ready is None or self._ready():
                return
            if time.monotonic() > deadline:
                self.stop()
                raise PipelineError(f"{self.name} was not ready after {timeout:g} s; last lines of "
                                    f"{self.log_path}:\n{self.log_tail()}")
            time.sleep(interval)

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """SIGTERM to the group, SIGKILL after ``grace`` seconds; idempotent."""
        proc = self.proc
        if proc is not None:
            group = proc.pid  # leader of its own session: the group id is its pid
            _signal_group(group, signal.SIGTERM)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
            # Workers may outlive the leader: the group goes down whatever the leader did.
            deadline = time.monotonic() + grace
            while _group_alive(group) and time.monotonic() < deadline:
                time.sleep(0.1)
            _signal_group(group, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=grace)
        if self._log is not None:
            self._log.close()  # type: ignore[attr-defined]
            self._log = None


def _signal_group(group: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signum)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except (ProcessLookupError, PermissionError):
        return False
    # Zombies still count for killpg(0); a group of zombies is as good as gone.
    return any(_is_running(pid) for pid in _group_members(group))


def _group_members(group: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:
            members.append(int(entry.name))
    return members if Path("/proc").is_dir() else [group]


def _is_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def processes_with_env(name: str, value: str) -> list[int]:
    """Live processes whose environment has ``name=value`` (e.g. every child of one sandbox)."""
    needle = f"{name}={value}".encode()
    found = []
    proc = Path("/proc")
    for entry in proc.iterdir() if proc.is_dir() else []:
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0") and _is_running(int(entry.name)):
            found.append(int(entry.name))
    return sorted(found)


@contextlib.contextmanager
def terminate_on_signals() -> Iterator[None]:
    """In the main thread: SIGTERM and SIGHUP raise :class:`Terminated` (SIGINT already raises
    KeyboardInterrupt), so cleanup in ``finally`` runs for all three."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    # SIGINT explicitly too: a process started with SIGINT ignored (a background job, a test runner)
    # would otherwise never see Ctrl-C or `kill -INT`.
    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        _restore(previous)
        _PENDING.clear()


# A signal's exception can be swallowed where Python ignores exceptions (a __del__, a weakref
# callback that was running when it arrived); it is also kept here, for checkpoints to raise again.
_PENDING: list[BaseException] = []


def _on_signal(signum: int, _frame: object) -> None:
    error: BaseException = KeyboardInterrupt() if signum == signal.SIGINT else Terminated(signum)
    _PENDING.append(error)
    raise error


def raise_if_signalled() -> None:
    """A checkpoint: raise the signal's exception again if it was swallowed on its way up."""
    if _PENDING:
        raise _PENDING[0]


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """While cleaning up: Ctrl-C and SIGTERM must not cut the cleanup short."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        _restore(previous)


def _restore(previous: dict[signal.Signals, object]) -> None:
    for sig, handler in previous.items():
        # None: the handler was installed outside Python; the default is the closest we can restore.
        signal.signal(sig, handler if handler is not None else signal.SIG_DFL)  # type: ignore[arg-type]
