"""Run a command and take its whole process group down if the parent that started us dies.

Started by :class:`~mlops_blueprint.pipelines.processes.ManagedProcess` as the leader of a new
process group (``python _watchdog.py PARENT_PID -- COMMAND...``): it runs COMMAND in that group,
exits with its code, and if PARENT_PID stops being its parent (killed, even with SIGKILL, so that
no ``finally`` ran) it sends SIGTERM, then SIGKILL, to the group. Run by file path with no
imports beyond the standard library, so it starts in milliseconds.
"""

import os
import signal
import subprocess
import sys
import time

POLL_SECONDS = 0.5
GRACE_SECONDS = 5.0


def _kill_group() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        os.killpg(0, signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS
        while time.monotonic() < deadline:
            time.sleep(0.2)
        os.killpg(0, signal.SIGKILL)  # also ends this process
    except ProcessLookupError:
        pass


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[2] != "--":
        sys.stderr.write("usage: _watchdog.py PARENT_PID -- COMMAND [ARGS...]\n")
        return 2
    parent = int(argv[1])
    child = subprocess.Popen(argv[3:])

    def forward(signum: int, _frame: object) -> None:
        try:
            child.send_signal(signum)
        except ProcessLookupError:
            pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    while True:
        code = child.poll()
        if code is not None:
            return code if code >= 0 else 128 - code
        if os.getppid() != parent:
            _kill_group()
            return 1
        time.sleep(POLL_SECONDS)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
