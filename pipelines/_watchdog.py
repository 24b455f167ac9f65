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


def _others_in_group_alive() -> bool:
    """Whether a process of this group other than the watchdog still runs (zombies do not count).
    Where /proc cannot tell, assume one does, so the whole grace period is given."""
    group, me = os.getpgid(0), os.getpid()
    try:
        pids = [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]
    except OSError:
        return True
    for pid in pids:
        if pid == me:
            continue
        try:
            with open(f"/proc/{pid}/stat") as stat:
                state, _parent, pgrp = stat.read().rsplit(")", 1)[1].split()[:3]
        except (OSError, ValueError):
            continue  # gone meanwhile
        if int(pgrp) == group and state != "Z":
            return True
    return False


def _kill_group() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        os.killpg(0, signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS
        # The grace period ends early once everything else in the group has exited.
        while time.monotonic() < deadline and _others_in_group_alive():
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
