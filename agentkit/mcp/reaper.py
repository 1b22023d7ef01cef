"""Runs one stdio MCP server as ``python -I reaper.py COMMAND [ARGS…]`` (Linux), so that nothing the
server starts can outlive it.

This process makes itself a *child subreaper* (``PR_SET_CHILD_SUBREAPER``): every process orphaned
inside the server's tree — a helper that double-forked, called ``setsid``, or dropped the environment
the server was started with — becomes our child instead of init's. A process cannot leave that
tree. When the server exits (its stdin closed, or it was signalled), every child we have left gets
SIGTERM, then SIGKILL after a short grace, until none is left; then we exit with the server's status.
If the agent dies, even by SIGKILL, we get SIGTERM (``PR_SET_PDEATHSIG``) and do the same.

The server inherits our stdin, stdout and stderr; we then point our own stdin and stdout at
``/dev/null``, so the client's end-of-file still means the server's tree is gone. Standard library only.
"""

import ctypes
import os
import signal
import subprocess
import sys
import time

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_GRACE = 0.5


def _children():
    """Our children's pids (every orphan of the server's tree is one)."""
    me = os.getpid()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[-1].split()
        except OSError:
            continue
        if int(fields[1]) == me and fields[0] not in (b"Z", b"X"):
            found.append(int(name))
    return found


def _reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def end_children():
    """SIGTERM our children, SIGKILL those still there after the grace; repeat until none is left
    (a killed helper's own children become ours in turn)."""
    deadline = time.monotonic() + _GRACE
    signalled = set()
    while True:
        _reap()
        alive = _children()
        if not alive:
            return
        late = time.monotonic() >= deadline
        for pid in alive:
            if late or pid not in signalled:
                try:
                    os.kill(pid, signal.SIGKILL if late else signal.SIGTERM)
                except ProcessLookupError:
                    pass
                signalled.add(pid)
        time.sleep(0.02)


def main(argv):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    agent = os.getppid()
    try:
        server = subprocess.Popen(argv)
    except OSError as exc:
        print(f"cannot start {argv[0]!r}: {exc}", file=sys.stderr, flush=True)
        return 127
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)

    def forward(signum, frame):
        try:
            server.send_signal(signal.SIGTERM)
        except OSError:
            pass

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    if os.getppid() != agent:  # the agent died before the death signal was armed
        forward(signal.SIGTERM, None)
    while True:  # reap orphans as they exit (no zombies pile up) until the server itself exits
        pid, status = os.waitpid(-1, 0)
        if pid == server.pid:
            break
    server.returncode = code = os.waitstatus_to_exitcode(status)
    end_children()
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
